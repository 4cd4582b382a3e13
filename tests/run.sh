#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test: cmocka unit tests, then the privileged integration tests,
# for each build directory given; then the fuzz harnesses for a short while.
#   tests/run.sh [--unit | --integration] [BUILD...]
# --unit: only the unit tests (no root needed); --integration: only the
# integration tests. Ends with one line "N passed, N failed, N skipped" (a
# skip is never a pass); exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
skipped=0
failed_names=()
unit=1
integration=1
case "${1:-}" in
--unit) integration=0; shift ;;
--integration) unit=0; shift ;;
esac

if [ "$integration" = 1 ] && [ "$(id -u)" != 0 ]; then
	echo "the integration tests need root: they load BPF programs (tests/run.sh --unit does not)" >&2
	exit 1
fi

# run_counted NAME COMMAND...: runs a script that prints "ok - "/"not ok - "
# lines, adds them to the totals ("ok - ... # SKIP" is a skip); a non-zero
# exit with no "not ok" is one failure.
run_counted() {
	local name=$1 start=$SECONDS out rc p f s
	shift
	echo "# $name"
	out=$("$@" 2>&1)
	rc=$?
	echo "$out"
	s=$(grep -c '^ok - .*# SKIP' <<<"$out")
	p=$(($(grep -c '^ok - ' <<<"$out") - s))
	f=$(grep -c '^not ok - ' <<<"$out")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $name exited $rc"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" != 0 ] && failed_names+=("$name")
	echo "# $name: $((SECONDS - start)) s"
}

# Arguments: the build directories to test (default build); tests/lib.sh
# takes the agent from $MEMTIDE_BUILD.
[ $# -gt 0 ] || set -- build
for BUILD in "$@"; do
export MEMTIDE_BUILD=$BUILD
echo "# === $BUILD ==="
for t in "$BUILD"/tests/test_*; do
	[ "$unit" = 1 ] && [ -x "$t" ] || continue
	out=$("$t" 2>&1)
	echo "$out"
	# cmocka counts a skipped test in neither PASSED nor FAILED.
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out")
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out")
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' <<<"$out")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	skipped=$((skipped + ${s:-0}))
	if [ -z "$p" ] && [ -z "$f" ]; then
		failed=$((failed + 1))
		failed_names+=("$t (crashed)")
	fi
	[ -n "$f" ] && failed_names+=("$t")
done

for t in tests/integration/test_*.sh; do
	[ "$integration" = 1 ] || continue
	run_counted "$BUILD: $t" timeout 600 bash "$t"
done
done

# The image and the DaemonSet in podman (tests/deploy/): once, not per build
# (the image builds its own agent).
for t in tests/deploy/test_*.sh; do
	[ "$integration" = 1 ] || continue
	MEMTIDE_BUILD=build run_counted "$t" timeout 900 bash "$t"
done

# The fuzz harnesses once (not per build: they have their own), each for a
# bounded time; `make fuzz` runs them longer.
if [ "$unit" = 1 ] && [ "$integration" = 1 ]; then
	run_counted tests/fuzz/run.sh tests/fuzz/run.sh "${FUZZ_SECONDS:-10}"
fi

for n in "${failed_names[@]}"; do echo "FAILED: $n"; done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
