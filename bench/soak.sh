#!/usr/bin/env bash
# Soak: DURATION seconds of mixed load on one daemon: 90 % hits on HOT keys,
# 10 % cold misses, against an upstream that resets connections, cuts
# bodies short, answers 503 and sends slow bodies (a fifth of its answers,
# bench/soak.py; its ETags and Range answers let the daemon resume cut
# bodies), with [cache] max_size small enough that cold keys force
# eviction all along.  Every 200 body is compared with the upstream's bytes.
# Prints requests, failures, corrupt bodies, evictions, and the daemon's
# memory (all processes' anonymous RSS; VmRSS also counts the LMDB map's
# file pages) and open fds after a warm-up of the same load (WARMUP
# seconds) and at the end.
#
# Fails (exit 1) on a corrupt body, a worker that died (a sanitizer build
# aborts on its first report), or when memory or fds are not flat (not a
# measure for a sanitizer build: ASan's quarantine holds freed memory):
# anonymous RSS up more than 20 % + 4 MiB, or more than 4 fds more.  The
# fds of cached files are counted apart: each MHD thread keeps up to 32
# hit responses with their files open (server_rcache.c), so those may
# grow to that bound but no further.
#
# usage: bench/soak.sh [SYMSRVD_BINARY]      (needs python3 and curl)
# env:   DURATION=600 (seconds) WARMUP=DURATION/10, 10..60
#        THREADS=4 HOT=300 MAX_SIZE=16M
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../src/symsrvd}
DURATION=${DURATION:-600} THREADS=${THREADS:-4} HOT=${HOT:-300}
MAX_SIZE=${MAX_SIZE:-16M}
WARMUP=${WARMUP:-$(( DURATION / 10 < 10 ? 10 : DURATION / 10 > 60 ? 60 : DURATION / 10 ))}
WORKERS=2 MHD_THREADS=8 RCACHE_SLOTS=32
[ -x "$bin" ] || { echo "soak: no $bin; give the built symsrvd" >&2; exit 1; }
work=$(mktemp -d /tmp/symsrvd-soak.XXXXXX)
dpid= upid=
cleanup() {
    [ -z "$dpid" ] || kill "$dpid" 2>/dev/null || true
    [ -z "$upid" ] || kill "$upid" 2>/dev/null || true
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# "anon_kib vmrss_kib fds cached_file_fds" summed over the master and
# its workers.
usage() {
    local pids p anon=0 rss=0 fds=0 files=0 a r
    pids="$dpid $(pgrep -P "$dpid" | tr '\n' ' ')"
    for p in $pids; do
        a=$(awk '/^RssAnon:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        anon=$((anon + ${a:-0})); rss=$((rss + ${r:-0}))
        fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l)))
        files=$((files + $(ls -l "/proc/$p/fd" 2>/dev/null |
            grep -c -e "$work/cache/[^.]" || true)))
    done
    echo "$anon $rss $((fds - files)) $files"
}

# Open fds of the daemon's processes by what they are, for a report.
fd_kinds() {
    local p
    for p in $dpid $(pgrep -P "$dpid"); do
        ls -l "/proc/$p/fd" 2>/dev/null | awk 'NR > 1 {print $NF}'
    done | sed -e 's/[0-9][0-9]*/N/g' -e "s|$work|WORK|" | sort | uniq -c | sort -rn
}

metric() {
    curl -s "$url/metrics" | awk -v m="$1" '$1 == m {print $2}'
}

stat() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2"; }

python3 "$here/soak.py" upstream "$work/up.port" "$work/up.json" & upid=$!
for _ in $(seq 100); do [ -s "$work/up.port" ] && break; sleep 0.1; done
uport=$(cat "$work/up.port" 2>/dev/null) || { echo "soak: upstream did not start" >&2; exit 1; }

cat > "$work/conf" <<CONF
[server]
listen = 127.0.0.1:0
workers = $WORKERS
threads = $MHD_THREADS
access_log = off
[cache]
dir = $work/cache
max_size = $MAX_SIZE
min_free = 0
# The faults are a fifth of the upstream's answers on purpose: the breaker
# would skip the upstream for good and turn the soak into a test of it.
[upstream soak]
url = http://127.0.0.1:$uport
retries = 5
retry_backoff = 20ms
breaker_failures = 0
CONF
"$bin" -c "$work/conf" > "$work/log" 2>&1 & dpid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/log" && break; sleep 0.1; done
url=http://$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$work/log" | head -1)
[ "$url" != http:// ] || { echo "soak: daemon did not start" >&2; cat "$work/log" >&2; exit 1; }

python3 "$here/soak.py" load "$url" 0 "$THREADS" "$HOT" "$work/warm.json"
python3 "$here/soak.py" load "$url" "$WARMUP" "$THREADS" "$HOT" "$work/warm.json"
sleep 2
read -r anon0 rss0 fds0 files0 <<<"$(usage)"
fd_kinds > "$work/fds0"
ev0=$(metric symsrvd_cache_evictions_total)
echo "soak: ${DURATION}s after ${WARMUP}s of warm-up, $THREADS clients, $HOT hot keys, max_size $MAX_SIZE, $url"
python3 "$here/soak.py" load "$url" "$DURATION" "$THREADS" "$HOT" "$work/load.json"
sleep 2
read -r anon1 rss1 fds1 files1 <<<"$(usage)"
fd_kinds > "$work/fds1"
ev1=$(metric symsrvd_cache_evictions_total)
cache_bytes=$(metric symsrvd_cache_bytes)
hits=$(metric 'symsrvd_http_responses_total{result="hit"}')
restarts=$(metric symsrvd_worker_restarts_total)
kill "$upid"; wait "$upid" 2>/dev/null || true; upid=

req=$(stat "$work/load.json" requests)
fail=$(stat "$work/load.json" failures)
corrupt=$(stat "$work/load.json" corrupt)
echo "requests $req ($(python3 -c "print(round($req / $DURATION))")/s), daemon hits since start $hits, failures $fail, corrupt bodies $corrupt"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
f = ", ".join("%s %d" % (k[5:], v) for k, v in sorted(d.items()) if k.startswith("fail:"))
print("  failures by kind:", f or "none")
u = json.load(open(sys.argv[2]))
print("upstream: %d requests, %d ok; faults: %s" % (u.get("requests", 0), u.get("ok", 0),
      ", ".join("%s %d" % (k, u.get(k, 0)) for k in ("reset", "truncate", "5xx", "slow", "ranges"))))' \
    "$work/load.json" "$work/up.json"
echo "worker restarts $restarts"
echo "evictions $((ev1 - ev0)) during the run; cache $cache_bytes bytes against max_size $MAX_SIZE"
echo "memory: anon RSS $anon0 KiB -> $anon1 KiB, VmRSS $rss0 KiB -> $rss1 KiB"
echo "fds: $fds0 -> $fds1, and of cached files $files0 -> $files1 (at most $((WORKERS * MHD_THREADS * RCACHE_SLOTS)))"

verdict=0
[ "$corrupt" -eq 0 ] || { echo "soak: FAIL: corrupt bodies"; verdict=1; }
[ "$restarts" -eq 0 ] || {
    echo "soak: FAIL: a worker died; the log says:"
    grep -v -e ' GET ' "$work/log" | tail -40
    verdict=1
}
[ "$anon1" -le $((anon0 + anon0 / 5 + 4096)) ] || { echo "soak: FAIL: memory grew"; verdict=1; }
[ "$fds1" -le $((fds0 + 4)) ] &&
    [ "$files1" -le $((WORKERS * MHD_THREADS * RCACHE_SLOTS)) ] || {
    echo "soak: FAIL: fds grew; by kind, after the warm-up and at the end:"
    paste -d'|' "$work/fds0" "$work/fds1" | column -t -s'|'
    verdict=1
}
[ "$((ev1 - ev0))" -gt 0 ] || { echo "soak: FAIL: nothing was evicted (raise the load or lower MAX_SIZE)"; verdict=1; }
[ $verdict -ne 0 ] || echo "soak: OK"
exit $verdict
