#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hook tier's own heap accounting: the hook alone against the program's
# bookkeeping and malloc_usable_size (threads, fork, realloc and
# posix_memalign edge cases); through memtide against memusage and the
# program's own counts; the leak alert for a hooked process that leaks and
# one that churns.
. "$(dirname "$0")/../lib.sh"

HOOK="$ROOT/build/libmemtide_hook.so"
MEMUSAGE_SO=/usr/lib/x86_64-linux-gnu/libmemusage.so
MEMUSAGE_HEADER=16

# --- the hook alone ------------------------------------------------------------
out=$(LD_PRELOAD=$HOOK timeout 120 "$TARGETS/hookcount" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "hookcount: every figure equals the program's own (exit 0)" test "$rc" = 0
# glibc mmaps even small blocks once its heap is used up (a mmapped chunk has a
# second header word, which the hook takes off by glibc's own count of them)
check "hookcount exact when glibc mmaps small blocks (mmap_threshold=0)" \
	sh -c "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=0 LD_PRELOAD=$HOOK timeout 120 $TARGETS/hookcount >/dev/null"
out=$(MEMTIDE_HOOK_COUNT=0 LD_PRELOAD=$HOOK "$TARGETS/hookcount" 2>&1 | head -1)
check "MEMTIDE_HOOK_COUNT=0: the hook does not count" test "$out" = "FAIL counting on"
check "C++ new/delete through libstdc++ under the hook" sh -c "LD_PRELOAD=$HOOK $TARGETS/hookcount_cxx"
check "a program started with the hook execs one without it" \
	sh -c "LD_PRELOAD=$HOOK $TARGETS/hookcount_cxx exec $TARGETS/hookcount_cxx"

# --- through memtide -----------------------------------------------------------
PORT=$(free_port)
for n in tidecntmu tidecnthd tidecntleak tidecntchurn; do cp "$TARGETS/heapdriver" "$WORK/$n"; done
cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 500ms
targets:
  - match: { comm: "^tidecnt" }
    heap: hook
exporter:
  listen: "127.0.0.1:$PORT"
alerts:
  leak_for: 1s
  leak_window: 5s
  leak_objects: 1000
YAML
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }

# Reports every 300 ms: the hook tier shows figures from the first one.
# trim NAME: a trim memtide asks for; its report carries the counts as of now.
trim() {
	local pid before
	eval "pid=\$${1}_PID"
	before=$(heap_metric memory_gc_count_total "$pid")
	curl -sf -o /dev/null -X POST "$MT_URL/api/v1/memory/gc?pid=$pid"
	wait_until 20 sh -c "test \"\$(curl -sf $MT_URL/metrics | awk -v p='memory_gc_count_total{pid=\"$pid\"' 'index(\$0, p) == 1 { print \$NF; exit }')\" -gt ${before:-0}"
}
hooked() { # NAME: the hook tier's figures are out for it
	local pid
	eval "pid=\$${1}_PID"
	wait_until 20 sh -c "curl -sf $MT_URL/metrics | grep -q '^memory_heap_objects{pid=\"$pid\"'"
}

# memusage in front of the hook: what memusage counts reaches the hook.
spawn MU env LD_PRELOAD="$MEMUSAGE_SO $HOOK" MEMTIDE_HOOK_INTERVAL_MS=300 "$WORK/tidecntmu"
ready MU || { not_ok "tidecntmu starts" "$(cat "$WORK/MU.err")"; finish; }
check "the hook tier's heap figures are out" hooked MU
hd MU "work 3000"
trim MU
m_malloc=$(heap_metric memory_heap_alloc_calls_total "$MU_PID" 'function="malloc"')
m_realloc=$(heap_metric memory_heap_alloc_calls_total "$MU_PID" 'function="realloc"')
m_free=$(heap_metric memory_heap_free_calls_total "$MU_PID")
hd MU exit
wait "$MU_PID" 2>/dev/null
sed 's/\x1b\[[0-9;]*m//g' "$WORK/MU.err" >"$WORK/memusage.txt"
mu() { awk -v f="$1|" '$1 == f { print $2 }' "$WORK/memusage.txt"; }
echo "# memusage: malloc $(mu malloc) calloc $(mu calloc) realloc $(mu realloc) free $(mu free)"
echo "# memtide:  malloc $m_malloc realloc $m_realloc free $m_free"
check "malloc calls: the hook's = memusage's malloc + calloc" test "$m_malloc" = $(($(mu malloc) + $(mu calloc)))
check "realloc calls equal" test "$m_realloc" = "$(mu realloc)"
check "free calls equal" test "$m_free" = "$(mu free)"

# The program's own bookkeeping, by differences (the hook counts from process start).
spawn HD env GLIBC_TUNABLES=glibc.malloc.tcache_count=0 LD_PRELOAD="$HOOK" \
	MEMTIDE_HOOK_INTERVAL_MS=300 "$WORK/tidecnthd"
ready HD
check "tidecnthd is hooked" hooked HD
# A first run of threads: thread creation's own allocations (TLS, kept with
# glibc's cached stacks) are made before the differences start.
hd HD "threads 4 1000"
trim HD
page0=$(scrape)
own0=$HD_REPLY
hd HD "work 2000"
hd HD "mixed 300"
hd HD "threads 4 20000"
own1=$HD_REPLY
trim HD
page1=$(scrape)
val() { awk -v p="$2{pid=\"$HD_PID\"" -v l="${3:-}" 'index($0, p) == 1 && index($0, l) { print $NF; exit }' <<<"$1"; }
own() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
d() { echo $(($(val "$page1" "$@") - $(val "$page0" "$@"))); }
dn() { echo $(($(own "$own1" "$1") - $(own "$own0" "$1"))); }
for fn in malloc calloc realloc reallocarray posix_memalign memalign valloc pvalloc; do
	check "$fn calls: as the program counts ($(dn $fn))" test "$(d memory_heap_alloc_calls_total "function=\"$fn\"")" = "$(dn $fn)"
done
check "free calls: as the program counts" test "$(d memory_heap_free_calls_total)" = "$(dn free)"
check "requested bytes: as the program counts" test "$(d memory_total_alloc_bytes)" = "$(dn total)"
check "live objects: as the program counts ($(dn objects))" test "$(d memory_heap_objects)" = "$(dn objects)"
check "the size histogram counts every allocating call" test "$(d memory_heap_alloc_size_bytes_count)" = $(($(dn malloc) + $(dn calloc) + $(dn realloc) + $(dn reallocarray) + $(dn posix_memalign) + $(dn memalign) + $(dn valloc) + $(dn pvalloc)))
echo "# live usable bytes $(val "$page1" memory_alloc_bytes), heap_inuse $(val "$page1" memory_heap_inuse_bytes), mallinfo2 $(own "$own1" mallinfo)"
check "heap_inuse within 1% of mallinfo2()" within 1 "$(val "$page1" memory_heap_inuse_bytes)" "$(own "$own1" mallinfo)"
hd HD exit

# --- MemoryLeakDetected: a hooked process that leaks fires, one that churns does not
spawn LEAK env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=200 "$WORK/tidecntleak"
spawn CHURN env LD_PRELOAD="$HOOK" MEMTIDE_HOOK_INTERVAL_MS=200 "$WORK/tidecntchurn"
ready LEAK && ready CHURN
check "both hooked" bash -c "$(declare -f hooked wait_until); MT_URL=$MT_URL LEAK_PID=$LEAK_PID CHURN_PID=$CHURN_PID; hooked LEAK && hooked CHURN"
hd LEAK "hold 30000"
# Churn: allocate and free it all again, live objects stay level.
for _ in $(seq 20); do hd CHURN "work 300"; hd CHURN freeall; done
check "the leaking hooked process fires MemoryLeakDetected" wait_until 20 grep -q "alert MemoryLeakDetected \[warning\] firing: tidecntleak (pid $LEAK_PID)" "$MT_LOG"
check "the churning one stays quiet" sh -c "! grep -q 'MemoryLeakDetected.*pid $CHURN_PID' '$MT_LOG'"
hd LEAK exit
hd CHURN exit
finish
