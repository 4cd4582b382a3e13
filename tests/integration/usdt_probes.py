#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""usdt_probes.py LIB: a library's USDT probes (readelf -n) as uprobe_events
wants them: "PROVIDER NAME OFFSET(SEMAPHORE_OFFSET) ARGS", file offsets, each
argument (a register) as argN=%REG:x64."""
import re, subprocess, sys
lib = sys.argv[1]
loads = []
for l in subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True).stdout.splitlines():
    f = l.split()
    if f and f[0] == "LOAD":
        loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
def off(v):
    for o, va, sz in loads:
        if va <= v < va + sz:
            return v - va + o
    raise SystemExit("no segment for %x" % v)
notes = subprocess.run(["readelf", "-n", lib], capture_output=True, text=True).stdout
for m in re.finditer(r"Provider: (\S+)\s+Name: (\S+)\s+Location: (\S+), Base: \S+, Semaphore: (\S+)\s+Arguments:([^\n]*)", notes):
    prov, name, loc, sem, args = m.groups()
    regs = []
    for i, a in enumerate(args.split()):
        r = re.fullmatch(r"-?8@%(\w+)", a)
        if not r:
            raise SystemExit("argument %s not a register" % a)
        reg = r.group(1)
        reg = reg[1:] if re.fullmatch(r"r[a-d]x|r[sd]i|r[sb]p", reg) else reg
        regs.append("arg%d=%%%s:x64" % (i + 1, reg))
    print("%s %s 0x%x(0x%x) %s" % (prov, name, off(int(loc, 16)), off(int(sem, 16)), " ".join(regs)))
