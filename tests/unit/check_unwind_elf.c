/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ELF CFI unwinder.  The oracle is llvm-dwarfdump-14
 * --eh-frame, which prints every CFI row ("0x401c89: CFA=RBP+16:
 * RBX=[CFA-32], RBP=[CFA-16], R14=[CFA-24], RIP=[CFA-8]"): the test
 * parses each row, steps at its address over a stack whose every word
 * holds a marker of its own address, and checks the CFA and each listed
 * register.  Inputs: tests/data/elf/crash (GCC 5.4, -O3) and
 * tests/data/unwind/elf-frames.c built here with gcc -O2.  Rows with
 * DWARF expressions (the PLT's) are worked by hand below.
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"

#include "needtool.h"
#include "symtest.h"
#include "unwind_testmem.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK 0x20000u
#define RSP (STACK + 0x400)
#define RBP (STACK + 0x800)

static uint64_t slot(uint64_t addr)
{
    return 0x6b6b000000000000ull + addr;
}

static struct testmem *mem_new(void)
{
    struct testmem *m = calloc(1, sizeof(*m));

    ck_assert_ptr_nonnull(m);
    m->base = STACK;
    for (uint64_t a = STACK; a + 8 <= STACK + TESTMEM_SIZE; a += 8)
        testmem_put64(m, a, slot(a));
    return m;
}

/* llvm-dwarfdump's register names, in DWARF order (amd64). */
static const char *const dd_regs[17] = {
    "RAX", "RDX", "RCX", "RBX", "RSI", "RDI", "RBP", "RSP", "R8",
    "R9",  "R10", "R11", "R12", "R13", "R14", "R15", "RIP"};

static int dd_reg(const char *s, size_t n)
{
    for (int i = 0; i < 17; i++) {
        if (strlen(dd_regs[i]) == n && strncmp(s, dd_regs[i], n) == 0)
            return i;
    }
    ck_abort_msg("unknown register %.*s", (int)n, s);
    return -1;
}

/* The callee for every row: every register known, rsp and rbp on the
 * fake stack, the others distinct values. */
static void callee_regs(struct unwind_regs *r, uint64_t pc)
{
    memset(r, 0, sizeof(*r));
    r->cpu = UNWIND_CPU_AMD64;
    for (int i = 0; i < 17; i++)
        testmem_set(r, i, 0x1000 + (uint64_t)i);
    r->r[UNWIND_AMD64_RSP] = RSP;
    r->r[UNWIND_AMD64_RBP] = RBP;
    r->r[UNWIND_AMD64_RIP] = pc;
}

/* Check one row "CFA=REG+N: REG=[CFA+N], ..., RIP=..." at ADDR. */
static void check_row(struct unwind_elf *ue, uint64_t addr, const char *row,
                      const struct unwind_memory *mem)
{
    struct unwind_regs callee, caller;
    const char *p = row, *end;
    long long off;
    uint64_t cfa;
    int reg, n;

    callee_regs(&callee, addr);
    ck_assert_int_eq(strncmp(p, "CFA=", 4), 0);
    p += 4;
    end = p + strcspn(p, "+-");
    reg = dd_reg(p, (size_t)(end - p));
    ck_assert_int_eq(sscanf(end, "%lld:%n", &off, &n), 1);
    cfa = callee.r[reg] + (uint64_t)off;
    p = end + n;
    ck_assert_msg(unwind_elf_step(ue, addr - unwind_elf_image_base(ue),
                                  &callee, mem, &caller) == 0,
                  "step at %llx", (unsigned long long)addr);
    ck_assert_msg(caller.r[UNWIND_AMD64_RSP] == cfa, "%llx: cfa",
                  (unsigned long long)addr);
    while (*p != '\0' && *p != '\n') {
        p += strspn(p, " ,");
        end = strchr(p, '=');
        ck_assert_ptr_nonnull(end);
        reg = dd_reg(p, (size_t)(end - p));
        ck_assert_msg((caller.valid >> reg) & 1, "%llx: %s",
                      (unsigned long long)addr, dd_regs[reg]);
        if (strncmp(end, "=undefined", 10) == 0) {
            /* only the return address may be undefined: the end */
            ck_assert_int_eq(reg, UNWIND_AMD64_RIP);
            ck_assert_uint_eq(caller.r[reg], 0);
            p = end + 10;
            continue;
        }
        ck_assert_int_eq(sscanf(end, "=[CFA%lld]%n", &off, &n), 1);
        ck_assert_msg(caller.r[reg] == slot(cfa + (uint64_t)off),
                      "%llx: %s", (unsigned long long)addr, dd_regs[reg]);
        p = end + n;
    }
}

/* llvm-dwarfdump-14 prints the rows after a DW_CFA_restore_state with
 * the state from before it (its row printer ignores the restore), so
 * rows of FDEs that restore state are left to test_elf_by_hand; their
 * ranges come from eu-readelf's listing of the FDE programs. */
struct ranges {
    uint64_t lo[512], hi[512];
    size_t n;
};

static void restore_ranges(const char *file, struct ranges *r)
{
    char cmd[1024], line[512];
    unsigned long long lo = 0, len = 0;
    FILE *p;

    r->n = 0;
    snprintf(cmd, sizeof(cmd), "eu-readelf --debug-dump=frames %s", file);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        const char *s = line + strspn(line, " ");

        if (sscanf(s, "initial_location: 0x%llx", &lo) == 1)
            continue;
        if (sscanf(s, "address_range: 0x%llx", &len) == 1)
            continue;
        if (strncmp(s, "restore_state", 13) == 0 && len > 0 &&
            (r->n == 0 || r->lo[r->n - 1] != lo)) {
            ck_assert_uint_lt(r->n, 512);
            r->lo[r->n] = lo;
            r->hi[r->n++] = lo + len;
        }
    }
    ck_assert_int_eq(pclose(p), 0);
}

static bool in_ranges(const struct ranges *r, uint64_t addr)
{
    for (size_t i = 0; i < r->n; i++) {
        if (addr >= r->lo[i] && addr < r->hi[i])
            return true;
    }
    return false;
}

/* Every row of FILE's .eh_frame; returns how many were checked. */
static size_t check_rows(const char *file)
{
    char cmd[1024], line[1024];
    struct unwind_elf *ue;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    size_t rows = 0;
    FILE *p;

    static struct ranges skip;

    restore_ranges(file, &skip);
    ck_assert_int_eq(unwind_elf_open(file, &ue), 0);
    snprintf(cmd, sizeof(cmd), "llvm-dwarfdump-14 --eh-frame %s", file);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        unsigned long long addr;
        int n;

        if (sscanf(line, " 0x%llx: CFA=%n", &addr, &n) != 1 || n == 0 ||
            strstr(line, "DW_OP") != NULL || in_ranges(&skip, addr))
            continue;
        check_row(ue, addr, strstr(line, "CFA="), &mem);
        rows++;
    }
    ck_assert_int_eq(pclose(p), 0);
    unwind_elf_free(ue);
    free(m);
    return rows;
}

START_TEST(test_elf_crash_rows)
{
    char *path = symtest_data("elf/crash");

    if (needtool("check_unwind_elf", "llvm-dwarfdump-14", "eu-readelf", NULL))
        /* llvm-dwarfdump-14 --eh-frame crash | grep -c ': CFA=' is 1509,
         * one of them the PLT's DW_OP row; most FDEs of this -O3 build
         * restore state, which leaves about 300 rows */
        ck_assert_uint_gt(check_rows(path), 250);
    free(path);
}
END_TEST

START_TEST(test_elf_gcc_rows)
{
    char dir[256], exe[300], cmd[1024];
    char *src = symtest_data("unwind/elf-frames.c");

    if (!needtool("check_unwind_elf", "gcc", "llvm-dwarfdump-14", "eu-readelf",
                  NULL)) {
        free(src);
        return;
    }
    symtest_tmpdir(dir, sizeof(dir), "unwind-elf");
    snprintf(exe, sizeof(exe), "%s/ef", dir);
    snprintf(cmd, sizeof(cmd), "gcc -O2 -o %s %s", exe, src);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_uint_gt(check_rows(exe), 10);
    symtest_rmdir(dir);
    free(src);
}
END_TEST

/* crash's PLT (eu-readelf --debug-dump=frames):
 *   FDE [0x401580, 0x4015a0) ... def_cfa_offset 16 at 401586, 24 ...
 *   0x401590: CFA = rsp + 8 + ((rip & 15) >= 11) << 3, RIP=[CFA-8]
 * So at 0x40159b (rip & 15 = 11) the CFA is rsp + 16, and at 0x401596 it
 * is rsp + 8.  0x401c89 (inside a function with a frame pointer):
 * CFA = rbp + 16, rbx [CFA-32], rbp [CFA-16], r14 [CFA-24], rip [CFA-8];
 * r12, r13, r15 keep the callee's value (same value: ABI callee-saved). */
START_TEST(test_elf_by_hand)
{
    char *path = symtest_data("elf/crash");
    struct unwind_elf *ue;
    struct testmem *m = mem_new();
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee, caller;

    ck_assert_int_eq(unwind_elf_open(path, &ue), 0);
    ck_assert_uint_eq(unwind_elf_image_base(ue), 0x400000);
    callee_regs(&callee, 0x40159b);
    ck_assert_int_eq(unwind_elf_step(ue, 0x159b, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], RSP + 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], slot(RSP + 8));
    callee_regs(&callee, 0x401596);
    ck_assert_int_eq(unwind_elf_step(ue, 0x1596, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], RSP + 8);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], slot(RSP));
    /* the PLT expression reads rip: without it, no step */
    callee.valid &= ~(1ull << UNWIND_AMD64_RIP);
    ck_assert_int_eq(unwind_elf_step(ue, 0x1596, &callee, &mem, &caller),
                     -EINVAL);

    callee_regs(&callee, 0x401c89);
    ck_assert_int_eq(unwind_elf_step(ue, 0x1c89, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], RBP + 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], slot(RBP + 8));
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBP], slot(RBP));
    ck_assert_uint_eq(caller.r[14], slot(RBP - 8));
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBX], slot(RBP - 16));
    ck_assert_uint_eq(caller.r[12], 0x100c);
    ck_assert(!((caller.valid >> UNWIND_AMD64_RAX) & 1));
    /* 0x401ee0, after restore_state (eu-readelf: at 1ec3 def_cfa_offset
     * 16, rbx at cfa-16; at 1edd remember_state, def_cfa_offset 8; at
     * 1ee0 restore_state): CFA = rsp + 16 again, as crash.sym's
     * "STACK CFI 1ee0 .cfa: $rsp 16 +" says too */
    callee_regs(&callee, 0x401ee0);
    ck_assert_int_eq(unwind_elf_step(ue, 0x1ee0, &callee, &mem, &caller), 0);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RSP], RSP + 16);
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RIP], slot(RSP + 8));
    ck_assert_uint_eq(caller.r[UNWIND_AMD64_RBX], slot(RSP));
    callee_regs(&callee, 0x401c89);
    /* a frame-pointer row needs rbp */
    callee.valid &= ~(1ull << UNWIND_AMD64_RBP);
    ck_assert_int_eq(unwind_elf_step(ue, 0x1c89, &callee, &mem, &caller),
                     -EINVAL);
    /* no FDE below the image's code; wrong CPU */
    callee_regs(&callee, 0x400000);
    ck_assert_int_eq(unwind_elf_step(ue, 0, &callee, &mem, &caller), -ENOENT);
    callee.cpu = UNWIND_CPU_X86;
    ck_assert_int_eq(unwind_elf_step(ue, 0x1c89, &callee, &mem, &caller),
                     -EINVAL);
    unwind_elf_free(ue);
    free(m);
    free(path);
}
END_TEST

START_TEST(test_elf_open_errors)
{
    char *sym = symtest_data("breakpad/linux/crash.sym");
    struct unwind_elf *ue = NULL;

    ck_assert_int_eq(unwind_elf_open("/nonexistent/x", &ue), -ENOENT);
    ck_assert_ptr_null(ue);
    ck_assert_int_eq(unwind_elf_open(sym, &ue), -EINVAL);
    ck_assert_ptr_null(ue);
    free(sym);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unwind_elf");
    TCase *tc = tcase_create("elf");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_elf_crash_rows);
    tcase_add_test(tc, test_elf_gcc_rows);
    tcase_add_test(tc, test_elf_by_hand);
    tcase_add_test(tc, test_elf_open_errors);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
