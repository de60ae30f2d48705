/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level log_level = LOG_LEVEL_INFO; /* set before threads */
static const char *log_role = "symsrvd";          /* set before threads */

void log_init(enum log_level level, const char *role)
{
    log_level = level;
    log_role = role;
}

bool log_enabled(enum log_level level)
{
    return level <= log_level;
}

void log_write_line(int fd, const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, line, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        line += n;
        len -= (size_t)n;
    }
}

static void __attribute__((format(printf, 2, 0)))
log_emit(const char *errstr, const char *fmt, va_list ap)
{
    char line[2048];
    int n, m;

    n = snprintf(line, sizeof(line), "symsrvd[%d] %s: ", (int)getpid(),
                 log_role);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    n = (size_t)(n + m) >= sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
    if (errstr != NULL) {
        m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s", errstr);
        if (m > 0)
            n = (size_t)(n + m) >= sizeof(line) - 1 ? (int)sizeof(line) - 2
                                                     : n + m;
    }
    line[n++] = '\n';
    log_write_line(STDERR_FILENO, line, (size_t)n);
}

#define LOG_BODY(level, errstr)                                              \
    do {                                                                     \
        va_list ap;                                                          \
        if (!log_enabled(level))                                             \
            return;                                                          \
        va_start(ap, fmt);                                                   \
        log_emit(errstr, fmt, ap);                                           \
        va_end(ap);                                                          \
    } while (0)

void log_warn(const char *fmt, ...)
{
    char buf[128];
    const char *e = strerror_r(errno, buf, sizeof(buf));

    LOG_BODY(LOG_LEVEL_WARN, e);
}

void log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void log_debug(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void fatal(const char *fmt, ...)
{
    char buf[128];
    const char *e = strerror_r(errno, buf, sizeof(buf));
    va_list ap;

    va_start(ap, fmt);
    log_emit(e, fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
