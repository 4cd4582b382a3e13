#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The DaemonSet's pod, not privileged, in a real container engine: podman runs
# the pod template's containers as deploy/kubernetes renders them (the same
# capabilities, seccomp, hostPID, read-only root, mounts, NODE_NAME, arguments;
# tests/deploy/kube.py translates) with the shipped configuration (monitor_interval
# shortened). Workload containers sit under a kubelet-style /kubepods cgroup:
# one runs as examples/hooked-workload.yaml says (uid 1000, the hook the init
# container copied, mounted read-only) and is trimmed on request; one has no hook
# and is above the high water mark, never signalled. Then each capability of
# the manifest is dropped in turn: the feature it serves fails, the log says
# why. Last, the privileged overlay's pod runs too.
. "$(dirname "$0")/../lib.sh"

export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}
# Debian's python3 with python3-yaml (make deps-image), whatever python3 PATH finds first.
PY=/usr/bin/python3
KUBE="$PY $ROOT/tests/deploy/kube.py"
DIR=$ROOT/deploy/kubernetes
IMG=localhost/memtide:test-pod
POD=pod$(cat /proc/sys/kernel/random/uuid)
CGROUP=/kubepods/burstable/$POD
NAMES=()

pod_cleanup() {
	for n in "${NAMES[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1; done
	for d in /sys/fs/cgroup/*/kubepods/burstable/"$POD"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	cleanup
}
trap pod_cleanup EXIT

make -s -C "$ROOT" image IMAGE_TAGS=$IMG >"$WORK/image.log" 2>&1 || { not_ok "make image" "$(tail -3 "$WORK/image.log")"; exit 1; }
$KUBE render "$DIR" >"$WORK/all.yaml"
CM=$(sed -n 's/^  name: \(memtide-config-.*\)/\1/p' "$WORK/all.yaml")
mkdir -p "$WORK/cfg" "$WORK/tok" "$WORK/lib" "$WORK/pods" "$WORK/containers"
TOKEN=$(head -c 24 /dev/urandom | base64)
printf %s "$TOKEN" >"$WORK/tok/token"
chmod 400 "$WORK/tok/token"
REMAP=("$CM=$WORK/cfg" "memtide-api-token=$WORK/tok" "/var/lib/memtide=$WORK/lib"
	"/var/log/pods=$WORK/pods" "/var/log/containers=$WORK/containers" "spec.nodeName=node-$POD")

# --- the init container puts the hook on the "node" ---
mapfile -t INIT < <($KUBE podman "$DIR" hook-library "$IMG" "${REMAP[@]}")
podman run --rm "${INIT[@]}" >"$WORK/init.log" 2>&1
podman run --rm --pull=never --network=none --entrypoint cat "$IMG" /usr/lib/memtide/libmemtide_hook.so >"$WORK/image-hook.so"
check "the init container copies the hook library to the host directory" cmp -s "$WORK/lib/libmemtide_hook.so" "$WORK/image-hook.so"
mapfile -t AGENT < <($KUBE podman "$DIR" memtide "$IMG" "${REMAP[@]}")
sed -i 's/^\(  monitor_interval:\) 30s/\1 1s/' "$WORK/cfg/memtide.yaml"
check "the shipped configuration, monitor_interval 1s" grep -q '^  monitor_interval: 1s' "$WORK/cfg/memtide.yaml"
check "the agent container is not privileged and drops ALL" sh -c "printf '%s\n' \"\$@\" | grep -qx -- --cap-drop=ALL && ! printf '%s\n' \"\$@\" | grep -q privileged" _ "${AGENT[@]}"

# start_agent NAME [CAP]: the agent's container, CAP left out; sets AG (host pid), AG_LOG.
start_agent() {
	local args=() a
	for a in "${AGENT[@]}"; do [ "$a" = "--cap-add=${2:-}" ] || args+=("$a"); done
	AG_NAME=mtpod-$1-$$
	AG_LOG=$WORK/$1.log
	NAMES+=("$AG_NAME")
	podman run -d --name "$AG_NAME" "${args[@]}" --log-level debug >/dev/null 2>"$AG_LOG"
	sleep 0.2
	AG=$(podman inspect -f '{{.State.Pid}}' "$AG_NAME" 2>/dev/null)
	wait_until 20 up_or_gone
	agent_curl -o /dev/null /health
}
up_or_gone() {
	agent_curl -o /dev/null /health || [ "$(podman inspect -f '{{.State.Running}}' "$AG_NAME")" != true ]
}
agent_log() { podman logs "$AG_NAME" >"$AG_LOG" 2>&1; cat "$AG_LOG"; }
agent_curl() { local p=${*: -1}; [ "${AG:-0}" != 0 ] && nsenter -t "$AG" -n curl -sf -m 10 "${@:1:$#-1}" "http://127.0.0.1:9464$p"; }
agent_says() { agent_log | grep -qE "$1"; }
stop_agent() { podman rm -f -t 2 "$AG_NAME" >/dev/null 2>&1; }

# workload NAME MEMORY [HOOK]: a heapdriver in its own container under the
# pod's cgroup; with HOOK, as examples/hooked-workload.yaml runs it. Sets
# ${NAME}_HPID (its host pid) besides spawn's variables.
workload() {
	local args=(--network=none --cap-drop=ALL --user=1000:1000) hpid
	[ -n "${3:-}" ] && mapfile -t args < <($KUBE podman "$DIR/examples/hooked-workload.yaml" app "$IMG" "/var/lib/memtide=$WORK/lib" | sed '$d')
	NAMES+=("mtpod-$1-$$")
	cp "$ROOT/build/targets/heapdriver" "$WORK/$1"
	spawn "$1" podman run -i --rm --pull=never --name "mtpod-$1-$$" --cgroup-parent="$CGROUP" "${args[@]}" \
		--memory="$2" --env=MEMTIDE_HOOK_INTERVAL_MS=500 -v "$WORK/$1:/$1:ro" --entrypoint "/$1" "$IMG"
	ready "$1" || return 1
	hpid=$(podman inspect -f '{{.State.Pid}}' "mtpod-$1-$$")
	printf -v "${1}_HPID" %s "$hpid"
}
rss() { echo $(( $(proc_status_kb "$1" VmRSS) * 1024 )); }
page() { agent_curl /metrics; }
value() { page | awk -v k="$1{pid=\"$2\"" 'index($0, k) == 1 { print $NF; exit }'; }

# --- control: what a hooked workload gains by trimming itself ---
workload selftrim 1g hook || { not_ok "self-trim workload starts" "$(cat "$WORK/selftrim.err")"; exit 1; }
hd selftrim "fragment 200000"
before=$(rss "$selftrim_HPID")
hd selftrim trim
self_gain=$((before - $(rss "$selftrim_HPID")))
hd selftrim exit
echo "# self-trim in its container: $self_gain bytes back"
check "the fragmented heap gives back at least 50 MB to a self-trim" test "$self_gain" -gt 50000000

# --- the agent, with every capability of the manifest ---
start_agent full || { not_ok "the agent's pod starts and answers /health" "$(agent_log | tail -5)"; exit 1; }
ok "the agent's pod starts and answers /health"
workload hooked 1g hook || { not_ok "hooked workload starts" "$(cat "$WORK/hooked.err")"; exit 1; }
workload plain 100m || { not_ok "unhooked workload starts" "$(cat "$WORK/plain.err")"; exit 1; }
check "the hooked workload runs as uid 1000" test "$(stat -c %u "/proc/$hooked_HPID")" = 1000
hd plain "hold 80000"
# (a process first seen before its exec, while runc sets the container up, is
# looked at again for the hook 10 s later)
check "it tracks the hooked container's process in the hook tier" wait_until 30 agent_says "pid $hooked_HPID \(hooked\): control hook reports probed"
grep -E "pid $hooked_HPID\b" "$AG_LOG" | head -5 | sed 's/^/#   /'
# (under the name it had when first seen: runc's, if that was before its exec)
check "it tracks the other container's process" wait_until 15 agent_says "tracking pid $plain_HPID \(.*\), heap tier none"
value_is() { test "$(value "$1" "$2")" = "$3"; }
check "the hooked container's limit (1 GiB) is its max_memory_mb" wait_until 10 value_is memory_max_memory_mb "$hooked_HPID" 1024
check "the unhooked container's limit (100 MiB) is its max_memory_mb" test "$(value memory_max_memory_mb "$plain_HPID")" = 100
check "NODE_NAME from the downward API" sh -c "nsenter -t $AG -n curl -sf http://127.0.0.1:9464/metrics | grep -qx 'memtide_node_info{node=\"node-$POD\"} 1'"

hd hooked "fragment 200000"
before=$(rss "$hooked_HPID")
code=$(agent_curl -s -o /dev/null -w '%{http_code}' -X POST "/api/v1/memory/gc?pid=$hooked_HPID")
check "POST gc without the Secret's token: 401" test "$code" = 401
agent_curl -o "$WORK/gc.json" -H "Authorization: Bearer $TOKEN" -X POST "/api/v1/memory/gc?pid=$hooked_HPID"
echo "# POST gc?pid=$hooked_HPID: $(cat "$WORK/gc.json")"
check "POST gc with the token trims the hooked workload" test "$(json 'd["results"][0]["trimmed"]' <"$WORK/gc.json")" = True
drop=$((before - $(rss "$hooked_HPID")))
echo "# the agent's trim: $drop bytes back (the process itself got $self_gain)"
check "the RSS drop is at least 95% of the self-trim's" test $((drop * 100)) -ge $((self_gain * 95))
check "the unhooked workload above the mark is never signalled" wait_until 10 agent_says "pid $plain_HPID \(plain\) is above high_water_mark_percent .* it is never signalled"
check "the unhooked workload is still alive" hd plain "hold 1"
check "/health is 200 with memory above the mark" agent_curl -o /dev/null /health
RSS_KB=$(proc_status_kb "$AG" VmRSS)
CPU_TICKS=$(( $(proc_stat_field "$AG" 14) + $(proc_stat_field "$AG" 15) ))
echo "# agent footprint (resources in daemonset.yaml): VmRSS $RSS_KB kB, VmHWM $(proc_status_kb "$AG" VmHWM) kB, $CPU_TICKS CPU ticks in $(ps -o etimes= -p "$AG") s"
stop_agent

# --- each capability dropped in turn ---
CAPS=$(printf '%s\n' "${AGENT[@]}" | sed -n 's/^--cap-add=//p' | tr '\n' ' ')
echo "# capabilities: $CAPS"
for cap in $CAPS; do
	case $cap in
	BPF|PERFMON)
		start_agent "no-$cap" "$cap"
		check "without $cap: the agent does not start, and says the kernel tier needs CAP_$cap" \
			wait_until 10 agent_says "kernel tier unavailable: .*CAP_$cap"
		;;
	SYS_PTRACE|DAC_READ_SEARCH|CHECKPOINT_RESTORE)
		start_agent "no-$cap" "$cap" || { not_ok "without $cap: the agent starts" "$(agent_log | tail -3)"; continue; }
		check "without $cap: the hook tier is unavailable, the log says it needs CAP_$cap" \
			wait_until 15 agent_says "hook tier unavailable: .*CAP_$cap"
		check "without $cap: the hooked workload is tracked, but not in the hook tier" \
			wait_until 10 agent_says "tracking pid $hooked_HPID \(hooked\), heap tier none"
		;;
	KILL)
		start_agent "no-$cap" "$cap" || { not_ok "without $cap: the agent starts" "$(agent_log | tail -3)"; continue; }
		wait_until 15 agent_says "pid $hooked_HPID \(hooked\): control hook reports probed"
		agent_curl -o "$WORK/gc.json" -H "Authorization: Bearer $TOKEN" -X POST "/api/v1/memory/gc?pid=$hooked_HPID"
		echo "# without KILL: $(cat "$WORK/gc.json")"
		check "without $cap: another user's hooked workload is not trimmed, the answer says CAP_$cap" \
			grep -q "CAP_KILL" "$WORK/gc.json"
		;;
	*) not_ok "capability $cap has a check here" "add one" ;;
	esac
	stop_agent
done

# --- a private cgroup namespace (containerd's and podman's default on cgroup v2) ---
# The pod's paths read /../../kubepods/... to the agent; it resolves them.
SHIPPED=("${AGENT[@]}")
AGENT=()
for a in "${SHIPPED[@]}"; do [ "$a" = "$IMG" ] && AGENT+=(--cgroupns=private); AGENT+=("$a"); done
start_agent cgroupns || not_ok "with a private cgroup namespace: the agent starts" "$(agent_log | tail -3)"
echo "# the agent reads: $(nsenter -t "$AG" -C cat "/proc/$plain_HPID/cgroup" | grep -E '^0::|memory')"
check "with a private cgroup namespace: the agent's namespace is not the host's" \
	test -n "${AG:-}" -a "$(readlink "/proc/${AG:-0}/ns/cgroup")" != "$(readlink /proc/self/ns/cgroup)"
check "with a private cgroup namespace: the log names its root" \
	wait_until 10 agent_says "private cgroup namespace: its root is /"
check "with a private cgroup namespace: the hooked workload is tracked in the hook tier" \
	wait_until 15 agent_says "pid $hooked_HPID \(hooked\): control hook reports probed"
check "with a private cgroup namespace: the unhooked container's limit (100 MiB) is its max_memory_mb" \
	wait_until 10 value_is memory_max_memory_mb "$plain_HPID" 100
stop_agent
AGENT=("${SHIPPED[@]}")

# --- the privileged overlay, the fallback: the same pod, privileged ---
mapfile -t AGENT < <($KUBE podman "$DIR/overlays/privileged" memtide "$IMG" "${REMAP[@]}")
check "the privileged overlay's agent runs privileged" sh -c "printf '%s\n' \"\$@\" | grep -qx -- --privileged" _ "${AGENT[@]}"
start_agent privileged
check "the privileged overlay's pod tracks the hooked workload in the hook tier" \
	wait_until 15 agent_says "pid $hooked_HPID \(hooked\): control hook reports probed"
stop_agent
exit $FAILED
