/* SPDX-License-Identifier: MIT */
/*
 * objkeys: the store paths a symbol file is kept under, worked out from
 * its content (objfile_identify) and never from its name, except for the
 * names a key repeats.  symsrvd-key prints them; the daemon's publishing
 * checks that an upload names one of them.
 *
 *   PDB       name.pdb/<GUID><AGE>/name.pdb
 *   PE        name.dll/<TIMESTAMP><SIZEOFIMAGE>/name.dll
 *   Breakpad  <debug_file>/<DEBUGID>/<debug_file less ".pdb">.sym
 *   ELF       buildid/<id>/debuginfo and/or buildid/<id>/executable (as
 *             debuginfod serves it), then the symstore (SSQP) twins
 *             _.debug/elf-buildid-sym-<id>/_.debug and
 *             name/elf-buildid-<id>/name
 */
#ifndef SYMSRVD_OBJKEYS_H
#define SYMSRVD_OBJKEYS_H

#include <stddef.h>

#include "objfile/objfile.h"

#define OBJKEYS_MAX 4
#define OBJKEYS_LEN 600 /* two file names, an id and the separators */

struct objkeys {
    size_t n;
    char key[OBJKEYS_MAX][OBJKEYS_LEN]; /* no leading '/' */
};

/* Fill *OUT with the store paths of the file MAP whose identity is ID, in
 * the order above.  0, or -EINVAL (no key: no build id, a name that is no
 * file name, a kind without a store) with MAP->ERR set. */
int objkeys_list(struct objfile_map *map, const struct objfile_ident *id,
                 struct objkeys *out);

#endif
