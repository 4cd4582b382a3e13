#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The textfile in a directory another user can write to: links that user
# `nobody` plants at memtide.prom and at temporary names never make root write
# through them; a loose directory is refused at load (exit 2, file:line:column)
# and at every write; memtide.prom goes away on a clean shutdown.
. "$(dirname "$0")/../lib.sh"

NOBODY=65534
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"; }
# is_file PATH: a regular file, not a link to one.
is_file() { [ -f "$1" ] && [ ! -L "$1" ]; }
echo "# fs.protected_symlinks=$(cat /proc/sys/fs/protected_symlinks 2>/dev/null)" \
	"(1 would already keep root from following nobody's links in the sticky directory)"

# $WORK is 0700: nobody must reach the directories inside it, not the secret.
chmod 0755 "$WORK"
head -c 4096 /dev/urandom >"$WORK/secret"
chmod 0600 "$WORK/secret"
cp -p "$WORK/secret" "$WORK/secret.orig"
secret_intact() {
	cmp -s "$WORK/secret" "$WORK/secret.orig" && is_file "$WORK/secret" &&
		[ "$(stat -c '%a %u' "$WORK/secret")" = "600 0" ]
}
mkdir -m 01777 "$WORK/sticky"
mkdir -m 0777 "$WORK/loose"
mkdir -m 0755 "$WORK/owned"
chown $NOBODY:$NOBODY "$WORK/owned"

# --check-config: loose, foreign-owned and missing directories, with the value's position.
PORT=$(free_port)
write_config() { # $1: file, $2: textfile_dir
	cat >"$1" <<YAML
memory:
  monitor_interval: 1s
exporter:
  listen: "127.0.0.1:$PORT"
  textfile_dir: "$2"
targets:
  - match: { pid: $$ }
YAML
}
config_refused() { # NAME DIR TEXT
	write_config "$WORK/$1.yaml" "$2"
	"$MEMTIDE" --check-config --config "$WORK/$1.yaml" >/dev/null 2>"$WORK/$1.err"
	local rc=$?
	sed 's/^/# /' "$WORK/$1.err"
	check "--check-config with a $1 textfile_dir exits 2" test "$rc" = 2
	check "the error names file:line:column and the problem ($1)" \
		grep -qF "$WORK/$1.yaml:5:17: textfile_dir $2 $3" "$WORK/$1.err"
	timeout 10 "$MEMTIDE" --config "$WORK/$1.yaml" >/dev/null 2>&1
	check "starting with a $1 textfile_dir exits 2" test $? = 2
}
config_refused loose "$WORK/loose" \
	"is writable by group or others without the sticky bit (mode 0777): refusing to write there"
config_refused foreign "$WORK/owned" "is owned by uid $NOBODY, neither root nor memtide's uid 0"
config_refused missing "$WORK/none" "does not exist"
write_config "$WORK/sticky.yaml" "$WORK/sticky"
check "--check-config accepts a sticky (01777) textfile_dir" \
	"$MEMTIDE" --check-config --config "$WORK/sticky.yaml"

# nobody plants links to the root-only secret at memtide.prom and at the old
# predictable temporary name .memtide.prom.<pid>.tmp, for the next few thousand
# pids (the agent's is among them), and under the new prefix.
plant() { # DIR
	as_nobody /usr/bin/python3 - "$1" "$WORK/secret" <<'PY'
import os, sys
d, secret = sys.argv[1], sys.argv[2]
last = int(open("/proc/sys/kernel/ns_last_pid").read())
pid_max = int(open("/proc/sys/kernel/pid_max").read())
names = ["memtide.prom", ".memtide.prom.tmp"]
names += [".memtide.prom.%d.tmp" % ((last + i) % pid_max) for i in range(1, 5001)]
names += [".memtide.prom.%016x.tmp" % (i * 0x9e3779b97f4a7c15 % 2**64) for i in range(1000)]
for n in names:
    try:
        os.symlink(secret, os.path.join(d, n))
    except FileExistsError:
        pass
print(last, pid_max)
PY
}
read -r PLANT_LAST PID_MAX < <(plant "$WORK/sticky")
check "nobody planted a link at memtide.prom" test -L "$WORK/sticky/memtide.prom"

start_memtide "$WORK/sticky.yaml" || { not_ok "memtide starts" "see log"; finish; }
# (Checked by number: the old code would have consumed that link, renaming it to memtide.prom.)
check "nobody had planted a link at the agent's old temporary name .memtide.prom.$MT_PID.tmp" \
	test $(((MT_PID - PLANT_LAST + PID_MAX) % PID_MAX)) -ge 1 -a \
	$(((MT_PID - PLANT_LAST + PID_MAX) % PID_MAX)) -le 5000
check "memtide.prom becomes a regular file in the sticky directory" \
	wait_until 15 is_file "$WORK/sticky/memtide.prom"
check "memtide.prom holds the agent's metrics" \
	grep -q '^memtide_snapshot_timestamp_seconds ' "$WORK/sticky/memtide.prom"
check "memtide.prom is 0644 root" test "$(stat -c '%a %u' "$WORK/sticky/memtide.prom")" = "644 0"
sleep 2.5
check "the root-only secret is byte-for-byte unchanged" secret_intact
check "no temporary file left (only nobody's links besides memtide.prom)" \
	test -z "$(find "$WORK/sticky" -mindepth 1 ! -type l ! -name memtide.prom)"

# Someone makes the directory loose while the agent runs; nobody swaps memtide.prom
# for a link. Every write is refused, logged once, and nothing is written through.
chmod 0777 "$WORK/sticky"
as_nobody sh -c "rm -f '$WORK/sticky/memtide.prom' && ln -s '$WORK/secret' '$WORK/sticky/memtide.prom'"
refusal="textfile_dir $WORK/sticky is writable by group or others without the sticky bit (mode 0777): refusing to write there"
check "the loose directory is refused at the next write" wait_until 10 grep -qF "$refusal" "$MT_LOG"
sleep 3.5
check "the refusal is logged once, not every interval" test "$(grep -cF "$refusal" "$MT_LOG")" = 1
check "nobody's link at memtide.prom is left as it is" test -L "$WORK/sticky/memtide.prom"
check "the root-only secret is still unchanged" secret_intact
chmod 01777 "$WORK/sticky"
check "writing resumes when the sticky bit is back" wait_until 10 is_file "$WORK/sticky/memtide.prom"
check "the recovery is logged" grep -qF "textfile $WORK/sticky/memtide.prom written again" "$MT_LOG"
check "the root-only secret is unchanged after the recovery" secret_intact

# A clean shutdown removes memtide.prom: node_exporter must not serve stale figures.
if declare -F stop_memtide >/dev/null; then
	stop_memtide
else
	kill -TERM "$MT_PID"
	wait "$MT_PID" 2>/dev/null
	MT_PID=""
fi
check "memtide.prom is gone after SIGTERM" \
	sh -c "[ ! -e '$WORK/sticky/memtide.prom' ] && [ ! -L '$WORK/sticky/memtide.prom' ]"
check "the removal is logged" grep -qF "removed $WORK/sticky/memtide.prom" "$MT_LOG"
check "the root-only secret is unchanged at the end" secret_intact
finish
