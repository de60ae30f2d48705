/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the PDB reader against LLVM's own tools: identities
 * against llvm-pdbutil-14, symbolication of every instruction of the MSVC
 * fixtures and of images built here with clang-14 + lld-link-14 against
 * llvm-symbolizer-14 (reading the PDB, and reading DWARF emitted for the
 * same code), every MSF block size by repacking a PDB, and damaged files.
 */
#include "symsrvd_config.h"

#include "pdb/pdb.h"

#include <check.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "breakpad/breakpad.h"
#include "byteorder.h"
#include "needtool.h"
#include "pdb_testutil.h"
#include "pe/pe.h"
#include "xalloc.h"

static const char *const fixtures[] = {"crash", "CrashWithException"};

/* "{3249D99D-0C40-4931-8610-F4E4FB0B6936}" and age -> debug id. */
static void guid_to_debug_id(const char *g, const char *age, char *out,
                             size_t len)
{
    char hex[33];
    size_t n = 0;

    for (const char *c = g; *c && *c != '}' && n < 32; c++) {
        if (*c != '{' && *c != '-')
            hex[n++] = *c;
    }
    hex[n] = '\0';
    snprintf(out, len, "%s%lX", hex, strtoul(age, NULL, 10));
}

/* The value after "KEY:" in the SECTION: block of pdb2yaml output. */
static char *yaml_value(const char *yaml, const char *section,
                        const char *key, char *out, size_t len)
{
    const char *s = strstr(yaml, section), *k;

    ck_assert_ptr_nonnull(s);
    k = strstr(s, key);
    ck_assert_ptr_nonnull(k);
    k += strlen(key);
    while (*k == ' ' || *k == '\'')
        k++;
    snprintf(out, len, "%.*s", (int)strcspn(k, "'\n"), k);
    return out;
}

static void check_identity(const char *pdb)
{
    char *yaml = tu_run("llvm-pdbutil-14 pdb2yaml -pdb-stream -dbi-stream "
                        "'%s'", pdb);
    char guid[64], age[16], machine[32], want[64];
    struct objfile_ident id;
    struct objfile_map map;

    ck_assert_ptr_nonnull(yaml);
    yaml_value(yaml, "PdbStream:", "Guid:", guid, sizeof(guid));
    yaml_value(yaml, "DbiStream:", "Age:", age, sizeof(age));
    yaml_value(yaml, "DbiStream:", "MachineType:", machine, sizeof(machine));
    guid_to_debug_id(guid, age, want, sizeof(want));
    tu_map(pdb, &map);
    ck_assert_int_eq(pdb_identify(&map, &id), 0);
    ck_assert_int_eq(id.kind, OBJFILE_PDB);
    ck_assert_str_eq(id.debug_id, want);
    ck_assert_str_eq(id.arch, strcmp(machine, "Amd64") == 0 ? "x86_64"
                              : strcmp(machine, "x86") == 0 ? "x86"
                                                            : machine);
    ck_assert_str_eq(id.debug_file, strrchr(pdb, '/') + 1);
    tu_unmap(&map);
    free(yaml);
}

START_TEST(test_pdb_identity_matches_pdbutil)
{
    char *dir, *path;

    for (size_t i = 0; i < 2; i++) {
        char *name = xasprintf("%s.pdb", fixtures[i]);

        path = tu_data(name);
        check_identity(path);
        free(path);
        free(name);
    }
    dir = tu_tmpdir();
    tu_build_image(dir, "x86_64", "gen64", false);
    tu_build_image(dir, "i686", "gen32", false);
    path = xasprintf("%s/gen64.pdb", dir);
    check_identity(path);
    free(path);
    path = xasprintf("%s/gen32.pdb", dir);
    check_identity(path);
    free(path);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

static void report(const char *what, const struct tu_agreement *a)
{
    fprintf(stderr,
            "%s: %zu addresses (+%zu the oracle cannot symbolize, +%zu "
            "without lines on both sides): chain %.1f%%, plus %zu where we "
            "add inline frames the oracle lacks, %zu in padding after a "
            "function, %zu where the oracle has line 0; outer function "
            "%.1f%%, innermost line %.1f%%; we report inline frames at "
            "%zu\n",
            what, a->addrs, a->unknown, a->nolines,
            100.0 * a->chain / a->addrs, a->we_deeper, a->beyond, a->line0,
            100.0 * a->outer / a->addrs, 100.0 * a->inner / a->addrs,
            a->inlined);
}

static void check_generated(const char *arch)
{
    char *dir = tu_tmpdir(), *exe, *dwarf, *what;
    struct tu_agreement pdb, dw;
    struct symtable *t;
    size_t either = 0;
    void *blob;

    tu_build_image(dir, arch, "gen", true);
    exe = xasprintf("%s/gen.exe", dir);
    dwarf = xasprintf("%s/gen-dwarf.exe", dir);
    t = tu_table(exe, pe_build, &blob);

    what = xasprintf("%s PE+PDB vs llvm-symbolizer (PDB)", arch);
    tu_compare(t, exe, 0, 10, &pdb);
    report(what, &pdb);
    free(what);
    ck_assert_uint_gt(pdb.addrs, 300);
    ck_assert_uint_ge((pdb.chain + pdb.we_deeper) * 100, pdb.addrs * 97);
    ck_assert_uint_eq(pdb.outer, pdb.addrs);

    what = xasprintf("%s PE+PDB vs llvm-symbolizer (DWARF)", arch);
    tu_compare(t, dwarf, TU_LINKAGE, 10, &dw);
    report(what, &dw);
    free(what);
    ck_assert_uint_ge(dw.outer * 100, dw.addrs * 95);

    /* Where the two oracles disagree with each other, we must side with
     * one of them. */
    ck_assert_uint_eq(pdb.count, dw.count);
    for (size_t i = 0; i < pdb.count; i++)
        either += pdb.agree[i] || dw.agree[i];
    fprintf(stderr, "%s: agree with at least one oracle at %zu of %zu "
                    "instructions (%.1f%%)\n",
            arch, either, pdb.count, 100.0 * either / pdb.count);
    ck_assert_uint_ge(either * 1000, pdb.count * 995);

    free(pdb.agree);
    free(dw.agree);
    free(pdb.va);
    free(dw.va);
    symtable_close(t);
    free(blob);
    free(exe);
    free(dwarf);
    tu_rmdir(dir);
    free(dir);
}

START_TEST(test_pdb_symbolize_generated_x86_64)
{
    check_generated("x86_64");
}
END_TEST

START_TEST(test_pdb_symbolize_generated_i686)
{
    check_generated("i686");
}
END_TEST

/* A Breakpad line record: the fixtures' .sym files were dumped from the
 * same PDBs by dump_syms on Windows (through DIA), an oracle independent
 * of LLVM that gives each line a size. */
struct bp_line {
    uint64_t addr, size;
    uint32_t line;
    char func[256];
};

static struct bp_line *bp_load(const char *path, size_t *n)
{
    char *text = tu_run("cat '%s'", path), *save = NULL, func[256] = "";
    struct bp_line *v = NULL;

    ck_assert_ptr_nonnull(text);
    *n = 0;
    for (char *l = strtok_r(text, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        unsigned long long addr, size;
        unsigned line;
        int off = 0;

        if (strncmp(l, "FUNC ", 5) == 0) {
            char *p = l + 5 + (strncmp(l + 5, "m ", 2) == 0 ? 2 : 0);

            ck_assert_int_eq(sscanf(p, "%llx %llx %*x %n", &addr, &size,
                                    &off), 2);
            snprintf(func, sizeof(func), "%.*s",
                     (int)strcspn(p + off, "("), p + off);
        } else if (sscanf(l, "%llx %llx %u %*u", &addr, &size, &line) == 3 &&
                   func[0]) {
            v = xreallocarray(v, *n + 1, sizeof(*v));
            v[*n] = (struct bp_line){addr, size, line, ""};
            snprintf(v[*n].func, sizeof(v[*n].func), "%s", func);
            (*n)++;
        } else {
            func[0] = '\0';
        }
    }
    free(text);
    return v;
}

/* Names equal but for leading underscores: dump_syms drops one from C
 * names on x64. */
static bool bp_name_eq(const char *ours, const char *bp)
{
    ours += strspn(ours, "_");
    bp += strspn(bp, "_");
    return strcmp(ours, bp) == 0;
}

/* Does our outer frame at RVA match the Breakpad line covering it? */
static bool bp_agrees(const struct bp_line *v, size_t n,
                      const struct symtable *t, uint64_t rva)
{
    struct symtable_frame f[16];
    size_t nf = symtable_lookup(t, rva, f, 16, NULL);

    for (size_t i = 0; nf && i < n; i++) {
        if (rva >= v[i].addr && rva - v[i].addr < v[i].size)
            return bp_name_eq(f[nf - 1].function, v[i].func) &&
                   f[nf - 1].line == v[i].line;
    }
    return false;
}

/* The MSVC fixtures, copied to a scratch directory with their PDB.
 * llvm-symbolizer crashes on their inline sites, so it runs without
 * --inlines; where it disagrees with us, the Breakpad symbols dumped
 * from the same PDB settle it. */
START_TEST(test_pdb_symbolize_msvc_fixtures)
{
    char *dir, *exe, *what, *sym, *path;
    struct tu_agreement a;
    struct bp_line *bp;
    struct symtable *t;
    uint64_t base;
    size_t nbp;
    void *blob;

    dir = tu_tmpdir();
    for (size_t i = 0; i < 2; i++) {
        char *src = tu_data(fixtures[i]);

        tu_shell("cp '%s.exe' '%s.pdb' '%s'", src, src, dir);
        free(src);
        exe = xasprintf("%s/%s.exe", dir, fixtures[i]);
        t = tu_table(exe, pe_build, &blob);
        base = symtable_image_base(t);
        tu_compare(t, exe, TU_NO_INLINES, 10, &a);
        what = xasprintf("MSVC %s.exe+pdb vs llvm-symbolizer (PDB)",
                         fixtures[i]);
        report(what, &a);
        ck_assert_uint_gt(a.addrs, 700);
        ck_assert_uint_ge(a.outer * 100, a.addrs * 99);
        ck_assert_uint_ge(a.chain * 100, a.addrs * 96);
        sym = xasprintf("%s%s", fixtures[i], i ? ".pdb.sym" : ".sym");
        path = tu_data(sym);
        bp = bp_load(path, &nbp);
        for (size_t k = 0, settled = 0, left = 0; k <= a.count; k++) {
            if (k == a.count) {
                fprintf(stderr, "%s: of %zu disagreements, dump_syms sides "
                                "with us at %zu\n", what, left, settled);
                ck_assert_uint_ge(settled * 100, left * 85);
            } else if (!a.agree[k]) {
                left++;
                if (bp_agrees(bp, nbp, t, a.va[k] - base))
                    settled++;
                else
                    fprintf(stderr, "  dump_syms disagrees too at %#llx\n",
                            (unsigned long long)a.va[k]);
            }
        }
        free(bp);
        free(path);
        free(sym);
        free(a.agree);
        free(a.va);
        symtable_close(t);
        free(blob);
        free(exe);
        free(what);
    }
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* --- Inline sites as llvm-pdbutil-14 decodes them: for every S_INLINESITE
 * its dump lists each binary annotation with the code offset (from the
 * procedure start) and line offset (from the inlinee's first line, which
 * "dump --il" gives) it results in.  At the first and last byte of every
 * row so decoded, our chain must hold that inlinee at that line. --- */

/* Cross-module inlinee ids, resolved from llvm-pdbutil's own dumps of the
 * imports (--xmi), exports (--xme) and ids (--ids), so that their names
 * are checked too. */
struct xm_import {
    unsigned long mod;
    size_t entry;
    char tail[256];      /* exporting module, maybe cut to "...tail" */
    unsigned long *ids;
    size_t nids;
};

struct xm_export {
    unsigned long mod, local, global;
};

struct xm_name {
    unsigned long id;
    char name[256];
};

struct xmod_oracle {
    char (*modname)[512];
    size_t nmods;
    struct xm_import *imp;
    size_t nimp;
    struct xm_export *exp;
    size_t nexp;
    struct xm_name *names;
    size_t nnames;
};

static void xm_modules_and_exports(const char *pdb, struct xmod_oracle *x)
{
    char *out = tu_run("llvm-pdbutil-14 dump --xme '%s'", pdb), *save = NULL;
    unsigned long mod = 0, local, global;

    ck_assert_ptr_nonnull(out);
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        const char *q = strchr(l, '`');

        if (sscanf(l, " Mod %lu |", &mod) == 1 && q) {
            x->modname = xreallocarray(x->modname, mod + 1,
                                       sizeof(*x->modname));
            for (; x->nmods <= mod; x->nmods++)
                x->modname[x->nmods][0] = '\0';
            snprintf(x->modname[mod], sizeof(x->modname[mod]), "%.*s",
                     (int)strcspn(q + 1, "`"), q + 1);
        } else if (sscanf(l, " 0x%lx | 0x%lx", &local, &global) == 2) {
            x->exp = xreallocarray(x->exp, x->nexp + 1, sizeof(*x->exp));
            x->exp[x->nexp++] = (struct xm_export){mod, local, global};
        }
    }
    free(out);
}

static void xm_add_ids(struct xm_import *im, const char *p)
{
    char *end;

    for (unsigned long v = strtoul(p, &end, 16); end != p;
         v = strtoul(p, &end, 16)) {
        im->ids = xreallocarray(im->ids, im->nids + 1, sizeof(*im->ids));
        im->ids[im->nids++] = v;
        p = end;
    }
}

static void xm_imports(const char *pdb, struct xmod_oracle *x)
{
    char *out = tu_run("llvm-pdbutil-14 dump --xmi '%s'", pdb), *save = NULL;
    unsigned long mod = 0;
    size_t entry = 0;

    ck_assert_ptr_nonnull(out);
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        char *bar = strchr(l, '|');

        if (sscanf(l, " Mod %lu |", &mod) == 1) {
            entry = 0;
        } else if (bar && strstr(l, "0x")) {
            struct xm_import *im;
            char *t = l + strspn(l, " ");

            x->imp = xreallocarray(x->imp, x->nimp + 1, sizeof(*x->imp));
            im = &x->imp[x->nimp++];
            memset(im, 0, sizeof(*im));
            im->mod = mod;
            im->entry = entry++;
            snprintf(im->tail, sizeof(im->tail), "%.*s",
                     (int)(bar - t), t);
            while (im->tail[0] && im->tail[strlen(im->tail) - 1] == ' ')
                im->tail[strlen(im->tail) - 1] = '\0';
            xm_add_ids(im, bar + 1);
        } else if (!bar && x->nimp && strstr(l, "0x")) {
            xm_add_ids(&x->imp[x->nimp - 1], l);
        }
    }
    free(out);
}

static void xm_names(const char *pdb, struct xmod_oracle *x)
{
    char *out = tu_run("llvm-pdbutil-14 dump --ids '%s'", pdb), *save = NULL;
    unsigned long id = 0;

    ck_assert_ptr_nonnull(out);
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        const char *n = strstr(l, "name = ");

        if (sscanf(l, " 0x%lx | LF_", &id) == 1 || !n)
            continue;
        x->names = xreallocarray(x->names, x->nnames + 1, sizeof(*x->names));
        x->names[x->nnames].id = id;
        snprintf(x->names[x->nnames++].name, sizeof(x->names[0].name),
                 "%.*s", (int)strcspn(n + 7, ","), n + 7);
    }
    free(out);
}

/* Does module name FULL end like TAIL ("...\x\y.obj": the part after the
 * dots), ignoring case? */
static bool xm_tail_matches(const char *full, const char *tail)
{
    size_t f = strlen(full), t;

    tail += strspn(tail, ".");
    t = strlen(tail);
    return f >= t && strcasecmp(full + f - t, tail) == 0;
}

/* The name pdbutil's dumps give decorated ID in module MOD, or "". */
static const char *xm_resolve(const struct xmod_oracle *x, unsigned long mod,
                              unsigned long id)
{
    size_t entry = (id >> 20) & 0x7FF, idx = id & 0xFFFFF;

    for (size_t i = 0; i < x->nimp; i++) {
        const struct xm_import *im = &x->imp[i];

        if (im->mod != mod || im->entry != entry || idx >= im->nids)
            continue;
        for (size_t m = 0; m < x->nmods; m++) {
            if (!x->modname[m][0] ||
                !xm_tail_matches(x->modname[m], im->tail))
                continue;
            for (size_t e = 0; e < x->nexp; e++) {
                if (x->exp[e].mod != m || x->exp[e].local != im->ids[idx])
                    continue;
                for (size_t k = 0; k < x->nnames; k++) {
                    if (x->names[k].id == x->exp[e].global)
                        return x->names[k].name;
                }
            }
        }
    }
    return "";
}

static void xm_free(struct xmod_oracle *x)
{
    for (size_t i = 0; i < x->nimp; i++)
        free(x->imp[i].ids);
    free(x->imp);
    free(x->exp);
    free(x->names);
    free(x->modname);
}

/* An inlinee's first line; MOD matters only for module-local
 * (cross-module, top bit set) ids. */
struct site_first {
    unsigned long mod, id;
    uint32_t line;
};

struct site_check {
    const struct symtable *t;
    struct xmod_oracle xm;
    size_t xresolved;
    uint64_t sect_rva[64];
    struct site_first *first;
    size_t nfirst;
    size_t rows, ok;
};

static uint32_t site_first_line(const struct site_check *c, unsigned long mod,
                                unsigned long id)
{
    for (size_t i = 0; i < c->nfirst; i++) {
        if (c->first[i].id == id &&
            (c->first[i].mod == mod || id < 0x80000000ul))
            return c->first[i].line;
    }
    return 0;
}

static void sections_of(const char *pdb, struct site_check *c)
{
    char *out = tu_run("llvm-pdbutil-14 dump --section-headers '%s'", pdb);
    unsigned n = 0;

    ck_assert_ptr_nonnull(out);
    for (char *p = strstr(out, "SECTION HEADER #"); p;
         p = strstr(p + 1, "SECTION HEADER #")) {
        char *va = strstr(p, "virtual address");

        n = (unsigned)strtoul(p + 16, NULL, 10);
        ck_assert(va && n < 64);
        while (va > p && va[-1] == ' ')
            va--;
        while (va > p && va[-1] != ' ')
            va--;
        c->sect_rva[n] = strtoull(va, NULL, 16);
    }
    free(out);
}

static void inlinee_lines_of(const char *pdb, struct site_check *c)
{
    char *out = tu_run("llvm-pdbutil-14 dump --il '%s'", pdb), *save = NULL;
    unsigned long mod = 0;

    ck_assert_ptr_nonnull(out);
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        unsigned long id, line;

        if (sscanf(l, " Mod %lu |", &mod) == 1 ||
            sscanf(l, " 0x%lx | %lu |", &id, &line) != 2)
            continue;
        c->first = xreallocarray(c->first, c->nfirst + 1, sizeof(*c->first));
        c->first[c->nfirst++] = (struct site_first){mod, id, (uint32_t)line};
    }
    free(out);
}

/* Is NAME at LINE one of the inline frames at RVA? */
static void site_check_at(struct site_check *c, uint64_t rva,
                          const char *name, uint32_t line)
{
    struct symtable_frame f[16];
    size_t nf = symtable_lookup(c->t, rva, f, 16, NULL), n = strlen(name);
    bool cut = n > 3 && strcmp(name + n - 3, "...") == 0;

    c->rows++;
    for (size_t i = 0; i + 1 < nf; i++) {
        size_t m = strlen(f[i].function);
        /* llvm-pdbutil prints unqualified names, long ones cut with
         * "..." */
        bool same = cut ? memmem(f[i].function, m, name, n - 3) != NULL
                        : m >= n && strcmp(f[i].function + m - n, name) == 0;

        if (f[i].line == line && same && strcmp(f[i].function, "??") != 0) {
            c->ok++;
            return;
        }
    }
    if (c->rows - c->ok <= 5)
        fprintf(stderr, "  %#llx: no inline frame %s at line %u\n",
                (unsigned long long)rva, name, line);
}

/* One row [start, end) (END 0: unknown) of a site. */
static void site_row(struct site_check *c, uint64_t start, uint64_t end,
                     const char *name, uint32_t line)
{
    site_check_at(c, start, name, line);
    if (end > start + 1)
        site_check_at(c, end - 1, name, line);
}

struct site_state {
    uint64_t proc;   /* RVA of the enclosing procedure */
    char name[256];
    uint32_t first;  /* the inlinee's first line */
    int64_t lineoff;
    bool open;
    uint64_t start, end;
    int64_t row_line;
};

static void site_flush(struct site_check *c, struct site_state *st)
{
    if (st->open && st->first)
        site_row(c, st->start, st->end, st->name,
                 (uint32_t)(st->first + st->row_line));
    st->open = false;
}

/* "code 0x41 (+0x2) line 9 (-3)", "line 5 (+5)", "code 0x48 (+0x7) code
 * end 0x4B (+0x3)", "code end 0x58 (+0x8)": the line change applies to
 * the row the same annotation opens. */
static void site_annotation(struct site_check *c, struct site_state *st,
                            const char *l)
{
    const char *line = strstr(l, "line "), *code = strstr(l, "code 0x");
    const char *end = strstr(l, "code end 0x");

    if (line)
        st->lineoff = strtoll(line + 5, NULL, 10);
    if (code && code != end) {
        uint64_t at = st->proc + strtoull(code + 7, NULL, 16);

        if (st->open && !st->end)
            st->end = at;
        site_flush(c, st);
        st->open = true;
        st->start = at;
        st->end = 0;
        st->row_line = st->lineoff;
    }
    if (end && st->open)
        st->end = st->proc + strtoull(end + 11, NULL, 16);
}

static void check_sites(const char *pdb, const struct symtable *t)
{
    struct site_check c = {.t = t};
    struct site_state st = {0};
    char *out, *save = NULL;
    unsigned long mod = 0;
    bool in_site = false, in_proc = false;

    sections_of(pdb, &c);
    inlinee_lines_of(pdb, &c);
    xm_modules_and_exports(pdb, &c.xm);
    xm_imports(pdb, &c.xm);
    xm_names(pdb, &c.xm);
    out = tu_run("llvm-pdbutil-14 dump --symbols '%s'", pdb);
    ck_assert_ptr_nonnull(out);
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        const char *addr = strstr(l, "addr = "), *in = strstr(l, "inlinee = ");
        unsigned sec, off;
        unsigned long id;

        if (sscanf(l, " Mod %lu |", &mod) == 1) {
            in_site = false;
        } else if (strchr(l, '|')) {
            if (in_site)
                site_flush(&c, &st);
            in_site = strstr(l, "S_INLINESITE ") != NULL;
            in_proc = strstr(l, "PROC32") != NULL;
        } else if (in_proc && addr &&
                   sscanf(addr, "addr = %u:%u", &sec, &off) == 2 && sec < 64) {
            st.proc = c.sect_rva[sec] + off;
        } else if (in_site && in &&
                   sscanf(in, "inlinee = 0x%lx", &id) == 1) {
            const char *n = strchr(in, '('), *e = strstr(in, "), parent");

            snprintf(st.name, sizeof(st.name), "%.*s",
                     n && e > n ? (int)(e - n - 1) : 0, n ? n + 1 : "");
            if (id >= 0x80000000ul) {
                snprintf(st.name, sizeof(st.name), "%s",
                         xm_resolve(&c.xm, mod, id));
                c.xresolved += st.name[0] != '\0';
            }
            st.first = site_first_line(&c, mod, id);
            st.lineoff = 0;
            st.open = false;
        } else if (in_site) {
            site_annotation(&c, &st, l);
        }
    }
    fprintf(stderr, "%s: %zu of %zu inline-site row ends as llvm-pdbutil "
                    "decodes them (%.1f%%); %zu cross-module inlinees "
                    "named through its --xmi/--xme/--ids dumps\n",
            pdb, c.ok, c.rows, 100.0 * c.ok / c.rows, c.xresolved);
    ck_assert_uint_gt(c.rows, 10);
    ck_assert_uint_ge(c.ok * 100, c.rows * 99);
    free(out);
    free(c.first);
    xm_free(&c.xm);
}

START_TEST(test_pdb_inline_sites_match_pdbutil)
{
    char *dir = tu_tmpdir(), *path;
    struct symtable *t;
    void *blob;

    for (size_t i = 0; i < 2; i++) {
        char *name = xasprintf("%s.pdb", fixtures[i]);

        path = tu_data(name);
        t = tu_table(path, pdb_build, &blob);
        check_sites(path, t);
        symtable_close(t);
        free(blob);
        free(path);
        free(name);
    }
    tu_build_image(dir, "x86_64", "gen", false);
    path = xasprintf("%s/gen.pdb", dir);
    t = tu_table(path, pdb_build, &blob);
    check_sites(path, t);
    symtable_close(t);
    free(blob);
    free(path);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* Every S_THUNK32 llvm-pdbutil lists is a function of its own for us, over
 * its whole size. */
static void check_thunks(const char *pdb, const struct symtable *t)
{
    struct site_check c = {.t = t};
    char *out, *save = NULL, name[256] = "";
    size_t n = 0, ok = 0;

    sections_of(pdb, &c);
    out = tu_run("llvm-pdbutil-14 dump --symbols '%s'", pdb);
    ck_assert_ptr_nonnull(out);
    for (char *l = strtok_r(out, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        const char *q = strchr(l, '`'), *a = strstr(l, "addr = ");
        const char *sz = strstr(l, "size = ");
        unsigned size, sec, off;

        if (strstr(l, "S_THUNK32") && q)
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(q + 1, "`"),
                     q + 1);
        else if (name[0] && a && sz &&
                 sscanf(sz, "size = %u", &size) == 1 &&
                 sscanf(a, "addr = %u:%u", &sec, &off) == 2 && sec < 64) {
            uint64_t rva = c.sect_rva[sec] + off;
            struct symtable_frame f[4];
            size_t nf = symtable_lookup(t, rva + size - 1, f, 4, NULL);

            n++;
            ok += nf && strcmp(f[nf - 1].function, name) == 0 &&
                  symtable_lookup(t, rva, f, 4, NULL) &&
                  strcmp(f[0].function, name) == 0;
            name[0] = '\0';
        }
    }
    fprintf(stderr, "%s: %zu of %zu thunks\n", pdb, ok, n);
    ck_assert_uint_gt(n, 10);
    ck_assert_uint_eq(ok, n);
    free(out);
}

START_TEST(test_pdb_thunks_match_pdbutil)
{
    for (size_t i = 0; i < 2; i++) {
        char *name = xasprintf("%s.pdb", fixtures[i]);
        char *path = tu_data(name);
        struct symtable *t;
        void *blob;

        t = tu_table(path, pdb_build, &blob);
        check_thunks(path, t);
        symtable_close(t);
        free(blob);
        free(path);
        free(name);
    }
}
END_TEST

/* --- MSF repacking: the same streams in another block size, each stream's
 * blocks in reverse order so that none is contiguous.  Written here from
 * the MSF layout, independently of the reader. --- */

/* Blocks FIRST..NBLOCKS-1 in BUF; the superblock goes to block 0 and
 * what lies between is a hole (a sparse file past 4 GiB when FIRST is
 * large). */
struct msf_out {
    uint8_t *buf;
    uint32_t bs, first, nblocks;
};

static uint8_t *msf_block(struct msf_out *o, uint32_t blk)
{
    return o->buf + (size_t)(blk - o->first) * o->bs;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Next free block, skipping the free page map pairs at k*bs + 1, 2. */
static uint32_t msf_alloc(struct msf_out *o)
{
    uint32_t old = o->nblocks;

    while (o->nblocks % o->bs == 1 || o->nblocks % o->bs == 2)
        o->nblocks++;
    o->buf = xreallocarray(o->buf, (size_t)(o->nblocks - o->first) + 1,
                           o->bs);
    memset(msf_block(o, old), 0, (size_t)(o->nblocks + 1 - old) * o->bs);
    return o->nblocks++;
}

/* Write LEN bytes as new blocks, last chunk first; their numbers go to
 * LIST in stream order. */
static void msf_put(struct msf_out *o, const uint8_t *d, size_t len,
                    uint32_t *list)
{
    size_t n = (len + o->bs - 1) / o->bs;

    for (size_t i = n; i-- > 0;) {
        size_t chunk = len - i * o->bs < o->bs ? len - i * o->bs : o->bs;

        list[i] = msf_alloc(o);
        memcpy(msf_block(o, list[i]), d + i * o->bs, chunk);
    }
}

/* Stream I of the MSF file IN (whose directory is DIR). */
static uint8_t *msf_get(const uint8_t *in, const uint8_t *dir, uint32_t bs,
                        uint32_t i, size_t *len)
{
    uint32_t ns = le32(dir), size = le32(dir + 4 + 4 * i);
    const uint8_t *list = dir + 4 + 4 * ns;
    uint8_t *out;

    for (uint32_t s = 0; s < i; s++) {
        uint32_t sz = le32(dir + 4 + 4 * s);

        list += sz == UINT32_MAX ? 0 : 4 * ((sz + bs - 1) / bs);
    }
    *len = size == UINT32_MAX ? 0 : size;
    out = xmalloc(*len + 1);
    for (size_t off = 0; off < *len; off += bs) {
        size_t chunk = *len - off < bs ? *len - off : bs;

        memcpy(out + off, in + (size_t)le32(list + 4 * (off / bs)) * bs, chunk);
    }
    return out;
}

static uint8_t *msf_read_dir(const uint8_t *in, uint32_t *bs)
{
    uint32_t dir_bytes = le32(in + 44), map = le32(in + 52);
    uint8_t *dir;

    *bs = le32(in + 32);
    dir = xmalloc(dir_bytes);
    for (uint32_t off = 0; off < dir_bytes; off += *bs) {
        uint32_t chunk = dir_bytes - off < *bs ? dir_bytes - off : *bs;
        uint32_t blk = le32(in + (size_t)map * *bs + 4 * (off / *bs));

        memcpy(dir + off, in + (size_t)blk * *bs, chunk);
    }
    return dir;
}

static void msf_write(struct msf_out *o, const uint8_t *sb, size_t sblen,
                      const char *to)
{
    uint8_t *first = xcalloc(1, o->bs);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t len = (size_t)(o->nblocks - o->first) * o->bs;

    ck_assert_int_ge(fd, 0);
    memcpy(first, sb, sblen);
    ck_assert_int_eq(pwrite(fd, first, o->bs, 0), (ssize_t)o->bs);
    ck_assert_int_eq(pwrite(fd, o->buf, len, (off_t)o->first * o->bs),
                     (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
    free(first);
}

/* Rewrite FROM as TO with block size NBS, its streams from block FIRST
 * on. */
static void msf_repack(const char *from, const char *to, uint32_t nbs,
                       uint32_t first)
{
    struct objfile_map m;
    struct msf_out o = {NULL, nbs, first, first};
    uint32_t bs, ns, *lists, nl = 0, map_block;
    uint8_t *dir, *ndir, sb[56];
    size_t dlen = 4, lcap;

    tu_map(from, &m);
    dir = msf_read_dir(m.data, &bs);
    ns = le32(dir);
    lcap = m.len / 64 + ns + 16;
    lists = xcalloc(lcap, sizeof(*lists));
    memcpy(sb, m.data, sizeof(sb));
    for (uint32_t i = 0; i < ns; i++) {
        size_t len;
        uint8_t *s = msf_get(m.data, dir, bs, i, &len);

        msf_put(&o, s, len, lists + nl);
        nl += (uint32_t)((len + nbs - 1) / nbs);
        free(s);
    }
    ndir = xmalloc(4 + 4 * (size_t)ns + 4 * (size_t)nl);
    memcpy(ndir, dir, 4 + 4 * (size_t)ns);
    dlen = 4 + 4 * (size_t)ns;
    for (uint32_t i = 0; i < nl; i++, dlen += 4)
        wr32(ndir + dlen, lists[i]);
    msf_put(&o, ndir, dlen, lists);
    ck_assert_uint_le((dlen + nbs - 1) / nbs, nbs / 4);
    map_block = msf_alloc(&o);
    for (size_t i = 0; i < (dlen + nbs - 1) / nbs; i++)
        wr32(msf_block(&o, map_block) + 4 * i, lists[i]);
    wr32(sb + 32, nbs);
    wr32(sb + 36, 1);
    wr32(sb + 40, o.nblocks);
    wr32(sb + 44, (uint32_t)dlen);
    wr32(sb + 52, map_block);
    msf_write(&o, sb, sizeof(sb), to);
    tu_unmap(&m);
    free(o.buf);
    free(ndir);
    free(lists);
    free(dir);
}

static void *blob_of(const char *path, size_t *len)
{
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_map m;
    void *blob;

    tu_map(path, &m);
    ck_assert_int_eq(pdb_build(&m, b), 0);
    ck_assert_int_eq(symtable_builder_finish(b, &blob, len), 0);
    symtable_builder_free(b);
    tu_unmap(&m);
    return blob;
}

START_TEST(test_pdb_block_sizes)
{
    static const uint32_t sizes[] = {512, 1024, 2048, 4096, 8192, 32768};
    char *dir, *src = tu_data("CrashWithException.pdb");
    size_t len0, len;
    void *blob0 = blob_of(src, &len0);

    dir = tu_tmpdir();
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *to = xasprintf("%s/re%u.pdb", dir, sizes[i]);
        char *sum;
        void *blob;

        msf_repack(src, to, sizes[i], 1);
        sum = tu_run("llvm-pdbutil-14 dump --summary '%s'", to);
        ck_assert_msg(sum && strstr(sum, "F535C5FB-2AE8-4BB8-AA20-"
                                         "6C30BE566C5A"),
                      "llvm-pdbutil rejects the repacked file %s", to);
        check_identity(to);
        blob = blob_of(to, &len);
        ck_assert_uint_eq(len, len0);
        ck_assert_msg(memcmp(blob, blob0, len) == 0,
                      "block size %u reads differently", sizes[i]);
        free(blob);
        free(sum);
        free(to);
    }
    tu_rmdir(dir);
    free(dir);
    free(blob0);
    free(src);
}
END_TEST

/* The same file with every stream past 4 GiB (a sparse file): offsets
 * must be 64-bit all through. */
START_TEST(test_pdb_past_4gib)
{
    char *dir = tu_tmpdir(), *src = tu_data("CrashWithException.pdb");
    char *to = xasprintf("%s/big.pdb", dir);
    size_t len0, len;
    void *blob0 = blob_of(src, &len0), *blob;
    struct objfile_map m;

    msf_repack(src, to, 4096, (uint32_t)((UINT64_C(1) << 32) / 4096 + 8));
    tu_map(to, &m);
    ck_assert_uint_gt(m.len, UINT64_C(1) << 32);
    tu_unmap(&m);
    check_identity(to);
    blob = blob_of(to, &len);
    ck_assert_uint_eq(len, len0);
    ck_assert_msg(memcmp(blob, blob0, len) == 0, "reads differently");
    free(blob);
    free(blob0);
    free(to);
    free(src);
    tu_rmdir(dir);
    free(dir);
}
END_TEST

/* MSVC names an anonymous namespace "?A0x<hash>" in the IPI stream; we
 * print it as undname and clang do.  In crash.pdb, main (RVA 0x2a3d,
 * main.cpp:35) inlines crash() and start() from such a namespace
 * (llvm-pdbutil-14 dump --ids: LF_STRING_ID "?A0xc3a0617d" as their
 * scope). */
START_TEST(test_pdb_anonymous_namespace)
{
    char *pdb = tu_data("crash.pdb");
    struct objfile_map m;
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t;
    struct symtable_frame f[4];
    void *blob;
    size_t len;

    tu_map(pdb, &m);
    ck_assert_int_eq(pdb_build(&m, b), 0);
    ck_assert_int_eq(symtable_builder_finish(b, &blob, &len), 0);
    ck_assert_int_eq(symtable_load(blob, len, &t), 0);
    ck_assert_uint_eq(symtable_lookup(t, 0x2a3d, f, 4, NULL), 3);
    ck_assert_str_eq(f[0].function, "`anonymous namespace'::crash");
    ck_assert_str_eq(f[1].function, "`anonymous namespace'::start");
    ck_assert_str_eq(f[2].function, "main");
    symtable_close(t);
    free(blob);
    symtable_builder_free(b);
    tu_unmap(&m);
    free(pdb);
}
END_TEST

/* The frame data of the x86 fixture, as STACK WIN records, against the
 * STACK WIN lines Breakpad's dump_syms wrote for the same PDB (crash.sym,
 * made through DIA: an independent reader): same records, same fields,
 * same programs.  The x64 fixture has no frame data (x64 unwinds from
 * .pdata), which llvm-pdbutil-14 dump --fpo confirms. */
START_TEST(test_pdb_frame_data_matches_dump_syms)
{
    char *pdb = tu_data("crash.pdb"), *sym = tu_data("crash.sym");
    char *x64 = tu_data("CrashWithException.pdb");
    struct objfile_map pm, sm;
    struct breakpad_stack *got = NULL, *want = NULL;
    size_t ngot = 0, nwant = 0;
    char *strings = NULL;

    tu_map(pdb, &pm);
    tu_map(sym, &sm);
    ck_assert_int_eq(pdb_stack_records(&pm, &got, &ngot, &strings), 0);
    ck_assert_int_eq(breakpad_stack_records(&sm, &want, &nwant), 0);
    ck_assert_uint_eq(ngot, 154); /* 152 frame data + 2 FPO, by uniq RVA */
    ck_assert_uint_eq(ngot, nwant);
    for (size_t i = 0; i < ngot; i++) {
        const struct breakpad_stack *g = &got[i], *w = NULL;

        for (size_t j = 0; j < nwant && w == NULL; j++)
            if (want[j].rva == g->rva && want[j].win_type == g->win_type)
                w = &want[j];
        ck_assert_msg(w != NULL, "no STACK WIN %u %llx in crash.sym",
                      g->win_type, (unsigned long long)g->rva);
        ck_assert_uint_eq(g->size, w->size);
        ck_assert_uint_eq(g->prolog_size, w->prolog_size);
        ck_assert_uint_eq(g->epilog_size, w->epilog_size);
        ck_assert_uint_eq(g->parameter_size, w->parameter_size);
        ck_assert_uint_eq(g->saved_register_size, w->saved_register_size);
        ck_assert_uint_eq(g->local_size, w->local_size);
        ck_assert_uint_eq(g->max_stack_size, w->max_stack_size);
        ck_assert_int_eq(g->has_program_string, w->has_program_string);
        if (!g->has_program_string)
            ck_assert_int_eq(g->allocates_base_pointer,
                             w->allocates_base_pointer);
        ck_assert_msg(g->rules_len == w->rules_len &&
                          memcmp(g->rules, w->rules, g->rules_len) == 0,
                      "rva %llx: '%.*s' vs '%.*s'",
                      (unsigned long long)g->rva, (int)g->rules_len,
                      g->rules, (int)w->rules_len, w->rules);
    }
    free(got);
    free(want);
    free(strings);
    tu_unmap(&pm);
    tu_unmap(&sm);
    tu_map(x64, &pm);
    ck_assert_int_eq(pdb_stack_records(&pm, &got, &ngot, &strings), 0);
    ck_assert_uint_eq(ngot, 0);
    free(got);
    free(strings);
    tu_unmap(&pm);
    free(pdb);
    free(sym);
    free(x64);
}
END_TEST

/* Build from DATA[0..LEN) (a damaged copy); it may succeed or fail, but
 * failing means -EINVAL/-ENOTSUP with a reason. */
static void build_damaged(const uint8_t *data, size_t len, const char *what)
{
    struct objfile_map m = {.path = what, .data = data, .len = len};
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_ident id;
    struct breakpad_stack *recs = NULL;
    size_t nrecs = 0;
    char *strings = NULL;
    int rc = pdb_build(&m, b);

    ck_assert_msg(rc == 0 || rc == -EINVAL || rc == -ENOTSUP,
                  "%s: rc %d", what, rc);
    if (rc < 0)
        ck_assert_msg(m.err[0] != '\0', "%s: no reason given", what);
    symtable_builder_free(b);
    rc = pdb_identify(&m, &id);
    ck_assert(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
    rc = pdb_stack_records(&m, &recs, &nrecs, &strings);
    ck_assert(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
    for (size_t i = 0; i < nrecs; i++)
        ck_assert_uint_eq(strlen(recs[i].rules), recs[i].rules_len);
    free(recs);
    free(strings);
}

START_TEST(test_pdb_damaged_files_fail_cleanly)
{
    for (size_t i = 0; i < 2; i++) {
        char *name = xasprintf("%s.pdb", fixtures[i]);
        char *path = tu_data(name);
        struct objfile_map m;
        uint8_t *copy;
        unsigned seed = 7;

        tu_map(path, &m);
        copy = xmalloc(m.len);
        for (size_t cut = 0; cut < m.len; cut += cut < 256 ? 7 : 40961)
            build_damaged(m.data, cut, name);
        for (int k = 0; k < 300; k++) {
            size_t at = (size_t)rand_r(&seed) % m.len;

            /* every third flip lands in the directory's last block */
            if (k % 3 == 0)
                at = m.len - 1 - (size_t)rand_r(&seed) % 8192;
            memcpy(copy, m.data, m.len);
            copy[at] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
            build_damaged(copy, m.len, name);
        }
        free(copy);
        tu_unmap(&m);
        free(path);
        free(name);
    }
}
END_TEST

START_TEST(test_pdb_rejects_other_formats)
{
    static const char pdb2[] = "Microsoft C/C++ program database 2.00\r\n"
                               "\x1aJG\0\0";
    struct objfile_map m = {.path = "x.pdb"};
    struct objfile_ident id;
    char *exe = tu_data("crash.exe");

    m.data = (const uint8_t *)pdb2;
    m.len = sizeof(pdb2);
    ck_assert_int_eq(pdb_identify(&m, &id), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(m.err, "2.0"));
    tu_map(exe, &m);
    ck_assert_int_eq(pdb_identify(&m, &id), -ENOTSUP);
    tu_unmap(&m);
    free(exe);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_pdb_identity_matches_pdbutil,
        test_pdb_symbolize_generated_x86_64,
        test_pdb_symbolize_generated_i686,
        test_pdb_symbolize_msvc_fixtures,
        test_pdb_inline_sites_match_pdbutil,
        test_pdb_thunks_match_pdbutil,
        test_pdb_block_sizes,
        test_pdb_past_4gib,
        test_pdb_frame_data_matches_dump_syms,
        test_pdb_anonymous_namespace,
        test_pdb_damaged_files_fail_cleanly,
        test_pdb_rejects_other_formats,
    };

    if (!needtool("check_pdb", "clang-14", "lld-link-14", "llvm-symbolizer-14",
                  "llvm-objdump-14", "llvm-pdbutil-14", NULL))
        return 77;
    return tu_run_suite("pdb", tests, sizeof(tests) / sizeof(tests[0]));
}
