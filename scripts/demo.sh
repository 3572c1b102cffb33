#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make demo: the main job. Installs the build into a staging prefix,
# builds examples/vector_demo.c against that installed libugpu through
# pkg-config (as a user of the library would), starts ugpud on the
# software GPU with a temporary FUSE mount, runs the demo on ordinary
# malloc'd memory (including an invalidation mid-run), prints the
# daemon's status, and stops the daemon with SIGTERM.
set -euo pipefail
B=${B:-build}
top=$PWD
stage=$top/$B/stage

if [ "$(id -u)" != 0 ]; then
	echo "demo: ugpud needs root (FUSE mount with allow_other, pidfd_getfd)" >&2
	exit 1
fi

make --no-print-directory install PREFIX="$stage" >/dev/null
export PKG_CONFIG_PATH=$stage/lib/pkgconfig
mkdir -p "$B/examples"
# shellcheck disable=SC2046
cc -O2 -Wall -Werror examples/vector_demo.c $(pkg-config --cflags --libs ugpu) \
	-Wl,-rpath,"$(pkg-config --variable=libdir ugpu)" -o "$B/examples/vector_demo"

mnt=$(mktemp -d /tmp/ugpu-demo.XXXXXX)
"$stage/bin/ugpud" --mount "$mnt" &
pid=$!
cleanup() {
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" || true
	fi
	umount -l "$mnt" 2>/dev/null || true
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 100); do
	[ -e "$mnt/card0" ] && break
	kill -0 "$pid" 2>/dev/null || { echo "demo: ugpud did not start" >&2; exit 1; }
	sleep 0.1
done

echo "== ugpud is serving $mnt/card0 (software GPU); running examples/vector_demo"
UGPU_DEVICE=$mnt/card0 "$B/examples/vector_demo"
echo
echo "== ugpuctl status"
if [ -x "$stage/bin/ugpuctl" ]; then
	"$stage/bin/ugpuctl" --device "$mnt/card0" status
else
	cat "$mnt/stats"
fi
echo
echo "== stopping ugpud (SIGTERM)"
kill -TERM "$pid"
wait "$pid"
echo "ugpud exited with status $?"
