"""dg.compile: replayed plans equal eager dagrad (values, gradients, parameters), fused kernels
equal the op table's rules, re-tracing, refusals with clear errors, and flat memory."""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import dagrad as dg
from dagrad.compiler import CompileError, record_effect

RTOL = {"float32": 1e-5, "float64": 1e-12}


def _net(dtype: str, sizes=(784, 64, 32, 10), activation: str = "tanh", seed: int = 0):
    return dg.nn.MLP(list(sizes), activation=activation, dtype=dtype, seed=seed)


def _opt(kind: str, params, **kw):
    return dg.optim.Adam(params, **kw) if kind == "adam" else dg.optim.SGD(params, **kw)


def _step_fn(net, opt):
    def step(x, y):
        opt.zero_grad()
        out = net(dg.Tensor(x))
        loss = dg.cross_entropy(out, y)
        loss.backward()
        opt.step()
        return loss, out

    return step


def _same(a, b, dtype):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL[dtype], atol=0)


OPTIMIZERS = [
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("sgd", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3}),
    ("adam", {"lr": 1e-3}),
    ("adam", {"lr": 1e-3, "weight_decay": 1e-2}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind,kw", OPTIMIZERS, ids=lambda x: x if isinstance(x, str) else
                         ",".join(f"{k}={v}" for k, v in x.items()))
def test_training_equals_eager_for_100_steps(kind, kw, dtype):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 16, 784)).astype(dtype)
    Y = rng.integers(0, 10, (100, 16))
    ne, nc = _net(dtype), _net(dtype)
    oe, oc = _opt(kind, ne.parameters(), **kw), _opt(kind, nc.parameters(), **kw)
    eager, compiled = _step_fn(ne, oe), dg.compile(_step_fn(nc, oc), tune=False)
    for i in range(100):
        le, oute = eager(X[i], Y[i])
        lc, outc = compiled(X[i], Y[i])
        _same(lc.data, le.data, dtype)
        _same(outc.data, oute.data, dtype)
    assert compiled.traces == 1
    for pe, pc in zip(ne.parameters(), nc.parameters(), strict=True):
        _same(pc.data, pe.data, dtype)
        _same(pc.grad.data, pe.grad.data, dtype)
    for pe, pc in zip(ne.parameters(), nc.parameters(), strict=True):  # optimizer state too
        for key, v in oe.state[pe].items():
            _same(oc.state[pc][key], v, dtype)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "leaky_relu"])
def test_other_activations_and_a_schedule(activation):
    rng = np.random.default_rng(2)
    ne, nc = _net("float32", activation=activation), _net("float32", activation=activation)
    oe, oc = dg.optim.SGD(ne.parameters(), lr=0.1), dg.optim.SGD(nc.parameters(), lr=0.1)
    se, sc = dg.optim.CosineAnnealingLR(oe, T_max=20), dg.optim.CosineAnnealingLR(oc, T_max=20)
    eager, compiled = _step_fn(ne, oe), dg.compile(_step_fn(nc, oc), tune=False)
    for _ in range(20):
        x, y = rng.standard_normal((8, 784)).astype("float32"), rng.integers(0, 10, 8)
        assert float(compiled(x, y)[0].data) == float(eager(x, y)[0].data)
        se.step()
        sc.step()
    for pe, pc in zip(ne.parameters(), nc.parameters(), strict=True):
        np.testing.assert_array_equal(pc.data, pe.data)


def test_sheet_mlp_step_is_bit_identical_and_skips_the_input_gradient():
    net = dg.nn.MLP([784, 256, 256, 10], activation="tanh", seed=0)
    opt = dg.optim.SGD(net.parameters(), lr=0.01)
    ref = dg.nn.MLP([784, 256, 256, 10], activation="tanh", seed=0)
    ropt = dg.optim.SGD(ref.parameters(), lr=0.01)
    x, y = dg.data.load_sample("train")
    x = (x[:64].reshape(64, -1) / np.float32(255)).astype(np.float32)
    y = y[:64].astype(np.int64)
    step = dg.compile(_step_fn(net, opt), tune=False)
    for _ in range(3):
        assert float(step(x, y)[0].data) == float(_step_fn(ref, ropt)(x, y)[0].data)
    src = step.source
    assert src.count("_np.matmul(") == 8          # 3 forward, 3 dW, 2 dx: never d/dx of layer 1
    assert "cross_entropy" in src and "_np.tanh(" in src
    assert "Tensor" not in src


def _rosen(x1, x2):
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


def _rosen_grad(x1, x2):
    return -400 * x1 * (x2 - x1 * x1) - 2 * (1 - x1), 200 * (x2 - x1 * x1)


POINTS = [(1.5, 2.0), (0.3, -1.2), (-2.0, 0.7), (1.0, 1.0)]


def test_rosenbrock_compiled_grad():
    g = dg.compile(dg.grad(_rosen, argnums=(0, 1)))
    for p in POINTS:
        d1, d2 = g(dg.tensor(p[0], dtype="float64"), dg.tensor(p[1], dtype="float64"))
        e1, e2 = dg.grad(_rosen, argnums=(0, 1))(dg.tensor(p[0], dtype="float64"),
                                                 dg.tensor(p[1], dtype="float64"))
        assert (float(d1.data), float(d2.data)) == (float(e1.data), float(e2.data))
        np.testing.assert_allclose([float(d1.data), float(d2.data)], _rosen_grad(*p),
                                   rtol=1e-12)
    assert g.traces == 1
    assert "Tensor(" not in g.source


def test_rosenbrock_backward_on_scalar_leaves_sets_grad():
    x1 = dg.tensor(0.0, dtype="float64", requires_grad=True)
    x2 = dg.tensor(0.0, dtype="float64", requires_grad=True)

    @dg.compile
    def step():
        x1.grad = x2.grad = None
        loss = _rosen(x1, x2)
        loss.backward()
        return loss, x1.grad, x2.grad

    for p in POINTS:
        x1.data[...], x2.data[...] = p
        loss, g1, g2 = step()
        assert float(loss.data) == pytest.approx(_rosen(*p), rel=1e-12)
        np.testing.assert_allclose([float(g1.data), float(g2.data)], _rosen_grad(*p), rtol=1e-12)
        np.testing.assert_allclose([float(x1.grad.data), float(x2.grad.data)], _rosen_grad(*p),
                                   rtol=1e-12)


def test_gradients_accumulate_across_calls_like_eager():
    def f(a, b):
        _rosen(a, b).backward()

    a, b = (dg.tensor(1.5, dtype="float64", requires_grad=True),
            dg.tensor(2.0, dtype="float64", requires_grad=True))
    compiled = dg.compile(f)
    for _ in range(3):
        compiled(a, b)
    assert float(a.grad.data) == pytest.approx(3 * 151.0)
    w = dg.tensor(np.ones(3), requires_grad=True)
    acc = dg.compile(lambda: (w * w).sum().backward())
    for _ in range(3):
        acc()
    np.testing.assert_array_equal(w.grad.data, 6 * np.ones(3, np.float32))


def test_jacobian_chain_quantities_via_compiled_grad():
    net = dg.nn.MLP([784, 256, 256, 10], activation="tanh", seed=3)
    W1, b1 = net.layers[0].weight, net.layers[0].bias

    def loss_x(x, y):
        return dg.cross_entropy(net(x), y)

    def loss_b1(b, x, y):
        h = dg.tanh(dg.linear(x, W1, b))
        return dg.cross_entropy(net[4](net[3](net[2](h))), y)

    gx, gb = dg.compile(dg.grad(loss_x)), dg.compile(dg.grad(loss_b1))
    rng = np.random.default_rng(4)
    ws = [lin.weight.data.astype(np.float64) for lin in net.layers]
    bs = [lin.bias.data.astype(np.float64) for lin in net.layers]
    for _ in range(3):
        x, y = rng.random(784).astype(np.float32), np.int64(rng.integers(10))
        cx, cb = gx(dg.tensor(x), y), gb(b1.detach(), dg.tensor(x), y)
        np.testing.assert_array_equal(cx.data, dg.grad(loss_x)(dg.tensor(x), y).data)
        np.testing.assert_array_equal(cb.data, dg.grad(loss_b1)(b1.detach(), dg.tensor(x),
                                                                 y).data)
        h1 = np.tanh(ws[0] @ x + bs[0])                 # the chain by hand, in float64
        h2 = np.tanh(ws[1] @ h1 + bs[1])
        z = ws[2] @ h2 + bs[2]
        s = np.exp(z - z.max())
        s /= s.sum()
        d = s - np.eye(10)[y]
        d2 = (d @ ws[2]) * (1 - h2**2)
        d1 = (d2 @ ws[1]) * (1 - h1**2)
        np.testing.assert_allclose(cb.data, d1, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(cx.data, d1 @ ws[0], rtol=1e-3, atol=1e-6)


def test_retraces_on_new_shapes_and_dtypes():
    net = _net("float32", sizes=(20, 8, 3))
    opt = dg.optim.SGD(net.parameters(), lr=0.1)
    step = dg.compile(_step_fn(net, opt))
    rng = np.random.default_rng(5)
    for b in (8, 9, 8, 9, 8):
        loss, out = step(rng.standard_normal((b, 20)).astype("float32"), rng.integers(0, 3, b))
        assert out.shape == (b, 3)
    assert step.traces == 2
    f = dg.compile(lambda x: (x * x).sum())
    assert float(f(dg.tensor([1.0, 2.0])).data) == 5.0
    assert float(f(dg.tensor([1.0, 2.0, 3.0], dtype="float64")).data) == 14.0
    assert float(f(dg.tensor([3.0, 4.0])).data) == 25.0
    assert f.traces == 2


def test_python_decisions_on_values_are_refused_with_the_call_site():
    @dg.compile
    def step(x):
        loss = (x * x).sum()
        if loss.item() > 1:
            return loss
        return -loss

    site = r"Tensor\.item\(\) at .*test_compiler\.py:\d+.*dg\.where"
    with pytest.raises(CompileError, match=site):
        step(dg.tensor([1.0, 2.0]))

    @dg.compile
    def branch(x):
        return x if (x * x).sum() > 1 else -x

    with pytest.raises(CompileError, match=r"bool\(tensor\)"):
        branch(dg.tensor([1.0, 2.0]))
    with pytest.raises(CompileError, match=r"float\(tensor\)"):
        dg.compile(lambda x: float(x.sum()))(dg.tensor([1.0]))
    with pytest.raises(CompileError, match=r"np\.asarray"):
        dg.compile(lambda x: np.asarray(x * 2))(dg.tensor([1.0]))


def test_where_replays_the_comparison():
    f = dg.compile(lambda x: dg.where(x > 0, x * 2, -x).sum())
    for v in ([1.0, -2.0], [-1.0, 2.0], [3.0, 2.0], [-3.0, -1.0]):
        assert float(f(dg.tensor(v)).data) == sum(2 * a if a > 0 else -a for a in v)


def test_in_place_numpy_updates_are_refused_unless_recorded():
    w = dg.tensor(np.ones(3), requires_grad=True)

    @dg.compile
    def bad():
        w.grad = None
        (w * w).sum().backward()
        w.data -= 0.1 * w.grad.data

    with pytest.raises(CompileError, match="in place"):
        bad()
    v = dg.tensor(np.ones(3), requires_grad=True)

    def update():
        v.data -= 0.25 * v.grad.data

    @dg.compile
    def good():
        v.grad = None
        (v * v).sum().backward()
        update()
        record_effect(update)

    for _ in range(3):
        good()
    np.testing.assert_allclose(v.data, 0.5**3 * np.ones(3))


def test_hessian_jacobian_and_value_and_grad():
    def fv(x):
        return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2

    h, j = dg.compile(dg.hessian(fv)), dg.compile(dg.jacobian(lambda x: dg.tanh(x * x) * 3))
    vg = dg.compile(dg.value_and_grad(fv))
    for p in POINTS:
        x = dg.tensor(p, dtype="float64")
        np.testing.assert_allclose(h(x).data, dg.hessian(fv)(x).data, rtol=1e-12)
        np.testing.assert_array_equal(j(x).data,
                                      dg.jacobian(lambda x: dg.tanh(x * x) * 3)(x).data)
        v, g = vg(x)
        assert float(v.data) == float(fv(x).data)
        np.testing.assert_allclose(g.data, _rosen_grad(*p), rtol=1e-12)


def test_softmax_output_model_with_nll_loss_replays_new_labels():
    from dagrad.training.loop import default_loss

    nets = [dg.nn.MLP([6, 5, 3], output="softmax", seed=1) for _ in range(2)]
    opts = [dg.optim.SGD(n.parameters(), lr=0.5) for n in nets]
    loss_fn = default_loss(nets[0])

    def make(net, opt):
        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(net(dg.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss
        return step

    eager, compiled = make(nets[0], opts[0]), dg.compile(make(nets[1], opts[1]), tune=False)
    rng = np.random.default_rng(6)
    for _ in range(5):
        x, y = rng.standard_normal((4, 6)).astype("float32"), rng.integers(0, 3, 4)
        assert float(compiled(x, y).data) == float(eager(x, y).data)


# ----- the fused kernels against the op table's rules ------------------------------------------
def _kernels_used(cf) -> set[str]:
    return {it.step.op.name for it in cf.plan.items
            if it.step.op is not None and (it.kernel is not None or it.template is not None)}


KERNEL_CASES = {
    "add": (lambda a, b: a + b, [(5, 4), (5, 4)]),
    "add (bias broadcast)": (lambda a, b: a + b, [(5, 4), (4,)]),
    "sub": (lambda a, b: a - b, [(5, 4), (5, 4)]),
    "mul": (lambda a, b: a * b, [(5, 4), (5, 4)]),
    "div": (lambda a, b: a / (b * b + 1), [(5, 4), (5, 4)]),
    "maximum": (lambda a, b: dg.maximum(a, b), [(5, 4), (5, 4)]),
    "exp": (lambda a: dg.exp(a), [(5, 4)]),
    "log": (lambda a: dg.log(a * a + 1), [(5, 4)]),
    "tanh": (lambda a: dg.tanh(a), [(5, 4)]),
    "sigmoid": (lambda a: dg.sigmoid(a), [(5, 4)]),
    "sqrt": (lambda a: dg.sqrt(a * a + 1), [(5, 4)]),
    "abs": (lambda a: abs(a), [(5, 4)]),
    "powi": (lambda a: a**3, [(5, 4)]),
    "neg": (lambda a: -a, [(5, 4)]),
    "relu": (lambda a: dg.relu(a), [(5, 4)]),
    "linear": (lambda x, w, b: dg.linear(x, w, b), [(6, 4), (3, 4), (3,)]),
    "matmul": (lambda a, b: a @ b, [(6, 4), (4, 3)]),
    "scalars": (lambda a, b: dg.tanh(a * b) / dg.exp(-a) + dg.sqrt(b * b) - dg.log(a * a + 2)
                + dg.sigmoid(b) ** 2, [(), ()]),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(KERNEL_CASES))
def test_kernels_equal_the_table_rules(name, dtype):
    fn, shapes = KERNEL_CASES[name]
    rng = np.random.default_rng(7)
    weights = rng.standard_normal(np.broadcast_shapes(*[s for s in shapes if len(s) < 3]) if
                                  name not in ("linear", "matmul") else (6, 3)).astype(dtype)

    def loss(*xs):
        return (fn(*xs) * dg.tensor(weights, dtype=dtype)).sum()

    argnums = tuple(range(len(shapes)))
    compiled = dg.compile(dg.value_and_grad(loss, argnums=argnums), tune=False)
    eager = dg.value_and_grad(loss, argnums=argnums)
    for _ in range(4):
        xs = [dg.tensor(rng.standard_normal(s), dtype=dtype) for s in shapes]
        (vc, gc), (ve, ge) = compiled(*xs), eager(*xs)
        assert float(vc.data) == float(ve.data)
        for a, b in zip(gc, ge, strict=True):
            np.testing.assert_array_equal(a.data, b.data)
    op = name.split(" ")[0]
    if op != "scalars":
        assert op in _kernels_used(compiled) or op in ("sigmoid", "maximum")


def test_cross_entropy_fused_kernel_equals_the_table():
    rng = np.random.default_rng(8)
    for dtype in ("float32", "float64"):
        def loss(z, y):
            return dg.cross_entropy(z * 1, y)

        compiled = dg.compile(dg.value_and_grad(loss))
        for _ in range(3):
            z, y = dg.tensor(rng.standard_normal((7, 5)) * 5, dtype=dtype), rng.integers(0, 5, 7)
            (vc, gc), (ve, ge) = compiled(z, y), dg.value_and_grad(loss)(z, y)
            assert float(vc.data) == float(ve.data)
            np.testing.assert_array_equal(gc.data, ge.data)
        assert "cross_entropy" in _kernels_used(compiled)
        assert "_np.exp(" in compiled.source


# ----- memory, laziness ------------------------------------------------------------------------
def test_no_memory_growth_over_1000_replayed_steps():
    net = _net("float32", sizes=(64, 32, 32, 10))
    opt = dg.optim.Adam(net.parameters(), lr=1e-3)
    step = dg.compile(_step_fn(net, opt))
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((32, 64)).astype("float32"), rng.integers(0, 10, 32)
    for _ in range(20):
        step(x, y)
    tracemalloc.start()
    try:
        for _ in range(100):
            step(x, y)
        gc.collect()                 # (a full collection also empties CPython's free lists)
        base, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            step(x, y)
        gc.collect()
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert now - base < 4096, f"grew by {now - base} bytes over 1000 steps"


def test_import_dagrad_stays_light():
    code = "import sys, dagrad; print('dagrad.compiler' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fit_with_compile_equals_fit():
    from dagrad.training import fit

    rng = np.random.default_rng(10)
    X, Y = rng.standard_normal((70, 20)).astype("float32"), rng.integers(0, 3, 70)
    results = []
    for compiled in (False, True):
        net = _net("float32", sizes=(20, 8, 3))
        opt = dg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        loader = dg.data.DataLoader(X, Y, batch_size=16, shuffle=True, seed=0)
        res = fit(net, opt, loader, (X, Y), epochs=2, progress=False, log=None,
                  compile=compiled)
        results.append((res.history, [p.data.copy() for p in net.parameters()]))
    (h0, p0), (h1, p1) = results
    np.testing.assert_allclose([r["train_loss"] for r in h1], [r["train_loss"] for r in h0],
                               rtol=1e-5)
    for a, b in zip(p0, p1, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * float(np.abs(a).max()))


def test_parameters_changing_dtype_retrace():
    net = _net("float32", sizes=(6, 4, 3))
    opt = dg.optim.SGD(net.parameters(), lr=0.1)
    step = dg.compile(_step_fn(net, opt))
    x, y = np.ones((2, 6), np.float32), np.array([0, 2])
    step(x, y)
    step(x, y)
    net.to("float64")
    loss, out = step(x.astype(np.float64), y)
    assert out.dtype == np.float64 and step.traces == 2
    loss, out = step(x.astype(np.float64), y)
    assert out.dtype == np.float64 and step.traces == 2


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind,kw", [("sgd", {"lr": 0.1, "momentum": 0.9}), ("adam", {"lr": 1e-3})],
                         ids=["sgd", "adam"])
def test_feature_major_layout_matches_eager(monkeypatch, kind, kw, dtype):
    """Layout tuning may store linear results feature-major (W xᵀ): the same values within
    rounding — BLAS may order a short dot product differently for transposed operands."""
    from dagrad.compiler import plan

    monkeypatch.setattr(plan, "_layout", lambda alloc, it, arrays: "F")
    ne, nc = _net(dtype), _net(dtype)
    oe, oc = _opt(kind, ne.parameters(), **kw), _opt(kind, nc.parameters(), **kw)
    eager, compiled = _step_fn(ne, oe), dg.compile(_step_fn(nc, oc))
    rng = np.random.default_rng(11)
    for _ in range(100):
        x, y = rng.standard_normal((16, 784)).astype(dtype), rng.integers(0, 10, 16)
        le, _ = eager(x, y)
        lc, _ = compiled(x, y)
        _same(lc.data, le.data, dtype)
    assert compiled.source.count(".T, out=b") >= 3   # W xᵀ into transposed buffers
    for pe, pc in zip(ne.parameters(), nc.parameters(), strict=True):
        scale = float(np.abs(pe.data).max())
        np.testing.assert_allclose(pc.data, pe.data, rtol=0, atol=RTOL[dtype] * scale)


def test_layout_tuning_rounds_the_sheet_mlp_forward_within_an_ulp():
    """Feature-major output with a row-major input: the dot products of x Wᵀ, summed in an
    order BLAS picks per layout (bit-identical on some CPUs, not on others), so each entry is
    within the dot product's rounding bound γ_k Σ_k |x_k| |w_k| (γ_k = k·u / (1 − k·u),
    u = 2⁻²⁴, k = 784) of the float64 product — whatever order BLAS sums in (a fixed 2 ulp of
    the scale held on some CPUs, not on all: 2.2 ulp seen) — and both layouts agree."""
    rng = np.random.default_rng(12)
    k, u = 784, 2.0**-24
    gamma = k * u / (1 - k * u)
    for b in (8, 32):
        x = rng.standard_normal((b, k)).astype(np.float32)
        w = rng.standard_normal((256, k)).astype(np.float32)
        z = np.empty((b, 256), np.float32, order="F")
        np.matmul(w, x.T, out=z.T)
        exact = x.astype(np.float64) @ w.T.astype(np.float64)
        bound = gamma * (np.abs(x).astype(np.float64) @ np.abs(w).T.astype(np.float64))
        assert np.all(np.abs(z - exact) <= bound)
        assert np.all(np.abs((x @ w.T) - exact) <= bound)
        assert np.all(np.abs(z - x @ w.T) <= 2 * bound)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,c", [(1, 3), (7, 10), (64, 10), (9, 33), (5, 100)])
def test_cross_entropy_kernel_loss_equals_eager_bitwise_and_the_closed_form(dtype, n, c):
    """The fused forward (max across transposed rows for ≤ 32 classes, Σ / N for the mean)
    gives eager's loss bit for bit, and −mean log softmax at the labels within rounding."""
    rng = np.random.default_rng(n * 100 + c)
    z = (rng.standard_normal((n, c)) * 5).astype(dtype)
    z[0, : min(2, c)] = z[0].max()                 # a tied maximum in one row
    y = rng.integers(0, c, n)

    def f(v):
        return dg.cross_entropy(dg.Tensor(v), y)

    cf = dg.compile(f, tune=False)
    cf(z)
    assert "cross_entropy" in cf.source and "_np.exp(" in cf.source   # the fused kernel ran
    for _ in range(2):
        assert cf(z).data.tobytes() == f(z).data.tobytes()
    z64 = z.astype(np.float64)
    s = z64 - z64.max(axis=1, keepdims=True)
    closed = -np.mean(s[np.arange(n), y] - np.log(np.exp(s).sum(axis=1)))
    np.testing.assert_allclose(float(cf(z).data), closed, rtol=RTOL[dtype] * 10)


def test_bias_gradients_run_right_after_their_cotangent_and_match_the_closed_form():
    """The batch sums Σ_i δ_i are hoisted above the layer's two GEMMs (δ still in cache); the
    gradients are still the closed form's and the step eager's, bit for bit."""
    net, ref = (dg.nn.MLP([6, 5, 4, 3], activation="tanh", seed=s) for s in (2, 2))
    opt, ropt = dg.optim.SGD(net.parameters(), lr=0.1), dg.optim.SGD(ref.parameters(), lr=0.1)
    step = dg.compile(_step_fn(net, opt), tune=False)
    rng = np.random.default_rng(9)
    for _ in range(3):
        x, y = rng.standard_normal((7, 6)).astype(np.float32), rng.integers(0, 3, 7)
        w = [p.data.astype(np.float64) for p in net.parameters()]
        step(x, y)
        _step_fn(ref, ropt)(x, y)
        for pc, pe in zip(net.parameters(), ref.parameters(), strict=True):
            np.testing.assert_array_equal(pc.data, pe.data)
            np.testing.assert_array_equal(pc.grad.data, pe.grad.data)
        h1 = np.tanh(x @ w[0].T + w[1])                  # closed-form backward, float64
        h2 = np.tanh(h1 @ w[2].T + w[3])
        z = h2 @ w[4].T + w[5]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(7), y] -= 1
        d3 = p / 7
        d2 = (d3 @ w[4]) * (1 - h2**2)
        d1 = (d2 @ w[2]) * (1 - h1**2)
        for d, b in zip((d1, d2, d3), list(net.parameters())[1::2], strict=True):
            np.testing.assert_allclose(b.grad.data, d.sum(axis=0), rtol=1e-4, atol=1e-6)
    lines = [ln.split("#")[1].strip() for ln in step.source.splitlines() if "  # " in ln]
    sums = [i for i, t in enumerate(lines) if t == "linear d/db"]
    gemms = [i for i, t in enumerate(lines) if t in ("linear d/dx", "linear d/dW")]
    assert len(sums) == 3 and len(gemms) == 5
    for k, i in enumerate(sums):        # each sum precedes its own layer's GEMMs
        later = [g for g in gemms if g > i]
        assert len(later) == 5 - 2 * k


def test_input_gradients_take_the_activations_layout(monkeypatch):
    """With feature-major activations, g W is written feature-major too (Wᵀ gᵀ into the
    transposed buffer), so tanh′'s g·(1 − h²) combines like-ordered arrays — a C array times an
    F array runs element by element along strides; values as eager's within rounding."""
    from dagrad.compiler import plan
    from dagrad.compiler.replay import order_of

    monkeypatch.setattr(plan, "_layout", lambda alloc, it, arrays: "F")
    ne, nc = _net("float32", sizes=(20, 16, 12, 4)), _net("float32", sizes=(20, 16, 12, 4))
    oe, oc = dg.optim.SGD(ne.parameters(), lr=0.1), dg.optim.SGD(nc.parameters(), lr=0.1)
    eager, compiled = _step_fn(ne, oe), dg.compile(_step_fn(nc, oc))
    rng = np.random.default_rng(13)
    for _ in range(5):
        x, y = rng.standard_normal((9, 20)).astype(np.float32), rng.integers(0, 4, 9)
        _same(compiled(x, y)[0].data, eager(x, y)[0].data, "float32")
    src = compiled.source
    assert src.count(".T, out=b") >= 5 and "  # linear d/dx" in src
    p = compiled.plan
    mixed = []
    for it in p.items:
        s = it.step
        if it.kernel is None or s.kind != "vjp" or s.op.name != "tanh":
            continue
        orders = {order_of(p.buffers[p.store[v][1]]) for v in it.reads
                  if p.store.get(v, ("local",))[0] == "buf" and p.values[v].shape[0] == 9}
        mixed.append(orders)
    assert mixed and all(o == {"F"} for o in mixed)
    for pe, pc in zip(ne.parameters(), nc.parameters(), strict=True):
        np.testing.assert_allclose(pc.data, pe.data, rtol=0,
                                   atol=1e-5 * float(np.abs(pe.data).max()))
