/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PDB reader:
 * identify and build from arbitrary bytes, then pack, load and look up
 * what was built; read the frame data as STACK WIN records.
 * Seeds: tests/fuzz/corpus/fuzz_pdb/ and the .pdb files of tests/data/pdb/.
 */
#include "symsrvd_config.h"

#include <stdlib.h>
#include <string.h>

#include "breakpad/breakpad.h"
#include "fuzz_reader.h"
#include "pdb/pdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the walk over the records from being optimised away. */
volatile size_t fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct objfile_map m = {.path = "fuzz.pdb", .data = data, .len = size};
    struct breakpad_stack *recs = NULL;
    size_t n = 0, total = 0;
    char *strings = NULL;

    fuzz_reader("fuzz.pdb", data, size, pdb_identify, pdb_build);
    if (pdb_stack_records(&m, &recs, &n, &strings) == 0)
        for (size_t i = 0; i < n; i++)
            total += strlen(recs[i].rules) + recs[i].size;
    free(recs);
    free(strings);
    fuzz_sink = total;
    return 0;
}
