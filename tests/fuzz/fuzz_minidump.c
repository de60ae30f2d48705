/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the minidump reader: load the input, walk every
 * accessor, and read memory around each thread's stack and registers and
 * each module, as the stack walker will.
 */
#include "symsrvd_config.h"

#include "minidump/minidump.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bytes returned by the reader are folded in here so every one is read
 * (ASan then checks it lies inside the input). */
static uint8_t sink;

static void touch(const char *s)
{
    /* strlen reads every byte: ASan flags a string that is not ours. */
    if (s == NULL || strlen(s) == (size_t)-1)
        abort();
}

static void regs(const struct minidump *md, const struct unwind_regs *r)
{
    uint8_t buf[64];

    for (int i = 0; i < UNWIND_NREGS; i++)
        if (r->valid & (UINT64_C(1) << i)) {
            minidump_read(md, r->r[i], buf, sizeof(buf));
            minidump_module_at(md, r->r[i]);
        }
}

static void threads(const struct minidump *md, struct unwind_memory *mem)
{
    for (size_t i = 0; i < minidump_thread_count(md); i++) {
        const struct minidump_thread *t = minidump_thread(md, i);
        uint8_t buf[32];

        touch(t->name);
        for (size_t j = 0; j < t->stack_len; j++)
            sink ^= t->stack[j];
        mem->read(mem->ctx, t->stack_start + t->stack_len - 16, buf, 32);
        if (t->has_context)
            regs(md, &t->context);
    }
}

static void modules(const struct minidump *md, struct unwind_memory *mem)
{
    for (size_t i = 0; i < minidump_module_count(md); i++) {
        const struct minidump_module *m = minidump_module(md, i);

        touch(m->code_file);
        touch(m->code_id);
        touch(m->debug_file);
        touch(m->debug_id);
        touch(m->version);
        mem->is_code(mem->ctx, m->base + m->size / 2);
    }
    for (size_t i = 0; i < minidump_unloaded_count(md); i++)
        touch(minidump_unloaded(md, i)->code_file);
}

static void streams(const struct minidump *md)
{
    static const char *const names[] = {
        "/proc/cpuinfo", "/proc/self/status", "/etc/lsb-release",
        "/proc/self/cmdline", "/proc/self/environ", "/proc/self/auxv",
        "/proc/self/maps", "DSO_DEBUG"};
    const char *key, *value;
    size_t len;
    uint32_t tid;
    uint64_t addr;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *s = minidump_linux_stream(md, names[i], &len);

        for (size_t j = 0; s != NULL && j < len; j++)
            sink ^= (uint8_t)s[j];
    }
    for (size_t i = 0; minidump_annotation(md, i, &key, &value); i++) {
        touch(key);
        touch(value);
    }
    for (size_t i = 0; i < minidump_warning_count(md); i++)
        touch(minidump_warning(md, i));
    minidump_dump_thread(md, &tid);
    minidump_requesting_thread(md, &tid);
    if (minidump_assertion(md) != NULL)
        touch(minidump_assertion(md));
    if (minidump_crash_reason(md, &addr) != NULL)
        touch(minidump_crash_reason(md, &addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct minidump_system_info *si;
    const struct minidump_exception *x;
    struct minidump *md;
    struct unwind_memory mem;

    if (minidump_load(data, size, &md, NULL, 0) != 0)
        return 0;
    minidump_memory(md, &mem);
    si = minidump_system_info(md);
    if (si != NULL) {
        touch(si->os);
        touch(si->os_short);
        touch(si->os_version);
        touch(si->cpu_name);
        touch(si->cpu_info);
        touch(si->csd_version);
    }
    x = minidump_exception(md);
    if (x != NULL && x->has_context)
        regs(md, &x->context);
    minidump_misc_info(md);
    threads(md, &mem);
    modules(md, &mem);
    streams(md);
    minidump_free(md);
    return 0;
}
