"""Displayed products as data: named factors with their displayed sizes, evaluated as displayed.

Every product the exercise (c) report prints — the chains, δ1 and the bonus's forms of ∇_W1 L —
is a :class:`Product` ``lhs (size) = F1 (size) · F2 (size) · …`` (or ``⊗``, a Kronecker
product).  One vector convention throughout, the sheet's: the gradient of the scalar L is a row
vector (1×n) and J_a(b) = ∂a/∂b has one row per component of a (numerator layout).
:meth:`Product.evaluate` reshapes every factor's values to its displayed size and multiplies in
the displayed order — ``·`` contracts the left factor's last axis with the right factor's first
(the matrix product for matrices), ``⊗`` is ``np.kron`` — so a product whose displayed sizes do
not chain raises instead of being printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

import numpy as np

__all__ = ["Operand", "Product", "size_text", "size_latex"]


def size_text(shape: tuple[int, ...]) -> str:
    """"1×200,704": the dimensions joined by ×, thousands separated by commas."""
    return "×".join(f"{d:,}" for d in shape)


def size_latex(shape: tuple[int, ...]) -> str:
    r""""1 \times 200{,}704"."""
    return r" \times ".join(f"{d:,}".replace(",", "{,}") for d in shape)


@dataclass
class Operand:
    """One factor as displayed: its name, its size, and its values (or how to build them)."""

    name: str
    latex: str
    shape: tuple[int, ...]
    values: np.ndarray | Callable[[], np.ndarray] = field(repr=False)

    @property
    def size(self) -> str:
        return size_text(self.shape)

    def text(self) -> str:
        """"J_o1(x) (256×784)"."""
        return f"{self.name} ({self.size})"

    def tex(self) -> str:
        r"""The name with its size written under it (``\underset``)."""
        return rf"\underset{{({size_latex(self.shape)})}}{{{self.latex}}}"

    def array(self) -> np.ndarray:
        """The values reshaped to the displayed size (an error if the counts differ)."""
        v = np.asarray(self.values() if callable(self.values) else self.values)
        if v.size != prod(self.shape):
            raise ValueError(f"{self.name}: displayed as {self.size} ({prod(self.shape):,} "
                             f"entries) but has {v.size:,} values of shape {v.shape}")
        return v.reshape(self.shape)


@dataclass
class Product:
    """``lhs (shape) = F1 · F2 · …`` (op "·") or ``F1 ⊗ F2 ⊗ …`` (op "⊗"), with its oracle."""

    lhs: str
    lhs_latex: str
    shape: tuple[int, ...]
    factors: list[Operand]
    op: str = "·"
    reference: np.ndarray | None = field(default=None, repr=False)  # the oracle's value
    oracle: str | None = None   # what computed ``reference`` (a check's SOURCES key)
    note: str = ""              # what the product means (an English msgid; {name}s from note_args)
    dense: bool = False         # evaluating it forms a dense tensor (dense=True only)
    note_args: dict[str, str] = field(default_factory=dict)

    def note_text(self) -> str:
        """The note in the current language, its placeholders filled in."""
        from ...i18n import _

        return _(self.note).format(**self.note_args) if self.note else ""

    def __post_init__(self) -> None:
        if self.op not in ("·", "⊗"):
            raise ValueError(f"Product {self.lhs}: op must be '·' or '⊗', got {self.op!r}")

    @property
    def size(self) -> str:
        return size_text(self.shape)

    def result_shape(self) -> tuple[int, ...]:
        """The size the displayed factors give, or a ValueError naming the two that do not chain."""
        shape = self.factors[0].shape
        for prev, f in zip(self.factors, self.factors[1:], strict=False):
            if self.op == "⊗":
                if len(shape) != 2 or len(f.shape) != 2:
                    raise ValueError(f"{self.lhs}: ⊗ of {prev.text()} and {f.text()} needs "
                                     "matrices")
                shape = (shape[0] * f.shape[0], shape[1] * f.shape[1])
            elif shape[-1] != f.shape[0]:
                raise ValueError(f"{self.lhs}: cannot multiply {prev.text()} by {f.text()} "
                                 f"({shape[-1]:,} columns against {f.shape[0]:,} rows)")
            else:
                shape = shape[:-1] + f.shape[1:]
        if shape != self.shape:
            raise ValueError(f"{self.lhs}: displayed as {self.size} but the factors give "
                             f"{size_text(shape)}")
        return shape

    @property
    def computable(self) -> bool:
        """True when the displayed sizes multiply to the displayed result size."""
        try:
            self.result_shape()
        except ValueError:
            return False
        return True

    def evaluate(self) -> np.ndarray:
        """F1 · F2 · … left to right with every factor at its displayed size (or F1 ⊗ F2 ⊗ …)."""
        self.result_shape()
        acc = self.factors[0].array()
        for f in self.factors[1:]:
            b = f.array()
            acc = np.kron(acc, b) if self.op == "⊗" else np.tensordot(acc, b, axes=1)
        return acc

    def text(self) -> str:
        """"∇_x L (1×784) = J_L(z3) (1×10) · … · J_z1(x) (256×784)"."""
        return f"{self.lhs} ({self.size}) = " + f" {self.op} ".join(f.text() for f in self.factors)

    def tex(self) -> str:
        """The product in LaTeX math, every size under its factor."""
        op = r" \cdot " if self.op == "·" else r" \otimes "
        lhs = rf"\underset{{({size_latex(self.shape)})}}{{{self.lhs_latex}}}"
        return f"{lhs} = " + op.join(f.tex() for f in self.factors)
