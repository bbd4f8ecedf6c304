"""docs/benchmarks.md from a run's results: tables, ratios, targets, threads, machine, profile.

Every figure on the page comes from the run's data (the JSON ``python -m benchmarks`` writes);
the text around the figures has none of its own (``tests/test_benchmark_claims.py`` checks).
"""

from __future__ import annotations

from typing import Any

from .profile import CATEGORIES, PHASES
from .targets import LABELS, evaluate

PEER_ORDER = ("dagrad", "dagrad compiled", "numpy", "torch", "jax", "micrograd", "closed form",
              "gemm roofline")


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _order(names) -> list[str]:
    return sorted(names, key=lambda n: PEER_ORDER.index(n) if n in PEER_ORDER else len(PEER_ORDER))


def _unit(v: str, unit: str) -> str:
    return f"{v}{unit}" if unit in ("×", "") else f"{v} {unit}"


def _targets(rows: list[dict[str, Any]]) -> list[str]:
    mark = {None: "—", True: "yes", False: "NO"}
    out = ["## Targets", "", "| target | goal | measured | met |", "|---|---:|---:|:---:|"]
    for t in rows:
        goal = "—" if t["goal"] is None else f"{t['rel']} " + _unit(f"{t['goal']:g}", t["unit"])
        measured = _unit(f"{t['measured']:.3g}", t["unit"])
        out.append(f"| {t['what']} | {goal} | {measured} | {mark[t['met']]} |")
    return out + [""]


def _parallelism(meta: dict[str, Any]) -> list[str]:
    p = meta.get("parallelism")
    if not p:
        return []
    seen, n = p["observed"], p["threads"]
    cpus = ", ".join(str(c) for c in seen["affinity"])
    lines = ["## CPUs and threads (as each library reports them)", "",
             f"Every backend runs in processes pinned with `os.sched_setaffinity` to CPUs "
             f"{cpus} and is given {n} threads by its own documented mechanism. What the "
             "libraries say they use, read at the end of the run:", ""]
    env = {k: v for k, v in seen["environment"].items() if v}
    lines.append("- environment: " + ", ".join(f"`{k}={v}`" for k, v in env.items()))
    for lib in seen["threadpoolctl"]:
        lines.append(f"- threadpoolctl: {lib['internal_api']} ({lib['user_api']}) — "
                     f"`num_threads` {lib['num_threads']} — "
                     f"`{(lib.get('filepath') or '').rsplit('/', 1)[-1]}`")
    if seen.get("numpy_blas"):
        nb = seen["numpy_blas"]
        lines.append(f"- `numpy.show_config()`: BLAS {nb.get('name')} {nb.get('version')}"
                     + (f" — `{nb['openblas configuration']}`"
                        if nb.get("openblas configuration") else ""))
    if "torch" in seen:
        t = seen["torch"]
        lines.append(f"- PyTorch: `torch.get_num_threads()` {t['get_num_threads']}, "
                     f"`torch.get_num_interop_threads()` {t['get_num_interop_threads']}; "
                     "`torch.__config__.parallel_info()`: "
                     + "; ".join(f"`{x}`" for x in t["parallel_info"]))
    if "jax" in seen:
        j = seen["jax"]
        pool = j["xla_pool_threads"]
        lines.append(f"- JAX: `jax.devices()` {', '.join(j['devices'])} "
                     f"(backend `{j['default_backend']}`); XLA:CPU's intra-op pool "
                     + (f"has {pool} threads (OS threads named `{p['xla_pool_name']}`)"
                        if pool is not None else "was not seen (JAX ran nothing)")
                     + ". XLA has no documented thread-count flag: its pool follows the CPUs "
                     "the process may use, so the suite sets no `XLA_FLAGS`.")
    census = ", ".join(f"{k} × {v}" for k, v in seen["os_threads"].items())
    lines.append(f"- threads of the benchmark process by OS name: {census}")
    bad = [k for k, ok in p["checks"].items() if not ok]
    lines.append("- checks: " + ("every pool has one thread per CPU, no XLA flags" if not bad
                                 else "FAILED: " + "; ".join(bad)))
    return lines + [""]


def _machine(meta: dict[str, Any]) -> list[str]:
    m = meta["machine"]
    lines = ["## Machine and settings", "",
             f"- date: {m['date']}; mode: `{meta['mode']}`; command: `{meta['command']}`",
             f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} used); "
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
    lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v))
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


def _by_batch(r: dict[str, Any], names: list[str], key: str, cell) -> list[str]:
    bs = list(r["batches"])
    lines = ["| backend | " + " | ".join(f"B = {b}" for b in bs) + " |",
             "|---|" + "---:|" * len(bs)]
    for n in names:
        cells = [cell(r["batches"][b][key][n]) if n in r["batches"][b].get(key, {}) else "—"
                 for b in bs]
        if any(c != "—" for c in cells):
            lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    return lines + [""]


def _roofline(r: dict[str, Any]) -> list[str]:
    bs = list(r["batches"])
    first = r["batches"][bs[0]]
    if "gemms" not in first:
        return []
    counts = first["gemm_counts"]
    lines = [f"The GEMM roofline is a bound: it times exactly the {counts['total']} GEMMs that "
             f"one SGD training step of this MLP needs — {counts['forward']} forward, "
             f"{counts['weight gradient']} weight gradients and {counts['input gradient']} "
             "input gradients (the first layer's input is the data, which needs no gradient) "
             "— with np.matmul in NumPy's BLAS, nothing else. Each GEMM C = A·B runs in the "
             "fastest of its BLAS forms (C = A·B or Cᵀ = Bᵀ·Aᵀ, each operand as stored or "
             "transposed: N/T), picked once by timing them all. Its time bounds every backend "
             "whose GEMMs are NumPy's BLAS (dagrad, dg.compile, hand-written NumPy); PyTorch "
             "and JAX call other GEMM kernels, so their fraction compares against a different "
             "library. The GEMMs, m×k · k×n, and the form used:", "",
             "| GEMM | " + " | ".join(f"B = {b}" for b in bs) + " |",
             "|---|" + "---|" * len(bs)]
    for i, g in enumerate(first["gemms"]):
        cells = []
        for b in bs:
            c = r["batches"][b]["gemms"][i]
            cells.append(f"{c['m']}×{c['k']} · {c['k']}×{c['n']}, {c['form']}")
        lines.append(f"| {g['gemm']} | " + " | ".join(cells) + " |")
    lines += ["", "| per step | " + " | ".join(f"B = {b}" for b in bs) + " |",
              "|---|" + "---:|" * len(bs),
              "| GEMM FLOPs | " + " | ".join(f"{r['batches'][b]['flops_per_step']:,}"
                                          for b in bs) + " |",
              "| roofline GFLOP/s | " + " | ".join(
                  _fmt(r["batches"][b]["backends"]["gemm roofline"]["gflops"]) for b in bs)
              + " |", "",
              "Fraction of the roofline reached (roofline time / backend time, paired by round, "
              "median; above one means faster than the bound — noise, or GEMMs that are not "
              "NumPy's BLAS):", ""]
    names = _order({n for b in bs for n in r["batches"][b].get("roofline_fraction", {})})
    lines += _by_batch(r, names, "roofline_fraction", lambda v: f"{v:.2f}")
    return lines


def _mlp(r: dict[str, Any]) -> list[str]:
    bs = list(r["batches"])
    names = _order({n for b in bs for n in r["batches"][b]["backends"]})
    lines = [f"## {r['title']}", "",
             "Forward, backward and the SGD update on one MNIST batch; samples/s (median).", "",
             "| backend | " + " | ".join(f"B = {b}" for b in bs) + " |",
             "|---|" + "---:|" * len(bs)]
    for n in names:
        cells = []
        for b in bs:
            s = r["batches"][b]["backends"].get(n)
            cells.append(_fmt(s["samples_per_s"]) if s else "—")
        lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    lines += ["", "dagrad / peer, samples/s (paired by round, median; above one: dagrad "
              "faster):", ""]
    lines += _by_batch(r, names, "ratios", lambda v: f"{v:.2f}×")
    if any("compiled_ratios" in r["batches"][b] for b in bs):
        lines += ["dg.compile / peer, samples/s (paired by round, median; above one: compiled "
                  "faster):", ""]
        lines += _by_batch(r, names, "compiled_ratios", lambda v: f"{v:.2f}×")
    forms = [f"B = {b}: " + ", ".join(f"{g} as {f}" for g, f in r["batches"][b]["linear_forms"]
                                      .items())
             for b in bs if r["batches"][b].get("linear_forms")]
    if forms:
        lines += ["Eager `linear`'s GEMM form, chosen by timing both on first use (only "
                  "mid-sized products are timed: `dagrad.tuning.ORIENT_MIN_WORK` to "
                  "`ORIENT_MAX_WORK` multiply-adds; the others keep x Wᵀ): "
                  + "; ".join(forms) + ".", ""]
    return lines + _roofline(r)


def _fresh(r: dict[str, Any]) -> list[str]:
    if "trees" not in r:
        return []
    lines = ["## dagrad against micrograd in fresh processes", "",
             f"Each process imports only dagrad and micrograd; the garbage collector stays on "
             f"at its default thresholds. A timed block is several consecutive calls — each "
             f"builds the graph, backpropagates and drops it — and then `gc.collect()`, so "
             f"the block pays for reclaiming every graph it made (micrograd's Values form "
             f"reference cycles; dagrad's graph is freed by reference counting); the time of a "
             f"collection on the clean heap, the same for both, is subtracted. The two take "
             f"turns, {r['rounds']} rounds per process; a process's ratio is the median over "
             f"its rounds of dagrad's time / micrograd's, and a tree's the median over its "
             f"{r['processes']} processes, the trees taking turns "
             f"(`python -m benchmarks.versus_micrograd`).", "",
             "| dagrad tree | workload | dagrad ms | micrograd ms | dagrad / micrograd, time "
             "| per process |", "|---|---|---:|---:|---:|---|"]
    for src, t in r["trees"].items():
        who = "before" if src == r.get("before") else "this checkout" if src == r.get(
            "after") else "tree"
        for w, x in t["workloads"].items():
            each = ", ".join(f"{v:.2f}" for v in x["process_ratios"])
            lines.append(f"| {who} (`{src}`, {t['digest']}) | {w} | {_fmt(x['ms']['dagrad'])} | "
                         f"{_fmt(x['ms']['micrograd'])} | {x['ratio']:.2f}× | {each} |")
    return lines + [""]


def _profile_runs(prof: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    if "before" in prof:
        return [("before", prof["before"]), ("after", prof["after"])]
    return [("this run", prof)]


def _profile(prof: dict[str, Any]) -> list[str]:
    lines = ["## Where the time goes (dagrad training step)", ""]
    runs = _profile_runs(prof)
    rate = prof.get("rate_hz")
    lines += ["py-spy `--native` samples the main thread of a child process running the step "
              f"in a loop ({_fmt(rate)} Hz, pooled over rounds); each sample is filed by its "
              "frames: BLAS anywhere on the stack is *GEMM* (OpenBLAS zeroing C included), else "
              "the innermost frame decides. *Python & dispatch* is the interpreter running "
              "dagrad's own code plus NumPy's per-call dispatch; *allocation & copies* is libc "
              "(malloc/free/memcpy/memset) and NumPy's allocator. µs per step = the share × "
              "the step's time without a profiler (median over rounds of plain child runs).", ""]
    if "before" in prof:
        lines += [f"before: dagrad from `{prof.get('before_src', '?')}`; after: this checkout; "
                  "profiled side by side, taking turns.", ""]
    for b in runs[-1][1]["batches"]:
        cols = [(lab, rr["batches"][b]) for lab, rr in runs if b in rr["batches"]]
        lines += [f"### B = {b}", ""]
        if any("categories" in c["py_spy"] for _, c in cols):
            head = " | ".join(f"{lab}: µs/step (share)" for lab, _ in cols)
            lines += [f"| category | {head} |", "|---|" + "---:|" * len(cols)]
            for cat in CATEGORIES:
                cells = []
                for _, c in cols:
                    share = c["py_spy"].get("categories", {}).get(cat)
                    cells.append("—" if share is None else
                                 f"{share * c['step_us']:,.0f} ({100 * share:.0f}%)")
                lines.append(f"| {cat} | " + " | ".join(cells) + " |")
        else:
            lines += [f"({cols[-1][1]['py_spy'].get('skipped', 'no py-spy samples')})", "",
                      "| | " + " | ".join(lab for lab, _ in cols) + " |",
                      "|---|" + "---:|" * len(cols)]
        lines.append("| **whole step, µs** | " + " | ".join(f"**{c['step_us']:,.0f}**"
                                                           for _, c in cols) + " |")
        lines.append("")
        if "paired" in prof and b in prof["paired"]:
            lines += [f"after/before step time, paired by round: {prof['paired'][b]:.2f}×.", ""]
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
            if not top:
                continue
            lines += [f"cProfile ({lab}), own time per step (cProfile's own overhead inflates "
                      "small functions; GEMMs are inside the functions that call `@`):", "",
                      "| function | calls/step | µs/step |", "|---|---:|---:|"]
            lines += [f"| `{t['function']}` | {t['calls_per_step']:.0f} | "
                      f"{t['own_us_per_step']:.0f} |" for t in top]
            lines.append("")
    return lines


def _training(r: dict[str, Any]) -> list[str]:
    """dagrad train against the same run in PyTorch: wall time, peak RSS, accuracy per run."""
    sizes = "-".join(str(n) for n in r["sizes"])
    order = ", ".join("PyTorch" if w == "torch" else w for w in r["order"])
    lines = [f"## {r['title']}", "",
             f"`dagrad train --dataset {r['dataset']} --epochs {r['epochs']} --batch-size "
             f"{r['batch']} --no-progress` against `python -m benchmarks.torch_train`, the same "
             f"run written in PyTorch: the {sizes} tanh MLP, softmax cross-entropy, Adam at its "
             "default learning rate with a cosine schedule over the run, standardised inputs, "
             f"{r['train']:,} training and {r['test']:,} test images, the test set evaluated "
             "after every epoch; the script starts from dagrad's initial weights and takes "
             "dagrad's epoch order, so the two runs differ only in rounding. Each is a "
             "separate command, run one after the other in the "
             f"order {order}, with one thread per CPU by its own mechanism. Wall time is the "
             "command's, start to exit (interpreter start, imports, data loading, evaluation, "
             "and dagrad's checkpoint, metrics and plots every epoch included); peak RSS is "
             "the command's own (`os.wait4` in a small measuring process).", "",
             "| command | wall time (s) | peak RSS (MiB) | test accuracy | seconds per "
             "epoch (median) |", "|---|---:|---:|---:|---:|"]
    for name, rows in r["runs"].items():
        label = "dagrad train" if name == "dagrad" else "PyTorch script"
        for row in rows:
            per_epoch = sorted(row["epoch_s"])[len(row["epoch_s"]) // 2]
            lines.append(f"| {label} | {row['wall_s']:.1f} | {row['maxrss_mib']:.0f} | "
                         f"{100 * row['test_acc']:.2f}% | {per_epoch:.2f} |")
    by_round = ", ".join(f"{x:.2f}×" for x in r["time_ratios"])
    lines += ["", f"dagrad / PyTorch wall time, by round: {by_round} (median "
              f"{r['time_ratio']:.2f}×); test accuracy, dagrad − PyTorch: "
              f"{r['accuracy_gap_points']:+.2f} points.", ""]
    if "fastest_epoch_s" in r:
        f = r["fastest_epoch_s"]
        lines += [f"The fastest training epoch of each (the loop alone, without the test "
                  f"evaluation; the least disturbed by other processes): dagrad "
                  f"{f['dagrad']:.2f} s, PyTorch {f['torch']:.2f} s, dagrad / PyTorch "
                  f"{r['fastest_epoch_ratio']:.2f}×.", ""]
    return lines


def _compile_scaling(r: dict[str, Any]) -> list[str]:
    """dg.compile's phases on chains of growing length."""
    lines = [f"## {r['title']}", "",
             "The gradient of a chain of tanh links (each link scales tanh of the previous "
             "one by a constant), compiled with `dg.compile`; each length in a fresh process "
             "(`python -m benchmarks.compile_scaling`). The first call traces, plans and builds "
             "the replay (a generated function, or interpreted steps past the generated "
             "form's size limit); the second replays.", "",
             "| links | plan items | replay form | trace (s) | plan (s) | build (s) | first "
             "call (s) | µs per item | replay (ms) | peak RSS (MiB) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        lines.append(f"| {row['links']:,} | {row['items']:,} | {row['form']} | "
                     f"{row['trace_s']:.2f} | {row['plan_s']:.2f} | {row['generate_s']:.2f} | "
                     f"{row['first_call_s']:.2f} | {row['us_per_item']:.1f} | "
                     f"{1e3 * row['replay_s']:.2f} | {row['peak_rss_mib']:.0f} |")
    if r.get("growth_exponent") is not None:
        lines += ["", f"First-call time grows as itemsᵖ with p = {r['growth_exponent']:.2f} "
                  "from the shortest chain to the longest (one: linear)."]
    return lines + [""]


METHOD = """\
## Method

`python -m benchmarks` (`--quick`: fewer rounds; `--smoke`: every workload once at tiny sizes,
checking that the numbers are finite, positive and agree across backends; `--only NAME`;
`--json PATH`; `--cpus LIST`; `--baseline-src DIR` adds an older dagrad to the fresh-process
and profile comparisons).  Peers come from the `bench` extra (`pip install -e .[bench]`); a
peer that fails to import is skipped with a note.  All backends run in one process and take
turns: each round times one block per backend (blocks of at least {block} s, a GC and a
{pause} s pause before each so one backend's garbage and spinning thread pools do not land
in the next's block, one untimed call to wake the pools), the order rotating from round to
round; after a warm-up (JIT compilation included), {rounds} rounds.  A round in which all
backends slowed down together (the median over backends of its time / their fastest round
above {factor}: another process took this shared machine) is dropped and replaced, up to
twice the rounds ({dropped}).  Figures are medians over rounds; ratios are taken within each
round, then the median (drift of the shared machine cancels).  Peak memory comes from one
fresh subprocess per backend (`ru_maxrss`), `import dagrad` from fresh interpreters.  All
backends start from the same weights and batch; the first step's loss, the gradients and the
Jacobians are checked against each other before timing.
"""


def render(res: dict[str, Any], notes: str | None = None) -> str:
    """The whole markdown page (``notes``: benchmarks/notes.md, appended as they are)."""
    meta = res["meta"]
    plan = meta["plan"]
    out = ["# Benchmarks", "",
           "Generated by `python -m benchmarks` from `docs/benchmarks.json` — do not edit by "
           "hand; rerun to refresh.", ""]
    rows = res.get("targets")
    if rows is None:
        rows = evaluate(res)
    if rows:
        out += _targets(rows)
    out += _parallelism(meta)
    if "mlp" in res and "batches" in res["mlp"]:
        out += _mlp(res["mlp"])
    for key, scale, unit in (("rosenbrock", 1e6, "µs"), ("chain", 1e3, "ms"),
                             ("jacobian", 1e3, "ms"), ("persample", 1e3, "ms")):
        if key not in res or "backends" not in res[key]:
            continue
        r = res[key]
        extra = f", n = {r['steps']:,}" if key == "chain" else ""
        out += [f"## {r['title']}{extra}", ""]
        out += _simple_table(r, scale, unit, "dagrad / peer, time (below one: dagrad faster)")
        if key == "chain" and "long" in r:
            out += [f"dagrad at n = {r['long']['steps']:,}: {r['long']['seconds']:.2f} s "
                    "(one run; iterative topological order, no recursion).", ""]
    if "fresh" in res:
        out += _fresh(res["fresh"])
    if "memory" in res and "backends" in res["memory"]:
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
    if "training" in res and "summary" in res["training"]:
        out += _training(res["training"])
    if "import" in res and "backends" in res["import"]:
        r = res["import"]["backends"]
        out += ["## Import time (fresh interpreter, median)", "", "| module | seconds |",
                "|---|---:|"]
        out += [f"| `import {k}` | {v['median_s']:.3f} |" for k, v in r.items()]
        out.append("")
    if "compile_scaling" in res and res["compile_scaling"].get("rows"):
        out += _compile_scaling(res["compile_scaling"])
    if "profile" in res and "batches" in _profile_runs(res["profile"])[-1][1]:
        out += _profile(res["profile"])
    if "compile_profile" in res and res["compile_profile"].get("batches"):
        from .compile_profile import section

        out += section(res["compile_profile"])
    out += _machine(meta)
    dropped = {k: r["disturbed_rounds_dropped"] for k, r in res.items()
               if isinstance(r, dict) and r.get("disturbed_rounds_dropped")}
    dropped_text = ("rounds dropped in this run: " + ", ".join(f"{k} {v}" for k, v in
                                                                dropped.items())
                    if dropped else "none dropped in this run")
    out += [METHOD.format(block=plan["block_s"], pause=plan["pause_s"], rounds=plan["rounds"],
                          factor=plan["disturbed_factor"], dropped=dropped_text)]
    if notes:
        out += ["## Notes", "", notes.strip(), ""]
    return "\n".join(out)
