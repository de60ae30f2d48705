/* SPDX-License-Identifier: MIT */
/*
 * acl: a list of address ranges ("127.0.0.0/8, ::1, 10.1.2.3") and the
 * test of a peer address against it, for admin_allow.
 */
#ifndef SYMSRVD_ACL_H
#define SYMSRVD_ACL_H

#include <stdbool.h>
#include <sys/socket.h>

struct acl;

/* Parse TEXT: IPv4 or IPv6 addresses, each with an optional "/prefix",
 * separated by commas and/or blanks.  0 and *OUT (free with acl_free()),
 * or -EINVAL when any item is not a range or there is none. */
int acl_parse(const char *text, struct acl **out);
void acl_free(struct acl *a); /* NULL-safe */

/* Does A hold SA?  An IPv4-mapped IPv6 peer (::ffff:a.b.c.d, what a dual
 * stack socket reports) is tested as the IPv4 address it carries. */
bool acl_allows(const struct acl *a, const struct sockaddr *sa);

#endif
