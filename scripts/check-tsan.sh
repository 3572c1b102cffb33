#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Builds the concurrency tests, and the daemon they start, with
# ThreadSanitizer into build-tsan/ and runs them: the notifier protocol
# (notifier_test, notifier_stress_test with fewer commits), fences, the
# worker pool, the sim engines under zap/reset/cancel (sim_exec_test),
# the uffd watcher and the gate-before-read ordering
# (uffd_watch_lifecycle_test, uffd_watch_events_test), the DMA port
# under the gate (dma_port_test), and the exec path end to end against a
# TSan-built ugpud (gpu_test). Every process writes its reports to
# build-tsan/tsan-logs/ (TSAN_OPTIONS log_path), so a race in the daemon
# a test started fails the run too, not only one in the test binary.
# Suppressions: tests/tsan.supp, each entry explained there.
#
# The client programs the tests start (tests/helpers) are built without
# TSan into build-tsan/plain: TSan cannot see across processes anyway,
# and mem_client maps at a fixed address (CADDR, 0x6f0000000000) inside
# TSan's shadow ranges. For the same reason dma_port_test runs without
# its "exit" TCase, whose pid-reuse test maps CADDR in a fork of the
# (instrumented) test itself.
#
#   scripts/check-tsan.sh                     build and run (CI)
#   UGPU_STRESS_ITERS=1000000 scripts/check-tsan.sh   the full stress count
set -euo pipefail
cd "$(dirname "$0")/.."

export B=build-tsan
PLAIN=$B/plain
UNIT="fence_test notifier_test notifier_stress_test work_test sim_exec_test"
INTEG="uffd_watch_lifecycle_test uffd_watch_events_test dma_port_test gpu_test"
DMA_PORT_CASES="transfers protections gate sim"
HELPERS="gpu_sync gpu_fault gpu_race gpu_stale gpu_sched gpu_bind mem_client uffd_client"
JOBS=$(nproc 2>/dev/null || echo 2)

targets=("$B/ugpud")
for t in $UNIT; do targets+=("$B/tests/unit/$t"); done
for t in $INTEG; do targets+=("$B/tests/integration/$t"); done
helpers=()
for h in $HELPERS; do helpers+=("$PLAIN/tests/helpers/$h"); done

# -O1 keeps stacks readable. gcc refuses atomic_thread_fence under TSan
# (-Werror=tsan); the helpers use one, and TSan cannot model fences anyway.
CFLAGS='-O1 -g -Wno-tsan' make --no-print-directory -j"$JOBS" B="$B" SANITIZE=thread \
	"${targets[@]}"
make --no-print-directory -j"$JOBS" B="$PLAIN" "${helpers[@]}"

logs=$PWD/$B/tsan-logs
rm -rf "$logs"
mkdir -p "$logs"
export TSAN_OPTIONS="log_path=$logs/tsan second_deadlock_stack=1 \
suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
export UGPU_TEST_HELPERS=$PWD/$PLAIN/tests/helpers
export UGPU_BUILD=$PWD/$B
export UGPU_STRESS_ITERS=${UGPU_STRESS_ITERS:-200000}
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}

rc=0
runs=()
for t in "${targets[@]:1}"; do
	[ "${t##*/}" = dma_port_test ] || runs+=("$t")
done
scripts/run-tests.sh "${runs[@]}" || rc=1
for c in $DMA_PORT_CASES; do
	echo "dma_port_test, TCase $c:"
	CK_RUN_CASE=$c scripts/run-tests.sh "$B/tests/integration/dma_port_test" || rc=1
done
# Any line but a "Matched N suppressions" summary is a report (races, and
# TSan's own failures such as "mmap at bad address").
reports=$(grep -l -v -E '^(ThreadSanitizer: Matched [0-9]+ suppressions|[0-9]+ [a-z_]+:)' \
	"$logs"/tsan.* 2>/dev/null || true)
if [ -n "$reports" ]; then
	rc=1
	for f in $reports; do
		pid=${f##*.}
		echo "== TSan report of pid $pid ($f):"
		grep -E 'WARNING|SUMMARY|ThreadSanitizer:' "$f" | sort | uniq -c
	done
fi
if [ "$rc" -ne 0 ]; then
	echo "check-tsan: FAILED (reports in $logs)"
	exit 1
fi
echo "check-tsan: no races"
