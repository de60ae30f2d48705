/* SPDX-License-Identifier: MIT */
/*
 * minidump: a defensive reader of minidump files (MDMP), as written by
 * Windows (MiniDumpWriteDump), Breakpad and Crashpad on Windows, Linux,
 * macOS and Android.
 *
 * A dump comes from a crashed, possibly corrupted process, and often from
 * the internet.  Every size, count, RVA and string is checked against the
 * file before it is used; counts are bounded by what the stream can hold,
 * so no allocation is larger than the file.  A stream that is malformed is
 * skipped and noted (minidump_warnings()); the dump is then "partial", and
 * what could be read is still returned.  Only a file that is not a
 * minidump at all (bad signature, header or directory past the end) fails
 * minidump_load().
 *
 * OWNERSHIP.  struct minidump borrows the file bytes given to
 * minidump_load(), which must outlive it.  Every pointer an accessor
 * returns (structs, strings, stack bytes) is owned by the minidump and
 * valid until minidump_free().  Strings are UTF-8 (converted from the
 * dump's UTF-16), NUL-terminated, and "" when absent, never NULL.
 *
 * THREADS.  A loaded minidump is immutable: any number of threads may read
 * it at once.
 */
#ifndef SYMSRVD_MINIDUMP_H
#define SYMSRVD_MINIDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind/unwind.h"

struct minidump;

struct minidump_system_info {
    uint16_t processor_architecture; /* raw PROCESSOR_ARCHITECTURE_* */
    enum unwind_cpu cpu;             /* UNWIND_CPU_UNKNOWN if unsupported */
    uint16_t processor_level, processor_revision;
    uint8_t number_of_processors, product_type;
    uint32_t major_version, minor_version, build_number;
    uint32_t platform_id;            /* raw VER_PLATFORM_* / Breakpad OS */
    /* Breakpad's formatting, ready to print: */
    const char *os;          /* "Windows NT", "Linux", "Mac OS X", "iOS",
                              * "Android", "Solaris", ... or the platform
                              * id as "0x%08x" (Breakpad's form) */
    const char *os_short;    /* "windows", "linux", "mac", "ios",
                              * "android", ... */
    const char *os_version;  /* "10.0.19041 Service Pack 1",
                              * "0.0.0 Linux 5.10.0 #1 SMP ... x86_64" */
    const char *cpu_name;    /* "x86", "amd64", "arm", "arm64", ... */
    const char *cpu_info;    /* "GenuineIntel family 6 model 158 stepping
                              * 10", or "" */
    const char *csd_version; /* raw service-pack / kernel string */
};

/* MiscInfo; a field is valid only when its HAS_ flag is set. */
struct minidump_misc_info {
    bool has_process_id, has_times;
    uint32_t process_id;
    uint32_t process_create_time; /* time_t seconds */
    uint32_t process_user_time, process_kernel_time;
};

struct minidump_exception {
    uint32_t thread_id;
    uint32_t code, flags;
    uint64_t address;
    uint32_t nparams;          /* at most 15 */
    uint64_t params[15];
    bool has_context;
    struct unwind_regs context;
};

struct minidump_thread {
    uint32_t thread_id;
    const char *name;          /* ThreadNames stream, or "" */
    uint32_t suspend_count, priority_class, priority;
    uint64_t teb;
    uint64_t stack_start;      /* address of STACK[0] */
    const uint8_t *stack;      /* NULL when the stack memory is missing */
    size_t stack_len;          /* clamped to the file */
    bool has_context;
    struct unwind_regs context;
};

struct minidump_module {
    uint64_t base, size;
    uint32_t checksum, time_date_stamp;
    const char *code_file;     /* full path as recorded */
    const char *code_id;       /* PE: %08X timestamp + %x size; ELF: build
                                * id, lower hex; "" when unknown */
    const char *debug_file;    /* PDB path from the CodeView record, or the
                                * code file for ELF/Mach-O */
    const char *debug_id;      /* GUID+age, upper hex (objfile_ident's
                                * form); "" when no CodeView record */
    const char *version;       /* "a.b.c.d" from VS_FIXEDFILEINFO, or "" */
    bool unloaded;             /* from UnloadedModuleList */
};

/* Load the dump in DATA[0..LEN).  0 and *OUT, or -EINVAL when DATA is not
 * a minidump (ERR, when not NULL, gets a one-line reason in ERRLEN
 * bytes). */
int minidump_load(const uint8_t *data, size_t len, struct minidump **out,
                  char *err, size_t errlen);
void minidump_free(struct minidump *md);

/* Header TimeDateStamp (time_t seconds). */
uint32_t minidump_timestamp(const struct minidump *md);

/* NULL when the stream is absent or unreadable. */
const struct minidump_system_info *
minidump_system_info(const struct minidump *md);
const struct minidump_misc_info *minidump_misc_info(const struct minidump *md);
const struct minidump_exception *minidump_exception(const struct minidump *md);

size_t minidump_thread_count(const struct minidump *md);
const struct minidump_thread *minidump_thread(const struct minidump *md,
                                              size_t i);

/* Loaded modules, in the order of the dump's module list; unloaded
 * modules are separate. */
size_t minidump_module_count(const struct minidump *md);
const struct minidump_module *minidump_module(const struct minidump *md,
                                              size_t i);
size_t minidump_unloaded_count(const struct minidump *md);
const struct minidump_module *minidump_unloaded(const struct minidump *md,
                                                size_t i);

/* The loaded module containing ADDR, or NULL (O(log n)). */
const struct minidump_module *
minidump_module_at(const struct minidump *md, uint64_t addr);

/* Copy LEN bytes of process memory at ADDR (MemoryList, Memory64List and
 * thread stacks) into BUF.  0, or -1 when any byte is not in the dump. */
int minidump_read(const struct minidump *md, uint64_t addr, void *buf,
                  size_t len);

/* A struct unwind_memory that reads through minidump_read() and whose
 * is_code accepts addresses inside a loaded module. */
void minidump_memory(const struct minidump *md, struct unwind_memory *mem);

/* The crash reason as Breakpad names it ("EXCEPTION_ACCESS_VIOLATION_WRITE",
 * "SIGSEGV /SEGV_MAPERR", "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", ...)
 * and the crash address (the faulting data address where the exception
 * records one, else the exception address).  NULL when there is no
 * exception stream. */
const char *minidump_crash_reason(const struct minidump *md,
                                  uint64_t *crash_address);

/* Breakpad info stream: the dumping and requesting threads.  False when
 * absent or the field is not marked valid. */
bool minidump_dump_thread(const struct minidump *md, uint32_t *tid);
bool minidump_requesting_thread(const struct minidump *md, uint32_t *tid);

/* Assertion info (expression, function, file, line), or NULL. */
const char *minidump_assertion(const struct minidump *md);

/* Raw text of a Linux stream ("/proc/self/maps", "/etc/lsb-release",
 * "/proc/cpuinfo", "/proc/self/status", "/proc/self/cmdline",
 * "/proc/self/environ"; also the binary "/proc/self/auxv" and "DSO_DEBUG"
 * streams), not NUL-terminated, with its length in *LEN; NULL when
 * absent. */
const char *minidump_linux_stream(const struct minidump *md,
                                  const char *name, size_t *len);

/* Crashpad's simple annotations (CrashpadInfo stream): the number of
 * key/value pairs, and pair I (false when I is out of range).  Strings are
 * borrowed from MD. */
size_t minidump_annotation_count(const struct minidump *md);
bool minidump_annotation(const struct minidump *md, size_t i,
                         const char **key, const char **value);

/* What was skipped while loading, one line each; none for a clean dump. */
size_t minidump_warning_count(const struct minidump *md);
const char *minidump_warning(const struct minidump *md, size_t i);

#endif
