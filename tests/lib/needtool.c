/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "needtool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* By name prefix: Debian 12 names every versioned LLVM program after the
 * package's version; the unversioned ld.lld is the "lld" package's link. */
static const struct {
    const char *prefix;
    const char *package;
} packages[] = {
    {"clang", "clang-14"},  {"lld-link-14", "lld-14"}, {"ld.lld-14", "lld-14"},
    {"ld.lld", "lld"},      {"llvm-", "llvm-14"},      {"eu-", "elfutils"},
    {"g++", "g++"},         {"dwz", "dwz"},            {"gcc", "gcc"},
    {"objcopy", "binutils"}, {"c++filt", "binutils"},  {"perl", "perl"},
    {"strip", "binutils"},  {"readelf", "binutils"},   {"gdb", "gdb"},
    {"debuginfod-find", "debuginfod"}, {"ld64.lld-14", "lld-14"},
    {"wasm-ld-14", "lld-14"}, {"dsymutil-14", "llvm-14"},
    {"chromium", "chromium"}, {"nginx", "nginx-light"},
};

const char *needtool_package(const char *tool)
{
    for (size_t i = 0; i < sizeof(packages) / sizeof(packages[0]); i++) {
        if (strncmp(tool, packages[i].prefix, strlen(packages[i].prefix)) == 0)
            return packages[i].package;
    }
    return tool;
}

static bool is_program(const char *file)
{
    struct stat st;

    return stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
           access(file, X_OK) == 0;
}

bool needtool_have(const char *tool)
{
    const char *path = getenv("PATH"), *p, *end;
    char file[4096];

    if (strchr(tool, '/') != NULL)
        return is_program(tool);
    for (p = path ? path : "/usr/bin:/bin"; ; p = end + 1) {
        int dirlen;

        end = strchr(p, ':');
        dirlen = end ? (int)(end - p) : (int)strlen(p);
        /* An empty entry is the current directory, as execvp() reads it. */
        snprintf(file, sizeof(file), "%.*s%s%s", dirlen, p,
                 dirlen ? "/" : "", tool);
        if (is_program(file))
            return true;
        if (end == NULL)
            return false;
    }
}

bool needtool(const char *who, const char *tool, ...)
{
    const char *missing = NULL;
    va_list ap;

    va_start(ap, tool);
    for (const char *t = tool; t != NULL && missing == NULL;
         t = va_arg(ap, const char *)) {
        if (!needtool_have(t))
            missing = t;
    }
    va_end(ap);
    if (missing == NULL)
        return true;
    fprintf(stderr, "%s: skipped: %s not found (Debian package %s)\n", who,
            missing, needtool_package(missing));
    return false;
}
