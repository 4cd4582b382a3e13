#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every manifest under deploy/kubernetes, rendered (tests/deploy/kube.py; by
# `kubectl kustomize` too where kubectl is installed, and the two must agree),
# validates offline against the Kubernetes API's schemas (the npm packages
# kubernetes-models and @kubernetes-models/prometheus-operator, installed once
# into build/npm), and passes the policy checks the schemas miss (kube.py policy).
. "$(dirname "$0")/../lib.sh"

# Debian's python3 with python3-yaml (make deps-image), whatever python3 PATH finds first.
PY=/usr/bin/python3
KUBE="$PY $ROOT/tests/deploy/kube.py"
DIR=$ROOT/deploy/kubernetes
# 4.x: the last that runs on Debian 12's Node.js 18 (5.x wants 22).
MODELS="kubernetes-models@4.5.1 @kubernetes-models/prometheus-operator@4.4.4"
NPM=$ROOT/build/npm/kubernetes-models-4.5.1
export NODE_PATH=$NPM/node_modules

if [ ! -d "$NPM/node_modules/@kubernetes-models/prometheus-operator" ]; then
	mkdir -p "$NPM"
	npm install --prefix "$NPM" --no-audit --no-fund --no-save --loglevel=error \
		$MODELS >"$WORK/npm.log" 2>&1 ||
		{ not_ok "npm install of the schema packages" "$(tail -3 "$WORK/npm.log")"; exit 1; }
fi
# ES modules resolve packages from the script's directory upwards, not NODE_PATH.
cp "$ROOT/tests/deploy/validate.mjs" "$NPM/validate.mjs"
validate() { node "$NPM/validate.mjs"; }

for d in "$DIR" "$DIR/overlays/privileged"; do
	name=${d#"$ROOT/"}
	$KUBE json "$d" >"$WORK/objs.json"
	check "$name renders" test -s "$WORK/objs.json"
	validate <"$WORK/objs.json" >"$WORK/valid.out"
	check "$name: every object valid against the API schemas ($(grep -c '^valid' "$WORK/valid.out"))" \
		sh -c "! grep '^invalid' '$WORK/valid.out'"
	if command -v kubectl >/dev/null; then
		kubectl kustomize "$d" >"$WORK/kubectl.yaml" 2>"$WORK/kubectl.err"
		check "$name: kubectl kustomize renders the same objects" $PY -c '
import json, re, sys, yaml
norm = lambda s: re.sub(r"memtide-config-[0-9a-z]+", "memtide-config-H", json.dumps(s, sort_keys=True))
a = sorted(norm(o) for o in yaml.safe_load_all(open(sys.argv[1])) if o)
b = sorted(norm(o) for o in json.load(open(sys.argv[2])))
sys.exit(a != b)' "$WORK/kubectl.yaml" "$WORK/objs.json"
	fi
done
$KUBE json "$DIR/examples/hooked-workload.yaml" | validate >"$WORK/valid.out"
check "examples/hooked-workload.yaml valid against the API schemas" grep -q '^valid Deployment/hooked-workload' "$WORK/valid.out"

# The validator rejects what the API would: a capability list given as a string.
$KUBE json "$DIR" | $PY -c '
import json, sys
objs = json.load(sys.stdin)
for o in objs:
    if o["kind"] == "DaemonSet":
        o["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] = "BPF"
json.dump(objs, sys.stdout)' | validate >"$WORK/bad.out"
check "a malformed DaemonSet is rejected by the schemas" grep -q '^invalid DaemonSet/memtide: .*capabilities/add must be array' "$WORK/bad.out"

# --- policy: the default passes every check ---
$KUBE policy "$DIR" "$ROOT/config/production.yaml" >"$WORK/policy.out"
cat "$WORK/policy.out"
grep -q '^not ok' "$WORK/policy.out" && FAILED=1
check "the policy checks ran" test "$(grep -c '^ok' "$WORK/policy.out")" -ge 30
# the privileged overlay fails exactly where it means to, and is the default otherwise
$KUBE policy "$DIR/overlays/privileged" "$ROOT/config/production.yaml" | grep '^not ok' | cut -d: -f1 >"$WORK/priv.out"
check "the privileged overlay: the agent privileged, all else the default's" \
	test "$(tr '\n' '|' <"$WORK/priv.out")" = "not ok - memtide|not ok - memtide|not ok - memtide|"
check "the privileged overlay's agent is privileged" $PY -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
def strip(objs):
    for o in objs:
        for c in o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            c.pop("securityContext", None)
    return objs
ds = [o for o in b if o["kind"] == "DaemonSet"][0]
sys.exit(not (ds["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] is True
              and strip(a) == strip(b)))' <(cd "$WORK" && $KUBE json "$DIR") <(cd "$WORK" && $KUBE json "$DIR/overlays/privileged")

# --- the shipped configuration is one the agent takes (the token from a file here) ---
$KUBE json "$DIR" | $PY -c '
import json, sys
cm = [o for o in json.load(sys.stdin) if o["kind"] == "ConfigMap"][0]
print(cm["data"]["memtide.yaml"].replace("/etc/memtide-token/token", sys.argv[1]), end="")' "$WORK/token" >"$WORK/memtide.yaml"
echo secret >"$WORK/token"
check "the ConfigMap's memtide.yaml passes memtide --check-config" sh -c "'$MEMTIDE' --check-config '$WORK/memtide.yaml' >/dev/null"
exit $FAILED
