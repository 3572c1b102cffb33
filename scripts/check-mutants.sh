#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs test binaries built against deliberately broken code and passes
# only if every one of them FAILS: a test that cannot fail proves nothing.
# Each mutant stops at its first detected violation; the iteration budget
# is large so that a rare interleaving is still found.
set -u
export UGPU_STRESS_ITERS=${UGPU_MUTANT_ITERS:-20000000}
export CK_DEFAULT_TIMEOUT=600
ok=0
bad=0
for m in "$@"; do
	if timeout --signal=KILL 600 "$m" >/dev/null 2>&1; then
		echo "FAIL mutant $(basename "$m") was not detected"
		bad=$((bad + 1))
	else
		echo "ok   mutant $(basename "$m") detected"
		ok=$((ok + 1))
	fi
done
echo "mutants: $ok detected, $bad missed"
[ "$bad" -eq 0 ]
