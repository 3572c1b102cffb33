#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Checks the files in systemd/: `systemd-analyze verify` of ugpud.service
# alone and with the ugpud-cuse.conf drop-in, and a trial run of
# ugpu.sysusers and ugpu.tmpfiles into a scratch root. verify needs the
# ExecStart binary to exist, so it runs on copies (in a temporary
# directory) whose ExecStart names the built $B/ugpud by absolute path.
# verify exits 0 on unknown keys and bad values, only printing them, so
# any message about our files fails the check. Installs the Debian package
# systemd if systemd-analyze is missing and we are root; otherwise skips
# (exit 0). Usage: B=build scripts/check-systemd.sh
set -u

B=${B:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
ugpud="$top/$B/ugpud"
unit="$top/systemd/ugpud.service"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "check-systemd: skipped: not root and systemd-analyze missing"
		exit 0
	fi
	echo "check-systemd: installing the Debian package systemd (for systemd-analyze)"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get update -qq || ! apt-get install -y -qq --no-install-recommends systemd; then
		echo "check-systemd: FAIL: could not install systemd" >&2
		exit 1
	fi
fi
if [ ! -x "$ugpud" ]; then
	echo "check-systemd: FAIL: $ugpud is missing: build it first (make all)" >&2
	exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# $1: what; the rest: the command. Fails on a non-zero exit or on any
# message that names a file of ours.
check() {
	what=$1
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
	if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -q -e "$tmp" -e 'ugpud\.service' \
		-e 'ugpu\.\(tmpfiles\|sysusers\)'; then
		echo "FAIL systemd: $what"
		fail=1
	else
		echo "ok   systemd: $what"
	fi
}

exec_here() {
	sed "s|^ExecStart=/usr/local/bin/ugpud|ExecStart=$ugpud|" "$1"
}

mkdir -p "$tmp/unit" "$tmp/cuse/ugpud.service.d" "$tmp/root/etc" || exit 1
exec_here "$unit" >"$tmp/unit/ugpud.service"
exec_here "$unit" >"$tmp/cuse/ugpud.service"
exec_here "$top/systemd/ugpud-cuse.conf" >"$tmp/cuse/ugpud.service.d/cuse.conf"
if ! grep -q "^ExecStart=$ugpud " "$tmp/unit/ugpud.service" ||
   ! grep -q "^ExecStart=$ugpud " "$tmp/cuse/ugpud.service.d/cuse.conf"; then
	echo "FAIL systemd: no ExecStart=/usr/local/bin/ugpud line to point at $ugpud"
	exit 1
fi

check "verify ugpud.service" systemd-analyze verify "$tmp/unit/ugpud.service"
check "verify ugpud.service + ugpud-cuse.conf" systemd-analyze verify "$tmp/cuse/ugpud.service"
# sysusers first: tmpfiles resolves the ugpu group in the scratch root.
check "ugpu.sysusers" systemd-sysusers --root="$tmp/root" "$top/systemd/ugpu.sysusers"
check "ugpu.tmpfiles" systemd-tmpfiles --create --root="$tmp/root" "$top/systemd/ugpu.tmpfiles"
if [ ! -d "$tmp/root/run/ugpu" ]; then
	echo "FAIL systemd: ugpu.tmpfiles did not create /run/ugpu"
	fail=1
fi
exit $fail
