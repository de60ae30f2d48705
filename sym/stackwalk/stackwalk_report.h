/* SPDX-License-Identifier: MIT */
/*
 * stackwalk_report: what the reports of a walk share, and the walk as
 * Sentry Symbolicator's minidump response (JSON), for the
 * symsrvd-stackwalk tool and the daemon's POST /minidump alike.
 *
 * THREADS.  Stateless.
 */
#ifndef SYMSRVD_STACKWALK_REPORT_H
#define SYMSRVD_STACKWALK_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "minidump/minidump.h"
#include "stackwalk/stackwalk.h"

/* The function name to show: demangled when it is a mangled name (new
 * string in *OWNED, which the caller frees), else as recorded. */
const char *stackwalk_report_function(const struct stackwalk_frame *f,
                                      char **owned);

/* Breakpad's "crashed", its reason and the address it prints. */
bool stackwalk_report_crashed(const struct minidump *md, const char **reason,
                              uint64_t *address);

/* Symbolicator's module type for MD's platform: "pe" (Windows), "macho"
 * (macOS, iOS) or "elf". */
const char *stackwalk_report_module_type(const struct minidump *md);

/* The walk R of MD as a new JSON object: status "completed", the crash
 * summary, "stacktraces" and "modules". */
json_t *stackwalk_report_json(const struct minidump *md,
                              const struct stackwalk_result *r);

#endif
