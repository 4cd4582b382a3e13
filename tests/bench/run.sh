#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: every benchmark, each printing ratios measured within one run.
set -eu
cd "$(dirname "$0")/../.."
echo "## kernel tier: page faults (build/bench/pagefault ${PF_ARGS:-})"
build/bench/pagefault ${PF_ARGS:-}
echo
echo "## uprobe tier: malloc/free (build/bench/heap ${HEAP_ARGS:-})"
build/bench/heap ${HEAP_ARGS:-}
echo
echo "## hook tier: the hook's counting and sampling (build/bench/hookcost ${HOOK_ARGS:-})"
build/bench/hookcost ${HOOK_ARGS:-}
