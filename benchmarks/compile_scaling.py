"""``python -m benchmarks.compile_scaling``: dg.compile's trace, plan and generate time on chains.

The function is the gradient of a chain of n tanh links, ``h = tanh(h) * 0.9`` (two ops per
link, four plan steps with the backward), float64 — the graph of issue 21's target (n = 100,000:
200,000 ops).  Each size runs in a fresh process (``--one N``): the first call traces, plans and
builds the replay (its phases from ``CompiledFunction.timings``, wall seconds), the second
replays.  Printed per size: plan items, which replay form was built (generated function or
interpreted steps, see ``fastpaths.COMPILE_CODEGEN_LIMIT``), seconds per phase, the whole first
call (wall and CPU), µs per plan item, one replay, peak RSS.  Also the ``compile_scaling``
workload of ``python -m benchmarks`` (:func:`run`: the sizes of ``SIZES[mode]``; nothing is
compared against a peer: the target is the largest chain's first call and linear growth).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from typing import Any

DEFAULT = (1_000, 10_000, 100_000)
NAME = "compile_scaling"
#: Chain lengths per mode of ``python -m benchmarks``.
SIZES = {"full": DEFAULT, "quick": DEFAULT, "smoke": (100, 1_000)}


def measure(n: int) -> dict[str, float | int | str]:
    """Compile and replay the n-link chain's gradient once, in this process."""
    import dagrad as dg

    def f(x):
        h = x
        for _ in range(n):
            h = dg.tanh(h) * 0.9
        return h

    g = dg.compile(dg.grad(f))
    x = dg.tensor(0.3, dtype="float64")
    w0, c0 = time.perf_counter(), time.process_time()
    first = g(x)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    r0 = time.perf_counter()
    again = g(x)
    replay = time.perf_counter() - r0
    if first.data.tobytes() != again.data.tobytes():
        raise SystemExit(f"compile_scaling: the replay of n={n} differs from the traced call")
    t = g.timings
    items = int(t["items"])
    return {"links": n, "ops": 2 * n, "items": items,
            "form": "interpreted" if g.interpreted else "generated",
            "trace_s": t["trace"], "plan_s": t["plan"], "generate_s": t["generate"],
            "first_call_s": wall, "first_call_cpu_s": cpu, "us_per_item": 1e6 * wall / items,
            "replay_s": replay,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_fresh(n: int, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``measure(n)`` in a fresh interpreter (``--one N``); its row."""
    cmd = [sys.executable, "-m", "benchmarks.compile_scaling", "--one", str(n)]
    if os.name == "posix":  # started by a small shell: a child exec'd from a large process
        cmd = ["/bin/sh", "-c", '"$0" "$@"; exit $?', *cmd]  # would inherit its peak RSS
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=environ)
    if out.returncode:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"compile_scaling --one {n} failed: {tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def growth_exponent(rows: list[dict[str, Any]]) -> float | None:
    """p in first-call time ∝ itemsᵖ, from the smallest and the largest size (1: linear)."""
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    return math.log(b["first_call_s"] / a["first_call_s"]) / math.log(b["items"] / a["items"])


def run(ctx) -> dict[str, Any]:
    """The workload of ``python -m benchmarks``: each size of ``SIZES[mode]`` in a fresh process."""
    rows = []
    for n in SIZES[ctx.mode]:
        rows.append(measure_fresh(n, ctx.child_env))
        r = rows[-1]
        print(f"  {r['links']:,} links: first call {r['first_call_s']:.2f} s "
              f"({r['form']}), replay {1e3 * r['replay_s']:.1f} ms", flush=True)
    return {"title": "dg.compile of a long chain's gradient: first call against length",
            "rows": rows, "growth_exponent": growth_exponent(rows),
            "checks": {"every size compiled and replayed the traced result": len(rows) == len(
                SIZES[ctx.mode]),
                "times positive": all(r["first_call_s"] > 0 for r in rows)}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compile_scaling",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=list(DEFAULT),
                    help="chain lengths (links), each in a fresh process (default: "
                         f"{' '.join(map(str, DEFAULT))})")
    ap.add_argument("--one", type=int, metavar="N", help=argparse.SUPPRESS)
    ap.add_argument("--json", metavar="PATH", help="also write the rows here")
    args = ap.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one)))
        return 0
    rows = []
    head = (f"{'links':>8} {'items':>8} {'form':>11} {'trace s':>8} {'plan s':>7} "
            f"{'gen s':>6} {'first s':>8} {'cpu s':>7} {'µs/item':>8} {'replay s':>9} "
            f"{'RSS MiB':>8}")
    print(head)
    for n in args.sizes:
        try:
            r = measure_fresh(n)
        except RuntimeError as e:
            print(e, file=sys.stderr)
            return 1
        rows.append(r)
        print(f"{r['links']:>8} {r['items']:>8} {r['form']:>11} {r['trace_s']:>8.2f} "
              f"{r['plan_s']:>7.2f} {r['generate_s']:>6.2f} {r['first_call_s']:>8.2f} "
              f"{r['first_call_cpu_s']:>7.2f} {r['us_per_item']:>8.1f} {r['replay_s']:>9.4f} "
              f"{r['peak_rss_mib']:>8.0f}", flush=True)
    if args.json:
        from dagrad.atomic import atomic_write

        with atomic_write(args.json, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
