#!/usr/bin/env bash
# Hit-path benchmark: wrk against symsrvd and against nginx serving the
# same files from the same disk, in the same run, for a 4 KiB, a 64 KiB
# and a 1 MiB file at 64 connections, with each server's CPU time per
# request; RSS and PSS of the workers under that load; and the latency a
# cold miss adds over a direct fetch from the upstream.
#
# The 4 KiB file is also loaded with a new connection per request.
# The 1 MiB file is loaded twice per round: by wrk, and by bench/hitload.c,
# which drops each body in the kernel (recv with MSG_TRUNC) instead of
# copying it out.  wrk's copy takes most of the two cores at that size, so
# with wrk both servers run at the client's rate; with hitload the servers'
# own cost decides.
#
# usage: bench/hits.sh [SYMSRVD_BINARY]    (needs wrk, nginx, python3, curl, cc)
# env:   DURATION=6s CONNS=64 THREADS=2 WORKERS=2 ROUNDS=4
#        BASELINE=OTHER_SYMSRVD_BINARY: measured too, in the same rounds, so
#        that a change is judged against the same background load
#        LOADS="4KiB:wrk 4KiB:close 64KiB:wrk 1MiB:wrk 1MiB:hitload": the
#        loads to run (all by default), so that a noisy one can get more
#        rounds alone
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../src/symsrvd}
DURATION=${DURATION:-6s} CONNS=${CONNS:-64} THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
case $DURATION in *[0-9]s) ;; *) echo "bench: DURATION is seconds, e.g. 10s" >&2; exit 1 ;; esac
[ -x "$bin" ] || { echo "bench: no $bin; give the built symsrvd" >&2; exit 1; }
for tool in wrk nginx python3 curl cc; do
    command -v $tool >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
work=$(mktemp -d /tmp/symsrvd-bench.XXXXXX)
chmod 755 "$work" # nginx workers run as an unprivileged user
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cc -O2 -o "$work/hitload" "$here/hitload.c"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }

# The upstream: a plain static server with the test files.
mkdir -p "$work/up" "$work/cache"
mk() { mkdir -p "$work/up/$1/$2"; head -c "$3" /dev/urandom > "$work/up/$1/$2/$1"; }
mk small.pdb 11111111111111111111111111111111A 4096
mk medium.pdb 44444444444444444444444444444444A 65536
mk large.pdb 22222222222222222222222222222222A 1048576
for i in $(seq 1 20); do mk "cold$i.pdb" "3333333333333333333333333333333${i}" 1048576; done
up_port=$(free_port)
python3 -m http.server "$up_port" --bind 127.0.0.1 -d "$work/up" >/dev/null 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$up_port/small.pdb/11111111111111111111111111111111A/small.pdb"

# symsrvd BINARY on its own cache dir DIR, filled by the first requests;
# sets URL and MASTER.
start_symsrvd() {
    local port
    port=$(free_port)
    mkdir -p "$2"
    SYMSRVD_SERVER_ACCESS_LOG=off "$1" -l 127.0.0.1:$port -d "$2" \
        -u "http://127.0.0.1:$up_port" -w "$WORKERS" 2>"$2.log" & pids+=($!)
    MASTER=$!
    URL=http://127.0.0.1:$port
    wait_http "$URL/health"
    curl -sf -o /dev/null $URL/small.pdb/11111111111111111111111111111111A/small.pdb
    curl -sf -o /dev/null $URL/medium.pdb/44444444444444444444444444444444A/medium.pdb
    curl -sf -o /dev/null $URL/large.pdb/22222222222222222222222222222222A/large.pdb
}
start_symsrvd "$bin" "$work/cache"
S=$URL master=$MASTER
if [ -n "${BASELINE:-}" ]; then
    start_symsrvd "$BASELINE" "$work/cache-baseline"
    B=$URL bmaster=$MASTER
fi

# nginx serving the very same files from symsrvd's cache tree.
nport=$(free_port)
cat > "$work/nginx.conf" <<NGINX
worker_processes $WORKERS;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$nport; root $work/cache; }
}
NGINX
nginx -c "$work/nginx.conf" -g 'daemon off;' & pids+=($!)
nmaster=$!
N=http://127.0.0.1:$nport
wait_http "$N/small.pdb/11111111111111111111111111111111A/small.pdb"

# CPU ticks (user + system) of the worker processes under MASTER.
ticks() { local t=0 p; for p in $(pgrep -P "$1"); do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
# "REQ/S CPU-US-PER-REQUEST" for URL served by the workers under MASTER,
# loaded by CLIENT: wrk, close (wrk with a new connection per request, as
# debuginfod-find and other one-shot clients make) or hitload.
rps() {
    local t0 out
    t0=$(ticks "$2")
    if [ "$3" != hitload ]; then
        local hdr=()
        [ "$3" = wrk ] || hdr=(-H "Connection: close")
        out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" "${hdr[@]}" "$1" |
              awk '/requests in/ {n = $1} /Requests\/sec/ {r = $2} END {print r, n}')
    else
        local hp=${1#http://127.0.0.1:}
        out=$("$work/hitload" "${hp%%/*}" "/${hp#*/}" "$CONNS" "${DURATION%s}")
    fi
    echo "$out" | awk -v t="$(( $(ticks "$2") - t0 ))" -v hz="$(getconf CLK_TCK)" \
        '{printf "%s %.1f", $1, t * 1e6 / hz / $2}'
}
# RSS/PSS in MiB of each worker under MASTER (default symsrvd's); PSS
# splits shared pages (the page cache that mapped bodies touch) between the
# processes that map them.
worker_rss() {
    local p
    for p in $(pgrep -P "${1:-$master}"); do
        printf '%s/%s ' "$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$p/status)" \
            "$(awk '/^Pss:/ {printf "%.1f", $2/1024}' /proc/$p/smaps_rollup)"
    done
}

echo "symsrvd $("$bin" -V | awk '{print $2}'), $WORKERS workers; nginx $(nginx -v 2>&1 | cut -d/ -f2), $WORKERS workers; wrk -t$THREADS -c$CONNS -d$DURATION"
echo "worker RSS/PSS before load (MiB): $(worker_rss)"
# ROUNDS alternating runs per size, so background load hits both servers
# alike; the median ratio is reported with every round's figures.  Five
# loads of 4 rounds of 6 s: about 4.5 minutes, 6.5 with a baseline.
ROUNDS=${ROUNDS:-4}
# "median (lowest-highest round, rounds above 1)" of the ratios on stdin:
# with wrk the rounds spread by +-15%, so the median alone can mislead.
summary() {
    sort -g | awk '{v[NR]=$1; up+=($1>1)}
        END {printf "%.2f (rounds %.2f-%.2f, above 1.00 in %d of %d)",
                    v[int((NR+1)/2)], v[1], v[NR], up, NR}'
}
# How many of the rounds' symsrvd figures beat the baseline's.
beats() {
    paste -d' ' <(echo $1 | tr ' ' '\n') <(echo $2 | tr ' ' '\n') |
        awk '{up+=($1>$2)} END {printf "%d of %d", up, NR}'
}
LOADS=${LOADS:-4KiB:wrk 4KiB:close 64KiB:wrk 1MiB:wrk 1MiB:hitload}
for load in $LOADS; do
    case $load in
        4KiB:wrk | 4KiB:close) f=small.pdb/11111111111111111111111111111111A/small.pdb:$load ;;
        64KiB:wrk) f=medium.pdb/44444444444444444444444444444444A/medium.pdb:$load ;;
        1MiB:wrk | 1MiB:hitload) f=large.pdb/22222222222222222222222222222222A/large.pdb:$load ;;
        *) echo "bench: unknown load $load (LOADS)" >&2; exit 1 ;;
    esac
    path=${f%%:*} client=${f##*:} label=${f#*:} ratios="" bratios=""
    label=${label%:*}
    case $client in
        close) label="$label, a connection per request" ;;
        hitload) label="$label, hitload" ;;
    esac
    for r in $(seq 1 "$ROUNDS"); do
        # Who goes first alternates: a run can leave the next one a
        # slightly different machine (sockets in TIME_WAIT, freed memory).
        if [ $((r % 2)) = 1 ]; then
            read -r n ncpu <<<"$(rps "$N/$path" "$nmaster" "$client")"
            read -r s scpu <<<"$(rps "$S/$path" "$master" "$client")"
            [ -z "${B:-}" ] || read -r b bcpu <<<"$(rps "$B/$path" "$bmaster" "$client")"
        else
            [ -z "${B:-}" ] || read -r b bcpu <<<"$(rps "$B/$path" "$bmaster" "$client")"
            read -r s scpu <<<"$(rps "$S/$path" "$master" "$client")"
            read -r n ncpu <<<"$(rps "$N/$path" "$nmaster" "$client")"
        fi
        ratio=$(echo "$s / $n" | bc -l)
        ratios="$ratios $ratio"
        printf '%-5s round %d: nginx %7.0f req/s %6.1f us/req, symsrvd %7.0f req/s %6.1f us/req, ratio %.2f\n' \
            "$label" "$r" "$n" "$ncpu" "$s" "$scpu" "$ratio"
        [ -n "${B:-}" ] || continue
        bratios="$bratios $(echo "$b / $n" | bc -l)"
        printf '%-5s          baseline %7.0f req/s %6.1f us/req, ratio %.2f\n' \
            "" "$b" "$bcpu" "$(echo "$b / $n" | bc -l)"
    done
    printf '%-5s median ratio symsrvd/nginx: %s\n' "$label" \
        "$(echo $ratios | tr ' ' '\n' | summary)"
    [ -z "${B:-}" ] || printf '%-5s median ratio baseline/nginx: %s; symsrvd above baseline in %s rounds\n' \
        "$label" "$(echo $bratios | tr ' ' '\n' | summary)" "$(beats "$ratios" "$bratios")"
    echo "      worker RSS/PSS after (MiB): $(worker_rss)${B:+ baseline: $(worker_rss "$bmaster")}"
done

# Cold miss: symsrvd's added latency over fetching from the upstream directly.
direct=0 proxied=0
for i in $(seq 1 20); do
    p=cold$i.pdb/3333333333333333333333333333333${i}/cold$i.pdb
    d=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$up_port/$p")
    c=$(curl -s -o /dev/null -w '%{time_total}' "$S/$p")
    direct=$(echo "$direct + $d" | bc -l); proxied=$(echo "$proxied + $c" | bc -l)
done
printf 'cold miss (1 MiB, mean of 20): direct %.1f ms, via symsrvd %.1f ms, added %.1f ms\n' \
    "$(echo "$direct * 50" | bc -l)" "$(echo "$proxied * 50" | bc -l)" \
    "$(echo "($proxied - $direct) * 50" | bc -l)"
