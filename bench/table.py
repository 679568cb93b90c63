#!/usr/bin/env python3
"""Print build/bench.json (Google Benchmark) as a table of medians with
ratios to the peer each figure is judged against (bench/README.md)."""
import json
import sys

def reference(n):
    """The row a figure is judged against (bench/README.md), or None."""
    if n.startswith("mix8/"):
        return n.rsplit("/", 1)[0] + "/asmjit"
    if n.startswith(("install/jitbuf", "install_fifo/", "install_batch/")):
        return "install/asmjit"
    if n.startswith("alloc_free/jitbuf"):
        return n.replace("jitbuf", "asmjit")
    if n.startswith(("commit/jitbuf/", "commit_site/jitbuf/")) and n.endswith("/64"):
        return "floor/memcpy64"
    if n.startswith(("patch/jitbuf/", "patch_site/jitbuf/")):
        return "floor/store4"
    if n.startswith("live/"):
        return n.rsplit("/", 1)[0] + "/10"
    return None

def load(path):
    """(context, median, min, max, ns_per_insn) by benchmark name; errors
    are returned as {name: message} in context["errors"]."""
    with open(path) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    ctx["errors"] = {}
    med, lo, hi, ns_insn = {}, {}, {}, {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            ctx["errors"][name] = b.get("error_message")
            continue
        agg = b.get("aggregate_name")
        if agg is None:
            agg = "median"  # a single repetition
        t = b["real_time"]  # ns per iteration (or per batched operation)
        if agg == "median":
            med[name] = t
            if "ns_per_insn" in b:
                ns_insn[name] = b["ns_per_insn"]
        elif agg == "min":
            lo[name] = t
        elif agg == "max":
            hi[name] = t
    return ctx, med, lo, hi, ns_insn

def main(path):
    ctx, med, lo, hi, ns_insn = load(path)
    for name, msg in ctx["errors"].items():
        print(f"{name}: ERROR {msg}")
    def fig(n):
        return ns_insn.get(n, med.get(n))
    ref = {n: reference(n) for n in med}
    print(f"# {ctx.get('date', '')}  {ctx.get('num_cpus', '?')} CPUs @ "
          f"{ctx.get('mhz_per_cpu', '?')} MHz  ({ctx.get('library_build_type', '')} benchmark lib)")
    print(f"{'benchmark':44} {'median':>10} {'min':>10} {'max':>10}  unit       ratio")
    for n in med:
        unit = "ns/insn" if n in ns_insn else "ns/op"
        scale = fig(n) / med[n] if n in ns_insn else 1.0
        r = ""
        if n in ref and ref[n] in med and ref[n] != n:
            r = f"{fig(n) / fig(ref[n]):6.3f} x {ref[n].split('/')[-1] if n.startswith('mix8') else ref[n]}"
        mn = f"{lo[n] * scale:10.3f}" if n in lo else f"{'':10}"
        mx = f"{hi[n] * scale:10.3f}" if n in hi else f"{'':10}"
        print(f"{n:44} {fig(n):10.3f} {mn} {mx}  {unit:9}  {r}")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench.json")
