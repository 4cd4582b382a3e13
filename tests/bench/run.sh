#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: every benchmark, each printing ratios measured within one run.
# Each takes its arguments from an environment variable; a quick run:
#   make bench IDLE_ARGS="10 100,1000 5" DISC_ARGS=20 GC_ARGS=6
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
echo
echo "## agent cost, idle and scraped, against prometheus-process-exporter (tests/bench/idle.py ${IDLE_ARGS:-})"
python3 tests/bench/idle.py ${IDLE_ARGS:-}
echo
echo "## discovery latency (tests/bench/discovery.py ${DISC_ARGS:-})"
python3 tests/bench/discovery.py ${DISC_ARGS:-}
echo
echo "## POST gc latency against the process trimming itself (tests/bench/gclat.py ${GC_ARGS:-})"
python3 tests/bench/gclat.py ${GC_ARGS:-}
