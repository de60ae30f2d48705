/* SPDX-License-Identifier: MIT */
/*
 * stackwalk_report: the walk as Symbolicator's minidump response
 * (shared/reference/symbolicator-api.md): "stacktraces" with "frames"
 * and "registers", "modules" with "debug_status", and the crash summary
 * ("crashed", "crash_reason", "arch", "os", "system_info").  Used by
 * symsrvd-stackwalk --json and the daemon's POST /minidump.
 */
#include "symsrvd_config.h"
#include "fileio.h"

#include "stackwalk/stackwalk_report.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle/demangle.h"

const char *stackwalk_report_function(const struct stackwalk_frame *f,
                                      char **owned)
{
    *owned = demangle_name(f->function, f->lang);
    return *owned ? *owned : f->function;
}

bool stackwalk_report_crashed(const struct minidump *md, const char **reason,
                              uint64_t *address)
{
    *address = 0;
    *reason = minidump_crash_reason(md, address);
    return *reason != NULL;
}

static json_t *hex_json(uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
    return json_string(buf);
}

/* Symbolicator's architecture names. */
static const char *arch_name(enum unwind_cpu cpu)
{
    switch (cpu) {
    case UNWIND_CPU_X86:
        return "x86";
    case UNWIND_CPU_AMD64:
        return "x86_64";
    case UNWIND_CPU_ARM:
        return "arm";
    case UNWIND_CPU_ARM64:
        return "arm64";
    default:
        return "unknown";
    }
}

static const char *frame_status(const struct stackwalk_result *r,
                                const struct stackwalk_frame *f)
{
    if (f->module == NULL)
        return "unknown_image";
    if (f->function)
        return "symbolicated";
    if (stackwalk_module_status(r, f->module_index) == STACKWALK_SYMS_FOUND)
        return "missing_symbol";
    return "missing";
}

static void frame_symbol_json(json_t *o, const struct stackwalk_frame *f)
{
    const char *lang = symtable_lang_name(f->lang);
    char *owned;

    json_object_set_new(o, "function",
                        json_string(stackwalk_report_function(f, &owned)));
    free(owned);
    json_object_set_new(o, "symbol", json_string(f->function));
    json_object_set_new(o, "sym_addr", hex_json(f->function_base));
    if (f->file) {
        json_object_set_new(o, "filename", json_string(path_base(f->file)));
        json_object_set_new(o, "abs_path", json_string(f->file));
        json_object_set_new(o, "lineno", json_integer(f->line));
        json_object_set_new(o, "line_addr", hex_json(f->line_base));
    }
    if (lang)
        json_object_set_new(o, "lang", json_string(lang));
}

static json_t *frame_json(const struct stackwalk_result *r,
                          const struct stackwalk_frame *f, size_t index,
                          enum stackwalk_trust trust)
{
    json_t *o = json_object();

    json_object_set_new(o, "status", json_string(frame_status(r, f)));
    json_object_set_new(o, "original_index", json_integer((json_int_t)index));
    json_object_set_new(o, "instruction_addr", hex_json(f->instruction));
    json_object_set_new(o, "trust", json_string(stackwalk_trust_name(trust)));
    if (f->module)
        json_object_set_new(o, "package", json_string(f->module->code_file));
    if (f->function)
        frame_symbol_json(o, f);
    return o;
}

static json_t *registers_json(enum unwind_cpu cpu, const struct unwind_regs *r)
{
    json_t *o = json_object();
    unsigned n = unwind_reg_count(cpu);

    for (unsigned k = 0; k < n; k++) {
        const char *name = unwind_reg_name(cpu, (int)k);

        if (name && ((r->valid >> k) & 1))
            json_object_set_new(o, name, hex_json(r->r[k]));
    }
    return o;
}

static json_t *thread_json(const struct stackwalk_result *r, size_t i)
{
    const struct stackwalk_thread *t = stackwalk_thread(r, i);
    json_t *o = json_object(), *frames = json_array();

    json_object_set_new(o, "thread_id", json_integer(t->thread_id));
    if (t->name[0])
        json_object_set_new(o, "thread_name", json_string(t->name));
    json_object_set_new(
        o, "is_requesting",
        json_boolean((long)i == stackwalk_requesting_thread(r)));
    for (size_t k = 0; k < t->nframes; k++) {
        /* the context frame's registers: the first physical frame */
        if (t->frames[k].trust != STACKWALK_TRUST_INLINE) {
            json_object_set_new(
                o, "registers",
                registers_json(stackwalk_cpu(r), &t->frames[k].regs));
            break;
        }
    }
    /* Symbolicator numbers frames as the stack walker found them
     * (original_index) and gives the inlined frames it expands from one of
     * them that frame's index and trust; they come just before it. */
    for (size_t k = 0, phys = 0; k < t->nframes; k++) {
        const struct stackwalk_frame *f = &t->frames[k];
        size_t outer = k;

        while (outer + 1 < t->nframes &&
               t->frames[outer].trust == STACKWALK_TRUST_INLINE)
            outer++;
        json_array_append_new(frames,
                              frame_json(r, f, phys, t->frames[outer].trust));
        if (f->trust != STACKWALK_TRUST_INLINE)
            phys++;
    }
    json_object_set_new(o, "frames", frames);
    if (t->truncated)
        json_object_set_new(o, "truncated", json_true());
    return o;
}

static const char *debug_status(enum stackwalk_symstatus st)
{
    switch (st) {
    case STACKWALK_SYMS_FOUND:
        return "found";
    case STACKWALK_SYMS_MISSING:
        return "missing";
    case STACKWALK_SYMS_CORRUPT:
        return "malformed";
    default:
        return "unused";
    }
}

const char *stackwalk_report_module_type(const struct minidump *md)
{
    const struct minidump_system_info *si = minidump_system_info(md);
    const char *os = si ? si->os_short : "";

    if (strcmp(os, "windows") == 0)
        return "pe";
    if (strcmp(os, "mac") == 0 || strcmp(os, "ios") == 0)
        return "macho";
    return "elf";
}

static json_t *module_json(const struct minidump *md,
                           const struct stackwalk_result *r, size_t i)
{
    const struct minidump_module *m = minidump_module(md, i);
    json_t *o = json_object();

    json_object_set_new(
        o, "debug_status",
        json_string(debug_status(stackwalk_module_status(r, i))));
    json_object_set_new(o, "type", json_string(stackwalk_report_module_type(md)));
    json_object_set_new(o, "code_id", json_string(m->code_id));
    json_object_set_new(o, "code_file", json_string(m->code_file));
    json_object_set_new(o, "debug_id", json_string(m->debug_id));
    json_object_set_new(o, "debug_file", json_string(m->debug_file));
    json_object_set_new(o, "image_addr", hex_json(m->base));
    json_object_set_new(o, "image_size", json_integer((json_int_t)m->size));
    if (m->version[0])
        json_object_set_new(o, "version", json_string(m->version));
    return o;
}

/* Symbolicator's os_name for the dump's platform (its "os" object keeps
 * Breakpad's long names). */
static const char *os_name(const struct minidump_system_info *si)
{
    static const struct {
        const char *short_name, *name;
    } names[] = {{"windows", "Windows"}, {"mac", "macOS"},
                 {"ios", "iOS"},         {"linux", "Linux"},
                 {"solaris", "Solaris"}, {"android", "Android"}};

    for (size_t i = 0; si != NULL && i < sizeof(names) / sizeof(*names); i++)
        if (strcmp(si->os_short, names[i].short_name) == 0)
            return names[i].name;
    return "";
}

static void summary_json(json_t *o, const struct minidump *md,
                         const struct stackwalk_result *r)
{
    const struct minidump_system_info *si = minidump_system_info(md);
    const char *reason, *assertion = minidump_assertion(md);
    json_t *os = json_object(), *sys = json_object();
    uint64_t addr;
    bool crashed = stackwalk_report_crashed(md, &reason, &addr);

    json_object_set_new(o, "crashed", json_boolean(crashed));
    if (crashed) {
        json_object_set_new(o, "crash_reason", json_string(reason));
        json_object_set_new(o, "crash_address", hex_json(addr));
    }
    if (assertion && assertion[0])
        json_object_set_new(o, "assertion", json_string(assertion));
    json_object_set_new(o, "arch", json_string(arch_name(stackwalk_cpu(r))));
    json_object_set_new(os, "name", json_string(si ? si->os : ""));
    json_object_set_new(os, "version", json_string(si ? si->os_version : ""));
    json_object_set_new(o, "os", os);
    json_object_set_new(sys, "os_name", json_string(os_name(si)));
    json_object_set_new(sys, "os_version",
                        json_string(si ? si->os_version : ""));
    json_object_set_new(sys, "cpu_arch",
                        json_string(arch_name(stackwalk_cpu(r))));
    json_object_set_new(sys, "cpu_info", json_string(si ? si->cpu_info : ""));
    json_object_set_new(sys, "cpu_count",
                        json_integer(si ? si->number_of_processors : 0));
    json_object_set_new(o, "system_info", sys);
}

json_t *stackwalk_report_json(const struct minidump *md,
                              const struct stackwalk_result *r)
{
    json_t *o = json_object(), *traces = json_array(), *mods = json_array();

    /* the wire value; the API document says "complete" */
    json_object_set_new(o, "status", json_string("completed"));
    summary_json(o, md, r);
    for (size_t i = 0; i < stackwalk_thread_count(r); i++)
        json_array_append_new(traces, thread_json(r, i));
    json_object_set_new(o, "stacktraces", traces);
    for (size_t i = 0; i < minidump_module_count(md); i++)
        json_array_append_new(mods, module_json(md, r, i));
    json_object_set_new(o, "modules", mods);
    return o;
}
