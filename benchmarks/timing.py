"""Interleaved timing: warm-up, calibrated blocks, rounds that rotate the backends, medians."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Plan:
    """How hard to measure: rounds, seconds per timed block, pause between blocks, warm-up."""

    rounds: int
    block_s: float
    pause_s: float
    warmup_s: float


PLANS = {
    "full": Plan(rounds=11, block_s=0.05, pause_s=0.1, warmup_s=0.3),
    "quick": Plan(rounds=5, block_s=0.02, pause_s=0.05, warmup_s=0.1),
    "smoke": Plan(rounds=1, block_s=0.0, pause_s=0.0, warmup_s=0.0),
}


def _once(f: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def interleave(cases: dict[str, Callable[[], Any]], plan: Plan) -> dict[str, list[float]]:
    """Seconds per call of each case, one figure per round; backends take turns in each round."""
    # Each block starts after a garbage collection and a short pause (so one backend's garbage
    # and spinning thread pools do not land in another's block) and, for fast calls, with one
    # untimed call that wakes the thread pools.  The order rotates from round to round.  Rounds
    # in which every backend slowed down together (another process took the shared machine) are
    # dropped and replaced, up to twice the planned number of rounds (see ``DISTURBED``).
    names = list(cases)
    calls = {}
    for name in names:  # warm-up (JIT compilation, caches), then calibrate the block size
        f = cases[name]
        first = _once(f)
        end = time.perf_counter() + plan.warmup_s
        while time.perf_counter() < end:
            f()
        per = min(first, _once(f)) if plan.block_s > 0 else first
        calls[name] = max(1, int(plan.block_s / max(per, 1e-9)))
    rounds: list[dict[str, float]] = []
    r = 0
    while r < plan.rounds or len(_clean(rounds)) < plan.rounds and r < 2 * plan.rounds:
        order = names[r % len(names):] + names[: r % len(names)]
        row = {}
        for name in order:
            f, k = cases[name], calls[name]
            gc.collect()
            if plan.pause_s:
                time.sleep(plan.pause_s)
            if k > 1:
                f()
            t0 = time.perf_counter()
            for _ in range(k):
                f()
            row[name] = (time.perf_counter() - t0) / k
        rounds.append(row)
        r += 1
    kept = _clean(rounds)
    if len(kept) < min(3, len(rounds)):
        kept = rounds
    DISTURBED.append(len(rounds) - len(kept))
    return {n: [row[n] for row in kept] for n in names}


#: Rounds dropped as disturbed by each ``interleave`` call since the list was last cleared.
DISTURBED: list[int] = []
#: A round is disturbed when, across the backends, the median of (its time / the backend's
#: fastest round) exceeds this: something else took the machine (all backends slowed at once).
DISTURBED_FACTOR = 1.3


def _clean(rounds: list[dict[str, float]]) -> list[dict[str, float]]:
    """The rounds in which the backends ran at their usual pace."""
    if len(rounds) < 2:
        return rounds
    best = {n: min(row[n] for row in rounds) for n in rounds[0]}
    return [row for row in rounds
            if statistics.median(row[n] / best[n] for n in row) <= DISTURBED_FACTOR]


def summary(ts: list[float]) -> dict[str, Any]:
    """Median, min, max and count of per-call seconds."""
    return {"median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts),
            "rounds": len(ts), "times_s": list(ts)}


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of a[i] / b[i] (pairs share a round, so drift cancels)."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def sane(x: Any) -> bool:
    """A finite, positive number."""
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0
