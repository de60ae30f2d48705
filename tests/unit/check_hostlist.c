/* SPDX-License-Identifier: MIT */
/* hostlist: allowed_source_hosts' syntax and its exact host matching. */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"

#include "hostlist.h"

START_TEST(test_hostlist_names_exact)
{
    const char *l = "symbols.internal.example, Other.Example:8080";

    ck_assert(hostlist_has(l, "symbols.internal.example", 80));
    ck_assert(hostlist_has(l, "SYMBOLS.Internal.EXAMPLE", 443));
    /* no suffix, prefix or trailing-dot tricks */
    ck_assert(!hostlist_has(l, "evil-symbols.internal.example", 80));
    ck_assert(!hostlist_has(l, "x.symbols.internal.example", 80));
    ck_assert(!hostlist_has(l, "internal.example", 80));
    ck_assert(!hostlist_has(l, "symbols.internal.example.evil", 80));
    ck_assert(!hostlist_has(l, "symbols.internal.example.", 80));
    ck_assert(!hostlist_has("internal.example", "evil-internal.example", 80));
    /* a port on the item pins it */
    ck_assert(hostlist_has(l, "other.example", 8080));
    ck_assert(!hostlist_has(l, "other.example", 80));
    ck_assert(!hostlist_has("none", "none", 80));
}
END_TEST

START_TEST(test_hostlist_addresses)
{
    const char *l = "10.1.2.3 [fd00::5]:8443,127.0.0.1:9000";

    ck_assert(hostlist_has(l, "10.1.2.3", 80));
    ck_assert(!hostlist_has(l, "10.1.2.30", 80));
    ck_assert(hostlist_has(l, "[fd00::5]", 8443));
    ck_assert(hostlist_has(l, "[fd00:0::0:5]", 8443));
    ck_assert(!hostlist_has(l, "[fd00::5]", 443));
    ck_assert(hostlist_has(l, "127.0.0.1", 9000));
    ck_assert(!hostlist_has(l, "127.0.0.1", 9001));
    /* a name is not its address, nor an address its name */
    ck_assert(!hostlist_has(l, "localhost", 9000));
    ck_assert(!hostlist_has("localhost", "127.0.0.1", 80));
    ck_assert(!hostlist_has("10.1.2.3", "[::ffff:10.1.2.3]", 80));
}
END_TEST

START_TEST(test_hostlist_syntax)
{
    static const char *const good[] = {
        "none", "a", "localhost:1", "x.example:65535", "_sym.example",
        "1.2.3.4", "[::1]", "[::1]:80", " a ,\tb , ", "host-1.example",
    };
    static const char *const bad[] = {
        "", " , ", "a:0", "a:65536", "a:", "a:x", "a:80x", "::1", "fe80::1",
        "[::1", "[nope]", "127.1", "1.2.3.4.5", "a/b", "a*.example",
        ".example", "-a.example", "none,a", "user@host",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(hostlist_valid(good[i]), "'%s' refused", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!hostlist_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostlist");
    TCase *tc = tcase_create("hostlist");

    tcase_add_test(tc, test_hostlist_names_exact);
    tcase_add_test(tc, test_hostlist_addresses);
    tcase_add_test(tc, test_hostlist_syntax);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
