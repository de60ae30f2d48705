/* SPDX-License-Identifier: MIT */
/*
 * server_accept: one thread woken per new connection, not every thread of
 * every worker.
 *
 * WHY.  libmicrohttpd 0.9.75 in thread-pool mode puts the listen socket
 * into each pool thread's epoll set, plainly: a connection wakes every
 * thread of every worker (16 with the defaults), one of them accepts it
 * and the others find nothing.  With a new connection per request, which
 * is what debuginfod-find, curl and one-shot symbol clients make, those
 * wake-ups were the largest single cost (perf: 12% of all CPU in the
 * scheduler's switch), and 4 KiB hits ran at 0.6-0.7x nginx's rate.  Linux
 * has the answer, EPOLLEXCLUSIVE, which nginx uses for the same socket
 * shared by its workers; MHD has no option for it.  So symsrvd defines
 * epoll_ctl() itself, as server_sendfile.c defines sendfile64(): the
 * dynamic linker binds MHD's calls to the executable's definition.  An ADD
 * of a noted listen socket asks for an exclusive wake-up; every other call
 * goes to the kernel unchanged.
 *
 * An exclusive entry cannot be modified (EINVAL), so a MOD of a noted
 * socket is made a DEL and an ADD.  A kernel without EPOLLEXCLUSIVE
 * (before 4.5) refuses the flag with EINVAL: the plain call is made then.
 * A woken thread accepts in a loop (MHD takes up to ten at a time), and
 * the listen socket is level-triggered, so a connection that arrives while
 * every thread is busy is taken by the first one back in epoll_wait().
 *
 * The kernel gives a connection to the first idle thread in the order the
 * threads added the socket, so the first worker's threads take the load
 * until they are all busy, and the second worker takes the overflow (1000
 * sequential requests: all to the first; wrk at 64 connections: 78% to the
 * first).  nginx's workers share this, and it suits us: the busy worker's
 * caches are the warm ones, and one worker's threads can use every core.
 */
#include "symsrvd_config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server_accept.h"

#define NOTE_FDS 1024 /* listen sockets are opened first: low numbers */

/* Bit N set: descriptor N is a listen socket.  Set before MHD starts its
 * threads; atomic only so that a read never sees a torn word. */
static _Atomic uint64_t noted[NOTE_FDS / 64];

/* Our definition of glibc's function, which MHD calls; declared in
 * <sys/epoll.h>. */
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);

void server_accept_note(int fd)
{
    if (fd >= 0 && fd < NOTE_FDS)
        atomic_fetch_or_explicit(&noted[fd / 64], UINT64_C(1) << (fd % 64),
                                 memory_order_relaxed);
}

static int is_noted(int fd)
{
    return fd >= 0 && fd < NOTE_FDS &&
           (atomic_load_explicit(&noted[fd / 64], memory_order_relaxed) &
            (UINT64_C(1) << (fd % 64))) != 0;
}

static int raw_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    return (int)syscall(SYS_epoll_ctl, epfd, op, fd, ev);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    struct epoll_event excl;

    if (ev == NULL || (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD) ||
        !is_noted(fd))
        return raw_epoll_ctl(epfd, op, fd, ev);
    excl = *ev;
    excl.events |= EPOLLEXCLUSIVE;
    if (op == EPOLL_CTL_MOD && raw_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) != 0)
        return -1;
    if (raw_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &excl) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
    return raw_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev);
}
