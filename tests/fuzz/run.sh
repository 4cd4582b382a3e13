#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer harness (build-fuzz/fuzz_NAME, from `make fuzz-build`)
# for SECONDS over a copy of its seed corpus, tests/fuzz/corpus/NAME/ (with
# tests/fuzz/NAME.dict when there is one), so the repository is never written.
# One line per harness:
#   ok - fuzz NAME: N runs in S s
#   not ok - fuzz NAME: <first line of the report> (input saved to PATH)
# The full log of each run is build-fuzz/NAME.log; a failing input stays in
# build-fuzz/crashes/ (replay it with `build-fuzz/fuzz_NAME PATH`). Once fixed,
# it goes into the corpus as regression-WHAT, so every later run replays it.
# Exits 0 when every harness passed.
set -u
cd "$(dirname "$0")/../.."
if [ $# != 1 ] || ! [ "$1" -gt 0 ] 2>/dev/null; then
	echo "usage: $0 SECONDS" >&2
	exit 2
fi
secs=$1
out=build-fuzz
work=$(mktemp -d /tmp/memtide-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/crashes"
failed=0

for src in tests/fuzz/fuzz_*.c; do
	name=${src#tests/fuzz/fuzz_}
	name=${name%.c}
	bin=$out/fuzz_$name
	log=$out/$name.log
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz $name: $bin missing (make fuzz-build)"
		failed=$((failed + 1))
		continue
	fi
	mkdir "$work/$name"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/$name/"
	# The snapshot harnesses read fixed-layout records: room for all samples.
	case $name in
	exposition | json) max_len=-max_len=16384 ;;
	*) max_len= ;;
	esac
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
	# No stdin: a configuration's token_file could name it.
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 $max_len $dict \
		-artifact_prefix="$out/crashes/$name-" "$work/$name" </dev/null >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log")
	if [ "$rc" = 0 ] && [ -n "$runs" ]; then
		echo "ok - fuzz $name: $runs"
		continue
	fi
	failed=$((failed + 1))
	first=$(grep -m1 -E 'ERROR: |runtime error: |^fuzz check failed' "$log" |
		sed -E 's/^==[0-9]+== ?//')
	saved=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | head -1)
	echo "not ok - fuzz $name: ${first:-exited $rc, see $log} (input saved to ${saved:-nothing})"
done
[ "$failed" = 0 ]
