#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Installs the Debian packages ugpu needs to build and test, and only the
# ones that are missing, so `make check` works on a fresh machine and is a
# no-op on a prepared one. Extra packages can be named in UGPU_EXTRA_DEPS.
set -eu

# clang, its runtimes and llvm: the fuzzing harnesses (scripts/check-fuzz.sh).
pkgs="gcc make pkg-config libfuse3-dev fuse3 libevent-dev liburing-dev check \
libsystemd-dev clang libclang-rt-14-dev llvm-14 ${UGPU_EXTRA_DEPS:-}"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root (or install them with apt-get)" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
