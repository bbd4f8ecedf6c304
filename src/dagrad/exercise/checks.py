"""The checks a variant passes before it is written: each compares the engine with an oracle.

A part's checkers are functions ``(variant, solution) -> Check``; :func:`verify` runs them and
raises :class:`ExerciseCheckError` (naming every failed check) when one fails, so a sheet whose
key the engine and its oracle disagree on is never emitted.  Tests inject a failing checker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Check", "Checker", "ExerciseCheckError", "verify", "close"]


@dataclass(frozen=True)
class Check:
    """One comparison of the engine's answer with an independent route."""

    part: str
    name: str
    oracle: str  # SymPy, closed form, finite differences, …
    ok: bool
    detail: str


Checker = Callable[[Any, Any], Check]


class ExerciseCheckError(RuntimeError):
    """A variant's solution failed a check; nothing was written."""

    def __init__(self, seed: int, failed: Sequence[Check]) -> None:
        self.seed, self.failed = seed, list(failed)
        lines = "; ".join(f"({c.part}) {c.name} against {c.oracle}: {c.detail}" for c in failed)
        super().__init__(f"seed {seed}: {len(failed)} check(s) failed, no sheet written: {lines}")


def close(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-300) -> bool:
    """|a − b| ≤ max(rtol·|b|, atol) (and the same sign)."""
    return abs(a - b) <= max(rtol * abs(b), atol)


def verify(seed: int, checks: Sequence[Check]) -> list[Check]:
    """The checks, or ExerciseCheckError when any failed."""
    failed = [c for c in checks if not c.ok]
    if failed:
        raise ExerciseCheckError(seed, failed)
    return list(checks)
