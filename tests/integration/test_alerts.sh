#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Alerts end to end: pending → firing → resolved, the history API, the metric,
# and the real Debian Alertmanager receiving them (started late, so the first
# sends fail and are retried), resent while firing, resolved with endsAt.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
AM_PORT=$(free_port)
AM="http://127.0.0.1:$AM_PORT"
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 500ms
  high_water_mark_percent: 20
  low_water_mark_percent: 10
  alert_threshold: 40
  force_gc_threshold: 99
  max_memory_mb: 100
  max_heap_mb: 100
targets:
  - match: { comm: "^heapdriver$" }
    heap: uprobe
exporter:
  listen: "127.0.0.1:$PORT"
alerts:
  high_for: 1s
  critical_for: 2s
  leak_for: 1s
  leak_window: 5s
  leak_objects: 1000
  history_size: 50
alertmanager:
  url: "$AM"
  resend_interval: 2s
  timeout: 1s
YAML
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
spawn HD "$TARGETS/heapdriver"
ready HD
check "probes attached" wait_until 5 grep -q "pid $HD_PID (heapdriver): heap probes attached" "$MT_LOG"

# The leak window needs a figure from before the leak: a snapshot with the
# probes' counts.
wait_until 10 sh -c "curl -sf '$MT_URL/metrics' | grep -q '^memory_heap_objects{pid=\"$HD_PID\"'"
# ~30 MB live: above the high mark (20%), below the alert threshold (40%);
# 30,000 new live objects: a leak by the configured window.
hd HD "hold 30000"
active() { curl -sf "$MT_URL/api/v1/alerts" | json '" ".join(sorted("%s:%s" % (a["alertname"], a["state"]) for a in d["active"] if a["pid"] == '"$HD_PID"'))'; }
check "high usage goes pending, then firing" wait_until 10 sh -c "grep -q 'alert MemoryHighUsage \[warning\] pending: heapdriver (pid $HD_PID)' '$MT_LOG' && grep -q 'alert MemoryHighUsage \[warning\] firing: heapdriver (pid $HD_PID)' '$MT_LOG'"
check "the leak fires too" wait_until 10 grep -q "alert MemoryLeakDetected \[warning\] firing: heapdriver (pid $HD_PID)" "$MT_LOG"
check "GET /api/v1/alerts lists them as active" wait_until 5 sh -c "$(declare -f active json); MT_URL=$MT_URL HD_PID=$HD_PID active | grep -q 'MemoryHighUsage:firing'"
check "no critical alert below alert_threshold" sh -c "! grep -q 'MemoryCriticalUsage.*pid $HD_PID' '$MT_LOG'"
check "memory_alerts_firing counts it" wait_until 5 sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_alerts_firing{alertname=\"MemoryHighUsage\",severity=\"warning\"} 1'"

# Above the alert threshold: critical, after its own 'for'.
hd HD "hold 20000"
check "critical usage fires" wait_until 10 grep -q "alert MemoryCriticalUsage \[critical\] firing: heapdriver (pid $HD_PID)" "$MT_LOG"

# The Alertmanager comes up late: memtide's sends failed and are retried.
check "sends fail while the Alertmanager is down" wait_until 10 grep -q "alertmanager $AM/api/v2/alerts" "$MT_LOG"
start_alertmanager "$AM_PORT" || { not_ok "alertmanager starts" "$(tail -5 "$WORK/alertmanager.log")"; finish; }
am_alerts() { curl -sf "$AM/api/v2/alerts" | json '" ".join(sorted(a["labels"]["alertname"] + ":" + a["labels"]["severity"] for a in d if a["labels"].get("pid") == "'"$HD_PID"'"))'; }
check "the Alertmanager receives all three" wait_until 30 sh -c "test \"\$($(declare -f am_alerts json); AM=$AM HD_PID=$HD_PID am_alerts)\" = 'MemoryCriticalUsage:critical MemoryHighUsage:warning MemoryLeakDetected:warning'"
check "with summary and description" test "$(curl -sf "$AM/api/v2/alerts" | json '[a["annotations"]["summary"] for a in d if a["labels"]["alertname"] == "MemoryCriticalUsage"][0]')" = "Critical memory usage detected"
received() { curl -sf "$AM/metrics" | awk -v s="$1" '$1 == "alertmanager_alerts_received_total{status=\"" s "\",version=\"v2\"}" { print $2 }'; }
r1=$(received firing)
check "firing alerts are resent while they fire" wait_until 10 sh -c "test \"\$($(declare -f received); AM=$AM received firing)\" -gt $r1"

# Back below the marks (the process frees and trims itself, so RSS falls too):
# resolved, sent with endsAt, gone from the Alertmanager.
hd HD freeall
hd HD trim
check "alerts resolve" wait_until 15 grep -q "alert MemoryHighUsage \[warning\] resolved: heapdriver (pid $HD_PID)" "$MT_LOG"
check "the Alertmanager hears they resolved" wait_until 30 sh -c "test -z \"\$($(declare -f am_alerts json); AM=$AM HD_PID=$HD_PID am_alerts)\""
check "resolved notifications were received" test "$(received resolved)" -ge 1
check "the history lists the transitions, newest first" test "$(curl -sf "$MT_URL/api/v1/alerts" | json '[a["state"] for a in d["recent"] if a["alertname"] == "MemoryHighUsage"][:3]')" = "['resolved', 'firing', 'pending']"
check "no alert is active any more" wait_until 5 sh -c "test -z \"\$($(declare -f active json); MT_URL=$MT_URL HD_PID=$HD_PID active)\""
hd HD exit
finish
