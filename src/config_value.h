/* SPDX-License-Identifier: MIT */
/*
 * config_value: the syntax of single values in symsrvd.conf: durations,
 * sizes, listen addresses and upstream URLs, plus the quoting of a bad
 * value in an error message.  Pure functions on strings, no state; the
 * public parsers (config_parse_duration, _size, _listen) are declared in
 * config.h, the helpers config.c shares with them here.
 */
#ifndef SYMSRVD_CONFIG_VALUE_H
#define SYMSRVD_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_PER_S   UINT64_C(1000)
#define MS_PER_MIN (60 * MS_PER_S)
#define MS_PER_H   (60 * MS_PER_MIN)
#define MS_PER_D   (24 * MS_PER_H)
#define KIB        UINT64_C(1024)
#define MIB        (KIB * KIB)
#define GIB        (MIB * KIB)
#define TIB        (GIB * KIB)

#define CONFIG_VALUE_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Copy S into BUF (LEN bytes, LEN > 0) for quoting in a message: cut with
 * "..." when too long, control bytes shown as '?'. */
void config_value_quote(char *buf, size_t len, const char *s);

/* Decimal digits at *SP, at least one, no sign, no overflow.  Returns 0,
 * sets *V and advances *SP past the digits, or -EINVAL. */
int config_value_digits(const char **sp, uint64_t *v);

/* Whether S holds a control byte (tab included). */
bool config_value_has_control(const char *s);

/* S if it is "http://" or "https://", a host and no blank, '#' or control
 * byte: a new copy (free() it) without trailing slashes.  Else NULL. */
char *config_value_url_dup(const char *s);

/* MS or BYTES with the largest unit that divides it exactly ("90s", "3G",
 * "0ms", "1536"), so that config_parse_* reads it back unchanged. */
void config_value_fmt_duration(char *buf, size_t len, uint64_t ms);
void config_value_fmt_size(char *buf, size_t len, uint64_t bytes);

#endif
