#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/symbolicate.sh: warm POST /symbolicate throughput end to end over
# HTTP, against llvm-symbolizer-14 answering the same addresses in its
# persistent stdin mode, in the same run; plus the latency of a cold
# request (file in the cache, no table yet), of the first request after a
# restart (table read back from disk) and of a warm one.
#
# Usage: bench/symbolicate.sh [BUILDDIR]   (BUILDDIR holds src/symsrvd)
# env:   FRAMES=1000 (per request) REQUESTS=200 CLIENTS=2 WORKERS=2
# Needs python3 and llvm-symbolizer-14.
#
# The symbol file is tests/data/elf/crash.debug (GCC DWARF, inlines),
# served from the daemon's own cache (no "sources" in the request).  The
# addresses are every function start in it plus 3 bytes, cycled; frame 0
# is looked up as given, the others one byte lower (caller adjustment),
# and llvm-symbolizer gets exactly those lookup addresses, --inlines.
set -e

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top}
bin=$builddir/src/symsrvd
FRAMES=${FRAMES:-1000} REQUESTS=${REQUESTS:-200} CLIENTS=${CLIENTS:-2}
WORKERS=${WORKERS:-2}
debug=$top/tests/data/elf/crash.debug
cid=f1c3bcc0279865fe3058404b2831d9e64135386c
for t in python3 llvm-symbolizer-14 "$bin"; do
    command -v "$t" >/dev/null 2>&1 || { echo "symbolicate.sh: $t not found" >&2; exit 77; }
done
work=$(mktemp -d /tmp/symsrvd-symbench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

mkdir -p "$work/cache/_.debug/ELF-BUILDID-SYM-$(echo $cid | tr a-f A-F)"
cp "$debug" "$work/cache/_.debug/ELF-BUILDID-SYM-$(echo $cid | tr a-f A-F)/_.debug"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start() {
    "$bin" -l 127.0.0.1:$port -d "$work/cache" -w "$WORKERS" >"$work/log" 2>&1 &
    pid=$!
    python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s/healthcheck" % sys.argv[1]); sys.exit(0)
    except Exception: time.sleep(0.05)
sys.exit(1)
PY
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

nm "$debug" | awk '$2 ~ /^[tT]$/ { print $1 }' | sort -u >"$work/starts"

python3 - "$work" "$FRAMES" "$cid" "$REQUESTS" <<'PY'
import json, sys
work, n, cid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
starts = [int(l, 16) + 3 for l in open(work + "/starts") if int(l, 16) >= 0x400000]
addrs = [starts[i % len(starts)] for i in range(n)]
req = {"stacktraces": [{"frames": [{"instruction_addr": hex(a)} for a in addrs]}],
       "modules": [{"type": "elf", "code_id": cid, "debug_file": "crash",
                    "code_file": "/work/linux/crash", "image_addr": "0x400000",
                    "image_size": 0x100000}]}
open(work + "/req.json", "w").write(json.dumps(req))
with open(work + "/lookups", "w") as f:
    for i, a in enumerate(addrs):
        f.write("0x%x\n" % (a if i == 0 else a - 1))
# llvm-symbolizer gets as many addresses as all the requests carry, so that
# its one start-up is spread over the same work
reqs = int(sys.argv[4])
with open(work + "/lookups-all", "w") as f:
    for _ in range(reqs):
        for i, a in enumerate(addrs):
            f.write("0x%x\n" % (a if i == 0 else a - 1))
PY

client() {
    python3 - "$port" "$work/req.json" "$1" "$2" <<'PY'
import sys, time, threading, http.client
port, body, nreq, clients = sys.argv[1], open(sys.argv[2], "rb").read(), int(sys.argv[3]), int(sys.argv[4])
def run(k, out):
    c = http.client.HTTPConnection("127.0.0.1", int(port))
    for _ in range(k):
        c.request("POST", "/symbolicate", body, {"Content-Type": "application/json"})
        r = c.getresponse(); data = r.read()
        assert r.status == 200 and b'"completed"' in data[:40], data[:200]
    out.append(len(data))
t0 = time.time(); out = []
ts = [threading.Thread(target=run, args=(nreq // clients, out)) for _ in range(clients)]
[t.start() for t in ts]; [t.join() for t in ts]
print("%.6f %d" % (time.time() - t0, out[0]))
PY
}

start
cold=$(client 1 1 | cut -d' ' -f1)
warm1=$(client 1 1 | cut -d' ' -f1)
stop
start
restart=$(client 1 1 | cut -d' ' -f1)
client 10 "$CLIENTS" >/dev/null
set -- $(client "$REQUESTS" "$CLIENTS")
secs=$1 bytes=$2
stop

t0=$(python3 -c 'import time; print(time.time())')
llvm-symbolizer-14 --inlines --obj="$debug" <"$work/lookups" >/dev/null
t1=$(python3 -c 'import time; print(time.time())')
llvm1=$(python3 -c "print($t1 - $t0)")
t0=$(python3 -c 'import time; print(time.time())')
llvm-symbolizer-14 --inlines --obj="$debug" <"$work/lookups-all" >/dev/null
t1=$(python3 -c 'import time; print(time.time())')

python3 - "$FRAMES" "$REQUESTS" "$CLIENTS" "$secs" "$bytes" "$t0" "$t1" "$cold" "$restart" "$warm1" "$llvm1" <<'PY'
import sys
frames, reqs, clients, secs, nbytes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
t0, t1, cold, restart, warm, llvm1 = map(float, sys.argv[6:12])
total = frames * (reqs // clients * clients)
ours = total / secs
llvm = frames * reqs / (t1 - t0)
print("symsrvd warm: %d frames in %d requests x %d clients: %.3f s, %.0f frames/s (%d-byte answers)" % (total, reqs // clients * clients, clients, secs, ours, nbytes))
print("llvm-symbolizer-14 --inlines stdin: %d addresses in %.3f s (one process), %.0f frames/s; %d addresses: %.1f ms" % (frames * reqs, t1 - t0, llvm, frames, llvm1 * 1000))
print("ratio: %.1fx" % (ours / llvm))
print("latency of one %d-frame request: cold %.1f ms, after restart %.1f ms, warm %.1f ms" % (frames, cold * 1000, restart * 1000, warm * 1000))
PY
