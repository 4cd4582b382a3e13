#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Event-driven discovery: processes started, forked, exec'd into or renamed to
# a selected name are tracked from the kernel's events, with no /proc scan in
# between (the reconciliation interval is an hour); an exit drops the process;
# events lost to a full ring buffer are counted and bring a reconciliation.
. "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
N=$$
for n in dsa dsf dsx dsl; do cp /bin/sleep "$WORK/$n$N"; done
cp /bin/bash "$WORK/dsf$N"
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
  reconcile_interval: 1h
targets:
  - match: { comm: "^(dsa|dsf|dsx|dsr|dsl)$N$" }
exporter:
  listen: "127.0.0.1:$PORT"
YAML

tracked() { curl -sf -o /dev/null "$MT_URL/api/v1/memory/stats?pid=$1"; }
in_metrics() { scrape | grep -q "^memory_sys_bytes{pid=\"$1\""; }
reconciled() { metric memtide_discovery_reconciliations_total "reason=\"$1\""; }

start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

# --- a new process, a fork child, an exec, a rename
"$WORK/dsa$N" 600 &
A=$!
PIDS+=("$A")
check "a selected process started after memtide is tracked" wait_until 20 tracked "$A"

# The subshell is a fork of dsf$N that stays dsf$N (it waits for its sleep).
"$WORK/dsf$N" -c '(sleep 600; :) & wait' &
F=$!
PIDS+=("$F")
wait_until 10 sh -c "pgrep -P $F -x dsf$N >/dev/null"
FC=$(pgrep -P "$F" -x "dsf$N")
PIDS+=("$FC")
check "a fork child of a selected process is tracked" wait_until 20 tracked "$FC"

bash -c "sleep 0.5; exec $WORK/dsx$N 600" &
X=$!
PIDS+=("$X")
check "a process that execs into a selected name is tracked" wait_until 20 tracked "$X"

# The rules match the name a process has now (README, "targets"): renamed to a
# selected name it is tracked, renamed away it is dropped.
spawn REN python3 -c "
import ctypes, sys
libc = ctypes.CDLL(None)
sys.stdin.readline()
libc.prctl(15, b'dsr$N', 0, 0, 0)
sys.stdin.readline()
libc.prctl(15, b'dsgone$N', 0, 0, 0)
sys.stdin.readline()
"
R=$REN_PID
wait_snapshot_after "$(date +%s.%N)"
check "before its rename it is not tracked" sh -c "! curl -sf -o /dev/null '$MT_URL/api/v1/memory/stats?pid=$R'"
echo >&"$REN_IN"
check "renamed to a selected name (prctl) it is tracked" wait_until 20 tracked "$R"
echo >&"$REN_IN"
check "renamed away it is dropped" wait_until 20 sh -c "! curl -sf -o /dev/null '$MT_URL/api/v1/memory/stats?pid=$R'"

check "all that without a /proc scan: one reconciliation, at start" test "$(reconciled start)" = 1
check "none periodic" test "$(reconciled periodic)" = 0
check "none after lost events" test "$(reconciled lost)" = 0
check "exec events are counted" test "$(metric memtide_discovery_events_total 'type="exec"')" -gt 0

# --- per snapshot, nothing of a tracked process is read from /proc: the kernel
# tier's record gives its figures, its name and its start time (identity).
check "the new process is in /metrics" wait_until 20 in_metrics "$A"
strace -f -qq -e trace=open,openat,openat2 -o "$WORK/opens.txt" -p "$MT_PID" &
ST=$!
PIDS+=("$ST")
sleep 1 # strace attached to every thread
"$WORK/dsa$N" 600 &
B=$!
PIDS+=("$B")
wait_until 20 tracked "$B"
t=$(date +%s.%N)
wait_snapshot_after "$t"
wait_snapshot_after "$(date +%s.%N)"
kill -INT "$ST"
wait "$ST" 2>/dev/null
echo "# opens under /proc during two snapshots: $(grep -c '"/proc/' "$WORK/opens.txt")"
check "strace saw the agent open a new process's files (its cgroup)" grep -q "\"/proc/$B/" "$WORK/opens.txt"
check "two snapshots opened nothing of a process tracked before" sh -c "! grep -q '\"/proc/$A/' '$WORK/opens.txt'"

# --- an exit drops the process
kill "$A"
wait "$A" 2>/dev/null
check "once it exits it is gone from /metrics" wait_until 20 sh -c "! curl -sf '$MT_URL/metrics' | grep -q '^memory_sys_bytes{pid=\"$A\"'"
grep -q "no longer tracking pid $A (dsa$N): it exited" "$MT_LOG"
check "dropped on its exit event" test $? = 0
stop_memtide

# --- a ring buffer of one page, overflowed while the agent is stopped
MEMTIDE_DISCOVERY_RINGBUF_BYTES=4096 start_memtide "$WORK/memtide.yaml" ||
	{ not_ok "memtide starts with a one-page ring buffer" "see log"; finish; }
kill -STOP "$MT_PID"
for _ in $(seq 2000); do /bin/true; done
# Its events find the ring buffer full: only the reconciliation can find it.
"$WORK/dsl$N" 600 &
L=$!
PIDS+=("$L")
kill -CONT "$MT_PID"
lost() { metric memtide_discovery_events_lost_total ""; }
check "the events that did not fit are counted" wait_until 20 sh -c "[ \"\$(curl -sf $MT_URL/metrics | awk '\$1 == \"memtide_discovery_events_lost_total\" { print \$2 }')\" -gt 0 ]"
check "and bring a reconciliation" wait_until 20 sh -c "[ \"\$(curl -sf $MT_URL/metrics | awk 'index(\$0, \"memtide_discovery_reconciliations_total{reason=\\\"lost\\\"}\") == 1 { print \$2 }')\" -ge 1 ]"
check "after which the process started meanwhile is tracked" wait_until 20 tracked "$L"
check "the one the first agent tracked too" wait_until 20 tracked "$FC"
echo "# lost events: $(lost); reconciliations after them: $(reconciled lost)"
finish
