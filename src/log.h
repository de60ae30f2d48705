/* SPDX-License-Identifier: MIT */
/*
 * log: OpenBSD-style logging to stderr (journald captures it under
 * systemd).  Each line is formatted in a local buffer and written with one
 * write(2), so lines from different threads and processes never
 * interleave.  log_warn() appends ": strerror(errno)"; the x variants do
 * not.  fatal()/fatalx() log and exit(1): for start-up only.
 */
#ifndef SYMSRVD_LOG_H
#define SYMSRVD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

/* Set the verbosity (default LOG_LEVEL_INFO) and the role shown in each
 * line ("master", "worker"). */
void log_init(enum log_level level, const char *role);
bool log_enabled(enum log_level level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Length of the valid UTF-8 sequence at S (1 to 4), 0 if there is none:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
size_t log_utf8_len(const unsigned char *s);

/* Copy S into OUT (LEN bytes, at least 5) as one printable log field:
 * bytes below 0x21, 0x7f, '"', '\\' and bytes that are not part of a
 * valid UTF-8 sequence become \xNN, so a client cannot forge a line,
 * move the terminal's cursor or break a UTF-8 reader of the log.  Output
 * that does not fit is cut between characters, never inside one. */
void log_escape(const char *s, char *out, size_t len);

/* Write one preformatted line (with its newline) to FD in one write(2). */
void log_write_line(int fd, const char *line, size_t len);

#endif
