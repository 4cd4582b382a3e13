#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks a Grafana dashboard's queries against a real Prometheus and a memtide.

dashboard_check.py DASHBOARD PROMETHEUS_URL METRICS_FILE NODE
Every panel target's expr, with the template variables substituted as Grafana
would (All: .*; then one node), must parse and return data; every label its
legend names must be on every series it returns; every metric it names must be
in memtide's /metrics page (METRICS_FILE) or be Prometheus's own (up); the
variables' label_values() queries must name existing metrics. Prints one
"ok - " or "not ok - " line per check; exits 1 if any failed.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

dash_file, prom, metrics_file, node = sys.argv[1:5]
dash = json.load(open(dash_file))
page = open(metrics_file).read()
exposed = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", page, re.M))
PROMETHEUS_OWN = {"up"}
# What Grafana puts for its built-ins: a 1 s scrape, so a 10 s rate window.
BUILTINS = {"$__rate_interval": "10s", "$__interval": "2s", "$__range": "1m"}
failed = False


def result(name, good, why=""):
    global failed
    print(("ok - " if good else "not ok - ") + name + ("" if good else ": " + why))
    failed |= not good


def query(expr):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def substitute(expr, values):
    for k, v in BUILTINS.items():
        expr = expr.replace(k, v)
    for k, v in values.items():
        expr = expr.replace("${" + k + "}", v).replace("$" + k, v)
    return expr


def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))


def metric_names(expr):
    # Identifiers not followed by "(" (functions), not label names inside {} or
    # by/on/without lists, not keywords.
    stripped = re.sub(r"\{[^}]*\}", "", expr)
    stripped = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", "", stripped)
    stripped = re.sub(r'"[^"]*"', "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    words = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", stripped)
    keywords = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
    return {w for w in words if w not in keywords and not re.fullmatch(r"[0-9e]+", w)}


variables = {v["name"]: v for v in dash["templating"]["list"]}
settings = [
    ("all", {"job": "memtide", "node": ".*", "namespace": ".*", "pod": ".*"}),
    ("node " + node, {"job": "memtide", "node": re.escape(node), "namespace": ".*", "pod": ".*"}),
]
for p in panels(dash["panels"]):
    for t in p.get("targets", []):
        title = "%s [%s]" % (p["title"], t["refId"])
        unknown = sorted(m for m in metric_names(t["expr"]) if m not in exposed | PROMETHEUS_OWN)
        result(title + ": every metric it names is exposed", not unknown, "not on /metrics: %s" % unknown)
        legend_labels = re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", ""))
        for label, values in settings:
            expr = substitute(t["expr"], values)
            left = re.findall(r"\$\w+", expr)
            if left:
                result(title + " (%s): every variable known" % label, False, "left: %s" % left)
                continue
            r = query(expr)
            if r.get("status") != "success":
                result(title + " (%s): returns data" % label, False,
                       "does not parse: %s: %s" % (r.get("error"), expr))
                continue
            series = r["data"]["result"]
            missing = sorted({lb for s in series for lb in legend_labels if lb not in s["metric"]})
            why = ("empty: " + expr) if not series else "legend labels not on every series: %s" % missing
            result(title + " (%s): returns data, with its legend's labels" % label,
                   series and not missing, why)

# Template variables: label_values(METRIC{...}, LABEL) on metrics that exist;
# node must list this node. (namespace and pod may list nothing yet.)
for name, v in variables.items():
    if v["type"] != "query":
        continue
    q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
    m = re.fullmatch(r"label_values\((\w+)(\{.*\})?,\s*(\w+)\)", q)
    if not m:
        result("variable %s: a label_values() query" % name, False, q)
        continue
    metric, matchers, label = m.group(1), m.group(2) or "", m.group(3)
    result("variable %s: its metric %s is exposed" % (name, metric), metric in exposed, q)
    sel = substitute(metric + matchers, settings[0][1])
    url = "%s/api/v1/label/%s/values?%s" % (prom, label, urllib.parse.urlencode({"match[]": sel}))
    with urllib.request.urlopen(url, timeout=10) as r:
        got = json.load(r)["data"]
    if name == "node":
        result("variable node lists %s" % node, node in got, "got %s" % got)
    elif name == "job":
        result("variable job lists memtide", "memtide" in got, "got %s" % got)
    else:
        print("# variable %s: %s" % (name, got))
    if v.get("includeAll"):
        result("variable %s: All is .* (matches series without the label)" % name,
               v.get("allValue") == ".*", "allValue %r" % v.get("allValue"))
sys.exit(1 if failed else 0)
