#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/elfdw.sh: time and peak RSS of building a symtable from a large
# generated ELF file with DWARF (gcc -g -O1; default 50 000 functions with
# inlined helpers over 10 compile units), side by side with
# llvm-symbolizer-14 loading the same file, then lookups per second.
#
# Usage: bench/elfdw.sh [NFUNCS] [BUILDDIR]
#   BUILDDIR holds tools/symsrvd-symbolize and src/symsrvd (default: the
#   source tree).
# Needs gcc, nm, perl, GNU time (/usr/bin/time) and llvm-symbolizer-14.
#
# What is compared:
#   ours         symsrvd-symbolize --bench: map the file, walk all DWARF
#                (functions, lines, inlines) and the symbol table into a
#                symtable, then look every function start up for a second.
#   ours-1       symsrvd-symbolize --inlines with one address on the
#                command line: the cold path, which reads only the CU that
#                address falls in (elfdw_build_for).
#   llvm-1       llvm-symbolizer-14 --inlines for the same address: its
#                first load, which parses only the CU that address needs.
#   cold ratio   ours-1 / llvm-1, each the best of REPEAT (default 5) runs
#                alternating in the same run; the floor is <= 1.00.
#   daemon cold  POST /symbolicate with that one frame to a fresh symsrvd
#                (BUILDDIR/src/symsrvd) that holds the file in its cache
#                but no table yet; ratio against llvm-1's best.
#   llvm-all     llvm-symbolizer-14 --inlines for every function start in
#                one process: every CU parsed, as our build does up front.
set -e

nfuncs=${1:-50000}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${2:-$top}
tool=$builddir/tools/symsrvd-symbolize
files=10

for t in gcc nm perl /usr/bin/time llvm-symbolizer-14 "$tool"; do
    command -v "$t" >/dev/null 2>&1 || { echo "elfdw.sh: $t not found" >&2; exit 77; }
done

work=$(mktemp -d /tmp/bench-elfdw.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

. "$top/bench/lib.sh"
gen_functions "$nfuncs" "$files"
cat > "$work/main.c" <<'EOC'
unsigned fn0(unsigned);
int main(int argc, char **argv) { (void)argv; return (int)fn0((unsigned)argc); }
EOC

echo "generating and compiling $nfuncs functions (gcc -g -O1)..." >&2
(cd "$work" && for c in gen*.c main.c; do gcc -g -O1 -c "$c"; done &&
    gcc -o big gen*.o main.o)
nm "$work/big" | awk '$2 == "T" || $2 == "t" { print "0x" $1 }' > "$work/addrs"
size=$(wc -c < "$work/big")
naddrs=$(wc -l < "$work/addrs")

echo "file: $size bytes, $naddrs function symbols"
measure ours "$tool" --inlines --bench --obj="$work/big" < "$work/addrs"
grep -E '^(build_seconds|lookups_per_second)' "$work/out" | sed 's/^/           /'
# One address in the middle of the file, so neither side gets the first
# CU for free.
mid=$(sed -n "$((naddrs / 2 + 1))p" "$work/addrs")
now() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }
best() { # command... -> best wall seconds of $REPEAT runs, in $work/best.$1
    _label=$1
    shift
    _t0=$(now)
    "$@" > /dev/null 2>&1
    _t1=$(now)
    perl -e 'my ($a, $b, $f) = @ARGV; my $d = $b - $a;
        my $old = -e $f ? do { open my $h, "<", $f; <$h> } : "";
        printf "%.4f\n", ($old ne "" && $old < $d) ? $old : $d' \
        "$_t0" "$_t1" "$work/best.$_label" > "$work/best.$_label.new"
    mv "$work/best.$_label.new" "$work/best.$_label"
}
for _i in $(seq "${REPEAT:-5}"); do
    best ours "$tool" --inlines --obj="$work/big" "$mid"
    best llvm llvm-symbolizer-14 --inlines --obj="$work/big" "$mid"
done
measure ours-1 "$tool" --inlines --obj="$work/big" "$mid"
measure llvm-1 llvm-symbolizer-14 --inlines --obj="$work/big" "$mid"
perl -e 'my ($o, $l) = @ARGV; printf "cold 1 address (best of %d): ours %.4f s, " .
    "llvm %.4f s, ratio ours/llvm %.2f\n", $ENV{REPEAT} || 5, $o, $l,
    $l > 0 ? $o / $l : 0' "$(cat "$work/best.ours")" "$(cat "$work/best.llvm")"

# The daemon: a cold POST /symbolicate for the same address, the file in
# its cache and no table yet (best of REPEAT, each on a fresh daemon with
# the saved table removed), against llvm-1 above.
daemon=$builddir/src/symsrvd
if [ -x "$daemon" ] && command -v curl >/dev/null && command -v readelf >/dev/null; then
    bid=$(readelf -n "$work/big" | awk '/Build ID/ { print toupper($3) }')
    dir="$work/cache/_.debug/ELF-BUILDID-SYM-$bid"
    mkdir -p "$dir"
    cp "$work/big" "$dir/_.debug"
    port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
    perl -e 'my ($b, $a) = @ARGV; printf "{\"stacktraces\":[{\"frames\":[{\"instruction_addr\":\"0x%x\"}]}],\"modules\":[{\"type\":\"elf\",\"code_id\":\"%s\",\"image_addr\":\"0x10000000\",\"image_size\":268435456}]}", 0x10000000 + hex($a), lc $b' \
        "$bid" "$mid" > "$work/req.json"
    post() {
        curl -s -o "$work/answer" -w '%{time_total}\n' -H 'Content-Type: application/json' \
            --data-binary @"$work/req.json" "http://127.0.0.1:$port/symbolicate"
    }
    rm -f "$work/best.daemon"
    for _i in $(seq "${REPEAT:-5}"); do
        rm -f "$dir/_.debug.SYMTABLE"
        "$daemon" -l "127.0.0.1:$port" -d "$work/cache" -w 1 > "$work/daemon.log" 2>&1 &
        dpid=$!
        for _j in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthcheck" && break; sleep 0.05; done
        t=$(post)
        perl -e 'my ($t, $f) = @ARGV; my $o = -e $f ? do { open my $h, "<", $f; <$h> } : "";
            printf "%.4f\n", ($o ne "" && $o < $t) ? $o : $t' "$t" "$work/best.daemon" > "$work/best.daemon.new"
        mv "$work/best.daemon.new" "$work/best.daemon"
        for _j in $(seq 200); do [ -f "$dir/_.debug.SYMTABLE" ] && break; sleep 0.05; done
        warm=$(post)
        kill "$dpid"; wait "$dpid" 2>/dev/null || true
    done
    grep -q '"lineno"' "$work/answer" || { echo "elfdw.sh: the daemon's answer has no line" >&2; cat "$work/answer" >&2; exit 1; }
    perl -e 'my ($d, $l, $w) = @ARGV; printf "daemon cold POST /symbolicate, 1 frame (best of %d): %.4f s, " .
        "llvm-1 %.4f s, ratio daemon/llvm %.2f; with the complete table: %.4f s\n",
        $ENV{REPEAT} || 5, $d, $l, $l > 0 ? $d / $l : 0, $w' \
        "$(cat "$work/best.daemon")" "$(cat "$work/best.llvm")" "$warm"
fi
measure llvm-all llvm-symbolizer-14 --inlines --obj="$work/big" < "$work/addrs"
set -- $(cat "$work/time")
awk -v n="$naddrs" -v s="$1" 'BEGIN {
    if (s > 0) printf "           llvm-all: %.0f addresses per second, load included\n", n / s }'
