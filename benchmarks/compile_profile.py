"""Where the compiled MLP training step's time goes, line by line of its generated replay.

The step is ``compiled.mlp_train_step`` (784-256-256-10 tanh, SGD, cross-entropy, float32), as
the ``mlp`` workload times it.  ``dagrad.compiler.profile.line_times`` runs its replay with a
clock read between lines, each run followed by a plain call; the line medians are summed per
kind of work (each GEMM, bias adds, elementwise kernels, reductions, the SGD update, Python
bookkeeping) and "rest" is the median over runs of the plain call less the timed run before
it (the call's own dispatch and argument handling, less the clock reads; noise).  The call's
figure is the sum of the rows, and the share column is of it.  Separately the call and the step's
eight GEMMs alone in their fastest forms (``mlp.gemm_roofline``, the GEMM bound) are timed
interleaved round by round, as the ``mlp`` workload does, for the bound's fraction of the call.
``python -m benchmarks.compile_profile`` runs it alone.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from . import compiled, model
from .mlp import gemm_roofline
from .timing import interleave, paired_ratio, sane

NAME = "compile_profile"
BATCHES = {"full": (32, 128, 512), "quick": (32, 128, 512), "smoke": (8,)}
REPEAT = {"full": 200, "quick": 60, "smoke": 3}
REST = "rest: call dispatch outside the lines (and noise)"


def profile_batch(b: int, ctx) -> dict[str, Any]:
    """Per-kind µs of one compiled step at batch b, the whole call and the GEMM bound."""
    from dagrad.compiler.profile import line_times

    params = model.init_params(np.float32)
    x, y = model.batch(b, np.float32)
    step = compiled.mlp_train_step(params)
    step(x, y)                                   # the trace
    calls: list[tuple[float, float]] = []
    lines = line_times(step, x, y, repeat=REPEAT[ctx.mode], calls=calls)
    kinds: dict[str, float] = {}
    for line in lines:
        kinds[line.kind] = kinds.get(line.kind, 0.0) + line.seconds
    # each plain call less the timed run just before it (paired: shared slowdowns cancel)
    kinds[REST] = statistics.median(c - t for t, c in calls)
    call = sum(kinds.values())
    roof, _ = gemm_roofline(b, np.float32, tries=1 if ctx.mode == "smoke" else 5)
    times = interleave({"call": lambda: step(x, y), "gemm bound": roof}, ctx.plan)
    gemm = sum(s for k, s in kinds.items() if k.startswith("GEMM"))
    rows = [{"kind": k, "us": s * 1e6, "share": s / call} for k, s in kinds.items()]
    fraction = paired_ratio(times["gemm bound"], times["call"])
    return {"batch": b, "call_us": call * 1e6, "gemm_us": gemm * 1e6,
            "interleaved_call_us": statistics.median(times["call"]) * 1e6,
            "gemm_bound_us": statistics.median(times["gemm bound"]) * 1e6,
            "bound_fraction": fraction, "rows": rows,
            "lines": [{"text": ln.text, "kind": ln.kind, "us": ln.seconds * 1e6}
                      for ln in lines]}


def run(ctx) -> dict[str, Any]:
    """The profile at each batch size."""
    out: dict[str, Any] = {
        "title": f"Where dg.compile's MLP {'-'.join(map(str, model.SIZES))} training step "
                 "spends its time (float32, SGD)",
        "unit": "µs per step", "batches": {}, "checks": {}}
    for b in BATCHES[ctx.mode]:
        r = profile_batch(b, ctx)
        out["batches"][str(b)] = r
        out["checks"][f"B={b} figures sane"] = all(
            sane(v) for v in (r["call_us"], r["gemm_bound_us"], r["gemm_us"]))
    return out


def section(result: dict[str, Any]) -> list[str]:
    """Markdown: per batch, a table of step kinds (µs per step, share of the call)."""
    lines = [f"## {result['title']}", ""]
    for b, r in result["batches"].items():
        lines += [f"Batch {b}: the call takes {r['call_us']:,.0f} µs (the rows' sum), its GEMMs "
                  f"{r['gemm_us']:,.0f} µs of it.  Timed interleaved "
                  f"as the mlp workload does: the call {r['interleaved_call_us']:,.0f} µs, "
                  f"the eight GEMMs alone in their fastest forms (the GEMM bound) "
                  f"{r['gemm_bound_us']:,.0f} µs, {r['bound_fraction']:.2f} of the call "
                  "(paired ratio).", "",
                  "| step kind | µs per step | share |", "|---|---:|---:|"]
        for row in sorted(r["rows"], key=lambda row: -row["us"]):
            lines.append(f"| {row['kind']} | {row['us']:,.1f} | {row['share']:.1%} |")
        lines.append(f"| GEMM bound (eight GEMMs alone, interleaved) | "
                     f"{r['gemm_bound_us']:,.1f} | {r['bound_fraction']:.1%} of the "
                     "interleaved call |")
        lines.append("")
    return lines


if __name__ == "__main__":
    import argparse

    from .__main__ import Context
    from .timing import PLANS

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=tuple(PLANS), default="quick")
    args = ap.parse_args()
    res = run(Context(args.mode, PLANS[args.mode], {}, {}))
    print("\n".join(section(res)))
