/* SPDX-License-Identifier: MIT */
/*
 * ssrf: which URLs a /symbolicate request's sources may reach, one hop at
 * a time (the first URL and every redirect target alike), under
 * [symbolicate] allow_request_sources and allowed_source_hosts.
 *
 * Request-supplied URLs are a server-side request forgery hole.  Under
 * allow_request_sources = public only http and https are spoken, and the
 * host is resolved once here: every address it resolves to must be
 * public, unless the host is on allowed_source_hosts (hostlist.h).  The
 * addresses that passed are handed back as a CURLOPT_RESOLVE pin, so the
 * connection goes to one of them and a second resolution (a rebinding)
 * can't switch it; all of them, so a host whose first address does not
 * answer (::1 before 127.0.0.1) is still reached on the next.  Under
 * = any only the scheme is checked.  (= no never gets here: symsource
 * refuses request sources before any download.)
 */
#ifndef SYMSRVD_SSRF_H
#define SYMSRVD_SSRF_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* Is the IPv4/IPv6 address SA public (not loopback, private, link-local,
 * CGNAT, multicast, documentation or otherwise reserved)? */
bool ssrf_addr_public(const struct sockaddr *sa);

/* May URL be fetched under CFG (a const struct config *)?  0 with PIN
 * the "host:port:address[,address]..." to pin the connection to ("" for
 * none: an IPv6 literal, or allow_request_sources = any), or -EPERM
 * (refused) / -EIO (host does not resolve) with DETAIL.  The shape of
 * struct fetch_origin's check; it resolves the host (blocking). */
int ssrf_check(const void *cfg, const char *url, char *pin, size_t plen,
               char *detail, size_t dlen);

#endif
