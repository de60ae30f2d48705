#!/usr/bin/env bash
# Eviction benchmark: N small files are put in the cache directory as a
# symstore tree, adopted by the start-up reconciliation of an unbounded
# daemon, then a second start with max_size = LIMIT evicts all but the
# last few hundred.  Prints the adoption and the eviction rate (files/s)
# from the daemon's own log lines.
#
# usage: bench/evict.sh [SYMSRVD_BINARY]    (needs python3, curl)
# env:   N=20000 SIZE=1024 LIMIT=1M
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../src/symsrvd}
N=${N:-20000} SIZE=${SIZE:-1024} LIMIT=${LIMIT:-1M}
[ -x "$bin" ] || { echo "bench: no $bin; give the built symsrvd" >&2; exit 1; }
work=$(mktemp -d /tmp/symsrvd-evict.XXXXXX)
pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Files older than the reconciliation's settling time, so they are adopted.
python3 - "$work/cache" "$N" "$SIZE" <<'PY'
import os, sys, time
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
old = time.time() - 7200
body = os.urandom(size)
for i in range(n):
    d = os.path.join(root, "e%d.pdb" % i, "%032X1" % i)
    os.makedirs(d)
    p = os.path.join(d, "e%d.pdb" % i)
    with open(p, "wb") as f:
        f.write(body)
    os.utime(p, (old, old))
PY

# Run the daemon with [cache] max_size = $1 until its log has $2.
run() {
    printf '[server]\nlisten = 127.0.0.1:0\nworkers = 2\n[cache]\ndir = %s\nmax_size = %s\nmin_free = 0\n' \
        "$work/cache" "$1" > "$work/conf"
    "$bin" -c "$work/conf" > "$work/log" 2>&1 & pid=$!
    for _ in $(seq 1200); do grep -q "$2" "$work/log" && break; sleep 0.1; done
    grep "$2" "$work/log" || { echo "bench: no '$2' in the log" >&2; cat "$work/log" >&2; exit 1; }
    kill "$pid"; wait "$pid" || true; pid=
}

rate() { python3 -c "import sys; n, ms = int(sys.argv[1]), int(sys.argv[2]); print('%d files in %d ms: %.0f files/s' % (n, ms, n * 1000 / max(ms, 1)))" "$1" "$2"; }

line=$(run 0 'reconciled:' | tail -1)
adopted=$(sed -n 's/.* \([0-9]*\) files adopted in \([0-9]*\) ms.*/\1 \2/p' <<<"$line")
echo "adoption: $(rate $adopted)"
line=$(run "$LIMIT" 'evicted ' | tail -1)
evicted=$(sed -n 's/.*evicted \([0-9]*\) files, [0-9]* bytes in \([0-9]*\) ms.*/\1 \2/p' <<<"$line")
echo "eviction: $(rate $evicted)"
