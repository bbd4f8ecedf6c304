"""The recorded program: values (what the function computes), steps (how) and effects (what else).

A trace is a straight line: every op application, every vjp-rule application of a backward pass,
every accumulation of cotangents and every side effect (a leaf's ``.grad`` written, an optimizer
step) in the order they happened.  Values are numbered; a step reads values and makes at most one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Where a value comes from.
ARG = "arg"        # an argument of the compiled function (read from the call each time)
STATE = "state"    # a tensor that existed before the call (a parameter): ``.data`` read each call
CONST = "const"    # made during the trace from constants only: baked into the plan
STEP = "step"      # computed by a step


@dataclass(eq=False, slots=True)
class Value:
    """One array (or number) the function computes or reads."""

    vid: int
    shape: tuple[int, ...]
    dtype: np.dtype
    kind: str
    arg: int = -1                  # ARG: position among the flattened array arguments
    tensor: Any = None             # STATE: the captured Tensor (read ``.data`` at replay)
    const: Any = None              # CONST: the value (an ndarray copy, or a Python scalar)
    label: str = ""                # a short name for the generated code's comments

    @property
    def scalar(self) -> bool:
        """True for 0-d values, which the replay keeps as NumPy scalars."""
        return self.shape == ()


@dataclass(eq=False, slots=True)
class Step:
    """One recorded computation or effect.

    kind: ``fwd`` (op.forward; an op with ``residuals`` also makes the values in ``saved``),
    ``vjp`` / ``jvp`` (op's rule for input ``index``; operands are [g or t, *inputs, out], then
    a vjp reads the forward's saved values, passed to the rule by their residual names),
    ``add`` (accumulation), ``reshape`` / ``broadcast`` (of a tangent, to
    ``attrs["shape"]``), ``view`` (a NumPy view fn took), ``cmp`` (a comparison),
    ``copyarg`` (an argument copied inside fn), ``cast`` (to ``attrs["dtype"]``), ``readgrad``
    (a leaf's current ``.grad``), ``effect`` (see :class:`Effect`).
    """

    kind: str
    ins: list[int]
    out: int | None = None
    op: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)
    index: int = 0
    fwd: Step | None = None                            # vjp: the forward step it differentiates
    sum_to: tuple[tuple[int, ...], int] | None = None  # vjp: reduce to (shape, nb) afterwards
    wrap: bool = False                                 # vjp: the rule returned a non-array
    dyn: Sequence[tuple[tuple, int, tuple[int, ...]]] = ()
    alias: tuple[int, ...] = ()    # positions of ``ins`` whose memory the result may share
    fn: Any = None                 # cmp: the ufunc; effect: the Effect
    folded: Any = None             # the value when every operand is a constant
    snap: Any = None               # a copy of a small result at trace time (for folding)
    saved: Sequence[int] = ()      # fwd: the values it saved for its vjp


@dataclass(eq=False)
class Effect:
    """A side effect replayed in place: ``grad`` accumulates value ``vid`` into target.grad,
    ``setgrad`` assigns (None, a value or an object), ``optim`` runs an optimizer's step,
    ``call`` calls a function registered with ``record_effect``."""

    kind: str
    target: tuple[str, Any] | None = None   # ("arg", i) or ("obj", tensor)
    vid: int | None = None
    obj: Any = None
    dtype: np.dtype | None = None


@dataclass(eq=False)
class Trace:
    """The whole recording plus how to rebuild fn's result from it."""

    values: list[Value]
    steps: list[Step]
    outputs: Any                  # fn's result with leaves replaced by Out markers
    n_args: int
    arrays: dict[int, Any] = field(default_factory=dict)   # vid -> value at trace time


@dataclass(frozen=True)
class Out:
    """A leaf of fn's result: ``kind`` "tensor"/"array" (value ``vid``, copied), "grad" (the
    target's ``.grad`` at the end, copied) or "object" (returned as it is)."""

    kind: str
    vid: int = -1
    obj: Any = None
    target: tuple[str, Any] | None = None
