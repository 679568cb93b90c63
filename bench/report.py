#!/usr/bin/env python3
"""make bench-report: build/bench.json (Google Benchmark) into a page in
build/bench-report/: index.md with the table, issue 14's goals met or
missed, and PNG plots (ns/op beside the peers; cost against live blocks),
stamped with the CPU model, kernel and date.

    bench/report.py JSON OUTDIR
"""
import datetime
import os
import platform
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import load, reference  # noqa: E402

LIVE_NS = (10, 10000, 1000000)
LIVE_OPS = ("alloc_free", "commit", "patch", "free")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def stamp(ctx):
    return (f"{cpu_model()}, {ctx.get('num_cpus', '?')} CPUs; Linux {platform.release()}; "
            f"run {ctx.get('date', '?')}; load average "
            f"{', '.join(f'{x:.1f}' for x in ctx.get('load_avg', [])) or '?'}")


def goals(med, lo):
    """Issue 14's goals that one run can judge: (goal, figure, verdict)."""
    out = []

    def ratio(goal, a, b, limit):
        if a in med and b in med:
            r = med[a] / med[b]
            out.append((goal, f"{med[a]:.1f} / {med[b]:.1f} ns = {r:.2f}x",
                        "met" if r <= limit else "missed"))
        else:
            out.append((goal, "rows absent from this run", "not measured"))

    ratio("install/jitbuf/dualmap <= 1.0 x install/asmjit (RWX)",
          "install/jitbuf/dualmap", "install/asmjit", 1.0)
    ratio("commit/jitbuf/dualmap/64 <= 3 x floor/memcpy64",
          "commit/jitbuf/dualmap/64", "floor/memcpy64", 3.0)
    ratio("patch/jitbuf/dualmap <= 4 x floor/store4",
          "patch/jitbuf/dualmap", "floor/store4", 4.0)
    # The same copy and store through a site (validated once, jitbuf/site.h).
    ratio("commit_site/jitbuf/dualmap/64 (jb_site_write) <= 3 x floor/memcpy64",
          "commit_site/jitbuf/dualmap/64", "floor/memcpy64", 3.0)
    ratio("patch_site/jitbuf/dualmap (jb_site_patch) <= 4 x floor/store4",
          "patch_site/jitbuf/dualmap", "floor/store4", 4.0)
    for op in LIVE_OPS:
        v = [med.get(f"live/jitbuf/dualmap/{op}/{n}") for n in LIVE_NS]
        if None in v:
            out.append((f"{op} flat over 10 / 10k / 1M live blocks (<= 1.3x)",
                        "rows absent", "not measured"))
            continue
        r = max(v) / min(v)
        m = [lo.get(f"live/jitbuf/dualmap/{op}/{n}", 0) for n in LIVE_NS]
        rm = max(m) / min(m) if min(m) > 0 else float("nan")
        out.append((f"{op} flat over 10 / 10k / 1M live blocks (<= 1.3x)",
                    " / ".join(f"{x:.1f}" for x in v) + f" ns, spread {r:.2f}x "
                    "(minima " + " / ".join(f"{x:.1f}" for x in m) + f", spread {rm:.2f}x)",
                    ("met" if r <= 1.3 else "missed") + " by medians; "
                    + ("met" if rm <= 1.3 else "missed") + " by minima"))
    a, b = "install_batch/jitbuf/mprotect/1000", "install/jitbuf/mprotect"
    if a in med and b in med:
        r = med[b] / med[a]
        d = med.get("install_batch/jitbuf/dualmap/1000")
        rest = f"; the same batch under dualmap, no window at all: {d:.0f} ns" if d else ""
        out.append(("batch of 1,000 under mprotect: per-function cost falls by the batch size",
                    f"{med[a]:.0f} ns per function vs {med[b]:.0f} ns alone: {r:.1f}x lower"
                    + rest,
                    "met for the protection changes: 4 mprotect calls per batch (one write "
                    "window, one trap-fill window; fault matrix batch_calls) instead of 4 per "
                    "function; the wall time falls by less, as jb_alloc, the copy, the call "
                    "and the fill stay per function"))
    # The row with the frees untimed shows what installing alone costs.
    a = "install_batch/jitbuf/mprotect/1000/frees_untimed"
    c = "commit/jitbuf/mprotect/64"
    if a in med and b in med and c in med:
        out.append(("batch of 1,000 under mprotect, frees not timed: what installing costs",
                    f"{med[a]:.0f} ns per function (jb_alloc, its share of one window, call) "
                    f"vs {med[c]:.0f} ns for one jb_write's window alone ({c}) and "
                    f"{med[b]:.0f} ns per install one by one: {med[c] / med[a]:.1f}x and "
                    f"{med[b] / med[a]:.1f}x lower",
                    "one write window and one trap-fill window per batch (2 mprotect "
                    "calls each for 1,000 functions: fault matrix batch_calls)"))
    return out


def plot_ops(med, lo, hi, path, title):
    names = [n for n in med if not n.startswith(("mix8/", "live/", "frag/"))]
    names.sort(key=lambda n: (n.split("/")[0], med[n]))
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(names) + 1.5))
    colours = ["#d62728" if "asmjit" in n or "xbyak" in n else
               "#7f7f7f" if n.startswith("floor/") else "#1f77b4" for n in names]
    err = [[med[n] - lo.get(n, med[n]) for n in names],
           [hi.get(n, med[n]) - med[n] for n in names]]
    ax.barh(range(len(names)), [med[n] for n in names], xerr=err, color=colours)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ns per operation (median; bars: min..max of repetitions; log scale)")
    ax.set_title("jitbuf (blue) beside asmjit / xbyak (red) and floors (grey)\n" + title,
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_mix8(med, ns_insn, path, title):
    names = [n for n in med if n in ns_insn]
    if not names:
        return False
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(names) + 1.5))
    ax.barh(range(len(names)), [ns_insn[n] for n in names],
            color=["#d62728" if "asmjit" in n or "xbyak" in n else
                   "#7f7f7f" if "floor" in n or "handc" in n else "#1f77b4" for n in names])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ns per emitted instruction (median; log scale)")
    ax.set_title("mix8 emitter workload\n" + title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_live(med, lo, hi, path, title):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for op in LIVE_OPS:
        rows = [f"live/jitbuf/dualmap/{op}/{n}" for n in LIVE_NS]
        if not all(r in med for r in rows):
            continue
        ax.errorbar(LIVE_NS, [med[r] for r in rows],
                    yerr=[[med[r] - lo.get(r, med[r]) for r in rows],
                          [hi.get(r, med[r]) - med[r] for r in rows]],
                    marker="o", capsize=3, label=op)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("live 64-byte blocks in the region")
    ax.set_ylabel("ns per operation (median, min..max)")
    ax.set_title("jitbuf dualmap: cost against live blocks\n" + title, fontsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def counters(path):
    """Counters of the live and frag rows (the median aggregate keeps them)."""
    import json
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b["name"])
        if b.get("aggregate_name", "median") != "median":
            continue
        if name.startswith("frag/") or (name.startswith("live/") and "/alloc_free/" in name):
            out[name] = {k: v for k, v in b.items() if k in (
                "meta_bytes_per_block", "live_blocks", "blocks_filled", "live_bytes",
                "free_bytes", "largest_free_run", "trim_released")}
    return out


def table(ctx, med, lo, hi, ns_insn):
    rows = ["| benchmark | median | min | max | unit | ratio |",
            "| --- | ---: | ---: | ---: | --- | --- |"]
    for n in med:
        f = ns_insn.get(n, med[n])
        scale = f / med[n] if n in ns_insn else 1.0
        ref = reference(n)
        r = ""
        if ref in med and ref != n:
            r = f"{f / ns_insn.get(ref, med[ref]):.2f} x `{ref}`"
        unit = "ns/insn" if n in ns_insn else "ns/op"
        mn = f"{lo[n] * scale:.2f}" if n in lo else ""
        mx = f"{hi[n] * scale:.2f}" if n in hi else ""
        rows.append(f"| `{n}` | {f:.2f} | {mn} | {mx} | {unit} | {r} |")
    for n, msg in ctx["errors"].items():
        rows.append(f"| `{n}` | ERROR: {msg} | | | | |")
    return "\n".join(rows)


def main(src, outdir):
    ctx, med, lo, hi, ns_insn = load(src)
    os.makedirs(outdir, exist_ok=True)
    title = stamp(ctx)
    plot_ops(med, lo, hi, os.path.join(outdir, "ops.png"), title)
    have_mix8 = plot_mix8(med, ns_insn, os.path.join(outdir, "mix8.png"), title)
    plot_live(med, lo, hi, os.path.join(outdir, "live.png"), title)
    lines = [
        "# jitbuf benchmark report", "",
        f"**{title}.** Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"from `{src}` ({ctx.get('library_build_type', '?')} Google Benchmark library). "
        "Wall times on a shared machine are noisy: read ratios within this run; "
        "the minima of the repetitions are the least disturbed figures.", "",
        "## Issue 14 goals on this CPU", "",
        "| goal | figure | verdict |", "| --- | --- | --- |",
    ]
    lines += [f"| {g} | {f} | {v} |" for g, f, v in goals(med, lo)]
    lines += ["", "## Counters", "", "| row | counters |", "| --- | --- |"]
    for n, c in counters(src).items():
        lines.append(f"| `{n}` | " + ", ".join(f"{k} {v:,.1f}" for k, v in c.items()) + " |")
    lines += ["", "## Plots", "", "![ns/op beside the peers](ops.png)", "",
              "![cost against live blocks](live.png)", ""]
    if have_mix8:
        lines += ["![mix8](mix8.png)", ""]
    lines += ["## All rows (medians of the repetitions)", "", table(ctx, med, lo, hi, ns_insn), ""]
    with open(os.path.join(outdir, "index.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"bench-report: {os.path.join(outdir, 'index.md')} and its plots")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
