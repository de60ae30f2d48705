/* SPDX-License-Identifier: MIT */
/*
 * codeview: the two things Microsoft's debug formats share between the
 * image and its PDB, so that the PE reader, the PDB reader and the
 * minidump parser agree on them without depending on each other: how a
 * CodeView GUID and age are written as a debug id, and the names of COFF
 * machine types.
 */
#ifndef SYMSRVD_CODEVIEW_H
#define SYMSRVD_CODEVIEW_H

#include <stddef.h>
#include <stdint.h>

/* Room for a debug id: 32 hex digits of GUID, 8 of age, the NUL. */
#define CODEVIEW_DEBUG_ID_LEN 41

/* Format a CodeView GUID (16 bytes as stored: Data1..3 little-endian)
 * and AGE the way symbol stores key PDBs: %08X%04X%04X, eight %02X, then
 * the age in %X, into OUT (LEN bytes, CODEVIEW_DEBUG_ID_LEN is always
 * enough; a shorter buffer gets a truncated, NUL-terminated id). */
void codeview_format_debug_id(const uint8_t guid[16], uint32_t age, char *out,
                              size_t len);

/* "x86", "x86_64", "arm", "arm64" or "ia64" for a COFF machine type (the
 * PE file header's Machine, the PDB DBI stream's MachineType); "unknown"
 * for others.  Static string. */
const char *codeview_machine_name(uint16_t machine);

#endif
