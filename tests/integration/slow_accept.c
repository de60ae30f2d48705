/* SPDX-License-Identifier: MIT */
/*
 * slow_accept.so: preloaded into the daemon by check_http_reload, it makes
 * every accept4() pause a random 0..SLOW_ACCEPT_MS ms before and after the
 * call, as a thread preempted on a busy machine would between seeing the
 * listen socket readable, taking the connection and setting it up.  That
 * window, a few microseconds on an idle machine, is where a retiring
 * worker once dropped connections unanswered.
 */
#include "symsrvd_config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef int accept4_fn(int, struct sockaddr *, socklen_t *, int);

static void pause_random(unsigned max_ms)
{
    static __thread unsigned seed;

    if (max_ms == 0)
        return;
    if (seed == 0)
        seed = (unsigned)time(NULL) ^ (unsigned)gettid();
    usleep((useconds_t)(rand_r(&seed) % (max_ms * 1000)));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    static accept4_fn *real;
    const char *env = getenv("SLOW_ACCEPT_MS");
    unsigned max_ms = env != NULL ? (unsigned)strtoul(env, NULL, 10) : 0;
    int ret, err;

    if (real == NULL)
        real = (accept4_fn *)dlsym(RTLD_NEXT, "accept4");
    pause_random(max_ms);
    ret = real(fd, addr, len, flags);
    err = errno;
    if (ret >= 0)
        pause_random(max_ms);
    errno = err;
    return ret;
}
