#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Grafana dashboard (deploy/grafana/memtide.json): every panel's PromQL,
# evaluated by a real Prometheus scraping a real memtide, parses and returns
# data, and names only metrics memtide exposes (tests/integration/dashboard_check.py).
# Panels of each tier get a target of that tier: the kernel tier (a faulter),
# the uprobe tier (heapdriver: live allocations, allocation rate), the hook
# tier (a hooked heapdriver trimmed once: bytes released by trims), and an OOM
# kill in a small memory cgroup (the last OOM victim).
. "$(dirname "$0")/../lib.sh"

DASH=$ROOT/deploy/grafana/memtide.json
HOOK=$ROOT/build/libmemtide_hook.so
check "the dashboard is JSON with schemaVersion 38 or later" \
	python3 -c "import json, sys; sys.exit(json.load(open('$DASH'))['schemaVersion'] < 38)"

# Names of their own, so other memtide instances on this machine leave them be.
cp "$TARGETS/faulter" "$WORK/mtdash_fault"
cp "$TARGETS/heapdriver" "$WORK/mtdash_uprobe"
cp "$TARGETS/heapdriver" "$WORK/mtdash_hook"
cp "$TARGETS/faulter" "$WORK/mtdash_oom"
PORT=$(free_port)
PROM_PORT=$(free_port)
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
  enable_auto_gc: false
targets:
  - match: { comm: "^mtdash_fault$" }
    heap: none
  - match: { comm: "^mtdash_uprobe$" }
    heap: uprobe
  - match: { comm: "^mtdash_hook$" }
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
YAML
cat >"$WORK/prometheus.yml" <<YAML
global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: memtide
    static_configs: [{ targets: ["127.0.0.1:$PORT"] }]
YAML

start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
spawn FAULT "$WORK/mtdash_fault"
ready FAULT
spawn UP "$WORK/mtdash_uprobe"
ready UP
spawn HK env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=500 "$WORK/mtdash_hook"
ready HK
check "the uprobe-tier target is probed" wait_until 15 grep -q "tracking pid $UP_PID (mtdash_uprobe), heap tier uprobe" "$MT_LOG"
check "the hook-tier target's reports are probed" wait_until 15 grep -q "pid $HK_PID (mtdash_hook): control hook reports probed" "$MT_LOG"
echo "minor 2000" >&"$FAULT_IN"
hd UP "work 200"
hd HK "fragment 100000"
wait_until 10 curl -sf -o /dev/null "$MT_URL/api/v1/memory/stats?pid=$HK_PID"
code=$(curl -s -o "$WORK/gc.json" -w '%{http_code}' -X POST "$MT_URL/api/v1/memory/gc?pid=$HK_PID")
check "the hooked target is trimmed once (POST gc: $code)" test "$code" = 200

# An OOM kill since memtide started, for the "Last OOM victim" panel.
if memory_cgroup memtide-dash 32; then
	# (not exec'd: the shell reports the kill, not bash)
	sh -c "echo \$\$ > $CG/cgroup.procs; $WORK/mtdash_oom; exit \$?" <<<"minor 16384" >/dev/null 2>&1
	check "an OOM kill for the OOM panels" test $? = 137
	rmdir "$CG" 2>/dev/null
else
	echo "# no memory cgroup here: the Last OOM victim panel will be empty"
fi

start_prometheus "$PROM_PORT" || { not_ok "Prometheus starts" "$(tail -3 "$WORK/prometheus.log")"; finish; }
# Rates need two samples of the hook's trim within their 10 s window.
has() { prom_query "$1" | grep -q '"value"'; }
check "Prometheus has rates of the trim's counter" wait_until 30 has 'rate(memory_gc_released_bytes_total[10s])'
check "Prometheus has rates of page faults" wait_until 30 has 'rate(memory_page_faults_total[10s])'
check "Prometheus has seen the OOM kill" wait_until 15 has memory_oom_last_kill_timestamp_seconds
scrape >"$WORK/metrics.txt"
NODE=$(sed -n 's/^memtide_node_info{node="\(.*\)"} 1$/\1/p' "$WORK/metrics.txt")

python3 "$ROOT/tests/integration/dashboard_check.py" "$DASH" "$PROM" "$WORK/metrics.txt" "$NODE" | tee "$WORK/check.out"
check "every panel query passes (dashboard_check.py)" test "${PIPESTATUS[0]}" = 0

# The check can fail: a misspelt metric, a label that is not there, a bad expr.
python3 - "$DASH" "$WORK" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for name, old, new in (("metric", "memory_heap_idle_bytes{", "memory_heap_idel_bytes{"),
		       ("legend", "{{kind}}", "{{knid}}"), ("syntax", "[$__rate_interval]", "[$__rate_interval")):
	m = json.loads(json.dumps(d).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1], 1))
	json.dump(m, open("%s/broken-%s.json" % (sys.argv[2], name), "w"))
PY
for b in metric legend syntax; do
	python3 "$ROOT/tests/integration/dashboard_check.py" "$WORK/broken-$b.json" "$PROM" "$WORK/metrics.txt" "$NODE" >"$WORK/broken-$b.out"
	rc=$?
	grep '^not ok' "$WORK/broken-$b.out" | head -2 | sed "s/^/# broken ($b): /"
	check "a dashboard with a broken $b fails the check" test "$rc" = 1
done
finish
