#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# JSON API and /health against the same snapshot as /metrics; bearer token;
# abuse: garbage, oversized and idle connections; the server stays up and small.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
echo "t0ken-$$" >"$WORK/token"
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
  max_memory_mb: 100
  max_heap_mb: 50
targets:
  - match: { comm: "^faulter$" }
exporter:
  listen: "127.0.0.1:$PORT"
api:
  token_file: "$WORK/token"
YAML
start_faulter || { not_ok "faulter starts" "no ready line"; finish; }
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
check "faulter tracked" wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_sys_bytes{pid=\"$F_PID\"'"
# Without a Pushgateway or an Alertmanager, libcurl and OpenSSL stay out (~3 MB).
check "no sender: libcurl is not loaded" sh -c "! grep -q '/libcurl\.so' /proc/$MT_PID/maps"

# stats: parsed by a real JSON parser; figures equal to /metrics of the same snapshot.
# (Read twice until the snapshot timestamp is the same around both reads.)
for _ in 1 2 3 4 5; do
	t1=$(snapshot_time); curl -sf "$MT_URL/api/v1/memory/stats" >"$WORK/stats.json"; scrape >"$WORK/page.prom"; t2=$(snapshot_time)
	[ "$t1" = "$t2" ] && break
done
check "stats is valid JSON" sh -c "python3 -m json.tool '$WORK/stats.json' >/dev/null"
check "stats has exactly the spec's summary fields" test "$(json 'sorted(d["memory"].keys())' <"$WORK/stats.json")" = "['alert_threshold', 'alloc_bytes', 'gc_count', 'gc_cpu_fraction', 'heap_alloc_bytes', 'heap_idle_bytes', 'heap_inuse_bytes', 'heap_objects', 'heap_sys_bytes', 'high_water_mark', 'low_water_mark', 'max_memory_mb', 'sys_bytes', 'total_alloc_bytes', 'usage_percent']"
sys_json=$(json '[p["sys_bytes"] for p in d["processes"] if p["pid"] == '"$F_PID"'][0]' <"$WORK/stats.json")
sys_prom=$(awk -v p="memory_sys_bytes{pid=\"$F_PID\"" 'index($0, p) == 1 { print $NF }' "$WORK/page.prom")
check "sys_bytes equals memory_sys_bytes ($sys_json)" test "$sys_json" = "$sys_prom"
usage_json=$(json '[p["usage_percent"] for p in d["processes"] if p["pid"] == '"$F_PID"'][0]' <"$WORK/stats.json")
usage_prom=$(awk -v p="memory_usage_percent{pid=\"$F_PID\"" 'index($0, p) == 1 { print $NF }' "$WORK/page.prom")
check "usage_percent equals memory_usage_percent" within 0.0001 "$usage_json" "$usage_prom"
check "thresholds come from the config" test "$(json 'd["memory"]["high_water_mark"], d["memory"]["low_water_mark"], d["memory"]["alert_threshold"], d["memory"]["max_memory_mb"]' <"$WORK/stats.json")" = "80 60 90 100"
check "each process names its tier" test "$(json '[p["tier"] for p in d["processes"]]' <"$WORK/stats.json")" = "['none']"
check "?pid=N narrows to one process" test "$(curl -sf "$MT_URL/api/v1/memory/stats?pid=$F_PID" | json '[p["pid"] for p in d["processes"]]')" = "[$F_PID]"
check "an unknown pid is 404 with a JSON error" sh -c "test \$(curl -s -o $WORK/e.json -w '%{http_code}' '$MT_URL/api/v1/memory/stats?pid=999999') = 404 && python3 -m json.tool $WORK/e.json >/dev/null"
check "a malformed pid is 400" test "$(curl -s -o /dev/null -w '%{http_code}' "$MT_URL/api/v1/memory/stats?pid=abc")" = 400
check "an unknown query parameter is 400" test "$(curl -s -o "$WORK/e.json" -w '%{http_code}' "$MT_URL/api/v1/memory/stats?comm=faulter")" = 400
check "its JSON error names the parameter" test "$(json 'd["error"]' <"$WORK/e.json")" = 'unknown query parameter: "comm"'
check "an unknown one beside pid is 400 too" test "$(curl -s -o /dev/null -w '%{http_code}' "$MT_URL/api/v1/memory/stats?pid=$F_PID&x=1")" = 400
check "an empty parameter name hides nothing after it: 400" test "$(curl -s -o /dev/null -w '%{http_code}' "$MT_URL/api/v1/memory/stats?&comm=faulter")" = 400
check "?pid without a value is 400, not every process" test "$(curl -s -o /dev/null -w '%{http_code}' "$MT_URL/api/v1/memory/stats?pid")" = 400
check "POST gc?pid without a value is 400, not a trim of every process" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer t0ken-$$" "$MT_URL/api/v1/memory/gc?pid")" = 400
check "POST gc: an unknown query parameter is 400" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer t0ken-$$" "$MT_URL/api/v1/memory/gc?all=1")" = 400

# health: ok, then warning above the high water mark, then critical above the alert threshold.
health_memory() { curl -sf "$MT_URL/health" | json 'd["status"], d["services"]["memory"], d["services"]["bpf"]'; }
check "health: ok at low usage" test "$(health_memory)" = "ok ok ok"
check "health time is RFC 3339" sh -c "curl -sf $MT_URL/health | grep -qE '\"time\":\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"'"
faulter_do "minor 21000"   # ~84 MB of 100
check "health: warning above the high water mark" wait_until 10 sh -c "test \"\$($(declare -f health_memory json); MT_URL=$MT_URL health_memory)\" = 'warning warning ok'"
faulter_do "minor 2500"    # ~94 MB
check "health: critical above alert_threshold" wait_until 10 sh -c "test \"\$($(declare -f health_memory json); MT_URL=$MT_URL health_memory)\" = 'critical critical ok'"
check "health stays HTTP 200 when memory is critical" test "$(curl -s -o /dev/null -w '%{http_code}' "$MT_URL/health")" = 200

# POST /api/v1/memory/gc: bearer token, and an honest answer.
gc() { curl -s -o "$WORK/gc.json" -w '%{http_code}' -X POST "$@"; }
check "POST without a token is 401" test "$(gc "$MT_URL/api/v1/memory/gc")" = 401
check "POST with a wrong token is 401" test "$(gc -H "Authorization: Bearer nope" "$MT_URL/api/v1/memory/gc")" = 401
check "POST with the token is 200" test "$(gc -H "Authorization: Bearer t0ken-$$" "$MT_URL/api/v1/memory/gc")" = 200
check "the scheme is case-insensitive (RFC 7235): bearer" test "$(gc -H "Authorization: bearer t0ken-$$" "$MT_URL/api/v1/memory/gc")" = 200
check "gc answers that no target qualifies" test "$(json 'd["results"], d["message"].startswith("no target")' <"$WORK/gc.json")" = "[] True"
check "gc ?pid=N answers per target" test "$(gc -H "Authorization: Bearer t0ken-$$" "$MT_URL/api/v1/memory/gc?pid=$F_PID")" = 200
check "gc ?pid=N of a kernel-tier process: not trimmed, never signalled" test "$(json 'd["results"][0]["pid"], d["results"][0]["trimmed"], d["results"][0]["reason"]' <"$WORK/gc.json")" = "$F_PID False not in the hook tier (its target rule is not heap: hook): never signalled"
check "gc of an unknown pid is 404" test "$(gc -H "Authorization: Bearer t0ken-$$" "$MT_URL/api/v1/memory/gc?pid=999999")" = 404
check "GET on gc is 405" test "$(curl -s -o /dev/null -w '%{http_code}' "$MT_URL/api/v1/memory/gc")" = 405

# Abuse. The agent's RSS before, from /proc.
rss_before=$(proc_status_kb "$MT_PID" VmRSS)
python3 - "$PORT" >"$WORK/abuse.out" <<'PY'
import os, random, socket, sys, collections
port = int(sys.argv[1])
random.seed(7)
statuses = collections.Counter()
def send(payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(payload)
        data = b""
        while b"\r\n" not in data:  # the status line is all we judge
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].split()
        statuses[line[1].decode() if len(line) > 1 else "closed"] += 1
    except OSError:  # reset, broken pipe, not connected, timeout: the server hung up
        statuses["reset"] += 1
    finally:
        s.close()
for i in range(1000):
    kind = i % 5
    if kind == 0:   # random bytes, then the end of a header block
        send(os.urandom(random.randint(1, 2000)) + b"\r\n\r\n")
    elif kind == 1: # a huge header
        send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    elif kind == 2: # a declared oversized body
        send(b"POST /api/v1/memory/gc HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1000)
    elif kind == 3: # unknown methods and paths
        send(random.choice([b"PROPFIND /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                            b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
                            b"DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n"]))
    else:           # a chunked body over the cap
        send(b"POST /api/v1/memory/gc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             + (b"1000\r\n" + b"y" * 4096 + b"\r\n") * 4 + b"0\r\n\r\n")
print(" ".join("%s=%d" % kv for kv in sorted(statuses.items())))
PY
echo "# abuse answers: $(cat "$WORK/abuse.out")"
check "all 1000 requests were answered or refused" test "$(tr ' ' '\n' <"$WORK/abuse.out" | awk -F= '{ n += $2 } END { print n }')" = 1000
check "no garbage request got a 2xx or 5xx" sh -c "! grep -qE '(^| )(2|5)[0-9][0-9]=' '$WORK/abuse.out'"
check "oversized bodies got 413" grep -q "413=" "$WORK/abuse.out"
check "wrong methods got 405, unknown paths 404" sh -c "grep -q '405=' '$WORK/abuse.out' && grep -q '404=' '$WORK/abuse.out'"
check "the server still answers /metrics after 1000 bad requests" curl -sf -o /dev/null "$MT_URL/metrics"

# 200 idle connections held open: another address is still served meanwhile.
python3 - "$PORT" >"$WORK/idle.out" <<'PY' &
import socket, sys, time
socks = []
for _ in range(200):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
    except OSError:
        pass
print(len(socks), flush=True)
time.sleep(4)
PY
IDLE=$!
sleep 1.5
check "during 200 idle connections a scrape from 127.0.0.2 is served" curl -sf -o /dev/null --interface 127.0.0.2 "$MT_URL/metrics"
wait "$IDLE"
echo "# idle connections opened: $(cat "$WORK/idle.out")"
check "after the idle connections /metrics answers" wait_until 15 curl -sf -o /dev/null "$MT_URL/metrics"
check_rss_bounded "$rss_before"

# gzip, as Prometheus asks: the same page as identity, by gzip's own reader
# (both reads of one snapshot: retried until the timestamp holds still).
for _ in 1 2 3 4 5; do
	t1=$(snapshot_time)
	curl -s -D "$WORK/gz.hdr" -H 'Accept-Encoding: gzip' -o "$WORK/page.gz" "$MT_URL/metrics"
	scrape >"$WORK/page.txt"
	t2=$(snapshot_time)
	[ "$t1" = "$t2" ] && break
done
check "Accept-Encoding: gzip gets Content-Encoding: gzip" grep -qi '^content-encoding: gzip' "$WORK/gz.hdr"
check "/metrics says it varies by Accept-Encoding" grep -qi '^vary: accept-encoding' "$WORK/gz.hdr"
check "the gzip page is the identity page" sh -c "gzip -dc '$WORK/page.gz' | cmp -s - '$WORK/page.txt'"
check "the gzip page is smaller" test "$(stat -c %s "$WORK/page.gz")" -lt "$(stat -c %s "$WORK/page.txt")"
curl -s -D "$WORK/id.hdr" -o /dev/null -H 'Accept-Encoding: gzip;q=0' "$MT_URL/metrics"
check "gzip;q=0 gets identity" sh -c "grep -q '^HTTP/1.1 200' '$WORK/id.hdr' && ! grep -qi '^content-encoding' '$WORK/id.hdr'"
echo "# /metrics: $(stat -c %s "$WORK/page.txt") bytes, gzip $(stat -c %s "$WORK/page.gz")"
# Debug logging of the libraries: one prefix each, no complaint about our setup.
check "the debug log has no doubled libbpf prefix" sh -c "grep -q 'libbpf: ' '$MT_LOG' && ! grep -q 'libbpf: libbpf:' '$MT_LOG'"
check "libmicrohttpd does not complain about its logger" sh -c "! grep -q 'not the first option' '$MT_LOG'"
check "the agent is still running" kill -0 "$MT_PID"
finish
