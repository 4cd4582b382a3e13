#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Churn soak: thousands of short-lived processes, hundreds of them probed
# (uprobe tier) or hooked, come and go while the agent tracks them; afterwards
# its file descriptors, threads and every BPF map's entries are back at their
# baseline, and its RSS has not grown. SOAK_SECONDS sets the length (make test:
# a short run; `make soak`: a long one).
. "$(dirname "$0")/../lib.sh"

SECONDS_TOTAL=${SOAK_SECONDS:-20}
HOOK="$ROOT/build/libmemtide_hook.so"
PORT=$(free_port)
cp "$TARGETS/heapdriver" "$WORK/churnheap"
cp /bin/sleep "$WORK/churnsleep"
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
targets:
  - match: { comm: "^churnheap$" }
    heap: uprobe
  - match: { comm: "^churnsleep$", hooked: true }
    heap: hook
  - match: { comm: "^churnsleep$" }
exporter:
  listen: "127.0.0.1:$PORT"
YAML
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

fds() { ls "/proc/$MT_PID/fd" | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$MT_PID/status"; }
rss_kb() { proc_status_kb "$MT_PID" VmRSS; }
# Entries of every BPF map the agent holds (inner block maps included: the
# outer map's entries are their ids), as "name=count" sorted.
map_entries() {
	local id
	for id in $(awk '/^map_id:/ { print $2 }' /proc/"$MT_PID"/fdinfo/* 2>/dev/null | sort -un); do
		bpftool -j map dump id "$id" 2>/dev/null | jq -r --arg id "$id" 'length as $n | "\($id)=\($n)"'
	done | sort | tr '\n' ' '
}
settle() { sleep 4; } # probes reaped (idle reaper threads end after 2 s), exits seen

sleep 2
settle
base_fds=$(fds) base_threads=$(threads) base_rss=$(rss_kb) base_maps=$(map_entries)
echo "# baseline: fds $base_fds, threads $base_threads, RSS $base_rss kB; map entries: $base_maps"

end=$((SECONDS + SECONDS_TOTAL))
plain=0 probed=0 hooked=0
while [ $SECONDS -lt $end ]; do
	for _ in $(seq 20); do "$WORK/churnsleep" 0.$((RANDOM % 4 + 1)) & done
	plain=$((plain + 20))
	for _ in 1 2 3; do
		# lives a second or two: long enough to be found and probed
		( printf 'work 20\n'; sleep 1.$((RANDOM % 9)); printf 'work 20\nexit\n' ) | "$WORK/churnheap" >/dev/null &
	done
	probed=$((probed + 3))
	for _ in 1 2 3; do LD_PRELOAD="$HOOK" "$WORK/churnsleep" 0.$((RANDOM % 9 + 1)) & done
	hooked=$((hooked + 3))
	sleep 0.3
done
wait_children() { local p; for p in $(jobs -p); do [ "$p" = "$MT_PID" ] || wait "$p" 2>/dev/null; done; }
wait_children
echo "# churn: $plain plain, $probed uprobe-tier, $hooked hooked processes in $SECONDS_TOTAL s"
check "memtide survived the churn" kill -0 "$MT_PID"
probes=$(grep -c 'heap probes attached' "$MT_LOG") hooks=$(grep -c 'control hook reports probed' "$MT_LOG")
echo "# probes attached to $probes processes, hook reports probed in $hooks"
check "short-lived processes were probed (uprobe tier: $probes)" test "$probes" -gt 0
check "short-lived hooked processes were probed ($hooks)" test "$hooks" -gt 0

settle
back() { test "$(fds)" = "$base_fds" && test "$(threads)" = "$base_threads" && test "$(map_entries)" = "$base_maps"; }
wait_until 15 back
now_fds=$(fds) now_threads=$(threads) now_rss=$(rss_kb) now_maps=$(map_entries)
echo "# after: fds $now_fds, threads $now_threads, RSS $now_rss kB; map entries: $now_maps"
check "file descriptors back at baseline ($base_fds -> $now_fds)" test "$now_fds" = "$base_fds"
check "threads back at baseline ($base_threads -> $now_threads)" test "$now_threads" = "$base_threads"
check "every BPF map's entries back at baseline" test "$now_maps" = "$base_maps"
growth=$((SANITIZED ? 65536 : 8192))
check "RSS grew less than $((growth / 1024)) MiB ($base_rss -> $now_rss kB)" test $((now_rss - base_rss)) -lt "$growth"
check "no tracked process is left in the metrics" sh -c "! curl -sf $MT_URL/metrics | grep -q 'comm=\"churn'"
finish
