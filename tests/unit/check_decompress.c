/* SPDX-License-Identifier: MIT */
/*
 * decompress: which bodies are decoded, which names have a compressed
 * twin, gzip with several members or cut short, and the LZX cabinet
 * fixture (tests/data/cab) decoded only for its own member name.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckrun.h"
#include "decompress.h"
#include "fileio.h"
#include "gzip.h"
#include "testutil.h"
#include "xalloc.h"

static const unsigned char cab_head[] = "MSCF";
static const unsigned char gz_head[] = {0x1f, 0x8b, 8, 0};
static const unsigned char pdb_head[] = "Micr";

START_TEST(test_sniff)
{
    ck_assert_int_eq(decompress_sniff("a.pdb", cab_head, 4), DECOMPRESS_CAB);
    ck_assert_int_eq(decompress_sniff("a.sym", gz_head, 4), DECOMPRESS_GZIP);
    ck_assert_int_eq(decompress_sniff("a.pdb", pdb_head, 4), DECOMPRESS_NONE);
    ck_assert_int_eq(decompress_sniff("a.pdb", cab_head, 3), DECOMPRESS_NONE);
    /* Files that are themselves cabinets or gzip stay as they are. */
    ck_assert_int_eq(decompress_sniff("x.CAB", cab_head, 4), DECOMPRESS_NONE);
    ck_assert_int_eq(decompress_sniff("x.dbg.gz", gz_head, 4),
                     DECOMPRESS_NONE);
    ck_assert_int_eq(decompress_sniff("x.tgz", gz_head, 4), DECOMPRESS_NONE);
}
END_TEST

START_TEST(test_twin)
{
    char buf[32];

    ck_assert(decompress_twin("ntdll.pdb", buf, sizeof(buf)));
    ck_assert_str_eq(buf, "ntdll.pd_");
    ck_assert(decompress_twin("KERNEL32.DLL", buf, sizeof(buf)));
    ck_assert_str_eq(buf, "KERNEL32.DL_");
    ck_assert(decompress_twin("a.exe", buf, sizeof(buf)));
    ck_assert(decompress_twin("acpi.sys", buf, sizeof(buf)));
    ck_assert(decompress_twin("kdcom.dbg", buf, sizeof(buf)));
    ck_assert_str_eq(buf, "kdcom.db_");
    ck_assert(!decompress_twin("xul.sym", buf, sizeof(buf)));
    ck_assert(!decompress_twin(".pdb", buf, sizeof(buf)));
    ck_assert(!decompress_twin("libc.so.dbg.gz", buf, sizeof(buf)));
    ck_assert(!decompress_twin("a-very-long-name.pdb", buf, 8));
}
END_TEST

static char *dir;

static void setup(void)
{
    dir = testutil_tmpdir();
}

static void teardown(void)
{
    testutil_rmtree(dir);
    free(dir);
}

static char *path(const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* "hello " and "world" as two gzip members (gzip -c a b > c does this). */
static const unsigned char two_members[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48,
    0xcd, 0xc9, 0xc9, 0x57, 0x00, 0x00, 0xf6, 0xf9, 0x81, 0xed, 0x06, 0x00,
    0x00, 0x00, 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
    0x2b, 0xcf, 0x2f, 0xca, 0x49, 0x01, 0x00, 0x43, 0x11, 0x77, 0x3a, 0x05,
    0x00, 0x00, 0x00,
};

/* The room decode_bytes() gives: at most room_max bytes (none: no limit);
 * the largest total asked for. */
static uint64_t room_max, room_asked;
static bool room_limited;

static bool room_hold(void *arg, uint64_t total)
{
    (void)arg;
    room_asked = total > room_asked ? total : room_asked;
    return total <= room_max;
}

static int decode_bytes(enum decompress_kind kind, const void *in, size_t len,
                        const char *want, char **out, size_t *outlen,
                        const char **why)
{
    struct decompress_room room = {room_hold, NULL};
    char *src = path("in"), *dst = path("out");
    uint64_t size = 0;
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write_full(fd, in, len), 0);
    close(fd);
    rc = decompress_file(kind, src, dst, want, room_limited ? &room : NULL,
                         &size, why);
    if (rc == 0) {
        ck_assert_int_eq(read_small_file(dst, 1 << 20, out, outlen), 0);
        ck_assert_uint_eq(size, *outlen);
    } else {
        ck_assert_int_ne(access(dst, F_OK), 0); /* nothing left behind */
    }
    free(src);
    free(dst);
    return rc;
}

START_TEST(test_gzip_members_and_truncation)
{
    const char *why;
    char *out = NULL;
    size_t len;

    ck_assert_int_eq(decode_bytes(DECOMPRESS_GZIP, two_members,
                                  sizeof(two_members), "x", &out, &len, &why),
                     0);
    ck_assert_uint_eq(len, 11);
    ck_assert(memcmp(out, "hello world", 11) == 0);
    free(out);
    ck_assert_int_eq(decode_bytes(DECOMPRESS_GZIP, two_members,
                                  sizeof(two_members) - 3, "x", &out, &len,
                                  &why),
                     -EBADMSG);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(decode_bytes(DECOMPRESS_GZIP, two_members, 20, "x", &out,
                                  &len, &why),
                     -EBADMSG);
}
END_TEST

START_TEST(test_lzx_fixture)
{
    size_t clen, plen, len;
    char *cab = testutil_read_data("cab/lzxtest.pd_", &clen);
    char *plain = testutil_read_data("cab/lzxtest.pdb", &plen), *out = NULL;
    const char *why;

    ck_assert_int_eq(decode_bytes(DECOMPRESS_CAB, cab, clen, "LZXTEST.PDB",
                                  &out, &len, &why),
                     0);
    ck_assert_uint_eq(len, plen);
    ck_assert(memcmp(out, plain, plen) == 0);
    free(out);
    ck_assert_int_eq(decode_bytes(DECOMPRESS_CAB, cab, clen, "other.pdb",
                                  &out, &len, &why),
                     -EBADMSG);
    ck_assert_str_eq(why, "cabinet member is not the requested file");
    ck_assert_int_eq(decode_bytes(DECOMPRESS_CAB, cab, 40, "lzxtest.pdb",
                                  &out, &len, &why),
                     -EBADMSG);
    free(cab);
    free(plain);
}
END_TEST

/* The decoded file is held to the room the caller gives: a cabinet asks
 * for its member's whole length before writing any, gzip as it grows; a
 * refusal is -ENOSPC with nothing left behind. */
START_TEST(test_room)
{
    size_t clen, plen, len;
    char *cab = testutil_read_data("cab/lzxtest.pd_", &clen);
    char *plain = testutil_read_data("cab/lzxtest.pdb", &plen), *out = NULL;
    const char *why;

    room_limited = true;
    room_max = plen - 1;
    ck_assert_int_eq(decode_bytes(DECOMPRESS_CAB, cab, clen, "lzxtest.pdb",
                                  &out, &len, &why),
                     -ENOSPC);
    ck_assert_uint_eq(room_asked, plen);
    room_max = plen;
    ck_assert_int_eq(decode_bytes(DECOMPRESS_CAB, cab, clen, "lzxtest.pdb",
                                  &out, &len, &why),
                     0);
    free(out);
    room_max = 10;
    room_asked = 0;
    ck_assert_int_eq(decode_bytes(DECOMPRESS_GZIP, two_members,
                                  sizeof(two_members), "x", &out, &len, &why),
                     -ENOSPC);
    ck_assert_uint_eq(room_asked, 11);
    room_max = 11;
    ck_assert_int_eq(decode_bytes(DECOMPRESS_GZIP, two_members,
                                  sizeof(two_members), "x", &out, &len, &why),
                     0);
    ck_assert_uint_eq(len, 11);
    free(out);
    room_limited = false;
    free(cab);
    free(plain);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("decompress");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_twin);
    tcase_add_test(tc, test_gzip_members_and_truncation);
    tcase_add_test(tc, test_lzx_fixture);
    tcase_add_test(tc, test_room);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
