"""The suite's targets and how a run measured against them (rows stored in the run's JSON)."""

from __future__ import annotations

from typing import Any

LABELS = {"dagrad": "dagrad (eager)", "dagrad compiled": "dagrad (dg.compile)",
          "numpy": "hand-written NumPy", "torch": "PyTorch eager",
          "jax": "JAX jit", "micrograd": "micrograd", "closed form": "closed form (Python)",
          "gemm roofline": "GEMM roofline (np.matmul)", "python+numpy": "Python + NumPy, data only"}

#: Goals (issue 21): dagrad/peer samples/s (MLP, at least), dagrad/peer time (at most),
#: resources.
MLP_EAGER = {"torch": 1.0, "numpy": 0.95}
MLP_COMPILED = {"jax": 1.05}
#: dg.compile's fraction of the eight-GEMM roofline, at these batch sizes (at least).
ROOFLINE_COMPILED = {512: 0.92}
ROSENBROCK_EAGER_VS_MICROGRAD = 1.0
ROSENBROCK_COMPILED_VS_JAX = 1.0
CHAIN_VS_MICROGRAD = 0.5
#: dagrad / micrograd time in fresh processes, collector at its defaults (at most).
FRESH_VS_MICROGRAD = {"rosenbrock": 0.7, "chain": 0.5}
JAX_TIME = {"jacobian": 1.0, "persample": 1.0}
PEAK_RSS_MIB = 100.0
IMPORT_S = 0.2
#: dg.compile's first call (trace, plan, build) on a chain of at least this many links (s).
COMPILE_LINKS = 100_000
COMPILE_S = 10.0
#: First-call time ∝ itemsᵖ: p at most this (linear growth, with room for noise).
COMPILE_GROWTH = 1.1
#: ``dagrad train`` on Fashion-MNIST against the same run in PyTorch.
TRAIN_RSS_MIB = 300.0
TRAIN_TIME_VS_TORCH = 0.8
TRAIN_ACCURACY_POINTS = 0.3


def _row(what: str, rel: str, goal: float | None, measured: float, unit: str) -> dict[str, Any]:
    met = None if goal is None else (measured >= goal if rel == "≥" else measured <= goal)
    return {"what": what, "rel": rel, "goal": goal, "measured": measured, "unit": unit,
            "met": met}


def _fresh_ratio(res: dict[str, Any], workload: str) -> float | None:
    fresh = res.get("fresh", {})
    tree = fresh.get("trees", {}).get(fresh.get("after") or "", {})
    return tree.get("workloads", {}).get(workload, {}).get("ratio")


def evaluate(res: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target the run can judge: what, relation, goal, measured, unit, met."""
    rows = []
    mlp = res.get("mlp", {}).get("batches", {})
    for b, r in mlp.items():
        for peer, goal in MLP_EAGER.items():
            if peer in r["ratios"]:
                rows.append(_row(f"MLP B={b}: dagrad/{LABELS[peer]} samples/s", "≥", goal,
                                 r["ratios"][peer], "×"))
    for b, r in mlp.items():
        for peer, goal in MLP_COMPILED.items():
            if peer in r.get("compiled_ratios", {}):
                rows.append(_row(f"MLP B={b}: dg.compile/{LABELS[peer]} samples/s", "≥", goal,
                                 r["compiled_ratios"][peer], "×"))
    for b, r in mlp.items():
        goal = ROOFLINE_COMPILED.get(int(b))
        frac = r.get("roofline_fraction", {}).get("dagrad compiled")
        if goal is not None and frac is not None:
            rows.append(_row(f"MLP B={b}: dg.compile's fraction of the GEMM roofline", "≥", goal,
                             frac, "×"))
    ros = res.get("rosenbrock", {})
    if "jax" in ros.get("compiled_ratios", {}):
        rows.append(_row("Rosenbrock ∇f: dg.compile time / JAX jit's", "≤",
                         ROSENBROCK_COMPILED_VS_JAX, ros["compiled_ratios"]["jax"], "×"))
    if "micrograd" in ros.get("ratios", {}):
        rows.append(_row("Rosenbrock ∇f: dagrad time / micrograd's", "≤",
                         ROSENBROCK_EAGER_VS_MICROGRAD, ros["ratios"]["micrograd"], "×"))
    fr = _fresh_ratio(res, "rosenbrock")
    if fr is not None:
        rows.append(_row("… in a fresh process, collector at its defaults (see below)", "≤",
                         FRESH_VS_MICROGRAD["rosenbrock"], fr, "×"))
    ch = res.get("chain", {})
    if "micrograd" in ch.get("ratios", {}):
        rows.append(_row(f"sigmoid chain n={ch['steps']:,}: dagrad time / micrograd's", "≤",
                         CHAIN_VS_MICROGRAD, ch["ratios"]["micrograd"], "×"))
    fr = _fresh_ratio(res, "chain")
    if fr is not None:
        rows.append(_row("… in a fresh process, collector at its defaults (see below)", "≤",
                         FRESH_VS_MICROGRAD["chain"], fr, "×"))
    if "long" in ch:
        lg = ch["long"]
        row = _row(f"sigmoid chain n={lg['steps']:,} runs (seconds)", "", None, lg["seconds"],
                   "s")
        row["met"] = bool(lg["dh_dw_n"] > 0)
        rows.append(row)
    for key, goal in JAX_TIME.items():
        r = res.get(key, {})
        if "jax" in r.get("ratios", {}):
            what = r.get("title", key).split(",")[0]
            rows.append(_row(f"{what}: dagrad time / JAX jit's", "≤", goal, r["ratios"]["jax"],
                             "×"))
        if "jax" in r.get("compiled_ratios", {}):
            what = r.get("title", key).split(",")[0]
            rows.append(_row(f"{what}: dg.compile time / JAX jit's", "≤", goal,
                             r["compiled_ratios"]["jax"], "×"))
    mem = res.get("memory", {}).get("backends", {}).get("dagrad", {})
    if "maxrss_mib" in mem:
        rows.append(_row("peak RSS training dagrad", "≤", PEAK_RSS_MIB, mem["maxrss_mib"], "MiB"))
    imp = res.get("import", {}).get("backends", {}).get("dagrad")
    if imp:
        rows.append(_row("import dagrad", "≤", IMPORT_S, imp["median_s"], "s"))
    rows += _compile_rows(res.get("compile_scaling", {}))
    rows += _training_rows(res.get("training", {}))
    return rows


def _compile_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """dg.compile's first call on the longest chain (goal from COMPILE_LINKS on), its growth."""
    if not r.get("rows"):
        return []
    last = r["rows"][-1]
    goal = COMPILE_S if last["links"] >= COMPILE_LINKS else None
    rows = [_row(f"dg.compile of a {last['links']:,}-link chain's gradient: first call", "≤",
                 goal, last["first_call_s"], "s")]
    if r.get("growth_exponent") is not None:
        first = r["rows"][0]
        rows.append(_row(f"… its growth from {first['links']:,} links: time ∝ itemsᵖ, p", "≤",
                         COMPILE_GROWTH if goal is not None else None, r["growth_exponent"],
                         ""))
    return rows


def _training_rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """dagrad train against PyTorch: peak RSS, wall time, test accuracy."""
    if "summary" not in r:
        return []
    what = f"dagrad train, {r['dataset']}, {r['epochs']} epochs"
    d = r["summary"]["dagrad"]
    return [_row(f"{what}: peak RSS", "≤", TRAIN_RSS_MIB, d["maxrss_mib"], "MiB"),
            _row(f"{what}: wall time / PyTorch's", "≤", TRAIN_TIME_VS_TORCH, r["time_ratio"],
                 "×"),
            _row(f"{what}: test accuracy apart from PyTorch's (either way)", "≤",
                 TRAIN_ACCURACY_POINTS, abs(r["accuracy_gap_points"]), "points")]
