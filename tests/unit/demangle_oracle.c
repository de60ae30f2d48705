/* SPDX-License-Identifier: MIT */
/*
 * demangle_oracle: runs reference demanglers for the demangle tests.  The
 * tool runs once per list (not once per name) through posix_spawnp, its
 * stdin the list file and its stdout a pipe; stderr, where llvm-undname
 * reports rejected names, goes to /dev/null.
 */
#include "symsrvd_config.h"
#include "demangle_oracle.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xalloc.h"

extern char **environ;

void oracle_list_free(struct oracle_list *l)
{
    size_t i;

    for (i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static void oracle_list_push(struct oracle_list *l, char *s)
{
    l->items = xreallocarray(l->items, l->count + 1, sizeof(*l->items));
    l->items[l->count++] = s;
}

char *oracle_data_path(const char *file)
{
    const char *top = getenv("abs_top_srcdir");

    if (top == NULL)
        top = "..";
    return xasprintf("%s/tests/data/demangle/%s", top, file);
}

/* Split TEXT (LEN bytes) at '\n' into OUT, keeping empty lines. */
static void oracle_split(const char *text, size_t len, struct oracle_list *out)
{
    size_t start = 0, i;

    for (i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        oracle_list_push(out, xstrndup(text + start, i - start));
        start = i + 1;
    }
    if (start < len)
        oracle_list_push(out, xstrndup(text + start, len - start));
}

static int oracle_slurp(int fd, char **buf, size_t *len)
{
    size_t cap = 65536;
    ssize_t n;

    *buf = xmalloc(cap);
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap *= 2;
            *buf = xreallocarray(*buf, cap, 1);
        }
        n = read(fd, *buf + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        *len += (size_t)n;
    }
}

int oracle_read_names(const char *path, struct oracle_list *out)
{
    struct oracle_list lines = {NULL, 0};
    char *buf = NULL;
    size_t len, i;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -errno;
    rc = oracle_slurp(fd, &buf, &len);
    close(fd);
    if (rc == 0)
        oracle_split(buf, len, &lines);
    free(buf);
    for (i = 0; i < lines.count; i++) {
        if (lines.items[i][0] != '\0') {
            oracle_list_push(out, lines.items[i]);
            lines.items[i] = NULL;
        }
    }
    oracle_list_free(&lines);
    return rc;
}

int oracle_write_names(const char *path, const struct oracle_list *names)
{
    FILE *f = fopen(path, "w");
    size_t i;
    int rc = 0;

    if (f == NULL)
        return -errno;
    for (i = 0; i < names->count; i++)
        if (fprintf(f, "%s\n", names->items[i]) < 0)
            rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

bool oracle_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* posix_spawnp() wants non-const strings: give it copies. */
static int oracle_spawnp(pid_t *pid, const char *const argv[],
                         const posix_spawn_file_actions_t *fa)
{
    size_t n = 0, i;
    char **copy;
    int rc;

    while (argv[n] != NULL)
        n++;
    copy = xcalloc(n + 1, sizeof(*copy));
    for (i = 0; i < n; i++)
        copy[i] = xstrdup(argv[i]);
    rc = posix_spawnp(pid, copy[0], fa, NULL, copy, environ);
    for (i = 0; i < n; i++)
        free(copy[i]);
    free(copy);
    return rc;
}

/* Run ARGV with stdin from INPUT; its whole stdout into *BUF and *LEN,
 * its exit status into *EXIT (-1 when it did not exit normally). */
static int oracle_spawn(const char *const argv[], const char *input, char **buf,
                        size_t *len, int *exit)
{
    posix_spawn_file_actions_t fa;
    int fds[2], status = 0, rc;
    pid_t pid;

    *buf = NULL;
    if (pipe(fds) != 0)
        return -errno;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    rc = oracle_spawnp(&pid, argv, &fa);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -rc;
    }
    rc = oracle_slurp(fds[0], buf, len);
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    *exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return rc;
}

/* llvm-undname-14 prints, per name: the name, then the result line unless
 * it rejected the name, then an empty line. */
static int oracle_parse_undname(const struct oracle_list *lines,
                                const struct oracle_list *names,
                                struct oracle_list *out)
{
    size_t i = 0, k;

    for (k = 0; k < names->count; k++) {
        if (i + 1 >= lines->count || strcmp(lines->items[i], names->items[k]))
            return -EPROTO;
        i++;
        if (lines->items[i][0] == '\0') {
            oracle_list_push(out, NULL);
            i++;
            continue;
        }
        oracle_list_push(out, xstrdup(lines->items[i]));
        i += 2;
    }
    return 0;
}

static int oracle_parse_lines(const struct oracle_list *lines,
                              const struct oracle_list *names,
                              struct oracle_list *out)
{
    size_t k;

    if (lines->count != names->count)
        return -EPROTO;
    for (k = 0; k < names->count; k++) {
        const char *s = lines->items[k];

        oracle_list_push(out, strcmp(s, names->items[k]) ? xstrdup(s) : NULL);
    }
    return 0;
}

int oracle_output(const char *const argv[], const char *input,
                  struct oracle_list *lines)
{
    char *buf;
    size_t len = 0;
    int status = -1;
    int rc = oracle_spawn(argv, input, &buf, &len, &status);

    if (rc == 0 && status != 0 && status != 1)
        rc = -EIO; /* llvm-undname exits 1 when it rejected a name */
    if (rc == 0)
        oracle_split(buf, len, lines);
    free(buf);
    return rc;
}

int oracle_exec(const char *const argv[])
{
    char *buf;
    size_t len = 0;
    int status = -1;
    int rc = oracle_spawn(argv, "/dev/null", &buf, &len, &status);

    free(buf);
    if (rc == 0 && status != 0)
        rc = -EIO;
    return rc;
}

int oracle_run(const char *const argv[], const char *input, bool undname,
               const struct oracle_list *names, struct oracle_list *out)
{
    struct oracle_list lines = {NULL, 0};
    int rc = oracle_output(argv, input, &lines);

    if (rc == 0 && undname)
        rc = oracle_parse_undname(&lines, names, out);
    else if (rc == 0)
        rc = oracle_parse_lines(&lines, names, out);
    oracle_list_free(&lines);
    return rc;
}

int oracle_run_suite(Suite *s, bool oracle_ran)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed != 0)
        return EXIT_FAILURE;
    if (!oracle_ran)
        fprintf(stderr, "reference tool missing: oracle tests skipped\n");
    return oracle_ran ? EXIT_SUCCESS : 77;
}
