#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hook's sampled allocations (issue 13, in-process side): the
# OpenTelemetry memory-profiling USDT contract in the library's notes; every
# allocating path on sampled blocks with the semaphores set by the target (a
# profiler attaching stands in), counts still exact; the weights' sum against
# the bytes allocated; nothing tagged without a profiler or with sampling off.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
# Our own names: another engineer's memtide may select hooked processes.
for n in tidesmplpaths tidesmplstats tidesmplquiet; do cp "$TARGETS/hooksample" "$WORK/$n"; done
cp "$TARGETS/hookcount" "$WORK/tidesmplcount"

# --- the contract, in the notes --------------------------------------------------
# probe PROVIDER NAME NARGS: one note of that probe, NARGS arguments of 8 bytes, a semaphore.
probe() {
	readelf -n "$HOOK" | awk -v p="$1" -v n="$2" -v a="$3" '
		/Provider:/ { prov = $2 }
		/Name:/ { name = $2 }
		/Semaphore:/ { sem = $NF }
		/Arguments:/ {
			if (prov != p || name != n)
				next
			found++
			if (NF - 1 != a)
				bad = "args " NF - 1
			for (i = 2; i <= NF; i++)
				if ($i !~ /^-?8@/)
					bad = "arg " $i
			if (sem ~ /^0x0+$/)
				bad = "no semaphore"
		}
		END { if (bad != "") print bad; exit !(found == 1 && bad == "") }'
}
check "stapsdt note otel_memory:alloc, 3 arguments of 8 bytes, a semaphore" probe otel_memory alloc 3
check "stapsdt note otel_memory:free, 1 argument of 8 bytes, a semaphore" probe otel_memory free 1
check "the semaphores are exported" sh -c "nm -D '$HOOK' | grep -q ' otel_memory_alloc_semaphore$' && nm -D '$HOOK' | grep -q ' otel_memory_free_semaphore$'"

# --- every path on sampled blocks -----------------------------------------------
# Mean 1: every byte is a sampling point, every block of a byte or more is sampled.
out=$(MEMTIDE_HOOK_SAMPLE_BYTES=1 LD_PRELOAD=$HOOK timeout 120 "$WORK/tidesmplpaths" paths 2>&1)
rc=$?
echo "$out" | grep -v '^ok' | sed 's/^/# /'
check "every allocating path on sampled blocks ($(grep -c '^ok' <<<"$out") checks, exit 0)" test "$rc" = 0
for mean in 1 4096; do
	out=$(MEMTIDE_TEST_SEMAPHORES=1 MEMTIDE_HOOK_SAMPLE_BYTES=$mean LD_PRELOAD=$HOOK timeout 120 \
		"$WORK/tidesmplcount" 2>&1)
	rc=$?
	echo "$out" | grep FAIL | sed 's/^/# /'
	check "hookcount's exact counts with sampling (mean $mean) and a profiler" test "$rc" = 0
done
check "C++ new/delete, every block sampled with a profiler" sh -c \
	"MEMTIDE_TEST_SEMAPHORES=1 MEMTIDE_HOOK_SAMPLE_BYTES=1 LD_PRELOAD=$HOOK $TARGETS/hookcount_cxx >/dev/null"

# --- statistics -----------------------------------------------------------------
# Every byte a point with probability 1/mean: the weights' sum has a standard
# deviation of sqrt(mean * bytes); 6 of them is the bound (a false alarm once
# in 5e8 runs): 9.4% at mean 64 KiB over 256 MiB, 26.5% at the default.
for mean in 65536 ""; do
	out=$(MEMTIDE_HOOK_SAMPLE_BYTES=$mean LD_PRELOAD=$HOOK timeout 120 "$WORK/tidesmplstats" stats 256 6 2>&1)
	rc=$?
	echo "$out" | grep -v '^ok' | sed 's/^/# /'
	check "256 MiB at mean ${mean:-default}: weights within 6 sd of the bytes, a free probe per sample" test "$rc" = 0
done

# --- no profiler, sampling off, counting off: nothing tagged -------------------
quiet() { # ENV... -- ARGS
	env "$@" LD_PRELOAD="$HOOK" timeout 120 "$WORK/tidesmplquiet" quiet 64 "${sem:-}" >"$WORK/quiet.out" 2>&1
}
check "no profiler attached (semaphores 0): no block tagged, no probe" quiet MEMTIDE_HOOK_SAMPLE_BYTES=64
sem=sem check "MEMTIDE_HOOK_SAMPLE_BYTES=0: nothing sampled though a profiler is there" quiet MEMTIDE_HOOK_SAMPLE_BYTES=0
sem=sem check "MEMTIDE_HOOK_COUNT=0: nothing sampled either" quiet MEMTIDE_HOOK_COUNT=0 MEMTIDE_HOOK_SAMPLE_BYTES=64
finish
