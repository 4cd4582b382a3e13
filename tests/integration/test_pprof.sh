#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The pprof heap profile as `go tool pprof` (Debian's golang-go) reads it: the
# fixture of tests/tools/pprof_fixture.h, written by tests/tools/pprofgen with
# pprof__encode(), listed per sample type with the fixture's functions and
# values, its mappings and build ids shown raw, every string valid UTF-8.
. "$(dirname "$0")/../lib.sh"

PPROFGEN="$ROOT/${MEMTIDE_BUILD:-build}/tools/pprofgen"
PROFILE="$WORK/heap.pb.gz"
# go writes nowhere in the user's home and fetches nothing: pprof reads a file.
export HOME="$WORK/home" GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOTOOLCHAIN=local \
	GOPROXY=off GOTELEMETRY=off PPROF_TMPDIR="$WORK/pprof" PPROF_BINARY_PATH="$WORK/nobinaries"
mkdir -p "$HOME" "$PPROF_TMPDIR" "$PPROF_BINARY_PATH"

check "pprofgen writes the fixture profile" "$PPROFGEN" "$PROFILE"
command -v go >/dev/null || not_ok "go is installed" "golang-go is in the Makefile's DEPS_PKGS: make deps"

# pprof [ARGS...]: go tool pprof on the profile; its output in $OUT.
pprof() { OUT=$(go tool pprof "$@" "$PROFILE" 2>"$WORK/pprof.err") || OUT="failed: $(head -c 300 "$WORK/pprof.err")"; }
# flat_cum NAME: "FLAT CUM" of the -top row whose name is NAME exactly.
flat_cum() {
	awk -v name="$1" '$2 ~ /%$/ && $5 ~ /%$/ {
		n = $0; for (i = 1; i <= 5; i++) sub(/^ *[^ ]+/, "", n); sub(/^ +/, "", n)
		if (n == name) print $1, $4 }' <<<"$OUT"
}
# top_is NAME FLAT CUM: the -top row of NAME says FLAT and CUM.
top_is() {
	local got
	got=$(flat_cum "$1")
	if [ "$got" = "$2 $3" ]; then ok "$SI: $1 flat $2, cum $3"; else
		not_ok "$SI: $1 flat $2, cum $3" "got '${got}' in: $(tr '\n' '|' <<<"$OUT" | head -c 600)"; fi
}
has_line() { grep -qxF -- "$1" <<<"$OUT"; }

HOSTILE=$(printf 'evil\xef\xbf\xbd\xef\xbf\xbd_name\xef\xbf\xbd\xef\xbf\xbd')

SI=inuse_space
pprof -top -sample_index=$SI -unit=B
check "$SI: type and total" has_line "Showing nodes accounting for 3670016B, 100% of 3670016B total"
top_is parse_request 2097152B 3670016B
top_is lib_alloc 1572864B 1572864B
top_is handle_conn 0 3670016B
top_is main 0 3670016B
check "$SI: the freed site is not listed" test -n "$(flat_cum main)" -a -z "$(flat_cum "$HOSTILE")"

SI=alloc_space
pprof -top -sample_index=$SI -unit=B
top_is parse_request 5242880B 6815744B
top_is lib_alloc 1572864B 1572864B
top_is "$HOSTILE" 524288B 524288B
top_is "read_header (inline)" 0 524288B
top_is main 0 7340032B

SI=alloc_objects
pprof -top -sample_index=$SI
top_is parse_request 10 13
top_is lib_alloc 3 3
top_is "$HOSTILE" 1 1

SI=inuse_objects
pprof -top -sample_index=$SI
top_is parse_request 4 7
top_is lib_alloc 3 3

SI=default
pprof -top
check "inuse_space is the default sample type" has_line "Type: inuse_space"
check "the main mapping's file heads the report" has_line "File: memtide-fixture"
check "the main mapping's build id heads the report" \
	has_line "Build ID: deadbeef000102030405060708090a0b0c0d0eff"

pprof -raw
check "raw: period type space/bytes" has_line "PeriodType: space bytes"
check "raw: period 524288" has_line "Period: 524288"
check "raw: the four sample types, inuse_space the default" \
	has_line "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]"
check "raw: the executable's mapping and build id" \
	has_line "1: 0x400000/0x452000/0x0 /usr/bin/memtide-fixture deadbeef000102030405060708090a0b0c0d0eff [FN][FL][LN][IN]"
check "raw: the library's mapping and build id" \
	has_line "2: 0x7f0000001000/0x7f0000080000/0x1000 /usr/lib/libfixture.so 1032547698badcfe [FN]"
check "raw: the mangled name kept as the system name" \
	grep -qE '^ +[0-9]+: 0x7f0000002040 M=2 lib_alloc lib/alloc.c:100 s=0\(_Z9lib_allocm\)$' <<<"$OUT"
check "raw: the inlined frame before its caller" \
	grep -qzE '0x402040 M=1 read_header src/server.c:5 s=0
 +handle_conn src/server.c:20 s=0' <<<"$OUT"
check "raw: every string valid UTF-8" python3 -c 'import sys
s = sys.stdin.buffer.read().decode("utf-8", "strict")
assert "Mappings" in s and "evil" in s' <<<"$OUT"
finish
