#!/bin/sh
# SPDX-License-Identifier: MIT
#
# What a user types first, on every program: --help (and -h) print the
# usage to standard output and exit 0, --version (and symsrvd's -V) print
# "PROG (symsrvd) VERSION" and exit 0, and an unknown option is a usage
# error on standard error with a non-zero exit.
set -u

top=${abs_top_builddir:-..}
version=${PACKAGE_VERSION:?PACKAGE_VERSION is set by tests/Makefile.am}
work=$(mktemp -d /tmp/check_cli.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
fails=0

fail()
{
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# run NAME ARGS...: run the program with ARGS, leaving the exit status in
# $rc and its output in $work/out and $work/err.
run()
{
    prog=$1
    shift
    "$prog" "$@" > "$work/out" 2> "$work/err"
    rc=$?
}

check_help()
{
    name=$1 prog=$2 opt=$3
    run "$prog" "$opt"
    [ "$rc" -eq 0 ] || fail "$name $opt exits $rc"
    head -n 1 "$work/out" | grep -q "^usage: $name " ||
        fail "$name $opt: no usage on stdout: $(head -n 1 "$work/out")"
    [ -s "$work/err" ] && fail "$name $opt wrote to stderr: $(cat "$work/err")"
    grep -q -- '--version' "$work/out" || fail "$name $opt omits --version"
}

check_version()
{
    name=$1 prog=$2 opt=$3
    run "$prog" "$opt"
    [ "$rc" -eq 0 ] || fail "$name $opt exits $rc"
    want="$name (symsrvd) $version"
    [ "$(cat "$work/out")" = "$want" ] ||
        fail "$name $opt printed '$(cat "$work/out")', want '$want'"
    [ -s "$work/err" ] && fail "$name $opt wrote to stderr: $(cat "$work/err")"
}

check_bad_option()
{
    name=$1 prog=$2 want=$3
    run "$prog" --no-such-option
    [ "$rc" -eq "$want" ] || fail "$name --no-such-option exits $rc, want $want"
    grep -q "^usage: $name " "$work/err" ||
        fail "$name --no-such-option: no usage on stderr"
    [ -s "$work/out" ] && fail "$name --no-such-option wrote to stdout"
}

for p in src/symsrvd:1 tools/symsrvd-symbolize:2 tools/symsrvd-stackwalk:2 \
    tools/symsrvd-key:2; do
    path=$top/${p%:*}
    name=${path##*/}
    [ -x "$path" ] || { fail "$path not built"; continue; }
    check_help "$name" "$path" --help
    check_help "$name" "$path" -h
    check_version "$name" "$path" --version
    check_bad_option "$name" "$path" "${p#*:}"
done
check_version symsrvd "$top/src/symsrvd" -V

[ "$fails" -eq 0 ] || exit 1
echo "PASS: --help, -h, --version and a bad option on every program"
