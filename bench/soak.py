#!/usr/bin/env python3
"""The two Python halves of bench/soak.sh.

  soak.py upstream PORT_FILE STATS_FILE
      A symbol store that serves every /<name>/<ID>/<name> with bytes
      derived from the name, and misbehaves on a share of its answers:
      connection resets, bodies cut short, 503s and slow bodies.  Its
      answers carry a strong ETag and it answers a Range with If-Range, so
      that the daemon resumes bodies cut short.  On SIGTERM it writes what
      it did to STATS_FILE (JSON).  It listens on a 127.0.0.1 port the
      kernel picks and writes it to PORT_FILE once it listens, so no
      other process can take the port between choosing and serving.

  soak.py load BASE_URL SECONDS THREADS HOT STATS_FILE
      Clients on keep-alive connections: 90 % of requests for HOT keys
      fetched before (hits), 10 % for keys never asked before (cold misses).
      Every 200 body is compared with the upstream's bytes.  SECONDS = 0
      only fetches the hot keys once (the warm-up).  Writes its counts to
      STATS_FILE (JSON).
"""
import hashlib
import http.client
import json
import os
import re
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ID = "0123456789ABCDEF0123456789ABCDEF1"
FAULT_SHARE = 0.2  # of upstream answers; split evenly between the kinds
FAULTS = ("reset", "truncate", "5xx", "slow")


def body_for(name):
    """The upstream's bytes for NAME: 2 to 64 KiB, the same in every
    process (a str seed is hashed with SHA-512, not Python's hash())."""
    rng = random.Random(name)
    return rng.randbytes(rng.randrange(2048, 65536))


def etag_of(body):
    return '"%s"' % hashlib.sha1(body).hexdigest()[:16]


def key_path(name):
    return "/%s/%s/%s" % (name, ID, name)


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stats = {"requests": 0, "ok": 0}
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def count(self, what):
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + 1

    def reset(self):
        # SO_LINGER 0: close() sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def headers_200(self, body, whole):
        """Headers for BODY, the part of WHOLE a Range asked for (206) or
        all of it (200)."""
        self.send_response(200 if body is whole else 206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag_of(whole))
        if body is not whole:
            first = len(whole) - len(body)
            self.send_header("Content-Range", "bytes %d-%d/%d" %
                             (first, len(whole) - 1, len(whole)))
        self.end_headers()

    def asked_part(self, whole):
        """The rest a resume asks for (Range: bytes=N- with our ETag in
        If-Range), else WHOLE."""
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if m is None or self.headers.get("If-Range") != etag_of(whole):
            return whole
        first = int(m.group(1))
        if not 0 < first < len(whole):
            return whole
        self.count("ranges")
        return whole[first:]

    def do_GET(self):
        parts = self.path.split("/")
        self.count("requests")
        if len(parts) != 4 or parts[1] != parts[3] or parts[2] != ID:
            self.send_error(404)
            return
        whole = body_for(parts[1])
        body = self.asked_part(whole)
        fault = random.choice(FAULTS) if random.random() < FAULT_SHARE else None
        self.count(fault or "ok")
        if fault == "reset":
            self.reset()
        elif fault == "truncate":
            self.headers_200(body, whole)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.reset()
        elif fault == "5xx":
            self.send_error(503)
        elif fault == "slow":
            self.headers_200(body, whole)
            step = len(body) // 8 + 1
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.25)
        else:
            self.headers_200(body, whole)
            self.wfile.write(body)


def run_upstream(port_file, stats_file):
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    # renamed into place: a reader never sees half a number
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)

    def stop(*_):
        with open(stats_file, "w") as f:
            json.dump(Upstream.stats, f)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


class Client:
    def __init__(self, host, port, tid, hot, expected, stats, lock):
        self.host, self.port, self.tid, self.hot = host, port, tid, hot
        self.expected, self.stats, self.lock = expected, stats, lock
        self.conn = None
        self.cold = 0
        self.rng = random.Random(tid)

    def count(self, what, n=1):
        with self.lock:
            self.stats[what] = self.stats.get(what, 0) + n

    def get(self, name):
        """One request; True when it gave the right bytes."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port,
                                                   timeout=60)
        self.count("requests")
        try:
            self.conn.request("GET", key_path(name))
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.count("failures")
            self.count("fail:" + type(e).__name__)
            self.conn.close()
            self.conn = None
            return False
        if resp.status != 200:
            self.count("failures")
            self.count("fail:%d %s" % (resp.status,
                                       resp.getheader("X-Symsrvd-Miss", "")))
            return False
        want = self.expected.get(name) or body_for(name)
        if data != want:
            self.count("corrupt")
            with self.lock:
                if self.stats.get("corrupt") <= 5:
                    print("soak: corrupt body for %s: %d bytes, want %d"
                          % (name, len(data), len(want)), file=sys.stderr)
            return False
        self.count("ok")
        self.count("bytes", len(data))
        return True

    def warm(self, names):
        for name in names:
            for _ in range(20):
                if self.get(name):
                    break

    def run(self, deadline):
        while time.monotonic() < deadline:
            if self.rng.random() < 0.9:
                self.get("hot%d.pdb" % self.rng.randrange(self.hot))
            else:
                self.cold += 1
                self.get("cold%d_%d_%d.pdb" % (self.tid, self.cold,
                                               int(time.time())))


def run_load(base, seconds, threads, hot, stats_file):
    host, port = base.split("//")[1].rstrip("/").split(":")
    seconds, threads, hot = float(seconds), int(threads), int(hot)
    expected = {"hot%d.pdb" % i: body_for("hot%d.pdb" % i) for i in range(hot)}
    stats, lock = {}, threading.Lock()
    clients = [Client(host, int(port), t, hot, expected, stats, lock)
               for t in range(threads)]
    deadline = time.monotonic() + seconds
    if seconds == 0:
        names = sorted(expected)
        work = [(c.warm, (names[i::threads],)) for i, c in enumerate(clients)]
    else:
        work = [(c.run, (deadline,)) for c in clients]
    ts = [threading.Thread(target=f, args=a) for f, a in work]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(stats_file, "w") as f:
        json.dump(stats, f)


if __name__ == "__main__":
    if sys.argv[1] == "upstream":
        run_upstream(*sys.argv[2:4])
    else:
        run_load(*sys.argv[2:7])
