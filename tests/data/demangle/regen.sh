#!/bin/sh
# SPDX-License-Identifier: MIT
# Regenerate the name lists in this directory from their sources.  The
# lists are committed; run this only to change a corpus.  Needs
# llvm-pdbutil-14, clang-14, llvm-nm-14, g++, nm and rustc.
#   usage: tests/data/demangle/regen.sh [FIXTURES_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures=${1:-/work/shared/fixtures/symbolic/windows}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every S_PUB32 name of the two MSVC-built fixture PDBs, sorted, unique.
publics() {
    llvm-pdbutil-14 dump --publics "$1" |
        sed -n 's/^ *[0-9]* | S_PUB32 \[size = [0-9]*\] `\(.*\)`$/\1/p' |
        LC_ALL=C sort -u
}
publics "$fixtures/crash.pdb" > "$here/msvc-crash-publics.txt"
publics "$fixtures/CrashWithException.pdb" \
    > "$here/msvc-crashwithexception-publics.txt"

# Names clang-14 mangles the MSVC way, for x64 and x86.
for src in msvc-clang-1 msvc-clang-2; do
    for t in x86_64-pc-windows-msvc i686-pc-windows-msvc; do
        clang-14 --target=$t -std=c++20 -fms-compatibility -fms-extensions \
            -frtti -fexceptions -fcxx-exceptions -O0 -w \
            -c "$here/$src.cpp" -o "$tmp/$src-$t.obj"
        llvm-nm-14 "$tmp/$src-$t.obj" | awk '{print $NF}'
    done
done | LC_ALL=C sort -u > "$here/msvc-clang.txt"

# Itanium names from g++ (defined and referenced symbols).
g++ -std=c++17 -O0 -c "$here/itanium-gcc.cpp" -o "$tmp/it.o"
nm "$tmp/it.o" | awk '{print $NF}' | grep '^_Z' | LC_ALL=C sort -u \
    > "$here/itanium-gcc.txt"

# Rust names in both manglings.
rustc --crate-type=rlib -C opt-level=0 --emit=obj -o "$tmp/legacy.o" \
    "$here/rust-lib.rs"
rustc --crate-type=rlib -C opt-level=0 --emit=obj \
    -C symbol-mangling-version=v0 -o "$tmp/v0.o" "$here/rust-lib.rs"
nm "$tmp/legacy.o" | awk '{print $NF}' | grep '^_ZN' | LC_ALL=C sort -u \
    > "$here/rust-legacy.txt"
nm "$tmp/v0.o" | awk '{print $NF}' | grep '^_R' | LC_ALL=C sort -u \
    > "$here/rust-v0.txt"

# Fuzz seeds: the decorated fixture names and a sample of the others.
seeds="$here/../../fuzz/corpus/demangle"
rm -rf "$seeds"
mkdir -p "$seeds"
{
    grep -h '^?' "$here/msvc-crash-publics.txt" \
        "$here/msvc-crashwithexception-publics.txt"
    grep '^[?.]' "$here/msvc-clang.txt" | awk 'NR % 4 == 1'
    for f in itanium-gcc rust-legacy rust-v0; do
        awk 'NR % 20 == 1' "$here/$f.txt"
    done
    cat "$here/d-abi.txt"
} | awk -v dir="$seeds" '{ f = sprintf("%s/name-%04d", dir, NR);
                          printf "%s", $0 > f; close(f) }'
