#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/symbolicate.sh: warm POST /symbolicate throughput end to end over
# HTTP, against llvm-symbolizer-14 answering the same addresses in its
# persistent stdin mode, in the same run; plus the latency of a cold
# request (file in the cache, no table yet), of the first request after a
# restart (table read back from disk) and of a warm one.
#
# Usage: bench/symbolicate.sh [BUILDDIR [OTHER_BUILDDIR ...]]
#        (each holds src/symsrvd; the latencies are the first one's, the
#        throughput rounds take every build in turn, so that a change is
#        measured against the previous build in one run)
# env:   SIZES="50 500" (frames per request; a Sentry event has tens to
#        hundreds) SECONDS_EACH=5 CONNS=32 (keep-alive connections, spread
#        over the workers: enough to keep both cores busy; with 4, a third
#        of the CPU sat idle between a response and the next request, and
#        the figure was the round trip's, not the daemon's) WORKERS=2 ROUNDS=2 (symsrvd and llvm-symbolizer
#        take turns, so that load from elsewhere hits both alike)
#        LLVM_ADDRS=400000
# Needs python3 and llvm-symbolizer-14; wrk (Debian's wrk) drives the
# load when present (a C client: the load generator shares the 2 cores),
# else a python client with CONNS threads.
#
# The symbol file is tests/data/elf/crash.debug (GCC DWARF, inlines),
# served from the daemon's own cache (no "sources" in the request).  The
# addresses are every function start in it plus 3 bytes, cycled; frame 0
# is looked up as given, the others one byte lower (caller adjustment),
# and llvm-symbolizer gets exactly those lookup addresses, --inlines.
# llvm-symbolizer's rate is its steady state, what a long-lived process
# reaches: (N - N/4) / (time for N - time for N/4), N = LLVM_ADDRS, so
# that neither its start, nor loading the file, nor its lazy parsing of
# the compile units counts against it (a 1-address run would not
# subtract the latter: it parses one unit).  The
# daemon's one upstream is a local server that has nothing (404), so the
# code file the daemon also looks for is a quick negative-cached miss.
# Each round also loads every build with GET /healthcheck and with a
# /symbolicate request of the same module and 1 frame, same tool, same
# CONNS and seconds: the most requests per second this machine, the load
# tool and the daemon's HTTP side allow, and what a request costs beside
# its frames (parsing, resolving the module, the answer's head; with no
# frame the module is unused and never resolved, as fast as the
# former); each size's line says how close it comes to /healthcheck.
set -e

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top}
builds=${*:-$top}
bin=$builddir/src/symsrvd
SIZES=${SIZES:-50 500} SECONDS_EACH=${SECONDS_EACH:-5} CONNS=${CONNS:-32}
WORKERS=${WORKERS:-2} ROUNDS=${ROUNDS:-2} LLVM_ADDRS=${LLVM_ADDRS:-400000}
debug=$top/tests/data/elf/crash.debug
cid=f1c3bcc0279865fe3058404b2831d9e64135386c
for t in python3 llvm-symbolizer-14 $(for b in $builds; do echo "$b/src/symsrvd"; done); do
    command -v "$t" >/dev/null 2>&1 || { echo "symbolicate.sh: $t not found" >&2; exit 77; }
done
work=$(mktemp -d /tmp/symsrvd-symbench.XXXXXX)
pid= uppid= pids=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    for p in $pids; do kill "$p" 2>/dev/null; done
    [ -n "$uppid" ] && kill "$uppid" 2>/dev/null
    wait 2>/dev/null; rm -rf "$work"
}
trap cleanup EXIT INT TERM
echo "# SIZES=\"$SIZES\" SECONDS_EACH=$SECONDS_EACH CONNS=$CONNS WORKERS=$WORKERS ROUNDS=$ROUNDS LLVM_ADDRS=$LLVM_ADDRS sh bench/symbolicate.sh $builds"

entry=$work/cache/_.debug/ELF-BUILDID-SYM-$(echo $cid | tr a-f A-F)
mkdir -p "$entry" "$work/empty"
cp "$debug" "$entry/_.debug"
freeport() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(freeport) upport=$(freeport)
python3 -m http.server "$upport" --bind 127.0.0.1 --directory "$work/empty" \
    >/dev/null 2>"$work/uplog" &
uppid=$!

# start [BIN PORT CACHEDIR]: a daemon, its pid in $pid
start() {
    "${1:-$bin}" -l 127.0.0.1:${2:-$port} -d "${3:-$work/cache}" -w "$WORKERS" \
        -u "http://127.0.0.1:$upport/" >"$work/log" 2>&1 &
    pid=$!
    python3 - "${2:-$port}" <<'PY'
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

# req-N.json for each size, and LLVM_ADDRS lookups in the same mix
python3 - "$work" "$cid" "$LLVM_ADDRS" $SIZES <<'PY'
import json, sys
work, cid, nllvm, sizes = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(a) for a in sys.argv[4:]]
starts = [int(l, 16) + 3 for l in open(work + "/starts") if int(l, 16) >= 0x400000]
for n in [1] + sizes:
    addrs = [starts[i % len(starts)] for i in range(n)]
    req = {"stacktraces": [{"frames": [{"instruction_addr": hex(a)} for a in addrs]}],
           "modules": [{"type": "elf", "code_id": cid, "debug_file": "crash",
                        "code_file": "/work/linux/crash", "image_addr": "0x400000",
                        "image_size": 0x100000}]}
    open("%s/req-%d.json" % (work, n), "w").write(json.dumps(req))
with open(work + "/lookups", "w") as f:
    for i in range(nllvm):
        a = starts[i % len(starts)]
        f.write("0x%x\n" % (a if i % sizes[-1] == 0 else a - 1))
PY

# One request: its latency in seconds.
once() {
    python3 - "$port" "$1" <<'PY'
import sys, time, http.client
body = open(sys.argv[2], "rb").read()
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
t0 = time.time()
c.request("POST", "/symbolicate", body, {"Content-Type": "application/json"})
r = c.getresponse(); data = r.read()
assert r.status == 200 and b'"completed"' in data[:40] and b'"symbolicated"' in data, data[:200]
print("%.6f" % (time.time() - t0))
PY
}

# Requests per second over SECONDS_EACH with CONNS keep-alive connections
# to the daemon on PORT (default $port), for SECS (default SECONDS_EACH):
# POST /symbolicate with the body in the file BODY, or, BODY "-", GET
# /healthcheck.
load() {
    lport=${2:-$port} secs=${3:-$SECONDS_EACH}
    if command -v wrk >/dev/null 2>&1; then
        if [ "$1" = - ]; then
            echo 'wrk.method = "GET"' >"$work/post.lua"
            lpath=/healthcheck
        else
            cat >"$work/post.lua" <<EOF
local f = io.open("$1", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
            lpath=/symbolicate
        fi
        cat >>"$work/post.lua" <<'EOF'
done = function(s) io.write(string.format("REQS %d %d %d\n", s.requests, s.errors.status + s.errors.read + s.errors.timeout + s.errors.connect, s.duration)) end
EOF
        wrk -t1 -c"$CONNS" -d"${secs}s" -s "$work/post.lua" \
            "http://127.0.0.1:$lport$lpath" | awk '
            /^REQS/ { if ($3 != 0) { print "errors: " $3 > "/dev/stderr"; exit 1 }
                      printf "%.1f\n", $2 / ($4 / 1e6) }'
    else
        python3 - "$lport" "$1" "$CONNS" "$secs" <<'PY'
import sys, time, threading, http.client
port, conns, secs = int(sys.argv[1]), int(sys.argv[3]), float(sys.argv[4])
body = None if sys.argv[2] == "-" else open(sys.argv[2], "rb").read()
count = [0] * conns
def run(k, until):
    c = http.client.HTTPConnection("127.0.0.1", port)
    while time.time() < until:
        if body is None:
            c.request("GET", "/healthcheck")
        else:
            c.request("POST", "/symbolicate", body, {"Content-Type": "application/json"})
        r = c.getresponse(); d = r.read()
        assert r.status == 200 and (body is None or b'"completed"' in d[:40]), d[:200]
        count[k] += 1
t0 = time.time()
ts = [threading.Thread(target=run, args=(k, t0 + secs)) for k in range(conns)]
[t.start() for t in ts]; [t.join() for t in ts]
print("%.1f" % (sum(count) / (time.time() - t0)))
PY
    fi
}

# llvm-symbolizer's steady frames per second over the same lookups (see
# the top).
llvm_rate() {
    python3 - "$debug" "$work/lookups" <<'PY'
import subprocess, sys, time
lines = open(sys.argv[2]).read().splitlines(True)
def run(n):  # the quicker of two runs: the one less disturbed
    best = None
    for _ in range(2):
        t0 = time.time()
        subprocess.run(["llvm-symbolizer-14", "--inlines", "--obj=" + sys.argv[1]],
                       input="".join(lines[:n]).encode(),
                       stdout=subprocess.DEVNULL, check=True)
        t = time.time() - t0
        best = t if best is None else min(best, t)
    return best
n = len(lines)
small, big = run(n // 4), run(n)
print("%.1f" % ((n - n // 4) / max(big - small, 1e-6)))
PY
}

# Latencies: cold (no table anywhere), warm, after a restart (the table
# on disk), warm again, for the largest size.
big=$(echo $SIZES | tr ' ' '\n' | sort -n | tail -1)
start
cold=$(once "$work/req-$big.json")
warm1=$(once "$work/req-$big.json")
stop
start
restart=$(once "$work/req-$big.json")
warm2=$(once "$work/req-$big.json")
python3 -c "
import sys
c, w1, r, w2 = map(float, sys.argv[1:5])
print('latency of one %s-frame request: cold %.1f ms, warm %.1f ms, after restart %.1f ms, warm %.1f ms; upstream requests in all: %s' % (sys.argv[5], c * 1e3, w1 * 1e3, r * 1e3, w2 * 1e3, sys.argv[6]))
" "$cold" "$warm1" "$restart" "$warm2" "$big" "$(grep -c '"GET ' "$work/uplog")"

stop
# one daemon per build, each on a copy of the cache (its tables on disk)
k=0
for b in $builds; do
    k=$((k + 1))
    cp -a "$work/cache" "$work/cache-$k"
    eval "port_$k=\$(freeport)"
    eval "start \"$b/src/symsrvd\" \"\$port_$k\" \"$work/cache-$k\""
    pids="$pids $pid"
    pid=
done
nbuilds=$k
for size in $SIZES; do
    k=1
    while [ "$k" -le "$nbuilds" ]; do
        load "$work/req-$size.json" "$(eval echo \$port_$k)" 1 >/dev/null # warm every worker
        k=$((k + 1))
    done
done
round=1
while [ "$round" -le "$ROUNDS" ]; do
    k=1
    for b in $builds; do
        hc=$(load - "$(eval echo \$port_$k)")
        one=$(load "$work/req-1.json" "$(eval echo \$port_$k)")
        echo "$b $hc" >>"$work/ceiling"
        echo "round $round, ceiling, $b: GET /healthcheck $hc requests/s; POST /symbolicate with 1 frame $one requests/s"
        k=$((k + 1))
    done
    for size in $SIZES; do
        k=1
        for b in $builds; do
            rps=$(load "$work/req-$size.json" "$(eval echo \$port_$k)")
            echo "$b $size $rps" >>"$work/ours"
            k=$((k + 1))
        done
        llvm=$(llvm_rate)
        for b in $builds; do
            rps=$(awk -v b="$b" -v s="$size" '$1 == b && $2 == s { r = $3 } END { print r }' "$work/ours")
            hc=$(awk -v b="$b" '$1 == b { r = $2 } END { print r }' "$work/ceiling")
            python3 -c "
import sys
size, rps, llvm, hc = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[6])
ours = size * rps
print('round %s, %4d frames/request, %s: symsrvd %.0f requests/s (%.0f%% of /healthcheck) = %.0f frames/s; llvm-symbolizer-14 %.0f frames/s; ratio %.1fx' % (sys.argv[4], size, sys.argv[5], rps, 100 * rps / hc, ours, llvm, ours / llvm))
" "$size" "$rps" "$llvm" "$round" "$b" "$hc"
            echo "$b $size $rps $llvm" >>"$work/rates"
        done
    done
    round=$((round + 1))
done
for p in $pids; do kill "$p"; wait "$p" 2>/dev/null || true; done
pids=
# the best round of each side: what each reaches when the machine lets it
python3 - "$work/rates" "$work/ceiling" <<'PY'
import sys
ceiling = {}
for line in open(sys.argv[2]):
    build, hc = line.split()
    ceiling[build] = max(ceiling.get(build, 0.0), float(hc))
for build in ceiling:
    print("best of rounds, ceiling, %s: GET /healthcheck %.0f requests/s" % (build, ceiling[build]))
best = {}
for line in open(sys.argv[1]):
    build, size, rps, llvm = line.split()
    b = best.setdefault((build, int(size)), [0.0, 0.0])
    b[0] = max(b[0], int(size) * float(rps)); b[1] = max(b[1], float(llvm))
for (build, size) in sorted(best, key=lambda k: (k[1], 0)):
    ours, llvm = best[(build, size)]
    print("best of rounds, %4d frames/request, %s: symsrvd %.0f frames/s (%.0f%% of /healthcheck's requests/s), llvm-symbolizer-14 %.0f frames/s, ratio %.1fx" % (size, build, ours, 100 * ours / size / ceiling[build], llvm, ours / llvm))
PY
