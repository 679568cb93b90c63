#!/usr/bin/env python3
"""Every emitter the README's Emitters table names exists in the headers.

The x86_64 column's names are jb_x64_<name>, the arm64 column's jb_a64_<name>;
a/b/c expands to a_a, a_b, a_c style shapes (alu_rr/ri/rm -> alu_rr alu_ri
alu_rm). Words in parentheses describe operations, not functions. Exit 1 and
list the missing names if any are missing."""
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
readme = open(f"{root}/README.md").read()
section = readme[readme.index("## Emitters"):]
section = section[:section.index("\n## ", 3)]
headers = "".join(open(f"{root}/include/jitbuf/{h}").read() for h in
                  ("emit.h", "x86_64.h", "x86_64_fp.h", "arm64.h", "arm64_fp.h")
                  if __import__("os").path.exists(f"{root}/include/jitbuf/{h}"))
defined = set(re.findall(r"\b(jb_\w+)\s*\(", headers))


def names(cell):
    cell = re.sub(r"\([^)]*\)", "", cell)  # descriptions
    for code in re.findall(r"`([^`]*)`", cell):
        for word in code.split():
            if "/" in word:
                head, *tails = word.split("/")
                stem = head.rsplit("_", 1)[0] if "_" in head else ""
                yield head
                for t in tails:
                    yield f"{stem}_{t}" if stem else t
            else:
                yield word


missing, checked = [], 0
for line in section.splitlines():
    cols = [c.strip() for c in line.split("|")]
    if len(cols) < 4 or not cols[2].count("`") or cols[1].startswith("-"):
        continue
    for prefix, cell in (("jb_x64_", cols[2]), ("jb_a64_", cols[3])):
        if cell.startswith("`jb_x64_*`") or cell.startswith("`jb_a64_*`") or cell == "same":
            continue
        for n in names(cell):
            full = n if n.startswith("jb_") else prefix + n
            checked += 1
            if full not in defined:
                missing.append(full)
if missing or checked == 0:
    print("README Emitters table names functions that do not exist:", " ".join(missing))
    sys.exit(1)
print(f"check-readme-emitters: all {checked} names in the README's Emitters table exist")
