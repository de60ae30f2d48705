/* SPDX-License-Identifier: MIT */
/*
 * stackwalk_print: the three output formats of symsrvd-stackwalk.
 *   SW_FORMAT_TEXT     Breakpad minidump_stackwalk's report
 *   SW_FORMAT_MACHINE  its -m pipe-delimited form
 *   SW_FORMAT_JSON     Symbolicator's minidump response shape
 * Each prints the walk R of MD to stdout; 0, or -EIO when stdout fails.
 */
#ifndef SYMSRVD_STACKWALK_PRINT_H
#define SYMSRVD_STACKWALK_PRINT_H

#include "minidump/minidump.h"
#include "stackwalk/stackwalk.h"
#include "stackwalk/stackwalk_report.h"

enum sw_format {
    SW_FORMAT_TEXT = 0,
    SW_FORMAT_MACHINE,
    SW_FORMAT_JSON,
};

int sw_print(enum sw_format format, const struct minidump *md,
             const struct stackwalk_result *r);

/* Shared by the formats (stackwalk_text.c). */

/* The main module (the first of the dump's list), or NULL. */
const struct minidump_module *sw_main_module(const struct minidump *md);

int sw_print_json(const struct minidump *md, const struct stackwalk_result *r);

#endif
