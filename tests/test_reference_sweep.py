"""The specialised ``backprop`` against the reference ``reverse_sweep`` on random graphs.

Both apply the same rules, so the comparison checks the sweeps (traversal, accumulation,
broadcast reduction, leaf writes, targets, retained nodes); the reference itself is checked
against central finite differences of the recomputed function.
"""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad import autodiff

SHAPES = [(), (3,), (2, 3)]
UNARY = [dg.tanh, dg.sigmoid, lambda a: dg.exp(dg.tanh(a)), lambda a: a * a]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
          lambda a, b: a / (b * b + 1.0)]


def _program(rng: np.random.Generator, n_leaves: int, n_ops: int, scalar: bool) -> list:
    """A random DAG as a list of (kind, choice, operand indices); leaves come first."""
    shapes = [() if scalar else SHAPES[rng.integers(len(SHAPES))] for _ in range(n_leaves)]
    prog: list = [("leaf", s, ()) for s in shapes]
    for _ in range(n_ops):
        k = len(prog)
        if rng.random() < 0.4:
            prog.append(("unary", int(rng.integers(len(UNARY))), (int(rng.integers(k)),)))
        elif rng.random() < 0.85 or scalar:
            prog.append(("binary", int(rng.integers(len(BINARY))),
                         (int(rng.integers(k)), int(rng.integers(k)))))
        else:
            prog.append(("sum", 0, (int(rng.integers(k)),)))
    return prog


def _run(prog: list, leaves: list, retain: int | None = None) -> tuple:
    vals = list(leaves)
    for kind, choice, ins in prog[len(leaves):]:
        a = [vals[i] for i in ins]
        vals.append(UNARY[choice](*a) if kind == "unary" else
                    BINARY[choice](*a) if kind == "binary" else a[0].sum())
    if retain is not None and vals[retain].requires_grad and retain >= len(leaves):
        vals[retain].retain_grad()
    root = vals[-1].sum() + vals[len(vals) // 2].sum() * 0.5
    return root, vals


def _grad(t) -> np.ndarray:
    """t.grad as an array (zeros where no path reached t)."""
    return np.zeros(t.shape) if t.grad is None else t.grad.data.copy()


def _leaves(rng: np.random.Generator, prog: list, values: list | None = None) -> list:
    out = []
    for j, (kind, shape, _) in enumerate(prog):
        if kind != "leaf":
            break
        v = rng.uniform(-1, 1, shape) if values is None else values[j]
        out.append(dg.tensor(v, dtype="float64", requires_grad=True))
    return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("scalar", [False, True])
def test_backprop_equals_the_reference_sweep(seed, scalar):
    rng = np.random.default_rng(seed)
    prog = _program(rng, 3, 14, scalar)
    leaves = _leaves(rng, prog)
    retain = int(rng.integers(len(prog)))
    root, vals = _run(prog, leaves, retain)
    root.backward(retain_graph=True)
    fast = [_grad(x) for x in leaves]
    fast_retained = vals[retain].grad.data.copy() if vals[retain].grad is not None else None
    for t in vals:
        t.grad = None
    autodiff.reverse_sweep([root], [np.ones((), root.dtype)], autodiff.ArrayInterpreter())
    for f, x in zip(fast, leaves, strict=True):
        assert _grad(x).dtype == f.dtype
        np.testing.assert_allclose(_grad(x), f, rtol=1e-13, atol=1e-15)
    if fast_retained is not None:
        np.testing.assert_allclose(vals[retain].grad.data, fast_retained, rtol=1e-13, atol=1e-15)
    # targets: autodiff.grad's specialised pass and the reference's returned cotangents
    targets = [leaves[0], vals[len(prog) // 2]]
    got = autodiff.grad(root, targets, retain_graph=True)
    found = autodiff.reverse_sweep([root], [np.ones((), root.dtype)],
                                   autodiff.ArrayInterpreter(), targets)
    for t, g in zip(targets, got, strict=True):
        ref = found.get(id(t))
        ref = np.zeros(t.shape) if ref is None else ref
        np.testing.assert_allclose(g.data, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
def test_reference_sweep_matches_finite_differences(seed):
    rng = np.random.default_rng(100 + seed)
    prog = _program(rng, 3, 10, scalar=False)
    values = [rng.uniform(-1, 1, s) for kind, s, _ in prog if kind == "leaf"]
    leaves = _leaves(rng, prog, values)
    root, _ = _run(prog, leaves)
    autodiff.reverse_sweep([root], [np.ones((), root.dtype)], autodiff.ArrayInterpreter())

    def f(vs: list) -> float:
        with dg.no_grad():
            return float(_run(prog, [dg.tensor(v, dtype="float64") for v in vs])[0].data)

    h = 1e-6
    for j, x in enumerate(leaves):
        fd = np.zeros(np.shape(values[j]))
        for idx in np.ndindex(fd.shape):
            up = [np.array(v, dtype=float) for v in values]
            dn = [np.array(v, dtype=float) for v in values]
            up[j][idx] += h
            dn[j][idx] -= h
            fd[idx] = (f(up) - f(dn)) / (2 * h)
        np.testing.assert_allclose(_grad(x), fd, rtol=1e-6, atol=1e-7)
