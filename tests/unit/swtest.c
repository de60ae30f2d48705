/* SPDX-License-Identifier: MIT */
/*
 * swtest: helpers of the stack walker tests; see swtest.h.
 */
#include "symsrvd_config.h"

#include "swtest.h"

#include "symtest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void walk(struct swtest *t, uint8_t *data, size_t len, const char *dir,
                 const struct stackwalk_options *opts,
                 const struct symdir_tables *tables)
{
    struct stackwalk_provider p;
    char err[256];

    *t = (struct swtest){.data = data, .len = len};
    ck_assert_int_eq(minidump_load(data, len, &t->md, err, sizeof(err)), 0);
    t->sd = symdir_new(&dir, dir ? 1 : 0);
    if (tables != NULL)
        symdir_set_tables(t->sd, tables);
    symdir_provider(t->sd, &p);
    ck_assert_int_eq(stackwalk_run(t->md, &p, opts, &t->r), 0);
}

void swtest_walk_mem(struct swtest *t, uint8_t *data, size_t len,
                     const char *dir, const struct stackwalk_options *opts)
{
    walk(t, data, len, dir, opts, NULL);
}

/* The bytes of the test data file REL (*LEN of them). */
static uint8_t *slurp(const char *rel, size_t *lenp)
{
    char *path = symtest_data(rel);
    FILE *fp = fopen(path, "rb");
    uint8_t *data;
    long len;

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    ck_assert_int_gt(len, 0);
    rewind(fp);
    data = malloc((size_t)len);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(fread(data, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    free(path);
    *lenp = (size_t)len;
    return data;
}

void swtest_walk(struct swtest *t, const char *rel, const char *dir)
{
    size_t len;
    uint8_t *data = slurp(rel, &len);

    walk(t, data, len, dir, NULL, NULL);
}

void swtest_walk_tables(struct swtest *t, const char *rel, const char *dir,
                        const struct symdir_tables *tables)
{
    size_t len;
    uint8_t *data = slurp(rel, &len);

    walk(t, data, len, dir, NULL, tables);
}

void swtest_free(struct swtest *t)
{
    stackwalk_result_free(t->r);
    symdir_free(t->sd);
    minidump_free(t->md);
    free(t->data);
}

void swtest_place(const char *dir, const char *path, const char *rel)
{
    char full[4096], *src = symtest_data(rel);

    snprintf(full, sizeof(full), "%s/%s", dir, path);
    for (char *p = full + strlen(dir) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(full, 0755);
            *p = '/';
        }
    }
    ck_assert_msg(symlink(src, full) == 0, "symlink %s", full);
    free(src);
}

const struct stackwalk_thread *swtest_crashed(const struct swtest *t)
{
    long i = stackwalk_requesting_thread(t->r);
    const struct stackwalk_thread *th;

    ck_assert_int_ge(i, 0);
    th = stackwalk_thread(t->r, (size_t)i);
    ck_assert(th->crashed);
    return th;
}

const struct stackwalk_frame *swtest_phys(const struct stackwalk_thread *t,
                                          size_t k)
{
    for (size_t i = 0; i < t->nframes; i++) {
        if (t->frames[i].trust == STACKWALK_TRUST_INLINE)
            continue;
        if (k-- == 0)
            return &t->frames[i];
    }
    return NULL;
}

size_t swtest_phys_count(const struct stackwalk_thread *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->nframes; i++)
        n += t->frames[i].trust != STACKWALK_TRUST_INLINE;
    return n;
}

const char *swtest_module(const struct stackwalk_frame *f)
{
    const char *p, *s;

    if (f->module == NULL)
        return "";
    p = f->module->code_file;
    s = strrchr(p, '/');
    if (strrchr(p, '\\') > s)
        s = strrchr(p, '\\');
    return s ? s + 1 : p;
}
