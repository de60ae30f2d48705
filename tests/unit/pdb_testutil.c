/* SPDX-License-Identifier: MIT */
/*
 * pdb_testutil: helpers shared by check_pdb and check_pe (see the header).
 * The oracle comparison feeds every instruction address of the image's
 * .text to one llvm-symbolizer-14 process and walks its blocks of
 * "function\nfile:line:col" frames alongside our lookups.
 */
#include "symsrvd_config.h"

#include "pdb_testutil.h"

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pe/pe.h"
#include "xalloc.h"

int tu_run_suite(const char *name, const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create(name);
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *tu_data(const char *name)
{
    const char *top = getenv("abs_top_srcdir");

    return xasprintf("%s/tests/data/pdb/%s", top ? top : "..", name);
}

char *tu_tmpdir(void)
{
    char *dir = xstrdup("/tmp/check_pdb.XXXXXX");

    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

void tu_rmdir(const char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    ck_assert_int_eq(system(cmd), 0);
    free(cmd);
}

char *tu_run(const char *fmt, ...)
{
    char *cmd, *out = NULL;
    size_t len = 0, cap = 0, n;
    char buf[65536];
    va_list ap;
    FILE *f;

    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
    va_end(ap);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            out = xreallocarray(out, cap, 1);
        }
        memcpy(out + len, buf, n);
        len += n;
    }
    out = xreallocarray(out, len + 1, 1);
    out[len] = '\0';
    if (pclose(f) != 0) {
        free(out);
        out = NULL;
    }
    free(cmd);
    return out;
}

void tu_shell(const char *fmt, ...)
{
    char *cmd;
    va_list ap;

    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
    free(cmd);
}

void tu_map(const char *path, struct objfile_map *map)
{
    ck_assert_msg(objfile_map(path, map) == 0, "%s", map->err);
}

void tu_unmap(struct objfile_map *map)
{
    objfile_unmap(map);
}

void tu_build_image(const char *dir, const char *arch, const char *name,
                    bool dwarf)
{
    char *src = tu_data("");
    char *cmd = xasprintf("%sbuild-pe.sh '%s' '%s' %s %s %s", src, src, dir,
                          arch, name, dwarf ? "dwarf" : "");

    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    free(cmd);
    free(src);
}

struct symtable *tu_table(const char *path,
                          int (*build)(struct objfile_map *,
                                       struct symtable_builder *),
                          void **blob)
{
    struct symtable_builder *b = symtable_builder_new();
    struct objfile_map map;
    struct symtable *t = NULL;
    size_t len;
    int rc;

    tu_map(path, &map);
    rc = build(&map, b);
    ck_assert_msg(rc == 0, "%s: build failed: %d %s", path, rc, map.err);
    ck_assert_int_eq(symtable_builder_finish(b, blob, &len), 0);
    symtable_builder_free(b);
    ck_assert_int_eq(symtable_load(*blob, len, &t), 0);
    tu_unmap(&map);
    return t;
}

/* One frame as llvm-symbolizer prints it. */
struct oframe {
    char name[512];
    char file[512];
    uint32_t line;
};

/* True when the line at P looks like "file:line:col". */
static bool is_loc(const char *p)
{
    size_t n = strcspn(p, "\n"), digits = 0, colons = 0;

    for (size_t i = n; i-- > 0 && colons < 2;) {
        if (p[i] == ':' && digits)
            colons++, digits = 0;
        else if (p[i] >= '0' && p[i] <= '9')
            digits++;
        else
            return false;
    }
    return colons == 2;
}

/* Split "file:line:col" at P (NUL-terminated) into F. */
static void parse_loc(char *p, struct oframe *f)
{
    char *c2 = strrchr(p, ':'), *c1;

    ck_assert_msg(c2 != NULL, "unexpected oracle output: %.80s", p);
    *c2 = '\0';
    c1 = strrchr(p, ':');
    ck_assert_msg(c1 != NULL, "unexpected oracle output: %.80s", p);
    *c1 = '\0';
    snprintf(f->file, sizeof(f->file), "%s", p);
    f->line = (uint32_t)strtoul(c1 + 1, NULL, 10);
}

/* Read one address block: pairs of name and location lines ended by an
 * empty line (a name may be empty too: then a location follows it).
 * False at the end of the output. */
static bool read_block(char **cur, struct oframe *f, size_t max, size_t *n)
{
    char *p = *cur;

    *n = 0;
    if (!*p)
        return false;
    while (*p && !(*p == '\n' && !is_loc(p + 1))) {
        char *nl = strchr(p, '\n'), *lnl;

        ck_assert_ptr_nonnull(nl);
        lnl = strchr(nl + 1, '\n');
        ck_assert_ptr_nonnull(lnl);
        *lnl = '\0';
        if (*n < max) {
            snprintf(f[*n].name, sizeof(f[*n].name), "%.*s", (int)(nl - p),
                     p);
            parse_loc(nl + 1, &f[*n]);
        }
        (*n)++;
        p = lnl + 1;
    }
    *cur = *p ? p + 1 : p;
    return true;
}

/* "ns::f<int>(int) const" -> "ns::f": drop template arguments (CodeView
 * inlinee names have none, and the MSVC demangler spells some types its
 * own way) and cut at the parameter list. */
static void strip_params(char *name)
{
    int depth = 0;
    char *out = name;

    for (char *c = name; *c; c++) {
        if (*c == '<')
            depth++;
        else if (*c == '>')
            depth--;
        else if (*c == '(' && depth == 0 && c != name)
            break;
        else if (depth == 0)
            *out++ = *c;
    }
    *out = '\0';
}

static bool frame_eq(const struct symtable_frame *ours,
                     const struct oframe *o, bool any_line0)
{
    const char *file = ours->file ? ours->file : "??";

    return strcmp(ours->function, o->name) == 0 &&
           strcmp(file, o->file) == 0 &&
           (ours->line == o->line || (any_line0 && o->line == 0));
}

static bool chain_eq(const struct symtable_frame *f, size_t nf,
                     const struct oframe *o, size_t no, bool any_line0)
{
    if (nf != no)
        return false;
    for (size_t i = 0; i < nf; i++) {
        if (!frame_eq(&f[i], &o[i], any_line0))
            return false;
    }
    return true;
}

static void show(const char *why, uint64_t va, const struct symtable_frame *f,
                 size_t nf, const struct oframe *o, size_t no)
{
    fprintf(stderr, "  %s at %#" PRIx64 ":\n", why, va);
    for (size_t i = 0; i < nf; i++)
        fprintf(stderr, "    ours  %s %s:%u\n", f[i].function,
                f[i].file ? f[i].file : "??", f[i].line);
    for (size_t i = 0; i < no && i < 16; i++)
        fprintf(stderr, "    llvm  %s %s:%u\n", o[i].name, o[i].file,
                o[i].line);
}

/* Which class the address falls in; true when that class agrees. */
static bool classify(struct symtable_frame *f, size_t nf, struct oframe *o,
                     size_t no, bool linkage, struct tu_agreement *a)
{
    static char names[16][512];

    for (size_t i = 0; linkage && i < no; i++)
        strip_params(o[i].name);
    for (size_t i = 0; linkage && i < nf; i++) {
        snprintf(names[i], sizeof(names[i]), "%s", f[i].function);
        strip_params(names[i]);
        f[i].function = names[i];
    }
    if (nf == 1 && no == 1 && !f[0].file && strcmp(o[0].file, "??") == 0)
        return ++a->nolines;
    a->addrs++;
    a->outer += nf && strcmp(f[nf - 1].function, o[no - 1].name) == 0;
    a->inner += nf && f[0].line == o[0].line &&
                strcmp(f[0].file ? f[0].file : "??", o[0].file) == 0;
    if (chain_eq(f, nf, o, no, false))
        return ++a->chain;
    if (nf > no && chain_eq(f + nf - no, no, o, no, false))
        return ++a->we_deeper;
    if (nf == 0 || (nf == 1 && !f[0].file))
        return ++a->beyond;
    for (size_t i = 0; i < no; i++) {
        if (o[i].line == 0)
            return ++a->line0;
    }
    return false;
}

static bool compare_one(const struct symtable *t, uint64_t va, uint64_t base,
                        struct oframe *o, size_t no, int flags,
                        int *show_left, struct tu_agreement *a)
{
    struct symtable_frame all[16], *f = all;
    size_t nf = symtable_lookup(t, va - base, all, 16, NULL);
    bool ok;

    if (no == 1 && (strcmp(o[0].name, "??") == 0 || !o[0].name[0])) {
        a->unknown++;
        return true;
    }
    a->inlined += nf > 1;
    if ((flags & TU_NO_INLINES) && nf > 1) {
        f = &all[nf - 1];
        nf = 1;
    }
    ok = classify(f, nf, o, no, flags & TU_LINKAGE, a);
    if (!ok && *show_left > 0) {
        (*show_left)--;
        show("disagree", va, f, nf, o, no);
    }
    return ok;
}

void tu_compare(const struct symtable *t, const char *oracle_exe, int flags,
                int show_max, struct tu_agreement *a)
{
    char *dis = tu_run("llvm-objdump-14 -d --no-show-raw-insn -j .text '%s' "
                       "| sed -n 's/^ *\\([0-9a-f]*\\):.*/0x\\1/p' > '%s.addrs'"
                       " && cat '%s.addrs'",
                       oracle_exe, oracle_exe, oracle_exe);
    char *out, *cur, *addr;
    struct objfile_ident id;
    struct objfile_map map;
    struct oframe o[16];
    size_t no;

    ck_assert_ptr_nonnull(dis);
    tu_map(oracle_exe, &map);
    ck_assert_int_eq(pe_identify(&map, &id), 0);
    tu_unmap(&map);
    out = tu_run("llvm-symbolizer-14 --obj='%s' %s %s < '%s.addrs'",
                 oracle_exe,
                 (flags & TU_NO_INLINES) ? "--no-inlines" : "--inlines",
                 (flags & TU_LINKAGE) ? "--functions=linkage --demangle"
                                      : "--functions=short --no-demangle",
                 oracle_exe);
    ck_assert_ptr_nonnull(out);
    memset(a, 0, sizeof(*a));
    cur = out;
    for (addr = strtok(dis, "\n"); addr; addr = strtok(NULL, "\n")) {
        ck_assert(read_block(&cur, o, 16, &no));
        ck_assert_uint_le(no, 16);
        a->agree = xreallocarray(a->agree, a->count + 1, sizeof(bool));
        a->va = xreallocarray(a->va, a->count + 1, sizeof(uint64_t));
        a->va[a->count] = strtoull(addr, NULL, 16);
        a->agree[a->count] = compare_one(t, a->va[a->count], id.image_base,
                                         o, no, flags, &show_max, a);
        a->count++;
    }
    free(out);
    free(dis);
}
