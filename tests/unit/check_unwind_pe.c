/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the PE32+ unwinder.  Two oracles: llvm-readobj-14
 * --unwind's listing of every function's unwind codes, replayed by the
 * test itself at the end of each prolog (over the MSVC-built
 * CrashWithException.exe and an image built here from
 * tests/data/unwind/pe-frames.c), and hand-worked steps through the
 * frame-pointer function of that image, in its prolog, body and epilog,
 * derived from its disassembly (quoted below).
 */
#include "symsrvd_config.h"

#include "unwind/unwind.h"

#include "needtool.h"
#include "symtest.h"
#include "unwind_testmem.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STACK 0x20000u
#define BASE 0x140000000ull

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;

    ck_assert_msg(fp != NULL, "%s", path);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    ck_assert_int_gt(n, 0);
    rewind(fp);
    buf = malloc((size_t)n);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Build pe-frames.c into DIR/uw.exe; false when the tools are missing. */
static bool build_image(char *dir, size_t dirlen, char *exe, size_t exelen)
{
    char *src = symtest_data("unwind");
    char cmd[2048];

    if (!needtool("check_unwind_pe", "clang-14", "lld-link-14", NULL)) {
        free(src);
        return false;
    }
    symtest_tmpdir(dir, dirlen, "unwind-pe");
    snprintf(cmd, sizeof(cmd),
             "cd %s && clang-14 --target=x86_64-pc-windows-msvc -c -O2 "
             "-ffreestanding -fno-stack-protector -fno-builtin "
             "-funwind-tables -o uw.obj %s/pe-frames.c && "
             "clang-14 --target=x86_64-pc-windows-msvc -c -o chk.obj "
             "%s/chkstk.s && lld-link-14 /nologo /Brepro /nodefaultlib "
             "/entry:mainCRTStartup /subsystem:console /machine:x64 "
             "/out:uw.exe uw.obj chk.obj",
             dir, src, src);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(exe, exelen, "%s/uw.exe", dir);
    free(src);
    return true;
}

/* --- the llvm-readobj oracle ----------------------------------------- */

/* One function as llvm-readobj lists it. */
struct ro_func {
    uint64_t start, end;
    unsigned prolog;
    int fpreg;   /* Windows number, or -1 */
    unsigned fpoff;
    char codes[32][64];
    unsigned ncodes;
};

static const char *const ro_regs[16] = {
    "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
    "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
static const int ro_dwarf[16] = {0, 2, 1, 3, 7, 6, 4, 5,
                                 8, 9, 10, 11, 12, 13, 14, 15};

static int ro_reg(const char *s)
{
    const char *r = strstr(s, "reg=");
    size_t n;

    ck_assert_ptr_nonnull(r);
    r += 4;
    n = strcspn(r, ", \n");
    for (int i = 0; i < 16; i++) {
        if (strlen(ro_regs[i]) == n && strncmp(r, ro_regs[i], n) == 0)
            return i;
    }
    return -1;
}

static size_t ro_read(const char *exe, struct ro_func *f, size_t max)
{
    char cmd[1024], line[256];
    FILE *p;
    size_t n = 0;
    bool in_codes = false;

    snprintf(cmd, sizeof(cmd), "llvm-readobj-14 --unwind %s", exe);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        char *s = line + strspn(line, " ");
        unsigned long long v;
        unsigned u;

        if (sscanf(s, "StartAddress: (0x%llx)", &v) == 1) {
            ck_assert_uint_lt(n, max);
            memset(&f[n], 0, sizeof(f[n]));
            f[n].start = v - BASE;
            f[n].fpreg = -1;
            n++;
        } else if (n > 0 && sscanf(s, "EndAddress: (0x%llx)", &v) == 1) {
            f[n - 1].end = v - BASE;
        } else if (n > 0 && sscanf(s, "PrologSize: %u", &u) == 1) {
            f[n - 1].prolog = u;
        } else if (n > 0 && sscanf(s, "FrameRegister: %*s (0x%x)", &u) == 1) {
            f[n - 1].fpreg = (int)u;
        } else if (n > 0 && sscanf(s, "FrameOffset: 0x%x", &u) == 1) {
            f[n - 1].fpoff = u;
        } else if (strncmp(s, "UnwindCodes [", 13) == 0) {
            in_codes = true;
        } else if (in_codes && s[0] == ']') {
            in_codes = false;
        } else if (in_codes && n > 0) {
            ck_assert_uint_lt(f[n - 1].ncodes, 32);
            snprintf(f[n - 1].codes[f[n - 1].ncodes++], 64, "%s", s);
        }
    }
    ck_assert_int_eq(pclose(p), 0);
    return n;
}

/* Every stack word holds 0x5a5a0000_00000000 + its own address. */
static uint64_t slot(uint64_t addr)
{
    return 0x5a5a000000000000ull + addr;
}

static void fill_stack(struct testmem *m)
{
    for (uint64_t a = m->base; a + 8 <= m->base + TESTMEM_SIZE; a += 8)
        testmem_put64(m, a, slot(a));
}

/* Replay F's codes (all of them: the address is past the prolog) from
 * RSP, as the Windows documentation describes them. */
static void ro_expect(const struct ro_func *f, uint64_t rsp, uint64_t fp,
                      struct unwind_regs *want)
{
    uint64_t frame = f->fpreg >= 0 ? fp - 16u * f->fpoff : rsp;
    unsigned long long v;

    memset(want, 0, sizeof(*want));
    want->cpu = UNWIND_CPU_AMD64;
    for (unsigned i = 0; i < f->ncodes; i++) {
        const char *c = strchr(f->codes[i], ' ') + 1;

        if (strncmp(c, "PUSH_NONVOL", 11) == 0) {
            testmem_set(want, ro_dwarf[ro_reg(c)], slot(rsp));
            rsp += 8;
        } else if (sscanf(c, "ALLOC_%*[A-Z] size=%llu", &v) == 1) {
            rsp += v;
        } else if (strncmp(c, "SET_FPREG", 9) == 0) {
            rsp = frame;
        } else if (sscanf(c, "SAVE_NONVOL reg=%*[A-Z0-9], offset=0x%llx",
                          &v) == 1) {
            testmem_set(want, ro_dwarf[ro_reg(c)], slot(frame + v));
        } else {
            ck_assert_msg(strncmp(c, "SAVE_XMM128", 11) == 0, "%s", c);
        }
    }
    testmem_set(want, UNWIND_AMD64_RIP, slot(rsp));
    testmem_set(want, UNWIND_AMD64_RSP, rsp + 8);
}

static void ro_check(const char *exe, size_t want_funcs)
{
    static struct ro_func f[64];
    struct testmem *m = calloc(1, sizeof(*m));
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_pe *pu;
    struct unwind_regs callee, caller, want;
    size_t len, n = ro_read(exe, f, 64);
    uint8_t *data = slurp(exe, &len);
    const uint64_t rsp = STACK + 0x100, fp = STACK + 0x180;

    ck_assert_uint_eq(n, want_funcs);
    m->base = STACK;
    fill_stack(m);
    ck_assert_int_eq(unwind_pe_open(data, len, &pu), 0);
    for (size_t i = 0; i < n; i++) {
        memset(&callee, 0, sizeof(callee));
        callee.cpu = UNWIND_CPU_AMD64;
        testmem_set(&callee, UNWIND_AMD64_RSP, rsp);
        if (f[i].fpreg >= 0)
            testmem_set(&callee, ro_dwarf[f[i].fpreg], fp);
        ro_expect(&f[i], rsp, fp, &want);
        ck_assert_int_eq(unwind_pe_step(pu, f[i].start + f[i].prolog, &callee,
                                        &mem, &caller),
                         0);
        ck_assert_msg(caller.valid == want.valid, "%llx: valid %llx != %llx",
                      (unsigned long long)f[i].start,
                      (unsigned long long)caller.valid,
                      (unsigned long long)want.valid);
        for (int r = 0; r < UNWIND_NREGS; r++)
            ck_assert_msg(caller.r[r] == want.r[r], "%llx: r%d %llx != %llx",
                          (unsigned long long)f[i].start, r,
                          (unsigned long long)caller.r[r],
                          (unsigned long long)want.r[r]);
    }
    unwind_pe_free(pu);
    free(data);
    free(m);
}

START_TEST(test_pe_msvc_oracle)
{
    char *exe = symtest_data("pdb/CrashWithException.exe");

    if (!needtool("check_unwind_pe", "llvm-readobj-14", NULL)) {
        free(exe);
        return;
    }
    /* 41 RuntimeFunctions: grep -c RuntimeFunction on the listing */
    ro_check(exe, 41);
    free(exe);
}
END_TEST

START_TEST(test_pe_clang_oracle)
{
    char dir[256], exe[300];

    if (!needtool("check_unwind_pe", "llvm-readobj-14", NULL) ||
        !build_image(dir, sizeof(dir), exe, sizeof(exe)))
        return;
    ro_check(exe, 3);
    symtest_rmdir(dir);
}
END_TEST

/* --- hand-worked steps through framed() ------------------------------ */

/* framed() at RVA 12d0..13c2 (llvm-objdump-14 -d of the image):
 *   12d0 push rbp; 12d1 push r15; 12d3 push r14; 12d5 push r13;
 *   12d7 push r12; 12d9 push rsi; 12da push rdi; 12db push rbx;
 *   12dc sub rsp, 3208; 12e3 lea rbp, [rsp + 128]   (prolog: 0x1b bytes)
 *   ...
 *   13ae lea rsp, [rbp + 3080]; 13b5 pop rbx; 13b6 pop rdi; 13b7 pop rsi;
 *   13b8 pop r12; 13ba pop r13; 13bc pop r14; 13be pop r15; 13c0 pop rbp;
 *   13c1 ret
 * With E the entry %rsp (the return address): rbp saved at E-8, r15 E-16,
 * r14 E-24, r13 E-32, r12 E-40, rsi E-48, rdi E-56, rbx E-64; after the
 * prolog %rsp = E-3272 and %rbp = E-3144. */
#define E (STACK + 0xf00)

static const struct {
    int reg;
    uint64_t at;
} framed_saves[] = {
    {UNWIND_AMD64_RBP, E - 8}, {15, E - 16},  {14, E - 24},
    {13, E - 32},              {12, E - 40},  {UNWIND_AMD64_RSI, E - 48},
    {UNWIND_AMD64_RDI, E - 56}, {UNWIND_AMD64_RBX, E - 64},
};

struct pefix {
    char dir[256], exe[300];
    uint8_t *data;
    struct unwind_pe *pu;
    struct testmem *m;
    struct unwind_memory mem;
    struct unwind_regs callee, caller;
};

static bool pefix_init(struct pefix *f)
{
    size_t len;

    if (!build_image(f->dir, sizeof(f->dir), f->exe, sizeof(f->exe)))
        return false;
    f->data = slurp(f->exe, &len);
    ck_assert_int_eq(unwind_pe_open(f->data, len, &f->pu), 0);
    f->m = calloc(1, sizeof(*f->m));
    f->m->base = STACK;
    fill_stack(f->m);
    f->mem = testmem_mem(f->m);
    return true;
}

static void pefix_done(struct pefix *f)
{
    unwind_pe_free(f->pu);
    free(f->data);
    free(f->m);
    symtest_rmdir(f->dir);
}

static void pefix_callee(struct pefix *f, uint64_t rsp, bool with_rbp)
{
    memset(&f->callee, 0, sizeof(f->callee));
    f->callee.cpu = UNWIND_CPU_AMD64;
    testmem_set(&f->callee, UNWIND_AMD64_RSP, rsp);
    if (with_rbp)
        testmem_set(&f->callee, UNWIND_AMD64_RBP, E - 3144);
}

/* The caller after framed() at RVA: registers saved at or above LOWEST
 * are restored, the return address is [E], %rsp is E + 8. */
static void expect_framed(struct pefix *f, uint64_t rva, uint64_t lowest)
{
    uint64_t valid = 1ull << UNWIND_AMD64_RIP | 1ull << UNWIND_AMD64_RSP;

    ck_assert_msg(unwind_pe_step(f->pu, rva, &f->callee, &f->mem,
                                 &f->caller) == 0,
                  "step at %llx", (unsigned long long)rva);
    ck_assert_uint_eq(f->caller.r[UNWIND_AMD64_RIP], slot(E));
    ck_assert_uint_eq(f->caller.r[UNWIND_AMD64_RSP], E + 8);
    for (size_t i = 0; i < sizeof(framed_saves) / sizeof(framed_saves[0]);
         i++) {
        if (framed_saves[i].at < lowest)
            continue;
        valid |= 1ull << framed_saves[i].reg;
        ck_assert_uint_eq(f->caller.r[framed_saves[i].reg],
                          slot(framed_saves[i].at));
    }
    ck_assert_uint_eq(f->caller.valid, valid);
}

START_TEST(test_pe_framed)
{
    struct pefix f;

    if (!pefix_init(&f))
        return;
    /* body, after the call at 1359, with 0x120 bytes of alloca below the
     * fixed frame: only %rbp locates the frame */
    pefix_callee(&f, E - 3272 - 0x120, true);
    expect_framed(&f, 0x135e, E - 64);
    /* without %rbp the body can't be unwound */
    pefix_callee(&f, E - 3272 - 0x120, false);
    ck_assert_int_eq(unwind_pe_step(f.pu, 0x135e, &f.callee, &f.mem,
                                    &f.caller),
                     -EINVAL);
    /* prolog at 12d9 (offset 9): rbp, r15, r14, r13, r12 pushed */
    pefix_callee(&f, E - 40, false);
    expect_framed(&f, 0x12d9, E - 40);
    /* prolog at 12d0: nothing done yet */
    pefix_callee(&f, E, false);
    expect_framed(&f, 0x12d0, E + 1);
    /* prolog at 12e3 (offset 0x13, before the lea): all pushes and the
     * allocation undone, %rbp not needed */
    pefix_callee(&f, E - 3272, false);
    expect_framed(&f, 0x12e3, E - 64);
    /* epilog at its lea: %rsp = rbp + 3080 = E - 64, then all pops */
    pefix_callee(&f, 0x10, true);
    expect_framed(&f, 0x13ae, E - 64);
    /* epilog at 13b6 (pop rdi): rbx already popped */
    pefix_callee(&f, E - 56, false);
    expect_framed(&f, 0x13b6, E - 56);
    /* epilog at the ret */
    pefix_callee(&f, E, false);
    expect_framed(&f, 0x13c1, E + 1);
    pefix_done(&f);
}
END_TEST

/* mainCRTStartup at 13d0..1400: sub rsp, 40 (ALLOC_SMALL 40); the call to
 * framed() at 13ee; 13fb add rsp, 40; 13ff ret.  __chkstk at 1400 has no
 * RUNTIME_FUNCTION (a leaf). */
START_TEST(test_pe_small_and_leaf)
{
    struct pefix f;

    if (!pefix_init(&f))
        return;
    pefix_callee(&f, E - 40, false);
    expect_framed(&f, 0x13f3, E + 1);
    /* the epilog's add rsp, 40 */
    expect_framed(&f, 0x13fb, E + 1);
    pefix_callee(&f, E, false);
    expect_framed(&f, 0x13ff, E + 1);
    ck_assert_int_eq(unwind_pe_step(f.pu, 0x1400, &f.callee, &f.mem,
                                    &f.caller),
                     -ENOENT);
    ck_assert_int_eq(unwind_pe_step(f.pu, 0x12c8, &f.callee, &f.mem,
                                    &f.caller),
                     -ENOENT);
    /* unreadable stack */
    pefix_callee(&f, 0x10, false);
    ck_assert_int_eq(unwind_pe_step(f.pu, 0x13f3, &f.callee, &f.mem,
                                    &f.caller),
                     -EINVAL);
    /* amd64 only */
    pefix_callee(&f, E, false);
    f.callee.cpu = UNWIND_CPU_X86;
    ck_assert_int_eq(unwind_pe_step(f.pu, 0x13f3, &f.callee, &f.mem,
                                    &f.caller),
                     -EINVAL);
    pefix_done(&f);
}
END_TEST

/* Not PE32+, or damaged: -ENOENT / -EINVAL, never a crash; every
 * truncation and many bit flips of the real image are survived. */
START_TEST(test_pe_hostile)
{
    char *exe = symtest_data("pdb/CrashWithException.exe");
    char *x86 = symtest_data("pdb/crash.exe");
    struct testmem *m = calloc(1, sizeof(*m));
    struct unwind_memory mem = testmem_mem(m);
    struct unwind_regs callee, caller;
    struct unwind_pe *pu;
    size_t len, len32;
    uint8_t *data = slurp(exe, &len), *d32 = slurp(x86, &len32);
    uint8_t *copy = malloc(len);

    m->base = STACK;
    fill_stack(m);
    memset(&callee, 0, sizeof(callee));
    callee.cpu = UNWIND_CPU_AMD64;
    testmem_set(&callee, UNWIND_AMD64_RSP, STACK + 0x800);
    testmem_set(&callee, UNWIND_AMD64_RBP, STACK + 0x900);
    ck_assert_int_eq(unwind_pe_open(d32, len32, &pu), -ENOENT);
    ck_assert_int_eq(unwind_pe_open((const uint8_t *)"MZ", 2, &pu), -ENOENT);
    for (size_t cut = 0; cut < len; cut += 61) {
        if (unwind_pe_open(data, cut, &pu) == 0) {
            for (uint64_t rva = 0x1000; rva < 0x1400; rva += 3)
                unwind_pe_step(pu, rva, &callee, &mem, &caller);
            unwind_pe_free(pu);
        }
    }
    srand(7);
    for (int round = 0; round < 300; round++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 8; k++)
            copy[(size_t)rand() % len] ^= (uint8_t)(1u << (rand() % 8));
        if (unwind_pe_open(copy, len, &pu) == 0) {
            for (uint64_t rva = 0x1000; rva < 0x2000; rva += 5)
                unwind_pe_step(pu, rva, &callee, &mem, &caller);
            unwind_pe_free(pu);
        }
    }
    free(copy);
    free(data);
    free(d32);
    free(x86);
    free(exe);
    free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unwind_pe");
    TCase *tc = tcase_create("pe");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pe_msvc_oracle);
    tcase_add_test(tc, test_pe_clang_oracle);
    tcase_add_test(tc, test_pe_framed);
    tcase_add_test(tc, test_pe_small_and_leaf);
    tcase_add_test(tc, test_pe_hostile);
    suite_add_tcase(s, tc);
    return symtest_run(s);
}
