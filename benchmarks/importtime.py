"""``import dagrad`` time: a fresh interpreter per sample, median of several."""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

NAME = "import"
REPEATS = {"full": 9, "quick": 5, "smoke": 1}
SNIPPET = ("import time; t = time.perf_counter(); import {mod}; "
           "print(time.perf_counter() - t)")


def import_seconds(module: str, environ: dict[str, str]) -> float:
    """Seconds for ``import module`` in a new interpreter (its start-up excluded)."""
    out = subprocess.run([sys.executable, "-c", SNIPPET.format(mod=module)], env=environ,
                         capture_output=True, text=True, check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


def run(ctx) -> dict[str, Any]:
    """Median seconds to import dagrad (and numpy alone, the floor dagrad stands on)."""
    n = REPEATS[ctx.mode]
    rows = {}
    for mod in ("dagrad", "numpy"):
        ts = [import_seconds(mod, ctx.child_env) for _ in range(n)]
        rows[mod] = {"median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts),
                     "times_s": ts}
    return {"unit": "s", "backends": rows,
            "checks": {"figures sane": all(r["median_s"] > 0 for r in rows.values())}}
