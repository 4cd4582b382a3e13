#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OOM kills: a target in a small memory cgroup is killed by the kernel's OOM
# killer; the node-wide counter and the victim come from the mark_victim probe.
. "$(dirname "$0")/../lib.sh"

if ! memory_cgroup memtide-oom 32; then
	echo "ok - OOM kill # SKIP cannot create a memory cgroup here"
	finish
fi

PORT=$(free_port)
printf 'memory:\n  monitor_interval: 1s\ntargets:\n  - match: { comm: "^faulter$" }\nexporter:\n  listen: "127.0.0.1:%s"\n' "$PORT" >"$WORK/memtide.yaml"
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
before=$(metric memory_oom_kills_total "")

# 64 MB of anonymous memory in a 32 MB cgroup without swap: the OOM killer picks it.
sh -c "echo \$\$ > $CG/cgroup.procs; exec $TARGETS/faulter" <<<"minor 16384" >/dev/null 2>&1 &
VICTIM=$!
wait "$VICTIM" 2>/dev/null
status=$?
check "the target was killed by SIGKILL" test "$status" = 137
t=$(date +%s.%N)
wait_snapshot_after "$t"
after=$(metric memory_oom_kills_total "")
echo "# memory_oom_kills_total: $before -> $after"
check "memory_oom_kills_total went up by one" test "$after" = $((before + 1))
check "the last victim is the target" sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_oom_last_kill_timestamp_seconds{pid=\"$VICTIM\",comm=\"faulter\"}'"
check "the kernel agrees it killed one" sh -c "grep -qE '^(oom_kill|oom_kill_disable) ' $CG/memory.oom_control 2>/dev/null && grep -q '^oom_kill 1' $CG/memory.oom_control || grep -q '^oom_kill 1' $CG/memory.events"
rmdir "$CG" 2>/dev/null
finish
