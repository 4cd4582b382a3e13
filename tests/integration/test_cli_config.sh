#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Command line, configuration errors, SIGHUP reload, HTTP status codes, cgroup limits.
. "$(dirname "$0")/../lib.sh"

# --check-config: exit 2 with file:line:column on bad files, 0 on good ones.
printf 'memory:\n  monitor_interval: 30s\n  high_water_mark_percent: 80\n  low_water_mark_percent: 85\n' >"$WORK/bad.yaml"
"$MEMTIDE" --check-config --config "$WORK/bad.yaml" 2>"$WORK/err" >"$WORK/out"
rc=$?
check "--check-config on a bad file exits 2" test "$rc" = 2
check "the error names file:line:column" grep -q "$WORK/bad.yaml:4:27: low_water_mark_percent (85) must be below high_water_mark_percent (80)" "$WORK/err"
check "nothing on stdout for a bad file" test ! -s "$WORK/out"
"$MEMTIDE" --config "$WORK/bad.yaml" 2>/dev/null
check "starting on a bad file exits 2" test $? = 2
for f in "$ROOT"/config/*.yaml; do
	check "--check-config accepts $(basename "$f")" sh -c "'$MEMTIDE' --check-config --config '$f' >/dev/null"
done
check "--check-config FILE, as promtool and nginx take it" sh -c "'$MEMTIDE' --check-config '$ROOT/config/production.yaml' >/dev/null"
"$MEMTIDE" --check-config "$WORK/bad.yaml" 2>/dev/null
check "--check-config FILE on a bad file exits 2" test $? = 2
# Only contradictions between keys the file gives are errors; left-out keys follow.
printf 'memory: { max_memory_mb: 100 }\n' >"$WORK/mem.yaml"
"$MEMTIDE" --check-config "$WORK/mem.yaml" >"$WORK/mem.out" 2>"$WORK/err"
check "max_memory_mb alone is accepted" test $? = 0
check "... and max_heap_mb follows it (50)" grep -qx '  max_heap_mb: 50' "$WORK/mem.out"
check "--check-config says the file is valid" grep -q "^# $WORK/mem.yaml: configuration is valid" "$WORK/mem.out"
for keys in 'high_water_mark_percent: 50' 'alert_threshold: 99' 'max_heap_mb: 2048'; do
	printf 'memory: { %s }\n' "$keys" >"$WORK/one.yaml"
	check "\"$keys\" alone is accepted" sh -c "'$MEMTIDE' --check-config '$WORK/one.yaml' >/dev/null"
done
# The effective configuration reads back to itself (comments name the file).
roundtrip() { # $1: a configuration file
	"$MEMTIDE" --check-config "$1" >"$WORK/rt1.yaml" 2>/dev/null &&
		"$MEMTIDE" --check-config "$WORK/rt1.yaml" >"$WORK/rt2.yaml" 2>/dev/null &&
		diff <(grep -v '^#' "$WORK/rt1.yaml") <(grep -v '^#' "$WORK/rt2.yaml") >/dev/null &&
		grep -q '^  force_gc_threshold: ' "$WORK/rt2.yaml"
}
for f in "$WORK/mem.yaml" "$ROOT"/config/*.yaml; do
	check "--check-config output round-trips for $(basename "$f")" roundtrip "$f"
done
printf 'pushgateway:\n  url: "http://bob:hunter2@127.0.0.1:9091/"\n' >"$WORK/secret.yaml"
check "--check-config prints no URL password" sh -c "'$MEMTIDE' --check-config '$WORK/secret.yaml' | grep -q '^  url: \"http://bob:<secret>@127.0.0.1:9091/\"\$' && ! '$MEMTIDE' --check-config '$WORK/secret.yaml' | grep -q hunter2"
check "--check-config output round-trips with a redacted URL" roundtrip "$WORK/secret.yaml"
check "--log-level takes any case" sh -c "'$MEMTIDE' --log-level DEBUG --check-config '$ROOT/config/production.yaml' >/dev/null"
"$MEMTIDE" --frobnicate 2>/dev/null
check "an unknown option exits 2" test $? = 2
check "--version prints the version" sh -c "'$MEMTIDE' --version | grep -q '^memtide '"
check "--help prints the usage" sh -c "'$MEMTIDE' --help | grep -q -- '--check-config'"

# --once: one interval, the page on stdout, exit 0.
sleep 300 &
SLEEPER=$!
PIDS+=("$SLEEPER")
cat >"$WORK/once.yaml" <<YAML
memory:
  monitor_interval: 1s
targets:
  - match: { pid: $SLEEPER }
YAML
timeout 20 "$MEMTIDE" --once --config "$WORK/once.yaml" >"$WORK/once.prom" 2>"$WORK/once.log"
check "--once exits 0" test $? = 0
check "--once prints the tracked process" grep -q "memory_sys_bytes{pid=\"$SLEEPER\",comm=\"sleep\"}" "$WORK/once.prom"
check "--once logs to stderr only" sh -c "! grep -q 'tracking pid' '$WORK/once.prom' && grep -q 'tracking pid $SLEEPER' '$WORK/once.log'"

# SIGHUP: a bad file keeps the running config; a good one is taken.
PORT=$(free_port)
write_config() { # $1: comm regex, $2: port (default $PORT)
	cat >"$WORK/live.yaml" <<YAML
memory:
  monitor_interval: 1s
targets:
  - match: { comm: "$1" }
exporter:
  listen: "127.0.0.1:${2:-$PORT}"
YAML
}
reloads() { grep -c "configuration reloaded from" "$MT_LOG"; }
reloaded_since() { test "$(reloads)" -gt "$1"; } # $1: reloads before
listen_warnings() { grep -c "exporter.listen changes take effect at restart" "$MT_LOG"; }
write_config "^sleep$"
start_memtide "$WORK/live.yaml" || { not_ok "memtide starts" "see log"; finish; }
check "sleeper tracked" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_sys_bytes{pid=\"$SLEEPER\"'"
check "reload metric starts at 1" test "$(metric memtide_config_last_reload_successful '')" = 1
printf 'memory:\n  monitor_interval: 1s\ntargets:\n  - match: { comm: "(" }\nexporter:\n  listen: "127.0.0.1:%s"\n' "$PORT" >"$WORK/live.yaml"
kill -HUP "$MT_PID"
check "a bad reload sets memtide_config_last_reload_successful 0" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q '^memtide_config_last_reload_successful 0'"
check "a bad reload is logged with its position" grep -q "reload failed, keeping the running configuration: $WORK/live.yaml:4:20: comm: bad regular expression" "$MT_LOG"
check "the agent is still up" kill -0 "$MT_PID"
check "the old targets are still tracked" sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_sys_bytes{pid=\"$SLEEPER\"'"
write_config "^no-such-process$"
kill -HUP "$MT_PID"
check "a good reload sets the metric back to 1" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q '^memtide_config_last_reload_successful 1'"
check "the new targets apply" wait_until 10 sh -c "! curl -sf $MT_URL/metrics | grep -q 'pid=\"$SLEEPER\"'"
# exporter.listen needs a restart: a change warns, the same value restored does not.
n=$(reloads)
write_config "^no-such-process$" "$(free_port)"
kill -HUP "$MT_PID"
check "a reload with a new listen address is taken" wait_until 10 reloaded_since "$n"
check "a changed exporter.listen warns" test "$(listen_warnings)" = 1
n=$(reloads)
write_config "^no-such-process$"
kill -HUP "$MT_PID"
check "a reload with the listen address restored is taken" wait_until 10 reloaded_since "$n"
check "a restored exporter.listen does not warn again" test "$(listen_warnings)" = 1
check "still serving on the first address" test "$(metric memtide_config_last_reload_successful '')" = 1

# HTTP: unknown paths and wrong methods get 4xx with a JSON body; the server stays up.
code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
check "unknown path is 404" test "$(code "$MT_URL/nope")" = 404
check "404 body is JSON" sh -c "python3 -m json.tool '$WORK/body' >/dev/null"
check "POST /metrics is 405" test "$(code -X POST "$MT_URL/metrics")" = 405
check "405 names the allowed methods" sh -c "curl -si -X DELETE $MT_URL/metrics | grep -qi '^allow: GET, HEAD'"
check "/ is a landing page" test "$(code "$MT_URL/")" = 200
check "still serving /metrics" test "$(code "$MT_URL/metrics")" = 200
kill -TERM "$MT_PID"
wait "$MT_PID"
check "SIGTERM exits 0" test $? = 0
check "shutdown is logged" grep -q "shutting down" "$MT_LOG"

# max_memory_mb: 0 takes the process's cgroup memory limit.
if memory_cgroup memtide-test 256; then
	sh -c "echo \$\$ > $CG/cgroup.procs; exec sleep 300" &
	CAGED=$!
	PIDS+=("$CAGED")
	sleep 0.3
	printf 'memory:\n  monitor_interval: 1s\n  max_memory_mb: 0\n  max_heap_mb: 0\ntargets:\n  - match: { pid: %s }\n  - match: { pid: %s }\n' "$CAGED" "$SLEEPER" >"$WORK/cg.yaml"
	timeout 20 "$MEMTIDE" --once --config "$WORK/cg.yaml" >"$WORK/cg.prom" 2>/dev/null
	mem_total_mb=$(awk '$1 == "MemTotal:" { printf "%.0f", $2 / 1024 }' /proc/meminfo)
	got=$(awk -v p="memory_max_memory_mb{pid=\"$CAGED\"" 'index($0, p) == 1 { print $NF }' "$WORK/cg.prom")
	check "cgroup limit becomes memory_max_memory_mb (256)" test "$got" = 256
	got=$(awk -v p="memory_max_memory_mb{pid=\"$SLEEPER\"" 'index($0, p) == 1 { printf "%.0f", $NF }' "$WORK/cg.prom")
	check "no cgroup limit falls back to total RAM ($mem_total_mb MiB)" test "$got" = "$mem_total_mb"
	kill "$CAGED"; wait "$CAGED" 2>/dev/null
	rmdir "$CG"
else
	echo "ok - cgroup limit # SKIP cannot create a memory cgroup here"
fi
finish
