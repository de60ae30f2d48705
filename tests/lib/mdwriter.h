/* SPDX-License-Identifier: MIT */
/*
 * mdwriter: builds minidump files in memory for tests, so that parser and
 * stack-walker tests can state exactly what a dump holds (threads with a
 * context and stack bytes, modules with CodeView records, memory ranges,
 * an exception, raw streams) and then corrupt it on purpose.
 *
 * LAYOUT.  The 32-byte header is followed by a directory of MDW_MAX_STREAMS
 * slots (unused slots stay zero, as in Windows' own dumps), then the data.
 * Strings, contexts, stack bytes and CodeView records are appended as they
 * are added, so their RVAs are known at once; list streams (threads,
 * modules, memory, ...) are assembled by mdw_finish().  The directory
 * therefore always starts at RVA 32 and entry I is at 32 + 12 * I.
 *
 * ENCODING.  Contexts are written from a struct unwind_regs (DWARF
 * numbering, see unwind.h) in the raw layout of the chosen CPU; this
 * encoder is written from the format's documentation, independently of
 * sym/minidump/minidump_context.c, so that tests compare two readings.
 *
 * ERRORS.  These are test helpers: misuse (too many streams, a string that
 * is not UTF-8) aborts with a message instead of returning an error.
 */
#ifndef SYMSRVD_MDWRITER_H
#define SYMSRVD_MDWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unwind/unwind.h"

#define MDW_MAX_STREAMS 32

/* Stream types, as MINIDUMP_STREAM_TYPE and Breakpad number them. */
enum {
    MDW_THREAD_LIST = 3,
    MDW_MODULE_LIST = 4,
    MDW_MEMORY_LIST = 5,
    MDW_EXCEPTION = 6,
    MDW_SYSTEM_INFO = 7,
    MDW_MEMORY64_LIST = 9,
    MDW_UNLOADED_MODULE_LIST = 14,
    MDW_MISC_INFO = 15,
    MDW_THREAD_NAMES = 24,
    MDW_BREAKPAD_INFO = 0x47670001,
    MDW_ASSERTION_INFO = 0x47670002,
    MDW_LINUX_CPU_INFO = 0x47670003,
    MDW_LINUX_LSB_RELEASE = 0x47670005,
    MDW_LINUX_MAPS = 0x47670009,
    MDW_CRASHPAD_INFO = 0x43500001,
};

/* Raw CPU context layouts the writer can produce. */
enum mdw_ctx {
    MDW_CTX_NONE = 0,  /* no context at all (location 0, 0) */
    MDW_CTX_X86,       /* CONTEXT_X86, 716 bytes */
    MDW_CTX_AMD64,     /* CONTEXT_AMD64, 1232 bytes */
    MDW_CTX_ARM,       /* Breakpad MDRawContextARM, 368 bytes */
    MDW_CTX_ARM64,     /* Windows ARM64_NT_CONTEXT / Breakpad, 912 bytes */
    MDW_CTX_ARM64_OLD, /* Breakpad's old arm64 layout, 796 bytes */
};

/* A context to encode: REGS in DWARF numbering (only registers whose bit
 * is set in REGS->valid are written; others are zero).  FLAGS 0 writes the
 * CPU's "control | integer" flags; any other value is written as is, so a
 * test can mark parts of the context absent. */
struct mdw_context {
    enum mdw_ctx kind;
    uint32_t flags;
    const struct unwind_regs *regs;
};

struct mdw_system_info {
    uint16_t arch;           /* PROCESSOR_ARCHITECTURE_* (0 x86, 9 amd64,
                              * 5 arm, 12 arm64) */
    uint16_t level, revision;
    uint8_t ncpus, product_type;
    uint32_t major, minor, build;
    uint32_t platform;       /* 2 Windows NT, 0x8101 macOS, 0x8201 Linux,
                              * 0x8203 Android */
    const char *csd;         /* NULL: CSD RVA 0 (no string) */
    const char *vendor;      /* x86 CPUID vendor, 12 chars, or NULL */
    uint32_t arm_cpuid, arm_hwcaps; /* written when VENDOR is NULL */
};

struct mdw_thread {
    uint32_t tid;
    uint32_t suspend_count, priority_class, priority;
    uint64_t teb;
    uint64_t stack_start;    /* STACK[0]'s address */
    const void *stack;       /* NULL with STACK_LEN 0: no stack memory */
    size_t stack_len;
    struct mdw_context ctx;
};

struct mdw_module {
    uint64_t base;
    uint32_t size, checksum, timestamp;
    const char *name;        /* code file path */
    const void *cv;          /* raw CodeView record (see mdw_cv_*), or NULL */
    size_t cv_len;
    bool has_version;        /* write a valid VS_FIXEDFILEINFO */
    uint32_t version_hi, version_lo; /* file version: a.b in HI, c.d in LO */
};

struct mdw_exception {
    uint32_t tid, code, flags;
    uint64_t address;
    uint32_t nparams;        /* at most 15 */
    uint64_t params[15];
    struct mdw_context ctx;
};

struct mdw;

/* A new empty dump (header TimeDateStamp TIMESTAMP).  Free with
 * mdw_free(). */
struct mdw *mdw_new(uint32_t timestamp);
void mdw_free(struct mdw *w);

/* Write the 4 bytes of padding Breakpad's macOS writer puts after the
 * count of the thread, module and memory lists (off by default). */
void mdw_set_list_padding(struct mdw *w, bool pad);

/* Append LEN bytes of DATA to the file body (4-byte aligned) and return
 * their RVA.  For hand-made structures the helpers below do not cover. */
uint32_t mdw_blob(struct mdw *w, const void *data, size_t len);

/* Append a MINIDUMP_STRING (UTF-16LE of UTF8, its byte length before it,
 * a NUL after it) and return its RVA. */
uint32_t mdw_string(struct mdw *w, const char *utf8);

/* Append CTX in its raw layout; *SIZE and the return value are its
 * location (0, 0 for MDW_CTX_NONE). */
uint32_t mdw_context(struct mdw *w, const struct mdw_context *ctx,
                     uint32_t *size);

/* CodeView records into BUF (CAP bytes); return the record length.
 * PDB70 ("RSDS"): GUID as its 16 stored bytes, age, NUL-terminated PDB
 * path.  ELF ("BpEL"): the build id bytes. */
size_t mdw_cv_pdb70(uint8_t *buf, size_t cap, const uint8_t guid[16],
                    uint32_t age, const char *pdb);
size_t mdw_cv_elf(uint8_t *buf, size_t cap, const uint8_t *build_id,
                  size_t len);

/* Streams written at once, in call order. */
void mdw_system_info(struct mdw *w, const struct mdw_system_info *si);
void mdw_misc_info(struct mdw *w, uint32_t flags1, uint32_t pid,
                   uint32_t create_time, uint32_t user_time,
                   uint32_t kernel_time);
void mdw_exception(struct mdw *w, const struct mdw_exception *e);
void mdw_breakpad_info(struct mdw *w, uint32_t validity, uint32_t dump_tid,
                       uint32_t requesting_tid);
void mdw_stream(struct mdw *w, uint32_t type, const void *data, size_t len);

/* List entries, gathered into their streams by mdw_finish() (a list with
 * no entry is not written).  Data pointed to is copied at once. */
void mdw_thread(struct mdw *w, const struct mdw_thread *t);
void mdw_thread_name(struct mdw *w, uint32_t tid, const char *name);
void mdw_module(struct mdw *w, const struct mdw_module *m);
void mdw_unloaded_module(struct mdw *w, const struct mdw_module *m);
void mdw_memory(struct mdw *w, uint64_t addr, const void *data, size_t len);
void mdw_memory64(struct mdw *w, uint64_t addr, const void *data,
                  size_t len);

/* Write the list streams, the directory and the header.  *OUT is a new
 * buffer of *LEN bytes the caller frees with free(); W is then spent (only
 * mdw_free() may follow). */
void mdw_finish(struct mdw *w, uint8_t **out, size_t *len);

/* --- corruption helpers on a finished dump ------------------------------ */

/* The directory slot of the first stream of TYPE, or -1. */
int mdw_dir_find(const uint8_t *dump, size_t len, uint32_t type);

/* Read or overwrite the DataSize and Rva of the first stream of TYPE;
 * mdw_dir_get() returns false when there is none, mdw_dir_set() aborts. */
bool mdw_dir_get(const uint8_t *dump, size_t len, uint32_t type,
                 uint32_t *size, uint32_t *rva);
void mdw_dir_set(uint8_t *dump, size_t len, uint32_t type, uint32_t size,
                 uint32_t rva);

/* Little-endian stores at OFF, aborting when they do not fit in LEN. */
void mdw_put32(uint8_t *dump, size_t len, size_t off, uint32_t v);
void mdw_put64(uint8_t *dump, size_t len, size_t off, uint64_t v);

#endif
