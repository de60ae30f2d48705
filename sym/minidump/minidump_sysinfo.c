/* SPDX-License-Identifier: MIT */
/*
 * minidump_sysinfo: SystemInfo and MiscInfo, formatted the way Breakpad's
 * minidump_processor does (GetOSInfo, GetCPUInfo), plus the small
 * Breakpad streams (dump/requesting thread, assertion) and Crashpad's
 * simple annotations.
 *
 * Breakpad quirks kept on purpose, since tools compare our output with
 * its: the OS version is "major.minor.build", then " " and the CSD
 * string whenever that string is readable (so an empty CSD leaves a
 * trailing space, as in Windows dumps); the CPU vendor is printed only
 * for x86 (not amd64) dumps; unknown platforms and CPUs print as hex.
 */
#include "symsrvd_config.h"

#include "minidump/minidump_int.h"

#include "xalloc.h"

#include <stdio.h>
#include <string.h>

#define SYSINFO_SIZE 56

static const struct {
    uint32_t id;
    const char *name, *short_name;
} oses[] = {
    {MD_OS_WIN32_NT, "Windows NT", "windows"},
    {MD_OS_WIN32_WINDOWS, "Windows", "windows"},
    {MD_OS_MAC_OS_X, "Mac OS X", "mac"},
    {MD_OS_IOS, "iOS", "ios"},
    {MD_OS_LINUX, "Linux", "linux"},
    {MD_OS_SOLARIS, "Solaris", "solaris"},
    {MD_OS_ANDROID, "Android", "android"},
    {MD_OS_PS3, "PS3", "ps3"},
    {MD_OS_NACL, "NaCl", "nacl"},
    {MD_OS_FUCHSIA, "Fuchsia", "fuchsia"},
};

static const struct {
    uint16_t arch;
    const char *name;
    enum unwind_cpu cpu;
} cpus[] = {
    {MD_CPU_X86, "x86", UNWIND_CPU_X86},
    {MD_CPU_X86_WIN64, "x86", UNWIND_CPU_X86},
    {MD_CPU_AMD64, "amd64", UNWIND_CPU_AMD64},
    {MD_CPU_ARM, "arm", UNWIND_CPU_ARM},
    {MD_CPU_ARM64, "arm64", UNWIND_CPU_ARM64},
    {MD_CPU_ARM64_OLD, "arm64", UNWIND_CPU_ARM64},
    {MD_CPU_PPC, "ppc", UNWIND_CPU_UNKNOWN},
    {MD_CPU_PPC64, "ppc64", UNWIND_CPU_UNKNOWN},
    {MD_CPU_SPARC, "sparc", UNWIND_CPU_UNKNOWN},
    {MD_CPU_MIPS, "mips", UNWIND_CPU_UNKNOWN},
    {MD_CPU_MIPS64, "mips64", UNWIND_CPU_UNKNOWN},
};

static void format_os(struct minidump *md, const char *csd, bool has_csd)
{
    struct minidump_system_info *si = &md->sys;

    si->os = NULL;
    si->os_short = "";
    for (size_t i = 0; i < sizeof(oses) / sizeof(oses[0]); i++)
        if (oses[i].id == si->platform_id) {
            si->os = oses[i].name;
            si->os_short = oses[i].short_name;
        }
    if (si->os == NULL)
        si->os = md_own(md, xasprintf("0x%08x", si->platform_id));
    si->os_version = md_own(
        md, xasprintf("%u.%u.%u%s%s", si->major_version, si->minor_version,
                      si->build_number, has_csd ? " " : "", csd));
}

/* Breakpad's ARM description: "ARMv<level>", the implementer and part
 * from the CPUID register, and the ELF hwcaps. */
static const struct {
    uint32_t id;
    const char *name;
} arm_vendors[] = {{0x41, "ARM"}, {0x51, "Qualcomm"}, {0x56, "Marvell"},
                   {0x69, "Intel/Marvell"}};

static const struct {
    uint32_t id;
    const char *name;
} arm_parts[] = {
    {0x4100c050, "Cortex-A5"},  {0x4100c080, "Cortex-A8"},
    {0x4100c090, "Cortex-A9"},  {0x4100c0f0, "Cortex-A15"},
    {0x4100c140, "Cortex-R4"},  {0x4100c150, "Cortex-R5"},
    {0x4100b360, "ARM1136"},    {0x4100b560, "ARM1156"},
    {0x4100b760, "ARM1176"},    {0x4100b020, "ARM11-MPCore"},
    {0x41009260, "ARM926"},     {0x41009460, "ARM946"},
    {0x41009660, "ARM966"},     {0x510006f0, "Krait"},
    {0x510000f0, "Scorpion"},
};

static const char *const arm_features[] = {
    "swp",  "half",  "thumb",   "26bit",    "fastmult", "fpa",   "vfpv2",
    "edsp", "java",  "iwmmxt",  "crunch",   "thumbee",  "neon",  "vfpv3",
    "vfpv3d16", "tls", "vfpv4", "idiva",    "idivt",
};

static char *arm_cpu_info(uint16_t level, uint32_t cpuid, uint32_t hwcaps)
{
    char buf[512], part[32] = "", vendor[32] = "";
    size_t o;

    for (size_t i = 0; i < sizeof(arm_vendors) / sizeof(arm_vendors[0]); i++)
        if (arm_vendors[i].id == ((cpuid >> 24) & 0xff))
            snprintf(vendor, sizeof(vendor), "%s", arm_vendors[i].name);
    if (vendor[0] == '\0')
        snprintf(vendor, sizeof(vendor), "vendor(0x%x)", (cpuid >> 24) & 0xff);
    for (size_t i = 0; i < sizeof(arm_parts) / sizeof(arm_parts[0]); i++)
        if (arm_parts[i].id == (cpuid & 0xff00fff0))
            snprintf(part, sizeof(part), "%s", arm_parts[i].name);
    if (part[0] == '\0')
        snprintf(part, sizeof(part), "part(0x%x)", cpuid & 0xff00fff0);
    o = (size_t)snprintf(buf, sizeof(buf), "ARMv%u", level);
    if (cpuid != 0)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s %s", vendor,
                              part);
    if (hwcaps != 0) {
        const char *sep = " features: ";

        for (size_t i = 0; i < sizeof(arm_features) / sizeof(char *); i++) {
            if (!(hwcaps & (UINT32_C(1) << i)))
                continue;
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", sep,
                                  arm_features[i]);
            sep = ",";
        }
    }
    return xstrdup(buf);
}

static void format_cpu(struct minidump *md, const uint8_t *cpu_info)
{
    struct minidump_system_info *si = &md->sys;
    uint16_t arch = si->processor_architecture;
    char vendor[16] = "";

    si->cpu_name = NULL;
    si->cpu_info = "";
    for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
        if (cpus[i].arch == arch) {
            si->cpu_name = cpus[i].name;
            si->cpu = cpus[i].cpu;
        }
    if (si->cpu_name == NULL)
        si->cpu_name = md_own(md, xasprintf("0x%04x", arch));
    if (arch == MD_CPU_X86 || arch == MD_CPU_X86_WIN64 ||
        arch == MD_CPU_AMD64) {
        if (arch != MD_CPU_AMD64) {
            memcpy(vendor, cpu_info, 12);
            strcat(vendor, " "); /* at most 12 + 1 + NUL */
        }
        si->cpu_info = md_own(
            md, xasprintf("%sfamily %u model %u stepping %u", vendor,
                          si->processor_level, si->processor_revision >> 8,
                          si->processor_revision & 0xff));
    } else if (arch == MD_CPU_ARM) {
        si->cpu_info =
            md_own(md, arm_cpu_info(si->processor_level, le32(cpu_info),
                                    le32(cpu_info + 4)));
    }
}

void md_read_system_info(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_SYSTEM_INFO);
    struct minidump_system_info *si = &md->sys;
    const uint8_t *p;
    uint32_t csd_rva;
    size_t nwarn;

    if (s == NULL)
        return;
    if (s->len < SYSINFO_SIZE) {
        md_warn(md, "SystemInfo: stream of %zu bytes, need %d", s->len,
                SYSINFO_SIZE);
        return;
    }
    p = s->p;
    si->processor_architecture = le16(p);
    si->processor_level = le16(p + 2);
    si->processor_revision = le16(p + 4);
    si->number_of_processors = p[6];
    si->product_type = p[7];
    si->major_version = le32(p + 8);
    si->minor_version = le32(p + 12);
    si->build_number = le32(p + 16);
    si->platform_id = le32(p + 20);
    csd_rva = le32(p + 24);
    nwarn = md->nwarnings;
    si->csd_version = csd_rva ? md_string(md, csd_rva, "CSD version") : "";
    format_os(md, si->csd_version, csd_rva != 0 && md->nwarnings == nwarn);
    format_cpu(md, p + 32);
    md->has_system_info = true;
}

void md_read_misc_info(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_MISC_INFO);
    struct minidump_misc_info *mi = &md->misc;
    uint32_t flags;

    if (s == NULL)
        return;
    if (s->len < 24) {
        md_warn(md, "MiscInfo: stream of %zu bytes, need 24", s->len);
        return;
    }
    flags = le32(s->p + 4);
    mi->has_process_id = flags & 1;
    mi->has_times = flags & 2;
    mi->process_id = le32(s->p + 8);
    mi->process_create_time = le32(s->p + 12);
    mi->process_user_time = le32(s->p + 16);
    mi->process_kernel_time = le32(s->p + 20);
    md->has_misc_info = true;
}

/* One of the assertion's fixed 128-unit UTF-16 fields. */
static const char *assertion_field(struct minidump *md, const uint8_t *p)
{
    return md_own(md, md_utf16_to_utf8(p, 128));
}

/* Breakpad's GetAssertion wording. */
static void read_assertion(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_ASSERTION_INFO);
    const char *expr, *func, *file, *kind;
    char unknown[48], at_line[32] = "";
    uint32_t line, type;

    if (s == NULL)
        return;
    if (s->len < 776) {
        md_warn(md, "AssertionInfo: stream of %zu bytes, need 776", s->len);
        return;
    }
    expr = assertion_field(md, s->p);
    func = assertion_field(md, s->p + 256);
    file = assertion_field(md, s->p + 512);
    line = le32(s->p + 768);
    type = le32(s->p + 772);
    snprintf(unknown, sizeof(unknown), "Unknown assertion type 0x%08x", type);
    kind = type == 1   ? "Invalid parameter passed to library function"
           : type == 2 ? "Pure virtual function called"
                       : unknown;
    if (line != 0)
        snprintf(at_line, sizeof(at_line), " at line %u", line);
    md->assertion = md_own(
        md, xasprintf("%s%s%s%s%s%s%s%s", kind, *expr ? " " : "", expr,
                      *func ? " in function " : "", func,
                      *file ? ", in file " : "", file, at_line));
}

void md_read_breakpad_streams(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_BREAKPAD_INFO);

    if (s != NULL && s->len >= 12) {
        md->has_breakpad_info = true;
        md->bp_validity = le32(s->p);
        md->bp_dump_tid = le32(s->p + 4);
        md->bp_requesting_tid = le32(s->p + 8);
    } else if (s != NULL) {
        md_warn(md, "BreakpadInfo: stream of %zu bytes, need 12", s->len);
    }
    read_assertion(md);
}

/* A Crashpad MinidumpUTF8String: 32-bit length, bytes, NUL. */
static const char *utf8_string(struct minidump *md, uint32_t rva)
{
    struct md_view len, s;

    if (!md_span(md, rva, 4, &len) ||
        !md_span(md, (uint64_t)rva + 4, le32(len.p), &s)) {
        md_warn(md, "CrashpadInfo: annotation string at 0x%x is past the end",
                rva);
        return "";
    }
    return md_own(md, xstrndup((const char *)s.p, s.len));
}

/* MinidumpCrashpadInfo: version, report and client UUIDs, then the
 * location of the simple annotations (a count and key/value RVA pairs). */
void md_read_crashpad_info(struct minidump *md)
{
    const struct md_view *s = md_stream(md, MD_STREAM_CRASHPAD_INFO);
    struct md_view dict;
    const uint8_t *e;
    size_t n;

    if (s == NULL)
        return;
    if (s->len < 44) {
        md_warn(md, "CrashpadInfo: stream of %zu bytes, need 44", s->len);
        return;
    }
    if (le32(s->p + 36) == 0)
        return;
    if (!md_span(md, le32(s->p + 40), le32(s->p + 36), &dict)) {
        md_warn(md, "CrashpadInfo: annotations are past the end");
        return;
    }
    n = md_list(md, &dict, 8, "CrashpadInfo annotations", &e);
    md->annotations = xcalloc(2 * n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++, e += 8) {
        md->annotations[2 * i] = utf8_string(md, le32(e));
        md->annotations[2 * i + 1] = utf8_string(md, le32(e + 4));
    }
    md->nannotations = n;
}
