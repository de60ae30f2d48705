/* SPDX-License-Identifier: MIT */
/*
 * mdsynth: write a large synthetic amd64 minidump and the Breakpad symbol
 * files for its modules, for bench/stackwalk.sh.
 *
 *   mdsynth OUT.dmp SYMDIR [THREADS [MODULES [DEPTH]]]   (200 300 32)
 *
 * Every module (/synth/modNNN.so, 64 KiB) gets a .sym file in Breakpad's
 * store layout under SYMDIR with one FUNC, one line record and STACK CFI
 * (push rbp; mov rbp, rsp) per 256 bytes.  Every thread's stack holds a
 * chain of DEPTH frames whose return addresses fall after the prologue
 * of a function in a module chosen by a fixed pseudo-random sequence, so
 * a walk recovers each caller by CFI and ends at the chain's zero return
 * address.  The layout of the symbol directory uses the debug ids the
 * minidump reader computes, so the dump is written, read back, and then
 * the symbol files are written.
 */
#include "symsrvd_config.h"

#include "mdwriter.h"
#include "minidump/minidump.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SYNTH_MOD_BASE     0x10000000u
#define SYNTH_MOD_STRIDE   0x100000u
#define SYNTH_MOD_SIZE     0x10000u
#define SYNTH_FUNC_SIZE    0x100u
#define SYNTH_STACK_BASE   0x7f0000000000u
#define SYNTH_STACK_STRIDE 0x100000u
#define SYNTH_FRAME        0x100u

static uint32_t rng = 12345;

static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static uint64_t random_pc(unsigned nmods, uint32_t past_prologue)
{
    uint64_t mod = next_rand() % nmods;
    uint64_t fn = next_rand() % (SYNTH_MOD_SIZE / SYNTH_FUNC_SIZE);

    return SYNTH_MOD_BASE + mod * SYNTH_MOD_STRIDE + fn * SYNTH_FUNC_SIZE +
           past_prologue;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void add_modules(struct mdw *w, unsigned nmods)
{
    for (unsigned i = 0; i < nmods; i++) {
        uint8_t cv[64], id[20];
        char name[64];
        struct mdw_module m = {.base = SYNTH_MOD_BASE +
                                       (uint64_t)i * SYNTH_MOD_STRIDE,
                               .size = SYNTH_MOD_SIZE,
                               .name = name};

        for (int k = 0; k < 20; k++)
            id[k] = (uint8_t)(i * 31 + k * 7 + 1);
        snprintf(name, sizeof(name), "/synth/mod%03u.so", i);
        m.cv_len = mdw_cv_elf(cv, sizeof(cv), id, sizeof(id));
        m.cv = cv;
        mdw_module(w, &m);
    }
}

/* One thread: context in a function body, DEPTH frame records. */
static void add_thread(struct mdw *w, unsigned t, unsigned nmods,
                       unsigned depth, uint8_t *stack, size_t len)
{
    uint64_t start = SYNTH_STACK_BASE + (uint64_t)t * SYNTH_STACK_STRIDE;
    struct unwind_regs r = {.cpu = UNWIND_CPU_AMD64};
    struct mdw_thread th = {.tid = 100 + t,
                            .stack_start = start,
                            .stack = stack,
                            .stack_len = len,
                            .ctx = {.kind = MDW_CTX_AMD64, .regs = &r}};

    memset(stack, 0, len);
    for (unsigned j = 0; j < depth; j++) {
        size_t fp = 0x40 + (size_t)j * SYNTH_FRAME;

        put64(stack + fp, j + 1 < depth ? start + fp + SYNTH_FRAME : 0);
        put64(stack + fp + 8, j + 1 < depth ? random_pc(nmods, 0x20) : 0);
    }
    r.valid = (UINT64_C(1) << UNWIND_AMD64_RIP) |
              (UINT64_C(1) << UNWIND_AMD64_RSP) |
              (UINT64_C(1) << UNWIND_AMD64_RBP);
    r.r[UNWIND_AMD64_RIP] = random_pc(nmods, 0x30);
    r.r[UNWIND_AMD64_RSP] = start;
    r.r[UNWIND_AMD64_RBP] = start + 0x40;
    mdw_thread(w, &th);
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    int rc = 0;

    if (fp == NULL)
        return -errno;
    if (fwrite(data, 1, len, fp) != len)
        rc = -EIO;
    if (fclose(fp) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}

static int write_sym(const char *dir, const struct minidump_module *m)
{
    const char *base = strrchr(m->debug_file, '/');
    char path[4096];
    FILE *fp;

    base = base ? base + 1 : m->debug_file;
    snprintf(path, sizeof(path), "%s/%s", dir, base);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, base, m->debug_id);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s/%s.sym", dir, base, m->debug_id,
             base);
    fp = fopen(path, "w");
    if (fp == NULL)
        return -errno;
    fprintf(fp, "MODULE Linux x86_64 %s %s\nFILE 0 /synth/%s.c\n", m->debug_id,
            base, base);
    for (unsigned a = 0; a < SYNTH_MOD_SIZE; a += SYNTH_FUNC_SIZE)
        fprintf(fp, "FUNC %x %x 0 f%x\n%x %x %u 0\n", a, SYNTH_FUNC_SIZE, a, a,
                SYNTH_FUNC_SIZE, 10 + a / SYNTH_FUNC_SIZE);
    for (unsigned a = 0; a < SYNTH_MOD_SIZE; a += SYNTH_FUNC_SIZE)
        fprintf(fp,
                "STACK CFI INIT %x %x .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
                "STACK CFI %x .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
                "STACK CFI %x .cfa: $rbp 16 +\n",
                a, SYNTH_FUNC_SIZE, a + 1, a + 4);
    return fclose(fp) == 0 ? 0 : -EIO;
}

static int write_syms(const char *dir, const uint8_t *dump, size_t len)
{
    struct minidump *md;
    char err[256];
    int rc = minidump_load(dump, len, &md, err, sizeof(err));

    if (rc < 0) {
        fprintf(stderr, "mdsynth: reading back: %s\n", err);
        return rc;
    }
    mkdir(dir, 0755);
    for (size_t i = 0; i < minidump_module_count(md) && rc == 0; i++)
        rc = write_sym(dir, minidump_module(md, i));
    minidump_free(md);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned nthreads = argc > 3 ? (unsigned)atoi(argv[3]) : 200;
    unsigned nmods = argc > 4 ? (unsigned)atoi(argv[4]) : 300;
    unsigned depth = argc > 5 ? (unsigned)atoi(argv[5]) : 32;
    size_t stack_len = 0x40 + (size_t)(depth + 1) * SYNTH_FRAME;
    uint8_t *stack, *dump;
    size_t len;
    struct mdw *w;
    struct mdw_system_info si = {.arch = 9, .ncpus = 8, .platform = 0x8201};
    int rc;

    if (argc < 3 || nthreads == 0 || nmods == 0 || nmods > 1000 || depth == 0 ||
        depth > 1000) {
        fprintf(stderr, "usage: mdsynth OUT.dmp SYMDIR [THREADS [MODULES "
                        "[DEPTH]]]\n");
        return 2;
    }
    stack = malloc(stack_len);
    w = mdw_new(1700000000);
    mdw_system_info(w, &si);
    add_modules(w, nmods);
    for (unsigned t = 0; t < nthreads; t++)
        add_thread(w, t, nmods, depth, stack, stack_len);
    mdw_finish(w, &dump, &len);
    mdw_free(w);
    free(stack);
    rc = write_file(argv[1], dump, len);
    if (rc == 0)
        rc = write_syms(argv[2], dump, len);
    free(dump);
    if (rc < 0)
        fprintf(stderr, "mdsynth: %s\n", strerror(-rc));
    return rc < 0 ? 1 : 0;
}
