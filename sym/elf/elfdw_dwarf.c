/* SPDX-License-Identifier: MIT */
/*
 * elfdw_dwarf: the DWARF and symbol-table half of the ELF reader.  For each
 * compile unit it feeds the symtable builder with
 *   - every DW_TAG_subprogram with code (low/high pc or DW_AT_ranges, one
 *     function per range), named by the ELF symbol at the range's start,
 *     else by DW_AT_linkage_name or DW_AT_name through
 *     DW_AT_specification / DW_AT_abstract_origin;
 *   - every DW_TAG_inlined_subroutine at any depth (lexical blocks do not
 *     count as depth), one inline range per address range, with its call
 *     site (DW_AT_call_file / DW_AT_call_line);
 *   - the line table: one line record per row, lasting up to the next
 *     row of the sorted table.
 * Then the ELF symbol table fills in the code no DWARF function covers.
 *
 * libdw does the DWARF 4/5 decoding (dwarf_get_units, dwarf_ranges,
 * dwarf_getsrclines, dwarf_attr_integrate); this file only walks the DIE
 * tree, and bounds the walk's depth so hostile nesting cannot exhaust the
 * stack.
 */
#include "symsrvd_config.h"
#include "elf/elfdw_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>

#include "bound.h"
#include "table/symtable.h"
#include "xalloc.h"

/* Deeper DIE nesting than this is treated as malformed: real compilers
 * stay far below (deep template or inline nesting reaches a few dozen). */
#define ELFDW_MAX_NEST 512

/* Names of abstract_origin / specification targets, by the address of
 * the target DIE's bytes (unique across the main and the dwz alt file).
 * Every inlined call of a helper points at the same abstract DIE, and
 * resolving the reference costs more than the rest of the inline site. */
#define ELFDW_NAME_SLOTS 1024 /* direct-mapped: a collision just refetches */

struct elfdw_name_slot {
    const void *key; /* NULL: empty */
    const char *name;
};

/* One compile unit being fed. */
struct elfdw_cu {
    struct elfdw_build_ctx *c;
    Dwarf_Die die;
    enum symtable_lang lang;
    const char *comp_dir; /* NULL when absent */
    Dwarf_Files *files;   /* NULL when the CU has no line table */
    size_t nfiles;
    uint32_t *file_ids; /* symtable file id per file index, 0 = not yet */
    struct elfdw_ranges ranges; /* the CU's own ranges; empty: unknown */
    struct elfdw_name_slot *names; /* see elfdw_origin_name() */
};

static int elfdw_dwarf_error(struct elfdw_cu *cu, const char *what)
{
    return objfile_fail(
        cu->c->map, -EINVAL, "DWARF in %s, CU at 0x%llx: %s: %s",
        cu->c->dwarf_path ? cu->c->dwarf_path : "?",
        (unsigned long long)dwarf_dieoffset(&cu->die), what, dwarf_errmsg(-1));
}

static enum symtable_lang elfdw_lang(int dw_lang)
{
    switch (dw_lang) {
    case DW_LANG_C89:
    case DW_LANG_C:
    case DW_LANG_C99:
    case DW_LANG_C11:
        return SYMTABLE_LANG_C;
    case DW_LANG_C_plus_plus:
    case DW_LANG_C_plus_plus_03:
    case DW_LANG_C_plus_plus_11:
    case DW_LANG_C_plus_plus_14:
        return SYMTABLE_LANG_CPP;
    case DW_LANG_Rust:
        return SYMTABLE_LANG_RUST;
    case DW_LANG_D:
        return SYMTABLE_LANG_D;
    case DW_LANG_Swift:
        return SYMTABLE_LANG_SWIFT;
    case DW_LANG_Mips_Assembler:
        return SYMTABLE_LANG_ASM;
    default:
        return SYMTABLE_LANG_UNKNOWN;
    }
}

/* The symtable id of file IDX of the CU's line table, 0 when unknown.
 * Paths are made absolute with DW_AT_comp_dir, as llvm-symbolizer prints
 * them. */
static uint32_t elfdw_cu_file(struct elfdw_cu *cu, Dwarf_Word idx)
{
    const char *name;
    char *joined = NULL;

    if (cu->files == NULL || idx >= cu->nfiles)
        return 0;
    if (cu->file_ids[idx] != 0)
        return cu->file_ids[idx];
    name = dwarf_filesrc(cu->files, idx, NULL, NULL);
    /* libdw names the unused DWARF 4 entry 0 "???". */
    if (name == NULL || name[0] == '\0' || strcmp(name, "???") == 0)
        return 0;
    if (name[0] != '/' && cu->comp_dir != NULL && cu->comp_dir[0] == '/') {
        joined = xasprintf("%s/%s", cu->comp_dir, name);
        name = joined;
    }
    cu->file_ids[idx] = symtable_builder_file(cu->c->b, name);
    free(joined);
    return cu->file_ids[idx];
}

static const char *elfdw_die_name(Dwarf_Die *die)
{
    static const unsigned attrs[] = {DW_AT_linkage_name,
                                     DW_AT_MIPS_linkage_name, DW_AT_name};
    Dwarf_Attribute a;
    size_t i;

    for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        const char *s = NULL;

        if (dwarf_attr_integrate(die, attrs[i], &a) != NULL)
            s = dwarf_formstring(&a);
        if (s != NULL && s[0] != '\0')
            return s;
    }
    return NULL;
}

/* Whether [LO, HI) is real code: non-empty and starting in an executable
 * segment (GNU ld leaves discarded functions at address 0). */
static bool elfdw_is_code(const struct elfdw_cu *cu, Dwarf_Addr lo,
                          Dwarf_Addr hi)
{
    return hi > lo && elfdw_ranges_contains(&cu->c->exec, lo);
}

/* What one pass over a DIE's attributes finds.  libdw finds an attribute
 * by scanning the DIE from its start, so asking for low_pc, high_pc,
 * ranges, the names and the call site one at a time scanned each
 * subprogram and inline site up to ten times: a third of the build. */
struct elfdw_attrs {
    bool has_low, has_high, high_is_addr, has_ranges, indirect;
    Dwarf_Die origin; /* the abstract_origin / specification when indirect */
    Dwarf_Addr low, high;
    const char *linkage, *name;
    Dwarf_Word call_file, call_line;
    /* dwarf_ranges() state between calls: the base address it found on
     * the first (DWARF 5 range lists are relative to it). */
    Dwarf_Addr range_base;
};

static bool elfdw_form_is_addr(unsigned form)
{
    switch (form) {
    case DW_FORM_addr:
    case DW_FORM_addrx:
    case DW_FORM_addrx1:
    case DW_FORM_addrx2:
    case DW_FORM_addrx3:
    case DW_FORM_addrx4:
    case DW_FORM_GNU_addr_index:
        return true;
    default:
        return false;
    }
}

static int elfdw_attr_cb(Dwarf_Attribute *a, void *arg)
{
    struct elfdw_attrs *at = arg;

    switch (dwarf_whatattr(a)) {
    case DW_AT_low_pc:
        at->has_low = dwarf_formaddr(a, &at->low) == 0;
        break;
    case DW_AT_high_pc:
        at->high_is_addr = elfdw_form_is_addr(dwarf_whatform(a));
        at->has_high = at->high_is_addr ? dwarf_formaddr(a, &at->high) == 0
                                        : dwarf_formudata(a, &at->high) == 0;
        break;
    case DW_AT_ranges:
        at->has_ranges = true;
        break;
    case DW_AT_linkage_name:
    case DW_AT_MIPS_linkage_name:
        at->linkage = dwarf_formstring(a);
        break;
    case DW_AT_name:
        at->name = dwarf_formstring(a);
        break;
    case DW_AT_abstract_origin:
    case DW_AT_specification:
        at->indirect = dwarf_formref_die(a, &at->origin) != NULL;
        break;
    case DW_AT_call_file:
        dwarf_formudata(a, &at->call_file);
        break;
    case DW_AT_call_line:
        dwarf_formudata(a, &at->call_line);
        break;
    default:
        break;
    }
    return DWARF_CB_OK;
}

static int elfdw_attrs_get(struct elfdw_cu *cu, Dwarf_Die *die,
                           struct elfdw_attrs *at)
{
    memset(at, 0, sizeof(*at));
    if (dwarf_getattrs(die, elfdw_attr_cb, at, 0) < 0)
        return elfdw_dwarf_error(cu, "DIE attributes");
    return 0;
}

/* The next address range of DIE after OFF (0: the first), as
 * dwarf_ranges() gives them: > 0 with [*LO, *HI), 0 at the end, < 0 on
 * error.  A DIE with low_pc and high_pc is answered from AT alone. */
static ptrdiff_t elfdw_next_range(Dwarf_Die *die, struct elfdw_attrs *at,
                                  ptrdiff_t off, Dwarf_Addr *lo,
                                  Dwarf_Addr *hi)
{
    if (at->has_ranges)
        return dwarf_ranges(die, off, &at->range_base, lo, hi);
    if (off != 0 || !at->has_low || !at->has_high)
        return 0;
    *lo = at->low;
    *hi = at->high_is_addr ? at->high : at->low + at->high;
    return 1;
}

/* elfdw_die_name() of the abstract DIE AT points to, cached in CU. */
static const char *elfdw_origin_name(struct elfdw_cu *cu,
                                     struct elfdw_attrs *at)
{
    struct elfdw_name_slot *slot;

    if (cu->names == NULL)
        cu->names = xcalloc(ELFDW_NAME_SLOTS, sizeof(*cu->names));
    slot = &cu->names[((uintptr_t)at->origin.addr >> 2) %
                      ELFDW_NAME_SLOTS];
    if (slot->key != at->origin.addr) {
        slot->key = at->origin.addr;
        slot->name = elfdw_die_name(&at->origin);
    }
    return slot->name;
}

/* The DIE's name: its own linkage name, else (through abstract_origin or
 * specification when it has them) the linkage name or name.  A DIE with
 * a name of its own beside the reference is rare and takes the uncached
 * path, where the target's linkage name still beats the own name. */
static const char *elfdw_attrs_name(struct elfdw_cu *cu, Dwarf_Die *die,
                                    struct elfdw_attrs *at)
{
    if (at->linkage != NULL && at->linkage[0] != '\0')
        return at->linkage;
    if (at->indirect)
        return at->name == NULL ? elfdw_origin_name(cu, at)
                                : elfdw_die_name(die);
    return at->name != NULL && at->name[0] != '\0' ? at->name : NULL;
}

/* A function's name is the ELF symbol's at the start of each range when
 * there is one, else its DWARF name.  The symbol carries what the DWARF
 * leaves out: GCC gives internal-linkage C++ functions no
 * DW_AT_linkage_name, and names clones (foo.constprop.0, foo.cold) only
 * in the symbol table.  llvm-symbolizer makes the same choice.  A foreign
 * container may ask for the DWARF name first (dwarf_names_first). */
static int elfdw_subprogram(struct elfdw_cu *cu, Dwarf_Die *die)
{
    struct elfdw_build_ctx *c = cu->c;
    struct elfdw_attrs at;
    Dwarf_Addr lo, hi;
    const char *name = NULL;
    ptrdiff_t off = 0;
    int rc = elfdw_attrs_get(cu, die, &at);

    if (rc != 0)
        return rc;
    for (off = elfdw_next_range(die, &at, 0, &lo, &hi); off > 0;
         off = elfdw_next_range(die, &at, off, &lo, &hi)) {
        const char *sym;

        if (!elfdw_is_code(cu, lo, hi))
            continue;
        sym = elfdw_symtab_name_at(c, lo);
        if ((sym == NULL || c->dwarf_names_first) && name == NULL)
            name = elfdw_attrs_name(cu, die, &at);
        if (c->dwarf_names_first && name != NULL)
            sym = NULL;
        /* Nameless code is left to the symbol table. */
        if (sym == NULL && name == NULL)
            continue;
        symtable_builder_add_func(c->b, lo - c->base, hi - lo,
                                  sym ? sym : name, cu->lang);
        elfdw_ranges_add(&c->covered, lo, hi);
    }
    return off < 0 ? elfdw_dwarf_error(cu, "subprogram ranges") : 0;
}

static int elfdw_inline(struct elfdw_cu *cu, Dwarf_Die *die, unsigned depth)
{
    struct elfdw_build_ctx *c = cu->c;
    struct elfdw_attrs at;
    Dwarf_Addr lo, hi;
    const char *name = NULL;
    uint32_t file = 0, line = 0;
    ptrdiff_t off = 0;
    bool first = true;
    int rc = elfdw_attrs_get(cu, die, &at);

    if (rc != 0)
        return rc;
    for (off = elfdw_next_range(die, &at, 0, &lo, &hi); off > 0;
         off = elfdw_next_range(die, &at, off, &lo, &hi)) {
        if (!elfdw_is_code(cu, lo, hi))
            continue;
        if (first) {
            name = elfdw_attrs_name(cu, die, &at);
            file = elfdw_cu_file(cu, at.call_file);
            line = (uint32_t)at.call_line;
            first = false;
        }
        /* llvm-symbolizer prints "??" for an inlined call it cannot
         * name; keeping the frame keeps the chain's depth right. */
        symtable_builder_add_inline(c->b, lo - c->base, hi - lo, depth,
                                    name ? name : "??", file, line,
                                    cu->lang);
    }
    return off < 0 ? elfdw_dwarf_error(cu, "inlined subroutine ranges") : 0;
}

/* Tags whose children may hold code (functions, inlined calls). */
static bool elfdw_may_hold_code(int tag)
{
    switch (tag) {
    case DW_TAG_compile_unit:
    case DW_TAG_namespace:
    case DW_TAG_module:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_interface_type:
    case DW_TAG_lexical_block:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
        return true;
    default:
        return false;
    }
}

static int elfdw_walk(struct elfdw_cu *cu, Dwarf_Die *parent, unsigned depth,
                      unsigned nest);

/* One DIE: DEPTH is the inline depth of the code around it. */
static int elfdw_die(struct elfdw_cu *cu, Dwarf_Die *die, unsigned depth,
                     unsigned nest)
{
    int tag = dwarf_tag(die);
    int rc = 0;

    if (tag == DW_TAG_subprogram) {
        rc = elfdw_subprogram(cu, die);
        depth = 0; /* a nested function starts a new chain */
    } else if (tag == DW_TAG_inlined_subroutine) {
        depth++;
        rc = elfdw_inline(cu, die, depth);
    } else if (!elfdw_may_hold_code(tag)) {
        return 0;
    }
    if (rc == 0 && dwarf_haschildren(die))
        rc = elfdw_walk(cu, die, depth, nest + 1);
    return rc;
}

static int elfdw_walk(struct elfdw_cu *cu, Dwarf_Die *parent, unsigned depth,
                      unsigned nest)
{
    Dwarf_Die child;
    int r, rc;

    if (nest > ELFDW_MAX_NEST)
        return objfile_fail(cu->c->map, -EINVAL,
                            "DWARF in %s: DIEs nested deeper than %d",
                            cu->c->dwarf_path, ELFDW_MAX_NEST);
    r = dwarf_child(parent, &child);
    while (r == 0) {
        rc = elfdw_die(cu, &child, depth, nest);
        if (rc != 0)
            return rc;
        r = dwarf_siblingof(&child, &child);
    }
    return r < 0 ? elfdw_dwarf_error(cu, "DIE tree") : 0;
}

static uint32_t elfdw_line_file(struct elfdw_cu *cu, Dwarf_Line *ln)
{
    Dwarf_Files *files;
    size_t idx;

    if (dwarf_line_file(ln, &files, &idx) != 0 || files != cu->files)
        return 0;
    return elfdw_cu_file(cu, idx);
}

/* Row I of LINES as [*LO, *HI) up to the next row; false when it covers
 * no code (an end_sequence row, the last row, or a zero-length row). */
static bool elfdw_row_span(struct elfdw_cu *cu, Dwarf_Lines *lines, size_t i,
                           size_t n, Dwarf_Addr *lo, Dwarf_Addr *hi)
{
    Dwarf_Line *ln = dwarf_onesrcline(lines, i);
    bool end = true;

    if (ln == NULL || i + 1 >= n || dwarf_lineendsequence(ln, &end) != 0 ||
        end || dwarf_lineaddr(ln, lo) != 0 ||
        dwarf_lineaddr(dwarf_onesrcline(lines, i + 1), hi) != 0)
        return false;
    return elfdw_is_code(cu, *lo, *hi);
}

/* Feed [LO, HI) as far as it lies in the CU's ranges.  llvm-symbolizer
 * answers from a CU's line table only inside the CU's ranges, and GCC
 * leaves rows running over code outside them (start-up code linked after
 * main, padding), which would otherwise give that code this CU's lines. */
static void elfdw_line_add(struct elfdw_cu *cu, Dwarf_Addr lo, Dwarf_Addr hi,
                           uint32_t file, uint32_t line)
{
    const struct elfdw_ranges *r = &cu->ranges;
    uint64_t base = cu->c->base;

    if (r->n == 0) {
        symtable_builder_add_line(cu->c->b, lo - base, hi - lo, file, line);
        return;
    }
    for (size_t i = elfdw_ranges_find(r, lo); i < r->n && r->v[i].lo < hi;
         i++) {
        Dwarf_Addr a = lo > r->v[i].lo ? lo : r->v[i].lo;
        Dwarf_Addr z = hi < r->v[i].hi ? hi : r->v[i].hi;

        symtable_builder_add_line(cu->c->b, a - base, z - a, file, line);
    }
}

/* One line record per row.  Rows are not merged even when file and line
 * repeat: a row can start a function, and the symtable keeps a record
 * within the function it starts in. */
static int elfdw_lines(struct elfdw_cu *cu, Dwarf_Lines *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Dwarf_Line *ln = dwarf_onesrcline(lines, i);
        Dwarf_Addr lo, hi;
        int lineno = 0;

        if (!elfdw_row_span(cu, lines, i, n, &lo, &hi))
            continue;
        dwarf_lineno(ln, &lineno);
        elfdw_line_add(cu, lo, hi, elfdw_line_file(cu, ln),
                       lineno > 0 ? (uint32_t)lineno : 0);
    }
    return 0;
}

/* The CU's own address ranges into CU->ranges. */
static int elfdw_cu_ranges(struct elfdw_cu *cu)
{
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;

    for (off = dwarf_ranges(&cu->die, 0, &base, &lo, &hi); off > 0;
         off = dwarf_ranges(&cu->die, off, &base, &lo, &hi))
        elfdw_ranges_add(&cu->ranges, lo, hi);
    elfdw_ranges_normalize(&cu->ranges);
    return off < 0 ? elfdw_dwarf_error(cu, "CU ranges") : 0;
}

/* Whether the CU holds one of the addresses asked for.  Its ranges are
 * read from the CU DIE alone, so skipping a CU costs no DIE walk and no
 * line program: a cold answer pays for the CUs it needs, as
 * llvm-symbolizer's per-CU parse does. */
static bool elfdw_cu_wanted(const struct elfdw_cu *cu)
{
    const struct elfdw_build_ctx *c = cu->c;

    if (c->want == NULL || cu->ranges.n == 0)
        return true;
    for (size_t i = 0; i < cu->ranges.n; i++) {
        size_t k = bound_lower(c->want, c->nwant, sizeof(*c->want), 0,
                               cu->ranges.v[i].lo);

        if (k < c->nwant && c->want[k] < cu->ranges.v[i].hi)
            return true;
    }
    return false;
}

static int elfdw_cu_feed(struct elfdw_build_ctx *c, Dwarf_Die *cudie)
{
    struct elfdw_cu cu;
    Dwarf_Lines *lines = NULL;
    size_t nlines = 0;
    int rc = 0;

    memset(&cu, 0, sizeof(cu));
    cu.c = c;
    cu.die = *cudie;
    rc = elfdw_cu_ranges(&cu);
    if (rc != 0 || !elfdw_cu_wanted(&cu))
        goto out;
    cu.lang = elfdw_lang(dwarf_srclang(cudie));
    cu.comp_dir = dwarf_formstring(
        dwarf_attr(cudie, DW_AT_comp_dir, &(Dwarf_Attribute){0}));
    if (dwarf_hasattr(cudie, DW_AT_stmt_list)) {
        if (dwarf_getsrclines(cudie, &lines, &nlines) != 0 ||
            dwarf_getsrcfiles(cudie, &cu.files, &cu.nfiles) != 0) {
            rc = elfdw_dwarf_error(&cu, "line table");
            goto out;
        }
        cu.file_ids = xcalloc(cu.nfiles ? cu.nfiles : 1, sizeof(uint32_t));
    }
    rc = elfdw_die(&cu, cudie, 0, 0);
    if (rc == 0 && lines != NULL)
        rc = elfdw_lines(&cu, lines, nlines);
out:
    free(cu.file_ids);
    free(cu.names);
    elfdw_ranges_free(&cu.ranges);
    return rc;
}

int elfdw_dwarf_feed(struct elfdw_build_ctx *c, Dwarf *dw)
{
    Dwarf_CU *cu = NULL;
    Dwarf_Half version;
    uint8_t unit_type;
    Dwarf_Die cudie;
    int r, rc;

    for (r = dwarf_get_units(dw, NULL, &cu, &version, &unit_type, &cudie,
                             NULL);
         r == 0; r = dwarf_get_units(dw, cu, &cu, &version, &unit_type,
                                     &cudie, NULL)) {
        /* Type units hold no code; split skeletons are not read. */
        if (unit_type != DW_UT_compile)
            continue;
        rc = elfdw_cu_feed(c, &cudie);
        if (rc != 0)
            return rc;
    }
    if (r < 0)
        return objfile_fail(c->map, -EINVAL, "DWARF in %s: unit headers: %s",
                            c->dwarf_path, dwarf_errmsg(-1));
    return 0;
}
