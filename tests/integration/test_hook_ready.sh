#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A hooked process is trimmable as soon as memtide sees its hook, before it
# ever reported: with MEMTIDE_HOOK_INTERVAL_MS=0 (reports after trims only)
# and with a long interval, both started before memtide (their first report
# went unseen). POST gc right after memtide starts trims it; the policy asks
# it to trim and never says it has no hook; a process without the hook still
# gets "no control hook loaded" and is never signalled.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
# Names of their own: other memtide instances on this machine select by comm.
for n in tidehk0 tidehklong tidehkbare; do cp "$TARGETS/heapdriver" "$WORK/$n"; done
spawn Z env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=0 "$WORK/tidehk0"
spawn L env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=3600000 "$WORK/tidehklong"
spawn BARE "$WORK/tidehkbare"
for p in Z L BARE; do ready "$p"; done
# Z: a fragmented heap a trim gives back; L and BARE: above the high mark.
hd Z "fragment 100000"
hd L "hold 70000"
hd BARE "hold 70000"

PORT=$(free_port)
cat >"$WORK/memtide.yaml" <<YAML
memory:
  enable_auto_gc: true
  monitor_interval: 1s
  high_water_mark_percent: 50
  low_water_mark_percent: 10
  alert_threshold: 90
  force_gc_threshold: 99
  gc_interval: 1h
  max_memory_mb: 100
  max_heap_mb: 100
targets:
  - match: { comm: "^tidehk" }
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
YAML
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

# At once: the first snapshot may not even have the probe on yet.
code=$(curl -s -o "$WORK/gc.json" -w '%{http_code}' -X POST "$MT_URL/api/v1/memory/gc?pid=$Z_PID")
echo "# POST gc?pid=$Z_PID at start: $code $(cat "$WORK/gc.json")"
check "POST gc at start, hook reporting never (interval 0): 200" test "$code" = 200
check "and it is trimmed, with what it gave back" test "$(json '[(r["pid"], r["trimmed"], r["released_bytes"] > 50000000) for r in d["results"]][0]' <"$WORK/gc.json")" = "($Z_PID, True, True)"
check "the trim is in its metrics (its first and only report)" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_gc_count_total{pid=\"$Z_PID\",comm=\"tidehk0\"} 1'"

# The policy: the long-interval process, above the mark, never reported.
check "the policy asks the unreported hooked process to trim" wait_until 15 grep -q "asked pid $L_PID (tidehklong) to trim: above high_water_mark_percent" "$MT_LOG"
check "saying its hook is loaded but has not reported yet" grep -q "asked pid $L_PID (tidehklong) to trim: .*hook loaded, not reported yet" "$MT_LOG"
check "its trim is reported back to the policy" wait_until 15 grep -q "trim of pid $L_PID (tidehklong)" "$MT_LOG"
check "the unhooked process: 'has no control hook' in the policy log" wait_until 10 grep -q "pid $BARE_PID (tidehkbare) is above high_water_mark_percent .* has no control hook: it is never signalled" "$MT_LOG"
check "no hooked process is said to have no control hook" sh -c "! grep -E 'pid ($Z_PID|$L_PID) .*no control hook' '$MT_LOG'"
check "POST gc of the unhooked process: 'no control hook loaded'" test "$(curl -s -X POST "$MT_URL/api/v1/memory/gc?pid=$BARE_PID" | json 'd["results"][0]["trimmed"], d["results"][0]["reason"]')" = "False no control hook loaded: never signalled"
check "the unhooked process was never signalled: still alive" kill -0 "$BARE_PID"
check "memtide is still running" kill -0 "$MT_PID"
for p in Z L BARE; do hd "$p" exit; done
grep -E "gc request|asked|trim of|tidehk" "$MT_LOG" | head -20 | sed "s|^|# |"
finish
