/* SPDX-License-Identifier: MIT */
/*
 * symsrvd-key: print the store paths under which symsrvd (and any
 * symstore or debuginfod server) keeps a symbol file, so that an admin
 * can place, publish or look up a file without working out its key by
 * hand.  The identity comes from the file's content (objfile_identify),
 * never from its name, except for the names a key repeats:
 *
 *   PDB       name.pdb/<GUID><AGE>/name.pdb
 *   PE        name.dll/<TIMESTAMP><SIZEOFIMAGE>/name.dll
 *   Breakpad  <debug_file>/<DEBUGID>/<debug_file less ".pdb">.sym
 *   ELF       buildid/<id>/debuginfo and/or buildid/<id>/executable (as
 *             debuginfod serves it), then the symstore (SSQP) twins
 *             _.debug/elf-buildid-sym-<id>/_.debug and
 *             name/elf-buildid-<id>/name
 *
 * A file that has no key is reported on stderr and the others are still
 * printed; the exit status says whether every file had one.
 */
#include "symsrvd_config.h"

#include "elf/elfdw.h"
#include "objfile/objfile.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_names { KEY_NAMES_AUTO, KEY_NAMES_ALWAYS, KEY_NAMES_NEVER };

struct key_out {
    const char *path;  /* the FILE operand */
    bool with_name;    /* prefix each line with "PATH: " */
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: symsrvd-key [-H | --with-filename | --no-filename] "
                "FILE...\n"
                "       symsrvd-key --version | -h | --help\n");
}

static void emit(const struct key_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void emit(const struct key_out *o, const char *fmt, ...)
{
    va_list ap;

    if (o->with_name)
        printf("%s: ", o->path);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* A name a key repeats must be one path component the daemon accepts. */
static bool component_ok(const char *s)
{
    return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
           strpbrk(s, "/\\") == NULL;
}

static int fail(const struct key_out *o, const char *why, const char *what)
{
    fprintf(stderr, "symsrvd-key: %s: %s%s\n", o->path, why, what);
    return -1;
}

/* Breakpad's store names the .sym after the module, less only ".pdb"
 * (Mozilla: xul.pdb/ID/xul.sym, libxul.so/ID/libxul.so.sym). */
static int breakpad_key(const struct key_out *o, const struct objfile_ident *id)
{
    char stem[sizeof(id->debug_file)];
    size_t n = strlen(id->debug_file);

    snprintf(stem, sizeof(stem), "%s", id->debug_file);
    if (n > 4 && strcasecmp(stem + n - 4, ".pdb") == 0)
        stem[n - 4] = '\0';
    emit(o, "%s/%s/%s.sym", id->debug_file, id->debug_id, stem);
    return 0;
}

static int elf_keys(const struct key_out *o, struct objfile_map *map,
                    const struct objfile_ident *id)
{
    const char *bid = id->code_id;
    bool exe, dbg;

    if (bid[0] == '\0')
        return fail(o, "no GNU build id (link with -Wl,--build-id)", "");
    if (elfdw_artifacts(map, &exe, &dbg) != 0) {
        fprintf(stderr, "symsrvd-key: %s\n", map->err);
        return -1;
    }
    if (!exe && !dbg)
        return fail(o, "neither loadable code nor debug sections", "");
    if (dbg)
        emit(o, "buildid/%s/debuginfo", bid);
    if (exe)
        emit(o, "buildid/%s/executable", bid);
    if (dbg)
        emit(o, "_.debug/elf-buildid-sym-%s/_.debug", bid);
    if (exe && component_ok(id->code_file))
        emit(o, "%s/elf-buildid-%s/%s", id->code_file, bid, id->code_file);
    return 0;
}

static int print_keys(const struct key_out *o, struct objfile_map *map,
                      const struct objfile_ident *id)
{
    switch (id->kind) {
    case OBJFILE_PDB:
    case OBJFILE_BREAKPAD:
        if (!component_ok(id->debug_file))
            return fail(o, "debug file name is not a file name: ",
                        id->debug_file);
        if (id->kind == OBJFILE_BREAKPAD)
            return breakpad_key(o, id);
        emit(o, "%s/%s/%s", id->debug_file, id->debug_id, id->debug_file);
        return 0;
    case OBJFILE_PE:
        if (!component_ok(id->code_file))
            return fail(o, "not a file name", "");
        emit(o, "%s/%s/%s", id->code_file, id->code_id, id->code_file);
        return 0;
    case OBJFILE_ELF:
        return elf_keys(o, map, id);
    default:
        return fail(o, "no store key for a ", objfile_kind_name(id->kind));
    }
}

static int key_file(const char *path, bool with_name)
{
    struct key_out o = {.path = path, .with_name = with_name};
    struct objfile_map map;
    struct objfile_ident id;
    int rc = objfile_map(path, &map);

    if (rc == 0)
        rc = objfile_identify(&map, &id);
    if (rc < 0)
        fprintf(stderr, "symsrvd-key: %s\n", map.err);
    else
        rc = print_keys(&o, &map, &id);
    objfile_unmap(&map);
    return rc;
}

static int parse_opts(int argc, char **argv, enum key_names *names)
{
    static const struct option longopts[] = {
        {"with-filename", no_argument, NULL, 'H'},
        {"no-filename", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "Hh", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            *names = KEY_NAMES_ALWAYS;
            break;
        case 'N':
            *names = KEY_NAMES_NEVER;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_SUCCESS);
        case 'V':
            printf("symsrvd-key (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            exit(EXIT_SUCCESS);
        default:
            return -1;
        }
    }
    return optind < argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    enum key_names names = KEY_NAMES_AUTO;
    bool with_name, ok = true;

    if (parse_opts(argc, argv, &names) < 0) {
        usage(stderr);
        return 2;
    }
    with_name = names == KEY_NAMES_ALWAYS ||
                (names == KEY_NAMES_AUTO && argc - optind > 1);
    for (int i = optind; i < argc; i++)
        if (key_file(argv[i], with_name) < 0)
            ok = false;
    if (fflush(stdout) != 0) {
        perror("symsrvd-key: stdout");
        ok = false;
    }
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
