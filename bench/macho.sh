#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/macho.sh: building a symtable from a large generated dSYM, side by
# side with llvm-symbolizer-14 loading the same dSYM, then lookups per
# second; the same run measures both.
#
# Usage: bench/macho.sh [NFUNCS] [BUILDDIR]
#   NFUNCS functions (default 20 000) with inlined helpers over 10 compile
#   units, clang-14 --target=x86_64-apple-macos11 -g -O1, linked by
#   ld64.lld-14 and given a dSYM by dsymutil-14.  BUILDDIR holds
#   tools/symsrvd-symbolize (default: the source tree).
# Needs clang-14, lld-14 (ld64.lld-14), llvm-14 (dsymutil-14,
# llvm-nm-14, llvm-symbolizer-14), perl and GNU time (/usr/bin/time).
#
# What is compared:
#   ours       symsrvd-symbolize --bench on the binary (its dSYM beside it):
#              map both, copy the DWARF into an ELF image for libdw, walk
#              every CU into a symtable (build_seconds), then look every
#              function start up for a second (lookups_per_second).
#   ours-1     symsrvd-symbolize --inlines with one address: the cold path
#              (only the CU that address falls in).
#   llvm-1     llvm-symbolizer-14 --inlines for that address: its first
#              load.
#   llvm-all   llvm-symbolizer-14 --inlines for every function start in one
#              process: addresses per second, load included.
set -e

nfuncs=${1:-20000}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${2:-$top}
tool=$builddir/tools/symsrvd-symbolize
files=10

for t in clang-14 ld64.lld-14 dsymutil-14 llvm-nm-14 llvm-symbolizer-14 \
    perl /usr/bin/time "$tool"; do
    command -v "$t" >/dev/null 2>&1 || { echo "macho.sh: $t not found" >&2; exit 77; }
done

work=$(mktemp -d /tmp/bench-macho.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

. "$top/bench/lib.sh"
gen_functions "$nfuncs" "$files"
echo 'unsigned fn0(unsigned); int main(void) { return (int)fn0(3); }' > "$work/main.c"

echo "generating and compiling $nfuncs functions (clang-14 -g -O1, x86_64 macOS)..." >&2
(cd "$work" && for c in gen*.c main.c; do
    clang-14 --target=x86_64-apple-macos11 -g -O1 -c "$c"; done &&
    ld64.lld-14 -arch x86_64 -platform_version macos 11.0 11.0 -o big gen*.o main.o &&
    dsymutil-14 big)
llvm-nm-14 "$work/big" | awk '$2 == "T" || $2 == "t" { print "0x" $1 }' > "$work/addrs"
size=$(wc -c < "$work/big.dSYM/Contents/Resources/DWARF/big")
naddrs=$(wc -l < "$work/addrs")

echo "dSYM DWARF file: $size bytes, $naddrs function symbols"
measure ours "$tool" --inlines --bench --obj="$work/big" < "$work/addrs"
grep -E '^(build_seconds|lookups_per_second)' "$work/out" | sed 's/^/           /'
mid=$(sed -n "$((naddrs / 2 + 1))p" "$work/addrs")
measure ours-1 "$tool" --inlines --obj="$work/big" "$mid"
measure llvm-1 llvm-symbolizer-14 --inlines --obj="$work/big" "$mid"
measure llvm-all llvm-symbolizer-14 --inlines --obj="$work/big" < "$work/addrs"
set -- $(cat "$work/time")
awk -v n="$naddrs" -v s="$1" 'BEGIN {
    if (s > 0) printf "           llvm-all: %.0f addresses per second, load included\n", n / s }'
