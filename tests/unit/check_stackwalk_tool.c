/* SPDX-License-Identifier: MIT */
/*
 * symsrvd-stackwalk end to end on windows.dmp with crash.sym laid out as
 * Symbolicator's store keeps it: the three output formats.
 *
 * Expected lines come from the dump's bytes and the .sym records (see
 * check_stackwalk.c for the frame derivations), printed in the layout of
 * Breakpad's stackwalk_common.cc (" %5s = 0x%08x" registers, "%2d  "
 * frame numbers, "0x%08x - 0x%08x  file  version" modules).  The crash
 * address 0x45 is the exception record's second parameter
 * (ExceptionInformation[1]; [0] = 1 says "write"); crash.exe spans
 * 0x2a0000 + 0x9000 in the module list.
 */
#include "symsrvd_config.h"

#include "symtest.h"
#include "swtest.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WIN_DEBUG_ID "3249D99D0C4049318610F4E4FB0B69361"

static char dir[256];

static void setup(void)
{
    symtest_tmpdir(dir, sizeof(dir), "check_stackwalk_tool");
    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.sym");
}

static void teardown(void)
{
    symtest_rmdir(dir);
}

static const char *tool(void)
{
    static char path[4096];
    const char *top = getenv("abs_top_builddir");

    snprintf(path, sizeof(path), "%s/tools/symsrvd-stackwalk", top ? top : "..");
    return path;
}

/* The tool's stdout for FLAGS (a new string) and its exit status. */
static char *run_tool(const char *flags, int *status)
{
    char cmd[8192], *dump = symtest_data("minidump/windows.dmp");
    char *out = NULL;
    size_t len = 0;
    FILE *fp, *mem = open_memstream(&out, &len);
    int c;

    snprintf(cmd, sizeof(cmd), "'%s' %s --symbols '%s' '%s'", tool(), flags,
             dir, dump);
    fp = popen(cmd, "r");
    ck_assert_ptr_nonnull(fp);
    while ((c = fgetc(fp)) != EOF)
        fputc(c, mem);
    *status = pclose(fp);
    fclose(mem);
    free(dump);
    return out;
}

/* LINE (without its newline) is one of OUT's lines. */
static void expect_line(const char *out, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (len == n && memcmp(p, line, n) == 0)
            return;
        p = nl ? nl + 1 : NULL;
    }
    ck_abort_msg("missing line \"%s\"", line);
}

START_TEST(test_stackwalk_tool_text)
{
    static const char *const lines[] = {
        "Operating system: Windows NT",
        "CPU: x86",
        "     2 CPUs",
        "Crash reason:  EXCEPTION_ACCESS_VIOLATION_WRITE",
        "Crash address: 0x45",
        "Thread 0 (crashed)",
        " 0  crash.exe!main [main.cpp : 35 + 0x0]",
        "    eip = 0x002a2a3d   esp = 0x010ff644   ebp = 0x010ff670   ebx = "
        "0x00fe5000",
        "    Found by: given as instruction pointer in context",
        " 1  crash.exe!__scrt_common_main_seh [exe_common.inl : 283 + 0x1c]",
        "    eip = 0x002a2d97   esp = 0x010ff744   ebp = 0x010ff784   ebx = "
        "0x00fe5000",
        "    Found by: call frame info",
        " 2  kernel32.dll + 0x162c4",
        " 3  ntdll.dll + 0x60f79",
        "    Found by: previous frame's frame pointer",
        " 4  ntdll.dll + 0x60f44",
        "Thread 1",
        "Loaded modules:",
        "0x002a0000 - 0x002a8fff  crash.exe  ???  (main)",
    };
    int status;
    char *out = run_tool("", &status), *next;

    ck_assert_int_eq(status, 0);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        expect_line(out, lines[i]);
    /* the crashed thread comes first and ends at frame 4 */
    next = strstr(out, "\nThread 1\n");
    ck_assert_ptr_nonnull(next);
    *next = '\0';
    ck_assert_ptr_nonnull(strstr(out, "Thread 0 (crashed)"));
    ck_assert_ptr_null(strstr(out, "\n 5  "));
    free(out);
}
END_TEST

START_TEST(test_stackwalk_tool_machine)
{
    static const char *const lines[] = {
        "CPU|x86|GenuineIntel family 6 model 63 stepping 2|2",
        "GPU|||",
        "Crash|EXCEPTION_ACCESS_VIOLATION_WRITE|0x45|0",
        "Module|crash.exe||crash.pdb|" WIN_DEBUG_ID "|0x002a0000|0x002a8fff|1",
        "0|0|crash.exe|main|c:\\projects\\breakpad-tools\\windows\\crash\\"
        "main.cpp|35|0x0",
        "0|1|crash.exe|__scrt_common_main_seh|f:\\dd\\vctools\\crt\\"
        "vcstartup\\src\\startup\\exe_common.inl|283|0x1c",
        "0|2|kernel32.dll||||0x162c4",
        "0|3|ntdll.dll||||0x60f79",
        "0|4|ntdll.dll||||0x60f44",
    };
    int status;
    char *out = run_tool("-m", &status);

    ck_assert_int_eq(status, 0);
    ck_assert_ptr_nonnull(strstr(out, "OS|Windows NT|"));
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        expect_line(out, lines[i]);
    ck_assert_ptr_null(strstr(out, "\n0|5|"));
    free(out);
}
END_TEST

static json_t *crashed_frames(json_t *root)
{
    json_t *traces = json_object_get(root, "stacktraces"), *t;
    size_t i;

    json_array_foreach(traces, i, t)
    {
        if (json_is_true(json_object_get(t, "is_requesting")))
            return json_object_get(t, "frames");
    }
    ck_abort_msg("no requesting thread");
    return NULL;
}

static const char *str_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_string(v), "no string %s", key);
    return json_string_value(v);
}

START_TEST(test_stackwalk_tool_json)
{
    int status;
    char *out = run_tool("--json", &status);
    json_error_t err;
    json_t *root = json_loads(out, 0, &err), *frames, *f, *mods;

    ck_assert_int_eq(status, 0);
    ck_assert_msg(root != NULL, "%s", err.text);
    ck_assert(json_is_true(json_object_get(root, "crashed")));
    ck_assert_str_eq(str_at(root, "crash_reason"),
                     "EXCEPTION_ACCESS_VIOLATION_WRITE");
    ck_assert_str_eq(str_at(root, "crash_address"), "0x45");
    ck_assert_str_eq(str_at(root, "arch"), "x86");
    ck_assert_str_eq(str_at(json_object_get(root, "os"), "name"), "Windows NT");
    frames = crashed_frames(root);
    ck_assert_uint_eq(json_array_size(frames), 5);
    f = json_array_get(frames, 0);
    ck_assert_str_eq(str_at(f, "instruction_addr"), "0x2a2a3d");
    ck_assert_str_eq(str_at(f, "function"), "main");
    ck_assert_str_eq(str_at(f, "filename"), "main.cpp");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "lineno")), 35);
    ck_assert_str_eq(str_at(f, "trust"), "context");
    ck_assert_str_eq(str_at(f, "sym_addr"), "0x2a2910");
    f = json_array_get(frames, 1);
    ck_assert_str_eq(str_at(f, "instruction_addr"), "0x2a2d97");
    ck_assert_str_eq(str_at(f, "trust"), "cfi");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "lineno")), 283);
    f = json_array_get(frames, 3);
    ck_assert_str_eq(str_at(f, "trust"), "fp");
    ck_assert_str_eq(str_at(f, "status"), "missing");
    mods = json_object_get(root, "modules");
    ck_assert_str_eq(str_at(json_array_get(mods, 0), "debug_status"), "found");
    ck_assert_str_eq(str_at(json_array_get(mods, 0), "debug_id"), WIN_DEBUG_ID);
    ck_assert_str_eq(str_at(json_array_get(mods, 0), "image_addr"), "0x2a0000");
    ck_assert_str_eq(str_at(json_array_get(mods, 1), "code_file"),
                     "C:\\Windows\\System32\\ntdll.dll");
    ck_assert_str_eq(str_at(json_array_get(mods, 1), "debug_status"),
                     "missing");
    json_decref(root);
    free(out);
}
END_TEST

START_TEST(test_stackwalk_tool_usage)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "'%s' >/dev/null 2>&1", tool());
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof(cmd), "'%s' /nonexistent.dmp >/dev/null 2>&1", tool());
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
}
END_TEST

/* With the PDB, frame 0 expands into crash and start inlined in main, and
 * frame 1 into invoke_main inlined in __scrt_common_main_seh (see
 * check_stackwalk.c): Symbolicator gives the expanded frames their
 * physical frame's original_index and trust. */
START_TEST(test_stackwalk_tool_json_inlines)
{
    static const struct {
        const char *function;
        int index;
        const char *trust;
    } want[] = {
        {"`anonymous namespace'::crash", 0, "context"},
        {"`anonymous namespace'::start", 0, "context"},
        {"main", 0, "context"},
        {"invoke_main", 1, "cfi"},
        {"__scrt_common_main_seh", 1, "cfi"},
    };
    char path[512];
    int status;
    char *out;
    json_t *root, *frames;

    snprintf(path, sizeof(path), "%s/crash.pdb/" WIN_DEBUG_ID "/crash.pdb",
             dir);
    ck_assert_int_eq(unlink(path), 0);
    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.pdb");
    out = run_tool("--json", &status);
    ck_assert_int_eq(status, 0);
    root = json_loads(out, 0, NULL);
    ck_assert_ptr_nonnull(root);
    frames = crashed_frames(root);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_t *f = json_array_get(frames, i);

        ck_assert_str_eq(str_at(f, "function"), want[i].function);
        ck_assert_int_eq(json_integer_value(json_object_get(f, "original_index")),
                         want[i].index);
        ck_assert_str_eq(str_at(f, "trust"), want[i].trust);
    }
    json_decref(root);
    free(out);
}
END_TEST

static Suite *tool_suite(void)
{
    Suite *s = suite_create("stackwalk_tool");
    TCase *tc = tcase_create("formats");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stackwalk_tool_text);
    tcase_add_test(tc, test_stackwalk_tool_machine);
    tcase_add_test(tc, test_stackwalk_tool_json);
    tcase_add_test(tc, test_stackwalk_tool_json_inlines);
    tcase_add_test(tc, test_stackwalk_tool_usage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return symtest_run(tool_suite());
}
