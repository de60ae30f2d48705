/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients and upstreams: what an attacker or a broken network
 * sends must get a bounded, answered, logged-as-text outcome.
 */
#include "symsrvd_config.h"

#include <check.h>

#include "ckrun.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "itest.h"
#include "xalloc.h"

static struct itest t;

static void stop(void)
{
    itest_stop(&t);
}

/* True when the LEN bytes at S are valid UTF-8 without control bytes
 * other than the newline ending each line. */
static bool printable_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2
                 : *p >= 0xe0 && *p <= 0xef                ? 3
                 : *p >= 0xf0 && *p <= 0xf4                ? 4
                                                           : 0;
        size_t i;

        if (n == 0 || (size_t)(end - p) < n)
            return false;
        if (n == 1 && ((*p < 0x20 && *p != '\n') || *p == 0x7f))
            return false;
        for (i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

START_TEST(test_hostile_access_log_escapes_client_bytes)
{
    char *log = xasprintf("%s.access", t.dir), *env, *text = NULL;
    size_t len;

    env = xasprintf("SYMSRVD_SERVER_ACCESS_LOG=%s", log);
    itest_start(&t, 1, "1", NULL, (const char *const[]){env, NULL});
    /* a terminal escape in the method; a control byte, a lone 0xff and a
     * valid e-acute in the target */
    http_raw(daemon_port(t.d),
             "G\x1b[2JT /a\x01\xff\xc3\xa9 HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n",
             NULL, 0);
    daemon_stop(t.d);
    t.d = NULL;
    ck_assert_int_eq(read_small_file(log, 1 << 20, &text, &len), 0);
    ck_assert_msg(printable_utf8(text, len), "%s", text);
    ck_assert_msg(strstr(text, " G\\x1b[2JT /a\\x01\\xff\xc3\xa9 ") != NULL,
                  "%s", text);
    unlink(log);
    free(text);
    free(env);
    free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_hostile");
    TCase *tc = tcase_create("hostile");

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, stop);
    tcase_add_test(tc, test_hostile_access_log_escapes_client_bytes);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
