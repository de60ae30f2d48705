/* SPDX-License-Identifier: MIT */
/*
 * The symbolication API end to end: the real daemon on loopback, symbol
 * files from tests/data served by a stub upstream (http sources in the
 * symstore and native layouts), a directory (filesystem source) or the
 * daemon's own cache (no sources).
 */
#include "symsrvd_config.h"

#include <check.h>
#include <glob.h>
#include <jansson.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckrun.h"
#include "fileio.h"
#include "itest.h"
#include "needtool.h"
#include "testkey.h"
#include "timeutil.h"
#include "xalloc.h"

#define PDB_ID "3249D99D0C4049318610F4E4FB0B69361"
#define PDB_KEY "crash.pdb/" PDB_ID "/crash.pdb"
#define ELF_CID "f1c3bcc0279865fe3058404b2831d9e64135386c"

static const char *PE_MODULE =
    "{\"type\":\"pe\",\"debug_id\":\"3249d99d-0c40-4931-8610-f4e4fb0b6936-1\","
    "\"code_id\":\"5AB380779000\",\"debug_file\":\"C:\\\\b\\\\crash.pdb\","
    "\"code_file\":\"C:\\\\b\\\\crash.exe\",\"image_addr\":\"0x1000000\","
    "\"image_size\":36864}";

static const char *ELF_MODULE =
    "{\"type\":\"elf\",\"code_id\":\"" ELF_CID "\","
    "\"debug_id\":\"c0bcc3f1-9827-fe65-3058-404b2831d9e6\","
    "\"code_file\":\"/work/linux/crash\",\"debug_file\":\"crash\","
    "\"image_addr\":\"0x400000\",\"image_size\":1048576}";

static char *data_path(const char *rel)
{
    const char *top = getenv("abs_top_srcdir");

    return xasprintf("%s/tests/data/%s", top ? top : "..", rel);
}

/* Copy tests/data/REL to DIR/DST (directories made). */
static void place(const char *dir, const char *dst, const char *rel)
{
    char *src = data_path(rel), *to = xasprintf("%s/%s", dir, dst);
    char *cmd = xasprintf("mkdir -p \"$(dirname '%s')\" && cp '%s' '%s'", to,
                          src, to);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    free(to);
    free(src);
}

static void serve(struct stub *s, const char *path, const char *rel)
{
    char *src = data_path(rel), *p = xasprintf("/%s", path);

    stub_add_file(s, p, src);
    free(p);
    free(src);
}

/* POST BODY to /symbolicate?QUERY; the parsed answer (NULL when not JSON),
 * with the status in *STATUS. */
static json_t *post(const struct itest *t, const char *query, const char *body,
                    long *status)
{
    char *url = itest_url(t, query);
    struct http_resp r;
    json_t *j;

    http_post(url, NULL, body, strlen(body), &r);
    *status = r.status;
    j = json_loads(r.body ? r.body : "", 0, NULL);
    http_resp_free(&r);
    free(url);
    return j;
}

static json_t *post_ok(const struct itest *t, const char *query,
                       const char *body)
{
    long status;
    json_t *j = post(t, query, body, &status);

    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "(none)";
}

static json_t *frame(const json_t *answer, size_t thread, size_t i)
{
    json_t *f = json_array_get(
        json_object_get(
            json_array_get(json_object_get(answer, "stacktraces"), thread),
            "frames"),
        i);

    ck_assert_msg(f != NULL, "no frame %zu", i);
    return f;
}

static size_t nframes(const json_t *answer)
{
    return json_array_size(json_object_get(
        json_array_get(json_object_get(answer, "stacktraces"), 0), "frames"));
}

static json_t *module(const json_t *answer, size_t i)
{
    return json_array_get(json_object_get(answer, "modules"), i);
}

/* Request sources allowed, and one upstream: the stub every test starts
 * first (the box's cache downloads what it lacks from the configured
 * upstreams, which must not be the public defaults in a test). */
static char *conf_with(const char *extra)
{
    return xasprintf("[symbolicate]\nallow_request_sources = any\n%s"
                     "[upstream stub]\nurl = @UP0@\nretries = 0\n",
                     extra ? extra : "");
}

static char *http_source(const struct itest *t, const char *layout)
{
    return xasprintf("[{\"id\":\"stub\",\"type\":\"http\",\"url\":\"%s/\","
                     "\"layout\":{\"type\":\"%s\"}}]",
                     stub_url(t->up[0]), layout);
}

/* A request for one frame of the PE module with the JSON SOURCES. */
static char *pe_request(const char *sources)
{
    return xasprintf("{\"sources\":%s,\"stacktraces\":[{\"frames\":["
                     "{\"instruction_addr\":\"0x1001001\"}]}],"
                     "\"modules\":[%s]}",
                     sources, PE_MODULE);
}

/* Downloads are cached per scope for private sources and shared for
 * public ones; a file over max_download_size is refused. */
START_TEST(test_scope_and_size_limit)
{
    struct itest t;
    char *body, *src, *pub;
    json_t *a;

    itest_start_conf(&t, 1, "[symbolicate]\nallow_request_sources = any\n");
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    src = http_source(&t, "symstore");
    body = pe_request(src);
    json_decref(post_ok(&t, "/symbolicate?scope=a", body));
    json_decref(post_ok(&t, "/symbolicate?scope=a", body));
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    json_decref(post_ok(&t, "/symbolicate?scope=b", body));
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 2);
    free(body);
    /* the same source marked public: one download for every scope */
    pub = xasprintf("[{\"id\":\"pub\",\"type\":\"http\",\"url\":\"%s/\","
                    "\"is_public\":true,\"layout\":{\"type\":\"symstore\"}}]",
                    stub_url(t.up[0]));
    body = pe_request(pub);
    json_decref(post_ok(&t, "/symbolicate?scope=c", body));
    json_decref(post_ok(&t, "/symbolicate?scope=d", body));
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 3);
    itest_stop(&t);
    free(body);

    itest_start_conf(&t, 1, "[symbolicate]\nallow_request_sources = any\n"
                            "max_download_size = 64K\n");
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    free(src);
    src = http_source(&t, "symstore");
    body = pe_request(src);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "fetching_failed");
    json_decref(a);
    itest_stop(&t);
    free(body);
    free(src);
    free(pub);
}
END_TEST

/* The daemon (request sources allowed) with one stub serving crash.pdb;
 * the request "sources" naming that stub in LAYOUT (new string). */
static char *start_with_pdb(struct itest *t, const char *layout)
{
    char *conf = conf_with(NULL);

    itest_start_conf(t, 1, conf);
    serve(t->up[0], PDB_KEY, "pdb/crash.pdb");
    free(conf);
    return http_source(t, layout);
}

/* An s3 source (an S3-compatible endpoint: the stub) is fetched at
 * <endpoint>/<bucket>/<prefix>/<path>, signed with SigV4: the stub sees
 * AWS4-HMAC-SHA256 for the access key, region and service (the signature
 * itself is libcurl's; the stub does not recompute it). */
START_TEST(test_s3_source)
{
    struct itest t;
    char *conf = conf_with(NULL), *src, *body, auth[512], date[64];
    json_t *a, *c, *o;

    itest_start_conf(&t, 1, conf);
    serve(t.up[0], "syms/store/" PDB_KEY, "pdb/crash.pdb");
    src = xasprintf("[{\"id\":\"s3\",\"type\":\"s3\",\"bucket\":\"syms\","
                    "\"prefix\":\"/store/\",\"region\":[\"us-east-1\",\"%s\"],"
                    "\"access_key\":\"AKIDTEST\",\"secret_key\":\"s3cr3t\","
                    "\"layout\":{\"type\":\"symstore\"}}]",
                    stub_url(t.up[0]));
    body = pe_request(src);
    o = json_loads(body, 0, NULL);

    json_object_set_new(o, "options", json_pack("{s:b}", "dif_candidates", 1));
    free(body);
    body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert(stub_last_header(t.up[0], "Authorization", auth, sizeof(auth)));
    ck_assert_msg(strncmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/", 37) == 0,
                  "%s", auth);
    ck_assert_ptr_nonnull(strstr(auth, "/us-east-1/s3/aws4_request"));
    ck_assert_ptr_nonnull(strstr(auth, "Signature="));
    ck_assert_ptr_null(strstr(auth, "s3cr3t"));
    ck_assert(stub_last_header(t.up[0], "x-amz-date", date, sizeof(date)));
    c = json_object_get(module(a, 0), "candidates");
    ck_assert_str_eq(str(json_array_get(c, json_array_size(c) - 1), "location"),
                     "s3://syms/store/" PDB_KEY);
    json_decref(a);
    itest_stop(&t);
    free(body);
    free(src);
    free(conf);
}
END_TEST

/* Modules are looked up at once: the first candidate of each of two
 * modules is held by the stub until both are asked for (a barrier, not a
 * clock: lookups one after the other leave the first waiting alone, and
 * the stub answers it 503 after a while), so both are found only if they
 * were fetched in parallel. */
START_TEST(test_modules_fetched_in_parallel)
{
    struct itest t;
    char *src = start_with_pdb(&t, "native"), *body, *url;
    struct http_resp r;

    serve(t.up[0], "f1/c3bcc0279865fe3058404b2831d9e64135386c.debug",
          "elf/crash.debug");
    stub_fault(t.up[0], "/crash.exe/5AB380779000/crash.exe", STUB_BARRIER, 2);
    stub_fault(t.up[0], "/f1/c3bcc0279865fe3058404b2831d9e64135386c",
               STUB_BARRIER, 2);
    body = xasprintf("{\"sources\":%s,\"stacktraces\":[{\"frames\":["
                     "{\"instruction_addr\":\"0x1001001\"},"
                     "{\"instruction_addr\":\"0x413eb2\"}]}],"
                     "\"modules\":[%s,%s]}",
                     src, PE_MODULE, ELF_MODULE);
    url = itest_url(&t, "/symbolicate");
    http_post(url, NULL, body, strlen(body), &r);
    ck_assert_msg(stub_barrier_missed(t.up[0]) == 0,
                  "a module was looked up alone");
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(stub_hits(t.up[0], "/crash.exe/5AB380779000/crash.exe"),
                      1);
    ck_assert_uint_eq(
        stub_hits(t.up[0], "/f1/c3bcc0279865fe3058404b2831d9e64135386c"), 1);
    ck_assert_ptr_nonnull(strstr(r.body, "ConvertUTF16toUTF32"));
    ck_assert_ptr_nonnull(strstr(r.body, "RequestDump"));
    ck_assert_ptr_null(strstr(r.body, "fetching_failed"));
    http_resp_free(&r);
    itest_stop(&t);
    free(url);
    free(body);
    free(src);
}
END_TEST

/* Redirects are followed by hand, each hop checked like the first; the
 * source's headers are not sent to the redirect's target. */
START_TEST(test_redirect_followed)
{
    struct itest t;
    char *conf = conf_with(NULL), *src, *body, v[64];
    json_t *a;

    itest_start_conf(&t, 1, conf);
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    src = xasprintf("[{\"id\":\"h\",\"type\":\"http\",\"url\":\"%s\","
                    "\"headers\":{\"X-Token\":\"secret\"},"
                    "\"layout\":{\"type\":\"symstore\"}}]",
                    stub_url(t.up[0]));
    free(conf);
    stub_fault(t.up[0], "/" PDB_KEY, STUB_REDIRECT, 0);
    body = pe_request(src);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_uint_eq(stub_hits(t.up[0], "/redirected/" PDB_KEY), 1);
    ck_assert(!stub_last_header(t.up[0], "X-Token", v, sizeof(v)));
    json_decref(a);
    itest_stop(&t);
    free(body);
    free(src);
}
END_TEST

/* The shape Sentry sends: stacktraces, options.dif_candidates, extra
 * fields; every field it reads is checked. */
START_TEST(test_pdb_symstore_http_compat)
{
    struct itest t;
    char *src = start_with_pdb(&t, "symstore"), *body;
    json_t *a, *f, *m, *c;

    body = xasprintf(
        "{\"platform\":\"native\",\"signal\":11,\"future_field\":[1,2],"
        "\"sources\":%s,\"options\":{\"dif_candidates\":true,"
        "\"apply_source_context\":true},\"stacktraces\":[{\"thread_id\":7,"
        "\"is_requesting\":true,\"registers\":{\"eip\":\"0x1001001\","
        "\"esp\":4096},\"frames\":[{\"instruction_addr\":\"0x1001001\","
        "\"trust\":\"context\"},{\"instruction_addr\":\"0x1001125\","
        "\"in_app\":true},{\"instruction_addr\":\"0x5000\","
        "\"function\":\"kept\"}]}],\"modules\":[%s]}",
        src, PE_MODULE);
    a = post_ok(&t, "/symbolicate?scope=42", body);
    ck_assert_str_eq(str(a, "status"), "completed");
    ck_assert_int_eq(json_integer_value(json_object_get(a, "signal")), 11);
    f = frame(a, 0, 0);
    ck_assert_str_eq(str(f, "status"), "symbolicated");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "original_index")),
                     0);
    ck_assert_str_eq(str(f, "instruction_addr"), "0x1001001"); /* crashing */
    ck_assert_str_eq(str(f, "function"),
                     "google_breakpad::CrashGenerationClient::RequestDump");
    ck_assert_str_eq(str(f, "sym_addr"), "0x1001000");
    ck_assert_str_eq(str(f, "filename"), "crash_generation_client.cc");
    ck_assert_ptr_nonnull(strstr(str(f, "abs_path"), "crash_generation"));
    ck_assert_int_eq(json_integer_value(json_object_get(f, "lineno")), 323);
    ck_assert_str_eq(str(f, "package"), "C:\\b\\crash.exe");
    ck_assert_str_eq(str(f, "lang"), "cpp");
    ck_assert_str_eq(str(f, "trust"), "context");
    /* 0x1001125 is a return address: looked up at 0x1001124, where two
     * inlined calls sit in ~basic_string; innermost first, one index,
     * sym_addr only on the outermost */
    ck_assert_uint_eq(nframes(a), 5);
    for (size_t i = 1; i <= 3; i++) {
        f = frame(a, 0, i);
        ck_assert_int_eq(
            json_integer_value(json_object_get(f, "original_index")), 1);
        ck_assert_str_eq(str(f, "instruction_addr"), "0x1001124");
        ck_assert(json_is_true(json_object_get(f, "in_app")));
        ck_assert_int_eq(json_object_get(f, "sym_addr") != NULL, i == 3);
    }
    ck_assert_int_eq(json_integer_value(json_object_get(frame(a, 0, 1),
                                                         "lineno")),
                     1802);
    f = frame(a, 0, 4);
    ck_assert_str_eq(str(f, "status"), "unknown_image");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "original_index")),
                     2);
    ck_assert_str_eq(str(f, "function"), "kept");
    ck_assert_str_eq(
        str(json_object_get(json_array_get(json_object_get(a, "stacktraces"),
                                           0),
                            "registers"),
            "esp"),
        "0x1000");
    m = module(a, 0);
    ck_assert_str_eq(str(m, "debug_status"), "found");
    ck_assert_str_eq(str(m, "arch"), "x86");
    ck_assert_str_eq(str(m, "debug_id"),
                     "3249d99d-0c40-4931-8610-f4e4fb0b6936-1");
    ck_assert_str_eq(str(m, "code_id"), "5ab380779000");
    ck_assert(json_is_true(
        json_object_get(json_object_get(m, "features"), "has_debug_info")));
    /* crash.exe was asked for first (PE before PDB), then the PDB */
    c = json_object_get(m, "candidates");
    ck_assert_uint_ge(json_array_size(c), 2);
    ck_assert_str_eq(str(json_object_get(json_array_get(c, 0), "download"),
                         "status"),
                     "notfound");
    ck_assert_ptr_nonnull(strstr(
        str(json_array_get(c, json_array_size(c) - 1), "location"), PDB_KEY));
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    json_decref(a);
    /* again: the download and the table are reused */
    a = post_ok(&t, "/symbolicate?scope=42", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "function"),
                     "google_breakpad::CrashGenerationClient::RequestDump");
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    json_decref(a);
    free(body);
    free(src);
    itest_stop(&t);
}
END_TEST

/* The document's "threads", numbers and decimal strings as addresses,
 * rel:N, caller_first and demangle=false. */
START_TEST(test_address_forms_and_options)
{
    struct itest t;
    char *src = start_with_pdb(&t, "native"), *body;
    json_t *a;

    body = xasprintf(
        "{\"sources\":%s,\"options\":{\"frame_order\":\"caller_first\"},"
        "\"threads\":[{\"frames\":[{\"instruction_addr\":\"0x1001\","
        "\"addr_mode\":\"rel:0\"},{\"instruction_addr\":16781313},"
        "{\"instruction_addr\":\"16781313\",\"adjust_instruction_addr\":"
        "false}]}],\"modules\":[%s]}",
        src, PE_MODULE);
    a = post_ok(&t, "/symbolicate?demangle=false", body);
    /* caller_first: the last frame is the crashing one (not adjusted);
     * Symbolicator numbers the frames after reversing them, so it is
     * original_index 0 */
    ck_assert_uint_eq(nframes(a), 3);
    ck_assert_str_eq(str(frame(a, 0, 2), "instruction_addr"), "0x1001001");
    ck_assert_int_eq(
        json_integer_value(json_object_get(frame(a, 0, 2), "original_index")),
        0);
    ck_assert_str_eq(str(frame(a, 0, 1), "instruction_addr"), "0x1001000");
    /* a thread with adjust_instruction_addr on any frame adjusts the
     * others by default, the crashing frame included */
    ck_assert_str_eq(str(frame(a, 0, 0), "instruction_addr"), "0x1001000");
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(str(frame(a, 0, i), "status"), "symbolicated");
    json_decref(a);
    free(body);
    /* a module without an image address: frames stay module-relative */
    body = xasprintf(
        "{\"sources\":%s,\"stacktraces\":[{\"frames\":[{\"instruction_addr\":"
        "\"0x1001\",\"addr_mode\":\"rel:0\"}]}],\"modules\":[{\"type\":\"pe\","
        "\"debug_id\":\"3249d99d-0c40-4931-8610-f4e4fb0b6936-1\",\"debug_file\":"
        "\"crash.pdb\",\"image_addr\":0}]}",
        src);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_str_eq(str(frame(a, 0, 0), "addr_mode"), "rel:0");
    ck_assert_str_eq(str(frame(a, 0, 0), "instruction_addr"), "0x1001");
    ck_assert_str_eq(str(frame(a, 0, 0), "sym_addr"), "0x1000");
    json_decref(a);
    free(body);
    free(src);
    itest_stop(&t);
}
END_TEST

/* ELF: the executable (symbols only) and its debug file (DWARF) in the
 * native layout; the debug file wins. */
START_TEST(test_elf_native_http)
{
    struct itest t;
    char *conf = conf_with(NULL), *src, *body;
    json_t *a, *f;

    itest_start_conf(&t, 1, conf);
    serve(t.up[0], "f1/c3bcc0279865fe3058404b2831d9e64135386c", "elf/crash");
    serve(t.up[0], "f1/c3bcc0279865fe3058404b2831d9e64135386c.debug",
          "elf/crash.debug");
    src = http_source(&t, "native");
    body = xasprintf("{\"sources\":%s,\"stacktraces\":[{\"frames\":["
                     "{\"instruction_addr\":\"0x401c75\"},"
                     "{\"instruction_addr\":\"0x413eb2\"}]}],"
                     "\"modules\":[%s]}",
                     src, ELF_MODULE);
    a = post_ok(&t, "/symbolicate", body);
    f = frame(a, 0, 0);
    ck_assert_str_eq(str(f, "function"), "main");
    f = frame(a, 0, 1);
    ck_assert_str_eq(str(f, "function"), "ConvertUTF16toUTF32");
    ck_assert_str_eq(str(f, "filename"), "convert_UTF.c");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "lineno")), 133);
    ck_assert_str_eq(str(f, "instruction_addr"), "0x413eb1");
    ck_assert_str_eq(str(module(a, 0), "arch"), "x86_64");
    ck_assert(json_is_true(json_object_get(
        json_object_get(module(a, 0), "features"), "has_debug_info")));
    json_decref(a);
    free(body);
    free(src);
    free(conf);
    itest_stop(&t);
}
END_TEST

/* A macho module answered from a dSYM's DWARF file at the native
 * layout's UUID path: the crash frame of macos.dmp with its inline chain
 * (crash() at main.cpp:21, inlined through start() into main). */
START_TEST(test_macho_native_http)
{
    struct itest t;
    char *conf = conf_with(NULL), *src, *body;
    json_t *a, *f;

    itest_start_conf(&t, 1, conf);
    serve(t.up[0], "67E9/247C/814E/392B/A027/DBDE6748FCBF",
          "breakpad/macos/crash.dsym-dwarf");
    src = http_source(&t, "native");
    body = xasprintf(
        "{\"sources\":%s,\"stacktraces\":[{\"frames\":["
        "{\"instruction_addr\":\"0x109ba8c15\"}]}],\"modules\":[{\"type\":"
        "\"macho\",\"debug_id\":\"67e9247c-814e-392b-a027-dbde6748fcbf\","
        "\"code_file\":\"/b/crash\",\"image_addr\":\"0x109b9b000\","
        "\"image_size\":73728}]}",
        src);
    a = post_ok(&t, "/symbolicate", body);
    f = frame(a, 0, 0);
    ck_assert_str_eq(str(f, "status"), "symbolicated");
    ck_assert_ptr_nonnull(strstr(str(f, "function"), "crash"));
    ck_assert_str_eq(str(f, "filename"), "main.cpp");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "lineno")), 21);
    ck_assert_str_eq(str(frame(a, 0, 2), "function"), "main");
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    ck_assert_str_eq(str(module(a, 0), "arch"), "x86_64");
    ck_assert(json_is_true(json_object_get(
        json_object_get(module(a, 0), "features"), "has_debug_info")));
    json_decref(a);
    free(body);
    free(src);
    free(conf);
    itest_stop(&t);
}
END_TEST

/* A tool's first output line for CMD run in DIR. */
static char *first_line(const char *dir, const char *cmd)
{
    char *full = xasprintf("cd '%s' && %s", dir, cmd), line[256] = "";
    FILE *p = popen(full, "r");

    ck_assert_ptr_nonnull(p);
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    free(full);
    line[strcspn(line, "\n")] = '\0';
    return xstrdup(line);
}

/* The UUID of ARCH's slice of DIR/fat, upper hex without dashes, as the
 * native layout's path wants it. */
static char *fat_uuid(const char *dir, const char *arch)
{
    char *cmd = xasprintf("llvm-objdump-14 --macho --private-headers "
                          "--arch=%s fat | awk '$1 == \"uuid\" {print $2}' "
                          "| tr -d - | tr a-f A-F",
                          arch);
    char *uuid = first_line(dir, cmd);

    ck_assert_uint_eq(strlen(uuid), 32);
    free(cmd);
    return uuid;
}

/* A module of DIR/fat's slice ARCH whose frame is at its function
 * "in_ARCH", with the image at the default __TEXT vmaddr. */
static char *fat_module_frame(const char *dir, const char *arch, char **module)
{
    char *cmd = xasprintf("llvm-nm-14 --arch=%s fat | awk '$3 == \"_in_%s\" "
                          "{print $1}'",
                          arch, arch);
    char *addr = first_line(dir, cmd), *uuid = fat_uuid(dir, arch);
    char *frame = xasprintf("{\"instruction_addr\":\"0x%s\"}", addr);

    *module = xasprintf("{\"type\":\"macho\",\"debug_id\":\"%s\","
                        "\"code_file\":\"/b/fat\",\"image_addr\":"
                        "\"0x100000000\",\"image_size\":65536}",
                        uuid);
    free(uuid);
    free(addr);
    free(cmd);
    return frame;
}

/* The native layout's path of a Mach-O UUID (32 upper hex digits). */
static char *native_path(const char *uuid)
{
    return xasprintf("%.4s/%.4s/%.4s/%.4s/%.4s/%s", uuid, uuid + 4, uuid + 8,
                     uuid + 12, uuid + 16, uuid + 20);
}

/* Wait until DIR's .Symsrvd/tables holds N tables. */
static void wait_tables(const char *dir, size_t n)
{
    char *pat = xasprintf("%s/.Symsrvd/tables/*.SYMTABLE", dir);
    size_t have = 0;

    for (int i = 0; i < 1000 && have < n; i++) {
        glob_t g;

        have = glob(pat, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
        globfree(&g);
        if (have < n)
            usleep(10000);
    }
    ck_assert_uint_eq(have, n);
    free(pat);
}

/* Symbolicate FRAME of MODULE, the universal file's slice ARCH, from the
 * filesystem source STORE: the frame is its function "in_ARCH". */
static void ask_slice(const struct itest *t, const char *store,
                      const char *frame_json, const char *module_json,
                      const char *arch)
{
    char *body = xasprintf(
        "{\"sources\":[{\"id\":\"fs\",\"type\":\"filesystem\",\"path\":"
        "\"%s\",\"layout\":{\"type\":\"native\"}}],\"stacktraces\":["
        "{\"frames\":[%s]}],\"modules\":[%s]}",
        store, frame_json, module_json);
    char *fn = xasprintf("in_%s", arch);
    json_t *a = post_ok(t, "/symbolicate", body);

    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    ck_assert_str_eq(str(module(a, 0), "arch"), arch);
    ck_assert_str_eq(str(frame(a, 0, 0), "function"), fn);
    json_decref(a);
    free(fn);
    free(body);
}

/* A universal file of x86_64 and arm64 slices, each with a function named
 * for its arch (symbols only), answers each module from the slice with
 * its UUID, also where both are one path (a filesystem source's file and
 * a link to it), not from the first slice only: tables of both slices are
 * kept in memory and on disk. */
START_TEST(test_macho_universal_slices)
{
    char *dir = testutil_tmpdir(), *store = testutil_tmpdir(), *cmd;
    /* one worker: the tables a request leaves are the next one's */
    char *extra = xasprintf("filesystem_roots = %s\n[server]\nworkers = 1\n",
                            store);
    char *conf = conf_with(extra), *fx, *fa, *mx, *ma, *ux, *ua, *px, *pa;
    struct itest t;

    cmd = xasprintf(
        "cd '%s' && for a in x86_64 arm64; do "
        "printf 'int in_%%s(int x) { return x + 1; }\\n"
        "int main(void) { return in_%%s(0); }\\n' $a $a > $a.c && "
        "clang-14 --target=$a-apple-macos11.0 -O0 -c $a.c -o $a.o && "
        "ld64.lld-14 -arch $a -platform_version macos 11.0 11.0 "
        "-undefined dynamic_lookup -o $a $a.o || exit 1; done && "
        "llvm-lipo-14 -create x86_64 arm64 -output fat",
        dir);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    fx = fat_module_frame(dir, "x86_64", &mx);
    fa = fat_module_frame(dir, "arm64", &ma);
    ux = fat_uuid(dir, "x86_64");
    ua = fat_uuid(dir, "arm64");
    px = native_path(ux);
    pa = native_path(ua);
    /* the arm64 slice's file is a link to the x86_64 slice's: one file,
     * looked up twice under the paths of two slices */
    cmd = xasprintf("mkdir -p \"$(dirname '%s/%s')\" \"$(dirname '%s/%s')\" "
                    "&& cp '%s/fat' '%s/%s' && ln -s '%s/%s' '%s/%s'",
                    store, px, store, pa, dir, store, px, store, px, store,
                    pa);
    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
    itest_start_conf(&t, 1, conf);
    /* arm64 first: the slice a table of the first slice never answers */
    ask_slice(&t, store, fa, ma, "arm64");
    /* from disk, where a table of the other slice of the path is saved */
    itest_restart(&t);
    ask_slice(&t, store, fx, mx, "x86_64");
    /* in memory the other slice's table is kept, once its background
     * build (the first answer read a part) has saved it beside the first */
    wait_tables(t.dir, 2);
    ask_slice(&t, store, fa, ma, "arm64");
    itest_stop(&t);
    free(px);
    free(pa);
    free(ux);
    free(ua);
    free(fx);
    free(fa);
    free(mx);
    free(ma);
    free(conf);
    free(extra);
    testutil_rmtree(store);
    testutil_rmtree(dir);
    free(store);
    free(dir);
}
END_TEST

/* One frame of the PE module, with a filesystem source at DIR. */
static char *fs_request(const char *dir)
{
    char *src = xasprintf(
        "[{\"id\":\"fs\",\"type\":\"filesystem\",\"path\":\"%s\"}]", dir);
    char *body = pe_request(src);

    free(src);
    return body;
}

/* Breakpad text symbols from a filesystem source; a filesystem source
 * outside filesystem_roots is refused. */
START_TEST(test_breakpad_filesystem)
{
    char *dir = testutil_tmpdir(), *other = testutil_tmpdir();
    char *extra = xasprintf("filesystem_roots = %s\n", dir);
    char *conf = conf_with(extra), *body;
    struct itest t;
    json_t *a, *f;

    place(dir, "crash.pdb/" PDB_ID "/crash.sym", "breakpad/windows/crash.sym");
    place(other, "crash.pdb/" PDB_ID "/crash.sym", "breakpad/windows/crash.sym");
    itest_start_conf(&t, 1, conf);
    body = fs_request(dir);
    a = post_ok(&t, "/symbolicate", body);
    f = frame(a, 0, 0);
    ck_assert_str_eq(str(f, "status"), "symbolicated");
    ck_assert_ptr_nonnull(strstr(str(f, "function"), "RequestDump"));
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    json_decref(a);
    free(body);
    body = fs_request(other);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "missing");
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "fetching_failed");
    json_decref(a);
    free(body);
    itest_stop(&t);
    testutil_rmtree(dir);
    testutil_rmtree(other);
    free(dir);
    free(other);
    free(extra);
    free(conf);
}
END_TEST

/* Set PATH's access time AGO_S seconds back and its modification time
 * MOD_AGO_S back. */
static void age(const char *path, time_t ago_s, time_t mod_ago_s)
{
    time_t now = time(NULL);
    struct timespec ts[2] = {{now - ago_s, 0}, {now - mod_ago_s, 0}};

    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A table kept under .Symsrvd/tables (no index record: the evictor ages
 * it by its access time) is marked used when a worker loads it again,
 * which a cache on a noatime mount would never do by itself. */
START_TEST(test_loose_table_marked_used)
{
    char *dir = testutil_tmpdir(), *mnt = testutil_tmpdir(), *src;
    char *extra = xasprintf("filesystem_roots = %s\n[server]\nworkers = 1\n",
                            dir);
    char *with = conf_with(extra), *body = fs_request(dir), *pat = NULL, *conf;
    struct itest t;
    struct stat st;
    glob_t g;
    json_t *a;

    ck_assert_int_eq(testutil_mount_tmpfs(mnt, MS_NOATIME, "size=16M"), 0);
    /* min_free = 0: the small mount would have its tables evicted */
    conf = xasprintf("dir = %s/cache\nmin_free = 0\n%s", mnt, with);
    place(dir, "crash.pdb/" PDB_ID "/crash.sym", "breakpad/windows/crash.sym");
    src = xasprintf("%s/crash.pdb/" PDB_ID "/crash.sym", dir);
    age(src, 3 * 3600, 3 * 3600);
    itest_start_conf(&t, 1, conf);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    json_decref(a);
    free(pat);
    pat = xasprintf("%s/cache", mnt);
    wait_tables(pat, 1);
    free(pat);
    pat = xasprintf("%s/cache/.Symsrvd/tables/*.SYMTABLE", mnt);
    ck_assert_int_eq(glob(pat, 0, NULL, &g), 0);
    /* used an hour ago, built two hours ago: still newer than its file */
    age(g.gl_pathv[0], 3600, 2 * 3600);
    itest_restart(&t);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    json_decref(a);
    ck_assert_int_eq(stat(g.gl_pathv[0], &st), 0);
    ck_assert_int_ge(st.st_atim.tv_sec, time(NULL) - 60);
    ck_assert_int_le(st.st_mtim.tv_sec, time(NULL) - 2 * 3600); /* reused */
    globfree(&g);
    itest_stop(&t);
    testutil_rmtree(dir);
    free(pat);
    free(src);
    free(dir);
    free(mnt);
    free(extra);
    free(with);
    free(conf);
    free(body);
}
END_TEST

/* allow_request_sources = no: a request's sources reach nothing, even
 * under filesystem_roots; the box's own cache still answers. */
START_TEST(test_request_sources_no)
{
    char *dir = testutil_tmpdir();
    char *conf = xasprintf("[symbolicate]\nallow_request_sources = no\n"
                           "filesystem_roots = %s\n",
                           dir);
    char *body = fs_request(dir);
    struct itest t;
    json_t *a;

    place(dir, PDB_KEY, "pdb/crash.pdb");
    itest_start_conf(&t, 1, conf);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "fetching_failed");
    json_decref(a);
    itest_stop(&t);
    testutil_rmtree(dir);
    free(body);
    free(conf);
    free(dir);
}
END_TEST

/* Without sources the box's own cache answers: the PDB the proxy would
 * have stored at its canonical key.  The saved table survives a restart
 * (it is read back, not rebuilt). */
START_TEST(test_box_cache_and_saved_table)
{
    struct itest t;
    char *conf = conf_with(NULL), *body, *table;
    json_t *a;
    struct stat st1, st2;

    itest_start_conf(&t, 1, conf);
    place(t.dir, PDB_KEY, "pdb/crash.pdb");
    body = xasprintf("{\"stacktraces\":[{\"frames\":[{\"instruction_addr\":"
                     "\"0x1001001\"}]}],\"modules\":[%s,{\"type\":\"elf\","
                     "\"image_addr\":\"0x7000000\"}]}",
                     PE_MODULE);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    ck_assert_str_eq(str(module(a, 1), "debug_status"), "unused");
    ck_assert_ptr_null(json_object_get(module(a, 0), "candidates"));
    json_decref(a);
    table = xasprintf("%s/%s.SYMTABLE", t.dir, PDB_KEY);
    ck_assert_int_eq(stat(table, &st1), 0);
    itest_restart(&t);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    json_decref(a);
    ck_assert_int_eq(stat(table, &st2), 0);
    ck_assert_int_eq(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
    ck_assert_int_eq(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
    /* a corrupt table is rebuilt, never trusted */
    ck_assert_int_eq(truncate(table, 100), 0);
    itest_restart(&t);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    json_decref(a);
    ck_assert_int_eq(stat(table, &st2), 0);
    ck_assert_int_gt(st2.st_size, 100);
    free(table);
    free(body);
    free(conf);
    itest_stop(&t);
}
END_TEST

/* The box's cache with one configured upstream and one worker, so the
 * proxy's clients and the jobs share one table of downloads. */
static const char *POOL_CONF =
    "[server]\nworkers = 1\n[upstream one]\nurl = @UP0@\nretries = 0\n";

/* A request for the PE module's frame from the box's own cache. */
static char *pe_cache_request(void)
{
    return xasprintf("{\"stacktraces\":[{\"frames\":[{\"instruction_addr\":"
                     "\"0x1001001\"}]}],\"modules\":[%s]}",
                     PE_MODULE);
}

static double metric(const struct itest *t, const char *name)
{
    double v = metrics_get(daemon_url(t->d), name, NULL);

    return v < 0 ? 0 : v;
}

static void *proxy_get(void *arg)
{
    struct itest *t = arg;
    struct http_resp *r = xcalloc(1, sizeof(*r));

    itest_get(t, "/" PDB_KEY, NULL, r);
    return r;
}

/* What the box's cache lacks it downloads through the proxy's pool: a
 * symbolication that asks while a proxy client's download of the same
 * file runs joins it (one upstream request), and a file the upstream
 * does not have is remembered as a miss the proxy also answers from. */
START_TEST(test_box_cache_coalesced_with_proxy)
{
    const char *exe = "/crash.exe/5AB380779000/crash.exe";
    struct http_resp *pr, r;
    struct itest t;
    pthread_t th;
    char *body = pe_cache_request();
    json_t *a;

    itest_start_conf(&t, 1, POOL_CONF);
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    stub_fault(t.up[0], "/" PDB_KEY, STUB_DELAY, 800);
    ck_assert_int_eq(pthread_create(&th, NULL, proxy_get, &t), 0);
    ck_assert(stub_wait_hits(t.up[0], "/" PDB_KEY, 1, 5000));
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_int_eq(pthread_join(th, (void **)&pr), 0);
    ck_assert_int_eq(pr->status, 200);
    http_resp_free(pr);
    free(pr);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_str_eq(str(frame(a, 0, 0), "function"),
                     "google_breakpad::CrashGenerationClient::RequestDump");
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    json_decref(a);
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    ck_assert(metric(&t, "symsrvd_symbolicate_coalesced_total") >= 1);
    /* the job also looked for crash.exe: the upstream's 404 is the
     * proxy's remembered miss too */
    ck_assert_uint_eq(stub_hits(t.up[0], exe), 1);
    itest_get(&t, exe, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(t.up[0], exe), 1);
    /* counted when MHD's completion runs, which may come after the
     * client has read the answer */
    ck_assert(itest_metric_at_least(&t, "symsrvd_http_responses_total",
                                    "result=\"negative\"", 1, 5000));
    free(body);
    itest_stop(&t);
}
END_TEST

/* A gcab cabinet (MSZIP) of tests/data/REL stored as member MEMBER: a
 * new buffer of *LEN bytes. */
static char *make_cab(const char *rel, const char *member, size_t *len)
{
    char *dir = testutil_tmpdir(), *src = data_path(rel), *cab = NULL;
    char *cmd = xasprintf("cd '%s' && cp '%s' '%s' && gcab -c -z -n out.cab "
                          "'%s'",
                          dir, src, member, member);
    char *out = xasprintf("%s/out.cab", dir);

    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    ck_assert_int_eq(read_small_file(out, 64 << 20, &cab, len), 0);
    testutil_rmtree(dir);
    free(out);
    free(cmd);
    free(src);
    free(dir);
    return cab;
}

/* An upstream holding only the CAB twin (crash.pd_): the job's download
 * is decoded like a proxy download and the PDB symbolicates; the proxy
 * then serves the plain file from the cache. */
START_TEST(test_box_cache_cab_twin)
{
    struct itest t;
    struct http_resp r;
    char *body = pe_cache_request(), *cab;
    size_t len;
    json_t *a;

    itest_start_conf(&t, 1, POOL_CONF);
    cab = make_cab("pdb/crash.pdb", "crash.pdb", &len);
    stub_add(t.up[0], "/crash.pdb/" PDB_ID "/crash.pd_", cab, len);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_str_eq(str(frame(a, 0, 0), "function"),
                     "google_breakpad::CrashGenerationClient::RequestDump");
    json_decref(a);
    ck_assert(metric(&t, "symsrvd_upstream_decoded_total") == 1);
    ck_assert(metric(&t, "symsrvd_symbolicate_misses_total") >= 1);
    itest_get(&t, "/" PDB_KEY, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
    ck_assert_uint_eq(stub_hits(t.up[0], "/crash.pdb/" PDB_ID "/crash.pd_"),
                      1);
    free(cab);
    free(body);
    itest_stop(&t);
}
END_TEST

struct post_job {
    const char *url, *body;
    struct http_resp r;
};

static void *post_thread(void *arg)
{
    struct post_job *j = arg;

    http_post(j->url, NULL, j->body, strlen(j->body), &j->r);
    return NULL;
}

/* An http source's files go through the pool too: a store holding only
 * the CAB twin symbolicates from the decoded PDB, its 404s are
 * remembered, and two jobs asking at once make one upstream request. */
START_TEST(test_http_source_through_pool)
{
    const char *pd_ = "/crash.pdb/" PDB_ID "/crash.pd_";
    const char *exe = "/crash.exe/5AB380779000/crash.exe";
    struct itest t;
    /* one worker: both jobs share its table of downloads */
    char *conf = conf_with("[server]\nworkers = 1\n"), *src, *body, *url;
    char *cab;
    struct post_job jobs[2];
    pthread_t th[2];
    size_t len;
    json_t *a;

    itest_start_conf(&t, 1, conf);
    cab = make_cab("pdb/crash.pdb", "crash.pdb", &len);
    stub_add(t.up[0], pd_, cab, len);
    src = http_source(&t, "symstore");
    body = pe_request(src);
    a = post_ok(&t, "/symbolicate?scope=x", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    json_decref(a);
    ck_assert(metric(&t, "symsrvd_upstream_decoded_total") == 1);
    ck_assert_uint_eq(stub_hits(t.up[0], pd_), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], exe), 1);
    a = post_ok(&t, "/symbolicate?scope=x", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    json_decref(a);
    ck_assert_uint_eq(stub_hits(t.up[0], pd_), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], exe), 1); /* remembered miss */
    /* a private source's files and misses are not the lister's */
    for (size_t i = 0; i < 2; i++) {
        struct http_resp l;

        itest_get(&t, i == 0 ? "/symbols" : "/symbols?negative=1", NULL, &l);
        ck_assert_int_eq(l.status, 200);
        ck_assert_ptr_null(strstr(l.body, "Symsrvd"));
        ck_assert_ptr_null(strstr(l.body, "stub"));
        http_resp_free(&l);
    }

    /* two jobs of another scope at once, the file slow to come */
    stub_fault(t.up[0], pd_, STUB_DELAY, 800);
    url = itest_url(&t, "/symbolicate?scope=y");
    for (size_t i = 0; i < 2; i++) {
        jobs[i].url = url;
        jobs[i].body = body;
        ck_assert_int_eq(pthread_create(&th[i], NULL, post_thread, &jobs[i]),
                         0);
    }
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(jobs[i].r.status, 200);
        ck_assert_ptr_nonnull(strstr(jobs[i].r.body, "RequestDump"));
        http_resp_free(&jobs[i].r);
    }
    ck_assert_uint_eq(stub_hits(t.up[0], pd_), 2);
    ck_assert(metric(&t, "symsrvd_symbolicate_coalesced_total") >= 1);

    /* a body cut short fails the module and leaves nothing cached */
    stub_fault(t.up[0], pd_, STUB_TRUNCATE, 100);
    a = post_ok(&t, "/symbolicate?scope=z", body);
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "fetching_failed");
    json_decref(a);
    a = post_ok(&t, "/symbolicate?scope=z", body);
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
    json_decref(a);
    ck_assert_uint_eq(stub_hits(t.up[0], pd_), 4);
    free(url);
    free(cab);
    free(body);
    free(src);
    free(conf);
    itest_stop(&t);
}
END_TEST

/* A request whose first candidate (crash.exe) answers after DELAY_MS. */
static char *delayed_request(struct itest *t, uint64_t delay_ms)
{
    char *src = http_source(t, "symstore"), *body;

    serve(t->up[0], PDB_KEY, "pdb/crash.pdb");
    stub_fault(t->up[0], "/crash.exe/5AB380779000/crash.exe", STUB_DELAY,
               delay_ms);
    body = pe_request(src);
    free(src);
    return body;
}

static char *slow_request(struct itest *t)
{
    return delayed_request(t, 1500);
}

/* timeout=0 gives pending; polls on fresh connections (either worker)
 * see pending then completed, again and again; unknown ids are 404; a
 * finished result survives the restart of every worker. */
START_TEST(test_pending_poll_any_worker)
{
    struct itest t;
    char *conf = conf_with(NULL), *body, *path;
    const char *id;
    json_t *a, *p = NULL;
    struct http_resp r;
    pid_t w[4];
    size_t nw;
    int completed = 0;

    itest_start_conf(&t, 1, "[server]\nworkers = 2\n[symbolicate]\n"
                            "allow_request_sources = any\n");
    body = slow_request(&t);
    a = post_ok(&t, "/symbolicate?timeout=0", body);
    ck_assert_str_eq(str(a, "status"), "pending");
    ck_assert_int_eq(json_integer_value(json_object_get(a, "retry_after")), 30);
    id = str(a, "request_id");
    ck_assert_uint_eq(strlen(id), 36);
    path = xasprintf("/requests/%s?timeout=0", id);
    for (int i = 0; i < 200 && completed < 6; i++) {
        itest_get(&t, path, NULL, &r);
        ck_assert_int_eq(r.status, 200);
        json_decref(p);
        p = json_loads(r.body, 0, NULL);
        ck_assert_ptr_nonnull(p);
        if (strcmp(str(p, "status"), "completed") == 0)
            completed++;
        else
            ck_assert_str_eq(str(p, "status"), "pending");
        http_resp_free(&r);
        usleep(20000);
    }
    ck_assert_int_eq(completed, 6);
    ck_assert_str_eq(str(frame(p, 0, 0), "status"), "symbolicated");
    json_decref(p);
    /* kill every worker: the master forks new ones, which still know */
    nw = daemon_workers(t.d, w, 4);
    ck_assert_uint_eq(nw, 2);
    for (size_t i = 0; i < nw; i++)
        kill(w[i], SIGKILL);
    usleep(300000);
    ck_assert(daemon_wait_workers(t.d, 2, 10000));
    free(path);
    path = xasprintf("/requests/%s", id);
    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"completed\""));
    http_resp_free(&r);
    itest_get(&t, "/requests/00000000-0000-4000-8000-000000000000", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    itest_get(&t, "/requests/not-an-id", NULL, &r);
    ck_assert_int_eq(r.status, 404);
    http_resp_free(&r);
    json_decref(a);
    free(path);
    free(body);
    free(conf);
    itest_stop(&t);
}
END_TEST

/* The results in DIR's job directory, sorted, one per line (not running
 * marks: the job thread drops one just after the result appears). */
static char *job_files(const char *dir)
{
    char *cmd = xasprintf("ls '%s/.Symsrvd/requests' | grep '[.]json$'", dir);
    FILE *f = popen(cmd, "r");
    char *text = xcalloc(1, 4096);

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_lt(fread(text, 1, 4095, f), 4095);
    pclose(f);
    free(cmd);
    return text;
}

/* Threads named NAME in the daemon's workers. */
static unsigned worker_threads(const struct itest *t, const char *name)
{
    pid_t w[8];
    size_t nw = daemon_workers(t->d, w, 8);
    unsigned n = 0;

    for (size_t i = 0; i < nw; i++) {
        char *cmd = xasprintf("grep -lx '%s' /proc/%ld/task/*/comm", name,
                              (long)w[i]);
        FILE *f = popen(cmd, "r");
        char line[256];

        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof(line), f) != NULL)
            n++;
        pclose(f);
        free(cmd);
    }
    return n;
}

/* A poll without timeout waits for the result; the POST without timeout
 * is never pending.  Only a job whose id went out in a "pending" answer
 * leaves a result file: one that finished while its request waited
 * (without timeout, or within it) hands its result over in memory.  Job
 * threads stay for the next job: one per worker for jobs in turn. */
START_TEST(test_wait_without_timeout)
{
    struct itest t;
    char *conf = conf_with(NULL), *body, *path, *files, *want;
    json_t *a;
    struct http_resp r;

    itest_start_conf(&t, 1, conf);
    body = slow_request(&t);
    a = post_ok(&t, "/symbolicate?timeout=0", body);
    path = xasprintf("/requests/%s", str(a, "request_id"));
    want = xasprintf("%s.json\n", str(a, "request_id"));
    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"completed\""));
    http_resp_free(&r);
    json_decref(a);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(a, "status"), "completed");
    json_decref(a);
    a = post_ok(&t, "/symbolicate?timeout=60", body);
    ck_assert_str_eq(str(a, "status"), "completed");
    json_decref(a);
    files = job_files(t.dir);
    ck_assert_str_eq(files, want);
    ck_assert_uint_ge(worker_threads(&t, "symjob"), 1);
    ck_assert_uint_le(worker_threads(&t, "symjob"), 2);
    /* and the exposed one is still there for the next poll */
    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"status\":\"completed\""));
    http_resp_free(&r);
    free(files);
    free(want);
    free(path);
    free(body);
    free(conf);
    itest_stop(&t);
}
END_TEST

START_TEST(test_errors_400_413_422_503)
{
    struct itest t;
    char *big = xmalloc(4096), *body;
    long status;
    json_t *a, *b;

    itest_start_conf(&t, 1, "[server]\nworkers = 1\n[symbolicate]\n"
                            "allow_request_sources = any\n"
                            "max_jobs = 1\nmax_body_size = 2K\n");
    a = post(&t, "/symbolicate", "{\"stacktraces\": [", &status);
    ck_assert_int_eq(status, 400);
    ck_assert_ptr_nonnull(strstr(str(a, "detail"), "invalid JSON"));
    json_decref(a);
    a = post(&t, "/symbolicate",
             "{\"sources\":[{\"id\":\"x\",\"type\":\"smb\"}]}", &status);
    ck_assert_int_eq(status, 422);
    ck_assert_ptr_nonnull(strstr(str(a, "detail"), "smb"));
    json_decref(a);
    a = post(&t, "/symbolicate",
             "{\"stacktraces\":[{\"frames\":[{\"instruction_addr\":\"zz\"}]}]}",
             &status);
    ck_assert_int_eq(status, 422);
    json_decref(a);
    memset(big, ' ', 4095);
    big[0] = '{';
    big[4094] = '}';
    big[4095] = '\0';
    a = post(&t, "/symbolicate", big, &status);
    ck_assert_int_eq(status, 413);
    json_decref(a);
    /* one slot: a second job while the first downloads is refused */
    body = slow_request(&t);
    a = post_ok(&t, "/symbolicate?timeout=0", body);
    ck_assert_str_eq(str(a, "status"), "pending");
    b = post(&t, "/symbolicate?timeout=0", body, &status);
    ck_assert_int_eq(status, 503);
    ck_assert_str_eq(str(b, "detail"),
                     "maximum number of concurrent requests reached");
    json_decref(a);
    json_decref(b);
    free(body);
    free(big);
    itest_stop(&t);
}
END_TEST

/* max_jobs holds for the box: with two workers and one slot, while a job
 * runs every other POST is refused, whichever worker takes it. */
START_TEST(test_max_jobs_across_workers)
{
    struct itest t;
    char *body;
    long status;
    json_t *a, *b;

    itest_start_conf(&t, 1, "[server]\nworkers = 2\n[symbolicate]\n"
                            "allow_request_sources = any\nmax_jobs = 1\n");
    ck_assert(daemon_wait_workers(t.d, 2, 10000));
    body = delayed_request(&t, 4000);
    a = post_ok(&t, "/symbolicate?timeout=0", body);
    ck_assert_str_eq(str(a, "status"), "pending");
    for (int i = 0; i < 12; i++) {
        b = post(&t, "/symbolicate?timeout=0", body, &status);
        ck_assert_msg(status == 503, "POST %d: %ld", i, status);
        ck_assert_str_eq(str(b, "detail"),
                         "maximum number of concurrent requests reached");
        json_decref(b);
    }
    json_decref(a);
    free(body);
    itest_stop(&t);
}
END_TEST

/* A job that outlives job_timeout is answered {"status":"timeout"} then,
 * not when its slow download ends. */
START_TEST(test_job_timeout)
{
    struct itest t;
    char *body, *path;
    uint64_t t0;
    json_t *a, *p;
    struct http_resp r;

    itest_start_conf(&t, 1, "[symbolicate]\nallow_request_sources = any\n"
                            "job_timeout = 1s\n"
                            "[upstream stub]\nurl = @UP0@\nretries = 0\n");
    body = delayed_request(&t, 8000);
    t0 = mono_ms();
    a = post_ok(&t, "/symbolicate?timeout=0", body);
    ck_assert_str_eq(str(a, "status"), "pending");
    path = xasprintf("/requests/%s", str(a, "request_id"));
    itest_get(&t, path, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    p = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "status"), "timeout");
    ck_assert_msg(mono_ms() - t0 < 4000, "took %llu ms",
                  (unsigned long long)(mono_ms() - t0));
    json_decref(p);
    http_resp_free(&r);
    json_decref(a);
    free(path);
    free(body);
    itest_stop(&t);
}
END_TEST

/* --- gcs, sentry, path_patterns, has_index --------------------------------- */

/* BODY with options.dif_candidates set (new string). */
static char *with_candidates(const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    char *out;

    json_object_set_new(o, "options", json_pack("{s:b}", "dif_candidates", 1));
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

/* Does module 0 of A list a candidate at LOCATION? */
static bool has_candidate(const json_t *a, const char *location)
{
    const json_t *c = json_object_get(module(a, 0), "candidates"), *v;
    size_t i;

    json_array_foreach(c, i, v)
        if (strcmp(str(v, "location"), location) == 0)
            return true;
    return false;
}

/* The raw answer to BODY at /symbolicate?QUERY (200 expected). */
static char *post_text(const struct itest *t, const char *query,
                       const char *body)
{
    char *url = itest_url(t, query), *text;
    struct http_resp r;

    http_post(url, NULL, body, strlen(body), &r);
    ck_assert_int_eq(r.status, 200);
    text = xstrdup(r.body ? r.body : "");
    http_resp_free(&r);
    free(url);
    return text;
}

/* POST BODY to /symbolicate?QUERY: its answer must be WANT byte for byte,
 * given by a job (INLINE false) or at once without one (INLINE true). */
static void expect_answer(const struct itest *t, const char *query,
                          const char *body, const char *want, bool inline_)
{
    double jobs = metric(t, "symsrvd_symbolicate_jobs_total");
    double at_once = metric(t, "symsrvd_symbolicate_inline_total");
    char *got = post_text(t, query, body);

    ck_assert_str_eq(got, want);
    ck_assert_double_eq(metric(t, "symsrvd_symbolicate_jobs_total"),
                        jobs + !inline_);
    ck_assert_double_eq(metric(t, "symsrvd_symbolicate_inline_total"),
                        at_once + inline_);
    free(got);
}

/* A request with nothing to download and its tables in memory is answered
 * at once, without a job, with the text a job gives; one that needs a
 * download (cold, another scope) or a table not in memory (after a
 * restart) still runs as a job.  A remembered miss needs no download:
 * a missing file is answered at once the second time. */
START_TEST(test_warm_answered_inline)
{
    struct itest t;
    char *src, *pe, *body, *missing, *want, *want_missing;
    json_t *a;

    itest_start_conf(&t, 1, "[server]\nworkers = 1\n[symbolicate]\n"
                            "allow_request_sources = any\n");
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    src = http_source(&t, "symstore");
    pe = pe_request(src);
    body = with_candidates(pe);
    want = post_text(&t, "/symbolicate", body); /* cold: a job */
    a = json_loads(want, 0, NULL);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert_uint_gt(
        json_array_size(json_object_get(module(a, 0), "candidates")), 0);
    json_decref(a);
    ck_assert_double_eq(metric(&t, "symsrvd_symbolicate_inline_total"), 0);
    expect_answer(&t, "/symbolicate", body, want, true);
    expect_answer(&t, "/symbolicate?scope=other", body, want, false);
    expect_answer(&t, "/symbolicate?scope=other", body, want, true);
    /* a module no source has: every candidate is a miss to remember */
    missing = xasprintf("{\"sources\":%s,\"stacktraces\":[{\"frames\":["
                        "{\"instruction_addr\":\"0x400100\"}]}],"
                        "\"options\":{\"dif_candidates\":true},"
                        "\"modules\":[%s]}",
                        src, ELF_MODULE);
    want_missing = post_text(&t, "/symbolicate", missing);
    a = json_loads(want_missing, 0, NULL);
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "missing");
    json_decref(a);
    expect_answer(&t, "/symbolicate", missing, want_missing, true);
    /* the table is on disk but no longer in memory: a job reads it */
    itest_restart(&t);
    expect_answer(&t, "/symbolicate", body, want, false);
    expect_answer(&t, "/symbolicate", body, want, true);
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 2);
    itest_stop(&t);
    free(want_missing);
    free(missing);
    free(want);
    free(body);
    free(pe);
    free(src);
}
END_TEST

/* A warm request takes its table from memory only while the file is the
 * one the table was made from (same size and modification time as the
 * file's stat() on the way to it): a file replaced in the cache, even by
 * one of the same size and an older time, is read again, by a job (not
 * from the table saved for the first file), and answered from memory
 * again after that. */
START_TEST(test_warm_notices_replaced_file)
{
    struct itest t;
    char *body = xasprintf("{\"stacktraces\":[{\"frames\":["
                           "{\"instruction_addr\":\"0x1001001\"}]}],"
                           "\"modules\":[%s]}",
                           PE_MODULE);
    char *sym, *orig = data_path("breakpad/windows/crash.sym"), *cmd, *text;
    json_t *a;

    itest_start_conf(&t, 1, POOL_CONF);
    place(t.dir, "crash.pdb/" PDB_ID "/crash.sym", "breakpad/windows/crash.sym");
    sym = xasprintf("%s/crash.pdb/" PDB_ID "/crash.sym", t.dir);
    text = post_text(&t, "/symbolicate", body); /* cold: a job */
    ck_assert_ptr_nonnull(strstr(text, "RequestDump("));
    expect_answer(&t, "/symbolicate", body, text, true);
    free(text);
    /* the same size, another name, renamed over it as a publish does */
    cmd = xasprintf("sed 's/RequestDump(/RequestDumX(/' '%s' >'%s.new' && "
                    "mv '%s.new' '%s'",
                    orig, sym, sym, sym);
    ck_assert_int_eq(system(cmd), 0);
    /* an hour older than the first file and the table saved from it, as
     * cp -p, rsync or a rollback leave it: the saved table is the first
     * file's all the same */
    age(sym, 3600, 3600);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_ptr_nonnull(strstr(str(frame(a, 0, 0), "function"), "RequestDumX("));
    json_decref(a);
    text = post_text(&t, "/symbolicate", body);
    ck_assert_ptr_nonnull(strstr(text, "RequestDumX("));
    expect_answer(&t, "/symbolicate", body, text, true);
    itest_stop(&t);
    free(text);
    free(cmd);
    free(orig);
    free(sym);
    free(body);
}
END_TEST

/* A gcs source is read through Google's JSON API (gcs_url: the stub):
 * the object name, prefix included, is one encoded segment; the bearer
 * token goes in Authorization. */
START_TEST(test_gcs_source)
{
    struct itest t;
    char *src, *body, *req, auth[256];
    json_t *a;

    itest_start_conf(&t, 1, "[symbolicate]\nallow_request_sources = any\n"
                            "gcs_url = @UP0@\n"
                            "[upstream stub]\nurl = @UP0@\nretries = 0\n");
    serve(t.up[0],
          "storage/v1/b/my_syms/o/store%2Fcrash.pdb%2F" PDB_ID "%2Fcrash.pdb",
          "pdb/crash.pdb");
    src = xstrdup("[{\"id\":\"g\",\"type\":\"gcs\",\"bucket\":\"my_syms\","
                  "\"prefix\":\"/store/\",\"bearer_token\":\"ya29.secret\","
                  "\"layout\":{\"type\":\"symstore\"}}]");
    req = pe_request(src);
    body = with_candidates(req);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
    ck_assert(stub_last_header(t.up[0], "Authorization", auth, sizeof(auth)));
    ck_assert_str_eq(auth, "Bearer ya29.secret");
    ck_assert(has_candidate(a, "gs://my_syms/store/" PDB_KEY));
    ck_assert_uint_eq(
        stub_hits(t.up[0], "/storage/v1/b/my_syms/o/store%2Fcrash.pdb%2F" PDB_ID
                           "%2Fcrash.pdb"),
        1);
    json_decref(a);
    free(body);
    free(req);
    free(src);
    itest_stop(&t);
}
END_TEST

/* A gcs source with a service account key: the box signs a JWT with the
 * key, exchanges it at gcs_token_url for an access token (kept for the
 * next request) and sends that; a key the endpoint refuses leaves the
 * module fetching_failed. */
START_TEST(test_gcs_service_account)
{
    struct itest t;
    char *pem = testkey_rsa_pem(NULL), *body, *req, auth[256], grant[2048];
    static const char tok[] =
        "{\"access_token\":\"ya29.from-key\",\"expires_in\":3599,"
        "\"token_type\":\"Bearer\"}";
    json_t *src, *a;
    char *srcs;

    /* one worker: tokens are kept per process */
    itest_start_conf(&t, 1, "[server]\nworkers = 1\n"
                            "[symbolicate]\nallow_request_sources = any\n"
                            "gcs_url = @UP0@\ngcs_token_url = @UP0@/token\n"
                            "[upstream stub]\nurl = @UP0@\nretries = 0\n");
    stub_accept_post(t.up[0]);
    stub_add(t.up[0], "/token", tok, strlen(tok));
    serve(t.up[0], "storage/v1/b/syms/o/crash.pdb%2F" PDB_ID "%2Fcrash.pdb",
          "pdb/crash.pdb");
    src = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:{s:s}}]", "id", "sa", "type",
                    "gcs", "bucket", "syms", "private_key", pem,
                    "client_email", "robot@p.iam.gserviceaccount.com",
                    "layout", "type", "symstore");
    srcs = json_dumps(src, JSON_COMPACT);
    req = pe_request(srcs);
    body = with_candidates(req);
    /* two scopes: the file is downloaded twice, the token fetched once */
    for (int i = 0; i < 2; i++) {
        a = post_ok(&t, i == 0 ? "/symbolicate?scope=one"
                               : "/symbolicate?scope=two",
                    body);
        ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
        json_decref(a);
    }
    ck_assert(stub_last_header(t.up[0], "Authorization", auth, sizeof(auth)));
    ck_assert_str_eq(auth, "Bearer ya29.from-key");
    ck_assert_uint_eq(stub_hits(t.up[0], "/token"), 1);
    stub_last_body(t.up[0], grant, sizeof(grant));
    ck_assert_msg(strncmp(grant,
                          "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type"
                          "%3Ajwt-bearer&assertion=ey",
                          77) == 0,
                  "%s", grant);
    ck_assert_ptr_null(strstr(grant, "PRIVATE"));
    /* a refused key: no token, nothing downloaded */
    stub_fault_always(t.up[0], "/token", 401);
    json_decref(src);
    free(srcs);
    src = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:{s:s}}]", "id", "sa2", "type",
                    "gcs", "bucket", "syms", "private_key", pem,
                    "client_email", "other@p.iam.gserviceaccount.com",
                    "layout", "type", "symstore");
    srcs = json_dumps(src, JSON_COMPACT);
    free(req);
    free(body);
    req = pe_request(srcs);
    body = with_candidates(req);
    a = post_ok(&t, "/symbolicate", body);
    ck_assert_str_eq(str(module(a, 0), "debug_status"), "fetching_failed");
    ck_assert_uint_ge(stub_hits(t.up[0], "/token"), 2);
    ck_assert_uint_eq(
        stub_hits(t.up[0], "/storage/v1/b/syms/o/crash.pdb%2F" PDB_ID
                           "%2Fcrash.pdb"),
        2);
    json_decref(a);
    json_decref(src);
    free(srcs);
    free(body);
    free(req);
    free(pem);
    itest_stop(&t);
}
END_TEST

#define SENTRY_LIST "/api/dsyms/?debug_id=3249d99d-0c40-4931-8610-f4e4fb0b6936-1"\
                    "&code_id=5ab380779000"

/* A sentry source lists the module's files by debug_id and code_id, then
 * downloads the listed file of each wanted type by id, with the token;
 * the list is reused by the next request. */
START_TEST(test_sentry_source)
{
    struct itest t;
    char *conf = conf_with(NULL), *src, *body, *req, auth[256];
    static const char list[] =
        "[{\"id\":\"78\",\"symbolType\":\"elf\",\"objectName\":\"x\"},"
        "{\"id\":\"77\",\"symbolType\":\"pdb\",\"debugId\":\"x\"}]";
    json_t *a;

    itest_start_conf(&t, 1, conf);
    stub_keep_query(t.up[0]);
    stub_add(t.up[0], SENTRY_LIST, list, strlen(list));
    serve(t.up[0], "api/dsyms/?id=77", "pdb/crash.pdb");
    src = xasprintf("[{\"id\":\"sentry:project\",\"type\":\"sentry\","
                    "\"url\":\"%s/api/dsyms/\",\"token\":\"sntrys_tok\"}]",
                    stub_url(t.up[0]));
    req = pe_request(src);
    body = with_candidates(req);
    for (int i = 0; i < 2; i++) {
        a = post_ok(&t, "/symbolicate", body);
        ck_assert_str_eq(str(frame(a, 0, 0), "status"), "symbolicated");
        ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
        ck_assert(has_candidate(a, "sentry://project_debug_file/77"));
        json_decref(a);
    }
    ck_assert(stub_last_header(t.up[0], "Authorization", auth, sizeof(auth)));
    ck_assert_str_eq(auth, "Bearer sntrys_tok");
    ck_assert_uint_eq(stub_hits(t.up[0], SENTRY_LIST), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], "/api/dsyms/?id=77"), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], "/api/dsyms/?id=78"), 0);
    free(body);
    free(req);
    free(src);
    free(conf);
    itest_stop(&t);
}
END_TEST

/* POST the PE frame with the JSON SOURCES; its frame has STATUS. */
static void expect_frame_status(const struct itest *t, const char *sources,
                                const char *status)
{
    char *body = pe_request(sources);
    json_t *a = post_ok(t, "/symbolicate", body);

    ck_assert_str_eq(str(frame(a, 0, 0), "status"), status);
    json_decref(a);
    free(body);
}

/* filters.path_patterns: a source is asked only for modules whose code or
 * debug file matches one of them. */
START_TEST(test_path_patterns)
{
    struct itest t;
    char *src;
    const char *pats[] = {"[\"?:/B/*\"]", "[\"d:/**\", \"/usr/**\"]"};
    unsigned hits = 0;

    src = start_with_pdb(&t, "symstore");
    free(src);
    for (int i = 0; i < 2; i++) {
        hits = stub_total_hits(t.up[0]);
        src = xasprintf("[{\"id\":\"p%d\",\"type\":\"http\",\"url\":\"%s/\","
                        "\"layout\":{\"type\":\"symstore\"},"
                        "\"filters\":{\"path_patterns\":%s}}]",
                        i, stub_url(t.up[0]), pats[i]);
        expect_frame_status(&t, src, i == 0 ? "symbolicated" : "missing");
        free(src);
    }
    /* the second source was asked nothing */
    ck_assert_uint_eq(stub_total_hits(t.up[0]), hits);
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    itest_stop(&t);
}
END_TEST

/* has_index on a symstore source: only the paths its 000Admin index lists
 * are asked for; an index that lists none means none; a source without
 * an index is asked for every path. */
START_TEST(test_has_index)
{
    struct itest t;
    char *src;
    static const char last[] = "0000000002\r\n";
    static const char t1[] =
        "\"crash.pdb\\" PDB_ID "\",\"C:\\b\\crash.pdb\"\r\n";
    static const char t2[] = "\"other.dll\\5AB380779000\",\"C:\\o.dll\"\r\n";

    src = start_with_pdb(&t, "symstore");
    free(src);
    stub_add(t.up[0], "/idx/000Admin/lastid.txt", last, strlen(last));
    stub_add(t.up[0], "/idx/000Admin/0000000001", t1, strlen(t1));
    stub_add(t.up[0], "/idx/000Admin/0000000002", t2, strlen(t2));
    serve(t.up[0], "idx/" PDB_KEY, "pdb/crash.pdb");
    stub_add(t.up[0], "/none/000Admin/lastid.txt", "1\n", 2);
    stub_add(t.up[0], "/none/000Admin/0000000001", t2, strlen(t2));
    serve(t.up[0], "none/" PDB_KEY, "pdb/crash.pdb");
    serve(t.up[0], "plain/" PDB_KEY, "pdb/crash.pdb");
    for (int i = 0; i < 3; i++) {
        static const char *const dirs[] = {"idx", "none", "plain"};

        src = xasprintf("[{\"id\":\"ix%d\",\"type\":\"http\",\"url\":\"%s/%s\","
                        "\"layout\":{\"type\":\"symstore\"},\"has_index\":true}]",
                        i, stub_url(t.up[0]), dirs[i]);
        expect_frame_status(&t, src, i == 1 ? "missing" : "symbolicated");
        free(src);
    }
    ck_assert_uint_eq(stub_hits(t.up[0], "/idx/" PDB_KEY), 1);
    ck_assert_uint_eq(stub_hits(t.up[0], "/none/" PDB_KEY), 0);
    ck_assert_uint_eq(stub_hits(t.up[0], "/idx/crash.exe/5AB380779000/crash.exe"),
                      0);
    itest_stop(&t);
}
END_TEST

/* With the default allow_request_sources = public, request URLs that
 * reach loopback, link-local or a name resolving to them are refused
 * before any connection: the module is fetching_failed and the stub sees
 * nothing. */
START_TEST(test_ssrf_refused_by_default)
{
    struct itest t;
    json_t *a, *m, *c;

    char *urls[5];

    itest_start_conf(&t, 1, "");
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    urls[0] = xstrdup(stub_url(t.up[0]));
    urls[1] = xstrdup("http://169.254.169.254/x");
    urls[2] = xasprintf("http://localhost:%u/", stub_port(t.up[0]));
    urls[3] = xasprintf("http://[::1]:%u/", stub_port(t.up[0]));
    urls[4] = xasprintf("ftp://127.0.0.1:%u/", stub_port(t.up[0]));
    for (size_t i = 0; i < 5; i++) {
        char *url = urls[i], *body;
        long status;

        body = xasprintf(
            "{\"sources\":[{\"id\":\"evil\",\"type\":\"http\",\"url\":\"%s\","
            "\"layout\":{\"type\":\"symstore\"}}],\"options\":"
            "{\"dif_candidates\":true},\"stacktraces\":[{\"frames\":"
            "[{\"instruction_addr\":\"0x1001001\"}]}],\"modules\":[%s]}",
            url, PE_MODULE);
        a = post(&t, "/symbolicate", body, &status);
        if (strncmp(url, "ftp", 3) == 0) {
            ck_assert_int_eq(status, 422);
        } else {
            ck_assert_int_eq(status, 200);
            m = module(a, 0);
            ck_assert_msg(strcmp(str(m, "debug_status"), "fetching_failed") == 0,
                          "%s: %s", url, str(m, "debug_status"));
            c = json_array_get(json_object_get(m, "candidates"), 0);
            ck_assert_str_eq(str(json_object_get(c, "download"), "status"),
                             "error");
            ck_assert_str_eq(str(frame(a, 0, 0), "status"), "missing");
        }
        json_decref(a);
        free(body);
        free(url);
    }
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
    itest_stop(&t);
}
END_TEST

/* One http source ID at URL for the PE module, with candidates: the
 * answer's module (new reference). */
static json_t *ssrf_module(const struct itest *t, const char *id,
                           const char *url)
{
    char *body = xasprintf(
        "{\"sources\":[{\"id\":\"%s\",\"type\":\"http\",\"url\":\"%s\","
        "\"layout\":{\"type\":\"symstore\"}}],\"options\":"
        "{\"dif_candidates\":true},\"stacktraces\":[{\"frames\":"
        "[{\"instruction_addr\":\"0x1001001\"}]}],\"modules\":[%s]}",
        id, url, PE_MODULE);
    json_t *a = post_ok(t, "/symbolicate", body);
    json_t *m = json_incref(module(a, 0));

    json_decref(a);
    free(body);
    return m;
}

/* Is the PE module from source ID at URL fetching_failed because the
 * PDB's destination (or a redirect's) is restricted? */
static void expect_restricted(const struct itest *t, const char *id,
                              const char *url)
{
    json_t *m = ssrf_module(t, id, url), *c;
    char *dump = json_dumps(m, JSON_COMPACT);
    const char *details = NULL;
    size_t i;

    ck_assert_msg(strcmp(str(m, "debug_status"), "fetching_failed") == 0,
                  "%s: %s", url, dump);
    json_array_foreach(json_object_get(m, "candidates"), i, c)
        if (strstr(str(c, "location"), "/crash.pdb/") != NULL)
            details = str(json_object_get(c, "download"), "details");
    ck_assert_msg(details != NULL && strstr(details, "restricted") != NULL,
                  "%s: %s", url, dump);
    free(dump);
    json_decref(m);
}

/* The stub's PDB under /NAME, asked for at BASE/NAME (BASE reaching the
 * stub), redirects to TARGET, which is refused after the stub's own hop. */
static void expect_redirect_restricted(const struct itest *t,
                                       const char *base, const char *name,
                                       const char *target)
{
    char *path = xasprintf("/%s/" PDB_KEY, name);
    char *url = xasprintf("%s/%s", base, name);

    stub_redirect_always(t->up[0], path, target);
    expect_restricted(t, name, url);
    ck_assert_uint_ge(stub_hits(t->up[0], path), 1);
    free(url);
    free(path);
}

/* allowed_source_hosts lets a listed host (here the IP literal 127.0.0.1,
 * the stub; names are matched by unit/check_hostlist) reach loopback under
 * allow_request_sources = public, and nothing else: a name resolving to
 * the same address but not listed is refused, and so are redirects from
 * the listed host to loopback hosts not on the list.  Under = no the list
 * opens nothing. */
START_TEST(test_ssrf_allowed_hosts)
{
    struct itest t;
    char *url;
    json_t *m;
    unsigned port;

    itest_start_conf(&t, 1, "[symbolicate]\nallowed_source_hosts = "
                            "example.invalid, 127.0.0.1\n");
    port = stub_port(t.up[0]);
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    serve(t.up[0], "other/" PDB_KEY, "pdb/crash.pdb");
    m = ssrf_module(&t, "listed", stub_url(t.up[0]));
    ck_assert_str_eq(str(m, "debug_status"), "found");
    json_decref(m);
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);

    url = xasprintf("http://localhost:%u/other", port);
    expect_restricted(&t, "unlisted", url);
    free(url);
    ck_assert_uint_eq(stub_hits(t.up[0], "/other/" PDB_KEY), 0);

    url = xasprintf("http://127.0.0.2:%u/" PDB_KEY, port);
    expect_redirect_restricted(&t, stub_url(t.up[0]), "to2", url);
    free(url);
    url = xasprintf("http://localhost:%u/other/" PDB_KEY, port);
    expect_redirect_restricted(&t, stub_url(t.up[0]), "toname", url);
    free(url);
    ck_assert_uint_eq(stub_hits(t.up[0], "/other/" PDB_KEY), 0);
    itest_stop(&t);

    itest_start_conf(&t, 1, "[symbolicate]\nallow_request_sources = no\n"
                            "allowed_source_hosts = 127.0.0.1\n");
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    m = ssrf_module(&t, "listed", stub_url(t.up[0]));
    ck_assert_str_eq(str(m, "debug_status"), "fetching_failed");
    json_decref(m);
    ck_assert_uint_eq(stub_total_hits(t.up[0]), 0);
    itest_stop(&t);
}
END_TEST

/* --- a made-up network (fakenet.so) ----------------------------------- */

/* ENV (3 slots) for a daemon on fakenet.so's network with HOSTS and
 * ROUTE (see fakenet.c); false under the sanitizers, whose runtime must
 * be the first library loaded. */
static bool fakenet_env(char *env[3], const char *hosts, const char *route)
{
#ifdef UNDER_ASAN
    (void)hosts;
    (void)route;
    env[0] = NULL;
    return false;
#else
    const char *top = getenv("abs_top_builddir");

    env[0] = xasprintf("LD_PRELOAD=%s/tests/integration/fakenet.so",
                       top != NULL ? top : "..");
    env[1] = xasprintf("FAKENET_HOSTS=%s", hosts);
    env[2] = route != NULL ? xasprintf("FAKENET_ROUTE=%s", route) : NULL;
    return true;
#endif
}

static void env_free(char *env[3])
{
    for (size_t i = 0; i < 3; i++)
        free(env[i]);
}

/* Does this machine resolve localhost to more than one address, the
 * first not 127.0.0.1 (::1 first, as Debian's stock /etc/hosts has it)? */
static bool localhost_v6_first(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    bool yes;

    if (getaddrinfo("localhost", "80", &hints, &ai) != 0)
        return false;
    yes = ai->ai_next != NULL && ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return yes;
}

/* How test_ssrf_pins_every_address gets a localhost that resolves to ::1
 * first: the machine's own resolver, or fakenet.so; ENV as for
 * itest_start_conf_env().  False (and why, on stderr) if neither. */
static bool dual_localhost(char *env[3])
{
    env[0] = env[1] = env[2] = NULL;
    if (localhost_v6_first())
        return true;
    if (fakenet_env(env, "localhost=::1,127.0.0.1", NULL))
        return true;
    fprintf(stderr, "check_symbolicate: test_ssrf_pins_every_address "
                    "skipped: localhost resolves to one address here and "
                    "the sanitizers' build can't preload fakenet.so\n");
    return false;
}

/* An allowlisted name is pinned to every address it resolved to, not the
 * first only: localhost resolves to ::1 first, where nothing listens (the
 * stub is on 127.0.0.1 only), and is still reached on 127.0.0.1. */
START_TEST(test_ssrf_pins_every_address)
{
    struct itest t;
    char *env[3], *url;
    json_t *m;

    ck_assert(dual_localhost(env));
    itest_start_conf_env(&t, 1, "[symbolicate]\n"
                                "allowed_source_hosts = localhost\n",
                         (const char *const *)env);
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    url = xasprintf("http://localhost:%u", stub_port(t.up[0]));
    m = ssrf_module(&t, "localhost", url);
    ck_assert_str_eq(str(m, "debug_status"), "found");
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    json_decref(m);
    itest_stop(&t);
    free(url);
    env_free(env);
}
END_TEST

/* The default config (allow_request_sources = public, no allowlist): a
 * public host, symbols.example (fakenet.so routes its address to the
 * stub), is fetched, and so is a redirect to another public URL; its
 * redirects to loopback, link-local or a name resolving to loopback are
 * refused before any connection. */
START_TEST(test_ssrf_default_redirects)
{
    static const char *const targets[] = {
        "http://127.0.0.1:%u/other/" PDB_KEY,
        "http://localhost:%u/other/" PDB_KEY,
        "http://[::1]:%u/other/" PDB_KEY,
        "http://169.254.169.254/latest/meta-data/%u",
        "http://loop.example:%u/other/" PDB_KEY,
    };
    struct itest t;
    char *env[3], *url, *target, name[16];
    unsigned port;
    json_t *m;

    ck_assert(fakenet_env(env, "symbols.example=93.184.216.34;"
                               "loop.example=127.0.0.1",
                          "93.184.216.34"));
    itest_start_conf_env(&t, 1, "", (const char *const *)env);
    port = stub_port(t.up[0]);
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    serve(t.up[0], "other/" PDB_KEY, "pdb/crash.pdb");
    url = xasprintf("http://symbols.example:%u", port);
    m = ssrf_module(&t, "public", url);
    ck_assert_str_eq(str(m, "debug_status"), "found");
    json_decref(m);
    ck_assert_uint_eq(stub_hits(t.up[0], "/" PDB_KEY), 1);
    for (size_t i = 0; i < sizeof(targets) / sizeof(*targets); i++) {
        const char *at = strstr(targets[i], "%u");

        target = xasprintf("%.*s%u%s", (int)(at - targets[i]), targets[i],
                           port, at + 2);
        snprintf(name, sizeof(name), "to%zu", i);
        expect_redirect_restricted(&t, url, name, target);
        free(target);
    }
    ck_assert_uint_eq(stub_hits(t.up[0], "/other/" PDB_KEY), 0);
    target = xasprintf("%s/other/" PDB_KEY, url);
    stub_redirect_always(t.up[0], "/pub/" PDB_KEY, target);
    free(target);
    target = xasprintf("%s/pub", url);
    m = ssrf_module(&t, "topublic", target);
    ck_assert_str_eq(str(m, "debug_status"), "found");
    json_decref(m);
    ck_assert_uint_eq(stub_hits(t.up[0], "/other/" PDB_KEY), 1);
    itest_stop(&t);
    free(target);
    free(url);
    env_free(env);
}
END_TEST

/* --- POST /minidump ------------------------------------------------------ */

#define BOUNDARY "symsrvd-test-boundary-7d3a"

struct form {
    char *data;
    size_t len;
};

static void form_add(struct form *f, const char *name, const char *filename,
                     const void *data, size_t len)
{
    char *head = xasprintf("--" BOUNDARY "\r\nContent-Disposition: form-data; "
                           "name=\"%s\"%s%s%s\r\n%s\r\n",
                           name, filename ? "; filename=\"" : "",
                           filename ? filename : "", filename ? "\"" : "",
                           filename ? "Content-Type: application/octet-stream"
                                      "\r\n"
                                    : "");
    size_t hl = strlen(head);

    f->data = xreallocarray(f->data, f->len + hl + len + 2, 1);
    memcpy(f->data + f->len, head, hl);
    memcpy(f->data + f->len + hl, data, len);
    memcpy(f->data + f->len + hl + len, "\r\n", 2);
    f->len += hl + len + 2;
    free(head);
}

/* A part whose Content-Disposition has no name: ignored by the daemon. */
static void form_add_unnamed(struct form *f)
{
    static const char part[] = "--" BOUNDARY "\r\nContent-Disposition: "
                               "form-data\r\n\r\nno name\r\n";

    f->data = xreallocarray(f->data, f->len + sizeof(part), 1);
    memcpy(f->data + f->len, part, sizeof(part) - 1);
    f->len += sizeof(part) - 1;
}

/* POST the form F (finished here) to /minidump; the parsed answer. */
static json_t *post_form(const struct itest *t, struct form *f, long *status)
{
    static const char *const hdrs[] = {
        "Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL};
    char *url = itest_url(t, "/minidump");
    struct http_resp r;
    json_t *j;

    f->data = xreallocarray(f->data, f->len + 64, 1);
    f->len += (size_t)snprintf(f->data + f->len, 64, "--" BOUNDARY "--\r\n");
    http_post(url, hdrs, f->data, f->len, &r);
    *status = r.status;
    j = json_loads(r.body ? r.body : "", 0, NULL);
    http_resp_free(&r);
    free(url);
    free(f->data);
    f->data = NULL;
    f->len = 0;
    return j;
}

static void form_add_file(struct form *f, const char *rel)
{
    char *path = data_path(rel), *data = NULL;
    size_t len = 0;

    ck_assert_int_eq(read_small_file(path, 64u << 20, &data, &len), 0);
    form_add(f, "upload_file_minidump", "dump.dmp", data, len);
    free(data);
    free(path);
}

/* The requesting (crashed) thread's frames. */
static json_t *crashed_frames(const json_t *a)
{
    json_t *t;
    size_t i;

    json_array_foreach(json_object_get(a, "stacktraces"), i, t)
        if (json_is_true(json_object_get(t, "is_requesting")))
            return json_object_get(t, "frames");
    ck_abort_msg("no requesting thread");
    return NULL;
}

static const struct {
    const char *dump, *os, *arch, *function;
    long line;
} dumps[] = {
    {"minidump/windows.dmp", "Windows", "x86", "main", 35},
    {"minidump/linux.dmp", "Linux", "x86_64", "main", 35},
    {"minidump/macos.dmp", "macOS", "x86_64", "main", 21},
};

static void place_store(const char *dir)
{
    place(dir, PDB_KEY, "pdb/crash.pdb");
    place(dir, "f1/c3bcc0279865fe3058404b2831d9e64135386c", "elf/crash");
    place(dir, "f1/c3bcc0279865fe3058404b2831d9e64135386c.debug",
          "elf/crash.debug");
    place(dir, "crash/67E9247C814E392BA027DBDE6748FCBF0/crash.sym",
          "breakpad/macos/crash.sym");
}

/* The three fixture dumps, with their symbols from a filesystem source
 * and with none: named frames with lines, or module + address. */
START_TEST(test_minidump_fixtures)
{
    char *dir = testutil_tmpdir(), *extra = xasprintf("filesystem_roots = %s\n",
                                                      dir);
    char *conf = conf_with(extra), *src;
    struct itest t;
    struct form f = {0};
    long status;

    place_store(dir);
    itest_start_conf(&t, 1, conf);
    src = xasprintf("[{\"id\":\"fs\",\"type\":\"filesystem\",\"path\":\"%s\"}]",
                    dir);
    for (size_t i = 0; i < sizeof(dumps) / sizeof(*dumps); i++) {
        json_t *a, *fr, *found = NULL;
        size_t k;

        form_add_file(&f, dumps[i].dump);
        form_add(&f, "sources", NULL, src, strlen(src));
        form_add(&f, "options", NULL, "{\"dif_candidates\":true}", 23);
        a = post_form(&t, &f, &status);
        ck_assert_int_eq(status, 200);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_eq(str(a, "status"), "completed");
        ck_assert(json_is_true(json_object_get(a, "crashed")));
        ck_assert_str_eq(str(a, "arch"), dumps[i].arch);
        ck_assert_str_eq(str(json_object_get(a, "system_info"), "os_name"),
                         dumps[i].os);
        ck_assert_int_gt(json_integer_value(json_object_get(a, "timestamp")),
                         0);
        json_array_foreach(crashed_frames(a), k, fr)
            if (found == NULL && strcmp(str(fr, "function"), "main") == 0)
                found = fr;
        ck_assert_msg(found != NULL, "%s: no main", dumps[i].dump);
        ck_assert_int_eq(json_integer_value(json_object_get(found, "lineno")),
                         dumps[i].line);
        ck_assert_str_eq(str(module(a, 0), "debug_status"), "found");
        ck_assert_ptr_nonnull(json_object_get(module(a, 0), "candidates"));
        json_decref(a);

        /* no sources and an empty cache: walked, not named */
        form_add_file(&f, dumps[i].dump);
        a = post_form(&t, &f, &status);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(str(a, "status"), "completed");
        fr = json_array_get(crashed_frames(a), 0);
        ck_assert_str_eq(str(fr, "status"), "missing");
        ck_assert_str_eq(str(fr, "trust"), "context");
        ck_assert_str_eq(str(module(a, 0), "debug_status"), "missing");
        json_decref(a);
    }
    /* the uploads and their scratch links are gone once answered */
    ck_assert(!itest_tree_has(t.dir, ".upload"));
    itest_stop(&t);
    testutil_rmtree(dir);
    free(src);
    free(conf);
    free(extra);
    free(dir);
}
END_TEST

/* A dump that does not parse completes as failed; no dump is 400; a dump
 * over max_minidump_size is 413; a part without a name is ignored (it
 * crashed the worker once: fuzz_http). */
START_TEST(test_minidump_errors)
{
    struct itest t;
    struct form f = {0};
    char *big = xmalloc(3000);
    long status;
    json_t *a;

    itest_start_conf(&t, 1, "[symbolicate]\nmax_minidump_size = 2K\n"
                            "[upstream stub]\nurl = @UP0@\n");
    form_add_unnamed(&f);
    form_add(&f, "upload_file_minidump", "x.dmp", "not a dump", 10);
    form_add_unnamed(&f);
    a = post_form(&t, &f, &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(str(a, "status"), "failed");
    ck_assert_ptr_nonnull(strstr(str(a, "message"), "minidump"));
    json_decref(a);
    form_add(&f, "options", NULL, "{}", 2);
    a = post_form(&t, &f, &status);
    ck_assert_int_eq(status, 400);
    ck_assert_str_eq(str(a, "detail"), "missing minidump");
    json_decref(a);
    memset(big, 'M', 3000);
    form_add(&f, "upload_file_minidump", "x.dmp", big, 3000);
    a = post_form(&t, &f, &status);
    ck_assert_int_eq(status, 413);
    json_decref(a);
    form_add(&f, "upload_file_minidump", "x.dmp", "MDMP", 4);
    form_add(&f, "sources", NULL, "[{\"id\":1", 9);
    a = post_form(&t, &f, &status);
    ck_assert_int_eq(status, 400);
    json_decref(a);
    free(big);
    itest_stop(&t);
}
END_TEST

/* /healthcheck says "ok"; /proxy/<path> is the root path. */
START_TEST(test_healthcheck_and_proxy_path)
{
    struct itest t;
    struct http_resp r;

    itest_start(&t, 1, "1", NULL, NULL);
    serve(t.up[0], PDB_KEY, "pdb/crash.pdb");
    itest_get(&t, "/healthcheck", NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok");
    http_resp_free(&r);
    itest_get(&t, "/proxy/" PDB_KEY, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 1019904);
    http_resp_free(&r);
    itest_stop(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symbolicate");
    TCase *tc = tcase_create("api");
    bool have_gcab = needtool("check_symbolicate", "gcab", NULL);
    bool have_lld = needtool("check_symbolicate", "clang-14", "ld64.lld-14",
                             "llvm-lipo-14", "llvm-nm-14", "llvm-objdump-14",
                             NULL);
    char *env[3];
    int rc;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pdb_symstore_http_compat);
    tcase_add_test(tc, test_address_forms_and_options);
    tcase_add_test(tc, test_elf_native_http);
    tcase_add_test(tc, test_macho_native_http);
    tcase_add_test(tc, test_breakpad_filesystem);
    /* a noatime mount needs root or unprivileged user namespaces */
    if (testutil_can_mount_tmpfs())
        tcase_add_test(tc, test_loose_table_marked_used);
    else
        fprintf(stderr, "no private tmpfs here: loose tables' access times "
                        "not tested\n");
    tcase_add_test(tc, test_request_sources_no);
    tcase_add_test(tc, test_scope_and_size_limit);
    tcase_add_test(tc, test_redirect_followed);
    tcase_add_test(tc, test_s3_source);
    tcase_add_test(tc, test_modules_fetched_in_parallel);
    tcase_add_test(tc, test_box_cache_and_saved_table);
    tcase_add_test(tc, test_pending_poll_any_worker);
    tcase_add_test(tc, test_wait_without_timeout);
    tcase_add_test(tc, test_errors_400_413_422_503);
    tcase_add_test(tc, test_warm_answered_inline);
    tcase_add_test(tc, test_warm_notices_replaced_file);
    tcase_add_test(tc, test_ssrf_refused_by_default);
    tcase_add_test(tc, test_ssrf_allowed_hosts);
    tcase_add_test(tc, test_max_jobs_across_workers);
    tcase_add_test(tc, test_job_timeout);
    tcase_add_test(tc, test_gcs_source);
    tcase_add_test(tc, test_gcs_service_account);
    tcase_add_test(tc, test_sentry_source);
    tcase_add_test(tc, test_path_patterns);
    tcase_add_test(tc, test_has_index);
    tcase_add_test(tc, test_healthcheck_and_proxy_path);
    tcase_add_test(tc, test_minidump_fixtures);
    tcase_add_test(tc, test_minidump_errors);
    tcase_add_test(tc, test_box_cache_coalesced_with_proxy);
    if (have_lld)
        tcase_add_test(tc, test_macho_universal_slices);
    if (dual_localhost(env))
        tcase_add_test(tc, test_ssrf_pins_every_address);
    env_free(env);
    if (fakenet_env(env, "", NULL))
        tcase_add_test(tc, test_ssrf_default_redirects);
    else
        fprintf(stderr, "check_symbolicate: test_ssrf_default_redirects "
                        "skipped: the sanitizers' build can't preload "
                        "fakenet.so\n");
    env_free(env);
    if (have_gcab) {
        tcase_add_test(tc, test_box_cache_cab_twin);
        tcase_add_test(tc, test_http_source_through_pool);
    }
    suite_add_tcase(s, tc);
    rc = ckrun(s);
    /* Without gcab or LLVM their cases are left out (needtool() said so)
     * and the others count, as in check_unwind_pe: a whole-suite 77 would
     * hide that they ran. */
    return rc;
}
