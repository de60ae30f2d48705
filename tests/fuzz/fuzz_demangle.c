/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for demangle_name() and demangle_msvc(): symbol names
 * come from untrusted PDBs, ELF files and crash reports.  The input is
 * the name itself (seeds in tests/fuzz/corpus/demangle are real names);
 * its length picks the output flags and the language hint, so seeds stay
 * plain text.  Checks that a result, when there is one, is a string
 * within the documented output limit.
 */
#include "symsrvd_config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demangle/demangle.h"
#include "demangle/msvc_demangle.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = xmalloc(size + 1);
    unsigned flags = (unsigned)(size % 32);
    enum symtable_lang lang = (enum symtable_lang)(size % 7);
    char *s;

    memcpy(name, data, size);
    name[size] = '\0';
    s = demangle_msvc(name, flags);
    if (s != NULL && strlen(s) > MSVC_DEMANGLE_MAX_OUTPUT)
        abort();
    free(s);
    free(demangle_name(name, lang));
    free(name);
    return 0;
}
