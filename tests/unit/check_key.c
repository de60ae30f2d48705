/* SPDX-License-Identifier: MIT */
/*
 * Tests of the symsrvd-key tool, run as a program, against other tools'
 * reading of the same files: PDB keys against llvm-pdbutil-14 dump
 * --summary (GUID, age), PE keys against llvm-readobj-14 --file-headers
 * (TimeDateStamp, SizeOfImage) and the PDB its --coff-debug-directory
 * names, ELF build-id keys against readelf -n, Breakpad keys against the
 * MODULE line; then several files, the file-name prefix and errors.
 * Skips (77) without llvm-pdbutil-14, llvm-readobj-14 or readelf.
 */
#include "symsrvd_config.h"

#include "needtool.h"
#include "symtest.h"
#include "xalloc.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The GUID and age of tests/data/pdb/crash.pdb (llvm-pdbutil-14). */
#define CRASH_ID "3249D99D0C4049318610F4E4FB0B69361"

static char tmpdir[64];

static void setup(void)
{
    symtest_tmpdir(tmpdir, sizeof(tmpdir), "check_key");
}

static void teardown(void)
{
    symtest_rmdir(tmpdir);
}

/* The stdout of the shell command CMD (new string); its exit status in
 * *STATUS when not NULL, else it must exit 0. */
static char *capture(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    char *out = xmalloc(65536);
    size_t len;
    int st;

    ck_assert_ptr_nonnull(p);
    len = fread(out, 1, 65535, p);
    out[len] = '\0';
    st = pclose(p);
    st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (status)
        *status = st;
    else
        ck_assert_msg(st == 0, "%s exited %d", cmd, st);
    return out;
}

/* symsrvd-key with the arguments FMT formats: its stdout (new string),
 * exit status in *STATUS; its stderr is left for key_err(). */
static char *key_run(int *status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *key_run(int *status, const char *fmt, ...)
{
    const char *top = getenv("abs_top_builddir");
    char *args, *cmd, *out;
    va_list ap;

    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
    va_end(ap);
    cmd = xasprintf("'%s/tools/symsrvd-key' %s 2>'%s/err'", top ? top : "..",
                    args, tmpdir);
    out = capture(cmd, status);
    free(cmd);
    free(args);
    return out;
}

/* What the last key_run() wrote to stderr (new string). */
static char *key_err(void)
{
    char *cmd = xasprintf("cat '%s/err'", tmpdir), *err = capture(cmd, NULL);

    free(cmd);
    return err;
}

/* TMPDIR/NAME has no key: exit 1, nothing printed, and stderr says
 * "TMPDIR/NAME: WHY". */
static void expect_no_key(const char *name, const char *why)
{
    char *want = xasprintf("%s/%s: %s", tmpdir, name, why), *err;
    int st;
    char *out = key_run(&st, "'%s/%s'", tmpdir, name);

    ck_assert_int_eq(st, 1);
    ck_assert_str_eq(out, "");
    err = key_err();
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    free(err);
    free(out);
    free(want);
}

/* The one key symsrvd-key prints for tests/data/REL, without "\n". */
static char *key_of(const char *rel)
{
    char *path = symtest_data(rel);
    int st;
    char *out = key_run(&st, "'%s'", path);

    ck_assert_msg(st == 0, "symsrvd-key %s exited %d", rel, st);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1,
                  "not one line: %s", out);
    out[strlen(out) - 1] = '\0';
    free(path);
    return out;
}

/* The text after the first "KEY" in OUT, up to the end of its line. */
static void field(const char *out, const char *key, char *buf, size_t len)
{
    const char *p = strstr(out, key);

    ck_assert_msg(p != NULL, "no %s in oracle output", key);
    p += strlen(key);
    snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
}

static void expect_key(const char *rel, const char *want)
{
    char *got = key_of(rel);

    ck_assert_str_eq(got, want);
    free(got);
}

/* tests/data/pdb/NAME.pdb has the key NAME.pdb/ID/NAME.pdb. */
static void expect_pdb_key(const char *name, const char *id)
{
    char *rel = xasprintf("pdb/%s.pdb", name);
    char *want = xasprintf("%s.pdb/%s/%s.pdb", name, id, name);

    expect_key(rel, want);
    free(want);
    free(rel);
}

/* "{3249D99D-0C40-...}" and age "1" -> "3249D99D0C40...1". */
static void pdb_id(const char *guid, unsigned long age, char *buf, size_t len)
{
    size_t n = 0;

    for (const char *p = guid; *p && n + 1 < len; p++)
        if (*p != '{' && *p != '}' && *p != '-')
            buf[n++] = *p;
    snprintf(buf + n, len - n, "%lX", age);
}

static const char *const win_fixtures[] = {"crash", "CrashWithException"};

START_TEST(test_key_pdb_matches_pdbutil)
{
    for (size_t i = 0; i < 2; i++) {
        const char *name = win_fixtures[i];
        char *path = symtest_data("pdb"), *cmd, *sum;
        char guid[64], age[16], id[48];

        cmd = xasprintf("llvm-pdbutil-14 dump --summary '%s/%s.pdb'", path,
                        name);
        sum = capture(cmd, NULL);
        field(sum, "GUID: ", guid, sizeof(guid));
        field(sum, "Age: ", age, sizeof(age));
        pdb_id(guid, strtoul(age, NULL, 10), id, sizeof(id));
        expect_pdb_key(name, id);
        free(sum);
        free(cmd);
        free(path);
    }
}
END_TEST

/* The PE's own key from its headers, and the key of the PDB its CodeView
 * record names, which must be the key symsrvd-key gives that PDB. */
START_TEST(test_key_pe_matches_readobj)
{
    for (size_t i = 0; i < 2; i++) {
        const char *name = win_fixtures[i];
        char *path = symtest_data("pdb"), *cmd, *hdr, *want, *rel;
        char ts[64], size[32], bytes[64], age[16], id[48];
        unsigned g[16];

        cmd = xasprintf("llvm-readobj-14 --file-headers --coff-debug-directory"
                        " '%s/%s.exe'",
                        path, name);
        hdr = capture(cmd, NULL);
        field(hdr, "TimeDateStamp: ", ts, sizeof(ts));
        field(hdr, "SizeOfImage: ", size, sizeof(size));
        want = xasprintf("%s.exe/%08lX%lX/%s.exe", name,
                         strtoul(strstr(ts, "(0x") + 1, NULL, 16),
                         strtoul(size, NULL, 10), name);
        rel = xasprintf("pdb/%s.exe", name);
        expect_key(rel, want);
        free(want);
        free(rel);
        /* CodeView GUID bytes in file order: Data1..3 little-endian. */
        field(hdr, "PDBGUID: (", bytes, sizeof(bytes));
        field(hdr, "PDBAge: ", age, sizeof(age));
        ck_assert_int_eq(sscanf(bytes, "%x %x %x %x %x %x %x %x %x %x %x %x "
                                       "%x %x %x %x",
                                &g[0], &g[1], &g[2], &g[3], &g[4], &g[5], &g[6],
                                &g[7], &g[8], &g[9], &g[10], &g[11], &g[12],
                                &g[13], &g[14], &g[15]),
                         16);
        snprintf(id, sizeof(id),
                 "%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X%02X"
                 "%02X%lX",
                 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9],
                 g[10], g[11], g[12], g[13], g[14], g[15],
                 strtoul(age, NULL, 10));
        expect_pdb_key(name, id);
        free(hdr);
        free(cmd);
        free(path);
    }
}
END_TEST

/* The build id readelf -n reads from PATH. */
static void readelf_build_id(const char *path, char *buf, size_t len)
{
    char *cmd = xasprintf("readelf -n '%s' 2>/dev/null", path);
    char *out = capture(cmd, NULL);

    field(out, "Build ID: ", buf, len);
    free(out);
    free(cmd);
}

START_TEST(test_key_elf_matches_readelf)
{
    char *exe = symtest_data("elf/crash");
    char *dbg = symtest_data("elf/crash.debug");
    char id[128], *out, *want;
    int st;

    readelf_build_id(exe, id, sizeof(id));
    out = key_run(&st, "--no-filename '%s' '%s'", exe, dbg);
    ck_assert_int_eq(st, 0);
    /* The stripped program is only an executable, its debug file only
     * debuginfo, as a debuginfod server would classify them. */
    want = xasprintf("buildid/%s/executable\n"
                     "crash/elf-buildid-%s/crash\n"
                     "buildid/%s/debuginfo\n"
                     "_.debug/elf-buildid-sym-%s/_.debug\n",
                     id, id, id, id);
    ck_assert_str_eq(out, want);
    readelf_build_id(dbg, id + 64, sizeof(id) - 64);
    ck_assert_str_eq(id, id + 64);
    free(want);
    free(out);
    free(dbg);
    free(exe);
}
END_TEST

/* A program built here with -g and not stripped is both; one without a
 * build id has no key. */
START_TEST(test_key_elf_unstripped_and_no_build_id)
{
    char *cmd, *out, *want, *prog, id[64];
    int st;

    if (!needtool("check_key", "gcc", NULL))
        return;
    cmd = xasprintf("cd '%s' && echo 'int main(void){return 0;}' > p.c && "
                    "gcc -g -Wl,--build-id -o prog p.c && "
                    "gcc -g -Wl,--build-id=none -o noid p.c",
                    tmpdir);
    free(capture(cmd, NULL));
    prog = xasprintf("%s/prog", tmpdir);
    readelf_build_id(prog, id, sizeof(id));
    out = key_run(&st, "'%s'", prog);
    ck_assert_int_eq(st, 0);
    want = xasprintf("buildid/%s/debuginfo\nbuildid/%s/executable\n"
                     "_.debug/elf-buildid-sym-%s/_.debug\n"
                     "prog/elf-buildid-%s/prog\n",
                     id, id, id, id);
    ck_assert_str_eq(out, want);
    free(want);
    free(out);
    expect_no_key("noid", "no GNU build id");
    free(prog);
    free(cmd);
}
END_TEST

/* Breakpad: <debug_file>/<id>/<debug_file less .pdb>.sym, from the MODULE
 * line, which for the Windows fixture is also the PDB's key id. */
START_TEST(test_key_breakpad_module_line)
{
    static const char *const syms[] = {
        "breakpad/xul.sym", "breakpad/linux/crash.sym",
        "breakpad/macos/crash.sym", "breakpad/windows/crash.sym",
        "breakpad/windows/CrashWithException.pdb.sym"};
    char *pdb;

    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        char *path = symtest_data(syms[i]), *want;
        char line[512], id[64], name[256], stem[256];
        FILE *fp = fopen(path, "r");

        ck_assert_ptr_nonnull(fp);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
        fclose(fp);
        ck_assert_int_eq(sscanf(line, "MODULE %*s %*s %63s %255s", id, name),
                         2);
        snprintf(stem, sizeof(stem), "%s", name);
        if (strlen(stem) > 4 && strcmp(stem + strlen(stem) - 4, ".pdb") == 0)
            stem[strlen(stem) - 4] = '\0';
        want = xasprintf("%s/%s/%s.sym", name, id, stem);
        expect_key(syms[i], want);
        free(want);
        free(path);
    }
    pdb = key_of("pdb/crash.pdb");
    expect_key("breakpad/windows/crash.sym",
               "crash.pdb/" CRASH_ID "/crash.sym");
    ck_assert_str_eq(pdb, "crash.pdb/" CRASH_ID "/crash.pdb");
    free(pdb);
}
END_TEST

/* A file without a key is named on stderr with the reason, exit 1, and
 * every other file is still printed, prefixed when there are several. */
START_TEST(test_key_errors_and_names)
{
    char *pdb = symtest_data("pdb/crash.pdb");
    char *readme = symtest_data("README.md");
    char *out, *want, *err;
    int st;

    out = key_run(&st, "'%s' '%s' '%s/missing' '%s'", readme, pdb, tmpdir,
                  pdb);
    ck_assert_int_eq(st, 1);
    want = xasprintf("%s: crash.pdb/" CRASH_ID "/crash.pdb\n"
                     "%s: crash.pdb/" CRASH_ID "/crash.pdb\n",
                     pdb, pdb);
    ck_assert_str_eq(out, want);
    free(want);
    free(out);
    err = key_err();
    want = xasprintf("symsrvd-key: %s: unknown file format\n"
                     "symsrvd-key: %s/missing: No such file or directory\n",
                     readme, tmpdir);
    ck_assert_str_eq(err, want);
    free(err);
    free(want);
    /* A MODULE line naming a path gives no key that could escape. */
    out = xasprintf("cd '%s' && printf 'MODULE Linux x86_64 %s ../x.so\\n' "
                    "> evil.sym",
                    tmpdir, CRASH_ID);
    free(capture(out, NULL));
    free(out);
    expect_no_key("evil.sym", "debug file name is not a file name: ../x.so");
    /* -H names the one file; --no-filename names none of several. */
    out = key_run(&st, "-H '%s'", pdb);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_eq(strstr(out, pdb), out);
    free(out);
    out = key_run(&st, "--no-filename '%s' '%s'", pdb, pdb);
    ck_assert_int_eq(st, 0);
    ck_assert_ptr_null(strstr(out, pdb));
    ck_assert_ptr_nonnull(strstr(out, "\ncrash.pdb/"));
    free(out);
    free(readme);
    free(pdb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tcase_create("key");

    if (!needtool("check_key", "llvm-pdbutil-14", "llvm-readobj-14",
                  "readelf", NULL))
        return 77;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_key_pdb_matches_pdbutil);
    tcase_add_test(tc, test_key_pe_matches_readobj);
    tcase_add_test(tc, test_key_elf_matches_readelf);
    tcase_add_test(tc, test_key_elf_unstripped_and_no_build_id);
    tcase_add_test(tc, test_key_breakpad_module_line);
    tcase_add_test(tc, test_key_errors_and_names);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
