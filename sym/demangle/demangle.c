/* SPDX-License-Identifier: MIT */
/*
 * demangle: picks the demangler for a symbol name by its prefix (and the
 * caller's language hint) and hands the name to libiberty or to our MSVC
 * demangler.  libiberty is the one dependency of this file: nothing else
 * in the tree includes <libiberty/demangle.h>.
 */
#include "symsrvd_config.h"
#include "demangle/demangle.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "demangle/msvc_demangle.h"
#include "xalloc.h"

static bool demangle_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Rust legacy names are Itanium nested names whose last component is the
 * crate hash: "_ZN" ... "17h" <16 hex digits> "E", possibly followed by
 * a suffix of LLVM's such as ".llvm.1234". */
static bool demangle_is_rust_legacy(const char *name)
{
    const char *h = name;
    int i;

    if (strncmp(name, "_ZN", 3) != 0)
        return false;
    while ((h = strstr(h + 1, "17h")) != NULL) {
        for (i = 3; i < 19 && demangle_is_hex(h[i]); i++)
            continue;
        if (i == 19 && h[19] == 'E' && (h[20] == '\0' || h[20] == '.'))
            return true;
    }
    return false;
}

/* Mach-O adds an underscore to every symbol: "__Z", "__R", "__D". */
static const char *demangle_skip_macho(const char *name)
{
    if (name[0] == '_' && name[1] == '_' &&
        (name[2] == 'Z' || name[2] == 'R' || name[2] == 'D'))
        return name + 1;
    return name;
}

enum symtable_lang demangle_guess_lang(const char *name)
{
    if (name == NULL)
        return SYMTABLE_LANG_UNKNOWN;
    name = demangle_skip_macho(name);
    if (name[0] == '_' && name[1] == 'R' &&
        ((name[2] >= 'A' && name[2] <= 'Z') ||
         (name[2] >= '0' && name[2] <= '9')))
        return SYMTABLE_LANG_RUST;
    if (demangle_is_rust_legacy(name))
        return SYMTABLE_LANG_RUST;
    if (name[0] == '_' && name[1] == 'Z')
        return SYMTABLE_LANG_CPP;
    if (name[0] == '?' || strncmp(name, ".?A", 3) == 0)
        return SYMTABLE_LANG_CPP;
    if (name[0] == '_' && name[1] == 'D' && name[2] >= '0' && name[2] <= '9')
        return SYMTABLE_LANG_D;
    return SYMTABLE_LANG_UNKNOWN;
}

static char *demangle_iberty(const char *name, int style)
{
    return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | style);
}

char *demangle_win32_c_name(const char *name)
{
    const char *start;
    size_t len, at;

    if (name == NULL || name[0] == '?' || name[0] == '\0')
        return NULL;
    start = name + (name[0] == '_' || name[0] == '@');
    len = strlen(start);
    /* '@' and nothing but digits after it: the size of the arguments */
    for (at = len; at > 0 && start[at - 1] >= '0' && start[at - 1] <= '9';)
        at--;
    if (at > 0 && start[at - 1] == '@')
        len = at - 1;
    if (len > 0 && start[len - 1] == '@')
        len--;
    if (len == 0 || (start == name && len == strlen(name)))
        return NULL;
    return xstrndup(start, len);
}

char *demangle_name(const char *name, enum symtable_lang lang)
{
    enum symtable_lang guess = demangle_guess_lang(name);
    char *s = NULL;

    if (guess == SYMTABLE_LANG_UNKNOWN ||
        strnlen(name, DEMANGLE_MAX_INPUT + 1) > DEMANGLE_MAX_INPUT)
        return NULL;
    if (name[0] == '?' || name[0] == '.')
        return demangle_msvc(name, MSVC_DEMANGLE_DEFAULT);
    name = demangle_skip_macho(name);
    /* A hint of Rust lets any _ZN name try the Rust scheme first (the
     * legacy hash test above only recognises well-formed hashes). */
    if (guess == SYMTABLE_LANG_RUST ||
        (lang == SYMTABLE_LANG_RUST && strncmp(name, "_ZN", 3) == 0))
        s = demangle_iberty(name, DMGL_RUST);
    if (s == NULL && guess == SYMTABLE_LANG_D)
        s = demangle_iberty(name, DMGL_DLANG);
    if (s == NULL && name[1] == 'Z')
        s = demangle_iberty(name, DMGL_GNU_V3);
    return s;
}
