#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# User space symbolization (user/symbolize.c) through the symdump driver, on
# symtarget (a PIE with a shared library, both -g) running: names, offsets and
# file:line as binutils (nm, addr2line) give them, mapping paths and build ids;
# a stripped copy of the library still names its exported function from
# .dynsym; a target in a private mount namespace, at a path that does not
# exist on the host; a deleted binary (map_files); and a symbolic link to a
# decoy planted at the binary's path after it started, which must not change
# the answer.
# Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE (no map_files) the lookup
# goes through /proc/PID/root and still checks dev:inode.
. "$(dirname "$0")/../lib.sh"

SYMDUMP="$ROOT/${MEMTIDE_BUILD:-build}/tools/symdump"
NOCAPS=(setpriv --bounding-set=-sys_admin,-checkpoint_restore
	--inh-caps=-sys_admin,-checkpoint_restore)

# start_sym COMMAND...: starts a symtarget (the command execs it), waits for
# "ready"; sets SPID and SOUT (its "NAME 0xADDR" lines).
start_sym() {
	SOUT=$(mktemp "$WORK/sym.XXXXXX")
	"$@" >"$SOUT" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	wait_until 10 grep -q '^ready' "$SOUT"
}
addr_of() { awk -v n="$1" '$1 == n { print $2 }' "$SOUT"; }

# covering V: of nm -S lines on stdin, "name<TAB>hex offset" of the function covering V.
covering() {
	local a s t n
	while read -r a s t n; do
		case $t in [tTwW]) ;; *) continue ;; esac
		if ((0x$a <= $1 && $1 < 0x$a + 0x$s)); then
			printf '%s\t%x\n' "$n" $(($1 - 0x$a))
			return
		fi
	done
}
# truth PID ADDR ELF MAPPATH: "func<TAB>offset<TAB>file<TAB>line" for ADDR by
# binutils on ELF (a copy of what is mapped at MAPPATH), the load base taken
# from the mapping of file offset 0; "-" for what binutils does not know.
truth() {
	local pid=$1 addr=$2 elf=$3 path=$4 start vaddr0 v func src nmsym
	start=$(awk -v p="$path" '{ s = $0; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", s) }
		s == p && $3 == "00000000" { print $1; exit }' "/proc/$pid/maps")
	start=${start%%-*}
	vaddr0=$(readelf -lW "$elf" | awk '$1 == "LOAD" { print $3; exit }')
	v=$((addr - 0x$start + vaddr0))
	{ read -r func; read -r src; } < <(addr2line -f -e "$elf" "$(printf '%#x' "$v")")
	# The function covering v in the symbol table binutils reads (.symtab, else .dynsym).
	nmsym=$(covering "$v" < <(nm -S --defined-only "$elf" 2>/dev/null | grep -q . &&
		nm -S --defined-only "$elf" || nm -DS --defined-only "$elf"))
	[ -n "$nmsym" ] || nmsym=$(printf -- '-\t0')
	[ "${nmsym%%$'\t'*}" = "$func" ] || [ "$func" = "??" ] || echo "# nm and addr2line disagree: $nmsym vs $func" >&2
	case $src in "??:0" | "??:?" | "") src="-:0" ;; esac
	printf '%s\t%s\t%s\n' "$nmsym" "${src%:*}" "${src##*:}"
}
# got PID ADDR [setpriv...]: sets GOT to symdump's "func offset file line" for
# ADDR, GOT_PATH and GOT_BUILD_ID to its mapping's path and build id.
got() {
	local pid=$1 addr=$2 line
	shift 2
	line=$("$@" "$SYMDUMP" "$pid" "$addr" 2>>"$WORK/symdump.err")
	GOT_PATH=$(cut -f3 <<<"$line")
	GOT_BUILD_ID=$(cut -f7 <<<"$line")
	GOT=$(cut -f9- <<<"$line")
}
# same NAME PID FUNC ELF MAPPATH [setpriv...]: symdump agrees with binutils
# on FUNC's address, and names MAPPATH as its mapping.
same() {
	local name=$1 pid=$2 fn=$3 elf=$4 path=$5 want have
	shift 5
	want=$(truth "$pid" "$(addr_of "$fn")" "$elf" "$path")
	got "$pid" "$(addr_of "$fn")" "$@"
	have=$GOT
	if [ "$have" = "$want" ] && [ "${want%%$'\t'*}" = "$fn" ] && [ "$GOT_PATH" = "$path" ]; then
		ok "$name: $(tr '\t' ' ' <<<"$have")"
	else
		not_ok "$name" "symdump '$have' path '$GOT_PATH', binutils '$want' path '$path'"
	fi
}
# unknown NAME PID FUNC MAPPATH [setpriv...]: the mapping is MAPPATH, the name unknown.
unknown() {
	local name=$1 pid=$2 fn=$3 path=$4 have
	shift 4
	got "$pid" "$(addr_of "$fn")" "$@"
	have=$GOT
	if [ "${have%%$'\t'*}" = "-" ] && [ "$GOT_PATH" = "$path" ]; then
		ok "$name"
	else
		not_ok "$name" "symdump '$have' path '$GOT_PATH' (want no name, path '$path')"
	fi
}
# need NAME COMMAND...: a precondition of the checks, reported only when it fails.
need() {
	local name=$1
	shift
	"$@" || not_ok "$name" "failed: $*"
}
build_id() { readelf -n "$1" | awk '/Build ID:/ { print $3 }'; }

EXE=$TARGETS/symtarget LIB=$TARGETS/libsymlib.so

# 1. In place: the executable's static function, the library's exported and static ones.
start_sym "$EXE" || not_ok "symtarget starts" "$(cat "$SOUT")"
P=$SPID
same "static function of the PIE" "$P" symtarget_static "$EXE" "$EXE"
check "build id of the PIE as readelf reads it" test "$GOT_BUILD_ID" = "$(build_id "$EXE")"
same "exported function of the library" "$P" symlib_exported "$LIB" "$LIB"
check "build id of the library" test "$GOT_BUILD_ID" = "$(build_id "$LIB")"
same "static function of the library" "$P" symlib_local "$LIB" "$LIB"
same "without map_files (via /proc/PID/root)" "$P" symlib_local "$LIB" "$LIB" "${NOCAPS[@]}"
have=$("$SYMDUMP" -r "$P" 0x1 "$(addr_of symlib_exported)" | cut -f2,9 | tr '\t\n' '  ')
check "an IP in no mapping is unknown; a return address is looked up at ip - 1 ($have)" \
	test "${have%% [0-9]* *}" = "-1 -" -a "${have#* * * }" = "symlib_exported "
off=$("$SYMDUMP" -r "$P" 0x1 "$(addr_of symlib_exported)" | awk 'NR == 2 { print $10 }')
check "a return address's offset is one byte back ($off)" test "$off" = 3

# 2. The library stripped of .symtab and DWARF: .dynsym names the exported function only.
mkdir "$WORK/stripped"
cp "$EXE" "$LIB" "$WORK/stripped/"
strip -s "$WORK/stripped/libsymlib.so"
need "the stripped copy has no .symtab but a .dynsym" sh -c \
	"! readelf -SW '$WORK/stripped/libsymlib.so' | grep -q ' .symtab ' &&
	 readelf -SW '$WORK/stripped/libsymlib.so' | grep -q ' .dynsym '"
start_sym "$WORK/stripped/symtarget" || not_ok "stripped symtarget starts" "$(cat "$SOUT")"
same "stripped library: exported name from .dynsym, no line" "$SPID" symlib_exported \
	"$WORK/stripped/libsymlib.so" "$WORK/stripped/libsymlib.so"
unknown "stripped library: the static function is not named after a neighbour" "$SPID" \
	symlib_local "$WORK/stripped/libsymlib.so"

# 3. A private mount namespace: the binary at a path only that namespace has.
mkdir "$WORK/ns"
HIDDEN=$WORK/ns/hidden
start_sym unshare -m --propagation private sh -c "mount -t tmpfs tmpfs '$WORK/ns' &&
	mkdir '$HIDDEN' && cp '$EXE' '$LIB' '$HIDDEN/' && exec '$HIDDEN/symtarget'" ||
	not_ok "symtarget starts in a mount namespace" "$(cat "$SOUT")"
need "the namespace's path does not exist on the host" test ! -e "$HIDDEN"
same "mount namespace: executable" "$SPID" symtarget_static "$EXE" "$HIDDEN/symtarget"
same "mount namespace: library" "$SPID" symlib_local "$LIB" "$HIDDEN/libsymlib.so"
same "mount namespace without map_files" "$SPID" symlib_exported "$LIB" \
	"$HIDDEN/libsymlib.so" "${NOCAPS[@]}"

# 4. Deleted after start: map_files still opens the very file; the path cannot.
mkdir "$WORK/del"
cp "$EXE" "$LIB" "$WORK/del/"
start_sym "$WORK/del/symtarget" || not_ok "symtarget starts" "$(cat "$SOUT")"
rm "$WORK/del/symtarget" "$WORK/del/libsymlib.so"
same "deleted executable" "$SPID" symtarget_static "$EXE" "$WORK/del/symtarget (deleted)"
same "deleted library" "$SPID" symlib_exported "$LIB" "$WORK/del/libsymlib.so (deleted)"
unknown "deleted library without map_files: unknown, not a crash" "$SPID" symlib_exported \
	"$WORK/del/libsymlib.so (deleted)" "${NOCAPS[@]}"

# 5. A symbolic link planted at the path after start, to a decoy: the same
# executable with its function renamed, so that reading it would answer "decoy".
mkdir "$WORK/plant"
cp "$EXE" "$LIB" "$WORK/plant/"
objcopy --redefine-sym symtarget_static=decoy "$EXE" "$WORK/decoy"
need "the decoy names the function decoy" sh -c "nm '$WORK/decoy' | grep -q ' decoy\$'"
start_sym "$WORK/plant/symtarget" || not_ok "symtarget starts" "$(cat "$SOUT")"
rm "$WORK/plant/symtarget"
ln -s "$WORK/decoy" "$WORK/plant/symtarget"
same "planted link: executable still resolves" "$SPID" symtarget_static "$EXE" \
	"$WORK/plant/symtarget (deleted)"
# Without map_files, through the path itself: a file of the name the maps line
# shows, not deleted, is the link to the decoy.
rm "$WORK/plant/symtarget"
ln -s "$WORK/decoy" "$WORK/plant/symtarget (deleted)"
unknown "planted link without map_files: dev:inode mismatch, unknown" "$SPID" symtarget_static \
	"$WORK/plant/symtarget (deleted)" "${NOCAPS[@]}"
need "without the capabilities, map_files is refused (the check above took the path)" \
	sh -c "! ${NOCAPS[*]} cat /proc/$SPID/map_files/$(awk '/symtarget/ { print $1; exit }' \
	"/proc/$SPID/maps") >/dev/null 2>&1"
check "symdump wrote no errors" test ! -s "$WORK/symdump.err"
finish
