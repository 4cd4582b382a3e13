#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Target selection: the shipped DaemonSet's selector against real cgroups in
# the layouts of both kubelet cgroup drivers; selected processes that no
# output can show (counted and explained once); top_rss hysteresis.
. "$(dirname "$0")/../lib.sh"

# --- the kubepods selector under the cgroupfs and the systemd driver

CGV2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
uid=$(printf '%08x-%04x-4000-8000-%012x' $$ $((RANDOM)) $$)
CG_FS="$CGV2/kubepods/burstable/pod$uid/$(printf 'a%063x' $$)"
CG_SD="$CGV2/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid//-/_}.slice/cri-containerd-$(printf 'b%063x' $$).scope"
CG_NO="$CGV2/kubepods$$.slice" # a near miss: not kubepods, nor below it

trap 'cleanup; remove_cgroups "$CG_FS" "$CG_SD" "$CG_NO"' EXIT

reported() { scrape | grep -q "^memory_sys_bytes{pid=\"$1\""; }

if [ -z "$CGV2" ]; then
	not_ok "a cgroup v2 hierarchy is mounted" "none in /proc/mounts"
else
	FS_PID=$(in_cgroup "$CG_FS" sleep 600)
	SD_PID=$(in_cgroup "$CG_SD" sleep 600)
	NO_PID=$(in_cgroup "$CG_NO" sleep 600)
	PIDS+=("$FS_PID" "$SD_PID" "$NO_PID")
	wait_until 5 grep -q "kubepods-burstable-pod" "/proc/$SD_PID/cgroup"
	sed 's/^/# /' "/proc/$FS_PID/cgroup" | grep '0::'
	sed 's/^/# /' "/proc/$SD_PID/cgroup" | grep '0::'

	# The targets section exactly as the DaemonSet ships it.
	PORT=$(free_port)
	{
		printf 'memory:\n  monitor_interval: 1s\n  max_memory_mb: 0\n'
		sed -n '/^targets:/,/^[a-z]/p' "$ROOT/deploy/kubernetes/base/memtide.yaml" | sed '$d'
		printf 'exporter:\n  listen: "127.0.0.1:%s"\n' "$PORT"
	} >"$WORK/k8s.yaml"
	sed 's/^/# /' "$WORK/k8s.yaml"
	start_memtide "$WORK/k8s.yaml" || { not_ok "memtide starts" "see log"; finish; }
	check "a pod's process under the cgroupfs driver is selected and reported" \
		wait_until 20 reported "$FS_PID"
	check "a pod's process under the systemd driver is selected and reported" \
		wait_until 20 reported "$SD_PID"
	t=$(date +%s.%N)
	wait_snapshot_after "$t"
	check "a process in /kubepods$$.slice is not selected" sh -c "! { curl -sf $MT_URL/metrics | grep -q 'pid=\"$NO_PID\"'; }"
	check "and not tracked" sh -c "! grep -q 'tracking pid $NO_PID ' '$MT_LOG'"
	stop_memtide
fi

# --- selected, but in no output: counted by state, and said once, at info

# state_count STATE: memtide_selected_targets{state=STATE}.
state_count() { metric memtide_selected_targets "state=\"$1\""; }

PORT=$(free_port)
printf 'memory:\n  monitor_interval: 1s\ntargets:\n  - match: { pid: 1 }\nexporter:\n  listen: "127.0.0.1:%s"\n' \
	"$PORT" >"$WORK/pid1.yaml"
start_memtide "$WORK/pid1.yaml" || { not_ok "memtide starts" "see log"; finish; }
t=$(date +%s.%N)
wait_snapshot_after "$t" && t=$(date +%s.%N) && wait_snapshot_after "$t"
if reported 1; then
	check "pid 1 reported: counted as reported" test "$(state_count reported)" = 1
else
	# Some kernels keep pid 1 from root (here: its maps and ns/ are denied).
	grep 'pid 1 (' "$MT_LOG" | sed 's/^/# /'
	check "pid 1 not reported: counted as unreadable" test "$(state_count unreadable)" = 1
	check "and the log says why, once" test "$(grep -c 'pid 1 (.*) is selected but in no output: ' "$MT_LOG")" = 1
fi
stop_memtide

# memtide in a pid namespace of its own with the host's /proc (a container
# with the host's /proc mounted but no hostPID): it finds and selects the
# target, but its kernel tier sees only its own namespace.
sleep 600 &
SL_PID=$!
PIDS+=("$SL_PID")
PORT=$(free_port)
printf 'memory:\n  monitor_interval: 1s\ntargets:\n  - match: { pid: %s }\nexporter:\n  listen: "127.0.0.1:%s"\n' \
	"$SL_PID" "$PORT" >"$WORK/ns.yaml"
MT_LOG="$WORK/ns.log"
MT_URL="http://127.0.0.1:$PORT"
unshare --pid --fork --kill-child "$MEMTIDE" --config "$WORK/ns.yaml" --log-level info 2>>"$MT_LOG" &
NS_PID=$!
PIDS+=("$NS_PID")
wait_until 5 pgrep -P "$NS_PID" >/dev/null
MT_PID=$(pgrep -P "$NS_PID")
check "memtide starts in its own pid namespace" wait_until 15 curl -sf -o /dev/null "$MT_URL/metrics"
check "it tracks the target" wait_until 10 grep -q "tracking pid $SL_PID (sleep)" "$MT_LOG"
for _ in 1 2 3; do t=$(date +%s.%N); wait_snapshot_after "$t"; done
grep "pid $SL_PID " "$MT_LOG" | sed 's/^/# /'
check "the target is in no output" sh -c "! { curl -sf $MT_URL/metrics | grep -q 'pid=\"$SL_PID\"'; }"
check "it is counted as unreadable" test "$(state_count unreadable)" = 1
check "none is counted as reported" test "$(state_count reported)" = 0
check "the reason is logged at info, once in three snapshots" \
	test "$(grep -c " info  pid $SL_PID (sleep) is selected but in no output: .*another pid namespace" "$MT_LOG")" = 1
stop_memtide

# --- top_rss: a one-snapshot spike changes nothing; a lasting change does

A="sela$$" B="selb$$"
cp "$TARGETS/faulter" "$WORK/$A"
cp "$TARGETS/faulter" "$WORK/$B"
spawn SA "$WORK/$A"
spawn SB "$WORK/$B"
ready SA && ready SB || { not_ok "targets start" "no ready line"; finish; }
# fd_do NAME COMMAND: one faulter command, waits for its "ok".
fd_do() {
	local in out line
	eval "in=\$${1}_IN out=\$${1}_OUT"
	echo "$2" >&"$in"
	read -r -t 60 line <&"$out" && [ "${line%% *}" = ok ]
}
check "$A takes 40 MiB" fd_do SA "minor 10240"
PORT=$(free_port)
printf 'memory:\n  monitor_interval: 2s\ntargets:\n  - match: { comm: "^sel[ab]%s$", top_rss: 1 }\nexporter:\n  listen: "127.0.0.1:%s"\n' \
	"$$" "$PORT" >"$WORK/top.yaml"
start_memtide "$WORK/top.yaml" || { not_ok "memtide starts" "see log"; finish; }
check "at start the largest is taken at once" wait_until 10 reported "$SA_PID"

# B becomes the largest for one evaluation only: memtide is stopped as soon
# as it has seen that, B shrinks back, and memtide goes on.
# log_since LINE PATTERN: PATTERN (grep -E) in the log from line LINE on.
log_since() { tail -n "+$1" "$MT_LOG" | grep -qE "$2"; }
spiked=""
for attempt in 1 2 3; do
	from=$(($(wc -l <"$MT_LOG") + 1))
	fd_do SB "minor 20480" || break
	wait_until 30 log_since "$from" "pid $SB_PID \\($B\\) is among the 1 largest by RSS once|tracking pid $SB_PID "
	kill -STOP "$MT_PID"
	fd_do SB "free"
	if log_since "$from" "tracking pid $SB_PID " && ! log_since "$from" "pid $SB_PID \\($B\\) is among"; then
		spiked=at-once # taken on its first evaluation: no hysteresis
	elif ! log_since "$from" "pid $SB_PID \\($B\\) enters"; then
		spiked=once
	fi
	kill -CONT "$MT_PID"
	[ -n "$spiked" ] && break
	# The next evaluation came before memtide was stopped: let B leave, again.
	echo "# attempt $attempt: the spike lasted two evaluations; again"
	wait_until 60 log_since "$from" "pid $SB_PID \\($B\\) leaves"
done
check "a one-evaluation spike is seen once, not tracked" test "$spiked" = once
for _ in 1 2 3; do t=$(date +%s.%N); wait_snapshot_after "$t"; done
check "the spiking process was never tracked" sh -c "! grep -q 'tracking pid $SB_PID ' '$MT_LOG'"
check "nor reported" sh -c "! { curl -sf $MT_URL/metrics | grep -q 'pid=\"$SB_PID\"'; }"
check "the largest stays reported through the spike" reported "$SA_PID"
check "and was never untracked" sh -c "! grep -q 'no longer tracking pid $SA_PID ' '$MT_LOG'"

# A lasting change: B stays the largest; it enters, A leaves, both at debug.
check "$B takes 80 MiB" fd_do SB "minor 20480"
check "the lasting largest is reported" wait_until 60 reported "$SB_PID"
check "the one it replaced leaves" wait_until 60 sh -c "! { curl -sf $MT_URL/metrics | grep -q 'pid=\"$SA_PID\"'; }"
grep -E "pid ($SA_PID|$SB_PID) " "$MT_LOG" | sed 's/^/# /'
check "top_rss churn is logged at debug" sh -c "grep -q ' debug tracking pid $SB_PID ' '$MT_LOG' && grep -q ' debug no longer tracking pid $SA_PID ' '$MT_LOG'"
check "and not at info" sh -c "! grep -E ' info  (no longer )?tracking pid ($SA_PID|$SB_PID) ' '$MT_LOG'"
finish
