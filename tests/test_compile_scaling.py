"""dg.compile on large graphs: the interpreted replay (plans above
``fastpaths.COMPILE_CODEGEN_LIMIT`` lines) equals the generated one bit for bit — values,
gradients, ``.grad`` writes, optimizer effects, re-tracing — and compile time per plan item
stays flat as the graph grows (ratios of CPU times, no absolute seconds)."""

from __future__ import annotations

import gc
import time
import tracemalloc

import numpy as np
import pytest

import dagrad as dg
from dagrad import fastpaths
from dagrad.compiler import record_effect
from test_compiler import KERNEL_CASES, _net, _rosen, _rosen_grad, _step_fn

GENERATED, INTERPRETED = 10**9, 0     # COMPILE_CODEGEN_LIMIT forcing each replay


def _compiled(monkeypatch, limit: int, fn, **kw):
    """dg.compile(fn), traced on its first call with the given codegen limit."""
    cf = dg.compile(fn, **kw)

    def call(*args):
        with monkeypatch.context() as m:
            m.setattr(fastpaths, "COMPILE_CODEGEN_LIMIT", limit)
            return cf(*args)

    return cf, call


def _bits(x) -> bytes:
    a = np.asarray(x.data if isinstance(x, dg.Tensor) else x)
    return a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()


def _flat(x) -> list[bytes]:
    if isinstance(x, (tuple, list)):
        return [b for y in x for b in _flat(y)]
    return [_bits(x)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(KERNEL_CASES))
def test_interpreted_replay_equals_generated_on_the_kernel_cases(monkeypatch, name, dtype):
    fn, shapes = KERNEL_CASES[name]
    rng = np.random.default_rng(11)
    w = dg.tensor(rng.standard_normal((6, 3) if name in ("linear", "matmul") else
                                      np.broadcast_shapes(*shapes)), dtype=dtype)

    def loss(*xs):
        return (fn(*xs) * w).sum()

    vg = dg.value_and_grad(loss, argnums=tuple(range(len(shapes))))
    gen, call_gen = _compiled(monkeypatch, GENERATED, vg, tune=False)
    itp, call_itp = _compiled(monkeypatch, INTERPRETED, vg, tune=False)
    for _ in range(4):
        xs = [dg.tensor(rng.standard_normal(s), dtype=dtype) for s in shapes]
        a, b, e = call_gen(*xs), call_itp(*xs), vg(*xs)
        assert _flat(a) == _flat(b) == _flat(e)
    assert not gen.interpreted and itp.interpreted
    assert gen.traces == itp.traces == 1
    assert gen.source == itp.source


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_interpreted_training_step_equals_generated(monkeypatch, kind):
    """The MLP step — zero_grad, cross-entropy (fused kernel), backward, optimizer (fused in
    place) — in both replays: losses, outputs, parameters, .grad and optimizer state."""
    rng = np.random.default_rng(12)
    nets = [_net("float32", sizes=(64, 32, 16, 10)) for _ in range(2)]
    make = (lambda p: dg.optim.Adam(p, lr=1e-3)) if kind == "adam" else \
        (lambda p: dg.optim.SGD(p, lr=0.1, momentum=0.9))
    opts = [make(n.parameters()) for n in nets]
    gen, call_gen = _compiled(monkeypatch, GENERATED, _step_fn(nets[0], opts[0]), tune=False)
    itp, call_itp = _compiled(monkeypatch, INTERPRETED, _step_fn(nets[1], opts[1]), tune=False)
    for _ in range(6):
        x, y = rng.standard_normal((16, 64)).astype("float32"), rng.integers(0, 10, 16)
        assert _flat(call_gen(x, y)) == _flat(call_itp(x, y))
    assert not gen.interpreted and itp.interpreted and gen.traces == itp.traces == 1
    for pg, pi in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert _bits(pg) == _bits(pi) and _bits(pg.grad) == _bits(pi.grad)
        assert pg.grad.data is not pi.grad.data
        for key, v in opts[0].state[pg].items():
            assert _bits(opts[1].state[pi][key]) == _bits(v)


def test_interpreted_grad_writes_follow_eager_semantics(monkeypatch):
    """.grad = None then backward (assignment), accumulation across calls, returned grads as
    copies — checked against the closed-form Rosenbrock gradient."""
    x1 = dg.tensor(0.0, dtype="float64", requires_grad=True)
    x2 = dg.tensor(0.0, dtype="float64", requires_grad=True)

    def step():
        x1.grad = x2.grad = None
        loss = _rosen(x1, x2)
        loss.backward()
        return loss, x1.grad, x2.grad

    cf, call = _compiled(monkeypatch, INTERPRETED, step)
    for i, p in enumerate([(1.5, 2.0), (0.3, -1.2), (-2.0, 0.7)]):
        x1.data[...], x2.data[...] = p
        loss, g1, g2 = call()
        assert float(loss.data) == pytest.approx(_rosen(*p), rel=1e-12)
        np.testing.assert_allclose([float(g1.data), float(g2.data)], _rosen_grad(*p), rtol=1e-12)
        assert i == 0 or g1.data is not x1.grad.data     # replays return copies
    assert cf.interpreted and cf.traces == 1

    a = dg.tensor(1.5, dtype="float64", requires_grad=True)
    b = dg.tensor(2.0, dtype="float64", requires_grad=True)
    acc, call = _compiled(monkeypatch, INTERPRETED, lambda: _rosen(a, b).backward())
    for _ in range(3):
        call()
    assert float(a.grad.data) == pytest.approx(3 * _rosen_grad(1.5, 2.0)[0], rel=1e-12)
    assert acc.interpreted


def test_interpreted_recorded_effect_and_retrace_on_dtype(monkeypatch):
    v = dg.tensor(np.ones(3), requires_grad=True)

    def update():
        v.data -= 0.25 * v.grad.data

    def good():
        v.grad = None
        (v * v).sum().backward()
        update()
        record_effect(update)

    cf, call = _compiled(monkeypatch, INTERPRETED, good)
    for _ in range(3):
        call()
    np.testing.assert_allclose(v.data, 0.5**3 * np.ones(3))
    assert cf.interpreted

    net = _net("float32", sizes=(6, 4, 3))
    step, call = _compiled(monkeypatch, INTERPRETED, _step_fn(net, dg.optim.SGD(
        net.parameters(), lr=0.1)))
    x, y = np.ones((2, 6), np.float32), np.array([0, 2])
    call(x, y)
    call(x, y)
    net.to("float64")                         # the stale check fails: traced again
    loss, out = call(x.astype(np.float64), y)
    assert out.dtype == np.float64 and step.traces == 2 and step.interpreted


def test_interpreted_replay_memory_stays_flat(monkeypatch):
    monkeypatch.setattr(fastpaths, "COMPILE_CODEGEN_LIMIT", INTERPRETED)
    net = _net("float32", sizes=(64, 32, 32, 10))
    step = dg.compile(_step_fn(net, dg.optim.Adam(net.parameters(), lr=1e-3)))
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((32, 64)).astype("float32"), rng.integers(0, 10, 32)
    for _ in range(20):
        step(x, y)
    assert step.interpreted
    tracemalloc.start()
    try:
        for _ in range(100):
            step(x, y)
        gc.collect()
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            step(x, y)
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now - base < 4096, f"grew by {now - base} bytes over 1000 steps"


def _chain(n: int, a: float = 0.9):
    def f(x):
        h = x
        for _ in range(n):
            h = dg.tanh(h) * a
        return h

    return f


def test_long_chain_switches_to_the_interpreter_with_the_eager_gradient():
    n = fastpaths.COMPILE_CODEGEN_LIMIT // 4 + 100    # 4 plan steps per link
    x = dg.tensor(0.3, dtype="float64")
    g = dg.compile(dg.grad(_chain(n, 1.0)))
    first, again = g(x), g(x)
    assert g.interpreted and g.traces == 1 and len(g.plan.items) > fastpaths.COMPILE_CODEGEN_LIMIT
    assert _bits(first) == _bits(again) == _bits(dg.grad(_chain(n, 1.0))(x))
    # the closed form: ∏ (1 − tanh² h_i) along h_{i+1} = tanh h_i, in float64 (about n^(-3/2))
    h, d = 0.3, 1.0
    for _ in range(n):
        t = np.tanh(h)
        d *= 1 - t * t
        h = t
    assert 1e-9 < d < 1e-3
    np.testing.assert_allclose(float(again.data), d, rtol=1e-9)


def _per_item_seconds(n: int, interpreted: bool) -> float:
    """CPU seconds per plan item of the first call (trace, plan, replay built), best of 2."""
    best = float("inf")
    for _ in range(2):
        g = dg.compile(dg.grad(_chain(n)))
        x = dg.tensor(0.3, dtype="float64")
        gc.collect()
        t0 = time.process_time()
        g(x)
        best = min(best, time.process_time() - t0)
        items = len(g.plan.items)
        assert g.interpreted == interpreted
        del g
    return best / items


@pytest.mark.slow
@pytest.mark.parametrize("forced", [False, True], ids=["default forms", "interpreted both"])
def test_compile_time_per_item_stays_flat_from_2000_to_20000_links(monkeypatch, forced):
    """Trace + plan + replay built: 10× the links costs at most ~2× per plan item — with the
    default limit (2,000 links generated, 20,000 interpreted) and with both interpreted."""
    if forced:
        monkeypatch.setattr(fastpaths, "COMPILE_CODEGEN_LIMIT", INTERPRETED)
    small = _per_item_seconds(2_000, forced)
    large = _per_item_seconds(20_000, True)
    assert large <= 2.0 * small, f"{large * 1e6:.1f} µs per item at 20,000 links vs " \
                                 f"{small * 1e6:.1f} µs at 2,000"
