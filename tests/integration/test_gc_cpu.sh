#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# memory_gc_cpu_fraction and MemoryGCHighCPU end to end: a process that
# really spends much of its CPU in trims fires the alert (memtide's own, and
# the real Alertmanager receives it), which resolves once it stops; an idle
# process trimmed twice by hand shows a fraction <= 1 that falls back to 0
# within the window (10 monitor intervals: 5 s here), its alert inactive then.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
for n in tidetrimmer tideidle; do cp "$TARGETS/heapdriver" "$WORK/$n"; done
PORT=$(free_port)
AM_PORT=$(free_port)
AM="http://127.0.0.1:$AM_PORT"
cat >"$WORK/memtide.yaml" <<YAML
memory:
  enable_auto_gc: false
  monitor_interval: 500ms
  max_memory_mb: 1000
  max_heap_mb: 1000
targets:
  - match: { comm: "^tide(trimmer|idle)$" }
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
api:
  gc_min_interval: 1s
alerts:
  trim_cpu_for: 1s
  trim_cpu_percent: 5               # margin: the trimmer runs at ~17%
alertmanager:
  url: "$AM"
  resend_interval: 2s
  timeout: 1s
YAML
# The idle process does its only work (fragmenting its heap) before memtide
# sees it: from then on, its trims are nearly all the CPU time it uses.
spawn ID env LD_PRELOAD="$HOOK" "$WORK/tideidle"
ready ID
hd ID "fragment 50000"
start_alertmanager "$AM_PORT" || { not_ok "alertmanager starts" "$(tail -5 "$WORK/alertmanager.log")"; finish; }
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
spawn TR env LD_PRELOAD="$HOOK" "$WORK/tidetrimmer"
ready TR
for p in TR ID; do
	eval "pid=\$${p}_PID"
	check "pid $pid: hook reports probed" wait_until 10 grep -q "pid $pid (tide[a-z]*): control hook reports probed" "$MT_LOG"
done
fraction() { heap_metric memory_gc_cpu_fraction "$1"; }
# max_fraction PID SECONDS: the largest fraction seen over SECONDS (0.25 s apart).
max_fraction() {
	local max=0 f end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		f=$(fraction "$1")
		max=$(awk -v a="${f:-0}" -v b="$max" 'BEGIN { print (a > b ? a : b) }')
		sleep 0.25
	done
	echo "$max"
}
am_has() { curl -sf "$AM/api/v2/alerts" | json '" ".join(a["labels"]["alertname"] for a in d if a["labels"].get("pid") == "'"$1"'")' | grep -q MemoryGCHighCPU; }
am_lacks() { ! am_has "$1"; }
alert_inactive() { ! curl -sf "$MT_URL/api/v1/alerts" | json '" ".join(a["alertname"] for a in d["active"] if a["pid"] == '"$1"')' | grep -q MemoryGCHighCPU; }
fraction_zero() { test "$(fraction "$1")" = 0; }

# --- the trimmer: fragments 20 MB, asks its hook to trim, frees, for 12 s ---
echo "trimloop 12000" >&"$TR_IN"
busy=$(max_fraction "$TR_PID" 8)
echo "# trimmer: memory_gc_cpu_fraction up to $busy"
check "the trimmer's fraction is above 10% and at most 1" awk -v f="$busy" 'BEGIN { exit !(f > 0.1 && f <= 1) }'
check "MemoryGCHighCPU fires for it" wait_until 10 grep -q "alert MemoryGCHighCPU \[warning\] firing: tidetrimmer (pid $TR_PID)" "$MT_LOG"
check "the Alertmanager receives it" wait_until 20 am_has "$TR_PID"
read -r -t 30 line <&"$TR_OUT"
check "the trim loop ends" test "${line%% *}" = ok
check "once it stops trimming, the alert resolves" wait_until 20 grep -q "alert MemoryGCHighCPU \[warning\] resolved: tidetrimmer (pid $TR_PID)" "$MT_LOG"
check "and the fraction falls to 0" wait_until 10 fraction_zero "$TR_PID"
check "the Alertmanager hears it resolved" wait_until 30 am_lacks "$TR_PID"

# --- the idle process, trimmed twice by hand ---
for i in 1 2; do
	curl -s -o "$WORK/gc$i.json" -X POST "$MT_URL/api/v1/memory/gc?pid=$ID_PID"
	check "POST gc #$i trims the idle process" test "$(json 'd["results"][0]["trimmed"]' <"$WORK/gc$i.json")" = True
	sleep 1.1
done
idle=$(max_fraction "$ID_PID" 6)
echo "# idle, trimmed twice: memory_gc_cpu_fraction up to $idle"
check "the idle process's fraction stays at most 1" awk -v f="$idle" 'BEGIN { exit !(f <= 1) }'
check "and falls to 0 within the window" wait_until 10 fraction_zero "$ID_PID"
check "no MemoryGCHighCPU is active for it then" wait_until 5 alert_inactive "$ID_PID"
check "memtide is still running" kill -0 "$MT_PID"
for p in TR ID; do hd "$p" exit; done
finish
