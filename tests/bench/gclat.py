#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench, POST gc latency: one process (build/targets/heapdriver, the
control hook preloaded) fragments BLOCKS x 1000 bytes of heap, then either
trims itself (its "trim" command: malloc_trim(0), timed from the command to
its answer) or is trimmed through POST /api/v1/memory/gc?pid=N (curl's
time_total: from the connection to the answer; Python's own HTTP client
would add milliseconds of its own), the two ways alternating round by round; medians
over ROUNDS of each. Target (issue 14): POST <= 1.1x self + 2 ms.

gclat.py [ROUNDS [BLOCKS]]   defaults: 30 50000"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import BUILD, TARGETS, Bench, median, wait_until  # noqa: E402

COMM = "mtbgc"
YAML = f"""memory:
  monitor_interval: 1s
  enable_auto_gc: false
targets:
  - match: {{ hooked: true, comm: "^{COMM}$" }}
    heap: hook
api:
  gc_min_interval: 1ms
"""


class Driver:
    def __init__(self, p):
        self.p = p

    def do(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line.startswith("ok"):
            raise RuntimeError(f"heapdriver {cmd}: {line!r}")
        return line


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("GC_ROUNDS", 30))
    blocks = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    b = Bench()
    try:
        _, url, logpath = b.memtide(YAML)
        exe = b.copy(os.path.join(TARGETS, "heapdriver"), COMM)
        env = dict(os.environ, LD_PRELOAD=os.path.join(ROOT_BUILD, "libmemtide_hook.so"))
        p = b.spawn([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if not p.stdout.readline().startswith("ready"):
            raise RuntimeError("heapdriver did not start")
        d = Driver(p)
        probed = f"pid {p.pid} ({COMM}): control hook reports probed"
        wait_until(30, lambda: probed in open(logpath).read(), step=0.1)
        # POST gc answers from the snapshots: wait for one that has it.
        wait_until(30, lambda: subprocess.run(["curl", "-sf", "-o", "/dev/null",
                                               f"{url}/api/v1/memory/stats?pid={p.pid}"]).returncode == 0,
                   step=0.1)
        self_ms, post_ms, hook_ms = [], [], []
        for r in range(rounds):
            for way in (("self", "post") if r % 2 else ("post", "self")):
                d.do("freeall")
                d.do(f"fragment {blocks}")
                if way == "self":
                    t0 = time.monotonic()
                    d.do("trim")
                    self_ms.append((time.monotonic() - t0) * 1000)
                    continue
                out = subprocess.run(["curl", "-s", "-m", "30", "-w", "\n%{time_total}", "-X",
                                      "POST", f"{url}/api/v1/memory/gc?pid={p.pid}"],
                                     capture_output=True, text=True).stdout
                body, _, total = out.rpartition("\n")
                post_ms.append(float(total) * 1000)
                res = json.loads(body)["results"][0] if body else {}
                if not res.get("trimmed"):
                    raise RuntimeError(f"POST gc did not trim: {body!r}")
                hook_ms.append(res["duration_ns"] / 1e6)
        p.stdin.write("exit\n")
        p.stdin.flush()
        p.wait()
    finally:
        b.close()
    if os.environ.get("GC_VERBOSE"):
        for x in zip(self_ms, post_ms, hook_ms):
            print("  # round: self %.2f, POST %.2f, hook trim %.2f" % x)
    s, po, h = median(self_ms), median(post_ms), median(hook_ms)
    print(f"trim of a {blocks * 1000 / 1e6:.0f} MB fragmented heap, ms (median of {rounds} "
          f"interleaved rounds each):")
    print(f"  the process trims itself (command to answer):   {s:8.2f}")
    print(f"  POST /api/v1/memory/gc?pid=N (request to answer): {po:8.2f}")
    print(f"  of which malloc_trim in the hook:                {h:8.2f}")
    print(f"  the rest (HTTP, signal, the report's wake-up):   {po - h:8.2f}")
    print(f"ratio POST / self: {po / s:.2f}x, {po - s:+.2f} ms   "
          f"(target <= 1.1x + 2 ms: {'met' if po <= 1.1 * s + 2 else 'not met'})")


ROOT_BUILD = os.path.join(os.path.dirname(BUILD), "build")  # the hook stays in build/

if __name__ == "__main__":
    main()
