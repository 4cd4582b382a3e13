#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make install / uninstall into a DESTDIR tree: every file in place, the unit
# passes systemd-analyze verify (and its hardening the offline security
# review), a modified /etc/memtide/memtide.yaml survives a second install and
# the uninstall, everything else goes.
. "$(dirname "$0")/../lib.sh"

D=$WORK/root
mk() { make -s -C "$ROOT" --no-print-directory "$@" >>"$WORK/make.log" 2>&1; }
# systemd-analyze with --root resolves every command the unit names inside
# the tree: give it the base system's /bin/kill (ExecReload), which a host has.
verify() {
	mkdir -p "$1/bin" && cp /bin/kill "$1/bin/kill"
	(cd "$WORK" && systemd-analyze verify --recursive-errors=no --man=no --root="$1" memtide.service) \
		>"$WORK/verify.out" 2>&1
	local rc=$?
	sed 's/^/# verify: /' "$WORK/verify.out"
	return $rc
}
fails() { ! "$@"; }

check "make install DESTDIR=... PREFIX=/usr" mk install DESTDIR="$D" PREFIX=/usr
check "the agent in /usr/sbin, executable" test -x "$D/usr/sbin/memtide"
check "the installed agent runs (--version)" sh -c "'$D/usr/sbin/memtide' --version >/dev/null"
check "the hook library in /usr/lib/memtide" test -f "$D/usr/lib/memtide/libmemtide_hook.so"
check "the default configuration in /etc/memtide" cmp -s "$ROOT/config/memtide.yaml" "$D/etc/memtide/memtide.yaml"
UNIT=$D/usr/lib/systemd/system/memtide.service
check "the unit in /usr/lib/systemd/system" test -f "$UNIT"
check "its ExecStart names the installed agent" grep -qx 'ExecStart=/usr/sbin/memtide --config /etc/memtide/memtide.yaml' "$UNIT"
check "the installed configuration is valid" sh -c "'$D/usr/sbin/memtide' --check-config '$D/etc/memtide/memtide.yaml' >/dev/null"
check "systemd-analyze verify passes on the installed unit" verify "$D"
# The offline security review scores exposure 0 (locked down) to 10; Debian's
# prometheus-node-exporter unit scores 9.2 "UNSAFE", this one 4.3 "OK".
(cd "$WORK" && systemd-analyze security --offline=yes --root="$D" memtide.service) 2>&1 | tail -1 | sed 's/^/# /'
check "systemd-analyze security: exposure at most 4.5" sh -c "cd '$WORK' && systemd-analyze security --offline=yes --threshold=45 --root='$D' memtide.service >/dev/null 2>&1"
for key in 'CapabilityBoundingSet=CAP_BPF ' 'AmbientCapabilities=CAP_BPF ' 'ProtectSystem=strict' \
	'ProtectHome=yes' 'NoNewPrivileges=yes' 'Restart=on-failure' 'ExecReload=/bin/kill -HUP $MAINPID'; do
	check "the unit sets $key" grep -q "^$key" "$UNIT"
done

# The unit's capabilities are the DaemonSet's measured list, no more, no less.
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr ' ' '\n' | sort | tr '\n' ' ')
ds_caps=$(awk '/add:/ { on = 1; next } on && /^ *- [A-Z_]+/ { print "CAP_" $2; next } on { on = 0 }' \
	"$ROOT/deploy/kubernetes/base/daemonset.yaml" | sort | tr '\n' ' ')
check "the unit's capabilities are the DaemonSet's ($ds_caps)" test -n "$ds_caps" -a "$unit_caps" = "$ds_caps"
check "ambient capabilities are the bounding set" test "$(sed -n 's/^AmbientCapabilities=//p' "$UNIT" | tr ' ' '\n' | sort | tr '\n' ' ')" = "$unit_caps"

# The same verification catches a broken unit: a misspelt key, a wrong path.
cp -a "$D" "$WORK/broken"
sed -i 's/^ProtectHome=/ProtectHom=/' "$WORK/broken/usr/lib/systemd/system/memtide.service"
check "verify rejects a misspelt key" fails verify "$WORK/broken"
rm -f "$WORK/broken/usr/sbin/memtide"
sed -i 's/^ProtectHom=/ProtectHome=/' "$WORK/broken/usr/lib/systemd/system/memtide.service"
check "verify rejects a unit whose agent is missing" fails verify "$WORK/broken"

# A configuration the administrator changed is never overwritten.
echo "# changed by the administrator" >>"$D/etc/memtide/memtide.yaml"
cp "$D/etc/memtide/memtide.yaml" "$WORK/changed.yaml"
check "a second make install succeeds" mk install DESTDIR="$D" PREFIX=/usr
check "and keeps the modified memtide.yaml" cmp -s "$WORK/changed.yaml" "$D/etc/memtide/memtide.yaml"

check "make uninstall DESTDIR=... PREFIX=/usr" mk uninstall DESTDIR="$D" PREFIX=/usr
check "the agent, hook, unit and doc are gone" sh -c "! find '$D' -type f | grep -v '^$D/etc/memtide/memtide.yaml$' | grep -v '^$D/bin/kill$' | grep ."
check "the modified configuration stays" cmp -s "$WORK/changed.yaml" "$D/etc/memtide/memtide.yaml"

# Default PREFIX (/usr/local), then uninstall: an unmodified configuration goes too.
D2=$WORK/root2
check "make install DESTDIR=... (PREFIX /usr/local)" mk install DESTDIR="$D2"
check "the unit in /usr/local/lib/systemd/system names /usr/local/sbin/memtide" \
	grep -qx 'ExecStart=/usr/local/sbin/memtide --config /etc/memtide/memtide.yaml' \
	"$D2/usr/local/lib/systemd/system/memtide.service"
check "systemd-analyze verify passes there too" verify "$D2"
check "make uninstall (PREFIX /usr/local)" mk uninstall DESTDIR="$D2"
check "nothing left but the base system's kill" test "$(find "$D2" -type f)" = "$D2/bin/kill"
finish
