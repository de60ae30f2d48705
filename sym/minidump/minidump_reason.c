/* SPDX-License-Identifier: MIT */
/*
 * minidump_reason: the crash reason and address, named exactly as
 * Breakpad's MinidumpProcessor::GetCrashReason names them for Windows,
 * Linux/Android and macOS/iOS (x86, amd64 and ARM sub-codes; PowerPC,
 * Solaris, PS3 and Fuchsia fall back to the numeric form).
 *
 * The fallback, for an unknown platform or code, is Breakpad's
 * "0x<code> / 0x<flags>"; an unknown sub-code keeps the name of the code
 * and prints the flags in hex.
 */
#include "symsrvd_config.h"

#include "minidump/minidump_int.h"

#include "xalloc.h"

#include <stdio.h>

struct code_name {
    uint32_t code;
    const char *name;
};

static const char *lookup(const struct code_name *t, size_t n, uint32_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return t[i].name;
    return NULL;
}

#define LOOKUP(t, code) lookup(t, sizeof(t) / sizeof(t[0]), code)

static const struct code_name win_codes[] = {
    {0x40010005, "DBG_CONTROL_C"},
    {0x80000001, "EXCEPTION_GUARD_PAGE"},
    {0x80000002, "EXCEPTION_DATATYPE_MISALIGNMENT"},
    {0x80000003, "EXCEPTION_BREAKPOINT"},
    {0x80000004, "EXCEPTION_SINGLE_STEP"},
    {0xc0000008, "EXCEPTION_INVALID_HANDLE"},
    {0xc000001d, "EXCEPTION_ILLEGAL_INSTRUCTION"},
    {0xc0000025, "EXCEPTION_NONCONTINUABLE_EXCEPTION"},
    {0xc0000026, "EXCEPTION_INVALID_DISPOSITION"},
    {0xc000008c, "EXCEPTION_BOUNDS_EXCEEDED"},
    {0xc000008d, "EXCEPTION_FLT_DENORMAL_OPERAND"},
    {0xc000008e, "EXCEPTION_FLT_DIVIDE_BY_ZERO"},
    {0xc000008f, "EXCEPTION_FLT_INEXACT_RESULT"},
    {0xc0000090, "EXCEPTION_FLT_INVALID_OPERATION"},
    {0xc0000091, "EXCEPTION_FLT_OVERFLOW"},
    {0xc0000092, "EXCEPTION_FLT_STACK_CHECK"},
    {0xc0000093, "EXCEPTION_FLT_UNDERFLOW"},
    {0xc0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO"},
    {0xc0000095, "EXCEPTION_INT_OVERFLOW"},
    {0xc0000096, "EXCEPTION_PRIV_INSTRUCTION"},
    {0xc00000fd, "EXCEPTION_STACK_OVERFLOW"},
    {0xc00000ff, "EXCEPTION_BAD_FUNCTION_TABLE"},
    {0xc0000194, "EXCEPTION_POSSIBLE_DEADLOCK"},
    {0xc0000374, "EXCEPTION_HEAP_CORRUPTION"},
    {0xc0000409, "EXCEPTION_STACK_BUFFER_OVERRUN"},
    {0xe0000008, "Out of Memory"},
    {0xe06d7363, "Unhandled C++ Exception"},
    {0x0517a7ed, "Simulated Exception"},
};

#define WIN_ACCESS_VIOLATION 0xc0000005
#define WIN_IN_PAGE_ERROR 0xc0000006

/* Access violations and in-page errors: params[0] says read (0), write
 * (1) or execute (8); params[1] is the faulting data address. */
static char *win_reason(const struct minidump_exception *x,
                        uint64_t *address)
{
    const char *base, *kind = "";
    const char *name = LOOKUP(win_codes, x->code);

    if (x->code != WIN_ACCESS_VIOLATION && x->code != WIN_IN_PAGE_ERROR)
        return name ? xstrdup(name) : NULL;
    base = x->code == WIN_ACCESS_VIOLATION ? "EXCEPTION_ACCESS_VIOLATION"
                                           : "EXCEPTION_IN_PAGE_ERROR";
    if (x->nparams >= 1)
        kind = x->params[0] == 0   ? "_READ"
               : x->params[0] == 1 ? "_WRITE"
               : x->params[0] == 8 ? "_EXEC"
                                   : "";
    if (x->nparams >= 2)
        *address = x->params[1];
    if (x->code == WIN_IN_PAGE_ERROR && x->nparams >= 3)
        return xasprintf("%s%s / 0x%08x", base, kind, (uint32_t)x->params[2]);
    return xasprintf("%s%s", base, kind);
}

static const char *const linux_signals[] = {
    NULL,       "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP",
    "SIGABRT",  "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV",
    "SIGUSR2",  "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD",
    "SIGCONT",  "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU",   "SIGURG",
    "SIGXCPU",  "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",  "SIGIO",
    "SIGPWR",   "SIGSYS",
};

static const char *const ill_codes[] = {NULL,         "ILL_ILLOPC",
                                        "ILL_ILLOPN", "ILL_ILLADR",
                                        "ILL_ILLTRP", "ILL_PRVOPC",
                                        "ILL_PRVREG", "ILL_COPROC",
                                        "ILL_BADSTK"};
static const char *const bus_codes[] = {NULL, "BUS_ADRALN", "BUS_ADRERR",
                                        "BUS_OBJERR", "BUS_MCEERR_AR",
                                        "BUS_MCEERR_AO"};
static const char *const fpe_codes[] = {
    NULL,         "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
    "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"};
static const char *const segv_codes[] = {NULL, "SEGV_MAPERR", "SEGV_ACCERR",
                                         "SEGV_BNDERR", "SEGV_PKUERR"};

#define NAMES(t) t, sizeof(t) / sizeof(t[0])

static const char *indexed(const char *const *t, size_t n, uint32_t i)
{
    return i < n ? t[i] : NULL;
}

/* Signals with an si_code table append it; SIGSEGV without the space
 * after the slash, as Breakpad writes it. */
static char *linux_reason(const struct minidump_exception *x)
{
    const char *sig = indexed(NAMES(linux_signals), x->code);
    const char *sub = NULL, *sep = " / ";

    if (x->code == 0xffffffff)
        return xstrdup("DUMP_REQUESTED");
    if (sig == NULL)
        return NULL;
    switch (x->code) {
    case 4:
        sub = indexed(NAMES(ill_codes), x->flags);
        break;
    case 7:
        sub = indexed(NAMES(bus_codes), x->flags);
        break;
    case 8:
        sub = indexed(NAMES(fpe_codes), x->flags);
        break;
    case 11:
        sub = indexed(NAMES(segv_codes), x->flags);
        sep = " /";
        break;
    default:
        return xstrdup(sig);
    }
    if (sub == NULL)
        return xasprintf("%s%s0x%08x", sig, sep, x->flags);
    return xasprintf("%s%s%s", sig, sep, sub);
}

static const struct code_name kern_codes[] = {
    {1, "KERN_INVALID_ADDRESS"}, {2, "KERN_PROTECTION_FAILURE"},
    {8, "KERN_NO_ACCESS"},       {9, "KERN_MEMORY_FAILURE"},
    {10, "KERN_MEMORY_ERROR"},   {50, "KERN_CODESIGN_ERROR"},
};
static const struct code_name arm_access[] = {
    {0x101, "EXC_ARM_DA_ALIGN"}, {0x102, "EXC_ARM_DA_DEBUG"}};
static const struct code_name x86_access[] = {{13, "EXC_I386_GPFLT"}};
static const struct code_name arm_instruction[] = {
    {1, "EXC_ARM_UNDEFINED"}};
static const struct code_name x86_instruction[] = {
    {1, "EXC_I386_INVOP"},   {10, "EXC_I386_INVTSSFLT"},
    {11, "EXC_I386_SEGNPFLT"}, {12, "EXC_I386_STKFLT"},
    {13, "EXC_I386_GPFLT"},  {17, "EXC_I386_ALIGNFLT"},
};
static const struct code_name x86_arithmetic[] = {
    {1, "EXC_I386_DIV"},    {2, "EXC_I386_INTO"},   {3, "EXC_I386_NOEXT"},
    {4, "EXC_I386_EXTOVR"}, {5, "EXC_I386_EXTERR"}, {6, "EXC_I386_EMERR"},
    {7, "EXC_I386_BOUND"},  {8, "EXC_I386_SSEEXTERR"},
};
static const struct code_name mac_software[] = {
    {0x00010003, "SIGABRT"}, {0xdeadc0de, "UNCAUGHT_NS_EXCEPTION"},
    {1, "EXC_PPC_TRAP"},     {2, "EXC_PPC_MIGRATE"},
};
static const struct code_name arm_breakpoint[] = {
    {0x101, "EXC_ARM_DA_ALIGN"}, {0x102, "EXC_ARM_DA_DEBUG"},
    {1, "EXC_ARM_BREAKPOINT"}};
static const struct code_name x86_breakpoint[] = {{1, "EXC_I386_SGL"},
                                                  {2, "EXC_I386_BPT"}};

/* The sub-code of a Mach exception, for the CPU families Breakpad knows
 * (ARM means 32-bit ARM and the old arm64 id, as in Breakpad). */
static const char *mac_sub(uint32_t code, uint32_t flags, uint16_t arch)
{
    bool arm = arch == MD_CPU_ARM || arch == MD_CPU_ARM64_OLD;
    bool x86 = arch == MD_CPU_X86 || arch == MD_CPU_AMD64;

    switch (code) {
    case 1: {
        const char *k = LOOKUP(kern_codes, flags);

        if (k != NULL)
            return k;
        return arm ? LOOKUP(arm_access, flags)
                   : x86 ? LOOKUP(x86_access, flags) : NULL;
    }
    case 2:
        return arm ? LOOKUP(arm_instruction, flags)
                   : x86 ? LOOKUP(x86_instruction, flags) : NULL;
    case 3:
        return x86 ? LOOKUP(x86_arithmetic, flags) : NULL;
    case 5:
        return LOOKUP(mac_software, flags);
    case 6:
        return arm ? LOOKUP(arm_breakpoint, flags)
                   : x86 ? LOOKUP(x86_breakpoint, flags) : NULL;
    default:
        return NULL;
    }
}

static const char *const mac_exceptions[] = {
    NULL,           "EXC_BAD_ACCESS", "EXC_BAD_INSTRUCTION",
    "EXC_ARITHMETIC", "EXC_EMULATION", "EXC_SOFTWARE",
    "EXC_BREAKPOINT", "EXC_SYSCALL",  "EXC_MACH_SYSCALL",
    "EXC_RPC_ALERT",
};

static char *mac_reason(const struct minidump_exception *x, uint16_t arch)
{
    const char *name = indexed(NAMES(mac_exceptions), x->code);
    const char *sub;

    if (x->code == 0x43507378)
        return xstrdup("Simulated Exception");
    if (name == NULL)
        return NULL;
    sub = mac_sub(x->code, x->flags, arch);
    if (sub == NULL)
        return xasprintf("%s / 0x%08x", name, x->flags);
    return xasprintf("%s / %s", name, sub);
}

static bool is_32bit(uint16_t arch)
{
    return arch == MD_CPU_X86 || arch == MD_CPU_MIPS || arch == MD_CPU_PPC ||
           arch == MD_CPU_ARM || arch == MD_CPU_X86_WIN64 || arch == 4;
}

void md_read_crash_reason(struct minidump *md)
{
    const struct minidump_exception *x = &md->exc;
    uint64_t address = x->address;
    uint32_t os = md->has_system_info ? md->sys.platform_id : 0;
    uint16_t arch = md->sys.processor_architecture;
    char *reason = NULL;

    if (!md->has_exception)
        return;
    if (os == MD_OS_WIN32_NT || os == MD_OS_WIN32_WINDOWS)
        reason = win_reason(x, &address);
    else if (os == MD_OS_LINUX || os == MD_OS_ANDROID)
        reason = linux_reason(x);
    else if (os == MD_OS_MAC_OS_X || os == MD_OS_IOS)
        reason = mac_reason(x, arch);
    if (reason == NULL)
        reason = xasprintf("0x%08x / 0x%08x", x->code, x->flags);
    if (md->has_system_info && is_32bit(arch))
        address &= 0xffffffff;
    md->crash_reason = md_own(md, reason);
    md->crash_address = address;
}
