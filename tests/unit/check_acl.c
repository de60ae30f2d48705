/* SPDX-License-Identifier: MIT */
/* acl: admin_allow's address ranges, parsed and matched. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "acl.h"

/* Is the textual address IP inside the ranges TEXT? */
static bool allows(const char *text, const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    struct acl *a;
    bool yes;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else {
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
    }
    ck_assert_int_eq(acl_parse(text, &a), 0);
    yes = acl_allows(a, (struct sockaddr *)&ss);
    acl_free(a);
    return yes;
}

START_TEST(test_acl_prefixes)
{
    const char *lo = "127.0.0.0/8, ::1";

    ck_assert(allows(lo, "127.0.0.1"));
    ck_assert(allows(lo, "127.255.3.4"));
    ck_assert(!allows(lo, "128.0.0.1"));
    ck_assert(allows(lo, "::1"));
    ck_assert(!allows(lo, "::2"));
    /* a dual-stack socket's view of an IPv4 peer */
    ck_assert(allows(lo, "::ffff:127.0.0.1"));
    ck_assert(!allows(lo, "::ffff:10.0.0.1"));
    /* a prefix that ends inside a byte */
    ck_assert(allows("10.0.0.0/31", "10.0.0.1"));
    ck_assert(!allows("10.0.0.0/31", "10.0.0.2"));
    ck_assert(allows("192.168.0.0/20", "192.168.15.255"));
    ck_assert(!allows("192.168.0.0/20", "192.168.16.0"));
    ck_assert(allows("0.0.0.0/0", "8.8.8.8"));
    ck_assert(!allows("0.0.0.0/0", "::8"));
    ck_assert(allows("fd00::/8 10.1.2.3", "fdab::1"));
    ck_assert(allows("fd00::/8 10.1.2.3", "10.1.2.3"));
    ck_assert(!allows("fd00::/8 10.1.2.3", "10.1.2.4"));
}
END_TEST

START_TEST(test_acl_rejects)
{
    static const char *const bad[] = {
        "", " , ", "localhost", "127.0.0.1/33", "::1/129", "10.0.0.0/",
        "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.0/8/8", "1.2.3",
    };
    struct acl *a;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(acl_parse(bad[i], &a) == -EINVAL, "'%s' accepted",
                      bad[i]);
}
END_TEST

START_TEST(test_acl_unix_peer_refused)
{
    struct sockaddr sa = {.sa_family = AF_UNIX};
    struct acl *a;

    ck_assert_int_eq(acl_parse("0.0.0.0/0, ::/0", &a), 0);
    ck_assert(!acl_allows(a, &sa));
    ck_assert(!acl_allows(a, NULL));
    acl_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("acl");

    tcase_add_test(tc, test_acl_prefixes);
    tcase_add_test(tc, test_acl_rejects);
    tcase_add_test(tc, test_acl_unix_peer_refused);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
