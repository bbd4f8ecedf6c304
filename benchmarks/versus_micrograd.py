"""dagrad against micrograd on graphs of single numbers, in fresh processes, for any dagrad tree.

``python -m benchmarks.versus_micrograd [--src DIR ...] [--json PATH]`` times the Rosenbrock
gradient and the n = 10,000 sigmoid chain, dagrad against micrograd, in fresh interpreters that
import only dagrad (from DIR, a ``src/`` directory; default this checkout's) and micrograd.  The
garbage collector stays on at its default thresholds.  One timed block is ``k`` consecutive
calls — each builds the graph, backpropagates and drops it — followed by ``gc.collect()``, so
the block pays for reclaiming every graph it made (micrograd's Values form reference cycles;
dagrad's graph is freed by reference counting); the time of a collection on the clean heap,
the same for both backends, is subtracted.  A collection before the block, not timed, clears
what the other backend left.  The backends take turns block by block, the order
alternating; a process's ratio is the median over its rounds of dagrad's time / micrograd's
within the round.  The trees take turns process by process, and a tree's ratio is the median
over its processes.  ``--src`` twice (e.g. before and after a change) compares the trees.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .files import write_text

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"  # this checkout's dagrad, the default tree
#: Rounds per process, processes per tree, seconds per timed block.
PLANS = {"full": (7, 3, 0.3), "quick": (5, 2, 0.15), "smoke": (1, 1, 0.0)}


def _cases(mode: str) -> dict[str, dict[str, Callable[[], Any]]]:
    """{workload: {backend: call}} built by the suite's own case builders."""
    from micrograd import engine

    from . import chain, rosenbrock

    n = chain.STEPS[mode]
    return {"rosenbrock": {"dagrad": rosenbrock.dagrad_grad(),
                           "micrograd": rosenbrock.micrograd_grad(engine)},
            "chain": {"dagrad": chain.dagrad_chain(n),
                      "micrograd": chain.micrograd_chain(engine, n)}}


def _seconds(f: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def _block(f: Callable[[], Any], k: int) -> float:
    """Seconds per call of ``k`` calls plus the collection that reclaims what they left.

    A collection on the clean heap costs the same for both backends (it walks every live
    object of the process); its time, taken just before the block, is subtracted, so what is
    charged is the work the block's own garbage made for the collector.
    """
    gc.collect()  # the other backend's leftovers, not timed
    clean = min(_seconds(gc.collect) for _ in range(2))
    t0 = time.perf_counter()
    for _ in range(k):
        f()
    gc.collect()
    return (time.perf_counter() - t0 - clean) / k


def child(mode: str) -> dict[str, Any]:
    """In this (fresh) process: every workload, the two backends taking turns per round."""
    import dagrad

    rounds, _, block_s = PLANS[mode]
    out: dict[str, Any] = {"dagrad_file": dagrad.__file__, "gc_enabled": gc.isenabled(),
                           "gc_threshold": list(gc.get_threshold()), "workloads": {}}
    for name, cases in _cases(mode).items():
        values = {k: [float(v) for v in f()] for k, f in cases.items()}
        calls = {}
        for k, f in cases.items():  # warm up, then calls per block
            per = min(_seconds(f) for _ in range(3))
            calls[k] = max(1, int(block_s / max(per, 1e-9)))
        times: dict[str, list[float]] = {k: [] for k in cases}
        names = list(cases)
        for r in range(rounds):
            for k in (names if r % 2 == 0 else names[::-1]):
                times[k].append(_block(cases[k], calls[k]))
        ratios = [d / m for d, m in zip(times["dagrad"], times["micrograd"], strict=True)]
        out["workloads"][name] = {
            "calls_per_block": calls, "seconds": times, "round_ratios": ratios,
            "ratio": statistics.median(ratios),
            "median_s": {k: statistics.median(ts) for k, ts in times.items()},
            "agree": all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in
                         zip(values["dagrad"], values["micrograd"], strict=True))}
    return out


def default_gc_threshold() -> list[int]:
    """The collector's thresholds in a fresh, isolated interpreter (nothing imported)."""
    out = subprocess.run([sys.executable, "-I", "-c", "import gc; print(*gc.get_threshold())"],
                         capture_output=True, text=True, check=True, timeout=60)
    return [int(v) for v in out.stdout.split()]


def tree_digest(src: str) -> str | None:
    """A short SHA-256 of every .py file of the ``dagrad`` package under ``src``."""
    pkg = Path(src) / "dagrad"
    if not pkg.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(pkg.rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _environ(src: str, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([os.path.abspath(src), str(ROOT), *paths])
    return env


def run_child(src: str, mode: str, base: dict[str, str]) -> dict[str, Any]:
    """One fresh interpreter timing dagrad from ``src`` against micrograd."""
    cmd = [sys.executable, "-m", "benchmarks.versus_micrograd", "--child", "--mode", mode]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_environ(src, base),
                          timeout=900)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"versus_micrograd child for {src}: {tail}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    want = os.path.realpath(os.path.join(src, "dagrad"))
    if not os.path.realpath(res["dagrad_file"]).startswith(want + os.sep):
        raise RuntimeError(f"versus_micrograd: the child imported {res['dagrad_file']}, "
                           f"not the dagrad under {src}")
    return res


def compare(srcs: list[str], mode: str, base: dict[str, str] | None = None,
            log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Every tree in ``srcs``, processes alternating between trees; ratios per tree."""
    _, processes, _ = PLANS[mode]
    base = dict(os.environ) if base is None else base
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in srcs}
    for p in range(processes):
        for src in (srcs if p % 2 == 0 else srcs[::-1]):
            res = run_child(src, mode, base)
            runs[src].append(res)
            log(f"  {src}: " + ", ".join(f"{w} {r['ratio']:.3f}×"
                                          for w, r in res["workloads"].items()))
    rounds, _, block_s = PLANS[mode]
    trees = {}
    for src, rs in runs.items():
        workloads = {}
        for w in rs[0]["workloads"]:
            per = [r["workloads"][w] for r in rs]
            workloads[w] = {
                "ratio": statistics.median(x["ratio"] for x in per),
                "process_ratios": [x["ratio"] for x in per],
                "ms": {k: 1e3 * statistics.median(x["median_s"][k] for x in per)
                       for k in per[0]["median_s"]},
                "agree": all(x["agree"] for x in per)}
        trees[src] = {"dagrad_file": rs[0]["dagrad_file"], "gc_threshold": rs[0]["gc_threshold"],
                      "gc_enabled": rs[0]["gc_enabled"],
                      "digest": tree_digest(src),
                      "workloads": workloads}
    from .chain import STEPS

    return {"mode": mode, "rounds": rounds, "processes": processes, "block_s": block_s,
            "steps": STEPS[mode], "trees": trees}


def run(ctx) -> dict[str, Any]:
    """The suite's workload: this checkout's dagrad (and the baseline tree, if any)."""
    if ctx.peer("micrograd") is None:
        return {"skipped": "micrograd not imported (--peers)", "checks": {}}
    srcs = [ctx.baseline_src, str(SRC)] if ctx.baseline_src else [str(SRC)]
    res = compare([os.path.abspath(s) for s in srcs], ctx.mode, ctx.child_env,
                  log=lambda line: print(line, flush=True))
    res["after"] = os.path.abspath(SRC)
    res["before"] = os.path.abspath(ctx.baseline_src) if ctx.baseline_src else None
    trees = res["trees"].values()
    res["checks"] = {
        "gradients agree with micrograd's": all(w["agree"] for t in trees
                                                for w in t["workloads"].values()),
        "collector on at its default thresholds": all(
            t["gc_enabled"] and t["gc_threshold"] == default_gc_threshold() for t in trees)}
    return res


def main(argv: list[str] | None = None) -> None:
    """Parent: compare the trees and print (or write) JSON; ``--child``: one timed process."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="full", choices=tuple(PLANS))
    ap.add_argument("--src", action="append", metavar="DIR",
                    help="a src/ directory holding dagrad (repeatable; default: this "
                         "checkout's src/)")
    ap.add_argument("--cpus", help="comma-separated CPUs to pin to (default: all usable)")
    ap.add_argument("--json", metavar="PATH", help="also write the result here")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.mode)))
        return
    from . import env

    env.setup([int(c) for c in args.cpus.split(",")] if args.cpus else None)
    srcs = args.src or [str(SRC)]
    for s in srcs:
        if not (Path(s) / "dagrad" / "__init__.py").is_file():
            ap.error(f"--src {s}: no dagrad package there (expected {s}/dagrad/__init__.py)")
    res = compare([os.path.abspath(s) for s in srcs], args.mode,
                  env.child_environ(unset_blas=False))
    res["cpus"] = env.usable_cpus()
    if args.json:
        write_text(args.json, json.dumps(res, indent=1) + "\n")
    for src, t in res["trees"].items():
        for w, r in t["workloads"].items():
            each = ", ".join(f"{x:.3f}" for x in r["process_ratios"])
            print(f"{src}: {w}: dagrad/micrograd time {r['ratio']:.3f}× (per process: {each}); "
                  f"dagrad {r['ms']['dagrad']:.4g} ms, micrograd {r['ms']['micrograd']:.4g} ms")


if __name__ == "__main__":
    main()
