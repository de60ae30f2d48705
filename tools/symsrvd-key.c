/* SPDX-License-Identifier: MIT */
/*
 * symsrvd-key: print the store paths under which symsrvd (and any
 * symstore or debuginfod server) keeps a symbol file, so that an admin
 * can place, publish or look up a file without working out its key by
 * hand.  The identity comes from the file's content (objfile_identify),
 * never from its name (objkeys.h lists the paths).
 *
 * A file that has no key is reported on stderr and the others are still
 * printed; the exit status says whether every file had one.
 */
#include "symsrvd_config.h"

#include "objfile/objfile.h"
#include "objfile/objkeys.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int key_file(const char *path, bool with_name)
{
    struct key_out o = {.path = path, .with_name = with_name};
    struct objfile_map map;
    struct objfile_ident id;
    struct objkeys keys;
    int rc = objfile_map(path, &map);

    if (rc == 0)
        rc = objfile_identify(&map, &id);
    if (rc == 0)
        rc = objkeys_list(&map, &id, &keys);
    if (rc < 0)
        fprintf(stderr, "symsrvd-key: %s\n", map.err);
    for (size_t i = 0; rc == 0 && i < keys.n; i++)
        emit(&o, "%s", keys.key[i]);
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
