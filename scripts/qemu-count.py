#!/usr/bin/env python3
"""Guest instructions executed in the named functions, from a qemu log
written with -d in_asm,exec,nochain: each translated block's instructions
(in_asm, under "IN: <function>") times its executions (one "Trace" line per
execution with chaining off).
  qemu-count.py LOG FUNCTION...    prints: FUNCTION INSTRUCTIONS"""
import re
import sys


def main():
    log, funcs = sys.argv[1], set(sys.argv[2:])
    size, owner, runs = {}, {}, {}
    block = None  # [function, first pc, instructions] of the block being read
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("Trace "):
                m = re.search(r"\[[0-9a-f]+/([0-9a-f]+)/", line)
                if m:
                    pc = int(m.group(1), 16)
                    runs[pc] = runs.get(pc, 0) + 1
                block = None
            elif line.startswith("IN: "):
                block = [line[4:].strip(), None, 0]
            elif block is not None:
                m = re.match(r"0x([0-9a-f]+):\s", line)
                if m:
                    if block[1] is None:
                        block[1] = int(m.group(1), 16)
                    block[2] += 1
                    size[block[1]], owner[block[1]] = block[2], block[0]
                elif not line.strip():
                    block = None
    if not runs or not size:
        sys.exit("qemu-count: no executions or no blocks in %s (was it written "
                 "with -d in_asm,exec,nochain?)" % log)
    total = dict.fromkeys(funcs, 0)
    for pc, n in runs.items():
        if owner.get(pc) in funcs:
            total[owner[pc]] += n * size[pc]
    for fn in sorted(funcs):
        if not total[fn]:
            sys.exit("qemu-count: no instructions of %s in %s" % (fn, log))
        print(fn, total[fn])


main()
