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

size_t log_utf8_len(const unsigned char *s)
{
    size_t n, i;
    unsigned cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

void log_escape(const char *s, char *out, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, u;

    while (*p != '\0') {
        if (*p < 0x21 || *p == 0x7f || *p == '"' || *p == '\\') {
            u = 0;
        } else if (*p < 0x80) {
            u = 1;
        } else {
            u = log_utf8_len(p);
        }
        if (u == 0) {
            if (n + 5 > len)
                break;
            n += (size_t)snprintf(out + n, len - n, "\\x%02x", *p++);
            continue;
        }
        if (n + u + 1 > len)
            break;
        memcpy(out + n, p, u);
        n += u;
        p += u;
    }
    out[n] = '\0';
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
