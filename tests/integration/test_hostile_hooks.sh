#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A local user against the hook tier: files that only have the hook's name are
# not the hook; one user's many hooked processes get at most the per-user
# number of heap-tier slots, so root's process is still probed and trimmable;
# when they all die at once the collection loop goes on, /health stays fresh.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
PORT=$(free_port)
PER_USER=64
N=$((PER_USER + 16))
chmod 755 "$WORK"
# (an array, not a function: $! must be the process itself, not a subshell)
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# Two impostors: an empty library and one exporting the report function, both
# named like the hook.
mkdir -p "$WORK/fake1" "$WORK/fake2"
echo 'int nothing;' >"$WORK/fake1.c"
echo 'void memtide_hook_report(const void *r) { (void)r; }' >"$WORK/fake2.c"
cc -shared -fPIC -o "$WORK/fake1/libmemtide_hook.so" "$WORK/fake1.c"
cc -shared -fPIC -o "$WORK/fake2/libmemtide_hook.so" "$WORK/fake2.c"
# Names of their own, so other hooked processes on the machine stay out of the count.
cp /bin/sleep "$WORK/hsleep"
for n in hroot hempty htwice; do cp "$TARGETS/heapdriver" "$WORK/$n"; done
chmod -R a+rX "$WORK"

cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
  enable_auto_gc: false
targets:
  - match: { hooked: true, comm: "^(hsleep|hroot|hempty|htwice)$" }
    heap: hook
  - match: { comm: "^evil" }
exporter:
  listen: "127.0.0.1:$PORT"
YAML

spawn ROOTP env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=500 "$WORK/hroot"
ready ROOTP
nobody_pids=()
for i in 1 2 3 4 5; do
	"${AS_NOBODY[@]}" env LD_PRELOAD="$WORK/fake$((i % 2 + 1))/libmemtide_hook.so" "$WORK/hsleep" 120 &
	fakes+=($!); PIDS+=($!)
done
for i in $(seq $N); do
	"${AS_NOBODY[@]}" env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=0 "$WORK/hsleep" 120 &
	nobody_pids+=($!); PIDS+=($!)
done
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

all_settled() { test "$(metric memtide_uprobe_targets 'state="attached"')" = $((PER_USER + 1)) && test "$(metric memtide_uprobe_targets 'state="user_limit"')" = $((N - PER_USER)); }
check "one user's $N hooked processes get $PER_USER slots, root's process its own" wait_until 30 all_settled
echo "# hook tier: attached $(metric memtide_uprobe_targets 'state="attached"'), user_limit $(metric memtide_uprobe_targets 'state="user_limit"')"
# The hook carries the otel_memory probes: each profiled process is probes in
# the kernel and grace periods to attach and detach, so a user gets 16.
profiled_nobody() {
	local page n=0 p
	page=$(scrape)
	for p in "${nobody_pids[@]}"; do
		grep -q "^memory_heap_site_samples_dropped_total{pid=\"$p\"" <<<"$page" && n=$((n + 1))
	done
	echo "$n"
}
sixteen_profiled() { [ "$(profiled_nobody)" = 16 ]; }
check "sampled sites: one user's $N hooked processes get 16 profiling slots" wait_until 30 sixteen_profiled
check "root's hooked process is profiled too" \
	wait_until 10 sh -c "curl -sf '$MT_URL/metrics' | grep -q '^memory_heap_site_samples_dropped_total{pid=\"$ROOTP_PID\"'"
page=$(scrape)
impostors=0
for p in "${fakes[@]}"; do grep -q "pid=\"$p\"" <<<"$page" && impostors=$((impostors + 1)); done
check "files merely named like the hook are not the hook (none of 5 selected)" test "$impostors" = 0
check "root's hooked process is probed" grep -q "pid $ROOTP_PID (hroot): control hook reports probed" "$MT_LOG"
check "the limit is logged" grep -q "already has $PER_USER heap-tier processes (the per-user limit)" "$MT_LOG"

hd ROOTP "fragment 100000"
wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_gc_count_total{pid=\"$ROOTP_PID\"'"
code=$(curl -s -o "$WORK/gc.json" -w '%{http_code}' -X POST "$MT_URL/api/v1/memory/gc?pid=$ROOTP_PID")
echo "# POST gc: $(cat "$WORK/gc.json")"
check "root's process is still trimmable (HTTP $code)" test "$code" = 200 -a "$(json 'd["results"][0]["trimmed"]' <"$WORK/gc.json")" = True

# All of them die at once: the loop goes on, /health says so.
t=$(date +%s.%N)
kill "${nobody_pids[@]}" 2>/dev/null
check "a snapshot follows within 3 s of $N processes dying" wait_until 3 snapshot_newer_than "$t"
check "/health answers 200 with a fresh collector" test "$(curl -s "$MT_URL/health" | json 'd["services"]["collector"]')" = ok
check "their slots come back" wait_until 15 sh -c "curl -sf $MT_URL/metrics | grep -q '^memtide_uprobe_targets{state=\"attached\"} 1$'"
check "root's process is still probed" test "$(heap_metric memory_gc_count_total "$ROOTP_PID")" -ge 1
# --- the signal is the one the hook says: an empty MEMTIDE_HOOK_SIGNAL, and
# two of them in the environment (getenv takes the first) ---
spawn EMPTY env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_SIGNAL= MEMTIDE_HOOK_INTERVAL_MS=500 "$WORK/hempty"
ready EMPTY
# execve with a hand-made environment: no shell or env(1) keeps duplicates.
spawn TWICE python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
def arr(items):
    a = (ctypes.c_char_p * (len(items) + 1))(*[i.encode() for i in items]); a[len(items)] = None; return a
argv = [sys.argv[1]]
env = ["LD_PRELOAD=" + sys.argv[2], "MEMTIDE_HOOK_SIGNAL=7", "MEMTIDE_HOOK_SIGNAL=4", "MEMTIDE_HOOK_INTERVAL_MS=500"]
libc.execve(sys.argv[1].encode(), arr(argv), arr(env))
sys.exit("execve failed")' "$WORK/htwice" "$HOOK"
ready TWICE
sigrtmin=$(kill -l SIGRTMIN)
handled() { awk '/^SigCgt:/ { print $2 }' "/proc/$1/status"; }
echo "# SigCgt: empty $(handled "$EMPTY_PID"), twice $(handled "$TWICE_PID") (SIGRTMIN is $sigrtmin)"
for p in EMPTY TWICE; do
	eval "pid=\$${p}_PID"
	hd "$p" "fragment 50000"
	wait_until 10 sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_gc_count_total{pid=\"$pid\"'"
	curl -s -o "$WORK/gc-$p.json" -X POST "$MT_URL/api/v1/memory/gc?pid=$pid"
	echo "# POST gc ($p): $(cat "$WORK/gc-$p.json")"
done
check "MEMTIDE_HOOK_SIGNAL= (empty): trimmed on the hook's own signal" test "$(json 'd["results"][0]["trimmed"]' <"$WORK/gc-EMPTY.json")" = True
check "MEMTIDE_HOOK_SIGNAL twice: trimmed on the signal the hook took (the first)" test "$(json 'd["results"][0]["trimmed"]' <"$WORK/gc-TWICE.json")" = True
# --- a process name with a newline cannot forge a line of the agent's log ---
python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(15, b"evil\nforged", 0, 0, 0); time.sleep(30)' &
EVIL=$!
PIDS+=("$EVIL")
check "the process is tracked, its name tamed in the log" wait_until 10 grep -q "tracking pid $EVIL (evil?forged)" "$MT_LOG"
check "no log line starts with what followed the newline" sh -c "! grep -q '^forged' '$MT_LOG'"
for p in ROOTP EMPTY TWICE; do hd "$p" exit; done
finish
