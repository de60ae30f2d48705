/* SPDX-License-Identifier: MIT */
/*
 * stackwalk_text: Breakpad minidump_stackwalk's two text formats, the
 * report and the -m machine-readable lines, byte for byte in the layout
 * of its stackwalk_common.cc (frame lines, 80-column register lines,
 * "Found by:" wording, module ranges).
 */
#include "symsrvd_config.h"
#include "fileio.h"

#include "stackwalk_print.h"

#include "xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SW_REGISTER_WIDTH 80

const struct minidump_module *sw_main_module(const struct minidump *md)
{
    return minidump_module_count(md) > 0 ? minidump_module(md, 0) : NULL;
}

int sw_print_json(const struct minidump *md, const struct stackwalk_result *r)
{
    json_t *o = stackwalk_report_json(md, r);
    int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    json_decref(o);
    if (rc == 0)
        putchar('\n');
    return rc == 0 && fflush(stdout) == 0 ? 0 : -EIO;
}

/* Module indexes in order of base address, as Breakpad lists them. */
static size_t *modules_by_address(const struct minidump *md, size_t *n)
{
    size_t *v;

    *n = minidump_module_count(md);
    v = xcalloc(*n + 1, sizeof(*v));
    for (size_t i = 0; i < *n; i++) {
        size_t j = i;
        uint64_t base = minidump_module(md, i)->base;

        while (j > 0 && minidump_module(md, v[j - 1])->base > base) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = i;
    }
    return v;
}

/* --- the report ---------------------------------------------------------- */

static void print_system(const struct minidump *md)
{
    const struct minidump_system_info *si = minidump_system_info(md);
    const char *os = si ? si->os : "", *ver = si ? si->os_version : "";
    const char *cpu = si ? si->cpu_name : "", *info = si ? si->cpu_info : "";
    unsigned count = si ? si->number_of_processors : 0;

    printf("Operating system: %s\n                  %s\n", os, ver);
    printf("CPU: %s\n", cpu);
    if (info[0] != '\0')
        printf("     %s\n", info);
    printf("     %u CPU%s\n\n", count, count != 1 ? "s" : "");
    printf("GPU: UNKNOWN\n\n");
}

static void print_crash(const struct minidump *md)
{
    const struct minidump_misc_info *mi = minidump_misc_info(md);
    const char *reason, *assertion = minidump_assertion(md);
    uint32_t stamp = minidump_timestamp(md);
    uint64_t addr;

    if (stackwalk_report_crashed(md, &reason, &addr))
        printf("Crash reason:  %s\nCrash address: 0x%" PRIx64 "\n", reason,
               addr);
    else
        printf("No crash\n");
    if (assertion && assertion[0])
        printf("Assertion: %s\n", assertion);
    if (mi && mi->has_times && stamp != 0 && mi->process_create_time != 0 &&
        stamp >= mi->process_create_time)
        printf("Process uptime: %u seconds\n", stamp - mi->process_create_time);
    else
        printf("Process uptime: not available\n");
}

/* FILE!FUNCTION [SOURCE : LINE + 0xOFF], with Breakpad's fallbacks. */
static void print_frame_name(const struct stackwalk_frame *f)
{
    char *owned;

    if (f->module == NULL) {
        printf("0x%" PRIx64, f->instruction);
        return;
    }
    fputs(path_base(f->module->code_file), stdout);
    if (f->function == NULL) {
        printf(" + 0x%" PRIx64, f->instruction - f->module->base);
        return;
    }
    printf("!%s", stackwalk_report_function(f, &owned));
    free(owned);
    if (f->file)
        printf(" [%s : %" PRIu32 " + 0x%" PRIx64 "]", path_base(f->file),
               f->line, f->instruction - f->line_base);
    else
        printf(" + 0x%" PRIx64, f->instruction - f->function_base);
}

static int print_register(enum unwind_cpu cpu, const char *name, uint64_t v,
                          int col)
{
    char buf[64];
    int len;

    if (unwind_addr_size(cpu) == 4)
        len = snprintf(buf, sizeof(buf), " %5s = 0x%08" PRIx32, name,
                       (uint32_t)v);
    else
        len = snprintf(buf, sizeof(buf), " %5s = 0x%016" PRIx64, name, v);
    if (col + len > SW_REGISTER_WIDTH) {
        col = 0;
        fputs("\n ", stdout);
    }
    fputs(buf, stdout);
    return col + len;
}

/* Breakpad's order: x86 prints the frame registers first and the
 * scratch ones only when the whole context is known; arm puts r12 before
 * fp; the others follow the register numbering. */
static const int order_x86[] = {8, 4, 5, 3, 6, 7, 0, 1, 2, 9};
static const char *const names_x86[] = {"eip", "esp", "ebp", "ebx", "esi",
                                        "edi", "eax", "ecx", "edx", "efl"};
static const int order_arm[] = {0, 1, 2,  3,  4,  5,  6,  7,
                                8, 9, 10, 12, 11, 13, 14, 15};

static void print_registers(enum unwind_cpu cpu, const struct unwind_regs *r)
{
    int col = 0;
    unsigned n = unwind_reg_count(cpu);

    if (cpu == UNWIND_CPU_X86) {
        bool all = (r->valid & 0x3ff) == 0x3ff;

        for (int k = 0; k < 10; k++) {
            if ((k < 6 || all) && ((r->valid >> order_x86[k]) & 1))
                col =
                    print_register(cpu, names_x86[k], r->r[order_x86[k]], col);
        }
        return;
    }
    for (unsigned k = 0; k < n; k++) {
        int reg = cpu == UNWIND_CPU_ARM ? order_arm[k] : (int)k;
        const char *name = unwind_reg_name(cpu, reg);

        if (name && ((r->valid >> reg) & 1))
            col = print_register(cpu, name, r->r[reg], col);
    }
}

static void print_stack(enum unwind_cpu cpu, const struct stackwalk_thread *t)
{
    if (t->nframes == 0)
        printf(" <no frames>\n");
    for (size_t i = 0; i < t->nframes; i++) {
        const struct stackwalk_frame *f = &t->frames[i];

        printf("%2zu  ", i);
        print_frame_name(f);
        /* An inlined frame has no registers of its own: no register line
         * (rust-minidump prints it so too). */
        if (f->trust != STACKWALK_TRUST_INLINE) {
            fputs("\n ", stdout);
            print_registers(cpu, &f->regs);
        }
        printf("\n    Found by: %s\n", stackwalk_trust_description(f->trust));
    }
}

static void print_module(const struct minidump *md,
                         const struct stackwalk_result *r, size_t i)
{
    const struct minidump_module *m = minidump_module(md, i);
    enum stackwalk_symstatus st = stackwalk_module_status(r, i);

    printf("0x%08" PRIx64 " - 0x%08" PRIx64 "  %s  %s%s", m->base,
           m->base + m->size - 1, path_base(m->code_file),
           m->version[0] ? m->version : "???",
           m == sw_main_module(md) ? "  (main)" : "");
    if (st == STACKWALK_SYMS_MISSING || st == STACKWALK_SYMS_CORRUPT)
        printf("  (WARNING: %s symbols, %s, %s)",
               st == STACKWALK_SYMS_MISSING ? "No" : "Corrupt",
               path_base(m->debug_file), m->debug_id);
    putchar('\n');
}

static void print_report(const struct minidump *md,
                         const struct stackwalk_result *r)
{
    enum unwind_cpu cpu = stackwalk_cpu(r);
    long req = stackwalk_requesting_thread(r);
    const char *reason;
    uint64_t addr;
    size_t n, *order;

    print_system(md);
    print_crash(md);
    if (req >= 0) {
        printf("\nThread %ld (%s)\n", req,
               stackwalk_report_crashed(md, &reason, &addr)
                   ? "crashed"
                   : "requested dump, did not crash");
        print_stack(cpu, stackwalk_thread(r, (size_t)req));
    }
    for (size_t i = 0; i < stackwalk_thread_count(r); i++) {
        if ((long)i == req)
            continue;
        printf("\nThread %zu\n", i);
        print_stack(cpu, stackwalk_thread(r, i));
    }
    order = modules_by_address(md, &n);
    printf("\nLoaded modules:\n");
    for (size_t i = 0; i < n; i++)
        print_module(md, r, order[i]);
    free(order);
}

/* --- -m ------------------------------------------------------------------ */

/* S without '|' and newlines, as Breakpad's StripSeparator. */
static void put_field(const char *s)
{
    for (; s && *s; s++) {
        if (*s != '|' && *s != '\n')
            putchar(*s);
    }
}

static void machine_header(const struct minidump *md, long req)
{
    const struct minidump_system_info *si = minidump_system_info(md);
    const char *reason, *assertion = minidump_assertion(md);
    uint64_t addr;

    fputs("OS|", stdout);
    put_field(si ? si->os : "");
    putchar('|');
    put_field(si ? si->os_version : "");
    fputs("\nCPU|", stdout);
    put_field(si ? si->cpu_name : "");
    putchar('|');
    put_field(si ? si->cpu_info : "");
    printf("|%u\nGPU|||\nCrash|", si ? si->number_of_processors : 0);
    if (stackwalk_report_crashed(md, &reason, &addr)) {
        put_field(reason);
        printf("|0x%" PRIx64 "|", addr);
    } else if (assertion && assertion[0]) {
        put_field(assertion);
        fputs("||", stdout);
    } else {
        fputs("No crash||", stdout);
    }
    if (req >= 0)
        printf("%ld", req);
    putchar('\n');
}

static void machine_modules(const struct minidump *md)
{
    size_t n, *order = modules_by_address(md, &n);

    for (size_t k = 0; k < n; k++) {
        const struct minidump_module *m = minidump_module(md, order[k]);

        fputs("Module|", stdout);
        put_field(path_base(m->code_file));
        putchar('|');
        put_field(m->version);
        putchar('|');
        put_field(path_base(m->debug_file));
        putchar('|');
        put_field(m->debug_id);
        printf("|0x%08" PRIx64 "|0x%08" PRIx64 "|%d\n", m->base,
               m->base + m->size - 1, m == sw_main_module(md));
    }
    free(order);
}

static void machine_frame(size_t thread, size_t i,
                          const struct stackwalk_frame *f)
{
    char *owned;

    printf("%zu|%zu|", thread, i);
    if (f->module == NULL) {
        printf("||||0x%" PRIx64 "\n", f->instruction);
        return;
    }
    put_field(path_base(f->module->code_file));
    if (f->function == NULL) {
        printf("||||0x%" PRIx64 "\n", f->instruction - f->module->base);
        return;
    }
    putchar('|');
    put_field(stackwalk_report_function(f, &owned));
    free(owned);
    if (f->file) {
        putchar('|');
        put_field(f->file);
        printf("|%" PRIu32 "|0x%" PRIx64 "\n", f->line,
               f->instruction - f->line_base);
    } else {
        printf("|||0x%" PRIx64 "\n", f->instruction - f->function_base);
    }
}

static void machine_thread(const struct stackwalk_result *r, size_t i)
{
    const struct stackwalk_thread *t = stackwalk_thread(r, i);

    for (size_t k = 0; k < t->nframes; k++)
        machine_frame(i, k, &t->frames[k]);
}

static void print_machine(const struct minidump *md,
                          const struct stackwalk_result *r)
{
    long req = stackwalk_requesting_thread(r);

    machine_header(md, req);
    machine_modules(md);
    putchar('\n');
    if (req >= 0)
        machine_thread(r, (size_t)req);
    for (size_t i = 0; i < stackwalk_thread_count(r); i++) {
        if ((long)i != req)
            machine_thread(r, i);
    }
}

int sw_print(enum sw_format format, const struct minidump *md,
             const struct stackwalk_result *r)
{
    switch (format) {
    case SW_FORMAT_MACHINE:
        print_machine(md, r);
        break;
    case SW_FORMAT_JSON:
        return sw_print_json(md, r);
    default:
        print_report(md, r);
        break;
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -EIO;
}
