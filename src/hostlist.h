/* SPDX-License-Identifier: MIT */
/*
 * hostlist: [symbolicate] allowed_source_hosts, a list of "host[:port]"
 * items, and the test of a request source's URL host and port against it.
 *
 * An item is a DNS name, an IPv4 address or a bracketed IPv6 address,
 * with an optional port; items are separated by commas and/or blanks.
 * Names match case-insensitively and exactly: no suffix or wildcard
 * matching, so "evil-internal.example" never matches "internal.example".
 * Address items match the same address however the URL spells it
 * ("[::1]" and "[0::1]").  An item without a port matches every port.
 * The text "none" is the empty list.  Pure functions on strings.
 */
#ifndef SYMSRVD_HOSTLIST_H
#define SYMSRVD_HOSTLIST_H

#include <stdbool.h>

/* Is TEXT "none" or one or more well-formed items? */
bool hostlist_valid(const char *text);

/* Does the list TEXT hold HOST (as a URL gives it: an IPv6 address in
 * brackets) at PORT?  A malformed item ends the list (config_load() lets
 * none through). */
bool hostlist_has(const char *text, const char *host, unsigned port);

#endif
