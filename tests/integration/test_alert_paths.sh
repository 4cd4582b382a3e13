#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Both alert paths at once, as the README allows: memtide's own Alertmanager
# sender and a real Prometheus running the shipped rules against the same
# Alertmanager. The alert they both raise must reach it as one alert (the
# same labels, instance the node's name), not two.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
AM_PORT=$(free_port)
PROM_PORT=$(free_port)
AM="http://127.0.0.1:$AM_PORT"
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 500ms
  max_memory_mb: 100
  force_gc_threshold: 99
targets:
  - match: { comm: "^faulter$" }
exporter:
  listen: "127.0.0.1:$PORT"
alerts:
  high_for: 1s
alertmanager:
  url: "$AM"
  resend_interval: 2s
  timeout: 1s
YAML
# The shipped rules, but firing at once: the test is about labels, not 'for'.
sed 's/^\(        for:\).*/\1 0s/' "$ROOT/deploy/prometheus/memtide-rules.yml" >"$WORK/rules.yml"
cat >"$WORK/prometheus.yml" <<YAML
global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
rule_files: ["$WORK/rules.yml"]
alerting:
  alertmanagers: [{ static_configs: [{ targets: ["127.0.0.1:$AM_PORT"] }] }]
scrape_configs:
  - job_name: memtide
    static_configs: [{ targets: ["127.0.0.1:$PORT"] }]
YAML

start_alertmanager "$AM_PORT" || { not_ok "alertmanager starts" "$(tail -5 "$WORK/alertmanager.log")"; finish; }
start_faulter || { not_ok "faulter starts" "no ready line"; finish; }
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
start_prometheus "$PROM_PORT" || { not_ok "Prometheus starts" "$(tail -3 "$WORK/prometheus.log")"; finish; }
NODE=$(scrape | sed -n 's/^memtide_node_info{node="\(.*\)"} 1$/\1/p')
check "memtide names its node ($NODE)" test -n "$NODE"

faulter_do "minor 21000" # ~84 MB of 100: above both paths' 80%
check "memtide's own MemoryHighUsage fires" wait_until 15 grep -q "alert MemoryHighUsage \[warning\] firing: faulter (pid $F_PID)" "$MT_LOG"
prom_firing() { prom_query 'ALERTS{alertname="MemoryHighUsage",alertstate="firing",pid="'"$F_PID"'"}' | json '[r["metric"]["instance"] for r in d["data"]["result"]]'; }
check "the shipped rule fires in Prometheus" wait_until 30 sh -c "$(declare -f prom_firing prom_query json); PROM=$PROM F_PID=$F_PID prom_firing | grep -q \"'\""
check "the rule's instance is the node's name" test "$(prom_firing)" = "['$NODE']"

# Both paths have sent by now (memtide resends every 2 s, Prometheus at once).
am_alerts() { curl -sf "$AM/api/v2/alerts" | json 'json.dumps([sorted(a["labels"].items()) for a in d if a["labels"]["alertname"] == "MemoryHighUsage" and a["labels"].get("pid") == "'"$F_PID"'"])'; }
check "the Alertmanager has heard from Prometheus" wait_until 30 sh -c "curl -sf '$AM/metrics' | grep -q 'alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"} [1-9]'"
sleep 3
got=$(am_alerts)
echo "# alertmanager: $got"
[ "$(prom_firing)" = "[]" ] && prom_query '{__name__=~"memory_sys_bytes|memory_max_memory_mb|memtide_node_info"}' | sed 's/^/# prometheus: /' 
check "the Alertmanager holds one MemoryHighUsage for the process, not two" test "$(json 'len(d)' <<<"$got")" = 1
check "its labels are the sender's: alertname, comm, instance, job, pid, severity" test "$(json '[k for k, v in d[0]]' <<<"$got")" = "['alertname', 'comm', 'instance', 'job', 'pid', 'severity']"
check "its instance is the node's name" test "$(json '[v for k, v in d[0] if k == "instance"][0]' <<<"$got")" = "$NODE"
finish
