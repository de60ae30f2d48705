/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the stack walker: load the input as a minidump and
 * walk every thread with a fixed provider that hands every module the
 * fixtures' symbols (crash.sym of the Windows, Linux and macOS crashes:
 * names, lines, STACK WIN and STACK CFI), so fuzzed registers and stack
 * bytes drive the CFI and STACK WIN engines, the frame pointer and scan
 * heuristics and the stop rules.  Seeded with the fixture dumps.
 *
 * The symbol files are read once, from FUZZ_DATA_DIR (set by the build to
 * tests/data of the source tree).
 */
#include "symsrvd_config.h"

#include "breakpad/breakpad.h"
#include "minidump/minidump.h"
#include "objfile/objfile.h"
#include "stackwalk/stackwalk.h"
#include "table/symtable.h"
#include "unwind/unwind.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_syms {
    struct objfile_map map;
    char path[4096];
    void *blob;
    struct breakpad_stack *recs;
    struct stackwalk_symbols syms;
};

/* x86 dumps get the Windows symbols; others the Linux ones for modules
 * whose base has bit 12 clear, the macOS ones otherwise.  Loaded once and
 * kept for the process (still reachable, so no leak is reported). */
static struct fuzz_syms windows, linux_syms, macos;

static void load_one(struct fuzz_syms *f, const char *rel)
{
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t = NULL;
    struct unwind_bpindex *ix = NULL;
    size_t len, n;

    snprintf(f->path, sizeof(f->path), "%s/%s", FUZZ_DATA_DIR, rel);
    if (objfile_map(f->path, &f->map) < 0) {
        fprintf(stderr, "fuzz_stackwalk: %s\n", f->map.err);
        abort();
    }
    if (objfile_build(&f->map, b) == 0 &&
        symtable_builder_finish(b, &f->blob, &len) == 0 &&
        symtable_load(f->blob, len, &t) == 0)
        f->syms.table = t;
    if (breakpad_stack_records(&f->map, &f->recs, &n) == 0 &&
        unwind_bpindex_new(f->recs, n, &ix, NULL, 0) == 0)
        f->syms.bp = ix;
    symtable_builder_free(b);
    if (f->syms.table == NULL || f->syms.bp == NULL)
        abort(); /* the fixtures must load */
}

static int fuzz_get(void *ctx, const struct minidump_module *m,
                    struct stackwalk_symbols *out)
{
    enum unwind_cpu cpu = *(const enum unwind_cpu *)ctx;

    if (cpu == UNWIND_CPU_X86)
        *out = windows.syms;
    else if ((m->base >> 12) & 1)
        *out = macos.syms;
    else
        *out = linux_syms.syms;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    load_one(&windows, "pdb/crash.sym");
    load_one(&linux_syms, "breakpad/linux/crash.sym");
    load_one(&macos, "breakpad/macos/crash.sym");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct minidump *md;
    struct stackwalk_result *r;
    enum unwind_cpu cpu;
    struct stackwalk_provider p = {.get = fuzz_get, .ctx = &cpu};
    struct stackwalk_options o = {.max_frames = 256, .scan = true};
    const struct minidump_system_info *si;

    if (minidump_load(data, size, &md, NULL, 0) != 0)
        return 0;
    si = minidump_system_info(md);
    cpu = si ? si->cpu : UNWIND_CPU_UNKNOWN;
    if (stackwalk_run(md, &p, &o, &r) == 0) {
        for (size_t i = 0; i < stackwalk_thread_count(r); i++) {
            const struct stackwalk_thread *t = stackwalk_thread(r, i);

            if (t->nframes > o.max_frames)
                abort();
        }
        stackwalk_result_free(r);
    }
    minidump_free(md);
    return 0;
}
