# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the integration tests (sourced, bash).
# Each check prints "ok - NAME" or "not ok - NAME: why"; tests/run.sh counts them.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# MEMTIDE_BUILD=build-san: the sanitizer build of the agent (targets and hook stay in build/).
MEMTIDE="$ROOT/${MEMTIDE_BUILD:-build}/memtide"
SANITIZED=$([ "${MEMTIDE_BUILD:-build}" = build ] && echo 0 || echo 1)
TARGETS="$ROOT/build/targets"
WORK=$(mktemp -d /tmp/memtide-test.XXXXXX)
FAILED=0
PIDS=()

# kill_tree PID: PID and everything it started (a target's children would
# outlive it and hold the test's output open).
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill "$1" 2>/dev/null
	kill -CONT "$1" 2>/dev/null
}

cleanup() {
	# CONT too: a stopped process never acts on the TERM, and wait would hang.
	for p in "${PIDS[@]}"; do kill_tree "$p"; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1: $2"; FAILED=1; }
# check NAME COMMAND...: passes when the command succeeds.
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name" "failed: $*"; fi
}
# check_rss_bounded BEFORE_KB: the agent's VmRSS now is under 64 MiB and grew
# less than 16 MiB since BEFORE_KB (ASan's shadow memory and quarantine: 256
# and 64 MiB in the sanitizer build only).
check_rss_bounded() {
	local before=$1 after cap growth
	after=$(proc_status_kb "$MT_PID" VmRSS)
	cap=$((SANITIZED ? 262144 : 65536)) growth=$((SANITIZED ? 65536 : 16384))
	echo "# memtide VmRSS: $before kB before, $after kB after"
	check "agent RSS stays bounded (< $((cap / 1024)) MiB, grew < $((growth / 1024)) MiB)" test "$after" -lt "$cap" -a $((after - before)) -lt "$growth"
}

# stop_memtide: SIGTERM, and the agent must be gone within 5 s; in the
# sanitizer build, its log must hold no sanitizer report (leaks are reported at exit).
stop_memtide() {
	[ -n "${MT_PID:-}" ] && kill -0 "$MT_PID" 2>/dev/null || return 0
	kill -TERM "$MT_PID"
	if ! wait_until 5 sh -c "! kill -0 $MT_PID 2>/dev/null"; then
		not_ok "memtide exits within 5 s of SIGTERM" "still running"
		kill -KILL "$MT_PID"
	fi
	wait "$MT_PID" 2>/dev/null
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$MT_LOG" 2>/dev/null; then
		not_ok "no sanitizer report" "$(grep -m3 -E 'Sanitizer|runtime error' "$MT_LOG" | tr '\n' '|')"
	fi
	MT_PID=""
}
finish() { stop_memtide; exit $FAILED; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_until SECONDS COMMAND...: polls every 0.2 s.
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

# start_memtide CONFIG: starts the agent, waits for /metrics; sets MT_PID, MT_URL, MT_LOG.
start_memtide() {
	local cfg=$1
	MT_LOG="$WORK/memtide.log"
	MT_PORT=$(sed -n 's/.*listen: *"*127.0.0.1:\([0-9]*\).*/\1/p' "$cfg")
	MT_URL="http://127.0.0.1:$MT_PORT"
	"$MEMTIDE" --config "$cfg" --log-level debug 2>>"$MT_LOG" &
	MT_PID=$!
	PIDS+=("$MT_PID")
	if ! wait_until 15 curl -sf -o /dev/null "$MT_URL/metrics"; then
		echo "# memtide did not start; log:"; sed 's/^/#   /' "$MT_LOG"
		return 1
	fi
}

scrape() { curl -sf "$MT_URL/metrics"; }

# metric NAME LABELS: the value of the first sample of NAME whose labels contain LABELS.
metric() {
	scrape | awk -v name="$1" -v want="$2" '
		index($0, name "{") == 1 && index($0, want) { print $NF; exit }
		$1 == name && want == "" { print $2; exit }'
}

snapshot_time() { metric memtide_snapshot_timestamp_seconds ""; }

snapshot_newer_than() { awk -v t="$1" -v s="$(snapshot_time)" 'BEGIN { exit !(s != "" && s > t) }'; }
# wait_snapshot_after UNIXTIME: waits for a snapshot taken after UNIXTIME.
wait_snapshot_after() { wait_until 30 snapshot_newer_than "$1"; }

# within PERCENT A B: |A - B| <= PERCENT% of B.
within() {
	awk -v p="$1" -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'
}

# start_faulter: a faulter coprocess; sets F_PID, and F_IN/F_OUT fds.
start_faulter() {
	coproc FAULTER { exec "$TARGETS/faulter"; }
	F_OUT=${FAULTER[0]}
	F_IN=${FAULTER[1]}
	F_PID=$FAULTER_PID
	PIDS+=("$F_PID")
	local line
	read -r -t 5 line <&"$F_OUT" && [ "${line%% *}" = ready ]
}

# faulter_do COMMAND: sends one command and waits for its "ok".
faulter_do() {
	local line
	echo "$1" >&"$F_IN"
	read -r -t 60 line <&"$F_OUT" && [ "${line%% *}" = ok ]
}

# near BYTES A B: |A - B| <= BYTES.
near() { awk -v s="$1" -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= s) }'; }

proc_stat_field() { awk -v f="$2" '{ sub(/.*\) /, ""); print $(f - 2) }' "/proc/$1/stat"; }
proc_status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# start_pushgateway PORT: the real Debian Pushgateway on 127.0.0.1:PORT, no persistence.
start_pushgateway() {
	prometheus-pushgateway --web.listen-address="127.0.0.1:$1" --persistence.file="" \
		>>"$WORK/pushgateway.log" 2>&1 &
	PG_PID=$!
	PIDS+=("$PG_PID")
	wait_until 15 curl -sf -o /dev/null "http://127.0.0.1:$1/-/ready"
}

# json EXPR: evaluates a Python expression over the JSON on stdin (bound to d).
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

# spawn NAME COMMAND...: runs COMMAND in the background with its stdin and
# stdout on FIFOs; sets ${NAME}_PID and the descriptors ${NAME}_IN, ${NAME}_OUT.
spawn() {
	local name=$1 pid win rout
	shift
	[ -p "$WORK/$name.in" ] || mkfifo "$WORK/$name.in" "$WORK/$name.out"
	"$@" <"$WORK/$name.in" >"$WORK/$name.out" 2>>"$WORK/$name.err" &
	pid=$!
	PIDS+=("$pid")
	exec {win}>"$WORK/$name.in"
	exec {rout}<"$WORK/$name.out"
	printf -v "${name}_PID" %s "$pid"
	printf -v "${name}_IN" %s "$win"
	printf -v "${name}_OUT" %s "$rout"
}

# ready NAME: waits for a target's "ready" line.
ready() {
	local out line
	eval "out=\$${1}_OUT"
	read -r -t 10 line <&"$out" && [ "${line%% *}" = ready ]
}

# hd NAME COMMAND: sends a heapdriver command; its answer's key=value pairs go in HD_REPLY.
hd() {
	local out in line
	eval "in=\$${1}_IN out=\$${1}_OUT"
	echo "$2" >&"$in"
	read -r -t 120 line <&"$out" || return 1
	HD_REPLY=$line
	[ "${line%% *}" = ok ]
}

# field KEY: a value from the last heapdriver answer.
field() { tr ' ' '\n' <<<"$HD_REPLY" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# heap_metric NAME PID [LABEL]: one uprobe-tier value of PID from a fresh page.
heap_metric() {
	scrape | awk -v p="$1{pid=\"$2\"" -v l="${3:-}" 'index($0, p) == 1 && index($0, l) { print $NF; exit }'
}

# start_alertmanager PORT: the real Debian Alertmanager on 127.0.0.1:PORT, no cluster.
start_alertmanager() {
	mkdir -p "$WORK/am"
	printf 'route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n' >"$WORK/am.yml"
	prometheus-alertmanager --config.file="$WORK/am.yml" --storage.path="$WORK/am" \
		--web.listen-address="127.0.0.1:$1" --cluster.listen-address= \
		>>"$WORK/alertmanager.log" 2>&1 &
	AM_PID=$!
	PIDS+=("$AM_PID")
	wait_until 20 curl -sf -o /dev/null "http://127.0.0.1:$1/-/ready"
}

# start_prometheus PORT: the Debian Prometheus on $WORK/prometheus.yml (the
# caller writes it); sets PROM. prom_query EXPR prints the API's answer.
start_prometheus() {
	PROM="http://127.0.0.1:$1"
	prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
		--web.listen-address="127.0.0.1:$1" >>"$WORK/prometheus.log" 2>&1 &
	PIDS+=("$!")
	wait_until 30 curl -sf -o /dev/null "$PROM/-/ready"
}
prom_query() { curl -sf "$PROM/api/v1/query" --data-urlencode "query=$1"; }

# promtool_clean: the current page passes `promtool check metrics`, but for the
# lint findings on the product spec's fixed names, which are kept as named.
promtool_clean() {
	scrape >"$WORK/page.prom"
	promtool check metrics <"$WORK/page.prom" 2>&1 | grep -vE '^(memory_max_memory_mb|memory_gc_pause_ns) metric names should not contain abbreviated units$|^memory_total_alloc_bytes counter metrics should have "_total" suffix$' | grep -v '^$' >"$WORK/promtool.rest"
	sed 's/^/# promtool: /' "$WORK/promtool.rest"
	test ! -s "$WORK/promtool.rest"
}

# memory_cgroup NAME MIB: a memory cgroup limited to MIB (v1 or v2, whichever
# this machine has, no swap); sets CG to its directory, or returns 1.
memory_cgroup() {
	CG=""
	if [ -d /sys/fs/cgroup/memory ] && mkdir "/sys/fs/cgroup/memory/$1-$$" 2>/dev/null; then
		CG=/sys/fs/cgroup/memory/$1-$$
		echo $(($2 << 20)) >"$CG/memory.limit_in_bytes"
	elif [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir "/sys/fs/cgroup/$1-$$" 2>/dev/null; then
		CG=/sys/fs/cgroup/$1-$$
		echo $(($2 << 20)) >"$CG/memory.max"
		echo 0 >"$CG/memory.swap.max" 2>/dev/null
	fi
	[ -n "$CG" ]
}

# in_cgroup DIR COMMAND...: COMMAND in the background, in cgroup DIR (made if
# needed, in any hierarchy); prints its pid.
in_cgroup() {
	local dir=$1
	shift
	mkdir -p "$dir" || return 1
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$dir" "$@" >/dev/null 2>&1 &
	echo $!
}

# remove_cgroups DIR...: each DIR, then its parents as long as they are empty
# (shared parents stay while another test uses them), never a hierarchy's root.
remove_cgroups() {
	local d
	for d in "$@"; do
		while [ -n "$d" ] && ! mountpoint -q "$d" && rmdir "$d" 2>/dev/null; do d=${d%/*}; done
	done
}
