#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the PDB reader's test image:
#   build-pe.sh SRCDIR OUTDIR ARCH NAME [dwarf]
# ARCH is x86_64 or i686; writes OUTDIR/NAME.exe and OUTDIR/NAME.pdb with
# clang-14 -O2 (inlining on) and lld-link-14 /debug, reproducibly.  With
# "dwarf", the objects also carry DWARF and a second image
# OUTDIR/NAME-dwarf.exe is linked from them with /debug:dwarf: same code,
# same layout, so llvm-symbolizer's DWARF reader is an independent oracle
# for the PDB.
set -e
src=$1 out=$2 arch=$3 name=$4 dwarf=$5
case $arch in
x86_64) machine=x64 ;;
i686) machine=x86 ;;
*) echo "build-pe.sh: unknown arch $arch" >&2; exit 2 ;;
esac
cd "$out"
flags="--target=$arch-pc-windows-msvc -c -g -gcodeview -O2 -ffreestanding
  -fno-stack-protector -fno-exceptions -fno-rtti -fno-builtin
  -fdebug-compilation-dir=. -fcoverage-compilation-dir=. -I$src"
quiet=
if [ "$dwarf" = dwarf ]; then
    flags="$flags -gdwarf-4"
    quiet=">/dev/null 2>&1" # lld warns about long .debug_* section names
fi
clang-14 $flags -o "$name-prog.obj" "$src/prog.cpp"
clang-14 $flags -o "$name-mix.obj" "$src/mix.c"
link="lld-link-14 /nologo /Brepro /nodefaultlib /entry:mainCRTStartup
  /subsystem:console /machine:$machine"
eval $link /debug /pdbaltpath:%_PDB% /out:"$name.exe" /pdb:"$name.pdb" \
    "$name-prog.obj" "$name-mix.obj" $quiet
if [ "$dwarf" = dwarf ]; then
    eval $link /debug:dwarf /out:"$name-dwarf.exe" \
        "$name-prog.obj" "$name-mix.obj" $quiet
fi
