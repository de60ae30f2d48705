/* SPDX-License-Identifier: MIT */
/*
 * fakedns: getaddrinfo() for unit tests linked with
 * -Wl,--wrap=getaddrinfo.  Names under ".test" resolve from a fixed table,
 * without DNS, in the table's order; a literal address resolves as itself;
 * any other name fails, so nothing leaves the machine.  The "public"
 * addresses below are real ones: a test that passes them to curl must
 * route them elsewhere first (see check_fetch_origin's check_routed()).
 *
 *   pub.test      FAKEDNS_PUB6, FAKEDNS_PUB4
 *   pub2.test     FAKEDNS_PUB4
 *   dual.test     ::1, 127.0.0.1
 *   lo.test       127.0.0.1
 *   meta.test     169.254.169.254
 *   private.test  10.1.2.3
 *   ll6.test      fe80::1
 *   ula.test      fd00:ec2::254
 *   mixed.test    FAKEDNS_PUB4, 192.168.0.1
 *   mapped.test   FAKEDNS_PUB6, ::ffff:127.0.0.1
 */
#ifndef SYMSRVD_FAKEDNS_H
#define SYMSRVD_FAKEDNS_H

#define FAKEDNS_PUB4 "93.184.216.34"
#define FAKEDNS_PUB6 "2a00:1450:4001::1"

#endif
