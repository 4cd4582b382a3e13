#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The uprobe tier against ground truth we did not write: glibc's memusage
# (call counts, byte totals), mallinfo2(), /proc/PID/smaps, and the target's
# own bookkeeping; threads, a process that allocated before memtide came, an
# unselected bystander, a static binary, exits.
. "$(dirname "$0")/../lib.sh"

MEMUSAGE_SO=/usr/lib/x86_64-linux-gnu/libmemusage.so
MEMUSAGE_HEADER=16 # libmemusage puts a 16-byte header before every block it hands out
PORT=$(free_port)

# Before memtide starts: a heapdriver that allocates, and a stopped process that
# will exec heapdriver under memusage once the probes are on.
spawn EARLY "$TARGETS/heapdriver"
ready EARLY || { not_ok "early heapdriver starts" "$(cat "$WORK/EARLY.err")"; finish; }
hd EARLY "work 200"
early_objects=$(field objects)
spawn MU env LD_PRELOAD=$MEMUSAGE_SO "$TARGETS/waitexec" "$TARGETS/heapdriver"
wait_until 5 sh -c "grep -q '^State:.*stopped' /proc/$MU_PID/status" || { not_ok "waitexec stops" "state: $(grep State /proc/$MU_PID/status)"; finish; }
cp "$TARGETS/heapdriver" "$WORK/bystander"
spawn BY "$WORK/bystander"
ready BY
"$TARGETS/static_sleeper" &
STATIC=$!
PIDS+=("$STATIC")

cat >"$WORK/memtide.yaml" <<YAML
memory:
  monitor_interval: 1s
targets:
  - match: { pid: $MU_PID }
    heap: uprobe
  - match: { comm: "^(heapdriver|static_sleeper)$" }
    heap: uprobe
exporter:
  listen: "127.0.0.1:$PORT"
YAML
start_memtide "$WORK/memtide.yaml" || { not_ok "memtide starts" "see log"; finish; }
check "probes attached to the stopped process" wait_until 10 grep -q "pid $MU_PID (waitexec): heap probes attached" "$MT_LOG"
check "probes attached to the early process" wait_until 10 grep -q "pid $EARLY_PID (heapdriver): heap probes attached" "$MT_LOG"

# --- memusage: the whole life of a process, counted twice ---------------------
kill -CONT "$MU_PID"
ready MU || { not_ok "heapdriver under memusage starts" "$(cat "$WORK/MU.err")"; finish; }
hd MU "work 3000"
t=$(date +%s.%N)
wait_snapshot_after "$t"
m_malloc=$(heap_metric memory_heap_alloc_calls_total "$MU_PID" 'function="malloc"')
m_calloc=$(heap_metric memory_heap_alloc_calls_total "$MU_PID" 'function="calloc"')
m_realloc=$(heap_metric memory_heap_alloc_calls_total "$MU_PID" 'function="realloc"')
m_free=$(heap_metric memory_heap_free_calls_total "$MU_PID")
m_total=$(heap_metric memory_total_alloc_bytes "$MU_PID")
m_malloc_bytes=$(heap_metric memory_heap_requested_bytes_total "$MU_PID" 'function="malloc"')
m_realloc_bytes=$(heap_metric memory_heap_requested_bytes_total "$MU_PID" 'function="realloc"')
own_realloc_bytes=$(field realloc_bytes)
hd MU exit
wait "$MU_PID" 2>/dev/null
# memusage prints its summary (with colour codes) when the process exits.
sed 's/\x1b\[[0-9;]*m//g' "$WORK/MU.err" >"$WORK/memusage.txt"
mu() { awk -v f="$1|" '$1 == f { print $2 }' "$WORK/memusage.txt"; }
mu_bytes() { awk -v f="$1|" '$1 == f { print $3 }' "$WORK/memusage.txt"; }
mu_total=$(sed -n 's/.*heap total: \([0-9]*\),.*/\1/p' "$WORK/memusage.txt")
echo "# memusage: malloc $(mu malloc) calloc $(mu calloc) realloc $(mu realloc) free $(mu free) heap total $mu_total"
echo "# memtide:  malloc $m_malloc calloc $m_calloc realloc $m_realloc free $m_free total $m_total"
check "memusage produced a summary" test -n "$mu_total"
# libmemusage implements calloc with malloc: glibc's malloc sees both.
check "malloc calls: memtide = memusage malloc + calloc" test "$m_malloc" = $(($(mu malloc) + $(mu calloc)))
check "calloc calls: none reach glibc's calloc under memusage" test "$m_calloc" = 0
check "realloc calls equal" test "$m_realloc" = "$(mu realloc)"
check "free calls equal" test "$m_free" = "$(mu free)"
check "malloc bytes equal memusage's malloc + calloc bytes, plus its 16-byte header per block" test "$m_malloc_bytes" = $(($(mu_bytes malloc) + $(mu_bytes calloc) + MEMUSAGE_HEADER * ($(mu malloc) + $(mu calloc))))
# memusage totals only what a realloc grows by; memtide counts each new size, so
# realloc bytes are checked against the program's own sum of new sizes.
check "realloc bytes equal the program's new sizes plus the header per call" test "$m_realloc_bytes" = $((own_realloc_bytes + MEMUSAGE_HEADER * $(mu realloc)))
check "total bytes = malloc bytes + realloc bytes" test "$m_total" = $((m_malloc_bytes + m_realloc_bytes))

# --- the program's own figures and mallinfo2() ----------------------------------
# tcache off, so mallinfo2() does not count cached free chunks as in use.
spawn HD env GLIBC_TUNABLES=glibc.malloc.tcache_count=0 "$TARGETS/heapdriver"
ready HD
check "probes attached to a new process within a second or two" wait_until 3 grep -q "pid $HD_PID (heapdriver): heap probes attached" "$MT_LOG"
hd HD "work 2000"
hd HD "mixed 300"
t=$(date +%s.%N)
wait_snapshot_after "$t"
page=$(scrape)
val() { awk -v p="$1{pid=\"$HD_PID\"" -v l="${2:-}" 'index($0, p) == 1 && index($0, l) { print $NF; exit }' <<<"$page"; }
for fn in malloc calloc realloc reallocarray posix_memalign memalign valloc pvalloc; do
	check "$fn calls equal the program's own count ($(field $fn))" test "$(val memory_heap_alloc_calls_total "function=\"$fn\"")" = "$(field $fn)"
done
check "free calls equal the program's own count" test "$(val memory_heap_free_calls_total)" = "$(field free)"
check "total bytes equal the program's own" test "$(val memory_total_alloc_bytes)" = "$(field total)"
check "live bytes equal the program's own ($(field live))" test "$(val memory_alloc_bytes)" = "$(field live)"
check "live objects equal the program's own" test "$(val memory_heap_objects)" = "$(field objects)"
echo "# heap_inuse $(val memory_heap_inuse_bytes) vs mallinfo2 uordblks+hblkhd $(field mallinfo)"
check "heap_inuse within 1% of mallinfo2()" within 1 "$(val memory_heap_inuse_bytes)" "$(field mallinfo)"
json_alloc=$(curl -sf "$MT_URL/api/v1/memory/stats?pid=$HD_PID" | json 'd["processes"][0]["alloc_bytes"], d["processes"][0]["heap_objects"], d["processes"][0]["tier"]')
check "the JSON API gives the same heap figures, tier uprobe" test "$json_alloc" = "$(field live) $(field objects) uprobe"
check "the size histogram counts every allocating call" test "$(val memory_heap_alloc_size_bytes_count)" = $(($(field malloc) + $(field calloc) + $(field realloc) + $(field reallocarray) + $(field posix_memalign) + $(field memalign) + $(field valloc) + $(field pvalloc) - 300))

# --- held at its exec with the system's libc: the probes go on the libc.so.6
# beside ld.so before it is mapped, and the kernel writes the breakpoints into
# the mapping ld.so makes; nothing moves.
spawn HELD "$TARGETS/stopexec" "$TARGETS/heapdriver"
wait_until 10 grep -q "^held " "$WORK/HELD.err"
HELD=$(awk '$1 == "held" { print $2; exit }' "$WORK/HELD.err")
PIDS+=("$HELD")
check "held at its exec, probes attached" wait_until 10 grep -q "pid $HELD (heapdriver): heap probes attached" "$MT_LOG"
kill -USR1 "$HELD_PID"
ready HELD
held_anon() { awk '$NF ~ /\/libc\.so\.6$/ && $2 ~ /x/ { m = 1; next } m && /^Anonymous:/ { print $2; exit }' "/proc/$HELD/smaps"; }
held_probed() { [ "$(held_anon)" -gt 0 ] 2>/dev/null; }
check "let go, its libc's text holds the breakpoints" wait_until 10 held_probed
sleep 0.5 # past the first checks of the guess
check "and its probes stayed where they were" sh -c "! grep -q 'pid $HELD: its libc is not' '$MT_LOG'"

# --- a libc of its own: the probes go on at exec on the libc.so.6 beside ld.so,
# and move to the copy it maps instead (LD_LIBRARY_PATH) once it is mapped.
# stopexec holds it at its exec (ld.so has mapped nothing yet) until the
# probes are on.
mkdir -p "$WORK/ownlibc"
cp "$(awk '$NF ~ /\/libc\.so\.6$/ { print $NF; exit }' "/proc/$HD_PID/maps")" "$WORK/ownlibc/"
spawn OWN env LD_LIBRARY_PATH="$WORK/ownlibc" GLIBC_TUNABLES=glibc.malloc.tcache_count=0 "$TARGETS/stopexec" "$TARGETS/heapdriver"
wait_until 10 grep -q "^held " "$WORK/OWN.err"
OWN=$(awk '$1 == "held" { print $2; exit }' "$WORK/OWN.err")
PIDS+=("$OWN")
check "held at its exec, it has probes before ld.so maps a libc" wait_until 10 grep -q "pid $OWN (heapdriver): heap probes attached" "$MT_LOG"
check "with no libc mapped yet" sh -c "! grep -q 'libc\.so\.6' /proc/$OWN/maps"
kill -USR1 "$OWN_PID"
ready OWN
check "let go, it maps the copy" grep -q "$WORK/ownlibc/libc.so.6" "/proc/$OWN/maps"
check "its probes moved to the copy" wait_until 10 grep -q "pid $OWN: its libc is not the one beside its loader: heap probes moved" "$MT_LOG"
own_anon() { awk -v f="$WORK/ownlibc/libc.so.6" '$NF == f && $2 ~ /x/ { m = 1; next } m && /^Anonymous:/ { print $2; exit }' "/proc/$OWN/smaps"; }
copy_probed() { [ "$(own_anon)" -gt 0 ] 2>/dev/null; }
check "the breakpoints are in the copy's text" wait_until 10 copy_probed
hd OWN "work 700"
t=$(date +%s.%N)
wait_snapshot_after "$t"
check "its malloc calls equal the program's own count ($(field malloc))" test "$(heap_metric memory_heap_alloc_calls_total "$OWN" 'function="malloc"')" = "$(field malloc)"
check "its live objects equal the program's own" test "$(heap_metric memory_heap_objects "$OWN")" = "$(field objects)"

# --- hostile: a program whose loader sits in a directory its user writes,
# with "libc.so.6" there a link to a FIFO (or a device node, which an open can
# act on): memtide never opens it, and probes the libc ld.so maps instead.
mkdir -p "$WORK/evil"
loader=$(awk '$NF ~ /\/ld-linux[^/]*\.so/ { print $NF; exit }' "/proc/$HD_PID/maps")
cp "$loader" "$WORK/evil/"
mkfifo "$WORK/evil/trap"
ln -s "$WORK/evil/trap" "$WORK/evil/libc.so.6"
printf '#include <stdlib.h>\n#include <unistd.h>\nint main(void) { for (;;) { free(malloc(64)); usleep(1000); } }\n' >"$WORK/evil.c"
cc -O1 -o "$WORK/evil/heapdriver" "$WORK/evil.c" -Wl,--dynamic-linker="$WORK/evil/${loader##*/}"
# A writer's open of the FIFO returns only once somebody opens it to read.
sh -c 'exec 3>"$1"; echo opened >"$1.opened"' sh "$WORK/evil/trap" &
PIDS+=("$!")
spawn EVIL "$TARGETS/stopexec" "$WORK/evil/heapdriver"
wait_until 10 grep -q "^held " "$WORK/EVIL.err"
EVIL=$(awk '$1 == "held" { print $2; exit }' "$WORK/EVIL.err")
PIDS+=("$EVIL")
check "held at its exec, its loader is the planted one" grep -q "$WORK/evil/${loader##*/}" "/proc/$EVIL/maps"
sleep 1 # its first look and the attach tries that follow
kill -USR1 "$EVIL_PID"
check "let go, its probes go on the libc ld.so mapped" wait_until 10 grep -q "pid $EVIL (heapdriver): heap probes attached" "$MT_LOG"
check "the FIFO planted as its libc.so.6 was never opened" test ! -e "$WORK/evil/trap.opened"

# malloc_trim: counted and timed.
hd HD trim
t=$(date +%s.%N)
wait_snapshot_after "$t"
check "a malloc_trim is counted" test "$(heap_metric memory_gc_count_total "$HD_PID")" = 1
check "and lands in the pause histogram" test "$(heap_metric memory_gc_pause_ns_count "$HD_PID")" = 1
check "its time is non-zero" awk "BEGIN { exit !($(heap_metric memory_gc_pause_ns_sum "$HD_PID") > 0) }"

# --- 8 threads, every block freed by another thread --------------------------------
before_malloc=$(heap_metric memory_heap_alloc_calls_total "$HD_PID" 'function="malloc"')
before_known=$(($(heap_metric memory_heap_free_calls_total "$HD_PID") - $(heap_metric memory_heap_untracked_frees_total "$HD_PID")))
before_live=$(heap_metric memory_alloc_bytes "$HD_PID")
hd HD "threads 8 20000"
t=$(date +%s.%N)
wait_snapshot_after "$t"
d_malloc=$(($(heap_metric memory_heap_alloc_calls_total "$HD_PID" 'function="malloc"') - before_malloc))
d_known=$(($(heap_metric memory_heap_free_calls_total "$HD_PID") - $(heap_metric memory_heap_untracked_frees_total "$HD_PID") - before_known))
d_live=$(($(heap_metric memory_alloc_bytes "$HD_PID") - before_live))
echo "# threads: mallocs $d_malloc, frees of recorded blocks $d_known, live bytes change $d_live"
check "8 threads: every one of 160000 mallocs counted" test "$d_malloc" = 160000
# pthread_create's own TLS blocks (calloc) may be freed too: at most 2 per thread.
check "8 threads: every cross-thread free found its block" test "$d_known" -ge 160000 -a "$d_known" -le 160016
check "8 threads: live bytes back where they were (within thread bookkeeping)" test "${d_live#-}" -le 16384

# --- blocks from before memtide came -----------------------------------------------
hd EARLY freeall
t=$(date +%s.%N)
wait_snapshot_after "$t"
check "early frees are counted as untracked" test "$(heap_metric memory_heap_untracked_frees_total "$EARLY_PID")" = "$early_objects"
check "live bytes never go negative" test "$(heap_metric memory_alloc_bytes "$EARLY_PID")" = 0
check "live objects never go negative" test "$(heap_metric memory_heap_objects "$EARLY_PID")" = 0

# --- who is probed: the kernel wrote breakpoints into the probed process's libc pages only
libc_anon_kb() { awk '/libc\.so\.6/ && $2 ~ /x/ { f = 1; next } f && /^Anonymous:/ { print $2; exit }' "/proc/$1/smaps"; }
echo "# libc text pages copied for breakpoints: probed $(libc_anon_kb "$HD_PID") kB, bystander $(libc_anon_kb "$BY_PID") kB"
check "the probed process's libc text holds breakpoint pages" test "$(libc_anon_kb "$HD_PID")" -gt 0
check "an unselected process's libc is untouched" test "$(libc_anon_kb "$BY_PID")" = 0
check "the bystander is not in the metrics" sh -c "! curl -sf $MT_URL/metrics | grep -q 'pid=\"$BY_PID\"'"

# --- a static binary: reported, tracked in the kernel tier, never a crash
check "a static binary is logged as such" wait_until 5 grep -q "pid $STATIC (static_sleeper): no glibc mapped" "$MT_LOG"
check "and counted as unsupported" test "$(metric memtide_uprobe_targets 'state="unsupported"')" = 1
check "and still tracked by the kernel tier" sh -c "curl -sf $MT_URL/metrics | grep -q 'memory_sys_bytes{pid=\"$STATIC\"'"

# --- a container-like sandbox: own mount and pid namespaces, own root, own copy of libc.
# /proc/PID/maps there says /lib/x86_64-linux-gnu/libc.so.6, which on the host is
# another file: probes must go on the file the process really mapped.
R="$WORK/root"
mkdir -p "$R/lib/x86_64-linux-gnu" "$R/lib64"
cp -L /lib/x86_64-linux-gnu/libc.so.6 "$R/lib/x86_64-linux-gnu/"
cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
cp "$TARGETS/heapdriver" "$R/heapdriver"
# pivot_root into a private bind mount of it; the host's chroot binary runs
# from the old root on the new root's libc, then becomes /heapdriver.
spawn CT unshare --mount --pid --fork --kill-child sh -c "mount --make-rprivate / && mount --bind '$R' '$R' &&
	cd '$R' && mkdir -p oldroot && pivot_root . oldroot && exec /oldroot/usr/sbin/chroot . /heapdriver"
ready CT || { not_ok "sandboxed heapdriver starts" "$(cat "$WORK/CT.err")"; finish; }
CT_HOST_PID=$(pgrep -P "$CT_PID" heapdriver)
ct_libc_range=$(awk '/libc\.so\.6/ { print $1; exit }' "/proc/$CT_HOST_PID/maps")
check "the sandbox maps its libc under the host's libc path" grep -q ' /lib/x86_64-linux-gnu/libc.so.6$' "/proc/$CT_HOST_PID/maps"
check "and that is another file than the host's" test "$(stat -L -c %i "/proc/$CT_HOST_PID/map_files/$ct_libc_range")" != "$(stat -L -c %i /lib/x86_64-linux-gnu/libc.so.6)"
check "probes attached to the sandboxed process" wait_until 5 grep -q "pid $CT_HOST_PID (heapdriver): heap probes attached" "$MT_LOG"
hd CT "work 500"
t=$(date +%s.%N)
wait_snapshot_after "$t"
check "sandbox: malloc calls equal the program's own ($(field malloc))" test "$(heap_metric memory_heap_alloc_calls_total "$CT_HOST_PID" 'function="malloc"')" = "$(field malloc)"
check "sandbox: live bytes equal the program's own" test "$(heap_metric memory_alloc_bytes "$CT_HOST_PID")" = "$(field live)"
hd CT exit

check "promtool check metrics: nothing beyond the spec's fixed names" promtool_clean

# --- a new process that reuses the number of one that exited is not taken for it ---
spawn R1 "$TARGETS/heapdriver"
ready R1
check "first holder of the number probed" wait_until 15 grep -q "pid $R1_PID (heapdriver): heap probes attached" "$MT_LOG"
hd R1 "work 300"
t=$(date +%s.%N)
wait_snapshot_after "$t"
hd R1 exit
wait "$R1_PID" 2>/dev/null
wait_until 15 grep -q "no longer tracking pid $R1_PID" "$MT_LOG"
# The kernel hands out ns_last_pid + 1 next: the very same number, if the
# next fork is ours (the FIFOs are made first, so spawn's first fork is it).
mkfifo "$WORK/R2.in" "$WORK/R2.out"
echo $((R1_PID - 1)) >/proc/sys/kernel/ns_last_pid
spawn R2 "$TARGETS/heapdriver"
ready R2
if [ "$R2_PID" = "$R1_PID" ]; then
	reattached() { test "$(grep -c "pid $R2_PID (heapdriver): heap probes attached" "$MT_LOG")" = 2; }
	if wait_until 15 reattached; then  # detaching ~20 uprobes waits for RCU: slow under load
		ok "the new holder of the number gets probes of its own"
	else
		not_ok "the new holder of the number gets probes of its own" "log: $(grep "pid $R2_PID" "$MT_LOG" | tr '\n' '|')"
	fi

	hd R2 "work 10"
	t=$(date +%s.%N)
	wait_snapshot_after "$t"
	check "its figures are its own, not its predecessor's" test "$(heap_metric memory_heap_alloc_calls_total "$R2_PID" 'function="malloc"') $(heap_metric memory_alloc_bytes "$R2_PID")" = "$(field malloc) $(field live)"
else
	echo "ok - pid reuse # SKIP another process took number $R1_PID first"
fi
hd R2 exit

# --- exit: gone from every family
hd HD exit
wait "$HD_PID" 2>/dev/null
t=$(date +%s.%N)
wait_snapshot_after "$t"
check "an exited process disappears" sh -c "! curl -sf $MT_URL/metrics | grep -q 'pid=\"$HD_PID\"'"
check "its probes are dropped" wait_until 5 grep -q "no longer tracking pid $HD_PID" "$MT_LOG"
check "memtide is still running" kill -0 "$MT_PID"
finish
