/* SPDX-License-Identifier: MIT */
/*
 * minidump_priv: what the minidump_*.c files share: the loaded dump, the
 * bounds-checked readers every stream parser goes through, and the
 * per-part entry points (contexts, system info, crash reasons).
 */
#ifndef SYMSRVD_MINIDUMP_PRIV_H
#define SYMSRVD_MINIDUMP_PRIV_H

#include "minidump/minidump.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "byteorder.h"

/* Warnings kept per dump: enough to explain a broken file, bounded so a
 * hostile directory cannot grow the list without end. */
#define MD_MAX_WARNINGS 64

/* Stream types (MINIDUMP_STREAM_TYPE and Breakpad/Crashpad extensions). */
enum {
    MD_STREAM_THREAD_LIST = 3,
    MD_STREAM_MODULE_LIST = 4,
    MD_STREAM_MEMORY_LIST = 5,
    MD_STREAM_EXCEPTION = 6,
    MD_STREAM_SYSTEM_INFO = 7,
    MD_STREAM_MEMORY64_LIST = 9,
    MD_STREAM_UNLOADED_MODULE_LIST = 14,
    MD_STREAM_MISC_INFO = 15,
    MD_STREAM_THREAD_NAMES = 24,
    MD_STREAM_BREAKPAD_INFO = 0x47670001,
    MD_STREAM_ASSERTION_INFO = 0x47670002,
    MD_STREAM_LINUX_FIRST = 0x47670003, /* cpuinfo */
    MD_STREAM_LINUX_LAST = 0x4767000a,  /* DSO debug */
    MD_STREAM_CRASHPAD_INFO = 0x43500001,
};

/* Platform ids (MINIDUMP_SYSTEM_INFO.PlatformId, Breakpad's MD_OS_*). */
enum {
    MD_OS_WIN32_WINDOWS = 1,
    MD_OS_WIN32_NT = 2,
    MD_OS_MAC_OS_X = 0x8101,
    MD_OS_IOS = 0x8102,
    MD_OS_LINUX = 0x8201,
    MD_OS_SOLARIS = 0x8202,
    MD_OS_ANDROID = 0x8203,
    MD_OS_PS3 = 0x8204,
    MD_OS_NACL = 0x8205,
    MD_OS_FUCHSIA = 0x8206,
};

/* Processor architectures (PROCESSOR_ARCHITECTURE_*, MD_CPU_*). */
enum {
    MD_CPU_X86 = 0,
    MD_CPU_MIPS = 1,
    MD_CPU_PPC = 3,
    MD_CPU_ARM = 5,
    MD_CPU_AMD64 = 9,
    MD_CPU_X86_WIN64 = 10,
    MD_CPU_ARM64 = 12,
    MD_CPU_SPARC = 0x8001,
    MD_CPU_PPC64 = 0x8002,
    MD_CPU_ARM64_OLD = 0x8003,
    MD_CPU_MIPS64 = 0x8004,
};

/* A byte range of the file that has been checked to lie inside it. */
struct md_view {
    const uint8_t *p;
    size_t len;
};

/* One range of process memory whose bytes are in the file. */
struct md_range {
    uint64_t addr;
    const uint8_t *data;
    size_t len;
};

struct md_stream {
    uint32_t type;
    struct md_view v;  /* clamped to the file */
};

struct minidump {
    const uint8_t *data;
    size_t len;
    uint32_t timestamp;

    struct md_stream *streams; /* the directory, in file order */
    size_t nstreams;

    bool has_system_info, has_misc_info, has_exception;
    struct minidump_system_info sys;
    struct minidump_misc_info misc;
    struct minidump_exception exc;

    struct minidump_thread *threads;
    size_t nthreads;
    struct minidump_module *modules, *unloaded;
    size_t nmodules, nunloaded;
    size_t *module_order; /* indexes of MODULES sorted by base */

    struct md_range *ranges; /* sorted by address, then length */
    size_t nranges, cap_ranges;

    bool has_breakpad_info;
    uint32_t bp_validity, bp_dump_tid, bp_requesting_tid;
    const char *assertion; /* NULL when absent */
    const char *crash_reason; /* NULL without an exception */
    uint64_t crash_address;

    size_t nannotations;
    const char **annotations; /* key, value, key, value, ... */

    char **owned; /* every string the dump allocated */
    size_t nowned, cap_owned;
    char *warnings[MD_MAX_WARNINGS];
    size_t nwarnings;
};

/* --- minidump.c ----------------------------------------------------------- */

/* Note one problem found while loading (printf format). */
void md_warn(struct minidump *md, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep S (from malloc) until minidump_free(); returns S. */
char *md_own(struct minidump *md, char *s);

/* *OUT = the file bytes [RVA, RVA + SIZE); false when they do not fit. */
bool md_span(const struct minidump *md, uint64_t rva, uint64_t size,
             struct md_view *out);

/* The first stream of TYPE, or NULL. */
const struct md_view *md_stream(const struct minidump *md, uint32_t type);

/* The MINIDUMP_STRING at RVA as UTF-8, owned by MD.  "" (with a warning
 * naming WHAT) when it does not fit in the file. */
const char *md_string(struct minidump *md, uint32_t rva, const char *what);

/* The entries of a list stream S: a 32-bit count, then (Breakpad pads
 * some lists to 8 bytes) entries of ENTRY bytes.  Sets *FIRST and returns
 * the count, cut down with a warning to what S holds. */
size_t md_list(struct minidump *md, const struct md_view *s, size_t entry,
               const char *what, const uint8_t **first);

/* UTF-16LE units P[0..N) (stopping at a NUL) as new UTF-8; unpaired
 * surrogates become U+FFFD. */
char *md_utf16_to_utf8(const uint8_t *p, size_t n);

/* --- minidump_context.c ------------------------------------------------- */

/* Decode the raw CPU context V into *OUT.  0, or -EINVAL when V is not a
 * context of a CPU we know (or too short for its layout). */
int md_context_parse(const struct md_view *v, struct unwind_regs *out);

/* --- minidump_sysinfo.c -------------------------------------------------- */

/* SystemInfo, MiscInfo, Breakpad info, assertion and Crashpad info. */
void md_read_system_info(struct minidump *md);
void md_read_misc_info(struct minidump *md);
void md_read_breakpad_streams(struct minidump *md);
void md_read_crashpad_info(struct minidump *md);

/* --- minidump_reason.c --------------------------------------------------- */

/* Name the exception (after system info and the exception are read). */
void md_read_crash_reason(struct minidump *md);

/* --- minidump_module.c ---------------------------------------------------- */

void md_read_modules(struct minidump *md);
void md_read_unloaded_modules(struct minidump *md);

#endif
