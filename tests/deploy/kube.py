#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The deployment tests' view of deploy/kubernetes, without a cluster.

  kube.py render DIR           the kustomization in DIR rendered, as YAML documents
  kube.py json DIR|FILE...    every object there, rendered, as one JSON array
  kube.py policy DIR PROD        what the schemas cannot say: "ok - ..." or "not ok - ..."
                               lines (tests/lib.sh's), for the DaemonSet in DIR
  kube.py podman DIR|FILE CONTAINER IMAGE [HOST=LOCAL ...]
                               podman run arguments (one a line) for CONTAINER of
                               the first pod template there: the same capabilities,
                               security options, hostPID, mounts, environment and
                               arguments; HOST=LOCAL puts a hostPath elsewhere

Debian 12 has no kustomize, so render() does the subset deploy/kubernetes uses:
resources (files and directories), namespace, images, configMapGenerator (with a
content hash in the name, references rewritten) and JSON 6902 patches. When
kubectl is there, tests/deploy/test_manifests.sh compares the two.
"""
import copy
import hashlib
import json
import os
import sys

import yaml

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}


def pod_specs(obj):
    """The pod specs an object holds (workloads and bare pods)."""
    if obj.get("kind") == "Pod":
        return [obj["spec"]]
    spec = obj.get("spec") or {}
    if "template" in spec:
        return [spec["template"]["spec"]]
    if "jobTemplate" in spec:
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def containers(pod):
    return pod.get("initContainers", []) + pod.get("containers", [])


def json_patch(doc, ops):
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if isinstance(parent, list):
            idx = len(parent) if last == "-" else int(last)
            if op["op"] == "add":
                parent.insert(idx, op["value"])
            elif op["op"] == "replace":
                parent[idx] = op["value"]
            elif op["op"] == "remove":
                del parent[idx]
            else:
                raise ValueError("unsupported patch op " + op["op"])
        elif op["op"] in ("add", "replace"):
            if op["op"] == "replace" and last not in parent:
                raise KeyError(op["path"])
            parent[last] = op["value"]
        elif op["op"] == "remove":
            del parent[last]
        else:
            raise ValueError("unsupported patch op " + op["op"])


def render(root):
    with open(os.path.join(root, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    known = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator", "images",
             "patches"}
    if set(k) - known:
        raise ValueError("%s: kustomization keys this renderer lacks: %s" % (root, set(k) - known))
    objs = []
    for r in k.get("resources", []):
        path = os.path.join(root, r)
        if os.path.isdir(path):
            objs += render(path)
        else:
            with open(path) as f:
                objs += [d for d in yaml.safe_load_all(f) if d]
    renames = {}
    for g in k.get("configMapGenerator", []):
        data = {}
        for spec in g.get("files", []):
            key, _, name = spec.rpartition("=")
            with open(os.path.join(root, name)) as f:
                data[key or os.path.basename(name)] = f.read()
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
        renames[g["name"]] = "%s-%s" % (g["name"], digest)
        objs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": renames[g["name"]]}, "data": data})
    for obj in objs:
        if k.get("namespace") and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = k["namespace"]
        if obj["kind"] == "Namespace" and k.get("namespace"):
            obj["metadata"]["name"] = k["namespace"]
        for pod in pod_specs(obj):
            for v in pod.get("volumes", []):
                if "configMap" in v and v["configMap"]["name"] in renames:
                    v["configMap"]["name"] = renames[v["configMap"]["name"]]
            for c in containers(pod):
                for img in k.get("images", []):
                    if c["image"].split(":")[0] == img["name"]:
                        c["image"] = "%s:%s" % (img.get("newName", img["name"]),
                                                img.get("newTag", "latest"))
    for p in k.get("patches", []):
        t = p["target"]
        hits = [o for o in objs if o["kind"] == t["kind"] and o["metadata"]["name"] == t["name"]]
        if not hits:
            raise ValueError("patch target %s/%s not found" % (t["kind"], t["name"]))
        for o in hits:
            json_patch(o, yaml.safe_load(p["patch"]))
    return objs


def load(path):
    """A kustomization directory rendered, or a file's documents."""
    if os.path.isdir(path):
        return render(path)
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def podman_args(path, name, image, remap):
    objs = load(path)
    pod = [p for o in objs for p in pod_specs(o)][0]
    c = [c for c in containers(pod) if c["name"] == name][0]
    by_name = {o["metadata"]["name"]: o for o in objs}
    args = ["--pull=never"] + (["--pid=host"] if pod.get("hostPID") else [])
    # Own network namespace unless hostNetwork; the test reaches it with nsenter.
    args.append("--network=host" if pod.get("hostNetwork") else "--network=none")
    sc = dict(pod.get("securityContext", {}))
    sc.update(c.get("securityContext", {}))
    if sc.get("privileged"):
        args.append("--privileged")
    caps = sc.get("capabilities", {})
    args += ["--cap-drop=" + x for x in caps.get("drop", [])]
    args += ["--cap-add=" + x for x in caps.get("add", [])]
    seccomp = sc.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args.append("--security-opt=seccomp=unconfined")
    elif seccomp != "RuntimeDefault":
        raise ValueError("seccomp profile " + seccomp)
    if sc.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    if sc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    if "runAsUser" in sc:
        args.append("--user=%d:%d" % (sc["runAsUser"], sc.get("runAsGroup", 0)))
    limit = c.get("resources", {}).get("limits", {}).get("memory")
    if limit:
        args.append("--memory=" + limit.replace("Mi", "m").replace("Gi", "g"))
    for e in c.get("env", []):
        if "value" in e:
            args.append("--env=%s=%s" % (e["name"], e["value"]))
        elif e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName":
            args.append("--env=%s=%s" % (e["name"], remap.get("spec.nodeName", "node")))
        else:
            raise ValueError("env " + e["name"])
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = vols[m["name"]]
        ro = ":ro" if m.get("readOnly") else ""
        if "hostPath" in v:
            host = remap.get(v["hostPath"]["path"], v["hostPath"]["path"])
            if v["hostPath"].get("type") == "DirectoryOrCreate":
                os.makedirs(host, exist_ok=True)
        elif "configMap" in v or "secret" in v:
            # the test writes the volume's content: HOST=LOCAL names where
            ref = v["configMap"]["name"] if "configMap" in v else v["secret"]["secretName"]
            host = remap[ref]
            if "configMap" in v:
                for key, text in by_name[ref]["data"].items():
                    with open(os.path.join(host, key), "w") as f:
                        f.write(text)
        else:
            raise ValueError("volume " + m["name"])
        args.append("--volume=%s:%s%s" % (host, m["mountPath"], ro))
    if c.get("command"):
        args.append("--entrypoint=" + json.dumps(c["command"]))
    args.append(image)
    args += c.get("args", [])
    return args


# Capabilities an agent may add: those tests/deploy/test_pod.sh shows needed.
MEASURED = {"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "CHECKPOINT_RESTORE", "KILL"}


def policy(root, production):
    objs = render(root)
    out = []

    def check(name, ok, why=""):
        out.append("ok - " + name if ok else "not ok - %s: %s" % (name, why))

    ds = [o for o in objs if o["kind"] == "DaemonSet"]
    check("one DaemonSet", len(ds) == 1, "found %d" % len(ds))
    if len(ds) != 1:
        return out
    pod = ds[0]["spec"]["template"]["spec"]
    agent = pod["containers"][0]
    labels = ds[0]["spec"]["template"]["metadata"]["labels"]
    check("hostPID (the host's /proc)", pod.get("hostPID") is True)
    check("no hostNetwork", not pod.get("hostNetwork"))
    check("tolerates every taint", {"operator": "Exists"} in pod.get("tolerations", []))
    check("no service account token", pod.get("automountServiceAccountToken") is False)
    for c in containers(pod):
        sc = c.get("securityContext", {})
        check("%s: not privileged" % c["name"], sc.get("privileged") is False,
              "privileged: %s" % sc.get("privileged"))
        check("%s: capabilities drop ALL" % c["name"],
              sc.get("capabilities", {}).get("drop") == ["ALL"])
        check("%s: no privilege escalation, read-only root" % c["name"],
              sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem"))
        r = c.get("resources", {})
        check("%s: cpu and memory requests, memory limit" % c["name"],
              {"cpu", "memory"} <= set(r.get("requests", {})) and "memory" in r.get("limits", {}))
    add = set(agent.get("securityContext", {}).get("capabilities", {}).get("add", []))
    check("agent adds only measured capabilities", add <= MEASURED, sorted(add - MEASURED))
    base = root  # an overlay's DaemonSet comes from its base
    while not os.path.exists(os.path.join(base, "daemonset.yaml")):
        with open(os.path.join(base, "kustomization.yaml")) as f:
            base = os.path.join(base, yaml.safe_load(f)["resources"][0])
    with open(os.path.join(base, "daemonset.yaml")) as f:
        src = f.read()
    for cap in sorted(add):
        check("capability %s says what needs it" % cap,
              any(l.strip().startswith("- %s " % cap) and "#" in l for l in src.splitlines()))
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = agent.get(kind, {}).get("httpGet", {})
        check("agent %s on /health" % kind, get.get("path") == "/health" and
              get.get("port") in ("metrics", 9464), get)
    env = {e["name"]: e for e in agent.get("env", [])}
    check("NODE_NAME from the downward API (spec.nodeName)",
          env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {})
          .get("fieldPath") == "spec.nodeName")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    for m in agent.get("volumeMounts", []):
        check("agent mounts %s read-only" % m["mountPath"], m.get("readOnly") is True)
    paths = {vols[m["name"]].get("hostPath", {}).get("path") for m in agent["volumeMounts"]}
    for want in ("/sys/kernel/btf", "/sys/fs/cgroup", "/var/log/pods", "/var/log/containers"):
        check("agent mounts the host's %s" % want, want in paths)
    init_paths = {vols[m["name"]].get("hostPath", {}).get("path")
                  for c in pod.get("initContainers", []) for m in c.get("volumeMounts", [])}
    check("an init container fills the host's /var/lib/memtide", "/var/lib/memtide" in init_paths)
    cms = [o for o in objs if o["kind"] == "ConfigMap"]
    cfg_vol = [v for v in vols.values() if "configMap" in v]
    check("the config volume names the generated ConfigMap",
          len(cms) == 1 and cfg_vol and cfg_vol[0]["configMap"]["name"] == cms[0]["metadata"]["name"])
    cfg = yaml.safe_load(cms[0]["data"]["memtide.yaml"]) if cms else {}
    with open(production) as f:
        prod = yaml.safe_load(f)["memory"]
    mem = dict(cfg.get("memory", {}))
    check("max_memory_mb 0: each container's own limit", mem.get("max_memory_mb") == 0)
    for k in ("max_memory_mb", "max_heap_mb"):
        mem.pop(k, None)
        prod.pop(k, None)
    check("the other memory values are config/production.yaml's", mem == prod,
          "%s != %s" % (mem, prod))
    check("every pod, either cgroup driver",
          {"match": {"cgroup": "/kubepods"}, "heap": "none"} in cfg.get("targets", []))
    mounts = {m["mountPath"] for m in agent["volumeMounts"]}
    token = cfg.get("api", {}).get("token_file", "")
    check("POSTs need the Secret's token", os.path.dirname(token) in mounts and
          any(vols[m["name"]].get("secret") for m in agent["volumeMounts"]
              if m["mountPath"] == os.path.dirname(token)), token)
    port = [p for p in agent.get("ports", []) if p["name"] == "metrics"]
    check("listens on the metrics port", port and
          cfg.get("exporter", {}).get("listen") == ":%d" % port[0]["containerPort"])
    for kind in ("Service", "ServiceMonitor"):
        o = [o for o in objs if o["kind"] == kind]
        sel = o[0]["spec"]["selector"] if o else {}
        sel = sel.get("matchLabels", sel)
        check("the %s selects the agent's pods" % kind,
              o and sel and all(labels.get(k) == v for k, v in sel.items()))
    return out


def main(argv):
    if argv[1] == "render":
        yaml.safe_dump_all(render(argv[2]), sys.stdout, sort_keys=False)
    elif argv[1] == "json":
        json.dump([o for p in argv[2:] for o in load(p)], sys.stdout)
    elif argv[1] == "policy":
        print("\n".join(policy(argv[2], argv[3])))
    elif argv[1] == "podman":
        remap = dict(a.split("=", 1) for a in argv[5:])
        print("\n".join(podman_args(argv[2], argv[3], argv[4], remap)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
