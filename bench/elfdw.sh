#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/elfdw.sh: time and peak RSS of building a symtable from a large
# generated ELF file with DWARF (gcc -g -O1; default 50 000 functions with
# inlined helpers over 10 compile units), side by side with
# llvm-symbolizer-14 loading the same file, then lookups per second.
#
# Usage: bench/elfdw.sh [NFUNCS] [BUILDDIR]
#   BUILDDIR holds src/symsrvd-symbolize (default: the source tree).
# Needs gcc, nm, GNU time (/usr/bin/time) and llvm-symbolizer-14.
#
# What is compared:
#   ours         symsrvd-symbolize --bench: map the file, walk all DWARF
#                (functions, lines, inlines) and the symbol table into a
#                symtable, then look every function start up for a second.
#   llvm-1       llvm-symbolizer-14 --inlines for one address: its first
#                load, which parses only the CU that address needs.
#   llvm-all     llvm-symbolizer-14 --inlines for every function start in
#                one process: every CU parsed, as our build does up front.
set -e

nfuncs=${1:-50000}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${2:-$top}
tool=$builddir/tools/symsrvd-symbolize
files=10

for t in gcc nm /usr/bin/time llvm-symbolizer-14 "$tool"; do
    command -v "$t" >/dev/null 2>&1 || { echo "elfdw.sh: $t not found" >&2; exit 77; }
done

work=$(mktemp -d /tmp/bench-elfdw.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

# Each function inlines two helpers (one nested in the other), so the DWARF
# has subprograms, inlined_subroutine chains of depth 2 and line rows.
per=$((nfuncs / files))
f=0
while [ "$f" -lt "$files" ]; do
    awk -v f="$f" -v per="$per" 'BEGIN {
        print "static inline __attribute__((always_inline)) unsigned"
        print "mix(unsigned x) { x ^= x >> 7; return x * 0x9e3779b1u; }"
        print "static inline __attribute__((always_inline)) unsigned"
        print "twice(unsigned x) { return mix(x) + mix(x + 1); }"
        for (i = 0; i < per; i++) {
            n = f * per + i
            printf "unsigned fn%d(unsigned x)\n{\n", n
            printf "    unsigned s = %du;\n", n
            printf "    for (unsigned i = 0; i < (x & 3); i++)\n"
            printf "        s += twice(s ^ i);\n"
            printf "    return s;\n}\n"
        }
    }' > "$work/gen$f.c"
    f=$((f + 1))
done
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
first=$(head -n 1 "$work/addrs")

measure() { # label command... (stdin: addresses) -> "label seconds KiB"
    label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>/dev/null
    set -- $(cat "$work/time")
    printf '%-10s %8.2f s %10d KiB\n' "$label" "$1" "$2"
}

echo "file: $size bytes, $naddrs function symbols"
measure ours "$tool" --inlines --bench --obj="$work/big" < "$work/addrs"
grep -E '^(build_seconds|lookups_per_second)' "$work/out" | sed 's/^/           /'
echo "$first" > "$work/one"
measure llvm-1 llvm-symbolizer-14 --inlines --obj="$work/big" < "$work/one"
measure llvm-all llvm-symbolizer-14 --inlines --obj="$work/big" < "$work/addrs"
set -- $(cat "$work/time")
awk -v n="$naddrs" -v s="$1" 'BEGIN {
    if (s > 0) printf "           llvm-all: %.0f addresses per second, load included\n", n / s }'
