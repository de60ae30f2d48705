/* SPDX-License-Identifier: MIT */
/*
 * symsrvd-symbolize: turn addresses into function, file and line using
 * any symbol file the library reads (PDB, PE, ELF, Breakpad, or a saved
 * symtable), printing exactly what llvm-symbolizer prints so the two can
 * be diffed line by line, or Symbolicator-style JSON frames.
 *
 * The file is read once into a symtable; every address is then one
 * lookup in it.  --bench times those two steps separately.
 */
#include "symsrvd_config.h"
#include "fileio.h"

#include "macho/macho.h"
#include "objfile/objfile.h"
#include "table/symtable.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demangle/demangle.h"

#define SYMBOLIZE_MAX_FRAMES 256

struct symbolize_opts {
    const char *obj;
    char *obj_own; /* the DWARF file of a dSYM bundle given as --obj */
    const char *arch; /* --default-arch: a universal file's slice */
    const char *save;
    bool inlines, relative, json, demangle, gnu, ident, bench;
};

struct symbolize {
    struct symbolize_opts o;
    struct symtable *t;
    void *blob; /* owned when the table was built here */
    double build_seconds;
};

struct addr_list {
    uint64_t *v;
    size_t n, cap;
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int save_blob(const char *path, const void *blob, size_t len)
{
    FILE *fp = fopen(path, "wb");
    int rc = 0;

    if (fp == NULL)
        return -errno;
    if (fwrite(blob, 1, len, fp) != len)
        rc = -EIO;
    if (fclose(fp) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* ONLY's addresses made relative to BASE (those below it dropped). */
static uint64_t *only_rvas(const struct symbolize *s,
                           const struct addr_list *only, uint64_t base,
                           size_t *n)
{
    uint64_t *rvas = xreallocarray(NULL, only->n ? only->n : 1, sizeof(*rvas));

    if (s->o.relative)
        base = 0;
    *n = 0;
    for (size_t i = 0; i < only->n; i++)
        if (only->v[i] >= base)
            rvas[(*n)++] = only->v[i] - base;
    return rvas;
}

/* The identity of MAP; of a universal Mach-O file, the slice ARCH names
 * (an architecture or a UUID). */
static int tool_identify(const char *arch, struct objfile_map *map,
                         struct objfile_ident *id)
{
    if (arch != NULL && objfile_detect(map) == OBJFILE_MACHO)
        return macho_identify_slice(map, arch, id);
    return objfile_identify(map, id);
}

/* Read MAP with its reader into a new table in S: the whole file, or when
 * ONLY is not NULL just what answers its addresses (the cold path). */
static int build_table(struct symbolize *s, struct objfile_map *map,
                       const struct addr_list *only)
{
    struct objfile_ident id;
    struct symtable_builder *b = symtable_builder_new();
    size_t len = 0;
    int rc = tool_identify(s->o.arch, map, &id);
    bool slice = s->o.arch != NULL && id.kind == OBJFILE_MACHO;

    if (rc == 0) {
        symtable_builder_set_image_base(b, id.image_base);
        if (only != NULL) {
            size_t n;
            uint64_t *rvas = only_rvas(s, only, id.image_base, &n);

            rc = slice ? macho_build_slice(map, s->o.arch, b, rvas, n)
                       : objfile_build_for(map, b, rvas, n);
            free(rvas);
        } else {
            rc = slice ? macho_build_slice(map, s->o.arch, b, NULL, 0)
                       : objfile_build(map, b);
        }
    }
    if (rc < 0) {
        fprintf(stderr, "symsrvd-symbolize: %s\n", map->err);
        goto out;
    }
    rc = symtable_builder_finish(b, &s->blob, &len);
    if (rc == 0)
        rc = symtable_load(s->blob, len, &s->t);
    if (rc == 0 && s->o.save)
        rc = save_blob(s->o.save, s->blob, len);
    if (rc < 0)
        fprintf(stderr, "symsrvd-symbolize: %s: %s\n", map->path,
                strerror(-rc));
out:
    symtable_builder_free(b);
    return rc;
}

/* --obj may be a saved symtable (then no reader runs) or a symbol file,
 * read whole or, when ONLY is not NULL, for its addresses only. */
static int open_table(struct symbolize *s, const struct addr_list *only)
{
    struct objfile_map map;
    double t0 = now_seconds();
    int rc = objfile_map(s->o.obj, &map);

    if (rc < 0) {
        fprintf(stderr, "symsrvd-symbolize: %s\n", map.err);
        return rc;
    }
    if (symtable_has_magic(map.data, map.len)) {
        objfile_unmap(&map);
        rc = symtable_open(s->o.obj, &s->t);
        if (rc < 0)
            fprintf(stderr, "symsrvd-symbolize: %s: invalid symtable: %s\n",
                    s->o.obj, strerror(-rc));
    } else {
        rc = build_table(s, &map, only);
        objfile_unmap(&map);
    }
    s->build_seconds = now_seconds() - t0;
    return rc;
}

static int print_ident(const char *path, const char *arch)
{
    struct objfile_map map;
    struct objfile_ident id;
    int rc = objfile_map(path, &map);

    if (rc == 0)
        rc = tool_identify(arch, &map, &id);
    if (rc < 0) {
        fprintf(stderr, "symsrvd-symbolize: %s\n", map.err);
    } else {
        printf("kind %s\narch %s\ndebug_id %s\ncode_id %s\n"
               "debug_file %s\ncode_file %s\nimage_base 0x%llx\n",
               objfile_kind_name(id.kind), id.arch, id.debug_id, id.code_id,
               id.debug_file, id.code_file, (unsigned long long)id.image_base);
    }
    objfile_unmap(&map);
    return rc;
}

/* --- one address ---------------------------------------------------- */

/* llvm-symbolizer's syntax: 0x hex, 0 octal, else decimal, whole token. */
static bool parse_addr(const char *s, uint64_t *out)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoull(s, &end, 0);
    while (*end == ' ' || *end == '\t' || *end == '\r')
        end++;
    return errno == 0 && *end == '\0';
}

/* NAME for printing: demangled when asked and possible (new string in
 * *OWNED, freed by the caller), else as recorded. */
static const char *display_name(const struct symbolize *s, const char *name,
                                enum symtable_lang lang, char **owned)
{
    *owned = NULL;
    if (s->o.demangle)
        *owned = demangle_name(name, lang);
    return *owned ? *owned : name;
}

/* FILE:LINE[:0] with stdio's unlocked calls: printf's format parsing was
 * the largest cost of a run once lookups took tens of nanoseconds. */
static void print_location(const struct symbolize *s, const char *file,
                           uint32_t line)
{
    char num[16], *p = num + sizeof(num);

    *--p = '\0';
    do {
        *--p = (char)('0' + line % 10);
        line /= 10;
    } while (line > 0);
    fputs_unlocked(file ? file : "??", stdout);
    putchar_unlocked(':');
    fputs_unlocked(p, stdout);
    fputs_unlocked(s->o.gnu ? "\n" : ":0\n", stdout);
}

/* The frames to print: the whole chain with --inlines, else one frame
 * at the innermost location, named as llvm-symbolizer-14 --no-inlines
 * names it: the outer function, or in GNU style the innermost one (as
 * addr2line without -i does). */
static size_t shown_frames(const struct symbolize *s, struct symtable_frame *f,
                           size_t n)
{
    if (n > 1 && !s->o.inlines && s->o.gnu)
        return 1;
    if (n > 1 && !s->o.inlines) {
        f[n - 1].file = f[0].file;
        f[n - 1].line = f[0].line;
        f[0] = f[n - 1];
        f[0].inlined = false;
        return 1;
    }
    return n;
}

static void print_plain(const struct symbolize *s,
                        const struct symtable_frame *f, size_t n)
{
    char *owned;

    if (n == 0) {
        fputs_unlocked("??\n", stdout);
        print_location(s, NULL, 0);
    }
    for (size_t i = 0; i < n; i++) {
        fputs_unlocked(display_name(s, f[i].function, f[i].lang, &owned),
                       stdout);
        putchar_unlocked('\n');
        free(owned);
        print_location(s, f[i].file, f[i].line);
    }
    if (!s->o.gnu)
        putchar_unlocked('\n');
}

static json_t *hex_json(uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
    return json_string(buf);
}

static json_t *json_frame(const struct symbolize *s,
                          const struct symtable_frame *f, uint64_t addr,
                          uint64_t base)
{
    json_t *o = json_object();
    char *owned;
    const char *lang = symtable_lang_name(f->lang);

    json_object_set_new(o, "instruction_addr", hex_json(addr));
    json_object_set_new(
        o, "function",
        json_string(display_name(s, f->function, f->lang, &owned)));
    free(owned);
    json_object_set_new(o, "symbol", json_string(f->function));
    json_object_set_new(o, "sym_addr", hex_json(f->sym_rva + base));
    if (f->file) {
        json_object_set_new(o, "filename", json_string(path_base(f->file)));
        json_object_set_new(o, "abs_path", json_string(f->file));
    }
    if (f->line)
        json_object_set_new(o, "lineno", json_integer(f->line));
    if (lang)
        json_object_set_new(o, "lang", json_string(lang));
    return o;
}

static void print_json(const struct symbolize *s,
                       const struct symtable_frame *f, size_t n, uint64_t addr,
                       uint64_t base)
{
    json_t *o = json_object();
    json_t *frames = json_array();
    char *text;

    json_object_set_new(o, "address", hex_json(addr));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(frames, json_frame(s, &f[i], addr, base));
    json_object_set_new(o, "frames", frames);
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(o);
}

static void symbolize_one(const struct symbolize *s, const char *arg)
{
    struct symtable_frame f[SYMBOLIZE_MAX_FRAMES];
    uint64_t addr, rva, base = s->o.relative ? 0 : symtable_image_base(s->t);
    size_t n = 0;

    if (!parse_addr(arg, &addr)) {
        printf("%s\n", arg); /* llvm-symbolizer echoes what it can't read */
        return;
    }
    rva = addr - base;
    if (addr >= base)
        n = symtable_lookup(s->t, rva, f, SYMBOLIZE_MAX_FRAMES, NULL);
    n = shown_frames(s, f, n);
    if (s->o.json)
        print_json(s, f, n, addr, base);
    else
        print_plain(s, f, n);
}

/* --- address sources and the benchmark ------------------------------ */

static void addr_list_add(struct addr_list *l, const char *arg)
{
    uint64_t a;

    if (!parse_addr(arg, &a))
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = a;
}

/* Lookups only, repeated over the addresses for at least a second. */
static void bench_run(const struct symbolize *s, const struct addr_list *l)
{
    struct symtable_frame f[SYMBOLIZE_MAX_FRAMES];
    uint64_t base = s->o.relative ? 0 : symtable_image_base(s->t);
    size_t lookups = 0, found = 0;
    double t0 = now_seconds(), dt;

    do {
        for (size_t i = 0; i < l->n; i++)
            found += symtable_lookup(s->t, l->v[i] - base, f,
                                     SYMBOLIZE_MAX_FRAMES, NULL) > 0;
        lookups += l->n;
        dt = now_seconds() - t0;
    } while (l->n > 0 && dt < 1.0);
    printf("build_seconds %.6f\naddresses %zu\nlookups %zu\nfound %zu\n"
           "lookup_seconds %.6f\nlookups_per_second %.0f\n",
           s->build_seconds, l->n, lookups, found, dt,
           dt > 0 ? (double)lookups / dt : 0.0);
}

/* Lines of standard input, read with read(2) so that we know when the
 * next line would block: only then is stdout flushed.  A program talking
 * to us through pipes gets each answer before it must send the next
 * address, and a file of addresses is not written one syscall a line. */
struct line_reader {
    char *buf;
    size_t pos, len, cap; /* unread bytes are buf[pos, len) */
    bool eof;
};

/* The next line (NUL-terminated, without its newline) or NULL at EOF. */
static char *next_line(struct line_reader *r)
{
    for (;;) {
        char *line = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        char *nl = avail ? memchr(line, '\n', avail) : NULL;
        ssize_t n;

        if (nl != NULL || (r->eof && avail > 0)) {
            size_t len = nl ? (size_t)(nl - line) : avail;

            line[len] = '\0';
            r->pos += nl ? len + 1 : len;
            return line;
        }
        if (r->eof)
            return NULL;
        if (avail > 0 && r->pos > 0)
            memmove(r->buf, line, avail); /* keep the partial line */
        r->pos = 0;
        r->len = avail;
        if (r->len + 4096 + 1 > r->cap) {
            r->cap *= 2;
            r->buf = xreallocarray(r->buf, r->cap, 1);
        }
        fflush(stdout);
        n = read(STDIN_FILENO, r->buf + r->len, r->cap - r->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r->eof = true;
        else
            r->len += (size_t)n;
    }
}

static void run_stdin(const struct symbolize *s, struct addr_list *bench)
{
    struct line_reader r = {.cap = 65536};
    char *line;

    r.buf = xmalloc(r.cap);
    while ((line = next_line(&r)) != NULL) {
        size_t len = strlen(line);

        if (len > 0 && line[len - 1] == '\r')
            line[len - 1] = '\0';
        if (bench)
            addr_list_add(bench, line);
        else
            symbolize_one(s, line);
    }
    fflush(stdout);
    free(r.buf);
}

/* --- command line --------------------------------------------------- */

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: symsrvd-symbolize [--inlines | --no-inlines] [--relative]\n"
            "         [--json]"
            " [--demangle | --no-demangle] [--output-style=LLVM|GNU]\n"
            "         [--save-table=OUT] [--bench] [--default-arch=ARCH]\n"
            "         --obj=FILE [ADDR...]\n"
            "       symsrvd-symbolize --ident [--default-arch=ARCH]"
            " --obj=FILE\n"
            "       symsrvd-symbolize --version | -h | --help\n");
}

enum {
    OPT_NO_INLINES = 256,
    OPT_RELATIVE,
    OPT_JSON,
    OPT_NO_DEMANGLE,
    OPT_STYLE,
    OPT_IDENT,
    OPT_SAVE,
    OPT_BENCH,
    OPT_ARCH
};

static int parse_opts(int argc, char **argv, struct symbolize_opts *o)
{
    static const struct option longopts[] = {
        {"obj", required_argument, NULL, 'e'},
        {"inlines", no_argument, NULL, 'i'},
        {"no-inlines", no_argument, NULL, OPT_NO_INLINES},
        {"relative", no_argument, NULL, OPT_RELATIVE},
        {"json", no_argument, NULL, OPT_JSON},
        {"demangle", no_argument, NULL, 'C'},
        {"no-demangle", no_argument, NULL, OPT_NO_DEMANGLE},
        {"output-style", required_argument, NULL, OPT_STYLE},
        {"ident", no_argument, NULL, OPT_IDENT},
        {"save-table", required_argument, NULL, OPT_SAVE},
        {"bench", no_argument, NULL, OPT_BENCH},
        {"default-arch", required_argument, NULL, OPT_ARCH},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    o->demangle = true;
    while ((c = getopt_long(argc, argv, "e:iCh", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            o->obj = optarg;
            break;
        case 'i':
            o->inlines = true;
            break;
        case OPT_NO_INLINES:
            o->inlines = false;
            break;
        case OPT_RELATIVE:
            o->relative = true;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case 'C':
            o->demangle = true;
            break;
        case OPT_NO_DEMANGLE:
            o->demangle = false;
            break;
        case OPT_STYLE:
            if (strcasecmp(optarg, "GNU") != 0 &&
                strcasecmp(optarg, "LLVM") != 0) {
                fprintf(stderr, "symsrvd-symbolize: unknown style %s\n",
                        optarg);
                return -EINVAL;
            }
            o->gnu = strcasecmp(optarg, "GNU") == 0;
            break;
        case OPT_IDENT:
            o->ident = true;
            break;
        case OPT_SAVE:
            o->save = optarg;
            break;
        case OPT_BENCH:
            o->bench = true;
            break;
        case OPT_ARCH:
            o->arch = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_SUCCESS);
        case 'V':
            printf("symsrvd-symbolize (%s) %s\n", PACKAGE_NAME,
                   PACKAGE_VERSION);
            exit(EXIT_SUCCESS);
        default:
            return -EINVAL;
        }
    }
    if (o->obj == NULL)
        return -EINVAL;
    /* A dSYM bundle stands for the DWARF file inside it. */
    if (macho_dsym_file(o->obj, &o->obj_own) == 0)
        o->obj = o->obj_own;
    return 0;
}

int main(int argc, char **argv)
{
    struct symbolize s = {0};
    struct addr_list bench = {0};
    int rc;

    if (parse_opts(argc, argv, &s.o) < 0) {
        usage(stderr);
        return 2;
    }
    if (s.o.ident) {
        rc = print_ident(s.o.obj, s.o.arch);
        free(s.o.obj_own);
        return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
    }
    /* Addresses on the command line are all there will be: read only the
     * parts of the file they need.  A saved table must be complete. */
    for (int i = optind; i < argc; i++)
        addr_list_add(&bench, argv[i]);
    rc = open_table(&s, optind < argc && !s.o.bench && s.o.save == NULL
                            ? &bench
                            : NULL);
    if (rc < 0) {
        free(s.o.obj_own);
        return EXIT_FAILURE;
    }
    for (int i = optind; i < argc && !s.o.bench; i++)
        symbolize_one(&s, argv[i]);
    if (optind == argc)
        run_stdin(&s, s.o.bench ? &bench : NULL);
    if (s.o.bench)
        bench_run(&s, &bench);
    free(bench.v);
    free(s.o.obj_own);
    symtable_close(s.t);
    free(s.blob);
    return EXIT_SUCCESS;
}
