#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The control hook and the watermark policy: automatic trims of a fragmented
# heap measured by /proc against the process trimming itself, gc_interval,
# back-off, a process without the hook never signalled, hook robustness.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
SIG=$(( $(kill -l SIGRTMIN) + 4 ))
rss() { echo $(( $(proc_status_kb "$1" VmRSS) * 1024 )); }

# --- the hook alone: 16 threads, a fork, an exec, trims arriving, no agent ---
LD_PRELOAD=$HOOK timeout 60 "$TARGETS/hookstress" 2 /bin/true >/dev/null &
S=$!
sleep 0.3
for _ in $(seq 100); do kill -"$SIG" "$S" 2>/dev/null; sleep 0.01; done
wait "$S"
check "hook under 16 threads, fork, exec and 100 trims: exit 0" test $? = 0
LD_PRELOAD=$HOOK timeout 60 "$TARGETS/hookstress" 1 >/dev/null
check "hook with no agent and no signal: exit 0" test $? = 0

# --- control run: what the process gains by calling malloc_trim(0) itself ---
spawn SELF env LD_PRELOAD="$HOOK" "$TARGETS/heapdriver"
ready SELF
hd SELF "fragment 200000"
self_before=$(rss "$SELF_PID")
hd SELF trim
self_after=$(rss "$SELF_PID")
self_gain=$((self_before - self_after))
hd SELF exit
echo "# self-trim: RSS $self_before -> $self_after ($self_gain bytes back)"
check "the fragmented heap gives back at least 50 MB to a self-trim" test "$self_gain" -gt 50000000

PORT=$(free_port)
write_config() { # $1: enable_auto_gc
	cat >"$WORK/memtide.yaml" <<YAML
memory:
  enable_auto_gc: $1
  monitor_interval: 1s
  high_water_mark_percent: 50
  low_water_mark_percent: 10
  alert_threshold: 90
  force_gc_threshold: 95
  gc_interval: 5s
  max_memory_mb: 100
  max_heap_mb: 100
targets:
  - match: { hooked: true }
    heap: hook
  - match: { comm: "^bare$" }
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
YAML
}
# Automatic trims start off, so the fragmented heap can be measured first.
write_config false
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

# --- a process without the hook, far above every threshold: never signalled ---
# (the hook's signal would kill it: its default action is to terminate)
cp "$TARGETS/heapdriver" "$WORK/bare"
spawn BARE "$WORK/bare"
ready BARE
hd BARE "hold 150000"
check "the unhooked process is seen above the mark" wait_until 10 grep -q "pid $BARE_PID (bare) is above high_water_mark_percent .* no control hook: it is never signalled" "$MT_LOG"

# --- automatic trim of a fragmented, hooked process ---
spawn A env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=500 "$TARGETS/heapdriver"
ready A
check "hooked: true selects the hooked process" wait_until 10 grep -q "tracking pid $A_PID (heapdriver), heap tier hook" "$MT_LOG"
check "the hook's reports are probed" wait_until 10 grep -q "pid $A_PID (heapdriver): control hook reports probed" "$MT_LOG"
sleep 1
hd A "fragment 200000"
before=$(rss "$A_PID")
sleep 2
check "no trim while enable_auto_gc is false" test "$(heap_metric memory_gc_count_total "$A_PID")" = 0
write_config true
kill -HUP "$MT_PID"
check "memtide trims it by itself" wait_until 15 sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_gc_count_total{pid=\"$A_PID\",comm=\"heapdriver\"} 1'"
t_first=$SECONDS
sleep 0.5
after=$(rss "$A_PID")
drop=$((before - after))
echo "# memtide's trim: RSS $before -> $after ($drop bytes back; the process itself got $self_gain)"
check "the RSS drop is at least 95% of the self-trim's" test $((drop * 100)) -ge $((self_gain * 95))
check "the trim is logged with what it gave back" wait_until 5 grep -qE "trim of pid $A_PID \(heapdriver\): [0-9]+ bytes back" "$MT_LOG"
check "released bytes in the metrics" test "$(heap_metric memory_gc_released_bytes_total "$A_PID")" -gt 50000000
check "the pause histogram holds it" test "$(heap_metric memory_gc_pause_ns_count "$A_PID")" = 1
check "gc_count in the JSON API" test "$(curl -sf "$MT_URL/api/v1/memory/stats?pid=$A_PID" | json 'd["processes"][0]["gc_count"], d["processes"][0]["tier"]')" = "1 hook"
check "the unhooked process is still alive" kill -0 "$BARE_PID"

# --- gc_interval: still above the high mark (its live blocks pin ~68 MB of
# 100), but below the force threshold: the next trim waits for gc_interval ---
echo "# usage after the trim: $(heap_metric memory_usage_percent "$A_PID")%"
sleep 2
check "within gc_interval (5 s) no second trim" test "$(heap_metric memory_gc_count_total "$A_PID")" = 1
check "after gc_interval the second trim comes" wait_until 15 sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_gc_count_total{pid=\"$A_PID\",comm=\"heapdriver\"} 2'"
echo "# second trim $((SECONDS - t_first)) s after the first"
check "and not before 5 s after the first" test $((SECONDS - t_first)) -ge 4

# --- a trim that gives nothing back is not repeated at once ---
spawn C env LD_PRELOAD="$HOOK" "$TARGETS/heapdriver"
ready C
hd C "hold 70000"
check "an ineffective trim backs off" wait_until 20 grep -q "trim of pid $C_PID (heapdriver) gave back only .* backing off" "$MT_LOG"
n=$(heap_metric memory_gc_count_total "$C_PID")
sleep 3
check "and is not repeated at once" test "$(heap_metric memory_gc_count_total "$C_PID")" = "$n"

# --- POST /api/v1/memory/gc: now, with the hook's own figures in the answer ---
# (automatic trims off again, so the policy cannot get there first)
write_config false
kill -HUP "$MT_PID"
wait_until 5 sh -c "test \$(grep -c 'configuration reloaded' '$MT_LOG') = 2"
hd A "fragment 100000"
code=$(curl -s -o "$WORK/gc.json" -w '%{http_code}' -X POST "$MT_URL/api/v1/memory/gc?pid=$A_PID")
echo "# POST gc?pid=$A_PID: $(cat "$WORK/gc.json")"
check "POST gc?pid=N trims it and answers 200" test "$code" = 200
check "the answer has released bytes, duration, before and after" test "$(json '[(r["pid"], r["trimmed"], r["released_bytes"] > 10000000, r["duration_ns"] > 0, r["before"]["rss_bytes"] - r["after"]["rss_bytes"] == r["released_bytes"]) for r in d["results"]][0]' <"$WORK/gc.json")" = "($A_PID, True, True, True, True)"
curl -s -o "$WORK/gc-all.json" -X POST "$MT_URL/api/v1/memory/gc"
check "POST gc (all) picks the hooked processes above the mark, not the bare one" test "$(json 'sorted(r["pid"] for r in d["results"])' <"$WORK/gc-all.json")" = "$(printf '%s\n' "$A_PID" "$C_PID" | sort -n | paste -sd, | sed 's/^/[/; s/,/, /g; s/$/]/')"
check "POST gc?pid= of the unhooked process: refused, never signalled" test "$(curl -s -X POST "$MT_URL/api/v1/memory/gc?pid=$BARE_PID" | json 'd["results"][0]["trimmed"], d["results"][0]["reason"]')" = "False no control hook loaded: never signalled"

check "promtool check metrics: nothing beyond the spec's fixed names" promtool_clean

check "the unhooked process was never signalled: still alive" kill -0 "$BARE_PID"
check "memtide is still running" kill -0 "$MT_PID"
for p in A C BARE; do hd "$p" exit; done
finish
