/* SPDX-License-Identifier: MIT */
/*
 * The symbolication API's small parts: which addresses count as public
 * (SSRF), parsing request sources, JSON string escaping, and the job
 * files every worker shares.
 */
#include "symsrvd_config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ckrun.h"
#include "config.h"
#include "fileio.h"
#include "gcsauth.h"
#include "jsonarena.h"
#include "jsonin.h"
#include "jsonout.h"
#include "stabcache.h"
#include "symjob.h"
#include "strmemo.h"
#include "symbolicate.h"
#include "symbolicate_int.h"
#include "ssrf.h"
#include "symsource.h"
#include "table/symtable.h"
#include "testkey.h"
#include "testutil.h"
#include "xalloc.h"

static bool public4(const char *a)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};

    ck_assert_int_eq(inet_pton(AF_INET, a, &sin.sin_addr), 1);
    return ssrf_addr_public((struct sockaddr *)&sin);
}

static bool public6(const char *a)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

    ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
    return ssrf_addr_public((struct sockaddr *)&sin6);
}

START_TEST(test_addr_public)
{
    static const char *const refused4[] = {
        "127.0.0.1",   "10.1.2.3",    "172.16.0.1",     "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1",   "255.255.255.255", "192.0.2.1",  "198.18.0.1"};
    static const char *const refused6[] = {
        "::1", "::", "fe80::1", "fc00::1", "fd12::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
        "2001:db8::1", "2002:7f00:1::1"};

    for (size_t i = 0; i < sizeof(refused4) / sizeof(*refused4); i++)
        ck_assert_msg(!public4(refused4[i]), "%s", refused4[i]);
    for (size_t i = 0; i < sizeof(refused6) / sizeof(*refused6); i++)
        ck_assert_msg(!public6(refused6[i]), "%s", refused6[i]);
    ck_assert(public4("8.8.8.8"));
    ck_assert(public4("172.32.0.1"));
    ck_assert(public4("100.128.0.1"));
    ck_assert(public6("2606:4700::1111"));
    ck_assert(public6("::ffff:1.1.1.1"));
}
END_TEST

static int parse(const char *text, struct symsource_list *l, char *err,
                 size_t errlen)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    int rc;

    ck_assert_ptr_nonnull(j);
    rc = symsource_parse(j, l, err, errlen);
    json_decref(j);
    return rc;
}

START_TEST(test_sources_parse)
{
    struct symsource_list l;
    char err[256];

    ck_assert_int_eq(symsource_parse(NULL, &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_int_eq(l.v[0].kind, SYMSOURCE_CACHE);
    symsource_list_free(&l);
    ck_assert_int_eq(parse("[]", &l, err, sizeof(err)), 0);
    ck_assert_uint_eq(l.n, 0);
    symsource_list_free(&l);
    ck_assert_int_eq(
        parse("[{\"id\":\"a\",\"type\":\"http\",\"url\":\"https://x/s//\","
              "\"layout\":{\"type\":\"unified\",\"casing\":\"uppercase\"},"
              "\"filters\":{\"filetypes\":[\"pdb\",\"sourcebundle\"]},"
              "\"is_public\":true,\"extra\":1}]",
              &l, err, sizeof(err)),
        0);
    ck_assert_str_eq(l.v[0].base, "https://x/s");
    ck_assert_int_eq(l.v[0].layout, LAYOUT_UNIFIED);
    ck_assert_int_eq(l.v[0].casing, LAYOUT_CASE_UPPER);
    ck_assert(l.v[0].filetypes[LAYOUT_FT_PDB]);
    ck_assert(!l.v[0].filetypes[LAYOUT_FT_PE]);
    ck_assert(l.v[0].is_public);
    symsource_list_free(&l);
    ck_assert_int_eq(parse("[{\"id\":\"a\",\"type\":\"gopher\"}]", &l, err,
                           sizeof(err)),
                     -EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "gopher"));
    ck_assert_int_eq(parse("[{\"id\":\"a\",\"type\":\"http\",\"url\":"
                           "\"file:///etc/passwd\"}]",
                           &l, err, sizeof(err)),
                     -EPROTO);
    ck_assert_int_eq(parse("[{\"id\":\"a\",\"type\":\"filesystem\",\"path\":"
                           "\"relative\"}]",
                           &l, err, sizeof(err)),
                     -EPROTO);
    ck_assert_int_eq(parse("[{\"id\":\"a\",\"type\":\"http\",\"url\":\"http://x\""
                           ",\"layout\":{\"type\":\"flat\"}}]",
                           &l, err, sizeof(err)),
                     -EPROTO);
    ck_assert_int_eq(parse("{\"id\":\"a\"}", &l, err, sizeof(err)), -EPROTO);
}
END_TEST

/* gcs and sentry sources carry their credentials as a header (or a gcs
 * one its service account key); a gcs source without either, or a sentry
 * one without a token or cookies, is refused. */
START_TEST(test_sources_parse_gcs_sentry)
{
    struct symsource_list l;
    char err[256];

    ck_assert_int_eq(
        parse("[{\"id\":\"g\",\"type\":\"gcs\",\"bucket\":\"my_syms\","
              "\"prefix\":\"/ios/\",\"bearer_token\":\"tok\","
              "\"filters\":{\"path_patterns\":[\"?:/windows/**\"]},"
              "\"has_index\":true},"
              "{\"id\":\"s\",\"type\":\"sentry\",\"url\":"
              "\"https://sentry.example/api/0/projects/o/p/files/dsyms/\","
              "\"token\":\"t0k\"}]",
              &l, err, sizeof(err)),
        0);
    ck_assert_int_eq(l.v[0].kind, SYMSOURCE_GCS);
    ck_assert_str_eq(l.v[0].uri, "gs://my_syms/ios");
    ck_assert_str_eq(l.v[0].prefix, "ios/");
    ck_assert_str_eq(json_string_value(json_object_get(l.v[0].headers,
                                                       "Authorization")),
                     "Bearer tok");
    ck_assert_uint_eq(json_array_size(l.v[0].path_patterns), 1);
    ck_assert(l.v[0].has_index);
    ck_assert_int_eq(l.v[1].kind, SYMSOURCE_SENTRY);
    ck_assert_str_eq(json_string_value(json_object_get(l.v[1].headers,
                                                       "Authorization")),
                     "Bearer t0k");
    symsource_list_free(&l);
    ck_assert_int_eq(parse("[{\"id\":\"g\",\"type\":\"gcs\",\"bucket\":"
                           "\"b1b\",\"private_key\":\"k\",\"client_email\":"
                           "\"e\"}]",
                           &l, err, sizeof(err)),
                     0);
    ck_assert_str_eq(l.v[0].gcs_email, "e");
    ck_assert_ptr_null(l.v[0].headers);
    symsource_list_free(&l);
    ck_assert_int_eq(parse("[{\"id\":\"g\",\"type\":\"gcs\",\"bucket\":"
                           "\"b1b\",\"private_key\":\"k\"}]",
                           &l, err, sizeof(err)),
                     -EPROTO);
    ck_assert_int_eq(parse("[{\"id\":\"s\",\"type\":\"sentry\",\"url\":"
                           "\"https://x/\",\"token\":\"a\\nb\"}]",
                           &l, err, sizeof(err)),
                     -EPROTO);
}
END_TEST

/* base64url TEXT (no padding) decoded into BUF; its length, or -1. */
static int unb64url(const char *text, size_t n, unsigned char *buf)
{
    char *std = xmalloc(n + 4);
    size_t len = n;
    int out, pad = 0;

    for (size_t i = 0; i < n; i++)
        std[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
    while (len % 4 != 0) {
        std[len++] = '=';
        pad++;
    }
    out = EVP_DecodeBlock(buf, (const unsigned char *)std, (int)len);
    free(std);
    return out < 0 ? -1 : out - pad;
}

/* A service account's JWT: RS256 over "header.claims", verifiable with
 * the account's public key; the claims Google's token endpoint reads. */
START_TEST(test_gcsauth_jwt)
{
    char *pub, *pem = testkey_rsa_pem(&pub), err[128], *jwt, *dot1, *dot2;
    unsigned char sig[512], claims[1024];
    BIO *bio = BIO_new_mem_buf(pub, -1);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    json_t *c;
    int n;

    jwt = gcsauth_jwt("robot@p.iam.gserviceaccount.com", pem,
                      "https://oauth.test/token", 1700000000, err, sizeof(err));
    ck_assert_ptr_nonnull(jwt);
    dot1 = strchr(jwt, '.');
    dot2 = strrchr(jwt, '.');
    ck_assert_ptr_nonnull(dot1);
    ck_assert_ptr_ne(dot1, dot2);
    n = unb64url(dot2 + 1, strlen(dot2 + 1), sig);
    ck_assert_int_eq(n, 256);
    ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    ck_assert_int_eq(EVP_DigestVerify(md, sig, (size_t)n,
                                      (const unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)),
                     1);
    n = unb64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims);
    ck_assert_int_gt(n, 0);
    c = json_loadb((const char *)claims, (size_t)n, 0, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(json_string_value(json_object_get(c, "iss")),
                     "robot@p.iam.gserviceaccount.com");
    ck_assert_str_eq(json_string_value(json_object_get(c, "aud")),
                     "https://oauth.test/token");
    ck_assert_str_eq(json_string_value(json_object_get(c, "scope")),
                     "https://www.googleapis.com/auth/devstorage.read_only");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "iat")), 1700000000);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "exp")), 1700003600);
    json_decref(c);
    free(jwt);
    /* a key pasted from JSON keeps its "\n" escapes */
    {
        json_t *esc = json_string(pem);
        char *text = json_dumps(esc, JSON_ENCODE_ANY), *inner;

        text[strlen(text) - 1] = '\0';
        inner = text + 1;
        jwt = gcsauth_jwt("a@b", inner, "https://oauth.test/token", 1, err,
                          sizeof(err));
        ck_assert_ptr_nonnull(jwt);
        free(jwt);
        free(text);
        json_decref(esc);
    }
    ck_assert_ptr_null(gcsauth_jwt("a@b", "not a key", "x", 1, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "private_key"));
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    free(pub);
    free(pem);
}
END_TEST

/* path_patterns globs, as Symbolicator's tests and the glob crate match
 * them: case-insensitive, '\\' read as '/', '*' and '?' cross '/'. */
START_TEST(test_path_glob)
{
    static const struct {
        const char *pat, *path;
        bool match;
    } cases[] = {
        {"c:/windows/*", "C:\\Windows\\System32\\kernel32.dll", true},
        {"?:/windows/*", "C:\\Windows\\System32\\kernel32.dll", true},
        {"d:/windows/**", "C:\\Windows\\System32\\kernel32.dll", false},
        {"**/libc.so*", "/usr/lib/x86_64-linux-gnu/libc.so.6", true},
        {"/usr/lib/*.so", "/usr/lib/libm.so.6", false},
        {"*.[pd][dl][bl]", "C:\\b\\crash.pdb", true},
        {"*.[!p]db", "C:\\b\\crash.pdb", false},
        {"crash", "crash.exe", false},
        {"*", "", true},
        {"[", "[", true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        ck_assert_msg(symsource_glob(cases[i].pat, cases[i].path) ==
                          cases[i].match,
                      "%s ~ %s", cases[i].pat, cases[i].path);
}
END_TEST

START_TEST(test_jsonout_escapes)
{
    struct jsonout o = {0};
    int first = 1;
    size_t len;
    char *text;
    json_t *back;

    jsonout_raw(&o, "{", 1);
    jsonout_key(&o, &first, "k\"1");
    jsonout_str(&o, "a\"b\\c\n\x01 d:\\\\x");
    jsonout_key(&o, &first, "h");
    jsonout_hex(&o, 0);
    jsonout_key(&o, &first, "u");
    jsonout_uint(&o, 9223372036854775807ull);
    jsonout_raw(&o, "}", 1);
    text = jsonout_take(&o, &len);
    ck_assert_str_eq(text, "{\"k\\\"1\":\"a\\\"b\\\\c\\u000a\\u0001 d:"
                           "\\\\\\\\x\",\"h\":\"0x0\",\"u\":"
                           "9223372036854775807}");
    back = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(json_string_value(json_object_get(back, "k\"1")),
                     "a\"b\\c\n\x01 d:\\\\x");
    json_decref(back);
    free(text);
}
END_TEST

/* Addresses of every width are written as "0x%" PRIx64 writes them. */
START_TEST(test_jsonout_hex_widths)
{
    struct jsonout o = {0};
    char want[32], *text;
    size_t len;

    for (int bit = 0; bit < 64; bit++) {
        const uint64_t values[] = {(uint64_t)1 << bit,
                                   ((uint64_t)1 << bit) - 1,
                                   UINT64_MAX >> bit,
                                   0x0123456789abcdefull >> bit};

        for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
            jsonout_raw(&o, "x", 1);
            jsonout_hex(&o, values[i]);
            text = jsonout_take(&o, &len);
            snprintf(want, sizeof(want), "x\"0x%" PRIx64 "\"", values[i]);
            ck_assert_str_eq(text, want);
            ck_assert_uint_eq(len, strlen(want));
            free(text);
        }
    }
}
END_TEST

/* jsonin accepts what json_loadb(JSON_REJECT_DUPLICATES) accepts and
 * builds equal values. */
static const char *const jsonin_texts[] = {
    "{}", "[]", " \t\r\n{ } ", "{\"a\":1}", "[1,2,3]", "{\"a\":[{}]}",
    "[\"plain\",\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]",
    "[\"\\u00e9\\u4E2D\\ud83d\\ude00\"]", "[\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"]",
    "[0,-0,1,-1,9223372036854775807,-9223372036854775808]",
    "[9223372036854775808]", "[-9223372036854775809]",
    "[1.5,-0.25,1e3,1E-3,2.5e+10,1e400,1e-400,0.0]",
    "[01]", "[-]", "[1.]", "[.5]", "[1e]", "[1e+]", "[+1]", "[0x10]",
    "[true,false,null]", "[tru]", "[truex]", "[nul]", "[True]",
    "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":{\"a\":2}}",
    "{\"a\\u0062\":1,\"ab\":2}", "{\"\\u00e9\":1}",
    "[\"\\u0000\"]", "{\"\\u0000\":1}", "[\"\\ud800\"]", "[\"\\udc00\"]",
    "[\"\\ud800\\u0041\"]", "[\"\\ud800x\"]", "[\"\\x\"]", "[\"\\u12\"]",
    "[\"\\u12G4\"]", "[\"a\nb\"]", "[\"a\x01\"]", "[\"\xc0\x80\"]",
    "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xe4\xb8\"]",
    "[\"\x80\"]", "[\"\xff\"]", "\xef\xbb\xbf{}", "", " ", "1", "\"s\"",
    "null", "{", "[", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}",
    "{\"a\":1,}", "{,}", "[1 2]", "{\"a\":1 \"b\":2}", "[] []", "[]x",
    "[\"unterminated", "[\"ok\"", "{\"k\":\"v\"", "[1e5x]", "[-01]",
    "[\"\\", "[\"\\u", "[\"a\\\"", "{\"a\":[1,{\"b\":[true,{\"c\":null}]}]}",
};

START_TEST(test_jsonin_like_jansson)
{
    const char *const *texts = jsonin_texts;
    char err[256];

    for (size_t i = 0; i < sizeof(jsonin_texts) / sizeof(*texts); i++) {
        json_error_t je;
        json_t *want = json_loadb(texts[i], strlen(texts[i]),
                                  JSON_REJECT_DUPLICATES, &je);
        json_t *got = jsonin_parse(texts[i], strlen(texts[i]), err,
                                   sizeof(err));

        ck_assert_msg((want == NULL) == (got == NULL),
                      "case %zu \"%s\": jansson %s, jsonin %s", i, texts[i],
                      want ? "accepts" : je.text, got ? "accepts" : err);
        ck_assert_msg(want == NULL || json_equal(want, got),
                      "case %zu \"%s\": values differ", i, texts[i]);
        if (got == NULL)
            ck_assert_ptr_nonnull(strstr(err, " at line "));
        json_decref(want);
        json_decref(got);
    }
}
END_TEST

/* A byte that ends a string's plain run (a quote, a backslash, a control
 * byte, UTF-8, or the end of the text) at each place within and around
 * an eight-byte step reads as jansson reads it. */
START_TEST(test_jsonin_string_steps)
{
    static const char *const stops[] = {"\"", "\\n", "\x1f", "\x7f",
                                        "\xc3\xa9", "\xff", " ", ""};
    char text[64], err[256];

    for (size_t k = 0; k < sizeof(stops) / sizeof(*stops); k++) {
        for (int at = 0; at < 20; at++) {
            int n = snprintf(text, sizeof(text), "[\"%.*s%s%.*s\"]", at,
                             "abcdefghijklmnopqrstuvwxyz", stops[k], 3, "xyz");
            json_t *want = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES,
                                      NULL);
            json_t *got = jsonin_parse(text, (size_t)n, err, sizeof(err));
            /* and cut short inside the string */
            json_t *cut = jsonin_parse(text, (size_t)n - 2, err, sizeof(err));

            ck_assert_msg((want == NULL) == (got == NULL), "%s", text);
            ck_assert_msg(want == NULL || json_equal(want, got), "%s", text);
            ck_assert_msg(cut == NULL, "%s", text);
            json_decref(want);
            json_decref(got);
        }
    }
}
END_TEST

/* Values parsed into an arena equal jansson's, also where the parse
 * fails half way (what it built is dropped: the arena's frees do
 * nothing) and where objects grow their tables; values made outside it
 * meanwhile are heap values, json_dumps() text is free()d as ever. */
START_TEST(test_jsonarena)
{
    char err[256], *big = xstrdup("{"), *text;
    json_t *heap;

    for (size_t i = 0; i < sizeof(jsonin_texts) / sizeof(*jsonin_texts); i++) {
        const char *t = jsonin_texts[i];
        json_t *want = json_loadb(t, strlen(t), JSON_REJECT_DUPLICATES, NULL);
        struct jsonarena *a = jsonarena_new(strlen(t));
        json_t *got;

        jsonarena_begin(a);
        got = jsonin_parse(t, strlen(t), err, sizeof(err));
        jsonarena_end();
        ck_assert_msg((want == NULL) == (got == NULL), "case %zu", i);
        ck_assert_msg(want == NULL || json_equal(want, got), "case %zu", i);
        heap = json_pack("{s:O?}", "copy", got);
        text = json_dumps(heap, JSON_COMPACT);
        ck_assert_ptr_nonnull(text);
        free(text);
        json_decref(heap); /* gives GOT's reference back, frees nothing of it */
        json_decref(want);
        jsonarena_free(a);
    }
    for (int i = 0; i < 2000; i++) {
        char *next = xasprintf("%s%s\"k%d\":[%d,\"v\"]", big, i ? "," : "",
                               i, i);

        free(big);
        big = next;
    }
    text = xasprintf("%s}", big);
    {
        json_t *want = json_loads(text, 0, NULL), *got;
        struct jsonarena *a = jsonarena_new(16);

        jsonarena_begin(a);
        got = jsonin_parse(text, strlen(text), err, sizeof(err));
        jsonarena_end();
        ck_assert(json_equal(want, got));
        ck_assert_uint_gt(jsonarena_bytes(a), strlen(text));
        json_decref(want);
        jsonarena_free(a);
    }
    free(text);
    free(big);
}
END_TEST

/* Nesting deeper than jansson's bound is refused, up to it accepted; the
 * position of an error is counted in lines and columns. */
START_TEST(test_jsonin_depth_and_position)
{
    size_t n = JSON_PARSER_MAX_DEPTH + 1;
    char *deep = xmalloc(2 * n + 1), err[256];
    json_t *v;

    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    ck_assert_ptr_null(jsonin_parse(deep, 2 * n, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "depth"));
    v = jsonin_parse(deep + 1, 2 * n - 2, err, sizeof(err));
    ck_assert_ptr_nonnull(v);
    json_decref(v);
    free(deep);
    ck_assert_ptr_null(jsonin_parse("{\n  \"a\": x}", 11, err, sizeof(err)));
    ck_assert_str_eq(err, "invalid token at line 2 column 8");
}
END_TEST

/* strmemo: what was put is got back, by key and kind; the first put of
 * two wins; a full memo refuses and leaves the text to the caller. */
START_TEST(test_strmemo)
{
    static const char names[3][8] = {"a", "b", "c"};
    struct strmemo *m = strmemo_new(1 << 20, NULL);
    char *t = xstrdup("\"a\""), *big;
    const char *got;
    size_t len = 0;
    uintptr_t k0 = (uintptr_t)names[0], k1 = (uintptr_t)names[1],
              k2 = (uintptr_t)names[2];

    ck_assert_ptr_null(strmemo_get(m, k0, 0, &len));
    ck_assert_ptr_eq(strmemo_put(m, k0, 0, t, 3), t);
    got = strmemo_get(m, k0, 0, &len);
    ck_assert_ptr_eq(got, t);
    ck_assert_uint_eq(len, 3);
    ck_assert_ptr_null(strmemo_get(m, k0, 1, &len));
    ck_assert_ptr_eq(strmemo_put(m, k0, 0, xstrdup("x"), 1), t);
    for (unsigned k = 1; k < 600; k++) /* past the first table size */
        ck_assert_ptr_nonnull(strmemo_put(m, k % 2 ? k1 : k2, k, xstrdup(""), 0));
    ck_assert_ptr_eq(strmemo_get(m, k0, 0, &len), t);
    ck_assert_ptr_nonnull(strmemo_get(m, k2, 598, &len));
    ck_assert_uint_eq(strmemo_bytes(m), 3 + 600 * STRMEMO_ENTRY_OVERHEAD);
    big = xcalloc(1, 1 << 20);
    ck_assert_ptr_null(strmemo_put(m, k1, 1000, big, 1 << 20));
    free(big);
    strmemo_free(m);
}
END_TEST

/* Threads that get while others put and the table grows: a get finds
 * nothing or the text put for its own key and kind, never another's. */
struct memo_race {
    struct strmemo *m;
    unsigned seed;
    _Atomic unsigned wrong, found;
};

static void *memo_race_main(void *arg)
{
    struct memo_race *r = arg;
    unsigned seed = r->seed;

    for (unsigned i = 0; i < 40000; i++) {
        uintptr_t key = 1 + (uintptr_t)(rand_r(&seed) % 6000);
        unsigned kind = (unsigned)(rand_r(&seed) % 3);
        char want[32];
        size_t len;
        const char *got = strmemo_get(r->m, key, kind, &len);

        snprintf(want, sizeof(want), "%lu/%u", (unsigned long)key, kind);
        if (got != NULL) {
            atomic_fetch_add(&r->found, 1);
            if (len != strlen(want) || memcmp(got, want, len) != 0)
                atomic_fetch_add(&r->wrong, 1);
            continue;
        }
        /* the texts are NUL-terminated: whoever put first, compare all */
        got = strmemo_put(r->m, key, kind, xstrdup(want), strlen(want));
        if (got == NULL || strcmp(got, want) != 0)
            atomic_fetch_add(&r->wrong, 1);
    }
    return NULL;
}

START_TEST(test_strmemo_concurrent_gets)
{
    struct memo_race r[4];
    struct strmemo *m = strmemo_new(64 << 20, NULL);
    pthread_t t[4];
    unsigned wrong = 0, found = 0;

    for (unsigned i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].m = m;
        r[i].seed = i + 1;
        ck_assert_int_eq(pthread_create(&t[i], NULL, memo_race_main, &r[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        wrong += atomic_load(&r[i].wrong);
        found += atomic_load(&r[i].found);
    }
    ck_assert_uint_eq(wrong, 0);
    ck_assert_uint_gt(found, 0);
    strmemo_free(m);
}
END_TEST

/* Memos sharing a budget hold at most its max between them, and a freed
 * memo's bytes are free again. */
START_TEST(test_strmemo_budget)
{
    struct strmemo_budget budget = {.max = 10 * (STRMEMO_ENTRY_OVERHEAD + 20)};
    struct strmemo *a = strmemo_new(1 << 20, &budget),
                   *b = strmemo_new(1 << 20, &budget);
    unsigned put = 0;
    char *t;

    for (uintptr_t k = 1; k <= 40; k++) {
        t = xcalloc(1, 20);
        if (strmemo_put(k % 2 ? a : b, k, 0, t, 20) != NULL)
            put++;
        else
            free(t);
        ck_assert_uint_le(atomic_load(&budget.used), budget.max);
    }
    ck_assert_uint_eq(put, 10);
    ck_assert_uint_eq(atomic_load(&budget.used),
                      strmemo_bytes(a) + strmemo_bytes(b));
    strmemo_free(a);
    ck_assert_uint_eq(atomic_load(&budget.used), strmemo_bytes(b));
    t = xcalloc(1, 20);
    ck_assert_ptr_eq(strmemo_put(b, 1000, 0, t, 20), t);
    strmemo_free(b);
    ck_assert_uint_eq(atomic_load(&budget.used), 0);
}
END_TEST

/* Addresses as Symbolicator's HexValue reads them; the plain "0x..."
 * fast path agrees with strtoull() on every edge. */
START_TEST(test_hexvalue)
{
    static const struct {
        const char *json;
        bool ok;
        uint64_t v;
    } cases[] = {
        {"\"0x0\"", true, 0},
        {"\"0x401902\"", true, 0x401902},
        {"\"0XaBcDeF\"", true, 0xabcdef},
        {"\"0xffffffffffffffff\"", true, UINT64_MAX},
        {"\"0x00000000000000001\"", true, 1},
        {"\"0x10000000000000000\"", false, 0},
        {"\"0x\"", false, 0},
        {"\"0x 1\"", false, 0},
        {"\" 12\"", false, 0},
        {"\"12a\"", false, 0},
        {"\"0xg1\"", false, 0},
        {"\"0x1g\"", false, 0},
        {"\"4198658\"", true, 4198658},
        {"\"-1\"", false, 0},
        {"\"\"", false, 0},
        {"12", true, 12},
        {"-12", false, 0},
        {"1.5", false, 0},
        {"null", false, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        uint64_t v = 0;

        ck_assert_ptr_nonnull(j);
        ck_assert_msg(hexvalue(j, &v) == cases[i].ok, "%s", cases[i].json);
        if (cases[i].ok)
            ck_assert_msg(v == cases[i].v, "%s: %" PRIx64, cases[i].json, v);
        json_decref(j);
    }
}
END_TEST

/* Values from a request come back as json_dumps() would write them,
 * whichever path writes them; literal keys join like escaped ones. */
START_TEST(test_jsonout_json_values)
{
    static const char *const values[] = {
        "\"plain\"", "\"q\\\"b\\\\s\\n\\u0000z\"", "\"\u00e9\u4e2d\"", "0",
        "9223372036854775807", "-5", "1.5", "true", "false", "null",
        "[1,\"a\"]", "{\"k\":{\"l\":[]}}"};
    struct jsonout o = {0};
    size_t len;
    char *text;
    int first = 1;

    for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
        json_t *v = json_loads(values[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL), *back;

        ck_assert_ptr_nonnull(v);
        jsonout_json(&o, v);
        text = jsonout_take(&o, &len);
        back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ck_assert_msg(back != NULL && json_equal(back, v), "%s -> %s",
                      values[i], text);
        ck_assert_uint_eq(len, strlen(text)); /* a NUL is escaped */
        json_decref(back);
        json_decref(v);
        free(text);
    }
    {
        /* containers as json_dumps() writes them, keys in insertion order */
        json_t *v = json_pack("{s:i,s:[b,n,s,f],s:{s:i,s:s},s:[]}", "z", 1, "a",
                              1, "s", 1.5, "m", "k", -5, "r", "\u00e9", "e");
        char *want = json_dumps(v, JSON_COMPACT);

        jsonout_json(&o, v);
        text = jsonout_take(&o, &len);
        ck_assert_str_eq(text, want);
        ck_assert_str_eq(text, "{\"z\":1,\"a\":[true,null,\"s\",1.5],"
                               "\"m\":{\"k\":-5,\"r\":\"\u00e9\"},\"e\":[]}");
        free(text);
        free(want);
        json_decref(v);
    }
    jsonout_raw(&o, "{", 1);
    jsonout_keyq(&o, &first, "\"a\":", 4);
    jsonout_uint(&o, 1);
    jsonout_keyq(&o, &first, "\"b\":", 4);
    jsonout_json(&o, NULL);
    jsonout_raw(&o, "}", 1);
    text = jsonout_take(&o, &len);
    ck_assert_str_eq(text, "{\"a\":1,\"b\":null}");
    free(text);
}
END_TEST

/* module_write() writes the answer's module: members in the request's
 * order, our debug and code ids in their place or after them, ids we
 * cannot read dropped (the text for a table and candidates below, written
 * out by hand), with and without a table and candidates; and
 * module_json() is the same module, which jsonout_json() writes again
 * byte for byte. */
START_TEST(test_module_write_as_module_json)
{
    /* elements in parentheses: literals split over lines, one each */
    static const char *const raws[] = {
        ("{\"type\":\"elf\",\"code_id\":\"F1C3BCC0279865FE3058404B2831D9E6\","
         "\"debug_file\":\"crash\",\"code_file\":\"/w/crash\","
         "\"image_addr\":\"0x400000\",\"image_size\":1048576}"),
        ("{\"debug_checksum\":7,\"image_size\":9,\"debug_id\":"
         "\"3249D99D-0C40-4931-8610-F4E4FB0B6936-1\",\"type\":\"pe\","
         "\"code_id\":\"5AB380779000\",\"other\":[1],"
         "\"debug_file\":\"C:\\\\b\\\\cr\\\"ash.pdb\"}"),
        ("{\"type\":\"macho\",\"debug_id\":\"not an id\",\"code_id\":\"\","
         "\"image_addr\":4096}"),
        "{\"type\":5,\"code_id\":null}",
    };
    static const char feat[] =
        "{\"debug_status\":\"found\",\"features\":{\"has_debug_info\":true,"
        "\"has_unwind_info\":false,\"has_symbols\":true,\"has_sources\":false},"
        "\"arch\":\"x86_64\",";
    static const char cands_text[] = ",\"candidates\":[{\"source\":\"a\\\"b\"}]}";
    static const char *const with_table[] = {
        ("\"type\":\"elf\",\"code_id\":\"f1c3bcc0279865fe3058404b2831d9e6\","
         "\"code_file\":\"/w/crash\",\"debug_file\":\"crash\","
         "\"image_addr\":\"0x400000\",\"image_size\":1048576"),
        ("\"type\":\"pe\",\"code_id\":\"5ab380779000\",\"debug_id\":"
         "\"3249d99d-0c40-4931-8610-f4e4fb0b6936-1\",\"debug_file\":"
         "\"C:\\\\b\\\\cr\\\"ash.pdb\",\"debug_checksum\":7,"
         "\"image_addr\":\"0x0\",\"image_size\":9"),
        "\"type\":\"macho\",\"image_addr\":\"0x1000\"",
        "\"type\":5,\"image_addr\":\"0x0\"",
    };
    struct stab t;
    struct jsonout o = {0};

    memset(&t, 0, sizeof(t));
    t.has_debug_info = true;
    t.has_symbols = true;
    snprintf(t.id.arch, sizeof(t.id.arch), "x86_64");
    for (size_t i = 0; i < sizeof(raws) / sizeof(*raws); i++) {
        json_t *raw = json_loads(raws[i], 0, NULL);

        ck_assert_ptr_nonnull(raw);
        for (unsigned k = 0; k < 4; k++) {
            bool cands = k & 1;
            struct module m;
            json_t *obj;
            char *want, *got;
            size_t len;

            module_init(&m, raw, cands);
            m.status = "found";
            m.stab = k & 2 ? &t : NULL;
            if (cands)
                json_array_append_new(m.candidates,
                                      json_pack("{s:s}", "source", "a\"b"));
            obj = module_json(cands, &m);
            jsonout_json(&o, obj);
            want = jsonout_take(&o, &len);
            module_write(&o, cands, &m);
            got = jsonout_take(&o, &len);
            if (k == 3) {
                char *text = xasprintf("%s%s%s", feat, with_table[i], cands_text);

                ck_assert_str_eq(got, text);
                free(text);
            }
            ck_assert_str_eq(got, want);
            ck_assert_uint_eq(len, strlen(want));
            free(want);
            free(got);
            json_decref(obj);
            json_decref(m.candidates);
        }
        json_decref(raw);
    }
}
END_TEST

/* Count the files in DIR's job directory. */
static unsigned job_files(const char *dir)
{
    char *path = xasprintf("%s/.Symsrvd/requests", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    unsigned n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    free(path);
    return n;
}

/* A job its starter collects stays in memory: nothing on disk, unknown to
 * polls, handed over once. */
START_TEST(test_symjob_collected_in_memory)
{
    char *dir = testutil_tmpdir(), id[SYMJOB_ID_LEN + 1], *text = NULL;
    struct symjobs *js;
    size_t len = 0;
    int err;

    ck_assert_int_eq(symjob_open(dir, 1, 90000, 60000, &js), 0);
    ck_assert_int_eq(symjob_begin(js, id), 0);
    ck_assert(symjob_local_running(js, id));
    ck_assert_int_eq(symjob_collect(js, id, false, &text, &len, &err),
                     SYMJOB_PENDING);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_UNKNOWN);
    ck_assert_int_eq(symjob_finish(js, id, xstrdup("{\"a\":1}"), 7), 0);
    ck_assert(!symjob_local_running(js, id));
    ck_assert_uint_eq(job_files(dir), 0);
    ck_assert_int_eq(symjob_collect(js, id, true, &text, &len, &err),
                     SYMJOB_DONE);
    ck_assert_uint_eq(len, 7);
    ck_assert_str_eq(text, "{\"a\":1}");
    free(text);
    ck_assert_int_eq(symjob_collect(js, id, true, &text, &len, &err),
                     SYMJOB_UNKNOWN);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_UNKNOWN);
    ck_assert_uint_eq(job_files(dir), 0);
    symjob_close(js);
    testutil_rmtree(dir);
    free(dir);
}
END_TEST

/* An exposed job is seen through its files by every process. */
START_TEST(test_symjob_lifecycle)
{
    char *dir = testutil_tmpdir(), id[SYMJOB_ID_LEN + 1], id2[40];
    char path[4096], *text = NULL;
    struct symjobs *js;
    struct timeval old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    uint64_t size;
    size_t len;
    int fd, err;

    ck_assert_int_eq(symjob_open(dir, 1, 90000, 60000, &js), 0);
    ck_assert_int_eq(symjob_begin(js, id), 0);
    ck_assert(symjob_valid_id(id));
    ck_assert_int_eq(id[14], '4'); /* UUID version 4 */
    ck_assert_int_eq(symjob_collect(js, id, true, &text, &len, &err),
                     SYMJOB_PENDING);
    ck_assert_int_eq(err, 0);
    ck_assert(!symjob_local_running(js, id));
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_PENDING);
    ck_assert_int_eq(symjob_begin(js, id2), -EBUSY);
    ck_assert_int_eq(symjob_open_result(js, id, &fd, &size), -ENOENT);
    ck_assert_int_eq(symjob_finish(js, id, xstrdup("{\"a\":1}"), 7), 0);
    ck_assert_uint_eq(symjob_running(js), 0);
    ck_assert_int_eq(symjob_collect(js, id, true, &text, &len, &err),
                     SYMJOB_UNKNOWN);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_DONE);
    ck_assert_int_eq(symjob_open_result(js, id, &fd, &size), 0);
    ck_assert_uint_eq(size, 7);
    close(fd);
    ck_assert_uint_eq(job_files(dir), 1); /* the running mark went */
    ck_assert_int_eq(symjob_state(js, "00000000-0000-4000-8000-000000000000"),
                     SYMJOB_UNKNOWN);
    ck_assert_int_eq(symjob_state(js, "../../../etc/passwd"), SYMJOB_UNKNOWN);
    /* a mark whose owner is gone is unknown, and swept */
    snprintf(path, sizeof(path),
             "%s/.Symsrvd/requests/11111111-1111-4111-8111-111111111111"
             ".running",
             dir);
    {
        FILE *f = fopen(path, "w");

        ck_assert_ptr_nonnull(f);
        fputs("2147483646\n", f);
        fclose(f);
    }
    ck_assert_int_eq(symjob_state(js, "11111111-1111-4111-8111-111111111111"),
                     SYMJOB_UNKNOWN);
    /* results older than the ttl go, fresh ones stay */
    ck_assert_uint_eq(symjob_sweep(js, (int64_t)time(NULL) * 1000), 1);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_DONE);
    snprintf(path, sizeof(path), "%s/.Symsrvd/requests/%s.json", dir, id);
    ck_assert_int_eq(utimes(path, old), 0);
    ck_assert_uint_eq(symjob_sweep(js, (int64_t)time(NULL) * 1000), 1);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_UNKNOWN);
    symjob_close(js);
    testutil_rmtree(dir);
    free(dir);
}
END_TEST

/* max_jobs bounds the box: two opens of one directory (as two workers
 * would) share the slots; a closed one (a dead worker) frees its own. */
START_TEST(test_symjob_slots_shared)
{
    char *dir = testutil_tmpdir(), a1[SYMJOB_ID_LEN + 1], a2[40], b1[40];
    struct symjobs *a, *b;

    ck_assert_int_eq(symjob_open(dir, 2, 90000, 60000, &a), 0);
    ck_assert_int_eq(symjob_open(dir, 2, 90000, 60000, &b), 0);
    ck_assert_int_eq(symjob_begin(a, a1), 0);
    ck_assert_int_eq(symjob_begin(b, b1), 0);
    ck_assert_int_eq(symjob_begin(a, a2), -EBUSY);
    ck_assert_int_eq(symjob_begin(b, a2), -EBUSY);
    ck_assert_int_eq(symjob_finish(a, a1, xstrdup("{}"), 2), 0);
    ck_assert_int_eq(symjob_begin(b, a2), 0);
    ck_assert_int_eq(symjob_begin(a, a1), -EBUSY);
    symjob_close(b);
    ck_assert_int_eq(symjob_begin(a, a1), 0);
    ck_assert_uint_eq(symjob_running(a), 1);
    symjob_close(a);
    testutil_rmtree(dir);
    free(dir);
}
END_TEST

/* A job past its time limit is answered "timeout": as its file when it
 * was exposed to polls, else in memory for its starter; its late result
 * is dropped and its slot freed only then. */
START_TEST(test_symjob_expire)
{
    char *dir = testutil_tmpdir(), id[SYMJOB_ID_LEN + 1], id2[40];
    char buf[64], *text = NULL;
    struct symjobs *js;
    uint64_t size;
    size_t len;
    ssize_t n;
    int fd, err;

    ck_assert_int_eq(symjob_open(dir, 1, 90000, 200, &js), 0);
    ck_assert_int_eq(symjob_begin(js, id), 0);
    ck_assert_int_eq(symjob_collect(js, id, true, &text, &len, &err),
                     SYMJOB_PENDING);
    ck_assert_uint_eq(symjob_expire(js), 0);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_PENDING);
    usleep(250000);
    ck_assert_uint_eq(symjob_expire(js), 1);
    ck_assert_uint_eq(symjob_expire(js), 0);
    ck_assert_int_eq(symjob_state(js, id), SYMJOB_DONE);
    ck_assert_int_eq(symjob_begin(js, id2), -EBUSY);
    ck_assert_int_eq(symjob_finish(js, id, xstrdup("{\"late\":1}"), 10), 0);
    ck_assert_int_eq(symjob_open_result(js, id, &fd, &size), 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "{\"status\":\"timeout\"}");

    /* not exposed: its starter finds the answer in memory */
    ck_assert_int_eq(symjob_begin(js, id2), 0);
    usleep(250000);
    ck_assert(symjob_local_running(js, id2));
    ck_assert_uint_eq(symjob_expire(js), 1);
    ck_assert(!symjob_local_running(js, id2));
    ck_assert_int_eq(symjob_collect(js, id2, true, &text, &len, &err),
                     SYMJOB_DONE);
    ck_assert_str_eq(text, "{\"status\":\"timeout\"}");
    free(text);
    ck_assert_int_eq(symjob_begin(js, id), -EBUSY); /* still running */
    ck_assert_int_eq(symjob_finish(js, id2, xstrdup("{}"), 2), 0);
    ck_assert_int_eq(symjob_begin(js, id), 0);
    symjob_close(js);
    testutil_rmtree(dir);
    free(dir);
}
END_TEST

/* Uploads of a dead process are swept, with their scratch directory;
 * this process's stay. */
START_TEST(test_symjob_orphan_uploads)
{
    char *dir = testutil_tmpdir(), *mine, path[4096];
    struct symjobs *js;
    FILE *f;

    ck_assert_int_eq(symjob_open(dir, 4, 90000, 60000, &js), 0);
    mine = symjob_upload_path(js);
    ck_assert_ptr_nonnull(strstr(mine, ".upload"));
    f = fopen(mine, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/.Symsrvd/requests/2147483646-00.upload",
             dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(path, sizeof(path),
             "%s/.Symsrvd/requests/2147483646-00.upload.d/a/b", dir);
    {
        char *cmd = xasprintf("mkdir -p '%s'", path);

        ck_assert_int_eq(system(cmd), 0);
        free(cmd);
    }
    ck_assert_uint_eq(symjob_sweep(js, (int64_t)time(NULL) * 1000), 2);
    ck_assert_int_eq(access(mine, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/.Symsrvd/requests/2147483646-00.upload",
             dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    symjob_close(js);
    testutil_rmtree(dir);
    free(mine);
    free(dir);
}
END_TEST

static char *data(const char *rel)
{
    const char *top = getenv("abs_top_srcdir");

    return xasprintf("%s/tests/data/%s", top ? top : "..", rel);
}

/* Tables are kept up to the limit; a held one is never evicted, the least
 * recently used free one makes room. */
START_TEST(test_stabcache_evicts_lru)
{
    char *dir = testutil_tmpdir(), *a = data("breakpad/xul.sym"),
         *b = data("breakpad/xul2.sym"), err[256];
    struct stabcache *c = stabcache_new(dir, 1, 1 << 20);
    struct stab *sa, *sb, *sa2;

    ck_assert_int_eq(stabcache_get(c, a, &sa, err, sizeof(err)), 0);
    ck_assert_uint_eq(stabcache_count(c), 1);
    /* A is held: B is served but not kept */
    ck_assert_int_eq(stabcache_get(c, b, &sb, err, sizeof(err)), 0);
    ck_assert_uint_eq(stabcache_count(c), 1);
    ck_assert_int_eq(stabcache_get(c, a, &sa2, err, sizeof(err)), 0);
    ck_assert_ptr_eq(sa, sa2);
    stabcache_put(c, sa2);
    stabcache_put(c, sb);
    stabcache_put(c, sa);
    /* A is free now: B takes its place */
    ck_assert_int_eq(stabcache_get(c, b, &sb, err, sizeof(err)), 0);
    ck_assert_uint_eq(stabcache_count(c), 1);
    ck_assert_int_eq(stabcache_get(c, b, &sa2, err, sizeof(err)), 0);
    ck_assert_ptr_eq(sb, sa2);
    stabcache_put(c, sa2);
    stabcache_put(c, sb);
    stabcache_free(c);
    testutil_rmtree(dir);
    free(a);
    free(b);
    free(dir);
}
END_TEST

/* A cold ELF is answered from the compile units its addresses fall in;
 * the complete table follows in the background and is kept.  crash.debug
 * (image base 0x400000) has 20 units: main in main.cpp, ConvertUTF16toUTF32
 * in another one. */
START_TEST(test_stabcache_cold_elf_is_partial_then_complete)
{
    char *dir = testutil_tmpdir(), *dir2 = testutil_tmpdir(),
         *elf = data("elf/crash.debug"), err[256];
    struct stabcache *c = stabcache_new(dir, 4, 1 << 20),
                      *full = stabcache_new(dir2, 4, 1 << 20);
    const uint64_t in_main = 0x1c74, in_conv = 0x13eb4;
    struct symtable_frame want[4], got[4];
    struct stab *ref, *s;
    size_t n;
    int i;

    ck_assert_int_eq(stabcache_get(full, elf, &ref, err, sizeof(err)), 0);
    n = symtable_lookup(ref->t, in_main, want, 4, NULL);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_gt(want[n - 1].line, 0);
    ck_assert_uint_gt(symtable_lookup(ref->t, in_conv, got, 4, NULL), 0);
    ck_assert_uint_gt(got[0].line, 0);

    ck_assert_int_eq(
        stabcache_get_for(c, elf, NULL, &in_main, 1, &s, err, sizeof(err)), 0);
    ck_assert_uint_eq(symtable_lookup(s->t, in_main, got, 4, NULL), n);
    ck_assert_str_eq(got[n - 1].function, want[n - 1].function);
    ck_assert_str_eq(got[n - 1].file, want[n - 1].file);
    ck_assert_uint_eq(got[n - 1].line, want[n - 1].line);
    /* the other unit was not read, and the partial table is not kept */
    ck_assert(symtable_lookup(s->t, in_conv, got, 4, NULL) == 0 ||
              got[0].line == 0);
    stabcache_put(c, s);
    for (i = 0; i < 2000 && stabcache_count(c) == 0; i++)
        usleep(10000);
    ck_assert_uint_eq(stabcache_count(c), 1);
    ck_assert_int_eq(
        stabcache_get_for(c, elf, NULL, &in_main, 1, &s, err, sizeof(err)), 0);
    ck_assert_uint_gt(symtable_lookup(s->t, in_conv, got, 4, NULL), 0);
    ck_assert_uint_gt(got[0].line, 0);
    stabcache_put(c, s);
    stabcache_put(full, ref);
    stabcache_free(c);
    stabcache_free(full);
    testutil_rmtree(dir);
    testutil_rmtree(dir2);
    free(elf);
    free(dir);
    free(dir2);
}
END_TEST

/* An engine reading the box's cache at DIR (crash.debug in it), its
 * tables' memos holding at most MEMO bytes. */
static struct symbolicator *engine(const char *dir, size_t memo,
                                   struct config **cfg)
{
    char err[256];
    struct symbolicator *s;

    ck_assert_int_eq(config_load(NULL, cfg, err, sizeof(err)), 0);
    free((*cfg)->cache_dir);
    (*cfg)->cache_dir = xstrdup(dir);
    (*cfg)->memo_size = memo;
    ck_assert_int_eq(symbolicator_new(*cfg, NULL, &s), 0);
    return s;
}

#define CRASH_ENTRY "_.debug/ELF-BUILDID-SYM-F1C3BCC0279865FE3058404B2831D9E64135386C"

static char *cache_with_crash(void)
{
    char *dir = testutil_tmpdir(), *entry = xasprintf("%s/" CRASH_ENTRY, dir),
         *src = data("elf/crash.debug"), *dst, *real = realpath(src, NULL);

    ck_assert_int_eq(mkdir_p(entry, 0755), 0);
    dst = xasprintf("%s/_.debug", entry);
    ck_assert_ptr_nonnull(real);
    ck_assert_int_eq(symlink(real, dst), 0);
    free(dst);
    free(real);
    free(src);
    free(entry);
    return dir;
}

/* A request for crash.debug's module, with FRAMES (JSON frame objects). */
static char *crash_request(const char *frames)
{
    return xasprintf(
        "{\"stacktraces\":[{\"frames\":[%s]},{\"frames\":[%s,"
        "{\"instruction_addr\":\"0x401c75\",\"adjust_instruction_addr\":"
        "false,\"in_app\":true,\"trust\":\"cfi\"}]}],\"modules\":[{\"type\":"
        "\"elf\",\"code_id\":\"f1c3bcc0279865fe3058404b2831d9e64135386c\","
        "\"debug_file\":\"crash\",\"code_file\":\"/w/crash\","
        "\"image_addr\":\"0x400000\",\"image_size\":1048576}]}",
        frames, frames);
}

static char *run_text(struct symbolicator *s, const char *body, bool demangle)
{
    struct symreq_params p = {.demangle = demangle};
    struct symreq *r = NULL;
    char err[256], *text;
    size_t len = 0;

    ck_assert_int_eq(symreq_parse(body, strlen(body), &p, &r, err, sizeof(err)),
                     0);
    text = symbolicator_run(s, r, &len);
    ck_assert_uint_eq(strlen(text), len);
    symreq_free(r);
    return text;
}

/* Run BODY on S until its table is complete (a cold ELF's first answer
 * reads some compile units; the whole table follows in the background). */
static void warm(struct symbolicator *s, const char *body)
{
    free(run_text(s, body, true));
    for (int i = 0; i < 2000 && stabcache_count(s->tables) == 0; i++)
        usleep(10000);
    ck_assert_uint_eq(stabcache_count(s->tables), 1);
}

/* Two engines on one cache holding crash.debug: S0 remembers nothing,
 * S1 up to MEMO bytes. */
struct engines {
    char *dir;
    struct config *c0, *c1;
    struct symbolicator *s0, *s1;
};

static void engines_open(struct engines *e, size_t memo)
{
    e->dir = cache_with_crash();
    e->s0 = engine(e->dir, 0, &e->c0);
    e->s1 = engine(e->dir, memo, &e->c1);
}

static void engines_close(struct engines *e)
{
    symbolicator_free(e->s0);
    symbolicator_free(e->s1);
    config_free(e->c0);
    config_free(e->c1);
    testutil_rmtree(e->dir);
    free(e->dir);
}

/* Frames answered from a table's lookup memo are the frames answered
 * without one, byte for byte: inline frames, caller adjustment, fields
 * passed through, raw and demangled names, misses. */
START_TEST(test_lookup_memo_same_answer)
{
    struct engines e;
    char *body, *plain, *made, *kept;

    engines_open(&e, 64 << 20);
    body = crash_request(
        "{\"instruction_addr\":\"0x401c74\"},{\"instruction_addr\":"
        "\"0x413eb4\",\"platform\":\"native\"},{\"instruction_addr\":"
        "\"0x401c74\"},{\"instruction_addr\":\"0x400010\"},"
        "{\"instruction_addr\":\"0x413eb5\",\"trust\":\"scan\"},"
        "{\"instruction_addr\":\"0x900000\"},"
        "{\"instruction_addr\":\"0x412c43\"}");
    warm(e.s0, body);
    warm(e.s1, body);
    for (int demangle = 0; demangle < 2; demangle++) {
        plain = run_text(e.s0, body, demangle);
        made = run_text(e.s1, body, demangle);
        kept = run_text(e.s1, body, demangle);
        ck_assert_ptr_nonnull(strstr(plain, "\"symbolicated\""));
        /* a C++ name: demangled or not, the two memo kinds differ */
        ck_assert((strstr(plain, "\"function\":\"CreateGUID(") != NULL) ==
                  (demangle == 1));
        ck_assert_msg(strcmp(made, plain) == 0, "made, demangle %d", demangle);
        ck_assert_msg(strcmp(kept, plain) == 0, "kept, demangle %d", demangle);
        free(plain);
        free(made);
        free(kept);
    }
    ck_assert_uint_eq(stabcache_memo_bytes(e.s0->tables), 0);
    ck_assert_uint_gt(stabcache_memo_bytes(e.s1->tables), 0);
    engines_close(&e);
    free(body);
}
END_TEST

/* The memos of a process's tables (names and lookups) hold at most
 * memo_size between them, and answer the same when full. */
START_TEST(test_memo_size_bound)
{
    char *frames = xstrdup(""), *body, *a, *b;
    struct engines e;

    engines_open(&e, 6000);
    for (uint64_t addr = 0x401000; addr < 0x414000; addr += 0x20) {
        char *next = xasprintf("%s%s{\"instruction_addr\":\"0x%" PRIx64
                               "\"}", frames, *frames ? "," : "", addr);

        free(frames);
        frames = next;
    }
    body = crash_request(frames);
    warm(e.s0, body);
    warm(e.s1, body);
    a = run_text(e.s0, body, true);
    b = run_text(e.s1, body, true);
    ck_assert_msg(strcmp(a, b) == 0, "answers differ");
    ck_assert_uint_gt(stabcache_memo_bytes(e.s1->tables), 0);
    ck_assert_uint_le(stabcache_memo_bytes(e.s1->tables), 6000);
    free(a);
    free(b);
    engines_close(&e);
    free(body);
    free(frames);
}
END_TEST

/* BODY through both of symreq_parse_how()'s paths: the same refusal, or
 * the same answer from S; and the direct read takes it when TAKEN. */
static void same_both_ways(struct symbolicator *s, const char *body,
                           bool taken)
{
    struct symreq_params p = {.demangle = true};
    struct symreq *a = NULL, *b = NULL, *r = xcalloc(1, sizeof(*r));
    char ea[256] = "", eb[256] = "", *ta, *tb;
    size_t n = strlen(body), la, lb;
    int ra = symreq_parse_how(body, n, &p, true, &a, ea, sizeof(ea));
    int rb = symreq_parse_how(body, n, &p, false, &b, eb, sizeof(eb));

    ck_assert_msg(ra == rb && strcmp(ea, eb) == 0, "%.200s: %d %s / %d %s",
                  body, ra, ea, rb, eb);
    if (ra == 0) {
        ta = symbolicator_run(s, a, &la);
        tb = symbolicator_run(s, b, &lb);
        ck_assert_msg(la == lb && memcmp(ta, tb, la) == 0,
                      "%.200s:\n%s\n%s", body, ta, tb);
        free(ta);
        free(tb);
    }
    symreq_free(a);
    symreq_free(b);
    r->arena = jsonarena_new(0);
    ck_assert_msg(symreqin_direct(r, body, n) == taken, "%.200s: %s", body,
                  taken ? "not taken" : "taken");
    symreq_free(r);
}

/* "[" N times, then "]" N times. */
static char *nested(size_t n)
{
    char *s = xmalloc(2 * n + 1);

    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    return s;
}

#define CRASH_MODULE                                                       \
    "\"modules\":[{\"type\":\"elf\",\"code_id\":"                          \
    "\"f1c3bcc0279865fe3058404b2831d9e64135386c\",\"image_addr\":"        \
    "\"0x400000\",\"image_size\":1048576}]"

/* Frames read straight from the body answer as frames read from jansson
 * values, and bodies are refused alike, for the reason jansson's path
 * gives; the direct read takes the common shapes and leaves the rest. */
START_TEST(test_direct_read_same_answer)
{
    static const struct {
        const char *frames;
        bool taken;
    } frames[] = {
        {"{\"instruction_addr\":\"0x401c75\"}", true},
        {" { \"instruction_addr\" : 4201589 } ", true},
        {"{\"instruction_addr\":\"4201589\",\"in_app\":true}", true},
        {"{\"instruction_addr\":\"0x401c75\",\"platform\":\"native\","
         "\"in_app\":false,\"trust\":\"cfi\",\"package\":null,\"x\":1.5,"
         "\"y\":[1,{\"z\":\"\\u00e9\"}],\"w\":-3,\"v\":\"a\\\"b\","
         "\"u\":\"\xc3\xa9\",\"t\":123456789012345678,"
         "\"s\":1234567890123456789,\"r\":0,\"q\":1E2}",
         true},
        {"{\"instruction_addr\":\"0x10\",\"x\":{\"a\":[true,null]},"
         "\"status\":\"mine\",\"original_index\":7,\"v\":\"\\t\"}",
         true},
        {"{\"instruction_addr\":\"0x10\",\"trust\":\"scan\"},"
         "{\"instruction_addr\":\"0x10\",\"trust\":\"cfi\\u0073can\"},"
         "{\"instruction_addr\":\"0x413eb5\",\"trust\":\"scan\"}",
         true},
        {"{\"instruction_addr\":\"0x99\",\"addr_mode\":\"rel:0\"},"
         "{\"instruction_addr\":\"0x99\",\"addr_mode\":\"rel:1\"},"
         "{\"instruction_addr\":\"0x99\",\"addr_mode\":\"rel:x\"},"
         "{\"instruction_addr\":\"0x99\",\"addr_mode\":\"rel:\"},"
         "{\"instruction_addr\":\"0x1c75\",\"addr_mode\":\"rel:\\t0\"},"
         "{\"instruction_addr\":\"0x1c75\",\"addr_mode\":\"abs\"}",
         true},
        {"{\"instruction_addr\":\"0x401c75\",\"adjust_instruction_addr\":"
         "true},{\"instruction_addr\":\"0x401c75\","
         "\"adjust_instruction_addr\":null}",
         true},
        {"{\"instruction_addr\":\"0x401c75\",\"k\\u0041\":1}", false},
        {"{\"instruction_addr\":\"0x1\",\"instruction_addr\":\"0x2\"}", false},
        {"{\"instruction_addr\":\"0x1\",\"r\":00}", false},
        {"{\"instruction_addr\":\"0x1\",\"r\":1.}", false},
        {"{\"instruction_addr\":\"0x1\",\"r\":tru}", false},
        {"{\"instruction_addr\":\"0x1\",}", false},
        {"{\"platform\":\"native\"}", false},
        {"{}", false},
        {"{\"instruction_addr\":true}", false},
        {"{\"instruction_addr\":-1}", false},
        {"{\"instruction_addr\":\"0x1\"} 1", false},
        {"1", false},
        {"{\"instruction_addr\":\"0x1\",\"a\":1,\"b\":1,\"c\":1,\"d\":1,"
         "\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1,\"j\":1,\"k\":1,\"l\":1,"
         "\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"q\":1,\"r\":1,\"s\":1,\"t\":1,"
         "\"u\":1,\"v\":1,\"w\":1,\"x\":1,\"y\":1,\"z\":1,\"A\":1,\"B\":1,"
         "\"C\":1,\"D\":1,\"E\":1,\"F\":1}",
         false},
    };
    static const struct {
        const char *body;
        bool taken;
    } bodies[] = {
        {"{\"threads\":[{\"thread_id\":3,\"registers\":{\"rip\":"
         "\"0x401c75\"},\"frames\":[{\"instruction_addr\":\"0x401c75\"}]}],"
         CRASH_MODULE ",\"signal\":11}",
         true},
        {"{" CRASH_MODULE ",\"options\":{\"frame_order\":\"caller_first\"},"
         "\"stacktraces\":[{\"frames\":[]},{\"is_requesting\":true,"
         "\"frames\":[{\"instruction_addr\":\"0x401c75\"},"
         "{\"instruction_addr\":\"0x413eb5\"}]}]}",
         true},
        {"{" CRASH_MODULE "}", true},
        {"{}", true},
        {"{\"stacktraces\":[]," CRASH_MODULE ",\"threads\":[]}", false},
        {"{\"stacktraces\":[],\"stacktraces\":[]}", false},
        {"{\"stacktraces\":{}}", false},
        {"{\"stacktraces\":null}", false},
        {"{\"stacktraces\":[1]}", false},
        {"{\"stacktraces\":[{}]}", false},
        {"{\"stacktraces\":[{\"frames\":{}}]}", false},
        {"{\"stacktraces\":[{\"frames\":[],\"frames\":[]}]}", false},
        {"{\"stacktraces\":[{\"thread_id\":1,\"thread_id\":2,\"frames\":[]}]}",
         false},
        {"{\"modules\":[],\"modules\":[]}", false},
        {"{\"modules\":[{}]}", true},
        {"{\"sources\":[{\"type\":\"nope\"}]}", true},
        {"{\"\\u0073tacktraces\":[]}", false},
        {"{} x", false},
        {"{", false},
        {"", false},
        {"[]", false},
        {"{\"a\":1,}", false},
    };
    struct engines e;
    char *body;

    engines_open(&e, 64 << 20);
    body = crash_request("{\"instruction_addr\":\"0x401c74\"}");
    warm(e.s1, body);
    same_both_ways(e.s1, body, true);
    free(body);
    for (size_t i = 0; i < sizeof(frames) / sizeof(*frames); i++) {
        body = crash_request(frames[i].frames);
        same_both_ways(e.s1, body, frames[i].taken);
        free(body);
    }
    for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++)
        same_both_ways(e.s1, bodies[i].body, bodies[i].taken);
    /* the nesting bound counts the containers around a value alike: a
     * root member's (1), a stack member's (3), a frame member's (5) */
    for (size_t depth = 2048; depth <= 2049; depth++) {
        char *d1 = nested(depth - 1), *d3 = nested(depth - 3),
             *d5 = nested(depth - 5), *forms[3];

        forms[0] = xasprintf("{\"x\":%s}", d1);
        forms[1] = xasprintf("{\"threads\":[{\"x\":%s,\"frames\":[]}]}", d3);
        forms[2] = xasprintf("{\"threads\":[{\"frames\":[{\"instruction_addr"
                             "\":1,\"x\":%s}]}]}",
                             d5);
        for (int k = 0; k < 3; k++) {
            same_both_ways(e.s1, forms[k], depth <= 2048);
            free(forms[k]);
        }
        free(d1);
        free(d3);
        free(d5);
    }
    engines_close(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symapi");
    TCase *tc = tcase_create("parts");

    tcase_add_test(tc, test_addr_public);
    tcase_add_test(tc, test_sources_parse);
    tcase_add_test(tc, test_sources_parse_gcs_sentry);
    tcase_add_test(tc, test_path_glob);
    tcase_add_test(tc, test_gcsauth_jwt);
    tcase_add_test(tc, test_jsonout_escapes);
    tcase_add_test(tc, test_jsonout_hex_widths);
    tcase_add_test(tc, test_jsonin_like_jansson);
    tcase_add_test(tc, test_jsonin_string_steps);
    tcase_add_test(tc, test_jsonin_depth_and_position);
    tcase_add_test(tc, test_jsonarena);
    tcase_add_test(tc, test_jsonout_json_values);
    tcase_add_test(tc, test_module_write_as_module_json);
    tcase_add_test(tc, test_strmemo);
    tcase_add_test(tc, test_strmemo_budget);
    tcase_add_test(tc, test_strmemo_concurrent_gets);
    tcase_add_test(tc, test_hexvalue);
    tcase_add_test(tc, test_symjob_collected_in_memory);
    tcase_add_test(tc, test_symjob_lifecycle);
    tcase_add_test(tc, test_symjob_orphan_uploads);
    tcase_add_test(tc, test_symjob_slots_shared);
    tcase_add_test(tc, test_symjob_expire);
    tcase_add_test(tc, test_stabcache_evicts_lru);
    tcase_add_test(tc, test_stabcache_cold_elf_is_partial_then_complete);
    tcase_add_test(tc, test_lookup_memo_same_answer);
    tcase_add_test(tc, test_memo_size_bound);
    tcase_add_test(tc, test_direct_read_same_answer);
    suite_add_tcase(s, tc);
    return ckrun(s);
}
