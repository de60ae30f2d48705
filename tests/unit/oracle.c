/* SPDX-License-Identifier: MIT */
/*
 * oracle: see oracle.h.  Moved out of check_elfdw.c when the Mach-O and
 * WASM readers came to be checked the same way.
 */
#include "symsrvd_config.h"

#include "oracle.h"

#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/symtable.h"

char *oracle_fmt(const char *f, ...)
{
    va_list ap;
    char *s;

    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        abort(); /* also used outside tests, where ck_assert cannot oracle_run
                  */
    va_end(ap);
    return s;
}

void oracle_run(const char *cmd)
{
    int st = system(cmd);

    ck_assert_msg(st == 0, "command failed (%d): %s", st, cmd);
}

char *oracle_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Output of CMD (oracle_run by the shell) as a string. */
char *oracle_capture(const char *dir, const char *cmd)
{
    char *out = oracle_fmt("%s/capture.out", dir);
    char *full = oracle_fmt("( %s ) > '%s'", cmd, out);
    char *text;

    oracle_run(full);
    text = oracle_slurp(out, NULL);
    free(full);
    free(out);
    return text;
}

void oracle_chain_push(struct oracle_chain *c, const char *func,
                       const char *file, unsigned line)
{
    if (c->n == ORACLE_MAX_FRAMES)
        return;
    c->f[c->n].func = strdup(func);
    c->f[c->n].file = strdup(file ? file : "??");
    c->f[c->n].line = line;
    c->n++;
}

void oracle_chains_free(struct oracle_chain *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < v[i].n; j++) {
            free(v[i].f[j].func);
            free(v[i].f[j].file);
        }
    }
    free(v);
}

/* "path:line" or "path:line:column" into LOC's file and line. */
void oracle_parse_loc(char *loc, char **file, unsigned *line)
{
    char *last = strrchr(loc, ':'), *prev;

    *file = loc;
    *line = 0;
    if (last == NULL)
        return;
    *last = '\0';
    prev = strrchr(loc, ':');
    if (prev != NULL && prev[1] >= '0' && prev[1] <= '9') {
        *prev = '\0';
        *line = (unsigned)strtoul(prev + 1, NULL, 10);
    } else {
        *line = (unsigned)strtoul(last + 1, NULL, 10);
    }
}

/* Next line of *P (NUL-terminated in place), or NULL at the end. */
char *oracle_next_line(char **p)
{
    char *s = *p, *nl;

    if (*s == '\0')
        return NULL;
    nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* llvm-symbolizer: per address, pairs of lines, then an empty line. */
struct oracle_chain *oracle_parse_llvm(char *text, size_t n)
{
    struct oracle_chain *v = calloc(n, sizeof(*v));
    char *p = text, *l;
    size_t i = 0;

    for (l = oracle_next_line(&p); i < n && l != NULL;
         l = oracle_next_line(&p)) {
        char *loc, *file;
        unsigned line;

        if (*l == '\0') {
            i++;
            continue;
        }
        loc = oracle_next_line(&p);
        ck_assert_ptr_nonnull(loc);
        oracle_parse_loc(loc, &file, &line);
        oracle_chain_push(&v[i], l, file, line);
    }
    ck_assert_uint_eq(i, n);
    return v;
}

struct oracle_chain *oracle_ours(const struct symtable *t,
                                 const uint64_t *addrs, size_t n)
{
    struct oracle_chain *v = calloc(n, sizeof(*v));
    uint64_t base = symtable_image_base(t);

    for (size_t i = 0; i < n; i++) {
        struct symtable_frame f[ORACLE_MAX_FRAMES];
        size_t k =
            symtable_lookup(t, addrs[i] - base, f, ORACLE_MAX_FRAMES, NULL);

        if (k == 0)
            oracle_chain_push(&v[i], "??", "??", 0);
        for (size_t j = 0; j < k; j++)
            oracle_chain_push(&v[i], f[j].function, f[j].file, f[j].line);
    }
    return v;
}

/* Instruction boundaries of .text of BIN, from llvm-objdump (any
 * architecture). */
uint64_t *oracle_text_addresses(const char *dir, const char *section,
                                const char *bin, size_t *n)
{
    char *cmd = oracle_fmt("llvm-objdump-14 -d --no-show-raw-insn -j '%s' '%s'",
                           section, bin);
    char *text = oracle_capture(dir, cmd), *p = text, *l;
    uint64_t *v = NULL;
    size_t cap = 0;

    *n = 0;
    for (l = oracle_next_line(&p); l != NULL; l = oracle_next_line(&p)) {
        char *end;
        uint64_t a;

        while (*l == ' ')
            l++;
        a = strtoull(l, &end, 16);
        if (end == l || end[0] != ':')
            continue;
        end += strspn(end + 1, " ") + 1;
        if (end[0] != '\t')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            v = realloc(v, cap * sizeof(*v));
        }
        v[(*n)++] = a;
    }
    free(text);
    free(cmd);
    ck_assert_uint_gt(*n, 0);
    return v;
}

char *oracle_write_addresses(const char *dir, const uint64_t *a, size_t n)
{
    char *path = oracle_fmt("%s/addrs.txt", dir);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "0x%" PRIx64 "\n", a[i]);
    fclose(f);
    return path;
}

static const char *const class_names[ORACLE_COUNT] = {
    "agree",       "outer-name",         "padding",
    "symtab-file", "llvm-sides-with-us", "UNEXPLAINED"};

static bool frame_eq(const struct oracle_frame *a, const struct oracle_frame *b)
{
    return strcmp(a->func, b->func) == 0 && strcmp(a->file, b->file) == 0 &&
           a->line == b->line;
}

bool oracle_chain_eq(const struct oracle_chain *a, const struct oracle_chain *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (!frame_eq(&a->f[i], &b->f[i]))
            return false;
    }
    return true;
}

static bool chain_has_unnamed(const struct oracle_chain *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->f[i].func, "??") == 0)
            return true;
    }
    return false;
}

enum oracle_class oracle_classify(const struct oracle_chain *o,
                                  const struct oracle_chain *u)
{
    size_t i, diff = 0, at = 0;

    if (oracle_chain_eq(o, u))
        return ORACLE_AGREE;
    if (u->n == 1 && strcmp(u->f[0].func, "??") == 0 &&
        (chain_has_unnamed(o) ||
         (o->n == 1 && strcmp(o->f[0].file, "??") == 0)))
        return ORACLE_PADDING;
    if (o->n != u->n)
        return ORACLE_OTHER;
    for (i = 0; i < o->n; i++) {
        if (!frame_eq(&o->f[i], &u->f[i])) {
            diff++;
            at = i;
        }
    }
    if (diff > 1 || at != o->n - 1)
        return ORACLE_OTHER;
    if (strcmp(o->f[at].file, u->f[at].file) == 0 &&
        o->f[at].line == u->f[at].line)
        return ORACLE_OUTER_NAME;
    if (strcmp(o->f[at].func, u->f[at].func) == 0 &&
        strcmp(o->f[at].file, "??") == 0 && u->f[at].line == 0)
        return ORACLE_SYMTAB_FILE;
    return ORACLE_OTHER;
}

void oracle_print_chain(const char *who, const struct oracle_chain *c)
{
    fprintf(stderr, "    %-5s", who);
    for (size_t i = 0; i < c->n; i++)
        fprintf(stderr, " %s (%s:%u)%s", c->f[i].func, c->f[i].file,
                c->f[i].line, i + 1 < c->n ? " <-" : "");
    fprintf(stderr, "\n");
}

/* Compare ours (U) with an oracle's answers (O) and report; REF, when not
 * NULL, is the other oracle's. */
struct oracle_agreement oracle_compare(const char *label, const char *oracle,
                                       const uint64_t *addrs,
                                       const struct oracle_chain *o,
                                       const struct oracle_chain *u,
                                       const struct oracle_chain *ref, size_t n)
{
    struct oracle_agreement a;
    size_t count[ORACLE_COUNT] = {0};
    size_t shown = 0;

    for (size_t i = 0; i < n; i++) {
        enum oracle_class c = oracle_classify(&o[i], &u[i]);

        if (c == ORACLE_OTHER && ref != NULL && oracle_chain_eq(&ref[i], &u[i]))
            c = ORACLE_LLVM_SIDES_WITH_US;

        count[c]++;
        if (c == ORACLE_OTHER && shown++ < 5) {
            fprintf(stderr, "  %s vs %s at 0x%" PRIx64 ":\n", label, oracle,
                    addrs[i]);
            oracle_print_chain(oracle, &o[i]);
            oracle_print_chain("ours", &u[i]);
        }
    }
    fprintf(stderr,
            "%s vs %s: %zu addresses, %.2f%% agree (%.2f%% by "
            "location)",
            label, oracle, n, 100.0 * (double)count[ORACLE_AGREE] / (double)n,
            100.0 *
                (double)(count[ORACLE_AGREE] + count[ORACLE_OUTER_NAME] +
                         count[ORACLE_SYMTAB_FILE]) /
                (double)n);
    for (int c = 1; c < ORACLE_COUNT; c++)
        fprintf(stderr, ", %s %zu", class_names[c], count[c]);
    fprintf(stderr, "\n");
    a.exact = (double)count[ORACLE_AGREE] / (double)n;
    a.location = (double)(count[ORACLE_AGREE] + count[ORACLE_OUTER_NAME] +
                          count[ORACLE_SYMTAB_FILE]) /
                 (double)n;
    a.padding = (double)count[ORACLE_PADDING] / (double)n;
    a.unexplained = count[ORACLE_OTHER];
    return a;
}

/* Build BIN's table, symbolize every .text instruction of ADDR_BIN with
 * ours and with both oracles (oracle_run on ORACLE_BIN), and check the rates:
 * exact agreement with llvm-symbolizer of at least FLOOR_LLVM (it follows
 * the same naming policy), location agreement with eu-addr2line of at
 * least FLOOR_EU, and at most 0.5% unexplained differences with either. */
struct oracle_chain *oracle_llvm_answers(const char *dir, const char *bin,
                                         const char *afile, size_t n)
{
    char *cmd =
        oracle_fmt("llvm-symbolizer-14 --inlines --no-demangle --obj='%s' "
                   "< '%s'",
                   bin, afile);
    char *text = oracle_capture(dir, cmd);
    struct oracle_chain *v = oracle_parse_llvm(text, n);

    free(text);
    free(cmd);
    return v;
}

void oracle_built_load(struct symtable_builder *b, struct oracle_built *out)
{
    size_t len;

    ck_assert_int_eq(symtable_builder_finish(b, &out->blob, &len), 0);
    ck_assert_int_eq(symtable_load(out->blob, len, &out->t), 0);
}

void oracle_built_free(struct oracle_built *b)
{
    symtable_close(b->t);
    free(b->blob);
}

int oracle_try_bytes(const uint8_t *data, size_t len,
                     oracle_identify_fn *identify, oracle_build_fn *build)
{
    struct objfile_map map = {.data = data, .len = len};
    struct objfile_ident id;
    struct symtable_builder *b = symtable_builder_new();
    int rc = identify(&map, &id);

    if (rc == 0)
        rc = build(&map, b);
    if (rc != 0)
        ck_assert_msg(map.err[0] != '\0', "failure %d without a message", rc);
    symtable_builder_free(b);
    return rc;
}
