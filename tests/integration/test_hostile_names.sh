#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A process whose name and command line hold invalid UTF-8, a quote, a
# backslash, braces, a newline and a cut multi-byte sequence: every output
# stays valid. promtool on /metrics and the textfile, a real Prometheus
# scrapes the target up, strict JSON (UTF-8 checked), the Pushgateway takes
# the push, the Alertmanager takes an alert about it, log lines stay whole.
. "$(dirname "$0")/../lib.sh"

TOKEN="hostile-$$"
PORT=$(free_port)
PG_PORT=$(free_port)
AM_PORT=$(free_port)
PROM_PORT=$(free_port)
PG="http://127.0.0.1:$PG_PORT"
AM="http://127.0.0.1:$AM_PORT"
mkdir -m 0755 "$WORK/textfile"
# The 8 MiB the target holds is far above 3% of 20 MB: MemoryCriticalUsage fires.
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 500ms
  max_memory_mb: 20
  max_heap_mb: 10
  high_water_mark_percent: 2
  low_water_mark_percent: 1
  alert_threshold: 3
targets:
  - match: { cmdline: "$TOKEN" }
exporter:
  listen: "127.0.0.1:$PORT"
  textfile_dir: "$WORK/textfile"
pushgateway:
  url: "$PG"
  job: "memtide-hostile"
  instance: "node-$$"
  interval: 1s
alerts:
  high_for: 1s
  critical_for: 1s
alertmanager:
  url: "$AM"
  resend_interval: 2s
  timeout: 1s
YAML
start_pushgateway "$PG_PORT" || { not_ok "pushgateway starts" "$(tail -5 "$WORK/pushgateway.log")"; finish; }
start_alertmanager "$AM_PORT" || { not_ok "alertmanager starts" "$(tail -5 "$WORK/alertmanager.log")"; finish; }
: >"$WORK/target.out"
"$TARGETS/hostile_name" "$TOKEN" $'\xff"\\{}\n\xe2\x82' >"$WORK/target.out" &
HN_PID=$!
PIDS+=("$HN_PID")
wait_until 10 grep -q ready "$WORK/target.out" || { not_ok "target starts" "no ready line"; finish; }
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
check "the target is tracked" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_sys_bytes{pid=\"$HN_PID\"'"

# The name every output must show: each invalid part one U+FFFD, the rest escaped.
WANT=$'h\xef\xbf\xbd"\\{}\n\xef\xbf\xbd'
# strict_json EXPR: parses stdin as UTF-8 (invalid bytes fail), then prints EXPR over d.
strict_json() { python3 -c "import json, sys; d = json.loads(sys.stdin.buffer.read().decode('utf-8')); print($1)"; }
want_is() { python3 -c "import sys; sys.exit(sys.argv[1] != sys.argv[2])" "$1" "$WANT"; }

check "promtool check metrics: /metrics is clean" promtool_clean
LABEL='memory_sys_bytes{pid="'$HN_PID$'",comm="h\xef\xbf\xbd\\"\\\\{}\\n\xef\xbf\xbd"}'
check "the label is the sanitized name, escaped" sh -c 'curl -sf "$1/metrics" | grep -qF "$2"' _ "$MT_URL" "$LABEL"
check "the textfile is written" wait_until 10 test -s "$WORK/textfile/memtide.prom"
check "promtool check metrics: the textfile is clean" sh -c "grep -q 'pid=\"$HN_PID\"' '$WORK/textfile/memtide.prom' && promtool check metrics <'$WORK/textfile/memtide.prom' 2>&1 | grep -vE 'abbreviated units|should have \"_total\" suffix' | grep -q . && exit 1 || exit 0"

curl -sf "$MT_URL/api/v1/memory/stats" >"$WORK/stats.json"
curl -sf "$MT_URL/api/v1/memory/stats?pid=$HN_PID" >"$WORK/one.json"
check "stats is strict JSON (valid UTF-8)" sh -c "$(declare -f strict_json); strict_json 1 <'$WORK/stats.json' >/dev/null"
comm=$(strict_json '[p["comm"] for p in d["processes"] if p["pid"] == '"$HN_PID"'][0]' <"$WORK/one.json" 2>/dev/null)
check "?pid=N is strict JSON with the sanitized name" want_is "$comm"

# A real Prometheus scrapes the node: up == 1, and the target's series is there.
cat >"$WORK/prometheus.yml" <<YAML
global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: memtide
    static_configs: [{ targets: ["127.0.0.1:$PORT"] }]
YAML
start_prometheus "$PROM_PORT" || not_ok "Prometheus starts" "$(tail -3 "$WORK/prometheus.log")"
prom_up() { test "$(prom_query 'up{job="memtide"}' | json '[r["value"][1] for r in d["data"]["result"]]' 2>/dev/null)" = "['1']"; }
check "Prometheus scrapes memtide: up == 1" wait_until 60 prom_up
comm=$(prom_query "memory_sys_bytes{pid=\"$HN_PID\"}" | strict_json 'd["data"]["result"][0]["metric"]["comm"]' 2>/dev/null)
check "Prometheus has the target's series, with the sanitized name" want_is "$comm"
grep -m3 -i 'invalid\|error' "$WORK/prometheus.log" | sed 's/^/# prometheus: /'

# The Pushgateway takes the push: its API shows the target's series.
pushed() {
	curl -sf "$PG/api/v1/metrics" | python3 -c '
import json, sys
for g in json.loads(sys.stdin.buffer.read().decode("utf-8"))["data"]:
    if g["labels"].get("job") == "memtide-hostile":
        for m in g.get("memory_sys_bytes", {}).get("metrics", []):
            if m["labels"].get("pid") == sys.argv[1]:
                sys.stdout.write(m["labels"]["comm"])
' "$HN_PID"
}
check "the Pushgateway accepts the push" wait_until 15 sh -c "$(declare -f pushed); PG=$PG HN_PID=$HN_PID pushed | grep -q ."
check "the pushed series has the sanitized name" want_is "$(pushed)"
check "no push was refused" sh -c "! grep -q 'pushgateway.*\(refused\|HTTP 4\)' '$MT_LOG'"

# The Alertmanager takes an alert about it.
am_comm() {
	curl -sf "$AM/api/v2/alerts" | python3 -c '
import json, sys
for a in json.loads(sys.stdin.buffer.read().decode("utf-8")):
    if a["labels"].get("pid") == sys.argv[1] and a["labels"]["alertname"] == "MemoryCriticalUsage":
        sys.stdout.write(a["labels"]["comm"])
' "$HN_PID"
}
check "the Alertmanager holds an alert about the target" wait_until 20 sh -c "$(declare -f am_comm); AM=$AM HN_PID=$HN_PID am_comm | grep -q ."
check "the alert has the sanitized name" want_is "$(am_comm)"
check "no send to the Alertmanager was refused" sh -c "! grep -q 'alertmanager .*refused' '$MT_LOG'"
check "/api/v1/alerts is strict JSON" sh -c "$(declare -f strict_json); curl -sf $MT_URL/api/v1/alerts | strict_json 'd[\"active\"][0][\"comm\"]' >/dev/null"

# Log lines: valid UTF-8, and the name's newline does not start a line of its own.
check "the log is valid UTF-8" python3 -c "open('$MT_LOG', 'rb').read().decode('utf-8')"
check "the tracking line is whole, its newline a '?'" grep -qF "tracking pid $HN_PID (h"$'\xef\xbf\xbd''"\{}?'$'\xef\xbf\xbd'')' "$MT_LOG"
finish
