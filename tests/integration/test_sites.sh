#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sampled allocation sites (user/sites.c, bpf/sites.bpf.c) on a program that
# carries the OpenTelemetry memory USDT contract without memtide's hook
# (tests/targets/sdtalloc and its libsdtsite.so). Ground truths we did not
# write: readelf -n for the notes, addr2line on each stack's caller frame for
# the site, bpftool for what the maps hold and which probes are attached; the
# target's own counts of what it fired for the figures.
. "$(dirname "$0")/../lib.sh"

DUMP="$ROOT/${MEMTIDE_BUILD:-build}/tools/sitesdump"
# Names of their own (other memtide instances select by comm).
cp "$TARGETS/sdtalloc" "$WORK/sdtsites"
cp "$TARGETS/libsdtsite.so" "$WORK/"

# The contract, as readelf reads the notes.
notes() { readelf -n "$1" | awk '/Provider:/ { p = $2 } /Name:/ { n = $2 } /Arguments:/ { $1 = ""; print p, n, NF - 1 }' | sort -u | tr '\n' ';'; }
check "readelf: the executable's notes are otel_memory alloc (3 args) and free (1 arg)" \
	test "$(notes "$WORK/sdtsites")" = "otel_memory alloc 3;otel_memory free 1;"
check "readelf: the library's note is otel_memory alloc (3 args)" \
	test "$(notes "$WORK/libsdtsite.so")" = "otel_memory alloc 3;"

# start_dump NAME PID [ARGS]: sitesdump on PID, its output in $WORK/NAME.dump.
start_dump() {
	local name=$1 pid=$2
	shift 2
	"$DUMP" "$@" "$pid" 600 >"$WORK/$name.dump" 2>&1 &
	eval "${name}_DUMP=$!"
	PIDS+=("$!")
	wait_until 30 grep -q '^attach' "$WORK/$name.dump"
}
# dump NAME: asks for a dump, waits for it; the last dump in $WORK/NAME.last.
dump() {
	local pid n
	eval "pid=\$${1}_DUMP"
	n=$(grep -c '^end' "$WORK/$1.dump")
	kill -USR1 "$pid"
	wait_until 30 sh -c "[ \$(grep -c '^end' '$WORK/$1.dump') -gt $n ]"
	awk '/^(stack|drops|read)/ { buf = buf $0 "\n" } /^end/ { last = buf; buf = "" } END { printf "%s", last }' \
		"$WORK/$1.dump" >"$WORK/$1.last"
}
map_id() { grep '^maps' "$WORK/$1.dump" | tr ' ' '\n' | awk -F= -v m="$2" '$1 == m { print $2 }'; }
# entries NAME MAP PID: entries of MAP whose key starts with PID (all with PID "").
entries() {
	bpftool map dump id "$(map_id "$1" "$2")" -j | python3 -c "
import json, sys
pid = '$3'
n = 0
for e in json.load(sys.stdin):
    k = bytes(int(b, 16) for b in e['key'])
    if not pid or int.from_bytes(k[:4], 'little') == int(pid):
        n += 1
print(n)"
}
# site_of IP PID: the function around IP - 1 (a return address), by addr2line
# on the file mapped there, at its file offset turned into an ELF address
# through the LOAD segment that holds it (readelf).
site_of() {
	python3 - "$1" "$2" <<'PY'
import subprocess, sys
ip, pid = int(sys.argv[1], 16) - 1, sys.argv[2]
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    start, end = (int(x, 16) for x in f[0].split("-"))
    if start <= ip < end and len(f) >= 6:
        path, off = f[5], ip - start + int(f[2], 16)
        break
else:
    sys.exit(1)
for l in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
    w = l.split()
    if w and w[0] == "LOAD":
        fo, va, fs = int(w[1], 16), int(w[2], 16), int(w[4], 16)
        if fo <= off < fo + fs:
            a = subprocess.run(["addr2line", "-f", "-e", path, hex(off - fo + va)],
                               capture_output=True, text=True).stdout.split()
            print(a[0])
            break
PY
}
# figures NAME PID: "site alloc_objects alloc_space inuse_objects inuse_space"
# per stack of the last dump, the site being frame 1 (frame 0 is the probe).
figures() {
	local line ips ip1
	while read -r line; do
		ips=${line##*ips=}
		ip1=$(cut -d, -f2 <<<"$ips")
		echo "$(site_of "$ip1" "$2") $(tr ' ' '\n' <<<"$line" | awk -F= '/^(alloc|inuse)_/ { printf "%s ", $2 }')"
	done < <(grep '^stack' "$WORK/$1.last") | sort
}
expect() {
	hd S "expect $1" || return 1
	echo "$1 $(field alloc_objects) $(field alloc_space) $(field inuse_objects) $(field inuse_space) "
}

# 1. The figures, per site, exact.
spawn S "$WORK/sdtsites"
ready S
start_dump A "$S_PID"
check "attached: 3 probes (free and alloc in the executable, alloc in the library)" grep -q '^attached links=3$' "$WORK/A.dump"
check "bpftool: 3 uprobes of sitesdump on the target's files" \
	test "$(bpftool perf show | grep "pid $A_DUMP " | grep -c "uprobe  filename /proc/$S_PID/root$WORK/")" = 3
check "the target sees its semaphores set" hd S wait
# The programs' cost per event, by the kernel's own BPF statistics (on
# only for the run, then as they were).
STATS_WAS=$(cat /proc/sys/kernel/bpf_stats_enabled)
echo 1 >/proc/sys/kernel/bpf_stats_enabled
hd S "run 1000"
for id in $(bpftool perf show | awk -v p="pid $A_DUMP" 'index($0, p) == 1 { for (i = 1; i <= NF; i++) if ($i == "prog_id") print $(i + 1) }' | sort -u); do
	bpftool prog show id "$id" -j | json '"%d %d %s" % (d.get("run_cnt", 0), d.get("run_time_ns", 0), d["name"])'
done >"$WORK/stats"
echo "$STATS_WAS" >/proc/sys/kernel/bpf_stats_enabled
awk '{ printf "# %s: %d events, %d ns, %.0f ns per event\n", $3, $1, $2, $1 ? $2 / $1 : 0 }' "$WORK/stats"
check "bpf_stats: the alloc program ran once per sampled allocation (1375)" \
	grep -q '^1375 [0-9]* sites_alloc$' "$WORK/stats"
check "bpf_stats: the free program once per sampled free (1125)" \
	grep -q '^1125 [0-9]* sites_free$' "$WORK/stats"
check "bpf_stats_enabled restored" test "$(cat /proc/sys/kernel/bpf_stats_enabled)" = "$STATS_WAS"
want=$( (expect lib_site; expect site_big; expect site_small) | sort)
dump A
got=$(figures A "$S_PID")
echo "$got" | sed 's/^/# got:  /'
echo "$want" | sed 's/^/# want: /'
check "three stacks, one per site, by addr2line" \
	test "$(awk '{ print $1 }' <<<"$got" | tr '\n' ' ')" = "lib_site site_big site_small "
check "per site alloc_objects, alloc_space, inuse_objects, inuse_space exact" test "$got" = "$want"
check "the leaking site's inuse is its leaked total (250 samples of 8000 B)" \
	grep -q "^lib_site 250 2000000 250 2000000 $" <<<"$got"
check "freed sites: inuse 0" test "$(grep -c '^site_.* 0 0 $' <<<"$got")" = 2
check "frees remove sampled blocks: the live map holds only the leak's 250" \
	test "$(entries A sites_live "$S_PID")" = 250
check "no drops" grep -q '^drops live_global=0 live_process=0 stack_lost=0 site_full=0$' "$WORK/A.last"

# 2. Detach: nothing of the pid left anywhere, no probe left.
kill -USR2 "$A_DUMP"
wait_until 30 grep -q '^detached' "$WORK/A.dump"
check "detach: links dropped" grep -q '^detached links=0$' "$WORK/A.dump"
for m in sites_live sites_figures sites_procs; do
	check "detach: no entry of the pid in $m" test "$(entries A $m "$S_PID")" = 0
done
check "detach: the stacks map is empty (no other process used them)" test "$(entries A sites_stacks "")" = 0
check "detach: bpftool shows no uprobe of sitesdump" sh -c "! bpftool perf show | grep -q 'pid $A_DUMP '"
kill "$A_DUMP"
hd S exit

# 3. A process without the notes: -ENOENT and nothing attached.
spawn H "$TARGETS/heapdriver"
ready H
start_dump B "$H_PID"
check "no notes: attach says -ENOENT, no links" grep -q '^attach error=-2 links=0$' "$WORK/B.dump"
check "no notes: bpftool shows no uprobe of sitesdump" sh -c "! bpftool perf show | grep -q 'pid $B_DUMP '"
check "no notes: no counters for it" test "$(entries B sites_procs "$H_PID")" = 0
kill "$B_DUMP"
hd H exit

# 4. The per-process cap: alloc figures still exact, drops counted, the live
# map never beyond the cap. site_small holds its 1000 samples at once (950
# over a cap of 50), then frees them; lib_site then keeps 50 of its 250.
spawn C "$WORK/sdtsites"
ready C
start_dump D "$C_PID" -c 50
hd C wait
hd C "run 1000"
want=$(for s in lib_site site_big site_small; do
	hd C "expect $s" && echo "$s $(field alloc_objects) $(field alloc_space) "
done)
dump D
got=$(figures D "$C_PID" | awk '{ print $1, $2, $3, "" }')
check "cap 50: alloc figures exact all the same" test "$got" = "$want"
check "cap 50: drops counted (950 + 200)" grep -q '^drops live_global=0 live_process=1150 ' "$WORK/D.last"
check "cap 50: the live map holds 50 of the pid" test "$(entries D sites_live "$C_PID")" = 50
check "cap 50: the leak's inuse is what was kept (50 samples)" \
	test "$(figures D "$C_PID" | awk '$1 == "lib_site" { print $4, $5 }')" = "50 400000"

# 5. Exit: the agent detaches a gone process; nothing of it is left.
hd C exit
wait_until 10 sh -c "! kill -0 $C_PID 2>/dev/null"
kill -USR2 "$D_DUMP"
wait_until 30 grep -q '^detached' "$WORK/D.dump"
for m in sites_live sites_figures sites_procs; do
	check "after exit and detach: no entry of the pid in $m" test "$(entries D $m "$C_PID")" = 0
done
check "after exit and detach: the stacks map is empty" test "$(entries D sites_stacks "")" = 0
kill "$D_DUMP"
finish
