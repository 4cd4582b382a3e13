#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A private cgroup namespace (containerd's and podman's default on cgroup v2):
# memtide runs in `unshare --cgroup` rooted at a cgroup of its own, so every
# other process's cgroup reads "/../../kubepods.slice/...". The DaemonSet's
# selector (cgroup: /kubepods), the pod labels and the container's limit
# (max_memory_mb: 0) must still work, by the host's paths.
. "$(dirname "$0")/../lib.sh"

CGV2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CGV1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
[ -n "$CGV2" ] || { not_ok "a cgroup v2 hierarchy is mounted" "none in /proc/mounts"; finish; }
command -v unshare >/dev/null || { not_ok "unshare is installed" "not found"; finish; }

hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$1"; }
POD_UID=$(printf '%s-%s-4%s-8%s-%s' "$(hex 8)" "$(hex 4)" "$(hex 3)" "$(hex 3)" "$(hex 12)")
CID=$(hex 64)
# The systemd driver's names, the same path in each hierarchy (as systemd makes them).
POD_REL="kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID//-/_}.slice"
CG_REL="$POD_REL/cri-containerd-$CID.scope"
AGENT_REL="memtide-ns-$$/agent"
DIRS=("$CGV2/$CG_REL" "$CGV2/$AGENT_REL")
[ -n "$CGV1" ] && DIRS+=("$CGV1/$CG_REL" "$CGV1/$AGENT_REL")
trap 'cleanup; remove_cgroups "${DIRS[@]}"' EXIT
for d in "${DIRS[@]}"; do mkdir -p "$d" || { not_ok "cgroup $d is made" "mkdir failed"; finish; }; done

# The container's limit, where procfs reads limits: the v1 memory hierarchy on
# a hybrid layout, else v2's memory.max (the pod's slice; the lowest counts).
LIMIT_MB=96
if [ -n "$CGV1" ]; then
	echo $((LIMIT_MB << 20)) >"$CGV1/$POD_REL/memory.limit_in_bytes"
elif [ "$CGV2" = /sys/fs/cgroup ]; then
	for d in kubepods.slice kubepods.slice/kubepods-burstable.slice "$POD_REL"; do
		echo +memory >"$CGV2/${d%/*}/cgroup.subtree_control" 2>/dev/null
		[ "$d" = kubepods.slice ] && echo +memory >"$CGV2/cgroup.subtree_control" 2>/dev/null
	done
	echo $((LIMIT_MB << 20)) >"$CGV2/$POD_REL/memory.max"
fi

# The container's process, in both hierarchies.
cp /bin/sleep "$WORK/cgns-target"
sh -c 'for d; do echo $$ >"$d/cgroup.procs"; done; exec "$0" 600' "$WORK/cgns-target" \
	"$CGV2/$CG_REL" ${CGV1:+"$CGV1/$CG_REL"} >/dev/null 2>&1 &
T_PID=$!
PIDS+=("$T_PID")
wait_until 5 grep -q "cri-containerd-$CID" "/proc/$T_PID/cgroup" || not_ok "the target is in its cgroup" "$(cat /proc/$T_PID/cgroup)"

# memtide: moved into its own cgroups, then a cgroup namespace rooted there.
cat >"$WORK/ns-memtide" <<WRAP
#!/bin/sh
for d in "$CGV2/$AGENT_REL" ${CGV1:+"$CGV1/$AGENT_REL"}; do echo \$\$ >"\$d/cgroup.procs" || exit 1; done
exec unshare --cgroup "$MEMTIDE" "\$@"
WRAP
chmod +x "$WORK/ns-memtide"
MEMTIDE="$WORK/ns-memtide"

PORT=$(free_port)
cat >"$WORK/cgns.yaml" <<EOF
memory: { monitor_interval: 1s, max_memory_mb: 0 }
targets:
  - match: { cgroup: "/kubepods" }
    heap: none
exporter: { listen: "127.0.0.1:$PORT" }
kubernetes: { pods_log_dir: $WORK/absent/pods, containers_log_dir: $WORK/absent/containers }
EOF
start_memtide "$WORK/cgns.yaml" || { not_ok "memtide starts" "see log"; finish; }

# What memtide reads: relative to its namespace's root (else this test proves nothing).
seen=$(nsenter -t "$MT_PID" -C cat "/proc/$T_PID/cgroup")
echo "$seen" | grep -E '^0::|memory' | sed 's/^/# seen by memtide: /'
check "memtide is in a private cgroup namespace (the target reads /../..)" \
	grep -q "^0::/\.\./\.\./$CG_REL\$" <<<"$seen"
check "memtide's own cgroup reads / there" grep -qx "0::/" <(nsenter -t "$MT_PID" -C cat "/proc/$MT_PID/cgroup")

labels() { scrape | sed -n "s/^memory_sys_bytes{\(pid=\"$T_PID\",[^}]*\)}.*/\1/p"; }
WANT="pid=\"$T_PID\",comm=\"cgns-target\",pod_uid=\"$POD_UID\",container_id=\"$CID\""
if wait_until 20 sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_sys_bytes{pid=\"$T_PID\"'"; then
	ok "the pod's process is selected by cgroup: /kubepods"
else
	not_ok "the pod's process is selected by cgroup: /kubepods" "not on the page"
fi
got=$(labels)
echo "# labels: $got"
check "its labels name the pod uid and container id" test "$got" = "$WANT"
limit=$(scrape | awk -v p="memory_max_memory_mb{pid=\"$T_PID\"" 'index($0, p) == 1 { print $NF }')
check "its container's limit is memory_max_memory_mb ($LIMIT_MB, got ${limit:-none})" \
	test "${limit:-}" = "$LIMIT_MB"
check "the log names the namespace's root" grep -q "private cgroup namespace: its root is /$AGENT_REL" "$MT_LOG"
finish
