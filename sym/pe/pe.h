/* SPDX-License-Identifier: MIT */
/*
 * pe: the PE/COFF image reader (PE32 and PE32+).  It reports an image's
 * identity as symbol stores key it (TimeDateStamp + SizeOfImage, and the
 * CodeView RSDS record naming the matching PDB) and symbolicates through
 * that PDB when it lies next to the image, else through the export table.
 * The file is untrusted: every RVA and size is checked against the
 * mapping.  Functions only read MAP; they may run in parallel.
 */
#ifndef SYMSRVD_PE_H
#define SYMSRVD_PE_H

#include "objfile/objfile.h"

struct symtable_builder;

/* Fill *ID for the image in MAP: kind OBJFILE_PE, code_id (%08X
 * TimeDateStamp then %X SizeOfImage), code_file (basename of map->path),
 * image_base, arch from the COFF machine, and from the CodeView RSDS
 * record (when present) debug_id (GUID + age, as codeview_format_debug_id())
 * and debug_file (the PDB path after its last '\' or '/').  Returns 0,
 * -EINVAL for a damaged image (reason in map->err). */
int pe_identify(struct objfile_map *map, struct objfile_ident *id);

/* Feed B from the image in MAP.  When the PDB its RSDS record names sits
 * in the same directory as map->path and its GUID and age match, the PDB
 * is read with pdb_build(); otherwise the named exports become public
 * symbols.  Either way B's image base is the image's ImageBase, and on
 * success map->err holds a one-line note saying which source was used.
 * Returns 0 or a negative errno (-EINVAL for a damaged image or PDB). */
int pe_build(struct objfile_map *map, struct symtable_builder *b);

#endif
