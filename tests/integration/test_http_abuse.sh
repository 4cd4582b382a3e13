#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Slowloris: 640 connections from 127.0.0.2-127.0.0.6 (128 from each, twice
# the per-address cap), every one sending a header byte a second and
# reconnecting when closed; meanwhile 15 scrapes from 127.0.0.1 must each
# answer within 2 s, no trickling connection may live much past the 5 s
# header timeout, and the agent stays up and small. Then a lone trickler and
# a lone idle kept-alive connection: each closed after 5 s.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
targets:
  - match: { top_rss: 3 }
exporter:
  listen: "127.0.0.1:$PORT"
YAML
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
rss_before=$(proc_status_kb "$MT_PID" VmRSS)
cpu() { echo $(( $(proc_stat_field "$MT_PID" 14) + $(proc_stat_field "$MT_PID" 15) )); }
cpu_before=$(cpu)

# The attack stops by itself after 20 s. Output: one line of figures.
python3 - "$PORT" 20 >"$WORK/slow.out" 2>"$WORK/slow.err" <<'PY' &
import selectors, socket, sys, time
port, duration = int(sys.argv[1]), float(sys.argv[2])
sources = ["127.0.0.%d" % i for i in range(2, 7)]
PER_SOURCE = 128
HEAD = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "
sel = selectors.DefaultSelector()
start = time.monotonic()
stats = {"connects": 0, "closed_by_server": 0, "open_peak": 0}
lifetimes = []  # seconds each connection lived, closed by the server or not

class Conn:
    def __init__(self, src, due):
        self.src, self.sock, self.due = src, None, due
    def open(self, now):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((self.src, 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            self.due = now + 1
            return
        self.sock, self.born, self.sent = s, now, 0
        stats["connects"] += 1
        sel.register(s, selectors.EVENT_READ, self)
    def close(self, now, by_server):
        sel.unregister(self.sock)
        self.sock.close()
        self.sock = None
        lifetimes.append(now - self.born)
        stats["closed_by_server"] += by_server
        self.due = now + 1  # a slowloris comes back
    def tick(self, now):
        if self.sock is None:
            self.open(now)
            return
        # the request line and a header name first, then one byte a second, never the end
        data = HEAD if self.sent == 0 else b"a"
        try:
            self.sock.send(data)
            self.sent += len(data)
        except BlockingIOError:
            pass
        except OSError:
            self.close(now, 1)
            return
        self.due = now + 1

conns = [Conn(src, start + i * 0.002) for src in sources for i in range(PER_SOURCE)]
while True:
    now = time.monotonic()
    if now - start >= duration:
        break
    for c in conns:
        if now >= c.due:
            c.tick(now)
    for key, _ in sel.select(timeout=0.05):
        c = key.data
        try:
            gone = c.sock.recv(65536) == b""
        except BlockingIOError:
            gone = False
        except OSError:
            gone = True
        if gone:
            c.close(time.monotonic(), 1)
    stats["open_peak"] = max(stats["open_peak"], sum(c.sock is not None for c in conns))
now = time.monotonic()
for c in conns:
    if c.sock is not None:
        c.close(now, 0)
lifetimes.sort()
print("connects=%d closed_by_server=%d open_peak=%d median_life=%.1f max_life=%.1f" % (
    stats["connects"], stats["closed_by_server"], stats["open_peak"],
    lifetimes[len(lifetimes) // 2], lifetimes[-1]))
PY
ATTACK=$!
sleep 3
fds_during=$(ls "/proc/$MT_PID/fd" | wc -l)
for _ in $(seq 15); do
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -m 5 --interface 127.0.0.1 "$MT_URL/metrics" >>"$WORK/scrapes.out"
	sleep 0.8
done
wait "$ATTACK"
cpu_ticks=$(( $(cpu) - cpu_before ))
echo "# attack: $(cat "$WORK/slow.out") $(head -c 300 "$WORK/slow.err")"
echo "# memtide during the attack: $fds_during descriptors, $cpu_ticks CPU ticks of $(getconf CLK_TCK)/s in ~20 s"
echo "# 15 scrapes: $(awk '{ print $1 }' "$WORK/scrapes.out" | sort | uniq -c | tr '\n' ' ')slowest: $(sort -k2 -g "$WORK/scrapes.out" | tail -1 | cut -d' ' -f2) s"
check "the attack ran (640 connections, more as they were closed)" awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } } END { exit !(f["connects"] >= 640) }' "$WORK/slow.out"
check "all 15 scrapes answered 200" test "$(grep -c '^200 ' "$WORK/scrapes.out")" = 15
check "each within 2 s" awk '$2 >= 2 { exit 1 }' "$WORK/scrapes.out"
check "no trickling connection lived past the header timeout (5 s, 8 s with slack)" awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } } END { exit !(f["max_life"] != "" && f["max_life"] <= 8) }' "$WORK/slow.out"
check "the closings are logged" grep -qE "http: closed [0-9]+ connections that sent no whole request within 5 s" "$MT_LOG"
check "after the attack /metrics answers" curl -sf -o /dev/null -m 5 "$MT_URL/metrics"

# Alone, a trickling connection still goes after 5 s, and so does a kept-alive
# one that sends nothing after its answer.
python3 - "$PORT" >"$WORK/alone.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
t = socket.create_connection(("127.0.0.1", port))
k = socket.create_connection(("127.0.0.1", port))
k.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
start = time.monotonic()
t.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
t.setblocking(False)
k.settimeout(0.2)
life = {}
while len(life) < 2 and time.monotonic() - start < 12:
    if "trickle" not in life:
        try:
            t.send(b"a")
        except OSError:
            life["trickle"] = time.monotonic() - start
    if "idle" not in life:
        try:
            if k.recv(65536) == b"":
                life["idle"] = time.monotonic() - start
        except socket.timeout:
            pass
        except OSError:
            life["idle"] = time.monotonic() - start
    time.sleep(0.3)
print("trickle=%.1f idle=%.1f" % (life.get("trickle", 99), life.get("idle", 99)))
PY
echo "# closed after (s): $(cat "$WORK/alone.out")"
check "a lone trickling connection is closed after about 5 s" awk '{ split($1, a, "="); exit !(a[2] >= 4.5 && a[2] <= 7) }' "$WORK/alone.out"
check "a kept-alive connection idle after its answer too" awk '{ split($2, a, "="); exit !(a[2] >= 4.5 && a[2] <= 7) }' "$WORK/alone.out"
check_rss_bounded "$rss_before"
check "the agent is still running" kill -0 "$MT_PID"
finish
