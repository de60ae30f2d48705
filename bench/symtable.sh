#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Benchmark of the symtable against llvm-symbolizer-14: time and peak RSS
# to read a symbol file, and lookups per second once it is read, on the
# same addresses in one process each.
#
#   bench/symtable.sh [BUILDDIR]      (default: the source tree)
#
# Inputs: the test fixtures (Breakpad .sym files next to the binaries they
# were dumped from), a generated Breakpad file with 50 000 functions, and
# generated ELF and PE+PDB programs with 50 000 functions when this build
# has those readers.  For every input it prints:
#   build   seconds and peak RSS for symsrvd-symbolize to read the file into
#           a symtable, next to llvm-symbolizer-14's first load (one address);
#   lookup  lookups/s from the table alone (--bench), and end to end with
#           output (N addresses minus the one-address run), next to
#           llvm-symbolizer-14 end to end on the same addresses;
#   ratio   ours / llvm for both.
# Every timing is the best of REPEAT (default 3) runs.
# Needs perl (address arithmetic), /usr/bin/time, and gcc / clang-14 +
# lld-link-14 for the generated programs.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top}
tool=$build/tools/symsrvd-symbolize
data=$top/tests/data/breakpad
work=$(mktemp -d /tmp/symtable-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

[ -x "$tool" ] || { echo "no $tool: build first" >&2; exit 1; }
command -v llvm-symbolizer-14 >/dev/null || {
    echo "llvm-symbolizer-14 not found" >&2; exit 1; }

now() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }

# run INPUT CMD...: sets $secs (best wall time of $REPEAT runs: the
# machine may be shared) and $rss (peak RSS, KiB).
run() {
    _in=$1; shift
    secs=
    for _i in $(seq "${REPEAT:-3}"); do
        _t0=$(now)
        /usr/bin/time -f %M -o "$work/rss" "$@" < "$_in" > /dev/null \
            2>"$work/err" || {
            echo "failed: $*" >&2; cat "$work/err" >&2; return 1; }
        _t1=$(now)
        secs=$(perl -e 'my ($a, $b, $best) = @ARGV; my $d = $b - $a;
            printf "%.4f", ($best ne "" && $best < $d) ? $best : $d' \
            "$_t0" "$_t1" "$secs")
    done
    rss=$(tail -n 1 "$work/rss")
}

# funcs_of SYM BASE > addrs: every byte of every FUNC, plus BASE.
funcs_of() {
    perl -ne 'BEGIN { $b = hex(shift @ARGV) }
        if (/^FUNC (?:m )?([0-9a-f]+) ([0-9a-f]+)/i) {
            for ($a = hex($1); $a < hex($1) + hex($2); $a++) {
                printf "0x%x\n", $a + $b } }' "$2" "$1"
}

# compare NAME OBJ ADDRS LLVM_OBJ LLVM_ADDRS [LLVM_OPTS [LLVM_MAX]]
# llvm-symbolizer gets the first LLVM_MAX addresses only (default all):
# on large PDBs it needs milliseconds per address.
compare() {
    name=$1 obj=$2 addrs=$3 lobj=$4 laddrs=$5 lopts=${6:---inlines}
    n=$(wc -l < "$addrs")
    head -n 1 "$addrs" > "$work/one"
    if [ -n "$laddrs" ]; then
        head -n 1 "$laddrs" > "$work/lone"
        head -n "${7:-$n}" "$laddrs" > "$work/lsome"
        ln=$(wc -l < "$work/lsome")
    fi

    run "$work/one" "$tool" --inlines --obj="$obj"
    our_build=$secs our_rss=$rss
    # Ours runs the list 5 times so the lookups outweigh the start-up.
    for _i in 1 2 3 4 5; do cat "$addrs"; done > "$work/many"
    run "$work/many" "$tool" --inlines --obj="$obj"
    our_all=$secs
    "$tool" --bench --inlines --save-table="$work/table" --obj="$obj" \
        < "$addrs" > "$work/bench"
    sizes="$(wc -c < "$obj") $(wc -c < "$work/table")"
    our_pure=$(awk '/^lookups_per_second/ {print $2}' "$work/bench")
    if [ -n "$lobj" ]; then
        run "$work/lone" llvm-symbolizer-14 $lopts --obj="$lobj"
        llvm_build=$secs llvm_rss=$rss
        run "$work/lsome" llvm-symbolizer-14 $lopts --obj="$lobj"
        llvm_all=$secs
    fi
    SIZES=$sizes perl -e '
        my ($name, $n, $ob, $orss, $oall, $opure, $lb, $lrss, $lall, $ln) =
            @ARGV;
        my $rate = sub { my ($all, $b, $k) = @_; my $d = $all - $b;
                         $d > 0 ? $k / $d : 0 };
        my $oe = $rate->($oall, $ob, 5 * $n);
        printf "%s (%d addresses; file %d bytes, symtable %d bytes)\n",
               $name, $n, split / /, $ENV{SIZES};
        printf "  ours  build %.3fs  rss %6d KiB  lookups/s: table %.0f, " .
               "end-to-end %.0f\n", $ob, $orss, $opure, $oe;
        exit 0 if $lb eq "";
        my $le = $rate->($lall, $lb, $ln);
        printf "  llvm  load  %.3fs  rss %6d KiB  lookups/s: end-to-end %.0f" .
               " (%d addresses)\n", $lb, $lrss, $le, $ln;
        printf "  ratio build %.2fx faster, lookups %.1fx (table) / %.1fx " .
               "(end-to-end)\n", $ob > 0 ? $lb / $ob : 0,
               $le > 0 ? $opure / $le : 0, $le > 0 ? $oe / $le : 0;
    ' "$name" "$n" "$our_build" "$our_rss" "$our_all" "$our_pure" \
        "${lobj:+$llvm_build}" "${lobj:+$llvm_rss}" "${lobj:+$llvm_all}" \
        "${lobj:+$ln}"
}

has_reader() { # has_reader FILE: does this build read FILE's format?
    "$tool" --ident --obj="$1" > /dev/null 2>&1
}

echo "== fixtures"
funcs_of "$data/macos/crash.inlines.sym" 0 > "$work/mac"
funcs_of "$data/macos/crash.inlines.sym" 0x100000000 > "$work/mac.va"
compare "macos/crash.inlines.sym vs dSYM" "$data/macos/crash.inlines.sym" \
    "$work/mac" "$data/macos/crash.dsym-dwarf" "$work/mac.va"
funcs_of "$data/windows/crash.sym" 0 > "$work/win"
funcs_of "$data/windows/crash.sym" 0x400000 > "$work/win.va"
# llvm-symbolizer-14 crashes on this PDB's inline sites: --no-inlines.
compare "windows/crash.sym vs crash.exe+pdb (llvm --no-inlines)" \
    "$data/windows/crash.sym" "$work/win" "$top/tests/data/pdb/crash.exe" \
    "$work/win.va" --no-inlines

echo "== generated Breakpad file, 50 000 functions (ours only)"
perl -e '
    print "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 big\n";
    print "FILE $_ /src/file$_.c\n" for 0..499;
    print "INLINE_ORIGIN $_ inline_fn_$_(int)\n" for 0..999;
    for my $f (0..49999) {
        my $a = 0x1000 + $f * 0x40;
        printf "FUNC %x 40 0 ns::function_%d(int, char const*)\n", $a, $f;
        printf "INLINE 0 %d %d %d %x 10\n", 10 + $f % 7, $f % 500,
            $f % 1000, $a + 8 if $f % 3 == 0;
        printf "%x 8 %d %d\n", $a + $_ * 8, 100 + $_, $f % 500 for 0..7;
    }' > "$work/big.sym"
perl -e 'printf "0x%x\n", 0x1000 + int(rand(50000 * 0x40)) for 1..200000' \
    > "$work/big.addrs"
compare "big.sym" "$work/big.sym" "$work/big.addrs" "" ""

gen_c() { # 50 000 functions, a third calling a static inline helper
    perl -e '
        print "static inline int helper(int x) { return x * 3 + 1; }\n";
        for my $i (0..49999) {
            if ($i % 3 == 0) {
                print "int f$i(int x) { return helper(x) + $i; }\n";
            } else {
                print "int f$i(int x) { return x ^ $i; }\n";
            }
        }
        print "int main(int c, char **v) { (void)v; return f0(c); }\n";'
}

# sample_syms OBJ BASE_ADJUST > addrs: 4 addresses in each defined function.
sample_syms() {
    llvm-nm-14 --defined-only -S "$1" 2>/dev/null | perl -ne '
        if (/^([0-9a-f]+) ([0-9a-f]+) [tT] /) {
            my ($a, $s) = (hex($1), hex($2));
            printf "0x%x\n", $a + int($_ * $s / 4) for 0..3 }'
}

echo "== generated ELF, 50 000 functions (gcc -g -O1)"
gen_c > "$work/big.c"
if command -v gcc >/dev/null && gcc -g -O1 -o "$work/big.elf" "$work/big.c" &&
    has_reader "$work/big.elf"; then
    sample_syms "$work/big.elf" > "$work/elf.addrs"
    compare "big.elf" "$work/big.elf" "$work/elf.addrs" "$work/big.elf" \
        "$work/elf.addrs"
else
    echo "  skipped: no gcc or no ELF reader in this build"
fi

echo "== generated PE+PDB, 50 000 functions (clang-14 + lld-link-14 /debug)"
if command -v clang-14 >/dev/null && command -v lld-link-14 >/dev/null &&
    clang-14 --target=x86_64-pc-windows-msvc -g -gcodeview -O1 -c \
        -o "$work/big.obj" "$work/big.c" 2>/dev/null &&
    lld-link-14 /debug /entry:main /subsystem:console /nodefaultlib \
        /out:"$work/big.exe" /pdb:"$work/big.pdb" "$work/big.obj" \
        >/dev/null 2>&1 &&
    has_reader "$work/big.pdb"; then
    # PDB RVAs for us, ImageBase + RVA for llvm-symbolizer on the .exe.
    base=$(llvm-readobj-14 --file-headers "$work/big.exe" |
        awk '/ImageBase:/ {print $2}')
    # The image has no symbol table: sample .text uniformly instead.
    llvm-readobj-14 --sections "$work/big.exe" | perl -ne '
        $in = 1 if /Name: \.text/; $in = 0 if /Name: \.(?!text)/;
        $va = hex($1) if $in && /VirtualAddress: 0x([0-9A-F]+)/i;
        $sz = hex($1) if $in && /VirtualSize: 0x([0-9A-F]+)/i;
        END { printf "0x%x\n", $va + int(rand($sz)) for 1..200000 }' \
        > "$work/pe.rva"
    perl -ne "printf \"0x%x\\n\", hex(\$_) + $base" "$work/pe.rva" \
        > "$work/pe.va"
    compare "big.pdb" "$work/big.pdb" "$work/pe.rva" "$work/big.exe" \
        "$work/pe.va" --inlines 200
else
    echo "  skipped: no clang-14/lld-link-14 or no PDB reader in this build"
fi
