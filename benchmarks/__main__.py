"""``python -m benchmarks``: run the workloads side by side, write JSON and docs/benchmarks.md."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from . import WORKLOADS, env, timing

ROOT = Path(__file__).resolve().parents[1]
JSON = ROOT / "docs" / "benchmarks.json"
DOCS = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
MODULES = {"mlp": "mlp", "rosenbrock": "rosenbrock", "chain": "chain", "jacobian": "jacobian",
           "persample": "persample", "fresh": "versus_micrograd", "memory": "memory",
           "import": "importtime", "profile": "profile", "compile_profile": "compile_profile",
           "compile_scaling": "compile_scaling",
           "training": "training"}
PEERS = ("torch", "jax", "micrograd")


@dataclasses.dataclass
class Context:
    """What a workload needs: the mode, the timing plan, the peers, the child environment."""

    mode: str
    plan: Any
    peers: dict[str, Any]
    child_env: dict[str, str]
    baseline_src: str | None = None

    def peer(self, name: str) -> Any:
        """The imported peer module, or None when it is skipped."""
        return self.peers.get(name)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer rounds and shorter blocks")
    ap.add_argument("--smoke", action="store_true",
                    help="every workload once at tiny sizes; check the numbers; no docs")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help=f"run only these workloads (repeat or comma-separate): "
                         f"{', '.join(WORKLOADS)}")
    ap.add_argument("--json", metavar="PATH", help="write the results here")
    ap.add_argument("--peers", default=",".join(PEERS),
                    help=f"comma-separated peers to import (default {','.join(PEERS)}; "
                         "'none' for dagrad and NumPy only)")
    ap.add_argument("--docs", metavar="PATH",
                    help="markdown report (default docs/benchmarks.md, with docs/benchmarks.json "
                         "and the README's speed block, after a full or quick run of every "
                         "workload)")
    ap.add_argument("--no-docs", action="store_true", help="do not write the markdown report")
    ap.add_argument("--from-json", metavar="PATH",
                    help="run nothing: rewrite the markdown report and the README's speed "
                         "block from a saved --json result (e.g. docs/benchmarks.json)")
    ap.add_argument("--readme", metavar="PATH",
                    help="README whose generated speed block is rewritten (default README.md "
                         "whenever docs/benchmarks.md is written)")
    ap.add_argument("--cpus", metavar="LIST",
                    help="comma-separated CPUs to pin every backend to (default: all this "
                         "process may use); each library gets one thread per CPU")
    ap.add_argument("--baseline-src", metavar="DIR",
                    help="a src/ directory holding an older dagrad: the fresh-process "
                         "comparison with micrograd and the profile run it beside this one")
    ap.add_argument("--keep-blas-env", action="store_true",
                    help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (default: unset them in "
                         "the benchmark's own processes)")
    args = ap.parse_args(argv)
    names: list[str] = []
    for item in args.only or []:
        names += [n.strip() for n in item.split(",") if n.strip()]
    bad = [n for n in names if n not in WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {', '.join(bad)}; choose from {', '.join(WORKLOADS)}")
    args.names = names or list(WORKLOADS)
    try:
        args.cpu_list = [int(c) for c in args.cpus.split(",")] if args.cpus else None
    except ValueError:
        ap.error(f"--cpus {args.cpus!r}: expected comma-separated CPU numbers, e.g. 0,1")
    if args.baseline_src and not (Path(args.baseline_src) / "dagrad" / "__init__.py").is_file():
        ap.error(f"--baseline-src {args.baseline_src}: no dagrad package there (expected "
                 f"{args.baseline_src}/dagrad/__init__.py)")
    args.mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    args.peer_names = [p.strip() for p in args.peers.split(",") if p.strip() not in ("", "none")]
    if any(p not in PEERS for p in args.peer_names):
        ap.error(f"--peers: choose from {', '.join(PEERS)} or none")
    return args


def _reexec_without_blas_env(args: argparse.Namespace) -> int | None:
    """Rerun in a child without the OpenBLAS overrides (never in smoke mode, i.e. for tests)."""
    if args.smoke or args.keep_blas_env or os.environ.get(env.UNSET_NOTE):
        return None
    if not any(k in os.environ for k in env.BLAS_ENV):
        return None
    child = env.child_environ(unset_blas=True)
    print(f"unsetting {child[env.UNSET_NOTE]} for the benchmark's processes", flush=True)
    return subprocess.call([sys.executable, "-m", "benchmarks", *sys.argv[1:]], env=child)


def _checks(res: dict[str, Any]) -> list[str]:
    bad = []
    for name, r in res.items():
        if name in ("meta", "targets"):
            continue
        if "error" in r:
            bad.append(f"{name}: {r['error']}")
        for what, ok in r.get("checks", {}).items():
            if not ok:
                bad.append(f"{name}: {what}")
    return bad


def _console(name: str, r: dict[str, Any]) -> None:
    if "error" in r:
        print(f"  {name}: ERROR {r['error']}")
        return
    if name == "mlp":
        for b, row in r["batches"].items():
            cells = ", ".join(f"{k} {v['samples_per_s']:,.0f}" for k, v in row["backends"].items())
            ratios = ", ".join(f"{k} {v:.2f}×" for k, v in row["ratios"].items())
            print(f"  B={b}: samples/s {cells}\n         dagrad/peer {ratios}")
    elif "ratios" in r:
        cells = ", ".join(f"{k} {1e3 * v['median_s']:.4g} ms" for k, v in r["backends"].items())
        ratios = ", ".join(f"{k} {v:.2f}×" for k, v in r["ratios"].items())
        print(f"  {cells}\n  dagrad/peer time {ratios}")
    elif name == "fresh" and "trees" in r:
        for src, t in r["trees"].items():
            print(f"  {src}: " + ", ".join(f"{w} dagrad/micrograd {x['ratio']:.3f}×"
                                          for w, x in t["workloads"].items()))
    elif name == "memory":
        print("  " + ", ".join(f"{k} {v.get('maxrss_mib', 0):.0f} MiB" if "maxrss_mib" in v
                               else f"{k} {v.get('skipped') or v.get('error')}"
                               for k, v in r["backends"].items()))
    elif name == "import":
        print("  " + ", ".join(f"import {k} {v['median_s']:.3f} s" for k, v in
                               r["backends"].items()))
    elif name == "training" and "summary" in r:
        s = r["summary"]
        print("  " + ", ".join(f"{k} {v['wall_s']:.1f} s, {v['maxrss_mib']:.0f} MiB, "
                               f"{100 * v['test_acc']:.2f}%" for k, v in s.items())
              + f"; dagrad/PyTorch time {r['time_ratio']:.2f}×")
    elif name == "compile_profile" and "batches" in r:
        for b, row in r["batches"].items():
            print(f"  B={b}: {row['call_us']:,.0f} µs/step, GEMMs {row['gemm_us']:,.0f} µs; "
                  f"GEMM bound {row['bound_fraction']:.2f} of the call")
    elif name == "compile_scaling":
        last = r["rows"][-1]
        print(f"  {last['links']:,} links: first call {last['first_call_s']:.2f} s; growth "
              f"exponent {r['growth_exponent']:.2f}")
    elif name == "profile":
        runs = {k: r[k] for k in ("before", "after")} if "before" in r else {"this run": r}
        for lab, run in runs.items():
            for b, row in run["batches"].items():
                cats = row["py_spy"].get("categories")
                share = ", ".join(f"{k.split(' (')[0]} {100 * v:.0f}%" for k, v in
                                  cats.items()) if cats else row["py_spy"].get("skipped")
                print(f"  {lab}, B={b}: {row['step_us']:,.0f} µs/step — {share}")


def write_outputs(res: dict[str, Any], json_path: str | None, docs: str | None,
                  readme: str | None) -> None:
    """Write the JSON, the markdown report and the README's speed block (each atomically)."""
    from .files import write_text
    from .readme import update_readme
    from .report import render

    if json_path:
        write_text(json_path, json.dumps(res, indent=1, default=str) + "\n")
        print(f"wrote {json_path}")
    if docs:
        notes = NOTES.read_text() if NOTES.is_file() else None
        write_text(docs, render(res, notes))
        print(f"wrote {docs}")
    if readme:
        update_readme(readme, res)
        print(f"rewrote the speed block of {readme}")


NOTES = Path(__file__).with_name("notes.md")


def _parallelism(cpus: list[int], applied: dict[str, Any]) -> dict[str, Any]:
    """What the run set, what each library says it uses, and whether they agree."""
    seen = env.observe()
    return {"cpus": cpus, "threads": len(cpus), "set": {k: os.environ[k] for k in env.THREAD_VARS},
            "applied": applied, "observed": seen, "checks": env.fairness(seen),
            "xla_pool_name": env.XLA_POOL_THREAD}


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 when every check passes."""
    args = parse(argv)
    full_set = args.names == list(WORKLOADS) and args.mode != "smoke" and not args.no_docs
    docs = None if args.no_docs else args.docs or (str(DOCS) if full_set or args.from_json
                                                   else None)
    readme = args.readme or (str(README) if docs == str(DOCS) else None)
    if args.from_json:
        res = json.loads(Path(args.from_json).read_text())
        write_outputs(res, None, docs, readme)
        return 0
    code = _reexec_without_blas_env(args)
    if code is not None:
        return code
    pinned = env.setup(args.cpu_list)  # before NumPy loads: its BLAS reads the variables
    import numpy  # noqa: F401  (load NumPy's BLAS now, so threadpoolctl sees it)

    from .timing import DISTURBED_FACTOR, PLANS

    plan = PLANS[args.mode]
    env.limit_loaded()
    peers, notes = {}, []
    for name in PEERS:
        if name not in args.peer_names:
            notes.append(f"{name} not requested (--peers)")
            continue
        mod, why = env.import_peer(name)
        if mod is None:
            notes.append(why)
            print(why)
        else:
            peers[name] = mod
    applied = env.limit_loaded()  # again: PyTorch brought its own OpenMP pool
    ctx = Context(args.mode, plan, peers, env.child_environ(unset_blas=False), args.baseline_src)
    meta = {"mode": args.mode, "command": "python -m benchmarks " + " ".join(
        sys.argv[1:] if argv is None else argv),
        "plan": {**dataclasses.asdict(plan), "disturbed_factor": DISTURBED_FACTOR},
        "notes": notes, "machine": env.machine()}
    print(f"dagrad benchmarks ({args.mode}) on {meta['machine']['cpu']}: pinned to CPUs "
          f"{pinned['cpus']}, {pinned['threads']} threads per library", flush=True)
    res: dict[str, Any] = {"meta": meta}
    for name in args.names:
        t0 = time.perf_counter()
        print(f"[{name}]", flush=True)
        timing.DISTURBED.clear()
        try:
            mod = importlib.import_module(f".{MODULES[name]}", __package__)
            res[name] = mod.run(ctx)
            res[name]["disturbed_rounds_dropped"] = sum(timing.DISTURBED)
        except Exception as e:  # report and go on: one broken peer must not hide the rest
            res[name] = {"error": f"{type(e).__name__}: {e}",
                         "traceback": traceback.format_exc()}
        res[name]["wall_s"] = time.perf_counter() - t0
        try:
            _console(name, res[name])
        except (KeyError, TypeError, ValueError) as e:  # the summary line must not lose the run
            print(f"  (no summary: {type(e).__name__}: {e})")
        if res[name].get("disturbed_rounds_dropped"):
            print(f"  ({res[name]['disturbed_rounds_dropped']} disturbed rounds dropped)")
    meta["machine"]["blas"] = env.blas_info()
    meta["parallelism"] = _parallelism(pinned["cpus"], applied)
    from .targets import evaluate

    res["targets"] = evaluate(res)
    bad = _checks(res)
    bad += [f"threads: {k}" for k, ok in meta["parallelism"]["checks"].items() if not ok]
    meta["failed_checks"] = bad
    json_path = args.json or (str(JSON) if full_set else None)
    write_outputs(res, json_path, docs, readme)
    if bad:
        print("FAILED checks:\n  " + "\n  ".join(bad))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
