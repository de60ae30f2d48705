/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the minidump reader: the three fixture dumps, synthetic
 * dumps from tests/lib/mdwriter for every context layout and stream, and
 * hostile dumps (truncated at every length, streams past the end or
 * overlapping, huge counts, bad string RVAs, unterminated UTF-16).
 *
 * Fixture values were read from the bytes with a few lines of python3
 * (struct.unpack_from over the stream directory at RVA 32: SystemInfo
 * fields, the CSD MINIDUMP_STRING, the exception record at stream + 8 with
 * its parameters at + 40, thread entries of 48 bytes, module entries of
 * 108 bytes with the CodeView record at entry + 76), and the identities
 * checked against tests/data/minidump/README.
 */
#include "symsrvd_config.h"

#include "minidump/minidump.h"

#include "mdwriter.h"
#include "symtest.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *slurp(const char *rel, size_t *len)
{
    char *path = symtest_data(rel);
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    free(path);
    *len = (size_t)n;
    return buf;
}

static struct minidump *load_ok(const uint8_t *data, size_t len)
{
    struct minidump *md = NULL;
    char err[128] = "";

    ck_assert_msg(minidump_load(data, len, &md, err, sizeof(err)) == 0, "%s",
                  err);
    return md;
}

/* Every accessor, so hostile dumps are walked the way callers walk them. */
static void walk_all(const struct minidump *md)
{
    const struct minidump_system_info *si = minidump_system_info(md);
    struct unwind_memory mem;
    uint64_t addr, word;
    uint32_t tid;
    size_t len;

    if (si != NULL)
        ck_assert(si->os && si->os_version && si->cpu_info && si->cpu_name);
    minidump_crash_reason(md, &addr);
    minidump_dump_thread(md, &tid);
    minidump_assertion(md);
    minidump_linux_stream(md, "/proc/self/maps", &len);
    minidump_memory(md, &mem);
    for (size_t i = 0; i < minidump_thread_count(md); i++) {
        const struct minidump_thread *t = minidump_thread(md, i);

        ck_assert(t->name != NULL);
        if (t->stack_len >= 8)
            ck_assert_int_eq(mem.read(mem.ctx, t->stack_start, &word, 8), 0);
    }
    for (size_t i = 0; i < minidump_module_count(md); i++) {
        const struct minidump_module *m = minidump_module(md, i);

        ck_assert(m->code_file && m->code_id && m->debug_id && m->version);
        mem.is_code(mem.ctx, m->base);
    }
    for (size_t i = 0; i < minidump_warning_count(md); i++)
        ck_assert(minidump_warning(md, i) != NULL);
}

/* --- fixtures ----------------------------------------------------------- */

START_TEST(test_minidump_windows_fixture)
{
    size_t len;
    uint8_t *data = slurp("minidump/windows.dmp", &len);
    struct minidump *md = load_ok(data, len);
    const struct minidump_system_info *si = minidump_system_info(md);
    const struct minidump_exception *x = minidump_exception(md);
    const struct minidump_module *m;
    const struct minidump_thread *t;
    uint64_t addr = 0;
    uint8_t b[4];

    ck_assert_uint_eq(minidump_warning_count(md), 0);
    ck_assert_uint_eq(minidump_timestamp(md), 0x5ab38079);
    /* SystemInfo: arch 0, level 6, revision 0x3f02, 2 CPUs, 10.0.14393,
     * platform 2, CSD "" (so Breakpad leaves a trailing space), vendor
     * "GenuineIntel". */
    ck_assert_int_eq(si->cpu, UNWIND_CPU_X86);
    ck_assert_str_eq(si->os, "Windows NT");
    ck_assert_str_eq(si->os_short, "windows");
    ck_assert_str_eq(si->os_version, "10.0.14393 ");
    ck_assert_str_eq(si->cpu_name, "x86");
    ck_assert_str_eq(si->cpu_info,
                     "GenuineIntel family 6 model 63 stepping 2");
    ck_assert_uint_eq(si->number_of_processors, 2);
    /* Exception: thread 1636, code 0xc0000005, params {1, 0x45}. */
    ck_assert_uint_eq(x->thread_id, 1636);
    ck_assert_uint_eq(x->code, 0xc0000005);
    ck_assert_uint_eq(x->address, 0x2a2a3d);
    ck_assert_str_eq(minidump_crash_reason(md, &addr),
                     "EXCEPTION_ACCESS_VIOLATION_WRITE");
    ck_assert_uint_eq(addr, 0x45);
    /* Exception context: CONTEXT_X86 with flags 0x1003f, Eip 0x2a2a3d. */
    ck_assert(x->has_context);
    ck_assert_uint_eq(x->context.valid, 0x3ff);
    ck_assert_uint_eq(x->context.r[UNWIND_X86_EIP], 0x2a2a3d);
    /* MiscInfo: flags1 0x3f7, pid 1928, create time 1521713272. */
    ck_assert_uint_eq(minidump_misc_info(md)->process_id, 1928);
    ck_assert_uint_eq(minidump_misc_info(md)->process_create_time,
                      1521713272);
    /* 4 threads, the first the crashing one, stack 0x10feec0 + 4416. */
    ck_assert_uint_eq(minidump_thread_count(md), 4);
    t = minidump_thread(md, 0);
    ck_assert_uint_eq(t->thread_id, 1636);
    ck_assert_uint_eq(t->stack_start, 0x10feec0);
    ck_assert_uint_eq(t->stack_len, 4416);
    ck_assert_int_eq(minidump_read(md, 0x10feec0 + 4412, b, 4), 0);
    ck_assert_int_eq(minidump_read(md, 0x10feec0 + 4413, b, 4), -1);
    /* 17 modules; crash.exe at 0x2a0000 + 0x9000, README's debug id. */
    ck_assert_uint_eq(minidump_module_count(md), 17);
    m = minidump_module(md, 0);
    ck_assert_uint_eq(m->base, 0x2a0000);
    ck_assert_uint_eq(m->size, 0x9000);
    ck_assert_str_eq(m->code_file,
                     "C:\\projects\\breakpad-tools\\windows\\Release\\crash.exe");
    ck_assert_str_eq(m->debug_id, "3249D99D0C4049318610F4E4FB0B69361");
    ck_assert_str_eq(m->code_id, "5AB380779000");
    ck_assert_str_eq(m->debug_file,
                     "C:\\projects\\breakpad-tools\\windows\\Release\\crash.pdb");
    ck_assert_str_eq(m->version, "");
    ck_assert_ptr_eq(minidump_module_at(md, 0x2a2a3d), m);
    /* ntdll: VS_FIXEDFILEINFO file version 0x60002 / 0x383906b3. */
    m = minidump_module(md, 1);
    ck_assert_str_eq(m->version, "6.2.14393.1715");
    ck_assert_str_eq(m->code_id, "59B0D8F3183000");
    ck_assert_str_eq(m->debug_file, "wntdll.pdb");
    /* Breakpad info with validity 0: no dump thread. */
    ck_assert(!minidump_dump_thread(md, &(uint32_t){0}));
    walk_all(md);
    minidump_free(md);
    free(data);
}
END_TEST

START_TEST(test_minidump_linux_fixture)
{
    size_t len, slen;
    uint8_t *data = slurp("minidump/linux.dmp", &len);
    struct minidump *md = load_ok(data, len);
    const struct minidump_system_info *si = minidump_system_info(md);
    const struct minidump_exception *x = minidump_exception(md);
    const struct minidump_module *m;
    const char *s;
    uint64_t addr = 0;

    ck_assert_uint_eq(minidump_warning_count(md), 0);
    ck_assert_str_eq(si->os, "Linux");
    ck_assert_str_eq(si->os_short, "linux");
    ck_assert_str_eq(si->os_version,
                     "0.0.0 Linux 4.9.60-linuxkit-aufs #1 SMP Mon Nov 6 "
                     "16:00:12 UTC 2017 x86_64");
    ck_assert_str_eq(si->cpu_name, "amd64");
    ck_assert_str_eq(si->cpu_info, "family 6 model 70 stepping 1");
    ck_assert_int_eq(si->cpu, UNWIND_CPU_AMD64);
    /* Signal 11, si_code 0, address 0x45. */
    ck_assert_str_eq(minidump_crash_reason(md, &addr), "SIGSEGV /0x00000000");
    ck_assert_uint_eq(addr, 0x45);
    ck_assert_uint_eq(x->thread_id, 1304);
    /* Context flags 0x10000b: control + integer, all 17 registers. */
    ck_assert_uint_eq(x->context.valid, 0x1ffff);
    ck_assert_uint_eq(minidump_thread_count(md), 1);
    ck_assert_uint_eq(minidump_thread(md, 0)->stack_start, 0x7fff5ae4a000);
    ck_assert_uint_eq(minidump_thread(md, 0)->stack_len, 12288);
    /* 8 modules, the first the program with README's build id. */
    ck_assert_uint_eq(minidump_module_count(md), 8);
    m = minidump_module(md, 0);
    ck_assert_uint_eq(m->base, 0x400000);
    ck_assert_uint_eq(m->size, 0x1a000);
    ck_assert_str_eq(m->code_file, "/work/linux/build/crash");
    ck_assert_str_eq(m->code_id, "f1c3bcc0279865fe3058404b2831d9e64135386c");
    ck_assert_str_eq(m->debug_id, "C0BCC3F19827FE653058404B2831D9E60");
    ck_assert_str_eq(m->debug_file, "/work/linux/build/crash");
    ck_assert_str_eq(minidump_module(md, 7)->code_file, "linux-gate.so");
    /* Linux streams: lsb-release 105 bytes, maps 3382 bytes. */
    s = minidump_linux_stream(md, "/etc/lsb-release", &slen);
    ck_assert_uint_eq(slen, 105);
    ck_assert(memcmp(s, "DISTRIB_ID=", 11) == 0);
    ck_assert(minidump_linux_stream(md, "/proc/self/maps", &slen) != NULL);
    ck_assert_uint_eq(slen, 3382);
    ck_assert(minidump_linux_stream(md, "/proc/self/auxv", &slen) != NULL);
    ck_assert_uint_eq(slen, 304);
    ck_assert(minidump_linux_stream(md, "/proc/nothing", &slen) == NULL);
    walk_all(md);
    minidump_free(md);
    free(data);
}
END_TEST

START_TEST(test_minidump_macos_fixture)
{
    size_t len;
    uint8_t *data = slurp("minidump/macos.dmp", &len);
    struct minidump *md = load_ok(data, len);
    const struct minidump_system_info *si = minidump_system_info(md);
    const struct minidump_exception *x = minidump_exception(md);
    const struct minidump_module *m;
    uint64_t addr = 0;

    /* Lists padded to 8 bytes after the count (thread list is 56 bytes
     * for 1 thread): no warning. */
    ck_assert_uint_eq(minidump_warning_count(md), 0);
    ck_assert_str_eq(si->os, "Mac OS X");
    ck_assert_str_eq(si->os_short, "mac");
    ck_assert_str_eq(si->os_version, "10.12.6 16G29");
    ck_assert_str_eq(si->cpu_info, "family 6 model 58 stepping 9");
    ck_assert_str_eq(minidump_crash_reason(md, &addr),
                     "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS");
    ck_assert_uint_eq(addr, 0x45);
    ck_assert_uint_eq(x->thread_id, 775);
    /* Context flags are 0x100000 alone (Breakpad's Mac writer): read as
     * complete; rip 0x109ba8c15, rsp 0x7fff56064110. */
    ck_assert_uint_eq(x->context.valid, 0x1ffff);
    ck_assert_uint_eq(x->context.r[UNWIND_AMD64_RIP], 0x109ba8c15);
    ck_assert_uint_eq(x->context.r[UNWIND_AMD64_RSP], 0x7fff56064110);
    ck_assert_uint_eq(minidump_thread_count(md), 1);
    ck_assert_uint_eq(minidump_thread(md, 0)->stack_start, 0x7fff56064110);
    ck_assert_uint_eq(minidump_thread(md, 0)->stack_len, 3824);
    ck_assert_uint_eq(minidump_module_count(md), 43);
    m = minidump_module(md, 0);
    ck_assert_uint_eq(m->base, 0x109b9b000);
    ck_assert_uint_eq(m->size, 0x11000);
    ck_assert_str_eq(m->debug_id, "67E9247C814E392BA027DBDE6748FCBF0");
    ck_assert_str_eq(m->code_id, "67e9247c814e392ba027dbde6748fcbf");
    ck_assert_str_eq(m->debug_file, "crash");
    ck_assert_ptr_eq(minidump_module_at(md, 0x109ba8c15), m);
    ck_assert_ptr_eq(minidump_module_at(md, 0x109b9b000 + 0x11000), NULL);
    walk_all(md);
    minidump_free(md);
    free(data);
}
END_TEST

/* --- synthetic dumps ------------------------------------------------------ */

static struct minidump *finish_load(struct mdw *w, uint8_t **buf)
{
    size_t len;
    struct minidump *md;

    mdw_finish(w, buf, &len);
    mdw_free(w);
    md = load_ok(*buf, len);
    walk_all(md);
    return md;
}

static const struct {
    enum mdw_ctx kind;
    enum unwind_cpu cpu;
    unsigned nregs;
} ctx_kinds[] = {
    {MDW_CTX_X86, UNWIND_CPU_X86, 10},
    {MDW_CTX_AMD64, UNWIND_CPU_AMD64, 17},
    {MDW_CTX_ARM, UNWIND_CPU_ARM, 16},
    {MDW_CTX_ARM64, UNWIND_CPU_ARM64, 33},
    {MDW_CTX_ARM64_OLD, UNWIND_CPU_ARM64, 33},
};

/* Every register gets a distinct value; all must come back in place. */
START_TEST(test_minidump_context_roundtrip)
{
    struct mdw *w = mdw_new(1);
    struct unwind_regs r = {.cpu = ctx_kinds[_i].cpu};
    struct minidump *md;
    const struct minidump_thread *t;
    uint8_t *buf;

    for (unsigned i = 0; i < ctx_kinds[_i].nregs; i++) {
        r.r[i] = 0x1000 + i * 0x11;
        if (ctx_kinds[_i].nregs > 16)
            r.r[i] |= UINT64_C(0xabcd) << 40;
        r.valid |= UINT64_C(1) << i;
    }
    mdw_thread(w, &(struct mdw_thread){.tid = 9,
                                        .ctx = {ctx_kinds[_i].kind, 0, &r}});
    md = finish_load(w, &buf);
    t = minidump_thread(md, 0);
    ck_assert(t->has_context);
    ck_assert_int_eq(t->context.cpu, ctx_kinds[_i].cpu);
    ck_assert_uint_eq(t->context.valid, r.valid);
    for (unsigned i = 0; i < ctx_kinds[_i].nregs; i++)
        ck_assert_uint_eq(t->context.r[i], r.r[i]);
    ck_assert_uint_eq(minidump_warning_count(md), 0);
    minidump_free(md);
    free(buf);
}
END_TEST

/* Flags naming only one group: the other group's registers are unknown. */
START_TEST(test_minidump_context_partial_flags)
{
    struct mdw *w = mdw_new(1);
    struct unwind_regs r = {.cpu = UNWIND_CPU_X86, .valid = 0x3ff};
    struct minidump *md;
    uint8_t *buf;

    r.r[UNWIND_X86_EIP] = 0x401000;
    /* x86 control only: ebp, eip, eflags, esp. */
    mdw_thread(w, &(struct mdw_thread){
                      .tid = 1, .ctx = {MDW_CTX_X86, 0x10001, &r}});
    /* arm64 integer only: x0..x28. */
    r.cpu = UNWIND_CPU_ARM64;
    r.valid = UINT64_C(0x1ffffffff);
    mdw_thread(w, &(struct mdw_thread){
                      .tid = 2, .ctx = {MDW_CTX_ARM64, 0x400002, &r}});
    md = finish_load(w, &buf);
    ck_assert_uint_eq(minidump_thread(md, 0)->context.valid,
                      1u << 4 | 1u << 5 | 1u << 8 | 1u << 9);
    ck_assert_uint_eq(minidump_thread(md, 0)->context.r[UNWIND_X86_EIP],
                      0x401000);
    ck_assert_uint_eq(minidump_thread(md, 1)->context.valid, 0x1fffffff);
    minidump_free(md);
    free(buf);
}
END_TEST

static const uint8_t guid[16] = {0x9d, 0xd9, 0x49, 0x32, 0x40, 0x0c,
                                 0x31, 0x49, 0x86, 0x10, 0xf4, 0xe4,
                                 0xfb, 0x0b, 0x69, 0x36};

START_TEST(test_minidump_modules_and_memory)
{
    struct mdw *w = mdw_new(7);
    uint8_t cv[128], bid[8] = {1, 2, 3, 4, 5, 6, 7, 8}, mem[64], out[48];
    struct minidump *md;
    const struct minidump_module *m;
    uint8_t *buf;

    for (int i = 0; i < 64; i++)
        mem[i] = (uint8_t)i;
    mdw_system_info(w, &(struct mdw_system_info){
                           .arch = 9, .platform = 2, .major = 10,
                           .build = 19041, .csd = "Service Pack 1"});
    mdw_module(w, &(struct mdw_module){
                      .base = 0x140000000, .size = 0x2000,
                      .timestamp = 0x5ab38077, .name = "C:\\app.exe",
                      .cv = cv, .cv_len = mdw_cv_pdb70(cv, sizeof(cv), guid,
                                                       0x1a, "app.pdb"),
                      .has_version = true, .version_hi = 0x00010002,
                      .version_lo = 0x00030004});
    mdw_module(w, &(struct mdw_module){.base = 0x100000, .size = 0x1000,
                                       .name = "lib.so", .cv = bid,
                                       .cv_len = 0});
    mdw_unloaded_module(w, &(struct mdw_module){
                               .base = 0x5000, .size = 0x100,
                               .timestamp = 0x12345678, .name = "gone.dll"});
    /* Two adjacent MemoryList ranges and one Memory64 range. */
    mdw_memory(w, 0x1000, mem, 16);
    mdw_memory(w, 0x1010, mem + 16, 16);
    mdw_memory64(w, 0x9000, mem + 32, 32);
    mdw_thread(w, &(struct mdw_thread){.tid = 5});
    mdw_thread_name(w, 5, "worker \xe2\x98\x83");
    mdw_breakpad_info(w, 3, 5, 6);
    md = finish_load(w, &buf);
    ck_assert_str_eq(minidump_system_info(md)->os_version,
                     "10.0.19041 Service Pack 1");
    m = minidump_module(md, 0);
    ck_assert_str_eq(m->debug_id, "3249D99D0C4049318610F4E4FB0B69361A");
    ck_assert_str_eq(m->debug_file, "app.pdb");
    ck_assert_str_eq(m->code_id, "5AB380772000");
    ck_assert_str_eq(m->version, "1.2.3.4");
    ck_assert_str_eq(minidump_module(md, 1)->debug_id, "");
    ck_assert_ptr_eq(minidump_module_at(md, 0x100fff),
                     minidump_module(md, 1));
    ck_assert_ptr_eq(minidump_module_at(md, 0x101000), NULL);
    ck_assert_ptr_eq(minidump_module_at(md, 0x13fffffff), NULL);
    ck_assert_uint_eq(minidump_unloaded_count(md), 1);
    ck_assert_str_eq(minidump_unloaded(md, 0)->code_file, "gone.dll");
    ck_assert(minidump_unloaded(md, 0)->unloaded);
    /* A read spanning the two adjacent ranges; one past their end. */
    ck_assert_int_eq(minidump_read(md, 0x1008, out, 16), 0);
    ck_assert(memcmp(out, mem + 8, 16) == 0);
    ck_assert_int_eq(minidump_read(md, 0x1010, out, 17), -1);
    ck_assert_int_eq(minidump_read(md, 0x9000, out, 32), 0);
    ck_assert(memcmp(out, mem + 32, 32) == 0);
    ck_assert_int_eq(minidump_read(md, 0x8fff, out, 2), -1);
    ck_assert_str_eq(minidump_thread(md, 0)->name, "worker \xe2\x98\x83");
    ck_assert(minidump_dump_thread(md, &(uint32_t){0}));
    minidump_free(md);
    free(buf);
}
END_TEST

START_TEST(test_minidump_elf_identity)
{
    struct mdw *w = mdw_new(7);
    /* README's build id of tests/data/elf/crash. */
    static const uint8_t bid[20] = {0xf1, 0xc3, 0xbc, 0xc0, 0x27, 0x98, 0x65,
                                    0xfe, 0x30, 0x58, 0x40, 0x4b, 0x28, 0x31,
                                    0xd9, 0xe6, 0x41, 0x35, 0x38, 0x6c};
    uint8_t cv[64];
    struct minidump *md;
    uint8_t *buf;

    mdw_system_info(w, &(struct mdw_system_info){.arch = 12,
                                                  .platform = 0x8203});
    mdw_module(w, &(struct mdw_module){
                      .base = 0x1000, .size = 0x1000, .name = "/a/crash",
                      .cv = cv, .cv_len = mdw_cv_elf(cv, 64, bid, 20)});
    md = finish_load(w, &buf);
    ck_assert_str_eq(minidump_system_info(md)->os, "Android");
    ck_assert_str_eq(minidump_system_info(md)->cpu_name, "arm64");
    ck_assert_str_eq(minidump_module(md, 0)->debug_id,
                     "C0BCC3F19827FE653058404B2831D9E60");
    ck_assert_str_eq(minidump_module(md, 0)->code_id,
                     "f1c3bcc0279865fe3058404b2831d9e64135386c");
    minidump_free(md);
    free(buf);
}
END_TEST

static const struct {
    uint32_t platform, code, flags, nparams;
    uint64_t p0, p1;
    const char *reason;
    uint64_t address;
} reasons[] = {
    {2, 0xc0000005, 0, 2, 0, 0x10, "EXCEPTION_ACCESS_VIOLATION_READ", 0x10},
    {2, 0xc0000005, 0, 2, 8, 0x20, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x20},
    {2, 0xc0000005, 0, 0, 0, 0, "EXCEPTION_ACCESS_VIOLATION", 0xabc},
    {2, 0xc00000fd, 0, 0, 0, 0, "EXCEPTION_STACK_OVERFLOW", 0xabc},
    {2, 0xe06d7363, 0, 0, 0, 0, "Unhandled C++ Exception", 0xabc},
    {2, 0x12345678, 0, 0, 0, 0, "0x12345678 / 0x00000000", 0xabc},
    {0x8201, 11, 1, 0, 0, 0, "SIGSEGV /SEGV_MAPERR", 0xabc},
    {0x8201, 7, 2, 0, 0, 0, "SIGBUS / BUS_ADRERR", 0xabc},
    {0x8201, 8, 1, 0, 0, 0, "SIGFPE / FPE_INTDIV", 0xabc},
    {0x8201, 4, 9, 0, 0, 0, "SIGILL / 0x00000009", 0xabc},
    {0x8201, 6, 0, 0, 0, 0, "SIGABRT", 0xabc},
    {0x8201, 0xffffffff, 0, 0, 0, 0, "DUMP_REQUESTED", 0xabc},
    {0x8101, 1, 2, 0, 0, 0, "EXC_BAD_ACCESS / KERN_PROTECTION_FAILURE", 0xabc},
    {0x8101, 1, 13, 0, 0, 0, "EXC_BAD_ACCESS / EXC_I386_GPFLT", 0xabc},
    {0x8101, 2, 1, 0, 0, 0, "EXC_BAD_INSTRUCTION / EXC_I386_INVOP", 0xabc},
    {0x8101, 5, 0x10003, 0, 0, 0, "EXC_SOFTWARE / SIGABRT", 0xabc},
    {0x8101, 6, 7, 0, 0, 0, "EXC_BREAKPOINT / 0x00000007", 0xabc},
    {0x9999, 3, 4, 0, 0, 0, "0x00000003 / 0x00000004", 0xabc},
};

START_TEST(test_minidump_crash_reasons)
{
    struct mdw *w = mdw_new(1);
    struct mdw_exception e = {.tid = 1, .code = reasons[_i].code,
                              .flags = reasons[_i].flags, .address = 0xabc,
                              .nparams = reasons[_i].nparams,
                              .params = {reasons[_i].p0, reasons[_i].p1}};
    struct minidump *md;
    uint64_t addr = 0;
    uint8_t *buf;

    mdw_system_info(w, &(struct mdw_system_info){
                           .arch = 9, .platform = reasons[_i].platform});
    mdw_exception(w, &e);
    md = finish_load(w, &buf);
    ck_assert_str_eq(minidump_crash_reason(md, &addr), reasons[_i].reason);
    ck_assert_uint_eq(addr, reasons[_i].address);
    ck_assert(!minidump_exception(md)->has_context);
    minidump_free(md);
    free(buf);
}
END_TEST

/* --- hostile dumps ---------------------------------------------------------- */

/* A dump using every stream the writer knows. */
static void full_dump(uint8_t **buf, size_t *len)
{
    struct mdw *w = mdw_new(3);
    struct unwind_regs r = {.cpu = UNWIND_CPU_AMD64, .valid = 0x1ffff};
    uint8_t stack[256] = {0}, cv[64];

    mdw_set_list_padding(w, true);
    mdw_system_info(w, &(struct mdw_system_info){
                           .arch = 9, .platform = 0x8201, .csd = "Linux 6"});
    mdw_misc_info(w, 3, 42, 1000, 1, 2);
    mdw_exception(w, &(struct mdw_exception){
                         .tid = 1, .code = 11, .ctx = {MDW_CTX_AMD64, 0, &r}});
    mdw_thread(w, &(struct mdw_thread){.tid = 1,
                                        .stack_start = 0x7000,
                                        .stack = stack,
                                        .stack_len = sizeof(stack),
                                        .ctx = {MDW_CTX_AMD64, 0, &r}});
    mdw_thread_name(w, 1, "main");
    mdw_module(w, &(struct mdw_module){
                      .base = 0x400000, .size = 0x1000, .name = "/bin/x",
                      .cv = cv, .cv_len = mdw_cv_elf(cv, 64, stack, 20)});
    mdw_unloaded_module(w, &(struct mdw_module){.base = 1, .name = "u"});
    mdw_memory(w, 0x1000, stack, 64);
    mdw_memory64(w, 0x2000, stack, 64);
    mdw_breakpad_info(w, 3, 1, 1);
    mdw_stream(w, MDW_LINUX_MAPS, "00400000-00401000 r-xp\n", 23);
    mdw_finish(w, buf, len);
    mdw_free(w);
}

/* Every prefix: an error (no header / directory) or a dump that walks. */
START_TEST(test_minidump_truncated_everywhere)
{
    uint8_t *buf, *copy;
    size_t len;

    full_dump(&buf, &len);
    for (size_t cut = 0; cut <= len; cut++) {
        struct minidump *md = NULL;
        char err[128] = "";

        copy = malloc(cut + 1); /* exact size, so ASan sees overreads */
        memcpy(copy, buf, cut);
        if (minidump_load(copy, cut, &md, err, sizeof(err)) == 0) {
            walk_all(md);
            if (cut < len)
                ck_assert_msg(minidump_warning_count(md) > 0,
                              "cut at %zu of %zu gave no warning", cut, len);
            minidump_free(md);
        } else {
            ck_assert_msg(cut < 32 + 12 * MDW_MAX_STREAMS, "cut %zu: %s",
                          cut, err);
            ck_assert(err[0] != '\0');
        }
        free(copy);
    }
    free(buf);
}
END_TEST

/* The fixtures cut at a stride: same rule. */
START_TEST(test_minidump_fixtures_truncated)
{
    static const char *const files[] = {"minidump/windows.dmp",
                                        "minidump/linux.dmp",
                                        "minidump/macos.dmp"};
    size_t len;
    uint8_t *data = slurp(files[_i], &len);

    for (size_t cut = 0; cut < len; cut += 61) {
        struct minidump *md = NULL;
        uint8_t *copy = malloc(cut + 1);

        memcpy(copy, data, cut);
        if (minidump_load(copy, cut, &md, NULL, 0) == 0) {
            walk_all(md);
            minidump_free(md);
        }
        free(copy);
    }
    free(data);
}
END_TEST

static struct minidump *load_patched(uint8_t *buf, size_t len)
{
    struct minidump *md = load_ok(buf, len);

    walk_all(md);
    ck_assert_uint_gt(minidump_warning_count(md), 0);
    return md;
}

START_TEST(test_minidump_stream_past_end)
{
    uint8_t *buf;
    size_t len;
    uint32_t size, rva;
    struct minidump *md;

    full_dump(&buf, &len);
    ck_assert(mdw_dir_get(buf, len, MDW_THREAD_LIST, &size, &rva));
    mdw_dir_set(buf, len, MDW_THREAD_LIST, 0xfffffff0, rva);
    mdw_dir_set(buf, len, MDW_MODULE_LIST, 0x100, 0xfffffff0);
    md = load_patched(buf, len);
    /* The thread list is cut to the file, its one thread still read. */
    ck_assert_uint_eq(minidump_thread_count(md), 1);
    ck_assert_uint_eq(minidump_module_count(md), 0);
    minidump_free(md);
    free(buf);
}
END_TEST

START_TEST(test_minidump_overlapping_streams)
{
    uint8_t *buf;
    size_t len;
    uint32_t size, rva;
    struct minidump *md;

    full_dump(&buf, &len);
    ck_assert(mdw_dir_get(buf, len, MDW_SYSTEM_INFO, &size, &rva));
    mdw_dir_set(buf, len, MDW_MODULE_LIST, size, rva);
    mdw_dir_set(buf, len, MDW_MEMORY_LIST, size + 8, rva - 4);
    md = load_patched(buf, len);
    ck_assert_ptr_nonnull(minidump_system_info(md));
    minidump_free(md);
    free(buf);
}
END_TEST

START_TEST(test_minidump_huge_counts)
{
    static const uint32_t types[] = {MDW_THREAD_LIST, MDW_MODULE_LIST,
                                     MDW_MEMORY_LIST, MDW_THREAD_NAMES,
                                     MDW_UNLOADED_MODULE_LIST,
                                     MDW_MEMORY64_LIST};
    uint8_t *buf;
    size_t len;
    uint32_t size, rva;
    struct minidump *md;

    full_dump(&buf, &len);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        ck_assert(mdw_dir_get(buf, len, types[i], &size, &rva));
        if (types[i] == MDW_UNLOADED_MODULE_LIST)
            mdw_put32(buf, len, rva + 8, 0xffffffff);
        else if (types[i] == MDW_MEMORY64_LIST)
            mdw_put64(buf, len, rva, UINT64_MAX);
        else
            mdw_put32(buf, len, rva, 0xffffffff);
    }
    /* The header's stream count too: the directory then runs past the end. */
    md = load_patched(buf, len);
    ck_assert_uint_le(minidump_thread_count(md), 1);
    minidump_free(md);
    mdw_put32(buf, len, 8, 0x10000000);
    ck_assert_int_eq(minidump_load(buf, len, &md, NULL, 0), -EINVAL);
    free(buf);
}
END_TEST

START_TEST(test_minidump_bad_strings)
{
    struct mdw *w = mdw_new(1);
    uint8_t *buf, odd[8];
    size_t len;
    uint32_t rva_ok, size, rva;
    struct minidump *md;

    mdw_system_info(w, &(struct mdw_system_info){.arch = 0, .platform = 2,
                                                 .csd = "SP"});
    mdw_module(w, &(struct mdw_module){.base = 0x1000, .size = 1,
                                       .name = "a.dll"});
    mdw_module(w, &(struct mdw_module){.base = 0x2000, .size = 1,
                                       .name = "b.dll"});
    mdw_thread(w, &(struct mdw_thread){.tid = 4});
    mdw_thread_name(w, 4, "t");
    /* A string claiming 0x7fffffff bytes: it runs past the end. */
    memset(odd, 0, sizeof(odd));
    odd[0] = 0xff, odd[1] = 0xff, odd[2] = 0xff, odd[3] = 0x7f;
    rva_ok = mdw_blob(w, odd, sizeof(odd));
    mdw_finish(w, &buf, &len);
    mdw_free(w);
    /* Module 0's name RVA past the end; module 1's name the long string;
     * the CSD the long string too. */
    ck_assert(mdw_dir_get(buf, len, MDW_MODULE_LIST, &size, &rva));
    mdw_put32(buf, len, rva + 4 + 20, 0xfffffffc);
    mdw_put32(buf, len, rva + 4 + 108 + 20, rva_ok);
    ck_assert(mdw_dir_get(buf, len, MDW_SYSTEM_INFO, &size, &rva));
    mdw_put32(buf, len, rva + 24, rva_ok);
    ck_assert(mdw_dir_get(buf, len, MDW_THREAD_NAMES, &size, &rva));
    mdw_put64(buf, len, rva + 8, UINT64_C(1) << 40);
    md = load_patched(buf, len);
    ck_assert_str_eq(minidump_module(md, 0)->code_file, "");
    ck_assert_str_eq(minidump_module(md, 1)->code_file, "");
    ck_assert_str_eq(minidump_system_info(md)->os_version, "0.0.0");
    ck_assert_str_eq(minidump_thread(md, 0)->name, "");
    minidump_free(md);
    free(buf);
}
END_TEST

/* UTF-16 that ends in an unpaired surrogate, and an odd byte length. */
START_TEST(test_minidump_unterminated_utf16)
{
    struct mdw *w = mdw_new(1);
    static const uint8_t s[] = {5, 0, 0, 0, 'a', 0, 0x3d, 0xd8, 'b'};
    uint8_t *buf;
    size_t len;
    uint32_t rva = 0, size, srva;
    struct minidump *md;

    mdw_module(w, &(struct mdw_module){.base = 1, .size = 1, .name = "x"});
    srva = mdw_blob(w, s, sizeof(s));
    mdw_finish(w, &buf, &len);
    mdw_free(w);
    ck_assert(mdw_dir_get(buf, len, MDW_MODULE_LIST, &size, &rva));
    mdw_put32(buf, len, rva + 4 + 20, srva);
    md = load_ok(buf, len);
    ck_assert_str_eq(minidump_module(md, 0)->code_file, "a\xef\xbf\xbd");
    minidump_free(md);
    free(buf);
}
END_TEST

START_TEST(test_minidump_not_a_dump)
{
    static const uint8_t junk[64] = "MDMQ";
    struct minidump *md = NULL;
    char err[128] = "";

    ck_assert_int_eq(minidump_load(junk, sizeof(junk), &md, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_eq(md, NULL);
    ck_assert(strstr(err, "signature") != NULL);
    ck_assert_int_eq(minidump_load(NULL, 0, &md, NULL, 0), -EINVAL);
}
END_TEST

static Suite *minidump_suite(void)
{
    Suite *s = suite_create("minidump");
    TCase *tc = tcase_create("fixtures");

    tcase_add_test(tc, test_minidump_windows_fixture);
    tcase_add_test(tc, test_minidump_linux_fixture);
    tcase_add_test(tc, test_minidump_macos_fixture);
    suite_add_tcase(s, tc);
    tc = tcase_create("synthetic");
    tcase_add_loop_test(tc, test_minidump_context_roundtrip, 0,
                        sizeof(ctx_kinds) / sizeof(ctx_kinds[0]));
    tcase_add_test(tc, test_minidump_context_partial_flags);
    tcase_add_test(tc, test_minidump_modules_and_memory);
    tcase_add_test(tc, test_minidump_elf_identity);
    tcase_add_loop_test(tc, test_minidump_crash_reasons, 0,
                        sizeof(reasons) / sizeof(reasons[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_minidump_truncated_everywhere);
    tcase_add_loop_test(tc, test_minidump_fixtures_truncated, 0, 3);
    tcase_add_test(tc, test_minidump_stream_past_end);
    tcase_add_test(tc, test_minidump_overlapping_streams);
    tcase_add_test(tc, test_minidump_huge_counts);
    tcase_add_test(tc, test_minidump_bad_strings);
    tcase_add_test(tc, test_minidump_unterminated_utf16);
    tcase_add_test(tc, test_minidump_not_a_dump);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return symtest_run(minidump_suite());
}
