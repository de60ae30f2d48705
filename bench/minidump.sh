#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/minidump.sh: POST /minidump end to end for each fixture dump in
# tests/data/minidump, with its symbols from a filesystem source: the first
# request (cold: tables built) and the median of the next RUNS (warm), and
# the peak RSS of the workers while CONCURRENT /symbolicate jobs of FRAMES
# frames run at once, then while CONCURRENT /minidump jobs do, ROUNDS
# times (the RSS after each round shows whether it grows without bound).
#
# Usage: bench/minidump.sh [BUILDDIR]   (BUILDDIR holds src/symsrvd)
# env:   RUNS=9 CONCURRENT=50 FRAMES=1000 WORKERS=2 ROUNDS=5
set -e

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top}
bin=$builddir/src/symsrvd
RUNS=${RUNS:-9} CONCURRENT=${CONCURRENT:-50} FRAMES=${FRAMES:-1000}
WORKERS=${WORKERS:-2} ROUNDS=${ROUNDS:-5}
data=$top/tests/data
command -v python3 >/dev/null 2>&1 || { echo "minidump.sh: python3 not found" >&2; exit 77; }
work=$(mktemp -d /tmp/symsrvd-mdbench.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

s=$work/store
mkdir -p "$s/crash.pdb/3249D99D0C4049318610F4E4FB0B69361" "$s/f1" \
    "$s/crash/67E9247C814E392BA027DBDE6748FCBF0"
cp "$data/pdb/crash.pdb" "$s/crash.pdb/3249D99D0C4049318610F4E4FB0B69361/"
cp "$data/elf/crash" "$s/f1/c3bcc0279865fe3058404b2831d9e64135386c"
cp "$data/elf/crash.debug" "$s/f1/c3bcc0279865fe3058404b2831d9e64135386c.debug"
cp "$data/breakpad/macos/crash.sym" "$s/crash/67E9247C814E392BA027DBDE6748FCBF0/"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SYMSRVD_SYMBOLICATE_FILESYSTEM_ROOTS=$s SYMSRVD_SYMBOLICATE_MAX_JOBS=100 \
    "$bin" -l 127.0.0.1:$port -d "$work/cache" -w "$WORKERS" >"$work/log" 2>&1 &
pid=$!

echo "# RUNS=$RUNS CONCURRENT=$CONCURRENT FRAMES=$FRAMES WORKERS=$WORKERS ROUNDS=$ROUNDS sh bench/minidump.sh $builddir"
python3 - "$port" "$s" "$data" "$RUNS" "$CONCURRENT" "$FRAMES" "$pid" "$ROUNDS" <<'PY'
import http.client, json, os, statistics, sys, threading, time, urllib.request
port, store, data, runs, conc, nframes, master, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
for _ in range(200):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s/healthcheck" % port); break
    except Exception: time.sleep(0.05)
sources = json.dumps([{"id": "fs", "type": "filesystem", "path": store}])

def form(dump):
    b = "symsrvd-bench-boundary"
    body = b"".join([
        ("--%s\r\nContent-Disposition: form-data; name=\"upload_file_minidump\"; filename=\"d\"\r\n\r\n" % b).encode(),
        open(dump, "rb").read(), b"\r\n",
        ("--%s\r\nContent-Disposition: form-data; name=\"sources\"\r\n\r\n%s\r\n--%s--\r\n" % (b, sources, b)).encode()])
    return body, "multipart/form-data; boundary=" + b

def post(path, body, ctype):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    t0 = time.time()
    c.request("POST", path, body, {"Content-Type": ctype})
    r = c.getresponse(); d = r.read()
    assert r.status == 200 and b'"completed"' in d[:60], d[:200]
    return time.time() - t0

for name in ("windows", "linux", "macos"):
    body, ctype = form(os.path.join(data, "minidump", name + ".dmp"))
    cold = post("/minidump", body, ctype)
    warm = statistics.median(post("/minidump", body, ctype) for _ in range(runs))
    print("minidump %-8s cold %6.1f ms, warm %6.1f ms (median of %d)" % (name, cold * 1000, warm * 1000, runs))

# RSS under CONCURRENT /symbolicate jobs at once (the PDB module, FRAMES frames each)
req = json.dumps({"sources": json.loads(sources),
                  "stacktraces": [{"frames": [{"instruction_addr": hex(0x1001000 + (i * 97) % 0x8000)} for i in range(nframes)]}],
                  "modules": [{"type": "pe", "debug_id": "3249d99d-0c40-4931-8610-f4e4fb0b6936-1", "code_id": "5AB380779000",
                               "debug_file": "crash.pdb", "code_file": "crash.exe", "image_addr": "0x1000000", "image_size": 36864}]}).encode()
workers = [int(p) for p in open("/proc/%d/task/%d/children" % (master, master)).read().split()]
peak = {w: 0 for w in workers}
stop = False
def sample():
    while not stop:
        for w in workers:
            try:
                for line in open("/proc/%d/status" % w):
                    if line.startswith("VmRSS:"): peak[w] = max(peak[w], int(line.split()[1]))
            except OSError: pass
        time.sleep(0.005)
def rss():
    out = []
    for w in workers:
        for line in open("/proc/%d/status" % w):
            if line.startswith("VmRSS:"): out.append(int(line.split()[1]) // 1024)
    return out

def at_once(jobs):
    ts = [threading.Thread(target=post, args=a) for a in jobs]
    t0 = time.time()
    [t.start() for t in ts]; [t.join() for t in ts]
    return time.time() - t0

th = threading.Thread(target=sample); th.start()
el = at_once([("/symbolicate", req, "application/json")] * conc)
print("%d concurrent /symbolicate jobs of %d frames: %.2f s, peak RSS per worker: %s" % (conc, nframes, el, ", ".join("%d MiB" % (v // 1024) for v in peak.values())))
# CONCURRENT /minidump jobs at once (the three dumps in turn), ROUNDS
# times: the RSS after each round must level off, not keep growing
forms = [form(os.path.join(data, "minidump", n + ".dmp")) for n in ("windows", "linux", "macos")]
for k in range(rounds):
    for w in workers: peak[w] = 0
    el = at_once([("/minidump",) + forms[i % 3] for i in range(conc)])
    print("round %d: %d concurrent /minidump jobs: %.2f s, peak RSS per worker: %s; after: %s" % (k + 1, conc, el, ", ".join("%d MiB" % (v // 1024) for v in peak.values()), ", ".join("%d MiB" % v for v in rss())))
stop = True; th.join()
PY
