#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pushgateway: the real Debian prometheus-pushgateway on a free loopback port.
. "$(dirname "$0")/../lib.sh"

PG_PORT=$(free_port)
PG="http://127.0.0.1:$PG_PORT"
start_pushgateway "$PG_PORT" || { not_ok "pushgateway starts" "$(cat "$WORK/pushgateway.log")"; finish; }
PORT=$(free_port)
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
targets:
  - match: { comm: "^faulter$" }
exporter:
  listen: "127.0.0.1:$PORT"
pushgateway:
  url: "$PG/"
  job: "memtide-test"
  instance: "node/1"
  timeout: 2s
YAML
start_faulter || { not_ok "faulter starts" "no ready line"; finish; }
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

# The group's samples of one family, as "labels=value" lines, from the gateway's own API.
group_samples() { # FAMILY
	curl -sf "$PG/api/v1/metrics" | python3 -c '
import json, sys
fam = sys.argv[1]
for g in json.load(sys.stdin)["data"]:
    if g["labels"].get("job") == "memtide-test" and g["labels"].get("instance") == "node/1":
        for m in g.get(fam, {}).get("metrics", []):
            print(",".join("%s=%s" % kv for kv in sorted(m["labels"].items())), m.get("value"))
' "$1" 2>/dev/null
}
has_target() { group_samples memory_sys_bytes | grep -q "pid=$F_PID"; }
group_exists() { curl -sf "$PG/api/v1/metrics" | grep -q '"memtide-test"'; }

check "the group holds our families under job/instance" wait_until 15 has_target
check "a sender loads libcurl" grep -q "/libcurl\.so" "/proc/$MT_PID/maps"
check "the target's labels arrive intact" sh -c "$(declare -f group_samples); PG=$PG group_samples memory_page_faults_total | grep -q 'comm=faulter,instance=node/1,job=memtide-test,kind=minor,pid=$F_PID'"
check "self-metrics are pushed too" sh -c "$(declare -f group_samples); PG=$PG group_samples memtide_build_info | grep -q version"
check "push successes are counted" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -qE '^memtide_push_success_total [1-9]'"
check "health says the pushgateway is ok" sh -c "curl -sf $MT_URL/health | grep -q '\"pushgateway\":\"ok\"'"

# An exited target is gone from the group after the next push (PUT replaces it).
echo exit >&"$F_IN"
wait "$F_PID" 2>/dev/null
# Gone, while the group itself is still there and readable.
target_gone() { group_samples memtide_targets | grep -q 'tier=none' && ! has_target; }
check "an exited target vanishes from the group" wait_until 15 target_gone

# Gateway down: pushes fail and are counted, everything else keeps working.
kill "$PG_PID"; wait "$PG_PID" 2>/dev/null
failures_before=$(metric memtide_push_failures_total "")
check "failures are counted while the gateway is down" wait_until 15 sh -c "test \$(curl -sf $MT_URL/metrics | awk '\$1 == \"memtide_push_failures_total\" { print \$2 }') -gt $failures_before"
t=$(date +%s.%N)
check "snapshots go on while the gateway is down" wait_snapshot_after "$t"
check "/metrics still answers" curl -sf -o /dev/null "$MT_URL/metrics"
check "health reports the pushgateway as warning, HTTP 200" sh -c "test \$(curl -s -o $WORK/h.json -w '%{http_code}' $MT_URL/health) = 200 && grep -q '\"pushgateway\":\"warning\"' $WORK/h.json"
check "the failure is logged" grep -q "pushgateway PUT $PG/metrics/job/memtide-test/instance@base64/bm9kZS8x" "$MT_LOG"

# Back up on the same port: the agent recovers by itself.
start_pushgateway "$PG_PORT" || not_ok "pushgateway restarts" "see log"
check "pushes resume when the gateway is back" wait_until 30 group_exists
check "recovery is logged" wait_until 5 grep -q "pushing again" "$MT_LOG"

# Shutdown: one last push, then DELETE of the group.
kill -TERM "$MT_PID"
wait "$MT_PID"
check "memtide exits 0 on SIGTERM" test $? = 0
check "DELETE on shutdown empties the group" sh -c "! curl -sf $PG/api/v1/metrics | grep -q '\"memtide-test\"'"
check "the deletion is logged" grep -q "deleted group" "$MT_LOG"
finish
