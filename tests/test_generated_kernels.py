"""dg.compile's elementwise kernels come from the op table: each forward and vjp rule is
recorded once and lowered to ``out=`` calls.  Walk the table: every elementwise op, compiled,
gives eager dagrad's numbers bit for bit (in place where the planner reuses buffers), and the
only rules without a generated kernel are the ones listed here with the reason."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from dagrad.compiler import kernels
from dagrad.compiler.ir import STEP, Step, Value
from dagrad.ops import OPS
from dagrad.ops.base import apply

ATTRS = {"powi": {"n": 3}, "leaky_relu": {"slope": 0.1}, "clamp": {"min": -0.5, "max": 0.5},
         "cast": {"dtype": np.dtype("float64")}}
POSITIVE = {"log", "sqrt", "log1p", "pow"}          # a domain of positive numbers
#: forwards with no generated kernel, and why (they run the table's own function)
NO_FORWARD_KERNEL = {
    "sigmoid": "its forward picks a formula per element with out= and where= (not recordable)",
    "cast": "changes the dtype (kernels write one float dtype)",
    "where": "its condition operand is boolean (kernels take float operands)",
}
NO_VJP_KERNEL = {"where": NO_FORWARD_KERNEL["where"]}
ELEMENTWISE = sorted(n for n, op in OPS.items() if op.elementwise and not op.variadic)


def _view(op, kind, index, attrs):
    n = len(op.args)
    vals = [Value(i, (4, 3), np.dtype("float64"), STEP) for i in range(n + 2)]
    ops = vals[:n] if kind == "fwd" else vals[: n + 2]
    return kernels.View(Step(kind, [], op=op, attrs=attrs, index=index), ops, vals[-1])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_elementwise_rule_has_a_generated_kernel_or_a_listed_reason(name):
    op, attrs = OPS[name], ATTRS.get(name, {})
    fwd = kernels.select(_view(op, "fwd", 0, attrs))
    assert (fwd is None) == (name in NO_FORWARD_KERNEL), name
    for i in range(len(op.args)):
        if op.vjp_rule(i) is None or i in op.identity_vjp:
            continue
        vjp = kernels.select(_view(op, "vjp", i, attrs))
        assert (vjp is None) == (name in NO_VJP_KERNEL), (name, i)


def _inputs(name, rng, dtype):
    op = OPS[name]
    xs = []
    for k in range(len(op.args)):
        x = rng.standard_normal((5, 4))
        if name in POSITIVE:
            x = np.abs(x) + 0.5
        if name in ("maximum", "minimum") and k == 1:
            x[0] = xs[0][0]                           # ties: the gradient is shared
        if name == "where" and k == 0:
            xs.append(dg.tensor(x > 0))
            continue
        xs.append(dg.tensor(x.astype(dtype)))
    return xs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if n != "cast"])
def test_compiled_elementwise_op_equals_eager_bit_for_bit(name, dtype):
    op, attrs = OPS[name], ATTRS.get(name, {})
    rng = np.random.default_rng(3)
    w = rng.standard_normal((5, 4)).astype(dtype)

    def loss(*xs):
        return (apply(op, xs, attrs) * dg.tensor(w)).sum()

    diff = [k for k in range(len(op.args)) if not (name == "where" and k == 0)]
    eager = dg.value_and_grad(loss, argnums=tuple(diff))
    compiled = dg.compile(eager, tune=False)
    for _ in range(3):
        xs = _inputs(name, rng, dtype)
        (vc, gc), (ve, ge) = compiled(*xs), eager(*xs)
        assert vc.data.tobytes() == ve.data.tobytes()
        for a, b in zip(gc, ge, strict=True):
            assert a.data.dtype == b.data.dtype
            np.testing.assert_array_equal(a.data, b.data)
    src = compiled.source
    if name not in NO_FORWARD_KERNEL:
        assert "out=" in src


def test_lowering_reuses_a_dying_operand_and_keeps_later_reads_safe():
    tanh = OPS["tanh"]
    k = kernels.select(_view(tanh, "vjp", 0, {}))
    # g · (1 − out·out): out² is computed first into the result, so out may be its buffer
    # but g, read last, may not
    assert k.reads == (0, 2) and k.inplace == (2,) and k.temps == 0
    lines = k.emit(kernels.Ctx(["g", "a", "y"], "r", [], None, {}, None, None))
    assert lines == ["_np.multiply(y, y, out=r)", "_np.subtract(1, r, out=r)",
                     "_np.multiply(g, r, out=r)"]
    leaky = kernels.select(_view(OPS["leaky_relu"], "fwd", 0, {"slope": 0.1}))
    lines = leaky.emit(kernels.Ctx(["a"], "r", [], None, {}, None, None))
    assert lines == ["_np.multiply(a, 0.1, out=r)",
                     "_np.copyto(r, a, where=_np.greater(a, 0))"]
    assert leaky.inplace == ()               # a is read after the result is first written
