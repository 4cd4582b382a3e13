#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The deployment tests' view of deploy/kubernetes, without a cluster.

  kube.py render DIR           the kustomization in DIR rendered, as YAML documents
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
    args = ["--pid=host"] if pod.get("hostPID") else []
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


def main(argv):
    if argv[1] == "render":
        yaml.safe_dump_all(render(argv[2]), sys.stdout, sort_keys=False)
    elif argv[1] == "podman":
        remap = dict(a.split("=", 1) for a in argv[5:])
        print("\n".join(podman_args(argv[2], argv[3], argv[4], remap)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
