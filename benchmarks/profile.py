"""Where the eager training step's time goes: py-spy (native frames) and cProfile.

py-spy samples a child process that runs the dagrad step in a loop; every sample of the main
thread is put in one category by its innermost frame (GEMM in the BLAS library, NumPy's
elementwise/reduction loops, allocation and copies in libc / NumPy's allocator, the garbage
collector, and everything else: the interpreter running dagrad's Python plus NumPy's per-call
dispatch) and one phase by the Python frames above it (forward, backward, optimizer).
cProfile adds the Python functions with the most own time.  ``python -m benchmarks.profile``
runs it alone (``--json`` to keep the result, e.g. for a before/after comparison).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

NAME = "profile"
BATCHES = {"full": (32, 512), "quick": (32, 512), "smoke": (8,)}
CATEGORIES = ("GEMM (BLAS)", "elementwise & reductions (NumPy loops)",
              "allocation & copies", "garbage collector", "Python & dispatch overhead")
PHASES = ("forward", "backward", "optimizer")
LOOP = "profile_loop"
RATE = 100  # samples per second: --native pauses the process for each sample

_LOOPS = re.compile(r"^(FLOAT|DOUBLE|HALF|LONGLONG|LONG|INT|UINT|SHORT|USHORT|BYTE|UBYTE|BOOL|"
                    r"ULONG|ULONGLONG|CFLOAT|CDOUBLE)_|_X86_|_AVX|simd|npyv|_contig|pairwise|"
                    r"reduce_loop|_cast|tanh|exp|log", re.IGNORECASE)
_ALLOC = re.compile(r"malloc|free|memcpy|memmove|memset|calloc|realloc|mmap|munmap|madvise|"
                    r"PyDataMem|npy_alloc|npy_free|_npy_alloc|default_malloc|default_free|"
                    r"alloc_cache|brk", re.IGNORECASE)
_GC = re.compile(r"^(gc_collect|collect|visit_|subtract_refs|move_unreachable|update_refs|"
                 r"deduce_unreachable|move_legacy|handle_legacy|delete_garbage|finalize_)")


def _frame(text: str) -> tuple[str, str]:
    name, _, where = text.partition(" (")
    return name.strip(), where.rstrip(")")


def classify(frames: list[str]) -> str:
    """The category of one sample (BLAS anywhere on the stack: GEMM; else the innermost frame)."""
    # OpenBLAS zeroing C (a memset under sgemm_beta) counts as GEMM; the collector near the top
    # of the stack counts as GC.
    if any("openblas" in f or "libmkl" in f for f in frames):
        return CATEGORIES[0]
    if any(_GC.search(_frame(f)[0]) for f in frames[-3:]):
        return CATEGORIES[3]
    name, where = _frame(frames[-1])
    if "gemm" in name.lower():
        return CATEGORIES[0]
    if _ALLOC.search(name) or "libc" in where:
        return CATEGORIES[2]
    if "_multiarray_umath" in where and _LOOPS.search(name):
        return CATEGORIES[1]
    return CATEGORIES[4]


def phase(frames: list[str]) -> str:
    """forward, backward or optimizer, from the Python frames of one sample."""
    for f in frames:
        name, where = _frame(f)
        if "autodiff.py" in where or name.endswith("backward"):
            return "backward"
        if "optim" in where or name.endswith("zero_grad"):
            return "optimizer"
    return "forward"


def parse_raw(path: str) -> tuple[Counter, dict[str, Counter]]:
    """Category counts and phase×category counts from py-spy's raw (collapsed) output."""
    cats: Counter = Counter()
    phases: dict[str, Counter] = {p: Counter() for p in PHASES}
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            if not count.isdigit() or not any(f.startswith(LOOP + " (") for f in frames):
                continue
            k = int(count)
            cat = classify(frames)
            cats[cat] += k
            phases[phase(frames)][cat] += k
    return cats, phases


def _step(batch: int):
    import numpy as np

    from . import mlp, model

    params = model.init_params(np.float32)
    x, y = model.batch(batch, np.float32)
    return mlp.dagrad_step(params, x, y)


def profile_loop(step, seconds: float) -> int:
    """Run ``step`` for ``seconds``; py-spy keeps the samples that pass through here."""
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        step()
        n += 1
    return n


def cprofile_top(step, steps: int, top: int = 12) -> dict[str, Any]:
    """Python functions with the most own time per step (cProfile; includes its overhead)."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    st = pstats.Stats(prof)
    rows = []
    for (file, line, fn), (_, ncalls, tottime, _cum, _) in st.stats.items():
        short = file.split("/src/", 1)[-1].split("site-packages/", 1)[-1]
        rows.append({"function": f"{short}:{line}({fn})", "calls_per_step": ncalls / steps,
                     "own_us_per_step": 1e6 * tottime / steps})
    rows.sort(key=lambda r: -r["own_us_per_step"])
    return {"steps": steps, "total_us_per_step": 1e6 * st.total_tt / steps, "top": rows[:top]}


def _target(batch: int, seconds: float, result: str, cprofile_steps: int) -> None:
    """Child: warm up, run the loop for ``seconds``, optionally cProfile; write JSON."""
    import dagrad

    from . import env

    step = _step(batch)
    env.limit_loaded()
    for _ in range(20):
        step()
    t0 = time.perf_counter()
    n = profile_loop(step, seconds)
    out: dict[str, Any] = {"steps": n, "seconds": time.perf_counter() - t0,
                           "dagrad": os.path.dirname(dagrad.__file__)}
    if cprofile_steps:
        out["cprofile"] = cprofile_top(step, cprofile_steps)
    Path(result).write_text(json.dumps(out))


def py_spy() -> str | None:
    """The py-spy executable (next to this Python first), or None."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def child(batch: int, seconds: float, environ: dict[str, str], spy: bool = False,
          cprofile_steps: int = 0) -> dict[str, Any]:
    """One child process running the step (under py-spy when ``spy``)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, result = os.path.join(tmp, "raw.txt"), os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "benchmarks.profile", "--target", "--batch", str(batch),
               "--seconds", str(seconds), "--result", result, "--cprofile",
               str(cprofile_steps)]
        if spy:
            cmd = [py_spy() or "py-spy", "record", "--native", "--rate", str(RATE), "--format",
                   "raw", "--output", raw, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=600)
        if proc.returncode != 0 or not os.path.exists(result) or spy and not os.path.exists(raw):
            return {"error": (proc.stderr or proc.stdout).strip()[-300:]}
        out = json.loads(Path(result).read_text())
        if spy:
            out["cats"], out["phases"] = parse_raw(raw)
    return out


def measure(variants: dict[str, dict[str, str]], batches, seconds: float,
            rounds: int) -> dict[str, Any]:
    """Each variant (a label and its environment) profiled, variants taking turns per round."""
    # Per round and variant: one plain child (µs per step, no profiler) and one child under
    # py-spy (its samples pooled over the rounds); then one cProfile child per variant.
    labels = list(variants)
    out: dict[str, Any] = {lab: {"batches": {}} for lab in labels}
    spy = py_spy() is not None
    for b in batches:
        per = {lab: [] for lab in labels}
        cats = {lab: Counter() for lab in labels}
        phs = {lab: {p: Counter() for p in PHASES} for lab in labels}
        for r in range(rounds):
            for lab in labels[r % len(labels):] + labels[: r % len(labels)]:
                plain = child(b, seconds, variants[lab])
                if "error" in plain:
                    raise RuntimeError(f"profile child failed: {plain['error']}")
                per[lab].append(1e6 * plain["seconds"] / max(plain["steps"], 1))
                out[lab]["dagrad"] = plain["dagrad"]
                if spy:
                    sampled = child(b, seconds, variants[lab], spy=True)
                    if "cats" in sampled:
                        cats[lab].update(sampled["cats"])
                        for p in PHASES:
                            phs[lab][p].update(sampled["phases"][p])
        for lab in labels:
            prof = child(b, 0.05, variants[lab], cprofile_steps=max(30, int(300 * 32 / b)))
            total = sum(cats[lab].values())
            spy_res: dict[str, Any] = {"skipped": "py-spy not installed (pip install py-spy)"}
            if total:
                spy_res = {"samples": total,
                           "categories": {c: cats[lab][c] / total for c in CATEGORIES},
                           "phases": {p: {c: phs[lab][p][c] / total for c in CATEGORIES}
                                      for p in PHASES}}
            out[lab]["batches"][str(b)] = {
                "step_us": statistics.median(per[lab]), "step_us_rounds": per[lab],
                "py_spy": spy_res, "cprofile": prof.get("cprofile", {"top": []})}
    if len(labels) == 2:
        a, z = labels
        out["paired"] = {str(b): statistics.median(
            x / y for x, y in zip(out[z]["batches"][str(b)]["step_us_rounds"],
                                  out[a]["batches"][str(b)]["step_us_rounds"], strict=True))
            for b in batches}
    return out


PLAN = {"full": (2.0, 4), "quick": (1.0, 2), "smoke": (0.3, 1)}  # seconds per child, rounds


def baseline_environ(src: str, now: dict[str, str]) -> dict[str, str]:
    """``now`` with the dagrad under ``src`` (a src/ directory) first on PYTHONPATH."""
    old = dict(now)
    old["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.abspath(src),
                                                      str(Path(__file__).parents[1])]))
    return old


def run(ctx) -> dict[str, Any]:
    """The profile of the current dagrad (beside the baseline tree's, when the run has one)."""
    seconds, rounds = PLAN[ctx.mode]
    variants = {"now": ctx.child_env}
    if ctx.baseline_src:
        variants = {"before": baseline_environ(ctx.baseline_src, ctx.child_env),
                    "after": ctx.child_env}
    res = measure(variants, BATCHES[ctx.mode], seconds, rounds)
    if not ctx.baseline_src:
        res = res["now"]
    else:
        res["before_src"] = os.path.abspath(ctx.baseline_src)
    res["rate_hz"] = RATE
    runs = [res[k] for k in ("before", "after")] if ctx.baseline_src else [res]
    res["checks"] = {"figures sane": all(r["step_us"] > 0 for run in runs
                                         for r in run["batches"].values())}
    return res


def main() -> None:
    """``python -m benchmarks.profile``: profile now, or before vs after (--before-src)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--target", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--cprofile", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, nargs="+", default=list(BATCHES["full"]))
    ap.add_argument("--seconds", type=float, default=PLAN["full"][0])
    ap.add_argument("--rounds", type=int, default=PLAN["full"][1])
    ap.add_argument("--before-src", metavar="DIR",
                    help="a src/ directory holding an older dagrad: profile it and the current "
                         "one side by side, taking turns")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    from . import env

    env.setup()
    if args.target:
        _target(args.batch, args.seconds, args.result, args.cprofile)
        return
    now = env.child_environ(unset_blas=False)
    variants = {"now": now}
    if args.before_src:
        variants = {"before": baseline_environ(args.before_src, now), "after": now}
    res = measure(variants, args.batches, args.seconds, args.rounds)
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res["rate_hz"] = RATE
    text = json.dumps(res, indent=1)
    if args.json:
        from .files import write_text

        write_text(args.json, text + "\n")
    print(text)


if __name__ == "__main__":
    main()
