# SPDX-License-Identifier: MIT
#
# bench/lib.sh: what the reader benchmarks (elfdw.sh, macho.sh) share;
# sourced, with $work set to their scratch directory.

# gen_functions NFUNCS FILES: write $work/gen0.c .. gen<FILES-1>.c with
# NFUNCS functions in all, each inlining two helpers (one nested in the
# other), so the DWARF has subprograms, inline chains of depth 2 and line
# rows.
gen_functions() {
    _per=$(($1 / $2))
    _f=0
    while [ "$_f" -lt "$2" ]; do
        awk -v f="$_f" -v per="$_per" 'BEGIN {
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
        }' > "$work/gen$_f.c"
        _f=$((_f + 1))
    done
}

# measure LABEL COMMAND... (stdin: addresses): print "LABEL seconds KiB"
# (GNU time's wall time and peak RSS); the output is in $work/out.
measure() {
    label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>/dev/null
    set -- $(cat "$work/time")
    printf '%-10s %8.2f s %10d KiB\n' "$label" "$1" "$2"
}
