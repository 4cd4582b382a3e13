#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sampled allocation sites through memtide, on a program that carries the
# OpenTelemetry memory USDT contract without memtide's hook
# (tests/targets/sdtalloc: the contract, not our library, is what counts):
# the site series on /metrics and in the stats JSON against the program's own
# count of what it fired, the leaking site first, the pprof profile as Debian's
# `go tool pprof` reads it, promtool on the page, hostile requests, and
# nothing left after the process exits.
. "$(dirname "$0")/../lib.sh"

export HOME="$WORK/home" GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOTOOLCHAIN=local \
	GOPROXY=off GOTELEMETRY=off PPROF_TMPDIR="$WORK/pprof" PPROF_BINARY_PATH="$WORK/nobinaries"
mkdir -p "$HOME" "$PPROF_TMPDIR" "$PPROF_BINARY_PATH"

cp "$TARGETS/sdtalloc" "$WORK/tideprof"
cp "$TARGETS/libsdtsite.so" "$WORK/"
cp "$TARGETS/heapdriver" "$WORK/tideprofplain"
PORT=$(free_port)
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 500ms
targets:
  - match: { comm: "^tideprof" }
exporter:
  listen: "127.0.0.1:$PORT"
profiling:
  top_sites: 2
YAML
start_memtide "$WORK/memtide.yaml" || finish

spawn S "$WORK/tideprof"
ready S
spawn P "$WORK/tideprofplain"
ready P
check "memtide attaches the program's probes (its semaphores are set)" hd S wait
hd S "run 1000"
expect() { hd S "expect $1" && echo "$(field "$2")"; }
site_metric() { metric "$1" "pid=\"$S_PID\",comm=\"tideprof\",site=\"$2\""; }
t=$(date +%s.%N)
wait_snapshot_after "$t"
wait_snapshot_after "$(date +%s.%N)"

# The sites' figures are the sums of the weights the program fired: exact.
check "lib_site (the leak): memory_heap_site_inuse_bytes = what the program left live" \
	test "$(site_metric memory_heap_site_inuse_bytes 'lib_site (libsdtsite.so)')" = "$(expect lib_site inuse_space)"
check "lib_site: memory_heap_site_alloc_bytes_total = what it fired" \
	test "$(site_metric memory_heap_site_alloc_bytes_total 'lib_site (libsdtsite.so)')" = "$(expect lib_site alloc_space)"
check "site_big (freed): inuse 0, alloc as fired" \
	test "$(site_metric memory_heap_site_inuse_bytes 'site_big (tideprof)') $(site_metric memory_heap_site_alloc_bytes_total 'site_big (tideprof)')" = "0 $(expect site_big alloc_space)"
check "top_sites: 2 of the 3 sites per process on /metrics" \
	test "$(scrape | grep -c "^memory_heap_site_inuse_bytes{pid=\"$S_PID\"")" = 2
check "a process without the probes has no site series" \
	sh -c "! curl -sf '$MT_URL/metrics' | grep -q 'pid=\"$P_PID\".*site='"
JSON=$(curl -sf "$MT_URL/api/v1/memory/stats?pid=$S_PID")
check "stats JSON: the leaking site ranks first" \
	test "$(json 'd["processes"][0]["sites"][0]["site"]' <<<"$JSON" 2>/dev/null || json 'd["sites"][0]["site"]' <<<"$JSON")" = "lib_site (libsdtsite.so)"
check "promtool check metrics: the page with site labels is clean" promtool_clean

# The profile, as go tool pprof reads it.
PROFILE="$WORK/heap.pb.gz"
check "GET /api/v1/memory/profile?pid=N answers 200" \
	curl -sf -o "$PROFILE" "$MT_URL/api/v1/memory/profile?pid=$S_PID"
top() { go tool pprof -top -unit=B -sample_index="$1" "$PROFILE" 2>"$WORK/pprof.err"; }
top inuse_space >"$WORK/inuse.top"
top alloc_space >"$WORK/alloc.top"
sed 's/^/# inuse: /' "$WORK/inuse.top" | head -12
# -top's rows: flat flat% sum% cum cum% name; B units: "2000000B".
flat() { awk -v f="$2" '$NF == f || $(NF-1) == f { sub(/B$/, "", $1); print $1; exit }' "$WORK/$1.top"; }
check "pprof inuse_space: lib_site first, flat = its live bytes" \
	test "$(awk '/flat%/ { getline; print $NF; exit }' "$WORK/inuse.top") $(flat inuse lib_site)" = "lib_site $(expect lib_site inuse_space)"
check "pprof alloc_space: site_big flat = what it fired" \
	test "$(flat alloc site_big)" = "$(expect site_big alloc_space)"
check "pprof alloc_space: site_small flat = what it fired" \
	test "$(flat alloc site_small)" = "$(expect site_small alloc_space)"
check "pprof: the probe's wrapper (sdt_malloc) is not a site" sh -c "! grep -q sdt_malloc '$WORK/inuse.top'"
# Any local user can ask: the process's layout (ASLR) must not be in it.
go tool pprof -raw "$PROFILE" >"$WORK/raw" 2>&1
grep -A6 '^Mappings' "$WORK/raw" | sed 's/^/# raw: /'
starts=$(awk '{ split($1, a, "-"); print a[1] }' "/proc/$S_PID/maps" | sed 's/^0*//' | sort -u)
leaked=$(grep -oiE '0x[0-9a-f]+' "$WORK/raw" | sed 's/^0x0*//' | sort -u | comm -12 - <(echo "$starts"))
check "pprof: mappings and addresses in the files' terms, none of the process's runtime addresses" \
	test -z "$leaked" -a "$(grep -ciE '0x(55|56|7f)[0-9a-f]{10}' "$WORK/raw")" = 0
check "pprof: the mappings name the files and their build ids" \
	sh -c "grep -q 'tideprof' '$WORK/raw' && grep -q 'libsdtsite.so' '$WORK/raw' && grep -qE '[0-9a-f]{40}' '$WORK/raw'"

# Hostile and odd requests: a clear 4xx, the server stays up.
status() { curl -s -o /dev/null -w '%{http_code}' "$MT_URL$1"; }
check "profile without pid: 400" test "$(status /api/v1/memory/profile)" = 400
check "profile?pid=abc: 400" test "$(status '/api/v1/memory/profile?pid=abc')" = 400
check "profile?pid=N&x=1: 400 (unknown parameter)" test "$(status "/api/v1/memory/profile?pid=$S_PID&x=1")" = 400
check "profile of a process without probes: 404" test "$(status "/api/v1/memory/profile?pid=$P_PID")" = 404
check "POST profile: 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MT_URL/api/v1/memory/profile?pid=$S_PID")" = 405
check "the server still answers" curl -sf -o /dev/null "$MT_URL/metrics"
# A local user floods the profile endpoint: the collection goes on.
t=$(date +%s.%N)
seq 200 | xargs -P 20 -I{} curl -s -o /dev/null "$MT_URL/api/v1/memory/profile?pid=$S_PID" &
FLOOD=$!
check "under a flood of 200 profile requests, snapshots go on" wait_snapshot_after "$t"
wait "$FLOOD"
check "after the flood, a profile still answers 200" test "$(status "/api/v1/memory/profile?pid=$S_PID")" = 200

# The process exits: its sites leave every output.
hd S exit
wait_until 30 sh -c "! curl -sf '$MT_URL/metrics' | grep -q 'memory_heap_site_inuse_bytes{pid=\"$S_PID\"'"
check "exit: no site series of the pid" sh -c "! curl -sf '$MT_URL/metrics' | grep -q 'site_inuse_bytes{pid=\"$S_PID\"'"
check "exit: its profile is a 404" test "$(status "/api/v1/memory/profile?pid=$S_PID")" = 404
check "memtide logged the attach" grep -q "profiling pid $S_PID (tideprof)" "$MT_LOG"
finish
