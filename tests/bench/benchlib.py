# SPDX-License-Identifier: Apache-2.0
"""Helpers the script benchmarks share: a work directory, the agent and the
processes it looks at, /proc figures, HTTP scrapes."""
import calendar
import gzip
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("MEMTIDE_BUILD", "build"))
TARGETS = os.path.join(ROOT, "build", "targets")
TICK = os.sysconf("SC_CLK_TCK")


class Bench:
    """Owns every process it starts; close() ends them (by pid) and the work dir."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="memtide-bench.")
        self.procs = []

    def copy(self, src, name):
        """A copy of a binary under @name: its comm, unique to the benchmark."""
        dst = os.path.join(self.work, name)
        shutil.copy(src, dst)
        return dst

    def spawn(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def sleepers(self, name, n):
        exe = self.copy(os.path.join(TARGETS, "static_sleeper"), name)
        return [self.spawn([exe]) for _ in range(n)]

    def kill(self, procs):
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait()
            if p in self.procs:
                self.procs.remove(p)

    def close(self):
        self.kill(list(self.procs))
        shutil.rmtree(self.work, ignore_errors=True)

    def memtide(self, yaml_body, log_level="info"):
        """Starts the agent on a free port with @yaml_body (the exporter
        section is added); returns (process, url, log path)."""
        port = free_port()
        cfg = os.path.join(self.work, f"memtide-{port}.yaml")
        with open(cfg, "w") as f:
            f.write(yaml_body + f'exporter:\n  listen: "127.0.0.1:{port}"\n')
        log = os.path.join(self.work, f"memtide-{port}.log")
        p = self.spawn([os.path.join(BUILD, "memtide"), "--config", cfg,
                        "--log-level", log_level], stderr=open(log, "w"))
        url = f"http://127.0.0.1:{port}"
        wait_until(30, lambda: get(url + "/metrics") is not None)
        return p, url, log


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_until(seconds, fn, step=0.05):
    end = time.monotonic() + seconds
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError("gave up waiting")
        time.sleep(step)


def get(url, gz=False, timeout=30, data=None):
    """The body (decompressed) or None; with gz, asks for gzip as Prometheus does."""
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if gz:
        req.add_header("Accept-Encoding", "gzip")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            return gzip.decompress(body) if r.headers.get("Content-Encoding") == "gzip" else body
    except Exception:
        return None


def timed_get(url, gz):
    """(seconds, bytes on the wire) of one GET."""
    req = urllib.request.Request(url)
    if gz:
        req.add_header("Accept-Encoding", "gzip")
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        n = len(r.read())
    return time.monotonic() - t0, n


def cpu_ticks(pid):
    """utime + stime of @pid, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def pct(xs, p):
    """The @p-th percentile (nearest rank) of @xs."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")


def log_time(line):
    """A log line's timestamp as a Unix time, or None."""
    m = LOG_TIME.match(line)
    if not m:
        return None
    return calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) \
        + float("0" + m.group(1)[19:])


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
