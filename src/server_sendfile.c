/* SPDX-License-Identifier: MIT */
/*
 * server_sendfile: an fd response's body in as few sendfile calls as the
 * socket allows.
 *
 * WHY.  libmicrohttpd 0.9.75 in thread-pool mode sends an fd response in
 * 128 KiB sendfile calls (MHD_SENFILE_CHUNK_ in its mhd_send.c), each one
 * back through its event loop: eight calls and eight turns of the loop for
 * a 1 MiB body, where nginx makes one call and the socket takes what it
 * can.  MHD has no option for that size, so symsrvd defines sendfile64()
 * itself: the dynamic linker binds MHD's calls to the executable's
 * definition.  A call for exactly MHD's piece, on a descriptor noted here,
 * asks the kernel for everything up to the noted end of the body (at most
 * SENDFILE_MAX, MHD's own piece in thread-per-connection mode); MHD counts
 * what was sent, as after any short send.  Every other call goes to the
 * kernel unchanged, so a libmicrohttpd with another piece size only loses
 * the gain.  Measured with bench/hits.sh (figures in the commit message):
 * the workers' CPU time per 1 MiB hit drops by about a sixth, to less than
 * nginx's.
 *
 * MHD pushes a body's last piece out itself (TCP_NODELAY on its corked
 * socket); a call that MHD did not know to be the last is pushed here
 * when it reached the end, or the tail would wait out the cork's 200 ms.
 *
 * HEADERS IN THE BODY'S FIRST SEGMENT.  MHD sends an fd response's
 * headers alone and pushes them out (TCP_CORK off) before it corks the
 * socket again for the body, so every body starts with a lone segment of
 * a few hundred bytes.  A Linux client takes its receive-RTT sample from
 * the first full-sized segment that echoes a new timestamp; the lone
 * segment uses up each response's new timestamp without giving a sample,
 * so the client's receive-buffer autotuning stays where the connection's
 * first bodies left it, and every window then waits for the client to
 * read.  Measured with wrk on 64 keep-alive connections (1 MiB bodies):
 * half of them kept a window of about 150 KB against symsrvd, while
 * against nginx (tcp_nopush on: headers and body in one corked stream)
 * nearly all grew to 1 MB; nginx with tcp_nopush off grew none and lost
 * a sixth of its throughput.  So symsrvd defines setsockopt() too: when
 * a handler queues a file body, the socket is corked (MHD may take it to
 * be open and would send the headers at once) and MHD's one uncork
 * between the headers and the body is skipped.  MHD then takes the
 * socket to be open while it is corked, so the uncork is owed: MHD's next
 * cork call settles it (before a body of several pieces MHD corks again),
 * and otherwise it is made right after the body's first sendfile call (a
 * body of one piece, which MHD sends as its last, uncorked), or when the
 * request ends.  Every other call goes to the kernel unchanged.
 * (net/ipv4/tcp_input.c, tcp_rcv_rtt_measure_ts(), takes the sample.)
 *
 * A note is trusted only while its descriptor still refers to the noted
 * file (device and inode, checked with fstat on each widened call): a
 * descriptor number reused for another file after MHD closed the noted
 * one is not widened.  A response that ends before its file does (a
 * range) must be noted, or an old note of the same file under the same
 * descriptor number could carry the call past its end; whole-file
 * responses are safe either way, as sendfile stops at the end of the file
 * and cache files are never written in place.
 */
#include "symsrvd_config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "server_sendfile.h"

#define MHD_PIECE (128 * 1024)
#define SENDFILE_MAX (2 * 1024 * 1024)
#define NOTE_FDS 65536 /* descriptors above are sent as MHD asks */

_Static_assert(sizeof(off_t) == 8, "sendfile64 takes a 64-bit offset");

struct note {
    _Atomic uint64_t end; /* 0: nothing noted */
    _Atomic uint64_t dev;
    _Atomic uint64_t ino;
};

/* Indexed by descriptor.  A number belongs to one open file at a time,
 * and only the thread that opened it notes it, before MHD sends from it:
 * the atomics only keep the reads of a stale note whole. */
static struct note notes[NOTE_FDS];

/* Our definition of glibc's function, which MHD calls; not declared in a
 * header, as <sys/sendfile.h> declares it too. */
ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count);

/* A socket's headers, as held for its body: */
enum hold {
    HOLD_NONE,
    HOLD_ARMED, /* corked here; MHD's next uncork is to be skipped */
    HOLD_OWED,  /* one was: the kernel's socket is corked while MHD takes
                 * it to be open, until the body's first piece is queued */
};

/* Indexed by socket.  A socket is served by one thread at a time: the
 * atomics only keep a stale reader's view whole. */
static _Atomic unsigned char held[NOTE_FDS];

static enum hold hold_swap(int sock, enum hold to)
{
    if (sock < 0 || sock >= NOTE_FDS)
        return HOLD_NONE;
    if (to == HOLD_NONE &&
        atomic_load_explicit(&held[sock], memory_order_relaxed) == HOLD_NONE)
        return HOLD_NONE; /* the common case, without a write */
    return (enum hold)atomic_exchange_explicit(&held[sock], (unsigned char)to,
                                               memory_order_relaxed);
}

/* TCP_CORK on SOCK set to ON, past our setsockopt(): 0 or -1. */
static int cork(int sock, int on)
{
#ifdef SYS_setsockopt
    return (int)syscall(SYS_setsockopt, sock, IPPROTO_TCP, TCP_CORK, &on,
                        (socklen_t)sizeof(on));
#else
    return setsockopt(sock, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
#endif
}

void server_sendfile_hold_headers(int sock)
{
    /* MHD may take the socket to be open (a connection's first body
     * after bodies from memory) and send the headers at once; a socket
     * that cannot be corked (a Unix one) is left alone */
    if (sock >= 0 && sock < NOTE_FDS && cork(sock, 1) == 0)
        (void)hold_swap(sock, HOLD_ARMED);
}

void server_sendfile_release(int sock)
{
    if (hold_swap(sock, HOLD_NONE) != HOLD_NONE)
        (void)cork(sock, 0);
}

void server_sendfile_note(int fd, const struct stat *st, uint64_t end)
{
    struct note *n;

    if (fd < 0 || fd >= NOTE_FDS)
        return;
    n = &notes[fd];
    atomic_store_explicit(&n->dev, (uint64_t)st->st_dev, memory_order_relaxed);
    atomic_store_explicit(&n->ino, (uint64_t)st->st_ino, memory_order_relaxed);
    atomic_store_explicit(&n->end, end, memory_order_relaxed);
}

/* The noted end of IN_FD's body when a call for COUNT bytes from OFFSET
 * may reach further, else 0. */
static uint64_t noted_end(int in_fd, const off_t *offset, size_t count)
{
    const struct note *n;
    struct stat st;
    uint64_t end;

    if (count != MHD_PIECE || in_fd < 0 || in_fd >= NOTE_FDS ||
        offset == NULL || *offset < 0)
        return 0;
    n = &notes[in_fd];
    end = atomic_load_explicit(&n->end, memory_order_relaxed);
    if (end <= (uint64_t)*offset + count || fstat(in_fd, &st) != 0 ||
        (uint64_t)st.st_size < end ||
        (uint64_t)st.st_dev !=
            atomic_load_explicit(&n->dev, memory_order_relaxed) ||
        (uint64_t)st.st_ino !=
            atomic_load_explicit(&n->ino, memory_order_relaxed))
        return 0;
    return end;
}

ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
    static const int on = 1;
    uint64_t end = noted_end(in_fd, offset, count);
    enum hold hold = hold_swap(out_fd, HOLD_NONE);
    ssize_t sent;

    if (end != 0)
        count = end - (uint64_t)*offset > SENDFILE_MAX
                    ? SENDFILE_MAX
                    : (size_t)(end - (uint64_t)*offset);
#ifdef SYS_sendfile64
    sent = (ssize_t)syscall(SYS_sendfile64, out_fd, in_fd, offset, count);
#else
    sent = (ssize_t)syscall(SYS_sendfile, out_fd, in_fd, offset, count);
#endif
    if (hold != HOLD_NONE) /* the body is queued behind the headers */
        (void)cork(out_fd, 0);
    if (end != 0 && sent > 0 && (uint64_t)*offset == end)
        (void)setsockopt(out_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return sent;
}

#ifdef SYS_setsockopt
/* Our definition of glibc's function (see "Headers in the body's first
 * segment"), called by MHD, libcurl and symsrvd alike. */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    if (level == IPPROTO_TCP && name == TCP_CORK && val != NULL &&
        len >= (socklen_t)sizeof(int) && fd >= 0 && fd < NOTE_FDS) {
        unsigned char hold =
            atomic_load_explicit(&held[fd], memory_order_relaxed);

        if (hold == HOLD_ARMED && *(const int *)val == 0) {
            atomic_store_explicit(&held[fd], HOLD_OWED, memory_order_relaxed);
            return 0;
        }
        if (hold != HOLD_NONE) {
            /* MHD corks or uncorks: it and the kernel agree again */
            atomic_store_explicit(&held[fd], HOLD_NONE, memory_order_relaxed);
            if (*(const int *)val != 0)
                return 0; /* corked by the hold */
        }
    }
    return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}
#endif
