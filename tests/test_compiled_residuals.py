"""Values an op saves for its vjp (``Op(residuals=…)``) are planned by dg.compile like any value:
the forward step makes them, the vjp step reads them, the planner gives them storage — for any
op, not just cross-entropy.  Checked against eager dagrad bit for bit, and against finite
differences for a new op defined here."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad.ops import OPS
from dagrad.ops.base import Op, WithResiduals, apply

CALLS: dict[str, list] = {"vjp": []}


def _forward(a):
    """a / ‖a‖ over the last axis, saving the norms."""
    norm = np.sqrt((a * a).sum(axis=-1, keepdims=True))
    return WithResiduals(a / norm, norm=norm)


def _vjp(g, a, out, norm=None):
    CALLS["vjp"].append(norm is not None)
    if norm is None:
        norm = np.sqrt((a * a).sum(axis=-1, keepdims=True))
    return (g - out * (g * out).sum(axis=-1, keepdims=True)) / norm


def _jvp(t, a, out):
    norm = np.sqrt((a * a).sum(axis=-1, keepdims=True))
    return (t - out * (t * out).sum(axis=-1, keepdims=True)) / norm


@pytest.fixture()
def normalize():
    """A new op with a residual, in the op table only for this test (others walk the table)."""
    op = Op("test_normalize", _forward, vjp=(_vjp,), jvp=(_jvp,), saves=("a", "out"),
            residuals=("norm",), doc="a / ‖a‖ along the last axis")
    yield op
    OPS.pop("test_normalize")


def _loss(x, w, op):
    return (apply(op, (x,), {}) * w).sum()


def test_a_new_op_with_residuals_compiles_and_its_vjp_gets_them(normalize):
    rng = np.random.default_rng(0)
    w = dg.tensor(rng.standard_normal((4, 3)))
    eager = dg.value_and_grad(lambda x, w: _loss(x, w, normalize))
    compiled = dg.compile(eager, tune=False)
    compiled(dg.tensor(rng.standard_normal((4, 3))), w)      # the trace (an eager call)
    for _ in range(3):
        x = dg.tensor(rng.standard_normal((4, 3)))
        CALLS["vjp"].clear()
        (vc, gc) = compiled(x, w)
        assert CALLS["vjp"] == [True]            # the replayed rule read the saved norms
        ve, ge = eager(x, w)
        assert vc.data.tobytes() == ve.data.tobytes()
        np.testing.assert_array_equal(gc.data, ge.data)
        # and the rule is the derivative: central differences in float64
        h, xd = 1e-6, x.data
        fd = np.zeros_like(xd)
        for idx in np.ndindex(xd.shape):
            up, dn = xd.copy(), xd.copy()
            up[idx] += h
            dn[idx] -= h
            fd[idx] = (_loss(dg.tensor(up), w, normalize).item() -
                        _loss(dg.tensor(dn), w, normalize).item()) / (2 * h)
        np.testing.assert_allclose(gc.data, fd, rtol=1e-6, atol=1e-8)
    step = next(it.step for it in compiled.plan.items if it.step.kind == "fwd" and
                it.step.op is normalize)
    assert len(step.saved) == 1 and compiled.plan.values[step.saved[0]].shape == (4, 1)


@pytest.mark.parametrize("fused_forward", [True, False])
def test_cross_entropy_reads_its_saved_softmax_in_every_plan(fused_forward, monkeypatch):
    """With the forward kernel (e and Σe into planned buffers) or without it (the table's
    forward returns them), the vjp reads the saved values instead of recomputing softmax."""
    ce = OPS["cross_entropy"]
    if not fused_forward:
        monkeypatch.setitem(ce.kernels, "fwd", lambda v: None)
    rng = np.random.default_rng(1)

    def loss(z, y):
        return dg.cross_entropy(z * 1, y)

    compiled = dg.compile(dg.value_and_grad(loss), tune=False)
    for dtype in ("float32", "float64"):
        z, y = dg.tensor(rng.standard_normal((6, 5)) * 4, dtype=dtype), rng.integers(0, 5, 6)
        (vc, gc), (ve, ge) = compiled(z, y), dg.value_and_grad(loss)(z, y)
        assert vc.data.tobytes() == ve.data.tobytes()
        np.testing.assert_array_equal(gc.data, ge.data)
        src = compiled.source
        assert src.count("_np.exp(") + src.count("_split(") == 1   # e^s computed once
        assert ("_split(" in src) != fused_forward
