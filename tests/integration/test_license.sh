#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Licensing as decided: user space and the preloaded hook Apache-2.0 (LICENSE
# at the root), BPF programs GPL-2.0-only OR BSD-2-Clause with the license
# section the kernel reads as GPL-compatible; an SPDX line in every file.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1

check "LICENSE is the Apache License 2.0" grep -q '^ *Apache License$' LICENSE
check "LICENSE is the Apache License 2.0 (version)" grep -q '^ *Version 2.0, January 2004$' LICENSE
check "LICENSES/ holds the BPF programs' two licenses" test -s LICENSES/GPL-2.0 -a -s LICENSES/BSD-2-Clause

# spdx FILE: the identifier in the first three lines.
spdx() { head -n 3 "$1" | sed -n 's/.*SPDX-License-Identifier: \(.*[^ */]\)[ */]*$/\1/p'; }
missing=() wrong=()
while IFS= read -r f; do
	case $f in
	bpf/*) want="GPL-2.0-only OR BSD-2-Clause" ;;
	*) want="Apache-2.0" ;;
	esac
	got=$(spdx "$f")
	if [ -z "$got" ]; then missing+=("$f"); elif [ "$got" != "$want" ]; then wrong+=("$f: $got"); fi
done < <(git ls-files -- '*.c' '*.h' '*.proto' '*.sh' '*.yaml' '*.yml' Makefile .ci/run ':!vmlinux/*' ':!tests/fixtures/*' ':!tests/fuzz/corpus/*')
check "every source file has an SPDX line (${missing[*]:-})" test ${#missing[@]} = 0
check "every SPDX line names the decided license (${wrong[*]:-})" test ${#wrong[@]} = 0
check "the hook library is Apache-2.0" sh -c "for f in user/hook/*; do head -1 \"\$f\" | grep -q 'SPDX-License-Identifier: Apache-2.0' || exit 1; done"

for o in "$ROOT"/build/*.bpf.o; do
	check "$(basename "$o"): license section \"Dual BSD/GPL\"" sh -c "llvm-readelf -p license '$o' | grep -q 'Dual BSD/GPL\$'"
done
finish
