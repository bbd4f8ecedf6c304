"""docs/benchmarks.md from a run's results: tables, ratios, targets, machine, profile."""

from __future__ import annotations

from typing import Any

from .profile import CATEGORIES, PHASES

PEER_ORDER = ("dagrad", "dagrad compiled", "numpy", "torch", "jax", "micrograd", "closed form",
              "gemm roofline")
LABELS = {"dagrad": "dagrad (eager)", "dagrad compiled": "dagrad (dg.compile)",
          "numpy": "hand-written NumPy", "torch": "PyTorch eager",
          "jax": "JAX jit", "micrograd": "micrograd", "closed form": "closed form (Python)",
          "gemm roofline": "GEMM roofline (np.matmul)", "python+numpy": "Python + NumPy, data only"}


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _order(names) -> list[str]:
    return sorted(names, key=lambda n: PEER_ORDER.index(n) if n in PEER_ORDER else 99)


def targets(res: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for every eager target the suite can judge."""
    rows: list[tuple[str, str, bool | None]] = []
    mlp = res.get("mlp", {}).get("batches", {})
    for b, r in mlp.items():
        for peer, goal in (("torch", 1.0), ("numpy", 0.9)):
            if peer in r["ratios"]:
                v = r["ratios"][peer]
                rows.append((f"MLP B={b}: dagrad/{LABELS[peer]} samples/s ≥ {goal}",
                             f"{v:.3f}×", v >= goal))
    for b, r in mlp.items():
        cr = r.get("compiled_ratios", {})
        if "jax" in cr:
            rows.append((f"MLP B={b}: dg.compile/JAX jit samples/s ≥ 1.0", f"{cr['jax']:.2f}×",
                         cr["jax"] >= 1.0))
        if "gemm roofline" in cr:
            rows.append((f"MLP B={b}: dg.compile fraction of the GEMM roofline (JAX: 0.73 at "
                         "B=512)", f"{cr['gemm roofline']:.2f}", None))
    cros = res.get("rosenbrock", {}).get("compiled_ratios", {})
    if "jax" in cros:
        rows.append(("Rosenbrock ∇f: dg.compile time ≤ JAX jit's", f"{cros['jax']:.2f}×",
                     cros["jax"] <= 1.0))
    ros = res.get("rosenbrock", {}).get("ratios", {})
    if "micrograd" in ros:
        rows.append(("Rosenbrock ∇f: dagrad time ≤ micrograd's", f"{ros['micrograd']:.3f}×",
                     ros["micrograd"] <= 1.0))
    ch = res.get("chain", {})
    if "micrograd" in ch.get("ratios", {}):
        v = ch["ratios"]["micrograd"]
        rows.append((f"sigmoid chain n={ch['steps']:,}: dagrad time ≤ 0.5 × micrograd's",
                     f"{v:.3f}×", v <= 0.5))
        cl = ch.get("clean_process") or {}
        if "ratio" in cl:
            rows.append(("… stricter than the target's protocol: the same in a fresh process "
                         "without PyTorch/JAX (see the chain section)", f"{cl['ratio']:.3f}×",
                         cl["ratio"] <= 0.5))
    if "long" in ch:
        lg = ch["long"]
        rows.append((f"sigmoid chain n={lg['steps']:,} runs", f"{lg['seconds']:.2f} s",
                     bool(ch["checks"].get(f"dagrad {lg['steps']:,} steps ran"))))
    for key, what in (("jacobian", "10×784 Jacobian"), ("persample", "per-sample ∇x L")):
        r = res.get(key, {}).get("ratios", {})
        if "jax" in r:
            rows.append((f"{what}: dagrad time ≤ JAX jit's", f"{r['jax']:.3f}×",
                         r["jax"] <= 1.0))
    mem = res.get("memory", {}).get("backends", {}).get("dagrad", {})
    if "maxrss_mib" in mem:
        rows.append(("peak RSS training dagrad ≤ 100 MiB", f"{mem['maxrss_mib']:.0f} MiB",
                     mem["maxrss_mib"] <= 100))
    imp = res.get("import", {}).get("backends", {}).get("dagrad")
    if imp:
        rows.append(("import dagrad ≤ 0.2 s", f"{imp['median_s']:.3f} s", imp["median_s"] <= 0.2))
    return rows


def _machine(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    lines = ["## Machine and settings", "",
             f"- date: {m['date']}; mode: `{meta['mode']}`; command: `{meta['command']}`",
             f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable); "
             f"{m['platform']}, Python {m['versions']['python']}"]
    for lib in m["blas"]:
        parts = [f"{lib.get('internal_api')} {lib.get('version') or ''}".strip()]
        if lib.get("architecture"):
            parts.append(f"kernel `{lib['architecture']}`")
        layer = f" ({lib['threading_layer']})" if lib.get("threading_layer") else ""
        parts.append(f"{lib.get('num_threads')} threads{layer}")
        lines.append(f"- {lib.get('user_api')} library (threadpoolctl): " + ", ".join(parts)
                     + f" — `{(lib.get('filepath') or '').rsplit('/', 1)[-1]}`")
    if m.get("blas_env_unset"):
        lines.append(f"- unset for the benchmark's processes: `{m['blas_env_unset']}` "
                     "(the kernel above is what OpenBLAS chose without them)")
    elif m.get("blas_env_present"):
        lines.append(f"- left in the environment: `{m['blas_env_present']}`")
    else:
        lines.append("- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: not set")
    t = meta["threads"]
    lines += [f"- threads: NumPy's BLAS limited to {t['threads']} with threadpoolctl; "
              f"PyTorch `torch.set_num_threads({t['threads']})` (reads back "
              f"{t.get('torch', '—')}); JAX `XLA_FLAGS=\"{m['xla_flags']}\"` set before "
              "importing jax (XLA:CPU then runs its intra-op pool on the 2 cores)",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)]
    if meta.get("notes"):
        lines += [f"- note: {n}" for n in meta["notes"]]
    return lines + [""]


def _simple_table(r: dict[str, Any], unit_scale: float, unit: str, ratio_head: str) -> list[str]:
    lines = [f"| backend | {unit} (median) | min – max | {ratio_head} |", "|---|---:|---:|---:|"]
    for name in _order(r["backends"]):
        s = r["backends"][name]
        ratio = "—" if name == "dagrad" else f"{r['ratios'][name]:.2f}×"
        lines.append(f"| {LABELS.get(name, name)} | {_fmt(s['median_s'] * unit_scale)} | "
                     f"{_fmt(s['min_s'] * unit_scale)} – {_fmt(s['max_s'] * unit_scale)} | "
                     f"{ratio} |")
    return lines + [""]


def _mlp(r: dict[str, Any]) -> list[str]:
    bs = list(r["batches"])
    names = _order({n for b in bs for n in r["batches"][b]["backends"]})
    lines = ["## MLP 784-256-256-10 training step (float32, SGD)", "",
             "Forward, backward and the SGD update on one MNIST batch; samples/s (median).", "",
             "| backend | " + " | ".join(f"B = {b}" for b in bs) + " |",
             "|---|" + "---:|" * len(bs)]
    for n in names:
        cells = []
        for b in bs:
            s = r["batches"][b]["backends"].get(n)
            cells.append(_fmt(s["samples_per_s"]) if s else "—")
        lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    lines += ["", "dagrad / peer, samples/s (paired by round, median; > 1: dagrad faster):", "",
              "| peer | " + " | ".join(f"B = {b}" for b in bs) + " |", "|---|" + "---:|" * len(bs)]
    for n in names:
        if n == "dagrad":
            continue
        cells = [f"{r['batches'][b]['ratios'][n]:.2f}×" if n in r["batches"][b]["ratios"] else "—"
                 for b in bs]
        lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    if any("compiled_ratios" in r["batches"][b] for b in bs):
        lines += ["", "dg.compile / peer, samples/s (paired by round, median; > 1: compiled "
                  "faster; against the roofline: the fraction of it reached):", "",
                  "| peer | " + " | ".join(f"B = {b}" for b in bs) + " |",
                  "|---|" + "---:|" * len(bs)]
        for n in names:
            if n == "dagrad compiled":
                continue
            cells = [f"{r['batches'][b]['compiled_ratios'][n]:.2f}×"
                     if n in r["batches"][b].get("compiled_ratios", {}) else "—" for b in bs]
            lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    gf = [f"B={b}: {r['batches'][b]['backends']['gemm roofline']['gflops']:.0f} GFLOP/s"
          for b in bs if "gemm roofline" in r["batches"][b]["backends"]]
    lines += ["", "The roofline times only the step's nine GEMMs (forward, weight and input "
              "gradients: 3 × 2·B·(784·256 + 256·256 + 256·10) FLOPs) with np.matmul at the "
              "same shapes — " + "; ".join(gf) + ".", ""]
    return lines


def _profile(now: dict[str, Any] | None, compare: dict[str, Any] | None) -> list[str]:
    lines = ["## Where the time goes (dagrad training step)", ""]
    if not now and not compare:
        return lines + ["(profile not run)", ""]
    lines += ["py-spy `--native` samples the main thread of a child process running the step "
              "in a loop (100 Hz, pooled over rounds); each sample is filed by its frames: BLAS "
              "anywhere on the stack is *GEMM* (OpenBLAS zeroing C included), else the "
              "innermost frame decides. *Python & dispatch* is the interpreter running dagrad's "
              "own code plus NumPy's per-call dispatch; *allocation & copies* is libc "
              "(malloc/free/memcpy/memset) and NumPy's allocator. µs per step = the share × "
              "the step's time without a profiler (median over rounds of plain child runs).", ""]
    runs = []
    if compare and "before" in compare:
        runs += [("before", compare["before"]), ("after", compare["after"])]
    if now:
        runs.append(("this run", now))
    batches = (now or compare["after"])["batches"]
    for b in batches:
        cols = [(lab, rr["batches"].get(b)) for lab, rr in runs if b in rr["batches"]]
        head = " | ".join(f"{lab}: µs/step (share)" for lab, _ in cols)
        lines += [f"### B = {b}", "", f"| category | {head} |",
                  "|---|" + "---:|" * len(cols)]
        for cat in CATEGORIES:
            cells = []
            for _, c in cols:
                spy = c["py_spy"]
                if "categories" not in spy:
                    cells.append("—")
                    continue
                share = spy["categories"][cat]
                cells.append(f"{share * c['step_us']:,.0f} ({100 * share:.0f}%)")
            lines.append(f"| {cat} | " + " | ".join(cells) + " |")
        lines.append("| **whole step** | " + " | ".join(f"**{c['step_us']:,.0f}**"
                                                       for _, c in cols) + " |")
        lines.append("")
        if compare and "paired" in compare and b in compare["paired"]:
            lines += [f"before/after: both profiled side by side, taking turns, on "
                      f"{compare.get('date', '?')} (`python -m benchmarks.profile --before-src "
                      f"DIR`, DIR = the core before this work); after/before step time, paired "
                      f"by round: {compare['paired'][b]:.2f}×.", ""]
        lab, last = cols[-1]
        if "phases" in last["py_spy"]:
            lines += [f"By phase ({lab}), µs per step:", "",
                      "| phase | " + " | ".join(CATEGORIES) + " |",
                      "|---|" + "---:|" * len(CATEGORIES)]
            for ph in PHASES:
                vals = last["py_spy"]["phases"][ph]
                lines.append(f"| {ph} | " + " | ".join(
                    f"{vals[c] * last['step_us']:,.0f}" for c in CATEGORIES) + " |")
            lines.append("")
        for lab, c in cols:
            top = c["cprofile"]["top"][:8]
            if not top or lab == "after" and now:
                continue
            lines += [f"cProfile ({lab}), own time per step (cProfile's own overhead inflates "
                      "small functions; GEMMs are inside the functions that call `@`):", "",
                      "| function | calls/step | µs/step |", "|---|---:|---:|"]
            lines += [f"| `{t['function']}` | {t['calls_per_step']:.0f} | "
                      f"{t['own_us_per_step']:.0f} |" for t in top]
            lines.append("")
    return lines


METHOD = """\
## Method

`python -m benchmarks` (`--quick`: fewer rounds; `--smoke`: every workload once at tiny sizes,
checking that the numbers are finite, positive and agree across backends; `--only NAME`;
`--json PATH`).  Peers come from the `bench` extra (`pip install -e .[bench]`); a peer that
fails to import is skipped with a note.  All backends run in one process and take turns:
each round times one block per backend (blocks of ≥ {block} s, a GC and a {pause} s pause
before each so one backend's garbage and spinning thread pools do not land in the next's
block, one untimed call to wake the pools), the order rotating from round to round; after a
warm-up (JIT compilation included), {rounds} rounds.  A round in which all backends slowed
down together (the median over backends of its time / their fastest round above 1.3: another
process took this shared machine) is dropped and replaced, up to twice the rounds
({dropped}).  Figures are medians over rounds; ratios are taken within each round, then the
median (drift of the shared machine cancels).  Peak
memory comes from one fresh subprocess per backend (`ru_maxrss`), `import dagrad` from fresh
interpreters.  All backends start from the same weights and batch; the first step's loss,
the gradients and the Jacobians are checked against each other before timing.
"""


def render(res: dict[str, Any], before_profile: dict[str, Any] | None = None) -> str:
    """The whole markdown page."""
    meta = res["meta"]
    plan = meta["plan"]
    out = ["# Benchmarks", "",
           "Generated by `python -m benchmarks` — do not edit by hand; rerun to refresh.", ""]
    tg = targets(res)
    if tg:
        out += ["## Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
        mark = {None: "—", True: "yes", False: "NO"}
        out += [f"| {t} | {m} | {mark[ok]} |" for t, m, ok in tg]
        out.append("")
    if "mlp" in res:
        out += _mlp(res["mlp"])
    tables = (("rosenbrock", "Rosenbrock ∇f at (1.5, 2.0), float64", 1e6, "µs"),
              ("chain", "Sigmoid chain h_i = σ(w_i h_{i−1}), forward + backward, float64",
               1e3, "ms"),
              ("jacobian", "Jacobian of softmax(MLP(x)) w.r.t. x, 10×784, float64", 1e3, "ms"),
              ("persample", "Per-sample ∇x L, float64", 1e3, "ms"))
    for key, title, scale, unit in tables:
        if key not in res or "backends" not in res[key]:
            continue
        r = res[key]
        extra = f", n = {r['steps']:,}" if key == "chain" else (
            f", batch {r['batch']}" if key == "persample" else "")
        out += [f"## {title}{extra}", ""]
        out += _simple_table(r, scale, unit, "dagrad / peer, time (< 1: dagrad faster)")
        if key == "chain" and "long" in r:
            out += [f"dagrad at n = {r['long']['steps']:,}: {r['long']['seconds']:.2f} s "
                    "(one run; iterative topological order, no recursion).", ""]
        cl = (r.get("clean_process") or {}) if key == "chain" else {}
        if "ratio" in cl:
            out += ["The same two again in a fresh process that has not imported PyTorch or JAX: "
                    f"dagrad {cl['ms']['dagrad']:.1f} ms, micrograd {cl['ms']['micrograd']:.1f} ms,"
                    f" dagrad / micrograd {cl['ratio']:.2f}×. micrograd's Values form reference "
                    "cycles (each `_backward` closure holds its output), so much of its time is "
                    "the garbage collector, whose full passes walk every object in the process — "
                    "in the suite's process the peers' modules too, which is where most of its "
                    "time above goes. dagrad's graph has no cycles (freed by reference counting, "
                    "inside the timed call).", ""]
    if "memory" in res:
        r = res["memory"]
        out += [f"## Peak RSS while training (batch {r['batch']}, {r['steps']} steps)", "",
                "| process | peak RSS (MiB) |", "|---|---:|"]
        for name in ("python+numpy", *_order(n for n in r["backends"] if n != "python+numpy")):
            row = r["backends"].get(name)
            if row is None:
                continue
            val = f"{row['maxrss_mib']:.0f}" if "maxrss_mib" in row else row.get(
                "skipped", row.get("error", "—"))
            out.append(f"| {LABELS.get(name, name)} | {val} |")
        out.append("")
    if "import" in res:
        r = res["import"]["backends"]
        out += ["## Import time (fresh interpreter, median)", "", "| module | seconds |",
                "|---|---:|"]
        out += [f"| `import {k}` | {v['median_s']:.3f} |" for k, v in r.items()]
        out.append("")
    if "profile" in res or before_profile:
        now = res.get("profile")
        out += _profile(now if now and "batches" in now else None, before_profile)
    out += _machine(meta)
    dropped = {k: r["disturbed_rounds_dropped"] for k, r in res.items()
               if k != "meta" and r.get("disturbed_rounds_dropped")}
    dropped_text = ("rounds dropped in this run: " + ", ".join(f"{k} {v}" for k, v in
                                                                dropped.items())
                    if dropped else "none dropped in this run")
    out += [METHOD.format(block=plan["block_s"], pause=plan["pause_s"], rounds=plan["rounds"],
                          dropped=dropped_text)]
    if meta.get("analysis"):
        out += ["## Notes", "", meta["analysis"].strip(), ""]
    return "\n".join(out)
