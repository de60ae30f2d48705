#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Benchmark of symsrvd-stackwalk: time and peak RSS to walk each fixture
# dump with its symbols, cold (symbol files read and parsed) and warm
# (tables already built, same process), and a large synthetic dump.
#
#   bench/stackwalk.sh BUILDDIR [REPEAT]      (REPEAT warm walks, default 20)
#
# For every dump it prints:
#   cold    the first walk of a process (symbol files read and parsed),
#           and the process's wall time and peak RSS (KiB) for reading the
#           dump and walking every thread once (/usr/bin/time);
#   warm    the median time of walks 2..REPEAT+1 in one process
#           (symsrvd-stackwalk --repeat), which parse nothing;
#   frames  the frames printed (all threads).
# The synthetic dump (tests/lib/mdsynth: 200 threads, 300 modules, 32
# frames each, every caller found by STACK CFI) is written to a temporary
# directory with its 300 .sym files.
# Needs /usr/bin/time and perl; builds tests/lib/mdsynth if needed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: bench/stackwalk.sh BUILDDIR [REPEAT]}
repeat=${2:-20}
tool=$build/tools/symsrvd-stackwalk
synth=$build/tests/lib/mdsynth
data=$top/tests/data
work=$(mktemp -d /tmp/stackwalk-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

[ -x "$tool" ] || { echo "no $tool: build first" >&2; exit 1; }
[ -x "$synth" ] || make -s -C "$build/tests" lib/mdsynth >/dev/null
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found" >&2; exit 1; }

# place SYMDIR PATH FILE: symbol stores' layout, as the tests build it.
place() {
    mkdir -p "$1/$(dirname "$2")"
    ln -s "$3" "$1/$2"
}

syms=$work/syms
place "$syms" crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.pdb \
    "$data/pdb/crash.pdb"
place "$syms" crash.pdb/3249D99D0C4049318610F4E4FB0B69361/crash.sym \
    "$data/pdb/crash.sym"
place "$syms" crash/C0BCC3F19827FE653058404B2831D9E60/crash.sym \
    "$data/breakpad/linux/crash.sym"
place "$syms" f1c3bcc0279865fe3058404b2831d9e64135386c/debuginfo \
    "$data/elf/crash.debug"
place "$syms" f1c3bcc0279865fe3058404b2831d9e64135386c/executable \
    "$data/elf/crash"
place "$syms" crash/67E9247C814E392BA027DBDE6748FCBF0/crash.sym \
    "$data/breakpad/macos/crash.sym"
"$synth" "$work/synthetic.dmp" "$work/synsyms"

# bench NAME DUMP SYMDIR
bench() {
    /usr/bin/time -f '%e %M' -o "$work/time" \
        "$tool" --symbols "$3" "$2" > "$work/out"
    read -r wall rss < "$work/time"
    frames=$(grep -c '^ *[0-9][0-9]*  ' "$work/out" || true)
    "$tool" --repeat $((repeat + 1)) --symbols "$3" "$2" \
        2> "$work/walks" > /dev/null
    cold=$(perl -ne 'printf "%.3f", 1000 * $1 if /^walk 1: ([0-9.]+) s/' \
        "$work/walks")
    warm=$(perl -ne 'push @t, $2 if /^walk (\d+): ([0-9.]+) s/ && $1 > 1;
            END { @t = sort { $a <=> $b } @t;
            printf "%.3f", 1000 * $t[@t / 2] }' "$work/walks")
    printf '%-10s cold %8s ms (process %5.2f s, rss %6d KiB)  warm %8s ms  frames %d\n' \
        "$1" "$cold" "$wall" "$rss" "$warm" "$frames"
}

bench windows "$data/minidump/windows.dmp" "$syms"
bench linux "$data/minidump/linux.dmp" "$syms"
bench macos "$data/minidump/macos.dmp" "$syms"
bench synthetic "$work/synthetic.dmp" "$work/synsyms"
