#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# POST /api/v1/memory/gc never holds up a scrape: hooked processes that never
# answer (one root's, one nobody's), a flood of POSTs without a token from
# root and from nobody, a scrape every 0.5 s; the bounded queue (503); the
# per-process rate limit (429 with Retry-After); trims and refusals logged
# with the peer address, refusals at a bounded rate; shutdown with POSTs
# still waiting.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
PORT=$(free_port)
write_config() { # $1: the api section, if any
	cat >"$WORK/memtide.yaml" <<YAML
memory:
  enable_auto_gc: false
  monitor_interval: 1s
  high_water_mark_percent: 10
  low_water_mark_percent: 5
  max_memory_mb: 100
  max_heap_mb: 100
targets:
  - match: { hooked: true, comm: "^(gcdriver|stubborn)$" }  # not other tests' processes
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
$1
YAML
}
write_config ""
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

cp "$TARGETS/heapdriver" "$WORK/gcdriver"
spawn H env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=500 "$WORK/gcdriver"
spawn S env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=500 "$TARGETS/stubborn"
# nobody's own hooked process, selected by the same `hooked: true` rule
spawn N setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$HOOK" \
	MEMTIDE_HOOK_INTERVAL_MS=500 "$TARGETS/stubborn"
for t in H S N; do ready "$t" || { not_ok "target $t starts" "no ready line"; finish; }; done
check "nobody's stubborn process runs as nobody" test "$(stat -c %U "/proc/$N_PID")" = nobody
for t in H S N; do
	eval "pid=\$${t}_PID"
	check "hooked process $t ($pid) tracked with its reports probed" wait_until 10 grep -q "pid $pid ([a-z]*): control hook reports probed" "$MT_LOG"
done
hd H "hold 20000"      # 20 MB that stays: above the 10% mark after a trim too
hd H "fragment 50000"
hook_figures() { scrape >"$WORK/page.prom" && for p in "$@"; do grep -q "^memory_heap_inuse_bytes{pid=\"$p\"" "$WORK/page.prom" || return 1; done; }
check "the hook's figures are in for all three" wait_until 10 hook_figures "$H_PID" "$S_PID" "$N_PID"

# --- rate limit (api.gc_min_interval, default 10 s) ---
post() { curl -s -D "$WORK/h.txt" -o "$WORK/gc.json" -w '%{http_code}' -m 15 -X POST "$MT_URL/api/v1/memory/gc$1"; }
header() { tr -d '\r' <"$WORK/h.txt" | awk -F': ' -v h="$1" 'tolower($1) == tolower(h) { print $2 }'; }
code=$(post "?pid=$H_PID")
echo "# first POST gc?pid=$H_PID: $code $(cat "$WORK/gc.json")"
check "first POST gc?pid=N of a hooked process: 200, trimmed" test "$code $(json 'd["results"][0]["trimmed"]' <"$WORK/gc.json")" = "200 True"
code=$(post "?pid=$H_PID")
retry=$(header Retry-After)
echo "# second POST gc?pid=$H_PID: $code, Retry-After: $retry, $(cat "$WORK/gc.json")"
check "a second POST within gc_min_interval: 429" test "$code" = 429
check "with Retry-After in seconds (1-10)" test "${retry:-0}" -ge 1 -a "${retry:-0}" -le 10
check "and a JSON body saying how long to wait" test "$(json 'd["retry_after_seconds"], d["results"][0]["trimmed"]' <"$WORK/gc.json")" = "$retry False"
# (the latest snapshot has it above the mark, with the hook's figures)
above() { curl -sf "$MT_URL/api/v1/memory/stats?pid=$H_PID" | json 'd["processes"][0]["usage_percent"] > 10 and d["processes"][0]["heap_inuse_bytes"] is not None' | grep -q True; }
wait_until 5 above
code=$(post "")
echo "# POST gc (all): $code, $(cat "$WORK/gc.json")"
check "POST gc (all) whose every target is rate-limited: 429 with a reason per target" test "$code $(json '[(r["pid"], r.get("reason", "").startswith("rate-limited")) for r in d["results"]]' <"$WORK/gc.json")" = "429 [($H_PID, True)]"
check "the trim is logged with the peer address" grep -qE "gc request from 127\.0\.0\.1:[0-9]+: asked pid $H_PID \(gcdriver\) to trim" "$MT_LOG"
check "the result too" wait_until 5 grep -qE "gc request from 127\.0\.0\.1:[0-9]+: pid $H_PID \(gcdriver\) trimmed: [0-9]+ bytes back" "$MT_LOG"
# The answer comes on the hook's report (the ring buffer wakes the gc thread),
# not from polling the hook's state every 20 ms: one read, on that wake-up.
echo "# $(grep -m1 "pid $H_PID (gcdriver) trimmed" "$MT_LOG")"
check "the trim was seen on its report's wake-up, in one read of the hook's state" grep -qE "pid $H_PID \(gcdriver\) trimmed: .*\(seen on its report's wake-up; hook state reads: 1\)" "$MT_LOG"
check "the refusal is logged with the peer address" grep -qE "gc request from 127\.0\.0\.1:[0-9]+: pid $H_PID \(gcdriver\) not trimmed: rate-limited" "$MT_LOG"

# --- a flood against processes that never answer, with the rate limit out of the way ---
write_config "api:
  gc_min_interval: 1ms"
t_reload=$(date +%s)
kill -HUP "$MT_PID"
check "reloaded with gc_min_interval 1ms" wait_until 5 grep -q "configuration reloaded" "$MT_LOG"
wait_snapshot_after "$t_reload"
# One POST first, kept: it waits its 10 s and says why.
( curl -s -o "$WORK/slow.json" -w '%{http_code} %{time_total}' -m 30 -X POST "$MT_URL/api/v1/memory/gc?pid=$S_PID" >"$WORK/slow.out" ) &
SLOW=$!
sleep 0.2
poster() { # OUT PID [setpriv ...]: POSTs for 8 s, 5 a second at most
	local out=$1 pid=$2 end=$((SECONDS + 8))
	shift 2
	while [ $SECONDS -lt $end ]; do
		"$@" curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -m 30 -X POST "$MT_URL/api/v1/memory/gc?pid=$pid" >>"$out"
		sleep 0.2
	done
}
POSTERS=()
for i in $(seq 12); do poster "$WORK/post.root.$i" "$S_PID" & POSTERS+=($!); done
for i in $(seq 8); do poster "$WORK/post.nobody.$i" "$N_PID" setpriv --reuid=nobody --regid=nogroup --clear-groups & POSTERS+=($!); done
(
	for _ in $(seq 20); do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -m 4 "$MT_URL/metrics"
		sleep 0.5
	done
) >"$WORK/scrapes.out" &
SCRAPER=$!
sleep 2
code=$(post "?pid=$S_PID")
retry=$(header Retry-After)
echo "# a POST with 20 posters at work: $code, Retry-After: $retry, $(cat "$WORK/gc.json")"
check "with 16 requests in flight the next POST is refused at once: 503" test "$code" = 503
check "with Retry-After" test "${retry:-0}" -ge 1 -a "${retry:-0}" -le 10
wait "$SCRAPER"
slowest=$(sort -k2 -g "$WORK/scrapes.out" | tail -1)
echo "# 20 scrapes during the flood: $(awk '{ print $1 }' "$WORK/scrapes.out" | sort | uniq -c | tr '\n' ' ')slowest: ${slowest#* } s"
check "every scrape during the flood answered 200" test "$(grep -c '^200 ' "$WORK/scrapes.out")" = 20
check "every scrape within 2 s" awk '$2 >= 2 { exit 1 }' "$WORK/scrapes.out"
wait "$SLOW"
echo "# the first POST: $(cat "$WORK/slow.out")"
check "a POST to a process that never answers: 200 after its 10 s deadline" awk '$1 == 200 && $2 >= 9.5 && $2 < 12 { ok = 1 } END { exit !ok }' "$WORK/slow.out"
check "which says the hook did not answer" test "$(json 'd["results"][0]["trimmed"], d["results"][0]["reason"]' <"$WORK/slow.json")" = "False signalled, but the hook did not answer in time"
# 10 s without a report: read on the 1 s sweeps only (polling read it ~500 times)
reads=$(grep -m1 -oE "pid $S_PID \(stubborn\) did not answer within 10 s \(hook state reads: [0-9]+" "$MT_LOG" | grep -oE '[0-9]+$')
echo "# reads of the silent hook's state in 10 s: ${reads:-none logged}"
check "a silent hook's state is read at most once a second while the POST waits" test "${reads:-999}" -le 12
# posters stopped sending after 8 s; some of their POSTs still wait
sleep 1
cat "$WORK"/post.* | awk '{ print $1 }' | sort | uniq -c | sed 's/^/# flood answers (code, so far): /'
check "the queue-full answers were 503" grep -q '^503 ' $(ls "$WORK"/post.*)
check "nobody's POSTs were answered like root's (200 after the deadline, 429 or 503)" sh -c "cat $WORK/post.nobody.* | grep -q . && ! cat $WORK/post.nobody.* | grep -qvE '^(200|429|503) '"
n_503=$(cat "$WORK"/post.* | grep -c '^503 ')
n_logged=$(grep -c "refused (503)" "$MT_LOG")
echo "# 503 answers so far: $n_503; refusals logged: $n_logged"
check "refusals are logged at a bounded rate (<= 20 per 10 s)" test "$n_logged" -le 40 -a "$n_logged" -lt "$n_503"
check "with a count of those left out" wait_until 12 grep -qE "gc requests: [0-9]+ more refusals in 10 s were not logged" "$MT_LOG"

# --- a target that exits while its POST waits: answered at once, not at the deadline ---
wait "${POSTERS[@]}"
spawn G env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=500 "$TARGETS/stubborn"
ready G
check "a fourth hooked process is probed" wait_until 10 grep -q "pid $G_PID (stubborn): control hook reports probed" "$MT_LOG"
wait_until 10 hook_figures "$G_PID"
( curl -s -o "$WORK/gone.json" -w '%{http_code} %{time_total}' -m 30 -X POST "$MT_URL/api/v1/memory/gc?pid=$G_PID" >"$WORK/gone.out" ) &
GONE=$!
sleep 0.5
kill -KILL "$G_PID"
wait "$GONE"
echo "# a POST whose target died: $(cat "$WORK/gone.out") $(cat "$WORK/gone.json")"
check "a POST whose target dies is answered within 5 s" awk '$1 == 200 && $2 < 5 { ok = 1 } END { exit !ok }' "$WORK/gone.out"
check "saying the process is gone" test "$(json 'd["results"][0]["reason"]' <"$WORK/gone.json")" = "the process is gone"

# --- shutdown with POSTs still waiting: answered 503 at once, the agent exits ---
( curl -s -o /dev/null -w '%{http_code} %{time_total}' -m 30 -X POST "$MT_URL/api/v1/memory/gc?pid=$S_PID" >"$WORK/last.out" ) &
LAST=$!
sleep 0.5
stop_memtide
wait "$LAST"
echo "# a POST waiting at SIGTERM: $(cat "$WORK/last.out")"
check "a POST waiting at shutdown is answered 503 at once" awk '$1 == 503 && $2 < 3 { ok = 1 } END { exit !ok }' "$WORK/last.out"
check "no POST was left without an answer" sh -c "! cat $WORK/post.* | grep -q '^000 '"
finish
