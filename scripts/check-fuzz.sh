#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Builds the libFuzzer harnesses of tests/fuzz with clang into build-fuzz/
# (the daemon objects compiled here with -fsanitize=fuzzer-no-link,address,
# undefined; the harnesses linked with -fsanitize=fuzzer,address,undefined)
# and runs each for UGPU_FUZZ_SECONDS (default 30) on its committed seed
# corpus tests/fuzz/corpus/<harness>/, which holds the regression inputs
# too (crash-* files: a fixed bug must stay fixed). New inputs the fuzzer
# finds go to build-fuzz/corpus/<harness>/, crashes to
# build-fuzz/artifacts/<harness>/. Exits non-zero if any harness crashed,
# leaked, timed out or broke an invariant; the log says which input.
#
#   scripts/check-fuzz.sh                     all harnesses, 30 s each (CI)
#   UGPU_FUZZ_SECONDS=1800 scripts/check-fuzz.sh ioctl    a long run of one
#   UGPU_FUZZ_JOBS=2 ...                      that many fuzzing processes
#   scripts/check-fuzz.sh --build             build only
#   scripts/check-fuzz.sh --coverage [h]...   line coverage of the daemon
#                         reached by the seeds and build-fuzz/corpus (llvm-cov)
#   UGPU_FUZZ_AVOID=addr-max,gate-uaf ...     steer around bugs already
#                         reported (crash-* inputs, see tests/fuzz/ioctl_fix.c)
#                         to find the next
#   build-fuzz/fuzz/ioctl_fuzz FILE           replay one input (with its stack)
#
# Flag and package lists below are word lists, split on purpose:
# shellcheck disable=SC2086
#
# Harnesses: ioctl (the whole ioctl path: dispatch + core + sim device),
# va_space (VM_BIND split/merge engine against a page model), front
# (transport dispatch against a scripted core). See RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."

B=${B:-build-fuzz}
CC=${FUZZ_CC:-clang}
SECONDS_EACH=${UGPU_FUZZ_SECONDS:-30}
JOBS=${UGPU_FUZZ_JOBS:-1}
ALL=(ioctl va_space front)
NPROC=$(nproc 2>/dev/null || echo 2)

build_only=0
coverage=0
harnesses=()
for a in "$@"; do
	case "$a" in
	--build) build_only=1 ;;
	--coverage) coverage=1 ;;
	ioctl|va_space|front) harnesses+=("$a") ;;
	*) echo "usage: $0 [--build|--coverage] [ioctl|va_space|front]..." >&2; exit 2 ;;
	esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${ALL[@]}")

if ! command -v "$CC" >/dev/null; then
	echo "check-fuzz: $CC not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

PKGS="fuse3 libevent libevent_pthreads liburing libsystemd"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -pthread \
-fPIC -I. -Idaemon $(pkg-config --cflags $PKGS) $SAN"
LIBS="$(pkg-config --libs $PKGS) -lm"

# Daemon objects: rebuilt when the source or a header it includes changed.
mkdir -p "$B/obj" "$B/fuzz"
export CC CFLAGS B
compile() {
	local src=$1 obj=$B/obj/${1//\//_}.o
	if [ -f "$obj" ] && [ -f "$obj.d" ]; then
		local newer
		newer=$(sed -e 's/\\$//' -e 's/^[^:]*://' "$obj.d" | tr ' ' '\n' |
			sed '/^$/d' | while read -r dep; do
				[ ! -e "$dep" ] || [ "$dep" -nt "$obj" ] && echo x && break
			done || true)
		[ -z "$newer" ] && return 0
	fi
	$CC $CFLAGS -fsanitize=fuzzer-no-link -MMD -MF "$obj.d" -c -o "$obj" "$src"
}
export -f compile
srcs=(daemon/core/*.c daemon/mm/*.c daemon/dev/*.c daemon/gpu/*.c daemon/front/*.c)
printf '%s\n' "${srcs[@]}" | xargs -P "$NPROC" -I{} bash -c 'compile "$@"' _ {}
objs=()
for s in "${srcs[@]}"; do
	objs+=("$B/obj/${s//\//_}.o")
done
rm -f "$B/libugpud-fuzz.a"
ar rcs "$B/libugpud-fuzz.a" "${objs[@]}"

# A harness is tests/fuzz/<h>_fuzz.c plus any other tests/fuzz/<h>_*.c.
harness_srcs() {
	local f
	for f in "tests/fuzz/$1"_*.c; do
		case "$f" in "tests/fuzz/${1}_fuzz.c") ;; *) echo "$f" ;; esac
	done
	echo "tests/fuzz/${1}_fuzz.c"
}
for h in "${ALL[@]}"; do
	# shellcheck disable=SC2086,SC2046
	$CC $CFLAGS -fsanitize=fuzzer -Itests/fuzz -o "$B/fuzz/${h}_fuzz" \
		$(harness_srcs "$h") "$B/libugpud-fuzz.a" $LIBS
done
[ "$build_only" = 1 ] && exit 0

if [ "$coverage" = 1 ]; then
	# Source-based coverage: separate objects, no sanitizers, the corpora
	# replayed once (known crashes steered around, leaks not checked).
	COV=$B/cov
	mkdir -p "$COV/obj"
	CCOV="-std=gnu11 -O1 -g -D_GNU_SOURCE -pthread -fPIC -I. -Idaemon \
$(pkg-config --cflags $PKGS) -fprofile-instr-generate -fcoverage-mapping"
	# shellcheck disable=SC2016	# $(...) expands in the inner shell
	printf '%s\n' "${srcs[@]}" | xargs -P "$NPROC" -I{} bash -c \
		'$CC '"$CCOV"' -fsanitize=fuzzer-no-link -c -o "'"$COV"'/obj/$(echo {} | tr / _).o" {}'
	for h in "${harnesses[@]}"; do
		# shellcheck disable=SC2086
		# shellcheck disable=SC2046
		$CC $CCOV -fsanitize=fuzzer -Itests/fuzz -o "$COV/${h}_cov" \
			$(harness_srcs "$h") "$COV"/obj/*.o $LIBS
		mkdir -p "$B/corpus/$h"
		UGPU_FUZZ_AVOID=addr-max,gate-uaf LLVM_PROFILE_FILE="$COV/$h.profraw" \
			"$COV/${h}_cov" -runs=0 -detect_leaks=0 -timeout=20 \
			"tests/fuzz/corpus/$h" "$B/corpus/$h" >"$COV/$h.log" 2>&1 || true
		llvm-profdata-14 merge -sparse "$COV/$h.profraw" -o "$COV/$h.profdata"
		echo "== coverage of $h ($(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$COV/$h.log" | tail -n 1))"
		llvm-cov-14 report "$COV/${h}_cov" -instr-profile="$COV/$h.profdata" \
			-ignore-filename-regex='tests/|/usr/' 2>/dev/null |
			awk 'BEGIN { print "file lines missed covered" }
			     /daemon\/(core|mm|gpu|front|dev\/(sim|dev))|^TOTAL/ {
				sub(".*/daemon/", "daemon/", $1); print $1, $8, $9, $10 }' | column -t
	done
	exit 0
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:handle_abort=1}
# Symbolized stacks in the reports: Debian's llvm-14 has no unversioned name.
if ! command -v llvm-symbolizer >/dev/null && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
	export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for h in "${harnesses[@]}"; do
	seeds=tests/fuzz/corpus/$h
	work=$B/corpus/$h
	art=$B/artifacts/$h
	log=$B/$h.log
	mkdir -p "$seeds" "$work" "$art"
	extra=()
	[ "$JOBS" -gt 1 ] && extra=(-jobs="$JOBS" -workers="$JOBS")
	echo "fuzz $h: ${SECONDS_EACH}s, seeds $seeds ($(find "$seeds" -type f | wc -l) inputs)"
	set +e
	"$B/fuzz/${h}_fuzz" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=4096 \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$art/" "${extra[@]}" \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	set -e
	stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" |
		sed 's/^stat:://' | tr '\n' ' ')
	cov=$(grep -E '#[0-9]+.*(cov|DONE)' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
	if [ "$rc" -ne 0 ]; then
		failed+=("$h")
		echo "FAIL fuzz $h (exit $rc): $cov $stats"
		grep -E 'ERROR|invariant broken|SUMMARY|Test unit written|^    #[0-9]' "$log" | head -n 60
		echo "  full log: $log; keep the input as $seeds/crash-<name> once triaged"
	else
		echo "ok   fuzz $h: $cov $stats"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz failures: ${failed[*]}"
	exit 1
fi
