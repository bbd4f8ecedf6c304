"""Hypothesis: random expression DAGs over the op table, values and gradients equal PyTorch's."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dagrad as dg
from conftest import fuzz_examples, torch

# Each op: (arity, dagrad fn, torch fn).  Inputs are kept in safe ranges by construction:
# unary ops that need a positive or bounded argument see a squashed one.
UNARY = {
    "neg": (lambda a: -a, lambda a: -a),
    "tanh": (dg.tanh, torch.tanh),
    "sigmoid": (dg.sigmoid, torch.sigmoid),
    "exp_tanh": (lambda a: dg.exp(dg.tanh(a)), lambda a: torch.exp(torch.tanh(a))),
    "log_pos": (lambda a: dg.log(a * a + 1), lambda a: torch.log(a * a + 1)),
    "sqrt_pos": (lambda a: dg.sqrt(a * a + 0.5), lambda a: torch.sqrt(a * a + 0.5)),
    "square": (lambda a: a ** 2, lambda a: a ** 2),
    "cube": (lambda a: a ** 3, lambda a: a ** 3),
    "relu": (dg.relu, torch.relu),
    "leaky": (lambda a: dg.leaky_relu(a, 0.2), lambda a: torch.nn.functional.leaky_relu(a, 0.2)),
    "abs": (dg.abs, torch.abs),
    "sin": (dg.sin, torch.sin),
    "cos": (lambda a: a.cos(), lambda a: a.cos()),
    "log1p_pos": (lambda a: dg.log1p(a * a), lambda a: torch.log1p(a * a)),
    "expm1_tanh": (lambda a: dg.expm1(dg.tanh(a)), lambda a: torch.expm1(torch.tanh(a))),
    "softplus": (dg.softplus, torch.nn.functional.softplus),
    "square_op": (dg.square, torch.square),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5)),
    "softmax": (lambda a: dg.softmax(a, axis=-1), lambda a: torch.softmax(a, -1)),
    "log_softmax": (lambda a: dg.log_softmax(a, axis=-1), lambda a: torch.log_softmax(a, -1)),
    "sum_keep": (lambda a: a.sum(axis=-1, keepdims=True), lambda a: a.sum(-1, keepdim=True)),
    "mean_keep": (lambda a: a.mean(axis=0, keepdims=True), lambda a: a.mean(0, keepdim=True)),
    "max_keep": (lambda a: a.max(axis=-1, keepdims=True), lambda a: a.amax(-1, keepdim=True)),
    "min_keep": (lambda a: a.min(axis=-1, keepdims=True), lambda a: a.amin(-1, keepdim=True)),
    "max_dim": (lambda a: a.max(dim=-1, keepdim=True).values,
                lambda a: a.max(dim=-1, keepdim=True).values),
    # item assignment on a copy, in place (a recorded setitem node): row 0 <- 2 * the last row
    "setitem": (lambda a: _assign_first(a), lambda a: _assign_first(a)),
    "transpose": (lambda a: a.T if a.ndim == 2 else a, lambda a: a.T if a.ndim == 2 else a),
    "flip": (lambda a: a[::-1], lambda a: a.flip(0)),
    "scale_rpow": (lambda a: 1.5 ** dg.tanh(a), lambda a: 1.5 ** torch.tanh(a)),
    "cast": (lambda a: (a.astype("float32") * 1.0).astype("float64").astype(a.dtype),
             lambda a: (a.float() * 1.0).double().to(a.dtype)),
    # shape-changing ops, each brought back to a shape that still broadcasts with (n, m)
    "gram": (lambda a: (a @ a.T).sum() * a if a.ndim == 2 else (a @ a) * a if a.ndim else a * a,
             lambda a: (a @ a.T).sum() * a if a.ndim == 2 else (a @ a) * a if a.ndim else a * a),
    "fancy_rows": (lambda a: a[[0, 0, -1]].sum(axis=0) * a if a.ndim else a,
                   lambda a: a[[0, 0, -1]].sum(0) * a if a.ndim else a),
    "stack": (lambda a: dg.stack([a, a * 2], axis=0).sum(axis=0),
              lambda a: torch.stack([a, a * 2], 0).sum(0)),
    "concat": (lambda a: dg.concatenate([a, 2 * a], axis=-1)[..., a.shape[-1]:] if a.ndim else a,
               lambda a: torch.cat([a, 2 * a], -1)[..., a.shape[-1]:] if a.ndim else a),
    "xent": (lambda a: dg.cross_entropy(a, np.zeros(a.shape[:-1], np.int64)) if a.ndim else a,
             lambda a: torch.nn.functional.cross_entropy(
                 a.reshape(-1, a.shape[-1]), torch.zeros(int(np.prod(a.shape[:-1])),
                                                         dtype=torch.long)) if a.ndim else a),
    "bcast": (lambda a: dg.broadcast_to(a, (2,) + a.shape).sum(axis=0),
              lambda a: a.broadcast_to((2,) + a.shape).sum(0)),
    "reshape": (lambda a: a.reshape(-1)[::-1].reshape(a.shape),
                lambda a: a.reshape(-1).flip(0).reshape(a.shape)),
    "linear": (lambda a: dg.linear(a, dg.tensor(np.ones((2, a.shape[-1])) * 0.3, dtype=a.dtype),
                                   dg.tensor([0.1, -0.2], dtype=a.dtype)).sum(axis=-1,
                                                                              keepdims=True)
               if a.ndim else a,
               lambda a: torch.nn.functional.linear(
                   a, torch.ones((2, a.shape[-1]), dtype=a.dtype) * 0.3,
                   torch.tensor([0.1, -0.2], dtype=a.dtype)).sum(-1, keepdim=True)
               if a.ndim else a),
}
def _assign_first(a):
    """b = a * 1; b[0] = 2 * a[-1] (b[...] for 0-d): the same code for dagrad and torch."""
    b = a * 1
    if a.ndim:
        b[0] = a[-1] * 2
    else:
        b[...] = a * 2
    return b


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "maximum": (dg.maximum, torch.maximum),
    "minimum": (dg.minimum, torch.minimum),
    "pow": (lambda a, b: (a * a + 1) ** dg.tanh(b), lambda a, b: (a * a + 1) ** torch.tanh(b)),
    "where": (lambda a, b: dg.where(a.data > b.data, a, b),
              lambda a, b: torch.where(a > b, a, b)),
}


@st.composite
def programs(draw):
    n, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    square = draw(st.booleans())
    if square:
        m = n
    n_leaves = draw(st.integers(1, 3))
    # leaves broadcast against (n, m): full, row, column or scalar shapes
    shapes = [draw(st.sampled_from([(n, m), (1, m), (n, 1), (m,), ()]))
              for _ in range(n_leaves)]
    steps = []
    for i in range(draw(st.integers(1, 8))):
        avail = n_leaves + i
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(UNARY)))
            if name == "transpose" and not square:
                name = "tanh"
            steps.append((name, draw(st.integers(0, avail - 1))))
        else:
            name = draw(st.sampled_from(sorted(BINARY)))
            steps.append((name, draw(st.integers(0, avail - 1)), draw(st.integers(0, avail - 1))))
    seed = draw(st.integers(0, 2**31 - 1))
    return shapes, steps, seed


def _run(shapes, steps, values, lib):
    xs = list(values)
    k = 0 if lib == "dg" else 1
    for step in steps:
        if step[0] in UNARY:
            a = xs[step[1]]
            if step[0] in ("softmax", "log_softmax", "sum_keep", "max_keep", "min_keep",
                           "max_dim", "flip") and \
                    a.ndim == 0:
                a = a * 1.0
                xs.append(UNARY["tanh"][k](a))
                continue
            if step[0] == "mean_keep" and a.ndim == 0:
                xs.append(-a)
                continue
            xs.append(UNARY[step[0]][k](a))
        else:
            xs.append(BINARY[step[0]][k](xs[step[1]], xs[step[2]]))
    out = xs[-1]
    for x in xs[len(values):-1]:  # every intermediate contributes, so all paths matter
        out = out + (x * 0.1).sum()
    return out.sum()


@settings(max_examples=fuzz_examples(150), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_match_torch(prog):
    shapes, steps, seed = prog
    rng = np.random.default_rng(seed)
    vals = [rng.standard_normal(s) + 0.01 * (1 + np.arange(np.prod(s, dtype=int))).reshape(s)
            for s in shapes]
    xs = [dg.tensor(v, dtype="float64", requires_grad=True) for v in vals]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in vals]
    out = _run(shapes, steps, xs, "dg")
    tout = _run(shapes, steps, ts, "torch")
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-10, atol=1e-12)
    out.backward()
    tout.backward()
    for x, t in zip(xs, ts, strict=True):
        tg = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        g = x.grad.data if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(g, tg, rtol=1e-8, atol=1e-10)


@settings(max_examples=fuzz_examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_forward_mode_equals_reverse_mode(prog):
    shapes, steps, seed = prog
    # a float32 round trip rounds tangents and cotangents differently: leave it to the others
    steps = [("neg",) + s[1:] if s[0] == "cast" else s for s in steps]
    rng = np.random.default_rng(seed)
    vals = [rng.standard_normal(s) + 0.01 for s in shapes]
    f = lambda *xs: _run(shapes, steps, xs, "dg")
    args = [dg.tensor(v, dtype="float64") for v in vals]
    for k in range(len(vals)):
        jr = dg.jacobian(f, argnums=k)(*args)
        jf = dg.jacobian(f, argnums=k, mode="forward")(*args)
        np.testing.assert_allclose(jf.data, jr.data, rtol=1e-9, atol=1e-12)


@settings(max_examples=fuzz_examples(100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_float32_match_torch_float32(prog):
    shapes, steps, seed = prog
    rng = np.random.default_rng(seed)
    vals = [(rng.standard_normal(s) + 0.01).astype(np.float32) for s in shapes]
    xs = [dg.tensor(v, requires_grad=True) for v in vals]
    ts = [torch.tensor(v, requires_grad=True) for v in vals]
    out, tout = _run(shapes, steps, xs, "dg"), _run(shapes, steps, ts, "torch")
    assert out.dtype == np.float32
    scale = max(1.0, abs(tout.item()))
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-4, atol=1e-4 * scale)
    out.backward()
    tout.backward()
    for x, t in zip(xs, ts, strict=True):
        tg = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, np.float32)
        g = x.grad.data if x.grad is not None else np.zeros(x.shape, np.float32)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, tg, rtol=2e-3, atol=2e-3 * max(1.0, np.abs(tg).max()))


def test_the_fuzzed_programs_reach_every_op():
    seen = set()
    dg.ops.HOOKS.append(lambda op, inputs, out, attrs: seen.add(op.name))
    try:
        a = dg.tensor(np.arange(1.0, 7.0).reshape(2, 3) / 7, dtype="float64", requires_grad=True)
        sq = dg.tensor(np.eye(3) * 0.5 + 0.1, dtype="float64", requires_grad=True)
        for name, (f, _) in UNARY.items():
            (f(sq if name == "transpose" else a) * 1.0).sum().backward()
        for f, _ in BINARY.values():
            f(a, a * 0.5).sum().backward()
    finally:
        dg.ops.HOOKS.pop()
    # scatter_add is getitem's adjoint: it runs inside every backward through an index
    assert set(dg.ops.OPS) - seen <= {"scatter_add"}, sorted(set(dg.ops.OPS) - seen)
