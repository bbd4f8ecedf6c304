"""Code generated from the op table: identity rules found on the Op, and dg.compile's 0-d
templates built by calling each rule on recording values."""

from __future__ import annotations

import re

import numpy as np
import pytest

import dagrad  # noqa: F401  (fills the op table)
from dagrad.compiler import kernels
from dagrad.compiler.ir import Step
from dagrad.ops import OPS
from dagrad.ops import rulemath as rm
from dagrad.ops.rulecode import Code, source

ATTRS = {"powi": {"n": 3}}
def _plain(name: str) -> bool:
    op = OPS[name]
    if name in ATTRS:
        return True
    try:
        op.forward(*[np.float64(0.6)] * len(op.args))
    except Exception:
        return False  # needs attributes (or non-float operands)
    return True


ELEMENTWISE = [n for n, op in OPS.items() if op.elementwise and not op.variadic and _plain(n)]


def test_identity_rules_are_found_on_the_op():
    found = {n: op.identity_vjp for n, op in OPS.items() if op.identity_vjp}
    assert found["add"] == (0, 1) and found["sub"] == (0,) and found["linear"] == (2,)
    assert found["broadcast_to"] == (0,)
    # on real numbers, exactly those rules hand back the cotangent object itself
    for name in ELEMENTWISE:
        op = OPS[name]
        vals = [np.float64(0.6), np.float64(0.35), np.float64(0.8)][: len(op.args)]
        out = op.forward(*vals, **ATTRS.get(name, {}))
        g = np.float64(1.7)
        same = tuple(i for i, r in enumerate(op.vjp) if r is not None and
                     r(g, *vals, out, **ATTRS.get(name, {})) is g)
        assert same == op.identity_vjp, name


def _eval(template: str, env: dict) -> np.generic:
    src = re.sub(r"\{(\w+)\}", lambda m: f"_v_{m.group(1)}", template)
    ns = {"_np": np, **{f"_v_{k}": v for k, v in env.items()},
          **{f"_f_{n}": op.forward for n, op in OPS.items()}}
    return eval(src, ns)  # noqa: S307 (our own generated expression)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scalar_templates_compute_the_rules_bit_for_bit(name, dtype):
    op = OPS[name]
    attrs = ATTRS.get(name, {})
    vals = [dtype(0.6), dtype(0.35), dtype(0.8)][: len(op.args)]
    out = op.forward(*vals, **attrs)
    env = {str(k): v for k, v in enumerate(vals)} | {"g": dtype(1.7), "out": out} | attrs
    fwd = kernels.scalar_template(Step("fwd", [], op=op, attrs=attrs))
    if fwd is not None:
        got = _eval(fwd, env)
        assert type(got) is type(out) and got.tobytes() == np.asarray(out).tobytes()
    for i, rule in enumerate(op.vjp):
        t = kernels.scalar_template(Step("vjp", [], op=op, attrs=attrs, index=i))
        if t is None:
            continue
        want = rule(dtype(1.7), *vals, out, **attrs)
        want = want[()] if isinstance(want, np.ndarray) else want  # replayed 0-d: a scalar
        got = _eval(t, env)
        assert type(got) is type(want) and got.tobytes() == want.tobytes(), (name, i, t)
        if dtype is np.float64:  # and the rule is the derivative (central differences)
            h = 1e-6
            up, dn = list(vals), list(vals)
            up[i], dn[i] = vals[i] + h, vals[i] - h
            fd = (op.forward(*up, **attrs) - op.forward(*dn, **attrs)) / (2 * h)
            assert float(got) == pytest.approx(1.7 * float(fd), rel=1e-6)


def test_the_arithmetic_templates_are_generated():
    def vjp(name, i):
        return kernels.scalar_template(Step("vjp", [], op=OPS[name], attrs={}, index=i))

    assert vjp("tanh", 0) == "({g} * (1 - ({out} * {out})))"
    assert vjp("div", 1) == "(((-{g}) * {out}) / {1})"
    assert kernels.scalar_template(Step("fwd", [], op=OPS["mul"], attrs={})) == "({0} * {1})"


def test_recording_values_refuse_anything_but_arithmetic():
    a = Code("{0}")
    assert source(lambda x: 2 * x - 1, [a]).src == "((2 * {0}) - 1)"
    assert source(lambda x: x if x > 0 else -x, [a]) is None     # a branch on a value
    assert source(lambda x: x * np.float64(2), [a]) is None      # a NumPy scalar constant
    assert source(lambda x: np.sort(x), [a]) is None            # neither ufunc nor where/clip
    assert source(lambda x: np.add(x, 1, out=x), [a]) is None    # ufunc with keywords
    assert source(lambda x: x.sum(), [a]) is None                # an attribute
    # ufuncs, comparisons and rulemath's selections are recorded, as NumPy calls
    assert source(lambda x: np.exp(x), [a]).src == "_np.exp({0})"
    assert source(lambda x: rm.where(x > 0, x, 0), [a]).src == "_np.where(({0} > 0), {0}, 0)[()]"
