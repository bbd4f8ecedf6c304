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
MODULES = {"mlp": "mlp", "rosenbrock": "rosenbrock", "chain": "chain", "jacobian": "jacobian",
           "persample": "persample", "memory": "memory", "import": "importtime",
           "profile": "profile"}
PEERS = ("torch", "jax", "micrograd")


@dataclasses.dataclass
class Context:
    """What a workload needs: the mode, the timing plan, the peers, the child environment."""

    mode: str
    plan: Any
    peers: dict[str, Any]
    child_env: dict[str, str]

    def peer(self, name: str) -> Any:
        """The imported peer module, or None when it is skipped."""
        return self.peers.get(name)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (about a minute)")
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
                    help="markdown report (default docs/benchmarks.md after a full or quick "
                         "run of every workload)")
    ap.add_argument("--no-docs", action="store_true", help="do not write the markdown report")
    ap.add_argument("--from-json", metavar="PATH",
                    help="run nothing: rewrite the markdown report from a saved --json result")
    ap.add_argument("--profile-before", metavar="PATH", default=str(ROOT / "docs" /
                                                                     "profile-before-after.json"),
                    help="a `python -m benchmarks.profile --before-src DIR --json PATH` "
                         "result, shown as before/after beside this run's profile")
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
        if name == "meta":
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
    elif name == "memory":
        print("  " + ", ".join(f"{k} {v.get('maxrss_mib', 0):.0f} MiB" if "maxrss_mib" in v
                               else f"{k} {v.get('skipped') or v.get('error')}"
                               for k, v in r["backends"].items()))
    elif name == "import":
        print("  " + ", ".join(f"import {k} {v['median_s']:.3f} s" for k, v in
                               r["backends"].items()))
    elif name == "profile":
        for b, row in r["batches"].items():
            cats = row["py_spy"].get("categories")
            share = ", ".join(f"{k.split(' (')[0]} {100 * v:.0f}%" for k, v in cats.items()) \
                if cats else row["py_spy"].get("skipped")
            print(f"  B={b}: {row['step_us']:,.0f} µs/step — {share}")


def write_docs(res: dict[str, Any], docs: str, profile_before: str | None) -> None:
    """Render the markdown report (with benchmarks/notes.md and the before/after profile)."""
    from .report import render

    before = None
    if profile_before and Path(profile_before).is_file():
        before = json.loads(Path(profile_before).read_text())
    notes_file = Path(__file__).with_name("notes.md")
    if notes_file.is_file():
        res["meta"]["analysis"] = notes_file.read_text()
    Path(docs).parent.mkdir(parents=True, exist_ok=True)
    Path(docs).write_text(render(res, before))
    print(f"wrote {docs}")


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 when every check passes."""
    args = parse(argv)
    if args.from_json:
        res = json.loads(Path(args.from_json).read_text())
        write_docs(res, args.docs or str(ROOT / "docs" / "benchmarks.md"), args.profile_before)
        return 0
    code = _reexec_without_blas_env(args)
    if code is not None:
        return code
    env.prepare_environ()
    import numpy  # noqa: F401  (load NumPy's BLAS now, so threadpoolctl can pin it)

    from .timing import PLANS

    plan = PLANS[args.mode]
    threads = env.pin_threads()
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
    threads = env.pin_threads()  # again: PyTorch brought its own OpenMP pool
    ctx = Context(args.mode, plan, peers, env.child_environ(unset_blas=False))
    meta = {"mode": args.mode, "command": "python -m benchmarks " + " ".join(
        sys.argv[1:] if argv is None else argv), "plan": dataclasses.asdict(plan),
        "threads": threads, "notes": notes, "machine": env.machine()}
    blas = ", ".join(f"{b.get('internal_api')} {b.get('architecture')} x{b.get('num_threads')}"
                     for b in meta["machine"]["blas"])
    print(f"dagrad benchmarks ({args.mode}) on {meta['machine']['cpu']}, "
          f"{meta['machine']['cores']} cores; threads {threads}; BLAS {blas}", flush=True)
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
        _console(name, res[name])
        if res[name].get("disturbed_rounds_dropped"):
            print(f"  ({res[name]['disturbed_rounds_dropped']} disturbed rounds dropped)")
    meta["machine"]["blas"] = env.blas_info()
    bad = _checks(res)
    meta["failed_checks"] = bad
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=1, default=str) + "\n")
    docs = args.docs or (None if args.no_docs or args.mode == "smoke" or args.names !=
                         list(WORKLOADS) else str(ROOT / "docs" / "benchmarks.md"))
    if docs and not args.no_docs:
        write_docs(res, docs, args.profile_before)
    if bad:
        print("FAILED checks:\n  " + "\n  ".join(bad))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
