/* SPDX-License-Identifier: MIT */
/*
 * symsrvd-stackwalk: walk every thread of a minidump and print the stack
 * traces as Breakpad's minidump_stackwalk prints them (its report, or its
 * pipe-delimited -m form), or as Symbolicator-style JSON.
 *
 * Symbols come from --symbols directories (sym/symdir/symdir.h).  --repeat N
 * walks the dump N times in one process with one provider, so that runs
 * after the first are "warm", and prints the time of each to stderr.
 */
#include "symsrvd_config.h"

#include "minidump/minidump.h"
#include "objfile/objfile.h"
#include "stackwalk/stackwalk.h"
#include "symdir/symdir.h"
#include "xalloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stackwalk_print.h"

struct sw_opts {
    const char *dump;
    const char **dirs;
    size_t ndirs;
    enum sw_format format;
    bool scan;
    size_t max_frames;
    unsigned repeat;
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: symsrvd-stackwalk [-m | --machine | --json] "
            "[-s DIR | --symbols DIR]...\n"
            "         [--no-scan] [--max-frames N] [--repeat N] DUMP\n"
            "       symsrvd-stackwalk --version | -h | --help\n");
}

static bool parse_count(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && *out > 0 && *out <= max;
}

static int parse_opts(int argc, char **argv, struct sw_opts *o)
{
    static const struct option longopts[] = {
        {"symbols", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"machine", no_argument, NULL, 'm'},
        {"no-scan", no_argument, NULL, 'S'},
        {"max-frames", required_argument, NULL, 'n'},
        {"repeat", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    unsigned long v;
    int c;

    while ((c = getopt_long(argc, argv, "ms:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->dirs = xreallocarray(o->dirs, o->ndirs + 1, sizeof(*o->dirs));
            o->dirs[o->ndirs++] = optarg;
            break;
        case 'j':
            o->format = SW_FORMAT_JSON;
            break;
        case 'm':
            o->format = SW_FORMAT_MACHINE;
            break;
        case 'S':
            o->scan = false;
            break;
        case 'n':
        case 'r':
            if (!parse_count(optarg, 1000000, &v)) {
                fprintf(stderr, "symsrvd-stackwalk: bad count %s\n", optarg);
                return -EINVAL;
            }
            if (c == 'n')
                o->max_frames = v;
            else
                o->repeat = (unsigned)v;
            break;
        case 'h':
            usage(stdout);
            exit(EXIT_SUCCESS);
        case 'V':
            printf("symsrvd-stackwalk (%s) %s\n", PACKAGE_NAME,
                   PACKAGE_VERSION);
            exit(EXIT_SUCCESS);
        default:
            return -EINVAL;
        }
    }
    if (optind + 1 != argc)
        return -EINVAL;
    o->dump = argv[optind];
    return 0;
}

/* One walk (and, on the last one, the report). */
static int walk_once(const struct sw_opts *o, const struct minidump *md,
                     struct symdir *sd, bool print)
{
    struct stackwalk_provider p;
    struct stackwalk_options wo = {.max_frames = o->max_frames,
                                   .scan = o->scan};
    struct stackwalk_result *r;
    int rc;

    symdir_provider(sd, &p);
    rc = stackwalk_run(md, &p, &wo, &r);
    if (rc < 0) {
        fprintf(stderr,
                "symsrvd-stackwalk: %s: no supported CPU (no SystemInfo and "
                "no CPU context this reader knows)\n",
                o->dump);
        return rc;
    }
    if (print)
        rc = sw_print(o->format, md, r);
    stackwalk_result_free(r);
    return rc;
}

static int run(const struct sw_opts *o)
{
    struct minidump *md = NULL;
    struct symdir *sd = NULL;
    struct objfile_map map;
    char err[256];
    int rc = objfile_map(o->dump, &map);

    if (rc < 0) {
        fprintf(stderr, "symsrvd-stackwalk: %s\n", map.err);
        return rc;
    }
    rc = minidump_load(map.data, map.len, &md, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "symsrvd-stackwalk: %s: %s\n", o->dump, err);
        goto out;
    }
    /* A damaged dump is walked as far as it goes; say what was lost. */
    for (size_t i = 0; i < minidump_warning_count(md); i++)
        fprintf(stderr, "symsrvd-stackwalk: %s: warning: %s\n", o->dump,
                minidump_warning(md, i));
    sd = symdir_new(o->dirs, o->ndirs);
    for (unsigned i = 0; i < o->repeat && rc == 0; i++) {
        double t0 = now_seconds();

        rc = walk_once(o, md, sd, i + 1 == o->repeat);
        if (o->repeat > 1)
            fprintf(stderr, "walk %u: %.6f s, %zu symbol files read\n", i + 1,
                    now_seconds() - t0, symdir_files_read(sd));
    }
out:
    symdir_free(sd);
    minidump_free(md);
    objfile_unmap(&map);
    return rc;
}

int main(int argc, char **argv)
{
    struct sw_opts o = {.scan = true, .repeat = 1};
    int rc;

    if (parse_opts(argc, argv, &o) < 0) {
        usage(stderr);
        free(o.dirs);
        return 2;
    }
    rc = run(&o);
    free(o.dirs);
    return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
