/* SPDX-License-Identifier: MIT */
/*
 * symtest: helpers shared by the symbol-table tests; see symtest.h.
 */
#include "config.h"

#include "symtest.h"

#include <stdio.h>
#include <stdlib.h>

char *symtest_data(const char *rel)
{
    const char *top = getenv("abs_top_srcdir");
    char *p;

    if (asprintf(&p, "%s/tests/data/breakpad/%s", top ? top : "..", rel) < 0)
        abort();
    return p;
}

const char *symtest_tool(void)
{
    static char path[4096];
    const char *top = getenv("abs_top_builddir");

    snprintf(path, sizeof(path), "%s/src/symsrvd-symbolize", top ? top : "..");
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

bool symtest_have(const char *tool)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
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
