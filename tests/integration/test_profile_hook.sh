#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sampled allocation sites of a hooked process, end to end: memtide's hook
# samples (Poisson over bytes) and fires the otel_memory probes, memtide
# attaches them because the hook's notes say so, and the leak alert, /metrics
# and `go tool pprof` all point at the leaking function.
#
# Statistical bound: with mean m, a site's estimate from B bytes has standard
# deviation sqrt(m * B) (Poisson points over bytes). Here m = 128 KiB and
# B = 64 MiB: sd = 2.97 MiB, 4.4%; the test allows +-20% (4.5 sd: a false
# failure about once in 150,000 runs per check).
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
MEAN=131072
MIB=64
export HOME="$WORK/home" GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOTOOLCHAIN=local \
	GOPROXY=off GOTELEMETRY=off PPROF_TMPDIR="$WORK/pprof" PPROF_BINARY_PATH="$WORK/nobinaries"
mkdir -p "$HOME" "$PPROF_TMPDIR" "$PPROF_BINARY_PATH"

cp "$TARGETS/hooksites" "$WORK/tidesites"
cp "$TARGETS/libhooksite.so" "$WORK/"
PORT=$(free_port)
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 500ms
targets:
  - match: { comm: "^tidesites" }
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
alerts:
  leak_for: 1s
  leak_window: 60s
  leak_objects: 1000
YAML
start_memtide "$WORK/memtide.yaml" || finish

# The contract, as readelf reads the hook's notes.
notes() { readelf -n "$1" | awk '/Provider:/ { p = $2 } /Name:/ { n = $2 } /Arguments:/ { $1 = ""; print p, n, NF - 1 }' | sort -u | tr '\n' ';'; }
check "readelf: the hook's notes are otel_memory alloc (3 args) and free (1 arg)" \
	test "$(notes "$HOOK")" = "otel_memory alloc 3;otel_memory free 1;"

# Reports every half second: the leak alert needs a figure before the leak.
MEMTIDE_HOOK_INTERVAL_MS=500 MEMTIDE_HOOK_SAMPLE_BYTES=$MEAN LD_PRELOAD=$HOOK spawn S "$WORK/tidesites"
ready S
check "memtide attaches the hooked process's probes" \
	wait_until 30 grep -q "profiling pid $S_PID (tidesites)" "$MT_LOG"
wait_snapshot_after "$(date +%s.%N)"
hd S "small $MIB"
hd S "big $MIB"
for i in 1 2 3 4; do
	hd S "leak $((MIB / 4))"
	sleep 0.6
done
wait_snapshot_after "$(date +%s.%N)"
site() { metric "$1" "pid=\"$S_PID\",comm=\"tidesites\",site=\"$2\""; }
within20() { awk -v v="$1" -v want="$2" 'BEGIN { exit !(v != "" && v >= 0.8 * want && v <= 1.2 * want) }'; }
B=$((MIB << 20))
for s in "site_small (tidesites)" "site_big (tidesites)" "lib_leak (libhooksite.so)"; do
	v=$(site memory_heap_site_alloc_bytes_total "$s")
	echo "# $s: alloc estimate $v of $B"
	check "$s: allocated bytes within 20% ($v of $B)" within20 "$v" "$B"
done
v=$(site memory_heap_site_inuse_bytes "lib_leak (libhooksite.so)")
check "lib_leak: live bytes within 20% of what it leaked ($v of $B)" within20 "$v" "$B"
check "frees of sampled blocks leave the freed sites at 0 live bytes" \
	test "$(site memory_heap_site_inuse_bytes 'site_small (tidesites)') $(site memory_heap_site_inuse_bytes 'site_big (tidesites)')" = "0 0"
check "the leaking site ranks first on /metrics" \
	test "$(scrape | grep "^memory_heap_site_inuse_bytes{pid=\"$S_PID\"" | head -1 | grep -c lib_leak)" = 1
check "no samples dropped" test "$(metric memory_heap_site_samples_dropped_total "pid=\"$S_PID\"")" = 0

# The leak alert names the site.
alerts() { curl -sf "$MT_URL/api/v1/alerts"; }
firing_leak() { alerts | json "[a for a in d['active'] if a['alertname'] == 'MemoryLeakDetected' and a['pid'] == $S_PID and a['state'] == 'firing'][0]['sites'][0]['site']" 2>/dev/null; }
leak_named() { [ "$(firing_leak)" = "lib_leak (libhooksite.so)" ]; }
check "MemoryLeakDetected fires and names lib_leak first" wait_until 30 leak_named
alerts | json "[a['description'] for a in d['active'] if a['alertname'] == 'MemoryLeakDetected'][0]" | sed 's/^/# /'
check "its description gives the site's share of the growth" \
	sh -c "curl -sf '$MT_URL/api/v1/alerts' | grep -q 'Growth by site: lib_leak (libhooksite.so) [0-9]*%'"

# go tool pprof on the endpoint's answer.
PROFILE="$WORK/heap.pb.gz"
check "the profile endpoint answers" curl -sf -o "$PROFILE" "$MT_URL/api/v1/memory/profile?pid=$S_PID"
go tool pprof -top -sample_index=inuse_space "$PROFILE" >"$WORK/inuse.top" 2>"$WORK/pprof.err"
go tool pprof -top -sample_index=alloc_space "$PROFILE" >"$WORK/alloc.top" 2>>"$WORK/pprof.err"
sed -n '1,10p' "$WORK/inuse.top" | sed 's/^/# inuse: /'
check "pprof inuse_space: lib_leak first" test "$(awk '/flat%/ { getline; print $NF; exit }' "$WORK/inuse.top")" = lib_leak
check "pprof alloc_space: the three sites" \
	sh -c "grep -q ' site_small$' '$WORK/alloc.top' && grep -q ' site_big$' '$WORK/alloc.top' && grep -q ' lib_leak$' '$WORK/alloc.top'"
check "pprof: no frame of the hook (malloc) is a site" sh -c "! grep -qw malloc '$WORK/alloc.top'"

# Exit: nothing of the pid left in memtide's outputs or in any sites map.
hd S exit
wait_until 30 sh -c "! curl -sf '$MT_URL/metrics' | grep -q 'site_inuse_bytes{pid=\"$S_PID\"'"
check "exit: no site series of the pid" sh -c "! curl -sf '$MT_URL/metrics' | grep -q 'site_inuse_bytes{pid=\"$S_PID\"'"
# Our memtide's maps (their ids in its descriptors): another memtide on this
# machine may profile the same process (a top_rss rule selects a big one).
our_maps() {
	local id
	for id in $(awk '$1 == "map_id:" { print $2 }' /proc/"$MT_PID"/fdinfo/* 2>/dev/null | sort -u); do
		bpftool map show id "$id" -j | json "d['id'] if d.get('name') in ('sites_live', 'sites_figures', 'sites_procs') else ''"
	done
}
left() {
	for id in $(our_maps); do
		bpftool map dump id "$id" -j | python3 -c "
import json, sys
print(sum(1 for e in json.load(sys.stdin) if int.from_bytes(bytes(int(b, 16) for b in e['key'][:4]), 'little') == $S_PID))"
	done | awk '{ s += $1 } END { print s + 0 }'
}
check "memtide's sites maps are found" test "$(our_maps | wc -w)" = 3
zero_left() { test "$(left)" = 0; }
check "exit: no entry of the pid in memtide's sites maps" wait_until 10 zero_left
finish
