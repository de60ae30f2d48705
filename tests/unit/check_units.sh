#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The systemd units as shipped: symsrvd.service and symsrvd.socket pass
# `systemd-analyze verify`, the service is Type=notify with a watchdog and
# a SIGHUP reload, and its `systemd-analyze security` exposure stays at
# most 2.0 (the operations issue's bound).  Needs systemd-analyze (Debian
# package systemd); skips without it.
set -u

top=${abs_top_builddir:-..}
src=${abs_top_srcdir:-..}
if ! command -v systemd-analyze > /dev/null 2>&1; then
    echo "check_units: skipped: systemd-analyze not found (Debian package systemd)"
    exit 77
fi
work=$(mktemp -d /tmp/check_units.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
fails=0

fail()
{
    echo "FAIL: $*"
    fails=$((fails + 1))
}

# As etc/Makefile.am makes it, with the built binary so verify finds it.
sed -e "s|@sbindir@|$top/src|g" -e 's|@sysconfdir@|/etc|g' \
    -e 's|@SERVICE_TYPE@|notify|g' -e 's|@SERVICE_WATCHDOG@|30s|g' \
    "$src/etc/symsrvd.service.in" > "$work/symsrvd.service"
cp "$src/etc/symsrvd.socket" "$work/symsrvd.socket"

if ! systemd-analyze verify --man=no "$work/symsrvd.service" \
        "$work/symsrvd.socket" > "$work/verify" 2>&1; then
    fail "systemd-analyze verify: $(cat "$work/verify")"
fi
for want in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' \
            'WatchdogSec=30s'; do
    grep -qxF "$want" "$work/symsrvd.service" || fail "no '$want' line"
done
systemd-analyze security --offline=yes "$work/symsrvd.service" \
    > "$work/security" 2>&1
level=$(sed -n 's/.*Overall exposure level for symsrvd.service: \([0-9.]*\).*/\1/p' \
    "$work/security")
echo "systemd-analyze security exposure: ${level:-none}"
if [ -z "$level" ]; then
    fail "no exposure level: $(tail -3 "$work/security")"
elif ! awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    fail "exposure $level is above 2.0"
fi

[ "$fails" -eq 0 ] || exit 1
exit 0
