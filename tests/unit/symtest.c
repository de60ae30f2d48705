/* SPDX-License-Identifier: MIT */
/*
 * symtest: helpers shared by the symbol-table tests; see symtest.h.
 */
#include "symsrvd_config.h"

#include "symtest.h"

#include "objfile/objfile.h"
#include "table/symtable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *symtest_data(const char *rel)
{
    const char *top = getenv("abs_top_srcdir");
    char *p;

    if (asprintf(&p, "%s/tests/data/%s", top ? top : "..", rel) < 0)
        abort();
    return p;
}

const char *symtest_tool(void)
{
    static char path[4096];
    const char *top = getenv("abs_top_builddir");

    snprintf(path, sizeof(path), "%s/tools/symsrvd-symbolize", top ? top : "..");
    return path;
}

void symtest_tmpdir(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "/tmp/%s.XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

void symtest_rmdir(const char *dir)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

int symtest_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void symtest_funcs_push(struct symtest_funcs *f, uint64_t a, bool first,
                               bool folded)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4096;
        f->addr = realloc(f->addr, f->cap * sizeof(*f->addr));
        f->first = realloc(f->first, f->cap * sizeof(*f->first));
        f->folded = realloc(f->folded, f->cap * sizeof(*f->folded));
        ck_assert(f->addr && f->first && f->folded);
    }
    f->addr[f->n] = a;
    f->first[f->n] = first;
    f->folded[f->n++] = folded;
}

void symtest_funcs_read(const char *rel, struct symtest_funcs *f)
{
    char *sym = symtest_data(rel);
    FILE *fp = fopen(sym, "r");
    char line[4096];

    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof(line), fp)) {
        unsigned long long a, s;
        bool m = strncmp(line, "FUNC m ", 7) == 0;

        if (strncmp(line, "FUNC ", 5) != 0)
            continue;
        ck_assert_int_eq(sscanf(line + (m ? 7 : 5), "%llx %llx", &a, &s), 2);
        for (unsigned long long x = a; x < a + s; x++)
            symtest_funcs_push(f, x, x == a, m);
    }
    fclose(fp);
    free(sym);
}

void symtest_funcs_free(struct symtest_funcs *f)
{
    free(f->addr);
    free(f->first);
    free(f->folded);
}

struct symtable *symtest_table(const char *rel, void **blob)
{
    char *path = symtest_data(rel);
    struct objfile_map map;
    struct symtable_builder *b = symtable_builder_new();
    struct symtable *t = NULL;
    size_t len;

    ck_assert_int_eq(objfile_map(path, &map), 0);
    ck_assert_msg(objfile_build(&map, b) == 0, "%s", map.err);
    ck_assert_int_eq(symtable_builder_finish(b, blob, &len), 0);
    ck_assert_int_eq(symtable_load(*blob, len, &t), 0);
    symtable_builder_free(b);
    objfile_unmap(&map);
    free(path);
    return t;
}
