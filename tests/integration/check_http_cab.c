/* SPDX-License-Identifier: MIT */
/*
 * Compressed upstream files and SymSrv probes, against a stub upstream:
 * a store that has only name.pd_ (MSZIP from gcab, LZX from the checked-in
 * fixture) is served as the plain name.pdb, also to clients that were
 * waiting while it downloaded; cabinets that are part of a set or hold
 * another file are refused and not cached; CAB and gzip bodies under a
 * plain name are decoded; index2.txt, pingme.txt, name.pd_ and file.ptr
 * get a 404 without an upstream request.
 *
 * The MSZIP cases need gcab (Debian package gcab): without it they are
 * left out (the log says so) and the others count.
 */
#include "symsrvd_config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckrun.h"
#include "fileio.h"
#include "itest.h"
#include "needtool.h"
#include "xalloc.h"

#define ID "55695F8DA7FF6C3B4C4C44205044422E1"
#define PDB "/tiny.pdb/" ID "/tiny.pdb"
#define PD_ "/tiny.pdb/" ID "/tiny.pd_"
#define LZX_PDB "/lzxtest.pdb/" ID "/lzxtest.pdb"
#define LZX_PD_ "/lzxtest.pdb/" ID "/lzxtest.pd_"

static struct itest t;

static void start(void)
{
    itest_start(&t, 1, "2", NULL, NULL);
}

static void stop(void)
{
    itest_stop(&t);
}

static void get_miss(const char *path, const char *reason)
{
    struct http_resp r;
    char *why;

    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    why = http_header(&r, "X-Symsrvd-Miss");
    ck_assert_msg(why != NULL && strcmp(why, reason) == 0,
                  "%s: miss reason %s, want %s", path, why ? why : "(none)",
                  reason);
    free(why);
    http_resp_free(&r);
}

static double metric(const char *name)
{
    double v = metrics_get(daemon_url(t.d), name, NULL);

    return v < 0 ? 0 : v;
}

/* A gcab cabinet (MSZIP) of BODY stored as member MEMBER; *LEN its size. */
static char *make_cab(const char *member, const char *body, size_t blen,
                      size_t *len)
{
    char *dir = testutil_tmpdir(), *file = xasprintf("%s/%s", dir, member);
    char *cmd, *cab = NULL;
    FILE *f = fopen(file, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(body, 1, blen, f), blen);
    fclose(f);
    cmd = xasprintf("cd '%s' && gcab -c -z -n out.cab '%s'", dir, member);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    free(cmd);
    cmd = xasprintf("%s/out.cab", dir);
    ck_assert_int_eq(read_small_file(cmd, 64 << 20, &cab, len), 0);
    free(cmd);
    free(file);
    testutil_rmtree(dir);
    free(dir);
    return cab;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* CAB rewritten as the first cabinet of a set: the NEXTCAB flag and the
 * next cabinet's name and disk after the header, offsets moved to match.
 * The member itself is still whole, so only the set check refuses it. */
static char *make_set_member(const char *cab, size_t len, size_t *outlen)
{
    static const char next[] = "next.cab\0disk2"; /* two C strings */
    const size_t hdr = 36, add = sizeof(next);
    unsigned char *o = xmalloc(len + add);
    unsigned folders, i;

    memcpy(o, cab, hdr);
    memcpy(o + hdr, next, add);
    memcpy(o + hdr + add, cab + hdr, len - hdr);
    ck_assert_uint_eq(o[30] & 0x04, 0); /* no reserved fields */
    o[30] |= 0x02;                       /* cfhdrNEXT_CABINET */
    put32(o + 8, get32(o + 8) + (uint32_t)add);   /* cbCabinet */
    put32(o + 16, get32(o + 16) + (uint32_t)add); /* coffFiles */
    folders = (unsigned)o[26] | (unsigned)o[27] << 8;
    for (i = 0; i < folders; i++) {
        unsigned char *f = o + hdr + add + 8 * i; /* CFFOLDER.coffCabStart */

        put32(f, get32(f) + (uint32_t)add);
    }
    *outlen = len + add;
    return (char *)o;
}

START_TEST(test_cab_only_twin_served_plain)
{
    char *body = itest_body(300000, true, 3), *cab;
    size_t len;

    cab = make_cab("tiny.pdb", body, 300000, &len);
    ck_assert_uint_lt(len, 300000); /* really compressed */
    stub_add(t.up[0], PD_, cab, len);
    itest_get_body(&t, PDB, body, 300000);
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], PD_), 1);
    ck_assert(metric("symsrvd_upstream_decoded_total") == 1);
    /* Cached as the plain file: no more upstream requests. */
    itest_get_body(&t, PDB, body, 300000);
    itest_get_body(&t, "/TINY.PDB/" ID "/tiny.pdb", body, 300000);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 2);
    free(cab);
    free(body);
}
END_TEST

/* Clients that wait while the cabinet downloads must get the plain file,
 * never the cabinet's bytes streamed from the temp file. */
START_TEST(test_cab_waiting_clients_get_plain_file)
{
    enum { N = 8, LEN = 400000 };
    char *body = itest_body(LEN, false, 4), *cab, *url;
    struct http_resp r[N];
    size_t len, i;

    cab = make_cab("tiny.pdb", body, LEN, &len);
    stub_add(t.up[0], PD_, cab, len);
    stub_fault(t.up[0], PD_, STUB_SLOW, 800000); /* about half a second */
    url = itest_url(&t, PDB);
    ck_assert_uint_eq(http_get_many(url, NULL, N, r), 0);
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(r[i].status, 200);
        ck_assert_uint_eq(r[i].len, LEN);
        ck_assert_msg(memcmp(r[i].body, body, LEN) == 0, "client %zu", i);
        http_resp_free(&r[i]);
    }
    ck_assert_uint_eq(stub_hits(t.up[0], PD_), 1);
    free(url);
    free(cab);
    free(body);
}
END_TEST

START_TEST(test_cab_wrong_member_refused_not_cached)
{
    char *body = itest_body(5000, true, 5), *cab;
    size_t len;

    cab = make_cab("other.pdb", body, 5000, &len);
    stub_add(t.up[0], PD_, cab, len);
    get_miss(PDB, "upstream-error");
    ck_assert(metric("symsrvd_upstream_rejected_total") == 1);
    /* Not remembered as a miss either: the store may be repaired. */
    get_miss(PDB, "upstream-error");
    ck_assert_uint_eq(stub_hits(t.up[0], PD_), 2);
    ck_assert(!itest_tree_has(t.dir, "tiny.pdb"));
    free(cab);
    free(body);
}
END_TEST

START_TEST(test_cab_multi_cabinet_set_refused)
{
    char *body = itest_body(5000, true, 6), *cab, *set;
    size_t len, setlen;

    cab = make_cab("tiny.pdb", body, 5000, &len);
    set = make_set_member(cab, len, &setlen);
    stub_add(t.up[0], PD_, set, setlen);
    get_miss(PDB, "upstream-error");
    ck_assert(metric("symsrvd_upstream_rejected_total") == 1);
    /* The same cabinet outside a set is fine. */
    stub_add(t.up[0], PD_, cab, len);
    itest_get_body(&t, PDB, body, 5000);
    free(set);
    free(cab);
    free(body);
}
END_TEST

/* A CAB body under the plain name (a store that compressed in place). */
START_TEST(test_cab_body_under_plain_name_decoded)
{
    char *body = itest_body(70000, true, 7), *cab;
    size_t len;

    cab = make_cab("tiny.pdb", body, 70000, &len);
    stub_add(t.up[0], PDB, cab, len);
    itest_get_body(&t, PDB, body, 70000);
    ck_assert_uint_eq(stub_hits(t.up[0], PD_), 0);
    free(cab);
    free(body);
}
END_TEST

START_TEST(test_lzx_fixture_twin)
{
    char *plain, *cab;
    size_t plen, clen;

    plain = testutil_read_data("cab/lzxtest.pdb", &plen);
    cab = testutil_read_data("cab/lzxtest.pd_", &clen);
    stub_add(t.up[0], LZX_PD_, cab, clen);
    itest_get_body(&t, LZX_PDB, plain, plen);
    itest_get_body(&t, LZX_PDB, plain, plen);
    ck_assert_uint_eq(stub_hits(t.up[0], LZX_PD_), 1);
    free(cab);
    free(plain);
}
END_TEST

/* A corrupt data block (the checksum no longer matches) is refused. */
START_TEST(test_lzx_fixture_corrupt_refused)
{
    char *cab;
    size_t clen;

    cab = testutil_read_data("cab/lzxtest.pd_", &clen);
    cab[clen - 5] ^= 1;
    stub_add(t.up[0], LZX_PD_, cab, clen);
    get_miss(LZX_PDB, "upstream-error");
    ck_assert(metric("symsrvd_upstream_rejected_total") == 1);
    free(cab);
}
END_TEST

START_TEST(test_gzip_body_decoded_unless_named_gz)
{
    char *body = itest_body(50000, true, 8), *gz;
    size_t len;
    const char *gzname = "/tiny.sym.gz/" ID "/tiny.sym.gz";

    gz = itest_gzip(body, 50000, &len);
    stub_add(t.up[0], PDB, gz, len);
    itest_get_body(&t, PDB, body, 50000);
    /* A file that is a .gz is served as the store has it. */
    stub_add(t.up[0], gzname, gz, len);
    itest_get_body(&t, gzname, gz, len);
    /* A truncated gzip body is refused, not served short. */
    stub_add(t.up[0], "/t.dll/5F1D3000/t.dll", gz, len / 2);
    get_miss("/t.dll/5F1D3000/t.dll", "upstream-error");
    free(gz);
    free(body);
}
END_TEST

/* Only the plain name has a twin: a .sym that is missing is one 404. */
START_TEST(test_twin_only_for_windows_names)
{
    get_miss("/tiny.sym/" ID "/tiny.sym", "not-found");
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 1);
    get_miss(PDB, "not-found");
    ck_assert_uint_eq(stub_hits(t.up[0], PDB), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], PD_), 1);
}
END_TEST

START_TEST(test_probes_never_reach_upstream)
{
    static const char *const probes[] = {
        "/index2.txt", "/pingme.txt", PD_, "/tiny.dll/5F1D3000/tiny.dl_",
        "/tiny.pdb/" ID "/file.ptr", "/ti/tiny.pdb/" ID "/tiny.pdb",
        "/download/symbols/tiny.pdb/" ID "/file.ptr",
    };
    const char *hdr[] = {"User-Agent: Microsoft-Symbol-Server/10.0.0.0",
                         NULL};
    struct http_resp r;
    size_t i;

    for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        char *url = itest_url(&t, probes[i]);

        ck_assert_int_eq(http_get(url, hdr, &r), 0);
        ck_assert_msg(r.status == 404, "%s: %ld", probes[i], r.status);
        http_resp_free(&r);
        ck_assert_int_eq(http_head(url, hdr, &r), 0);
        ck_assert_int_eq(r.status, 404);
        http_resp_free(&r);
        free(url);
    }
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_cab");
    TCase *tc = tcase_create("cab");
    bool have_gcab = needtool("check_http_cab", "gcab", NULL);
    int rc;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_test(tc, test_lzx_fixture_twin);
    tcase_add_test(tc, test_lzx_fixture_corrupt_refused);
    tcase_add_test(tc, test_gzip_body_decoded_unless_named_gz);
    tcase_add_test(tc, test_twin_only_for_windows_names);
    tcase_add_test(tc, test_probes_never_reach_upstream);
    suite_add_tcase(s, tc);
    if (have_gcab) {
        TCase *gc = tcase_create("gcab");

        tcase_set_timeout(gc, 60);
        tcase_add_checked_fixture(gc, start, stop);
        tcase_add_test(gc, test_cab_only_twin_served_plain);
        tcase_add_test(gc, test_cab_waiting_clients_get_plain_file);
        tcase_add_test(gc, test_cab_wrong_member_refused_not_cached);
        tcase_add_test(gc, test_cab_multi_cabinet_set_refused);
        tcase_add_test(gc, test_cab_body_under_plain_name_decoded);
        suite_add_tcase(s, gc);
    }
    rc = ckrun(s);
    /* Without gcab its cases are left out (needtool() said so) and the
     * others count, as in check_unwind_pe: a whole-suite 77 would hide
     * that they ran. */
    return rc;
}
