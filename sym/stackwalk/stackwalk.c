/* SPDX-License-Identifier: MIT */
/*
 * stackwalk: the per-thread loop (frame 0 from the context, then one
 * stackwalk_step() per caller until a stop rule fires), symbolication of
 * each frame, and the result container.  See stackwalk.h for the rules.
 *
 * DESIGN.  The symbols of a module are asked of the provider once per
 * walk and kept in a per-module array, so a thread of 1000 frames in one
 * module costs one provider call.  The stop rules make every walk finite
 * on its own: the stack pointer must grow (x86/amd64) or at least not
 * shrink without a new pc (arm), and the frame bound caps the rest.
 */
#include "symsrvd_config.h"

#include "stackwalk/stackwalk.h"
#include "stackwalk/stackwalk_int.h"

#include "xalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Inline chains deeper than this are cut (the outermost frames kept). */
#define STACKWALK_MAX_INLINE 64

/* Program counters below this are in the null page: a walk ends there. */
#define STACKWALK_MIN_PC 0x1000

struct stackwalk_result {
    enum unwind_cpu cpu;
    size_t nthreads;
    struct stackwalk_thread *threads;
    long requesting;
    size_t nmodules;
    enum stackwalk_symstatus *status;
};

/* A thread's growing frame array. */
struct frame_list {
    struct stackwalk_frame *v;
    size_t n, cap, max;
};

uint64_t stackwalk_call_adjust(enum unwind_cpu cpu)
{
    switch (cpu) {
    case UNWIND_CPU_ARM64:
        return 4;
    case UNWIND_CPU_ARM:
        return 2;
    default:
        return 1;
    }
}

size_t stackwalk_module_index(const struct stackwalk_walk *w, uint64_t addr)
{
    const struct minidump_module *m = minidump_module_at(w->md, addr);
    uintptr_t first, at = (uintptr_t)m;
    size_t guess;

    if (m == NULL || w->nmodules == 0)
        return SIZE_MAX;
    /* minidump_module_at() returns an element of the module list; when
     * the list is one array (as the minidump reader keeps it) the index
     * is a subtraction, checked before it is trusted. */
    first = (uintptr_t)minidump_module(w->md, 0);
    guess = at >= first ? (at - first) / sizeof(*m) : SIZE_MAX;
    if (guess < w->nmodules && minidump_module(w->md, guess) == m)
        return guess;
    for (size_t i = 0; i < w->nmodules; i++) {
        if (minidump_module(w->md, i) == m)
            return i;
    }
    return SIZE_MAX;
}

const struct stackwalk_symbols *stackwalk_module_syms(struct stackwalk_walk *w,
                                                      size_t i)
{
    struct stackwalk_symbols *s = &w->syms[i];

    if (w->status[i] != STACKWALK_SYMS_UNUSED)
        return s;
    if (w->provider == NULL ||
        w->provider->get(w->provider->ctx, minidump_module(w->md, i), s) < 0)
        *s = (struct stackwalk_symbols){0};
    if (s->table)
        w->status[i] = STACKWALK_SYMS_FOUND;
    else if (s->corrupt)
        w->status[i] = STACKWALK_SYMS_CORRUPT;
    else
        w->status[i] = STACKWALK_SYMS_MISSING;
    return s;
}

/* A new slot at the end of L, or NULL when the bound is reached. */
static struct stackwalk_frame *frame_push(struct frame_list *l)
{
    if (l->n >= l->max)
        return NULL;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        if (l->cap > l->max)
            l->cap = l->max;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    memset(&l->v[l->n], 0, sizeof(l->v[0]));
    return &l->v[l->n++];
}

static void frame_symbol(struct stackwalk_frame *f,
                         const struct symtable_frame *s, uint64_t base)
{
    f->function = s->function;
    f->file = s->file;
    f->line = s->line;
    f->lang = s->lang;
    f->function_base = base + s->sym_rva;
    f->line_base = base + s->line_rva;
}

/* Append the frame at REGS (and, before it, the calls inlined at its
 * address).  False when the frame bound cut it. */
static bool add_frame(struct stackwalk_walk *w, struct frame_list *l,
                      const struct unwind_regs *regs,
                      enum stackwalk_trust trust, bool context)
{
    struct symtable_frame sf[STACKWALK_MAX_INLINE];
    uint64_t pc = regs->r[unwind_reg_pc(w->cpu)];
    uint64_t adj = stackwalk_call_adjust(w->cpu);
    uint64_t at = context || pc < adj ? pc : pc - adj;
    size_t mi = stackwalk_module_index(w, at), n = 0;
    const struct minidump_module *m = NULL;
    const struct stackwalk_symbols *s;
    struct stackwalk_frame *f;

    if (mi != SIZE_MAX) {
        m = minidump_module(w->md, mi);
        s = stackwalk_module_syms(w, mi);
        if (s->table)
            n = symtable_lookup(s->table, at - m->base, sf,
                                STACKWALK_MAX_INLINE, NULL);
    }
    for (size_t k = 0; k < n; k++) {
        f = frame_push(l);
        if (f == NULL)
            return false;
        f->instruction = pc;
        f->lookup = at;
        f->module = m;
        f->module_index = mi;
        f->trust = k + 1 < n ? STACKWALK_TRUST_INLINE : trust;
        if (k + 1 == n)
            f->regs = *regs;
        frame_symbol(f, &sf[k], m->base);
    }
    if (n > 0)
        return true;
    f = frame_push(l);
    if (f == NULL)
        return false;
    *f = (struct stackwalk_frame){.instruction = pc,
                                  .lookup = at,
                                  .module = m,
                                  .module_index = mi,
                                  .trust = trust,
                                  .regs = *regs};
    return true;
}

/* Whether CALLER is a frame the walk may continue with. */
static bool caller_ok(const struct stackwalk_walk *w,
                      const struct frame_list *l,
                      const struct unwind_regs *callee,
                      const struct unwind_regs *caller)
{
    int pcr = unwind_reg_pc(w->cpu), spr = unwind_reg_sp(w->cpu);
    uint64_t pc = caller->r[pcr], sp = caller->r[spr];
    uint64_t old_sp = callee->r[spr];
    bool strict = w->cpu == UNWIND_CPU_X86 || w->cpu == UNWIND_CPU_AMD64;

    if (pc < STACKWALK_MIN_PC)
        return false;
    if (strict ? sp <= old_sp : sp < old_sp)
        return false;
    if (w->has_stack && sp > w->stack_hi)
        return false;
    /* Frames with the same sp are contiguous (sp never shrinks): a pc
     * already seen at this sp is a loop. */
    for (size_t i = l->n; i-- > 0;) {
        const struct unwind_regs *r = &l->v[i].regs;

        if (l->v[i].trust == STACKWALK_TRUST_INLINE)
            continue;
        if (r->r[spr] != sp)
            break;
        if (r->r[pcr] == pc)
            return false;
    }
    return true;
}

static void walk_thread(struct stackwalk_walk *w,
                        const struct unwind_regs *context, struct frame_list *l,
                        bool *truncated)
{
    struct unwind_regs regs = *context, caller;
    enum stackwalk_trust trust = STACKWALK_TRUST_CONTEXT;
    bool is_context = true;
    int pcr = unwind_reg_pc(w->cpu);

    regs.cpu = w->cpu;
    w->callee_params = 0;
    if (!((regs.valid >> pcr) & 1))
        return;
    for (;;) {
        if (!add_frame(w, l, &regs, trust, is_context)) {
            *truncated = true;
            return;
        }
        if (stackwalk_step(w, &regs, is_context, &caller, &trust) < 0)
            return;
        if (!caller_ok(w, l, &regs, &caller))
            return;
        regs = caller;
        is_context = false;
    }
}

/* The context a thread's walk starts from: the exception's for the
 * thread that crashed. */
static const struct unwind_regs *thread_context(const struct minidump *md,
                                                const struct minidump_thread *t,
                                                bool *crashed)
{
    const struct minidump_exception *e = minidump_exception(md);

    *crashed = e != NULL && e->thread_id == t->thread_id;
    if (*crashed && e->has_context)
        return &e->context;
    return t->has_context ? &t->context : NULL;
}

static void run_thread(struct stackwalk_walk *w, struct stackwalk_result *r,
                       const struct minidump_thread *t, size_t max_frames)
{
    struct stackwalk_thread *out = &r->threads[r->nthreads];
    struct frame_list l = {.max = max_frames};
    const struct unwind_regs *ctx;

    *out =
        (struct stackwalk_thread){.thread_id = t->thread_id, .name = t->name};
    ctx = thread_context(w->md, t, &out->crashed);
    w->has_stack = t->stack != NULL && t->stack_len > 0;
    w->stack_lo = t->stack_start;
    w->stack_hi = t->stack_start + t->stack_len;
    if (w->stack_hi < w->stack_lo)
        w->has_stack = false;
    if (ctx)
        walk_thread(w, ctx, &l, &out->truncated);
    out->frames = l.v;
    out->nframes = l.n;
    r->nthreads++;
}

/* Breakpad's requesting thread: the one that crashed, else the one the
 * Breakpad info stream says asked for the dump. */
static long requesting_index(const struct minidump *md,
                             const struct stackwalk_result *r)
{
    uint32_t tid;

    for (size_t i = 0; i < r->nthreads; i++) {
        if (r->threads[i].crashed)
            return (long)i;
    }
    if (minidump_exception(md) == NULL &&
        minidump_requesting_thread(md, &tid)) {
        for (size_t i = 0; i < r->nthreads; i++) {
            if (r->threads[i].thread_id == tid)
                return (long)i;
        }
    }
    return -1;
}

static void walk_init(struct stackwalk_walk *w, const struct minidump *md,
                      const struct stackwalk_provider *provider,
                      const struct stackwalk_options *opts, enum unwind_cpu cpu)
{
    *w = (struct stackwalk_walk){.md = md, .provider = provider, .cpu = cpu};
    w->word = unwind_addr_size(cpu);
    w->scan = opts ? opts->scan : true;
    w->nmodules = minidump_module_count(md);
    w->syms = xcalloc(w->nmodules + 1, sizeof(*w->syms));
    w->status = xcalloc(w->nmodules + 1, sizeof(*w->status));
    minidump_memory(md, &w->mem);
}

/* The dump's CPU: SystemInfo's, else that of the first CPU context (a
 * truncated dump may have lost SystemInfo and kept its threads). */
static enum unwind_cpu dump_cpu(const struct minidump *md)
{
    const struct minidump_system_info *si = minidump_system_info(md);
    const struct minidump_exception *e = minidump_exception(md);

    if (si != NULL && si->cpu != UNWIND_CPU_UNKNOWN)
        return si->cpu;
    if (e != NULL && e->has_context)
        return e->context.cpu;
    for (size_t i = 0; i < minidump_thread_count(md); i++) {
        const struct minidump_thread *t = minidump_thread(md, i);

        if (t->has_context)
            return t->context.cpu;
    }
    return UNWIND_CPU_UNKNOWN;
}

int stackwalk_run(const struct minidump *md,
                  const struct stackwalk_provider *provider,
                  const struct stackwalk_options *opts,
                  struct stackwalk_result **out)
{
    enum unwind_cpu cpu = dump_cpu(md);
    size_t max = opts && opts->max_frames ? opts->max_frames
                                          : STACKWALK_DEFAULT_MAX_FRAMES;
    size_t nthreads = minidump_thread_count(md);
    struct stackwalk_result *r;
    struct stackwalk_walk w;
    uint32_t dump_tid;
    bool skip = minidump_dump_thread(md, &dump_tid);

    *out = NULL;
    if (unwind_addr_size(cpu) == 0 || unwind_reg_count(cpu) == 0)
        return -EINVAL;
    walk_init(&w, md, provider, opts, cpu);
    r = xcalloc(1, sizeof(*r));
    r->cpu = cpu;
    r->threads = xcalloc(nthreads + 1, sizeof(*r->threads));
    for (size_t i = 0; i < nthreads; i++) {
        const struct minidump_thread *t = minidump_thread(md, i);

        if (t != NULL && !(skip && t->thread_id == dump_tid))
            run_thread(&w, r, t, max);
    }
    r->requesting = requesting_index(md, r);
    r->nmodules = w.nmodules;
    r->status = w.status;
    free(w.syms);
    *out = r;
    return 0;
}

void stackwalk_result_free(struct stackwalk_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nthreads; i++)
        free((void *)(uintptr_t)r->threads[i].frames);
    free(r->threads);
    free(r->status);
    free(r);
}

enum unwind_cpu stackwalk_cpu(const struct stackwalk_result *r)
{
    return r->cpu;
}

size_t stackwalk_thread_count(const struct stackwalk_result *r)
{
    return r->nthreads;
}

const struct stackwalk_thread *
stackwalk_thread(const struct stackwalk_result *r, size_t i)
{
    return i < r->nthreads ? &r->threads[i] : NULL;
}

long stackwalk_requesting_thread(const struct stackwalk_result *r)
{
    return r->requesting;
}

enum stackwalk_symstatus
stackwalk_module_status(const struct stackwalk_result *r, size_t i)
{
    return i < r->nmodules ? r->status[i] : STACKWALK_SYMS_UNUSED;
}

static const struct {
    const char *description, *name;
} trust_names[] = {
    [STACKWALK_TRUST_NONE] = {"unknown", "none"},
    [STACKWALK_TRUST_SCAN] = {"stack scanning", "scan"},
    [STACKWALK_TRUST_CFI_SCAN] = {"call frame info with scanning", "cfi_scan"},
    [STACKWALK_TRUST_FP] = {"previous frame's frame pointer", "fp"},
    [STACKWALK_TRUST_CFI] = {"call frame info", "cfi"},
    [STACKWALK_TRUST_PREWALKED] = {"recovered by external stack walker",
                                   "prewalked"},
    [STACKWALK_TRUST_CONTEXT] = {"given as instruction pointer in context",
                                 "context"},
    [STACKWALK_TRUST_INLINE] = {"inlined", "inline"},
};

const char *stackwalk_trust_description(enum stackwalk_trust trust)
{
    if ((size_t)trust >= sizeof(trust_names) / sizeof(trust_names[0]))
        trust = STACKWALK_TRUST_NONE;
    return trust_names[trust].description;
}

const char *stackwalk_trust_name(enum stackwalk_trust trust)
{
    if ((size_t)trust >= sizeof(trust_names) / sizeof(trust_names[0]))
        trust = STACKWALK_TRUST_NONE;
    return trust_names[trust].name;
}
