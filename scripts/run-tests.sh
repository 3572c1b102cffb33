#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs Check test binaries one after another, shows each one's summary,
# and ends with one "N passed, N failed" line over all of them. A binary
# that crashes, times out or prints no Check summary counts as a failure.
# Usage: B=build scripts/run-tests.sh BIN...
set -u
B=${B:-build}
export UGPU_TEST_HELPERS=${UGPU_TEST_HELPERS:-$PWD/$B/tests/helpers}
export UGPU_BUILD=${UGPU_BUILD:-$PWD/$B}
case "$B" in
build-san*) export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4} ;;
esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
bad=()
for t in "$@"; do
	name=${t#"$B"/tests/}
	log=$(mktemp)
	start=$(date +%s)
	timeout --signal=KILL 900 "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	sum=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n 1)
	if [ -n "$sum" ]; then
		n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$sum")
		f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$sum")
		e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$sum")
		passed=$((passed + n - f - e))
		failed=$((failed + f + e))
	else
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ] || [ -z "$sum" ]; then
		bad+=("$name")
		echo "FAIL $name (exit $rc, ${secs}s)"
		cat "$log"
		[ -z "$sum" ] || true
	else
		echo "ok   $name: ${sum#*: } (${secs}s)"
	fi
	rm -f "$log"
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "failing: ${bad[*]}"
fi
echo "$passed passed, $failed failed"
[ ${#bad[@]} -eq 0 ]
