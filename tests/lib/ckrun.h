/* SPDX-License-Identifier: MIT */
/*
 * ckrun: the main() every Check program shares: run SUITE's tests, report,
 * and turn the failure count into the exit status automake expects.
 */
#ifndef SYMSRVD_CKRUN_H
#define SYMSRVD_CKRUN_H

#include <check.h>
#include <stdlib.h>

static inline int ckrun(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
