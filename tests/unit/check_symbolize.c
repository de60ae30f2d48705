/* SPDX-License-Identifier: MIT */
/*
 * Tests of the symsrvd-symbolize tool, run as a program: its plain output
 * against llvm-symbolizer-14's (unknown and unreadable addresses, number
 * syntax, whole inline chains of macos/crash.inlines.sym against the dSYM
 * in GNU style), and its own modes (--no-inlines, --json through jansson,
 * --save-table round trip, --ident, errors).  Skips (77) without
 * llvm-symbolizer-14.
 */
#include "symsrvd_config.h"

#include "needtool.h"
#include "symtest.h"

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* __TEXT vmaddr of the dSYM (llvm-readobj-14 --macho-segment) */
#define DSYM_TEXT_VMADDR 0x100000000ull

static char tmpdir[64];

static void setup(void)
{
    symtest_tmpdir(tmpdir, sizeof(tmpdir), "check_symbolize");
}

static void teardown(void)
{
    symtest_rmdir(tmpdir);
}

/* Run the shell command CMD with INPUT on stdin; returns its stdout (new
 * string) and its exit status in *STATUS. */
static char *run(const char *cmd, const char *input, int *status)
{
    char in[128], *full, *out = NULL;
    size_t cap = 0, len = 0;
    FILE *fp, *p;
    int st;

    snprintf(in, sizeof(in), "%s/stdin", tmpdir);
    fp = fopen(in, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(input ? input : "", fp);
    fclose(fp);
    ck_assert_int_ge(asprintf(&full, "%s < %s 2>/dev/null", cmd, in), 0);
    p = popen(full, "r");
    ck_assert_ptr_nonnull(p);
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            out = realloc(out, cap);
            ck_assert_ptr_nonnull(out);
        }
        size_t n = fread(out + len, 1, 4096, p);

        if (n == 0)
            break;
        len += n;
    }
    out[len] = '\0';
    st = pclose(p);
    if (status)
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    free(full);
    return out;
}

static char *ours(const char *opts, const char *rel, const char *input)
{
    char *obj = symtest_data(rel), *cmd, *out;
    int st;

    ck_assert_int_ge(
        asprintf(&cmd, "'%s' %s --obj='%s'", symtest_tool(), opts, obj), 0);
    out = run(cmd, input, &st);
    ck_assert_int_eq(st, 0);
    free(cmd);
    free(obj);
    return out;
}

static char *llvm(const char *opts, const char *rel, const char *input)
{
    char *obj = symtest_data(rel), *cmd, *out;

    ck_assert_int_ge(
        asprintf(&cmd, "llvm-symbolizer-14 %s --obj='%s'", opts, obj), 0);
    out = run(cmd, input, NULL);
    free(cmd);
    free(obj);
    return out;
}

/* Unknown addresses, unreadable lines and number syntax (0x, 0X, octal,
 * decimal) print exactly what llvm-symbolizer prints.  All of them lie
 * below the first symbol of linux/crash.sym and below the dSYM's __TEXT. */
START_TEST(test_symbolize_plain_format_matches_llvm)
{
    static const char input[] = "0x0\nfoo\n\n0X1\n017\n3\n 0x10 \n";
    char *a = ours("", "breakpad/linux/crash.sym", input);
    char *b = llvm("", "breakpad/macos/crash.dsym-dwarf", input);

    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    a = ours("--output-style=GNU", "breakpad/linux/crash.sym", input);
    b = llvm("--output-style=GNU", "breakpad/macos/crash.dsym-dwarf", input);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

/* Every 7th byte of every FUNC as ADDR (for us) and vmaddr + ADDR (for
 * the dSYM), one per line. */
static void sample_addresses(char **rel_in, char **abs_in)
{
    char *sym = symtest_data("breakpad/macos/crash.inlines.sym");
    FILE *fp = fopen(sym, "r");
    char line[4096];
    size_t rl = 0, al = 0, cap = 1 << 20;

    *rel_in = malloc(cap);
    *abs_in = malloc(cap);
    ck_assert(fp && *rel_in && *abs_in);
    while (fgets(line, sizeof(line), fp)) {
        unsigned long long a, s;

        if (sscanf(line, "FUNC %llx %llx", &a, &s) != 2)
            continue;
        for (unsigned long long x = a; x < a + s && al + 64 < cap; x += 7) {
            rl += (size_t)sprintf(*rel_in + rl, "0x%llx\n", x);
            al +=
                (size_t)sprintf(*abs_in + al, "0x%llx\n", x + DSYM_TEXT_VMADDR);
        }
    }
    fclose(fp);
    free(sym);
}

/* "/a/b/../c" -> "/a/c": dump_syms resolved what the DWARF keeps. */
static void resolve_dotdot(char *s)
{
    char *p;

    while ((p = strstr(s, "/../")) != NULL) {
        char *q = p;

        while (q > s && q[-1] != '/')
            q--;
        if (q == s)
            break;
        memmove(q - 1, p + 3, strlen(p + 3) + 1);
    }
}

/* Equal, or B is "<return type> A": dump_syms drops the return type of
 * template functions that the DWARF name keeps. */
static bool name_agrees(const char *a, const char *b)
{
    size_t al = strlen(a), bl = strlen(b);

    if (al == bl)
        return strcmp(a, b) == 0;
    return bl > al && b[bl - al - 1] == ' ' && strcmp(b + bl - al, a) == 0;
}

/* Strip what llvm-symbolizer adds that dump_syms never writes. */
static void llvm_fixup(char *line)
{
    char *fix = strstr(line, " (discriminator ");

    if (fix != NULL)
        *fix = '\0';
    resolve_dotdot(line);
}

/* GNU style: a function line, then its file:line.  Every location must
 * be identical, every name too but for template return types; dump_syms
 * also spells parameter packs its own way ("f<int, >(int, &&)"), so a
 * few names may differ otherwise: counted, and bounded to 1 %.  The
 * names are compared, normalised, in check_breakpad_oracle. */
/* Run 0 with --inlines (whole chains), run 1 with --no-inlines (one
 * frame, named in GNU style after the innermost function). */
START_TEST(test_symbolize_gnu_matches_llvm)
{
    const char *opts = _i == 0 ? "--inlines --output-style=GNU"
                               : "--no-inlines --output-style=GNU";
    char *rel_in, *abs_in, *a, *b, *pa, *pb;
    size_t lines = 0, same = 0, respelled = 0;

    sample_addresses(&rel_in, &abs_in);
    a = ours(opts, "breakpad/macos/crash.inlines.sym", rel_in);
    b = llvm(opts, "breakpad/macos/crash.dsym-dwarf", abs_in);
    pa = a;
    pb = b;
    while (*pa && *pb) {
        char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
        bool equal;

        ck_assert(ea && eb);
        *ea = '\0';
        *eb = '\0';
        llvm_fixup(pb);
        equal = strcmp(pa, pb) == 0;
        ck_assert_msg(equal || lines % 2 == 0, "location %zu: %s vs %s",
                      lines / 2, pa, pb);
        same += equal;
        respelled += lines % 2 == 0 && !name_agrees(pa, pb);
        lines++;
        pa = ea + 1;
        pb = eb + 1;
    }
    ck_assert(*pa == '\0' && *pb == '\0');
    printf("%s vs llvm-symbolizer: %zu/%zu lines identical, all locations; "
           "%zu names differ beyond a return type\n",
           opts, same, lines, respelled);
    ck_assert_uint_lt(respelled * 100, lines);
    free(a);
    free(b);
    free(rel_in);
    free(abs_in);
}
END_TEST

/* The dSYM bundle given as --obj (its DWARF file is read) answers as
 * llvm-symbolizer does from the same DWARF, line for line in GNU style
 * (no columns), discriminators aside; --ident reports the UUID. */
START_TEST(test_symbolize_dsym_bundle)
{
    char *rel_in, *abs_in, *a, *b, *pa, *pb;
    size_t lines = 0, same = 0;

    sample_addresses(&rel_in, &abs_in);
    a = ours("--inlines --output-style=GNU --no-demangle", "macho/crash.dSYM",
             abs_in);
    b = llvm("--inlines --output-style=GNU --no-demangle",
             "breakpad/macos/crash.dsym-dwarf", abs_in);
    for (pa = a, pb = b; *pa && *pb; lines++) {
        char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
        char *fix;

        ck_assert(ea && eb);
        *ea = '\0';
        *eb = '\0';
        fix = strstr(pb, " (discriminator ");
        if (fix != NULL)
            *fix = '\0';
        same += strcmp(pa, pb) == 0;
        pa = ea + 1;
        pb = eb + 1;
    }
    ck_assert(*pa == '\0' && *pb == '\0');
    printf("dSYM bundle vs llvm-symbolizer: %zu/%zu lines identical\n", same,
           lines);
    ck_assert_uint_eq(same, lines);
    free(a);
    free(b);
    a = ours("--ident", "macho/crash.dSYM", "");
    ck_assert_ptr_nonnull(
        strstr(a, "kind macho\narch x86_64\n"
                  "debug_id 67E9247C814E392BA027DBDE6748FCBF0\n"));
    free(a);
    free(rel_in);
    free(abs_in);
}
END_TEST

/* Without --inlines: one frame, the outer function at the innermost
 * location, as llvm-symbolizer --no-inlines prints it. */
START_TEST(test_symbolize_no_inlines_shape)
{
    char *inl =
        ours("--inlines", "breakpad/macos/crash.inlines.sym", "0xd70\n");
    char *one = ours("", "breakpad/macos/crash.inlines.sym", "0xd70\n");
    char *first_loc = strchr(inl, '\n') + 1, *outer;
    char want[4096];
    size_t n = 0;

    for (char *p = inl; *p; p++)
        n += *p == '\n';
    ck_assert_uint_gt(n, 3);       /* at least two frames */
    outer = inl + strlen(inl) - 2; /* skip the final blank line */
    while (outer > inl && outer[-1] != '\n')
        outer--; /* the outer frame's location line */
    outer--;
    while (outer > inl && outer[-1] != '\n')
        outer--; /* the outer frame's name line */
    snprintf(want, sizeof(want), "%.*s%.*s\n",
             (int)(strchr(outer, '\n') - outer + 1), outer,
             (int)(strchr(first_loc, '\n') - first_loc + 1), first_loc);
    ck_assert_str_eq(one, want);
    free(inl);
    free(one);
}
END_TEST

START_TEST(test_symbolize_json_frames)
{
    char *out =
        ours("--json --inlines", "breakpad/macos/crash.inlines.sym", "0xde8\n");
    json_error_t err;
    json_t *o = json_loads(out, JSON_DISABLE_EOF_CHECK, &err), *frames, *f;

    ck_assert_msg(o != NULL, "%s", err.text);
    ck_assert_str_eq(json_string_value(json_object_get(o, "address")), "0xde8");
    frames = json_object_get(o, "frames");
    ck_assert_uint_ge(json_array_size(frames), 2);
    f = json_array_get(frames, json_array_size(frames) - 1);
    ck_assert_str_eq(json_string_value(json_object_get(f, "function")),
                     "google_breakpad::MinidumpFileWriter::~"
                     "MinidumpFileWriter()");
    ck_assert_str_eq(json_string_value(json_object_get(f, "symbol")),
                     json_string_value(json_object_get(f, "function")));
    ck_assert_str_eq(json_string_value(json_object_get(f, "filename")),
                     "minidump_file_writer.cc");
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(f, "abs_path")),
               "/src/client/minidump_file_writer.cc"));
    ck_assert(json_is_integer(json_object_get(f, "lineno")));
    ck_assert_ptr_nonnull(json_object_get(f, "sym_addr"));
    json_decref(o);
    free(out);
    out = ours("--json", "breakpad/linux/crash.sym", "0x0\n");
    o = json_loads(out, 0, &err);
    ck_assert_msg(o != NULL, "%s", err.text);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "frames")), 0);
    json_decref(o);
    free(out);
}
END_TEST

/* A saved table answers exactly like the file it was built from. */
START_TEST(test_symbolize_saved_table)
{
    char *rel_in, *abs_in, *cmd, *a, *b, table[128];
    int st;

    snprintf(table, sizeof(table), "%s/crash.symtab", tmpdir);
    sample_addresses(&rel_in, &abs_in);
    ck_assert_int_ge(asprintf(&cmd,
                              "'%s' --inlines --save-table='%s' "
                              "--obj='%s/tests/data/breakpad/macos/"
                              "crash.inlines.sym'",
                              symtest_tool(), table, getenv("abs_top_srcdir")),
                     0);
    a = run(cmd, rel_in, &st);
    ck_assert_int_eq(st, 0);
    free(cmd);
    ck_assert_int_ge(
        asprintf(&cmd, "'%s' --inlines --obj='%s'", symtest_tool(), table), 0);
    b = run(cmd, rel_in, &st);
    ck_assert_int_eq(st, 0);
    ck_assert_str_eq(a, b);
    free(cmd);
    /* A damaged table is refused, not read. */
    ck_assert_int_ge(asprintf(&cmd,
                              "printf 'X' | dd of='%s' bs=1 seek=200 "
                              "conv=notrunc 2>/dev/null && '%s' --obj='%s' 0",
                              table, symtest_tool(), table),
                     0);
    free(run(cmd, "", &st));
    ck_assert_int_eq(st, 1);
    free(cmd);
    free(a);
    free(b);
    free(rel_in);
    free(abs_in);
}
END_TEST

START_TEST(test_symbolize_ident_and_errors)
{
    char *out = ours("--ident", "breakpad/windows/crash.sym", "");
    char *cmd;
    int st;

    ck_assert_str_eq(out, "kind breakpad\narch x86\n"
                          "debug_id 3249D99D0C4049318610F4E4FB0B69361\n"
                          "code_id 5AB380779000\ndebug_file crash.pdb\n"
                          "code_file crash.exe\nimage_base 0x0\n");
    free(out);
    ck_assert_int_ge(
        asprintf(&cmd, "'%s' --obj=/nonexistent 0", symtest_tool()), 0);
    free(run(cmd, "", &st));
    ck_assert_int_eq(st, 1);
    free(cmd);
    ck_assert_int_ge(asprintf(&cmd, "'%s' 0x1", symtest_tool()), 0);
    free(run(cmd, "", &st));
    ck_assert_int_eq(st, 2); /* usage: no --obj */
    free(cmd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("symbolize");
    TCase *tc = tcase_create("tool");

    if (!needtool("check_symbolize", "llvm-symbolizer-14", NULL))
        return 77;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_symbolize_plain_format_matches_llvm);
    tcase_add_loop_test(tc, test_symbolize_gnu_matches_llvm, 0, 2);
    tcase_add_test(tc, test_symbolize_dsym_bundle);
    tcase_add_test(tc, test_symbolize_no_inlines_shape);
    tcase_add_test(tc, test_symbolize_json_frames);
    tcase_add_test(tc, test_symbolize_saved_table);
    tcase_add_test(tc, test_symbolize_ident_and_errors);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
