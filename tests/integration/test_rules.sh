#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped alerting rules: valid for the real Debian promtool, and each rule
# fires and stays quiet when it should (deploy/prometheus/memtide-rules.test.yml),
# the spec's four on the processes and memtide's own on the agent.
. "$(dirname "$0")/../lib.sh"

check "promtool check rules accepts memtide-rules.yml" sh -c "promtool check rules '$ROOT/deploy/prometheus/memtide-rules.yml' >/dev/null"
check "the rules name the spec's four alerts" test "$(grep -c '^      - alert: Memory\(HighUsage\|CriticalUsage\|GCHighCPU\|LeakDetected\)$' "$ROOT/deploy/prometheus/memtide-rules.yml")" = 4
check "the rules alert on memtide itself: down, reload failed, pushes failing" test "$(grep -c '^      - alert: Memtide\(Down\|ConfigReloadFailed\|PushFailing\)$' "$ROOT/deploy/prometheus/memtide-rules.yml")" = 3
check "promtool test rules passes" sh -c "cd '$ROOT/deploy/prometheus' && promtool test rules memtide-rules.test.yml >'$WORK/out' 2>&1 || { cat '$WORK/out'; false; }"
finish
