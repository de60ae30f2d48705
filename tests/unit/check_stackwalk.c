/* SPDX-License-Identifier: MIT */
/*
 * Stack walker tests on the three fixture dumps (tests/data/minidump),
 * walked with and without symbols laid out the way symbol stores keep
 * them.
 *
 * HOW THE EXPECTED VALUES WERE FOUND (never from this walker's output):
 * a small Python reader of the dumps (stream directory, thread list,
 * exception context at the documented CONTEXT offsets, memory ranges)
 * printed each crashed thread's registers and every stack word pointing
 * into a module; the .sym files' FUNC/line/STACK records were looked up
 * and evaluated by hand (a Python postfix evaluator for STACK CFI, the
 * STACK WIN programs worked through on paper); names and lines were
 * cross-checked with llvm-symbolizer-14 (crash.exe + crash.pdb, and the
 * ELF crash.debug) and llvm-dwarfdump-14 --debug-line.  Each test says
 * which facts it rests on.
 */
#include "symsrvd_config.h"

#include "demangle/demangle.h"
#include "objfile/objfile.h"
#include "stackwalk/stackwalk.h"
#include "symdir/symdir.h"
#include "table/symtable.h"

#include "symtest.h"
#include "swtest.h"

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WIN_DEBUG_ID   "3249D99D0C4049318610F4E4FB0B69361"
#define LINUX_DEBUG_ID "C0BCC3F19827FE653058404B2831D9E60"
#define LINUX_BUILD_ID "f1c3bcc0279865fe3058404b2831d9e64135386c"
#define MAC_DEBUG_ID   "67E9247C814E392BA027DBDE6748FCBF0"

static char dir[256];

static void setup(void)
{
    symtest_tmpdir(dir, sizeof(dir), "check_stackwalk");
}

static void teardown(void)
{
    symtest_rmdir(dir);
}

/* Frame F is module!function at FILE:LINE (FILE compared by suffix, as
 * PDB and DWARF paths differ), found by TRUST. */
static void expect_frame(const struct stackwalk_frame *f, const char *module,
                         const char *function, const char *file, uint32_t line,
                         enum stackwalk_trust trust)
{
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(swtest_module(f), module);
    ck_assert_int_eq(f->trust, trust);
    if (function == NULL) {
        ck_assert_ptr_null(f->function);
        return;
    }
    ck_assert_ptr_nonnull(f->function);
    ck_assert_msg(strstr(f->function, function) != NULL, "%s is not %s",
                  f->function, function);
    if (file == NULL) {
        ck_assert_ptr_null(f->file);
        return;
    }
    ck_assert_ptr_nonnull(f->file);
    ck_assert_msg(strlen(f->file) >= strlen(file) &&
                      strcmp(f->file + strlen(f->file) - strlen(file), file) ==
                          0,
                  "%s is not %s", f->file, file);
    ck_assert_uint_eq(f->line, line);
}

/* --- windows.dmp (x86) ----------------------------------------------------
 * Exception context (CONTEXT_X86 at the exception stream's location):
 * eip 0x2a2a3d esp 0x10ff644 ebp 0x10ff670; crash.exe is loaded at
 * 0x2a0000, so frame 0 is RVA 0x2a3d: "FUNC 2910 15e 8 main" and line
 * "2a3d a 35 443" (main.cpp), offset 0.
 * main's "STACK WIN 4 2910 ... $T0 $ebp 204 + = $eip $T0 4 + ^ = $ebp $T0
 * ^ = $esp $T0 8 + =": T0 = 0x10ff73c, so eip = [0x10ff740] = 0x2a2d97,
 * ebp = [0x10ff73c] = 0x10ff784, esp = 0x10ff744.  RVA 0x2d96 is in
 * "FUNC 2c9e 177 0 __scrt_common_main_seh", line "2d7b 21 283 867"
 * (exe_common.inl).  Its STACK WIN ($T0 $ebp =, eip [T0+4], ebp [T0])
 * gives eip [0x10ff788] = 0x750662c4 (kernel32.dll, base 0x75050000),
 * ebp 0x10ff798, esp 0x10ff78c.  kernel32 has no symbols: the ebp chain
 * gives [0x10ff79c] = 0x771d0f79 (ntdll.dll, base 0x77170000), then
 * [0x10ff7e4] = 0x771d0f44, then [0x10ff7f4] = 0: the chain's end. */

static void expect_windows_tail(const struct stackwalk_thread *th, size_t first)
{
    const struct stackwalk_frame *f = swtest_phys(th, first);

    expect_frame(f, "kernel32.dll", NULL, NULL, 0, STACKWALK_TRUST_CFI);
    ck_assert_uint_eq(f->instruction, 0x750662c4);
    ck_assert_uint_eq(f->regs.r[UNWIND_X86_ESP], 0x10ff78c);
    ck_assert_uint_eq(f->regs.r[UNWIND_X86_EBP], 0x10ff798);
    f = swtest_phys(th, first + 1);
    expect_frame(f, "ntdll.dll", NULL, NULL, 0, STACKWALK_TRUST_FP);
    ck_assert_uint_eq(f->instruction, 0x771d0f79);
    ck_assert_uint_eq(f->regs.r[UNWIND_X86_ESP], 0x10ff7a0);
    f = swtest_phys(th, first + 2);
    expect_frame(f, "ntdll.dll", NULL, NULL, 0, STACKWALK_TRUST_FP);
    ck_assert_uint_eq(f->instruction, 0x771d0f44);
    ck_assert_uint_eq(swtest_phys_count(th), first + 3);
}

static void expect_windows_main(const struct stackwalk_thread *th)
{
    const struct stackwalk_frame *f = swtest_phys(th, 0);

    ck_assert_uint_eq(th->thread_id, 0x664);
    expect_frame(f, "crash.exe", "main", "main.cpp", 35,
                 STACKWALK_TRUST_CONTEXT);
    ck_assert_uint_eq(f->instruction, 0x2a2a3d);
    ck_assert_uint_eq(f->line_base, 0x2a2a3d);
    f = swtest_phys(th, 1);
    expect_frame(f, "crash.exe", "__scrt_common_main_seh", "exe_common.inl",
                 283, STACKWALK_TRUST_CFI);
    ck_assert_uint_eq(f->instruction, 0x2a2d97);
    ck_assert_uint_eq(f->lookup, 0x2a2d96);
    ck_assert_uint_eq(f->line_base, 0x2a2d7b);
    ck_assert_uint_eq(f->regs.r[UNWIND_X86_ESP], 0x10ff744);
    ck_assert_uint_eq(f->regs.r[UNWIND_X86_EBP], 0x10ff784);
}

/* Symbolicator's store keeps Breakpad text at the PDB's path: the kind
 * comes from the content. */
START_TEST(test_stackwalk_windows_sym)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.sym");
    swtest_walk(&t, "minidump/windows.dmp", dir);
    th = swtest_crashed(&t);
    expect_windows_main(th);
    ck_assert_int_eq(th->frames[0].trust, STACKWALK_TRUST_CONTEXT);
    expect_windows_tail(th, 2);
    ck_assert_int_eq(stackwalk_module_status(t.r, 0), STACKWALK_SYMS_FOUND);
    ck_assert_int_eq(stackwalk_module_status(t.r, 1), STACKWALK_SYMS_MISSING);
    swtest_free(&t);
}
END_TEST

/* The PDB names the frames and adds the inlined calls llvm-symbolizer-14
 * reports for crash.exe: 0x402a3d is crash (main.cpp:24) in start (:28)
 * in main (:35); 0x402d96 is invoke_main (exe_common.inl:78) in
 * __scrt_common_main_seh (:283).  STACK WIN still comes from the .sym
 * beside it. */
START_TEST(test_stackwalk_windows_pdb)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.pdb");
    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.sym", "pdb/crash.sym");
    swtest_walk(&t, "minidump/windows.dmp", dir);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[0], "crash.exe", "crash", "main.cpp", 24,
                 STACKWALK_TRUST_INLINE);
    expect_frame(&th->frames[1], "crash.exe", "start", "main.cpp", 28,
                 STACKWALK_TRUST_INLINE);
    expect_windows_main(th);
    expect_frame(&th->frames[3], "crash.exe", "invoke_main", "exe_common.inl",
                 78, STACKWALK_TRUST_INLINE);
    expect_windows_tail(th, 2);
    swtest_free(&t);
}
END_TEST

/* A symbol server's store holds the PDB alone: its FPO/frame data
 * (pdb_stack_records) stands in for the .sym's STACK WIN lines, so the walk
 * is the same as above; with frame pointers and scanning only, main's
 * caller came out as _printf + 0x30. */
START_TEST(test_stackwalk_windows_pdb_only)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.pdb");
    swtest_walk(&t, "minidump/windows.dmp", dir);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[0], "crash.exe", "crash", "main.cpp", 24,
                 STACKWALK_TRUST_INLINE);
    expect_windows_main(th);
    expect_windows_tail(th, 2);
    swtest_free(&t);
}
END_TEST

/* Without symbols frame 0 is crash.exe + 0x2a3d; nothing may claim CFI. */
START_TEST(test_stackwalk_windows_nosyms)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_walk(&t, "minidump/windows.dmp", NULL);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[0], "crash.exe", NULL, NULL, 0,
                 STACKWALK_TRUST_CONTEXT);
    ck_assert_uint_eq(th->frames[0].instruction - th->frames[0].module->base,
                      0x2a3d);
    for (size_t i = 1; i < th->nframes; i++)
        ck_assert_int_lt(th->frames[i].trust, STACKWALK_TRUST_CFI);
    ck_assert_int_eq(stackwalk_module_status(t.r, 0), STACKWALK_SYMS_MISSING);
    swtest_free(&t);
}
END_TEST

/* --- linux.dmp (amd64) ----------------------------------------------------
 * Exception context: rip 0x401d72 rsp 0x7fff5ae4aa20 rbp 0x7fff5ae4abb0;
 * crash is at 0x400000, RVA 0x1d72.  llvm-symbolizer-14 on crash.debug:
 * crash (main.cpp:23) inlined in start (:27) inlined in main (:35);
 * llvm-dwarfdump-14 --debug-line has a row at exactly 0x401d72 (line 23).
 * crash.sym's "STACK CFI INIT" covering 0x1d72 says .cfa: $rbp 16 +,
 * .ra: .cfa -8 + ^: CFA 0x7fff5ae4abc0, return address [0x7fff5ae4abb8] =
 * 0x7f514017d830, libc-2.23.so (base 0x7f514015d000) + 0x20830. */

static void expect_linux_libc(const struct stackwalk_frame *f)
{
    expect_frame(f, "libc-2.23.so", NULL, NULL, 0, STACKWALK_TRUST_CFI);
    ck_assert_uint_eq(f->instruction, 0x7f514017d830);
    ck_assert_uint_eq(f->regs.r[UNWIND_AMD64_RSP], 0x7fff5ae4abc0);
    /* $rbp: .cfa -16 + ^ = 0x414c30, read from the stack dump */
    ck_assert_uint_eq(f->regs.r[UNWIND_AMD64_RBP], 0x414c30);
}

START_TEST(test_stackwalk_linux_all)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_place(dir, "crash/" LINUX_DEBUG_ID "/crash.sym",
                 "breakpad/linux/crash.sym");
    swtest_place(dir, "crash/" LINUX_BUILD_ID "/crash", "elf/crash");
    swtest_place(dir, LINUX_BUILD_ID "/debuginfo", "elf/crash.debug");
    swtest_place(dir, LINUX_BUILD_ID "/executable", "elf/crash");
    swtest_walk(&t, "minidump/linux.dmp", dir);
    th = swtest_crashed(&t);
    ck_assert_uint_eq(th->thread_id, 0x518);
    expect_frame(&th->frames[0], "crash", "crash", "main.cpp", 23,
                 STACKWALK_TRUST_INLINE);
    ck_assert_uint_eq(th->frames[0].line_base, 0x401d72);
    expect_frame(&th->frames[1], "crash", "start", "main.cpp", 27,
                 STACKWALK_TRUST_INLINE);
    expect_frame(&th->frames[2], "crash", "main", "main.cpp", 35,
                 STACKWALK_TRUST_CONTEXT);
    expect_linux_libc(swtest_phys(th, 1));
    swtest_free(&t);
}
END_TEST

/* crash.sym holds only PUBLIC records ("PUBLIC 1c70 0 main"): a name and
 * an offset (0x1d72 - 0x1c70 = 0x102), no line. */
START_TEST(test_stackwalk_linux_sym)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_place(dir, "crash/" LINUX_DEBUG_ID "/crash.sym",
                 "breakpad/linux/crash.sym");
    swtest_walk(&t, "minidump/linux.dmp", dir);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[0], "crash", "main", NULL, 0,
                 STACKWALK_TRUST_CONTEXT);
    ck_assert_uint_eq(th->frames[0].instruction - th->frames[0].function_base,
                      0x102);
    expect_linux_libc(&th->frames[1]);
    swtest_free(&t);
}
END_TEST

/* The ELF files alone: names and lines from crash.debug, CFI from the
 * binary's .eh_frame (the same rule as the .sym's, which dump_syms
 * converted from it). */
START_TEST(test_stackwalk_linux_elf)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_place(dir, LINUX_BUILD_ID "/debuginfo", "elf/crash.debug");
    swtest_place(dir, LINUX_BUILD_ID "/executable", "elf/crash");
    swtest_walk(&t, "minidump/linux.dmp", dir);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[2], "crash", "main", "main.cpp", 35,
                 STACKWALK_TRUST_CONTEXT);
    expect_linux_libc(swtest_phys(th, 1));
    swtest_free(&t);
}
END_TEST

/* A table source that counts its calls and builds what it hands out, or
 * refuses (symdir then builds the table itself). */
struct counting_tables {
    unsigned gets, puts;
    bool refuse;
};

struct handed {
    struct symtable *table;
    void *blob;
};

static int counting_get(void *ctx, const char *path, const char *debug_id,
                        struct symtable **table, void **handle)
{
    struct counting_tables *c = ctx;
    struct symtable_builder *b;
    struct objfile_ident id;
    struct objfile_map map;
    struct handed *h;
    size_t len = 0;
    int rc;

    c->gets++;
    /* the module's, for picking a universal Mach-O file's slice */
    ck_assert_str_ne(debug_id, "");
    if (c->refuse || objfile_map(path, &map) < 0)
        return -ENOENT;
    h = calloc(1, sizeof(*h));
    ck_assert_ptr_nonnull(h);
    b = symtable_builder_new();
    rc = objfile_identify(&map, &id);
    if (rc == 0) {
        symtable_builder_set_image_base(b, id.image_base);
        rc = objfile_build(&map, b);
    }
    if (rc == 0)
        rc = symtable_builder_finish(b, &h->blob, &len);
    if (rc == 0)
        rc = symtable_load(h->blob, len, &h->table);
    symtable_builder_free(b);
    objfile_unmap(&map);
    if (rc < 0) {
        free(h->blob);
        free(h);
        return rc;
    }
    *table = h->table;
    *handle = h;
    return 0;
}

static void counting_put(void *ctx, void *handle)
{
    struct counting_tables *c = ctx;
    struct handed *h = handle;

    c->puts++;
    symtable_close(h->table);
    free(h->blob);
    free(h);
}

/* Tables can come from outside (symsrvd's cache): the walk names the same
 * frames with them, every one is given back when the symdir goes, and a
 * source that refuses leaves symdir to build them itself. */
START_TEST(test_stackwalk_tables_from_outside)
{
    for (int refuse = 0; refuse <= 1; refuse++) {
        struct counting_tables c = {.refuse = refuse};
        struct symdir_tables tables = {
            .get = counting_get, .put = counting_put, .ctx = &c};
        const struct stackwalk_thread *th;
        char d[256];
        struct swtest t;

        symtest_tmpdir(d, sizeof(d), "check_stackwalk_tables");
        swtest_place(d, LINUX_BUILD_ID "/debuginfo", "elf/crash.debug");
        swtest_place(d, LINUX_BUILD_ID "/executable", "elf/crash");
        swtest_walk_tables(&t, "minidump/linux.dmp", d, &tables);
        th = swtest_crashed(&t);
        expect_frame(&th->frames[2], "crash", "main", "main.cpp", 35,
                     STACKWALK_TRUST_CONTEXT);
        ck_assert_uint_ge(c.gets, 1);
        swtest_free(&t);
        ck_assert_uint_eq(c.puts, refuse ? 0 : c.gets);
        symtest_rmdir(d);
    }
}
END_TEST

/* No symbols: rbp's frame record holds 0x414c30 as the saved rbp, below
 * the stack pointer, so the amd64 frame pointer check refuses it and the
 * caller comes from scanning. */
START_TEST(test_stackwalk_linux_nosyms)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_walk(&t, "minidump/linux.dmp", NULL);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[0], "crash", NULL, NULL, 0,
                 STACKWALK_TRUST_CONTEXT);
    ck_assert_uint_eq(th->frames[0].instruction, 0x401d72);
    if (th->nframes > 1)
        ck_assert_int_eq(th->frames[1].trust, STACKWALK_TRUST_SCAN);
    swtest_free(&t);
}
END_TEST

/* --- macos.dmp (amd64) ----------------------------------------------------
 * Exception context: rip 0x109ba8c15 rsp 0x7fff56064110 rbp
 * 0x7fff56064258; crash is at 0x109b9b000: RVA 0xdc15, "FUNC dba0 c3 0
 * main", line "dc15 10 21 33" (main.cpp).  No STACK CFI covers main and
 * rbp's frame record holds 0 / 1, so the caller comes from scanning: the
 * stack words pointing into modules are 0x109ba8c70 at 0x7fff560641a8
 * (RVA 0xdc6f after the call adjustment: between main's end 0xdc63 and
 * the next FUNC at 0xdc70, so not after a call) and 0x7fffe7eeb235 at
 * 0x7fff56064248: libdyld.dylib (base 0x7fffe7ee6000) + 0x5235, accepted
 * (no symbols for libdyld). */
START_TEST(test_stackwalk_macos_sym)
{
    struct swtest t;
    const struct stackwalk_thread *th;
    const struct stackwalk_frame *f;

    swtest_place(dir, "crash/" MAC_DEBUG_ID "/crash.sym",
                 "breakpad/macos/crash.sym");
    swtest_walk(&t, "minidump/macos.dmp", dir);
    th = swtest_crashed(&t);
    ck_assert_uint_eq(th->thread_id, 0x307);
    expect_frame(&th->frames[0], "crash", "main", "main.cpp", 21,
                 STACKWALK_TRUST_CONTEXT);
    ck_assert_uint_eq(th->frames[0].instruction, 0x109ba8c15);
    f = &th->frames[1];
    expect_frame(f, "libdyld.dylib", NULL, NULL, 0, STACKWALK_TRUST_SCAN);
    ck_assert_uint_eq(f->instruction, 0x7fffe7eeb235);
    ck_assert_uint_eq(f->regs.r[UNWIND_AMD64_RSP], 0x7fff56064250);
    swtest_free(&t);
}
END_TEST

/* Without symbols the scan takes the first module pointer, 0x109ba8c70
 * (crash + 0xdc70), which the symbols had ruled out. */
START_TEST(test_stackwalk_macos_nosyms)
{
    struct swtest t;
    const struct stackwalk_thread *th;

    swtest_walk(&t, "minidump/macos.dmp", NULL);
    th = swtest_crashed(&t);
    expect_frame(&th->frames[0], "crash", NULL, NULL, 0,
                 STACKWALK_TRUST_CONTEXT);
    expect_frame(&th->frames[1], "crash", NULL, NULL, 0, STACKWALK_TRUST_SCAN);
    ck_assert_uint_eq(th->frames[1].instruction, 0x109ba8c70);
    ck_assert_uint_eq(th->frames[1].regs.r[UNWIND_AMD64_RSP], 0x7fff560641b0);
    swtest_free(&t);
}
END_TEST

/* Flat directory: crash.sym directly in the directory is used when its
 * MODULE id is the module's (macOS crash.sym: 67E9247C...), and ignored
 * otherwise (the Linux crash.sym, MODULE id C0BCC3F1..., named the same,
 * must not name the macOS frames). */
START_TEST(test_stackwalk_flat)
{
    struct swtest t;
    char other[300];

    swtest_place(dir, "crash.sym", "breakpad/macos/crash.sym");
    swtest_walk(&t, "minidump/macos.dmp", dir);
    expect_frame(&swtest_crashed(&t)->frames[0], "crash", "main", "main.cpp",
                 21, STACKWALK_TRUST_CONTEXT);
    swtest_free(&t);
    snprintf(other, sizeof(other), "%s/other", dir);
    swtest_place(dir, "other/crash.sym", "breakpad/linux/crash.sym");
    swtest_walk(&t, "minidump/macos.dmp", other);
    expect_frame(&swtest_crashed(&t)->frames[0], "crash", NULL, NULL, 0,
                 STACKWALK_TRUST_CONTEXT);
    ck_assert_int_eq(stackwalk_module_status(t.r, 0), STACKWALK_SYMS_MISSING);
    swtest_free(&t);
}
END_TEST

/* Every frame of every thread of A and B alike: module, function (as the
 * report prints it, demangled), file name, line, instruction and trust;
 * with UPGRADE, B may have found by CFI a frame A found by scanning. */
static void expect_same_walk(const struct swtest *a, const struct swtest *b,
                             bool upgrade)
{
    ck_assert_uint_eq(stackwalk_thread_count(a->r),
                      stackwalk_thread_count(b->r));
    for (size_t i = 0; i < stackwalk_thread_count(a->r); i++) {
        const struct stackwalk_thread *x = stackwalk_thread(a->r, i);
        const struct stackwalk_thread *y = stackwalk_thread(b->r, i);

        ck_assert_uint_eq(x->nframes, y->nframes);
        for (size_t k = 0; k < x->nframes; k++) {
            const struct stackwalk_frame *f = &x->frames[k];
            const struct stackwalk_frame *g = &y->frames[k];
            char *fn = f->function ? demangle_name(f->function, f->lang)
                                   : NULL;
            char *gn = g->function ? demangle_name(g->function, g->lang)
                                   : NULL;

            ck_assert_str_eq(swtest_module(g), swtest_module(f));
            ck_assert_str_eq(gn ? gn : g->function ? g->function : "-",
                             fn ? fn : f->function ? f->function : "-");
            /* dump_syms folds "dir/../dir" in paths; DWARF keeps them */
            ck_assert_str_eq(g->file ? strrchr(g->file, '/') : "-",
                             f->file ? strrchr(f->file, '/') : "-");
            ck_assert_uint_eq(g->line, f->line);
            if (!upgrade || f->trust != STACKWALK_TRUST_SCAN ||
                g->trust != STACKWALK_TRUST_CFI)
                ck_assert_int_eq(g->trust, f->trust);
            ck_assert_uint_eq(g->instruction, f->instruction);
            free(fn);
            free(gn);
        }
    }
}

/* The Mach-O files give the walk crash.inlines.sym (Breakpad with INLINE
 * records, made from the same dSYM) gives: no STACK CFI covers main, so
 * the frames differ only if names, lines, inline chains or function
 * bounds do.  Read from the dSYM's DWARF file in the symstore layout, the
 * dSYM bundle in LLDB's UUID layout, and the binary with its dSYM beside
 * it in a flat directory.  With the binary, main's compact unwind entry
 * (RBP frame) finds libdyld's frame, which crash.sym leaves to the stack
 * scan: the same frame, found by call frame info. */
START_TEST(test_stackwalk_macos_dsym)
{
    static const struct {
        const char *path, *rel;
    } layouts[] = {
        {"crash/" MAC_DEBUG_ID "/crash",
         "macho/crash.dSYM/Contents/Resources/DWARF/crash"},
        {"67E9/247C/814E/392B/A027/DBDE6748FCBF.dSYM", "macho/crash.dSYM"},
        {"crash", "macho/crash"},
    };
    struct swtest ref, t;
    char sub[300];

    swtest_place(dir, "sym/crash/" MAC_DEBUG_ID "/crash.sym",
                 "breakpad/macos/crash.inlines.sym");
    snprintf(sub, sizeof(sub), "%s/sym", dir);
    swtest_walk(&ref, "minidump/macos.dmp", sub);
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        snprintf(sub, sizeof(sub), "%s/l%zu", dir, i);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        swtest_place(sub, layouts[i].path, layouts[i].rel);
        if (i == 2)
            swtest_place(sub, "crash.dSYM", "macho/crash.dSYM");
        swtest_walk(&t, "minidump/macos.dmp", sub);
        expect_frame(&swtest_crashed(&t)->frames[0], "crash", "5crashEv",
                     "main.cpp", 21, swtest_crashed(&ref)->frames[0].trust);
        expect_frame(swtest_phys(swtest_crashed(&t), 0), "crash", "main",
                     "main.cpp", 32, STACKWALK_TRUST_CONTEXT);
        expect_same_walk(&ref, &t, i == 2);
        if (i == 2)
            ck_assert_int_eq(swtest_crashed(&t)->frames[3].trust,
                             STACKWALK_TRUST_CFI);
        swtest_free(&t);
    }
    swtest_free(&ref);
}
END_TEST

/* --- every thread, and the cache --------------------------------------- */

/* Each physical frame's stack pointer is above its callee's (x86/amd64
 * walks must advance), and every thread with a context has frame 0. */
static void expect_sane(const struct swtest *t)
{
    int spr = unwind_reg_sp(stackwalk_cpu(t->r));

    ck_assert_uint_gt(stackwalk_thread_count(t->r), 0);
    for (size_t i = 0; i < stackwalk_thread_count(t->r); i++) {
        const struct stackwalk_thread *th = stackwalk_thread(t->r, i);
        const struct stackwalk_frame *prev = NULL, *f;

        ck_assert_uint_gt(th->nframes, 0);
        ck_assert(!th->truncated);
        for (size_t k = 0; (f = swtest_phys(th, k)) != NULL; k++) {
            if (prev)
                ck_assert_uint_gt(f->regs.r[spr], prev->regs.r[spr]);
            prev = f;
        }
    }
}

START_TEST(test_stackwalk_all_threads)
{
    static const char *const dumps[] = {
        "minidump/windows.dmp", "minidump/linux.dmp", "minidump/macos.dmp"};
    struct swtest t;

    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.sym");
    swtest_place(dir, "crash/" LINUX_DEBUG_ID "/crash.sym",
                 "breakpad/linux/crash.sym");
    swtest_place(dir, "crash/" MAC_DEBUG_ID "/crash.sym",
                 "breakpad/macos/crash.sym");
    for (size_t i = 0; i < 3; i++) {
        swtest_walk(&t, dumps[i], dir);
        expect_sane(&t);
        swtest_free(&t);
        swtest_walk(&t, dumps[i], NULL);
        expect_sane(&t);
        swtest_free(&t);
    }
}
END_TEST

/* A second walk with the same provider reads no file and finds the same
 * frames. */
START_TEST(test_stackwalk_warm)
{
    struct swtest t;
    struct stackwalk_provider p;
    struct stackwalk_result *again;
    const struct stackwalk_thread *a, *b;
    size_t files;

    swtest_place(dir, "crash.pdb/" WIN_DEBUG_ID "/crash.pdb", "pdb/crash.sym");
    swtest_walk(&t, "minidump/windows.dmp", dir);
    files = symdir_files_read(t.sd);
    ck_assert_uint_gt(files, 0);
    symdir_provider(t.sd, &p);
    ck_assert_int_eq(stackwalk_run(t.md, &p, NULL, &again), 0);
    ck_assert_uint_eq(symdir_files_read(t.sd), files);
    a = swtest_crashed(&t);
    b = stackwalk_thread(again, (size_t)stackwalk_requesting_thread(again));
    ck_assert_uint_eq(a->nframes, b->nframes);
    for (size_t i = 0; i < a->nframes; i++) {
        ck_assert_uint_eq(a->frames[i].instruction, b->frames[i].instruction);
        ck_assert_ptr_eq(a->frames[i].function, b->frames[i].function);
    }
    stackwalk_result_free(again);
    swtest_free(&t);
}
END_TEST

/* The frame bound holds, inline frames included. */
START_TEST(test_stackwalk_bound)
{
    struct swtest t;
    struct stackwalk_options o = {.max_frames = 2, .scan = true};
    char *path = symtest_data("minidump/windows.dmp");
    FILE *fp = fopen(path, "rb");
    uint8_t *data = malloc(1 << 16);
    size_t len;

    ck_assert_ptr_nonnull(fp);
    len = fread(data, 1, 1 << 16, fp);
    fclose(fp);
    free(path);
    swtest_walk_mem(&t, data, len, NULL, &o);
    for (size_t i = 0; i < stackwalk_thread_count(t.r); i++)
        ck_assert_uint_le(stackwalk_thread(t.r, i)->nframes, 2);
    ck_assert(swtest_crashed(&t)->truncated);
    swtest_free(&t);
}
END_TEST

static Suite *stackwalk_suite(void)
{
    Suite *s = suite_create("stackwalk");
    TCase *tc = tcase_create("fixtures");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_stackwalk_windows_sym);
    tcase_add_test(tc, test_stackwalk_windows_pdb);
    tcase_add_test(tc, test_stackwalk_windows_pdb_only);
    tcase_add_test(tc, test_stackwalk_windows_nosyms);
    tcase_add_test(tc, test_stackwalk_linux_all);
    tcase_add_test(tc, test_stackwalk_linux_sym);
    tcase_add_test(tc, test_stackwalk_linux_elf);
    tcase_add_test(tc, test_stackwalk_tables_from_outside);
    tcase_add_test(tc, test_stackwalk_linux_nosyms);
    tcase_add_test(tc, test_stackwalk_macos_sym);
    tcase_add_test(tc, test_stackwalk_macos_nosyms);
    tcase_add_test(tc, test_stackwalk_macos_dsym);
    tcase_add_test(tc, test_stackwalk_flat);
    tcase_add_test(tc, test_stackwalk_all_threads);
    tcase_add_test(tc, test_stackwalk_warm);
    tcase_add_test(tc, test_stackwalk_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return symtest_run(stackwalk_suite());
}
