#!/bin/sh
# SPDX-License-Identifier: MIT
#
# symsrvd-symbolize against llvm-symbolizer-14 on ELF programs built here
# by gcc -g -O2 (with inlining), at every byte of every function:
#   - without inlines: the outer function and the innermost file:line must
#     be identical for every address;
#   - with --inlines: whole chains, reported, and at least 99 % identical;
#   - --relative on a non-PIE build (image base = its first PT_LOAD) must
#     answer like the absolute addresses.
# Skips (77) without gcc, llvm-symbolizer-14, llvm-nm-14 or perl, or when
# this build has no ELF reader (sym/elf/elfdw.c).
set -eu

tool=${abs_top_builddir:-..}/tools/symsrvd-symbolize
for tp in gcc:gcc llvm-symbolizer-14:llvm-14 llvm-nm-14:llvm-14 \
    llvm-readobj-14:llvm-14 perl:perl; do
    command -v "${tp%:*}" > /dev/null ||
        { echo "SKIP: ${tp%:*} not found (Debian package ${tp#*:})"; exit 77; }
done
work=$(mktemp -d /tmp/check_symbolize_elf.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

cat > "$work/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>

static inline int leaf(int x)
{
    if (x & 1)
        return x * 3 + 1;
    return x / 2;
}

static inline int middle(int x)
{
    int s = 0;

    for (int i = 0; i < x % 7; i++)
        s += leaf(x + i);
    return s;
}

static int __attribute__((noinline)) outer(int x)
{
    return middle(x) + leaf(x * 5);
}

static void __attribute__((noinline, cold)) fail(const char *what)
{
    fprintf(stderr, "%s\n", what);
    exit(2);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;

    if (n < 0)
        fail("negative");
    printf("%d\n", outer(n) + middle(n * 2));
    return 0;
}
EOF
gcc -g -O2 -o "$work/pie" "$work/prog.c"
gcc -g -O2 -no-pie -o "$work/nopie" "$work/prog.c"
if ! "$tool" --ident --obj="$work/pie" > /dev/null 2>&1; then
    echo "SKIP: this build has no ELF reader"
    exit 77
fi

# Every byte of every function with a size, as 0x addresses.
every_byte() {
    llvm-nm-14 -S --defined-only "$1" | perl -ne '
        if (/^([0-9a-f]+) ([0-9a-f]+) [tTwW] /) {
            printf "0x%x\n", $_ for hex($1) .. hex($1) + hex($2) - 1 }'
}

# compare NAME OPTS: diff the two tools' GNU-style output; prints the
# agreement and leaves the number of differing lines in $bad.
compare() {
    every_byte "$work/$1" > "$work/addrs"
    "$tool" $2 --output-style=GNU --obj="$work/$1" < "$work/addrs" \
        > "$work/ours"
    llvm-symbolizer-14 $2 --output-style=GNU --obj="$work/$1" \
        < "$work/addrs" | sed 's/ (discriminator [0-9]*)$//' > "$work/theirs"
    total=$(wc -l < "$work/theirs")
    bad=$(diff "$work/ours" "$work/theirs" | grep -c '^<' || true)
    echo "$1 $2: $((total - bad))/$total lines agree with llvm-symbolizer-14"
    diff "$work/ours" "$work/theirs" | head -n 20 || true
}

status=0
compare pie --no-inlines
[ "$bad" -eq 0 ] || status=1
compare pie --inlines
[ $((bad * 100)) -lt "$total" ] || status=1
compare nopie --inlines
[ $((bad * 100)) -lt "$total" ] || status=1

# --relative: offsets from the lowest PT_LOAD give what the absolute
# addresses give.
base=$(llvm-readobj-14 --program-headers "$work/nopie" | perl -ne '
    $load = 1 if /Type: PT_LOAD/;
    if ($load && /VirtualAddress: (0x[0-9A-Fa-f]+)/) { print hex($1); exit }')
every_byte "$work/nopie" > "$work/abs"
perl -ne "printf \"0x%x\\n\", hex(\$_) - $base" "$work/abs" > "$work/rel"
"$tool" --inlines --obj="$work/nopie" < "$work/abs" > "$work/a"
"$tool" --inlines --relative --obj="$work/nopie" < "$work/rel" > "$work/r"
cmp -s "$work/a" "$work/r" || { echo "--relative differs"; status=1; }

# Addresses on the command line take the cold path (only the compile units
# they fall in are read): all at once, and one per process for a sample,
# they answer as the whole-file table read for standard input does.
for rel in "" --relative; do
    if [ -n "$rel" ]; then in=$work/rel whole=$work/r; else in=$work/abs whole=$work/a; fi
    # shellcheck disable=SC2046 # one argument per address
    "$tool" --inlines $rel --obj="$work/nopie" $(cat "$in") > "$work/cold"
    cmp -s "$work/cold" "$whole" || {
        echo "cold path $rel, all addresses: differs"; status=1; }
    awk 'NR % 37 == 1' "$in" > "$work/sample"
    "$tool" --inlines $rel --obj="$work/nopie" < "$work/sample" > "$work/warm1"
    while read -r a; do
        "$tool" --inlines $rel --obj="$work/nopie" "$a"
    done < "$work/sample" > "$work/cold1"
    cmp -s "$work/cold1" "$work/warm1" || {
        echo "cold path $rel, one address per run: differs"
        diff "$work/cold1" "$work/warm1" | head -n 20; status=1; }
done
exit $status
