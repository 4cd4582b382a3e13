#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pod identity: processes in real cgroups named as the kubelet names them
# (systemd driver in the v2 hierarchy, cgroupfs driver in the v1 memory
# hierarchy where this machine has one), the names from a kubelet-shaped
# /var/log/pods + /var/log/containers tree; the labels on /metrics and the
# fields in the JSON are exact, and processes outside pods have none of the
# pod's.
. "$(dirname "$0")/../lib.sh"

CGV2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CGV1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
[ -n "$CGV2" ] || { not_ok "a cgroup v2 hierarchy is mounted" "none in /proc/mounts"; finish; }

# Ids unique to this run: other tests may make kubepods cgroups at the same time.
hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$1"; }
UID_WEB=$(printf '%s-%s-4%s-8%s-%s' "$(hex 8)" "$(hex 4)" "$(hex 3)" "$(hex 3)" "$(hex 12)")
UID_ETCD=$(hex 32) # a static pod's: its manifest's hash
ID_APP=$(hex 64) ID_SHIP=$(hex 64) ID_ETCD=$(hex 64) ID_DOCKER=$(hex 64)

# The web pod: systemd driver, containerd, burstable QoS.
POD_SD="$CGV2/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_WEB//-/_}.slice"
CG_APP="$POD_SD/cri-containerd-$ID_APP.scope"
CG_SHIP="$POD_SD/cri-containerd-$ID_SHIP.scope"
# The etcd static pod: cgroupfs driver, guaranteed QoS; in the v1 memory
# hierarchy on a hybrid layout (where a cgroupfs kubelet puts it), else in v2.
CG_ETCD="${CGV1:-$CGV2}/kubepods/pod$UID_ETCD/$ID_ETCD"
# Docker outside Kubernetes.
CG_DOCKER="$CGV2/system.slice/docker-$ID_DOCKER.scope"
# A local user's delegated subtree (as systemd's user@.service, under a slice
# of our own here) named as the kubelet names the web pod, with its real uid
# (no secret: it is in /var/log/pods): the process must not pass for that pod.
ID_FAKE=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CG_FAKE="$CGV2/memtide-user-$$.slice/user@65534.service/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_WEB//-/_}.slice/cri-containerd-$ID_FAKE.scope"
trap 'cleanup; remove_cgroups "$CG_APP" "$CG_SHIP" "$CG_ETCD" "$CG_DOCKER" "$CG_FAKE"' EXIT

# The kubelet's tree: a directory per pod (a directory per container in it)
# and a link per container, pointing at its log (never followed).
PODS="$WORK/log/pods" CONTAINERS="$WORK/log/containers"
mkdir -p "$PODS" "$CONTAINERS"
kubelet_pod() { # NAMESPACE POD UID CONTAINER...
	local dir="$PODS/$1_$2_$3" c
	for c in "${@:4}"; do mkdir -p "$dir/$c" && : >"$dir/$c/0.log"; done
}
kubelet_container() { # NAMESPACE POD UID CONTAINER ID
	ln -s "$PODS/$1_$2_$3/$4/0.log" "$CONTAINERS/$2_$1_$4-$5.log"
}
kubelet_pod shop web-7c9f8d6b5-x2k4p "$UID_WEB" app log-shipper
kubelet_container shop web-7c9f8d6b5-x2k4p "$UID_WEB" app "$ID_APP"
kubelet_pod kube-system etcd-node1.example.com "$UID_ETCD" etcd
kubelet_container kube-system etcd-node1.example.com "$UID_ETCD" etcd "$ID_ETCD"
# A log naming the Docker container: it is in no pod, so it takes no names.
ln -s /nonexistent "$CONTAINERS/ghost_shop_x-$ID_DOCKER.log"
# Names no kubelet writes, as anyone able to write there could: ignored.
mkdir "$PODS/shop_web-7c9f8d6b5-x2k4p_${UID_WEB}_x" "$PODS/Shop_web_$UID_WEB" "$PODS/sh\"op_web_$UID_WEB"
ln -s /nonexistent "$CONTAINERS/web-7c9f8d6b5-x2k4p_shop_a\"pp-$ID_APP.log"
ls -1 "$PODS" "$CONTAINERS" | sed 's/^/# /'

# Each process under a name of its own (comm), so other tests' agents cannot confuse them.
for n in app ship etcd docker plain fake; do cp /bin/sleep "$WORK/podid-$n"; done
APP_PID=$(in_cgroup "$CG_APP" "$WORK/podid-app" 600)
SHIP_PID=$(in_cgroup "$CG_SHIP" "$WORK/podid-ship" 600)
ETCD_PID=$(in_cgroup "$CG_ETCD" "$WORK/podid-etcd" 600)
DOCKER_PID=$(in_cgroup "$CG_DOCKER" "$WORK/podid-docker" 600)
FAKE_PID=$(in_cgroup "$CG_FAKE" "$WORK/podid-fake" 600)
"$WORK/podid-plain" 600 &
PLAIN_PID=$!
PIDS+=("$APP_PID" "$SHIP_PID" "$ETCD_PID" "$DOCKER_PID" "$PLAIN_PID" "$FAKE_PID")
for p in "$APP_PID" "$SHIP_PID" "$ETCD_PID" "$DOCKER_PID" "$FAKE_PID"; do
	wait_until 5 sh -c "grep -qE 'kubepods|docker-' /proc/$p/cgroup" || not_ok "pid $p is in its cgroup" "$(cat /proc/$p/cgroup)"
	grep -E '^0::|memory' "/proc/$p/cgroup" | sed "s/^/# $p: /"
done

PORT=$(free_port)
cat >"$WORK/pods.yaml" <<EOF
memory: { monitor_interval: 1s, max_memory_mb: 0 }
targets:
  - match: { comm: "^podid-" }
exporter: { listen: "127.0.0.1:$PORT" }
kubernetes:
  pods_log_dir: $PODS
  containers_log_dir: $CONTAINERS
EOF
start_memtide "$WORK/pods.yaml" || { not_ok "memtide starts" "see log"; finish; }

# labels PID: the label set of PID's memory_sys_bytes sample, as on the page.
labels() { scrape | sed -n "s/^memory_sys_bytes{\(pid=\"$1\",[^}]*\)}.*/\1/p"; }
# has_labels PID WANT: waits until PID's labels are exactly WANT.
has_labels() {
	if ! wait_until 20 sh -c "[ \"\$(curl -sf $MT_URL/metrics | sed -n 's/^memory_sys_bytes{\(pid=\"$1\",[^}]*\)}.*/\1/p')\" = '$2' ]"; then
		echo "# got:  $(labels "$1")"
		echo "# want: $2"
		return 1
	fi
}

check "systemd driver: namespace, pod, container, pod_uid, container_id" \
	has_labels "$APP_PID" "pid=\"$APP_PID\",comm=\"podid-app\",namespace=\"shop\",pod=\"web-7c9f8d6b5-x2k4p\",container=\"app\",pod_uid=\"$UID_WEB\",container_id=\"$ID_APP\""
check "cgroupfs driver${CGV1:+ (v1 memory hierarchy)}, static pod: the same" \
	has_labels "$ETCD_PID" "pid=\"$ETCD_PID\",comm=\"podid-etcd\",namespace=\"kube-system\",pod=\"etcd-node1.example.com\",container=\"etcd\",pod_uid=\"$UID_ETCD\",container_id=\"$ID_ETCD\""
check "a container the kubelet has not linked yet: its pod's names, no container name" \
	has_labels "$SHIP_PID" "pid=\"$SHIP_PID\",comm=\"podid-ship\",namespace=\"shop\",pod=\"web-7c9f8d6b5-x2k4p\",pod_uid=\"$UID_WEB\",container_id=\"$ID_SHIP\""
check "Docker outside pods: container_id only, even with a log naming it" \
	has_labels "$DOCKER_PID" "pid=\"$DOCKER_PID\",comm=\"podid-docker\",container_id=\"$ID_DOCKER\""
check "a process in no container: pid and comm only" \
	has_labels "$PLAIN_PID" "pid=\"$PLAIN_PID\",comm=\"podid-plain\""
check "a user's subtree named like a pod does not pass for it: container_id only" \
	has_labels "$FAKE_PID" "pid=\"$FAKE_PID\",comm=\"podid-fake\",container_id=\"$ID_FAKE\""
# Every per-process family carries them, not just one.
check "every family of the pod's process has the same labels" sh -c "
	curl -sf $MT_URL/metrics | grep 'pid=\"$APP_PID\"' >'$WORK/app.prom'
	test \$(wc -l <'$WORK/app.prom') -ge 5 &&
	! grep -v 'comm=\"podid-app\",namespace=\"shop\",pod=\"web-7c9f8d6b5-x2k4p\",container=\"app\",pod_uid=\"$UID_WEB\",container_id=\"$ID_APP\"' '$WORK/app.prom'"

# The link appears (the kubelet starts the container's log): the name follows.
kubelet_container shop web-7c9f8d6b5-x2k4p "$UID_WEB" log-shipper "$ID_SHIP"
check "a new link in the containers directory: its name at a later snapshot" \
	has_labels "$SHIP_PID" "pid=\"$SHIP_PID\",comm=\"podid-ship\",namespace=\"shop\",pod=\"web-7c9f8d6b5-x2k4p\",container=\"log-shipper\",pod_uid=\"$UID_WEB\",container_id=\"$ID_SHIP\""

# The JSON: the same fields, absent when unknown.
process_json() { curl -sf "$MT_URL/api/v1/memory/stats?pid=$1" | json "$2"; }
check "JSON: the pod's process has the five fields, exact" test "$(process_json "$APP_PID" \
	"[d['processes'][0].get(k) for k in ('namespace', 'pod', 'container', 'pod_uid', 'container_id')]")" = \
	"['shop', 'web-7c9f8d6b5-x2k4p', 'app', '$UID_WEB', '$ID_APP']"
check "JSON: Docker outside pods has container_id only" test "$(process_json "$DOCKER_PID" \
	"sorted(k for k in d['processes'][0] if k in ('namespace', 'pod', 'container', 'pod_uid', 'container_id'))")" = \
	"['container_id']"
check "JSON: a process in no container has none" test "$(process_json "$PLAIN_PID" \
	"[k for k in d['processes'][0] if k in ('namespace', 'pod', 'container', 'pod_uid', 'container_id')]")" = "[]"
check "the hostile names are ignored (the log says so at debug)" grep -q "entries not named as the kubelet names them" "$MT_LOG"
check "promtool check metrics is clean" promtool_clean
stop_memtide

# Without the kubelet's directories (a host, or a DaemonSet without the
# mounts): what the cgroup says, and the log says why there are no names.
sed -i "s|$WORK/log/|$WORK/absent/|" "$WORK/pods.yaml"
start_memtide "$WORK/pods.yaml" || { not_ok "memtide starts" "see log"; finish; }
check "without the directories: pod_uid and container_id, no names" \
	has_labels "$APP_PID" "pid=\"$APP_PID\",comm=\"podid-app\",pod_uid=\"$UID_WEB\",container_id=\"$ID_APP\""
check "and the log says why" grep -q "$WORK/absent/pods: not found: processes in pods get no pod names" "$MT_LOG"
finish
