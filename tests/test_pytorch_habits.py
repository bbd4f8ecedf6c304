"""PyTorch's habits behave as in PyTorch: per-thread grad mode, retain_grad, retain_graph and
freed graphs, in-place ops with version counters, max/min(dim) as (values, indices).

Every expectation is PyTorch 2.13 running the same code (or its documented error), never
dagrad's own rules on both sides.
"""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

import dagrad as dg
from conftest import to_torch, torch
from dagrad import nn, optim

# ----- grad mode, inference mode and anomaly mode are per thread ------------------------------


def _train(seed: int, steps: int, barrier: threading.Barrier | None = None) -> list[float]:
    """A seeded MLP trained by SGD on its own seeded batches; the losses of every step."""
    net = nn.MLP([20, 16, 16, 4], activation="tanh", seed=seed)
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        x = rng.standard_normal((8, 20)).astype(np.float32)
        y = rng.integers(0, 4, 8)
        if barrier is not None:
            barrier.wait()  # both threads in the same phase: maximal interleaving
        opt.zero_grad()
        loss = dg.cross_entropy(net(x), y)
        loss.backward()
        with dg.no_grad():  # the other thread's forward must still be recorded meanwhile
            acc = float((net(x).data.argmax(axis=1) == y).mean())
        opt.step()
        losses.append((loss.item(), acc))
    return losses + [p.data.copy() for p in net.parameters()]


def test_two_threads_train_independent_models_exactly_as_one_after_the_other():
    want = [_train(1, 30), _train(2, 30)]
    got: dict[int, list] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(seed):
        try:
            got[seed] = _train(seed, 30, barrier)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for seed, expect in zip((1, 2), want, strict=True):
        result = got[seed]
        assert result[:30] == expect[:30]
        for a, b in zip(result[30:], expect[30:], strict=True):
            np.testing.assert_array_equal(a, b)


def test_no_grad_in_one_thread_leaves_another_recording():
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        with dg.no_grad():
            inside.set()
            done.wait(5)
            seen["other"] = dg.is_grad_enabled()

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()  # recorded here while the other thread sits in no_grad
    seen["main"] = dg.is_grad_enabled()
    done.set()
    t.join()
    assert seen == {"other": False, "main": True}
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_concurrent_backward_calls_leave_grad_mode_on():
    def work():
        for _ in range(200):
            x = dg.tensor(np.ones(3), requires_grad=True)
            (x * 2).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert dg.is_grad_enabled()
    assert dg.tensor([1.0], requires_grad=True).__mul__(2).requires_grad


def test_set_grad_enabled_and_inference_mode_as_torch():
    x = dg.tensor([1.0], requires_grad=True)
    with dg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    dg.set_grad_enabled(False)  # as a plain call it acts at once, as torch.set_grad_enabled
    try:
        assert not dg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        dg.set_grad_enabled(True)
    with dg.inference_mode():
        assert dg.is_inference_mode_enabled() and not (x * 2).requires_grad
        with dg.enable_grad():
            assert (x * 2).requires_grad
    assert not dg.is_inference_mode_enabled()

    @dg.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad and dg.is_grad_enabled()


def test_anomaly_mode_is_per_thread():
    inside, done = threading.Event(), threading.Event()
    result = {}

    def other():
        with dg.detect_anomaly():
            inside.set()
            done.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    try:
        with np.errstate(divide="ignore"):
            y = dg.log(dg.tensor([0.0]))  # -inf here is not this thread's anomaly
        result["value"] = float(y.data[0])
    finally:
        done.set()
        t.join()
    assert result["value"] == -np.inf


# ----- retain_grad, retain_graph, freed graphs ----------------------------------------------


def test_retain_grad_on_a_tensor_with_many_elements_matches_torch():
    v = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
    x, tx = dg.tensor(v, requires_grad=True), to_torch(v)
    h, th = dg.tanh(x * 2), torch.tanh(tx * 2)
    h.retain_grad()
    th.retain_grad()
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.grad.data, th.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-6)


def test_a_second_backward_over_a_freed_graph_raises_as_torch():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*mul.*"
                                           "retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])  # not doubled
    tx = to_torch(np.array([1.0, 2.0]))
    ty = (tx * tx).sum()
    ty.backward()
    with pytest.raises(RuntimeError, match="second time"):
        ty.backward()


def test_retain_graph_allows_a_second_backward_and_accumulates_as_torch():
    v = np.array([0.3, -1.2])
    x, tx = dg.tensor(v, requires_grad=True), to_torch(v)
    y, ty = (dg.exp(x) * x).sum(), (torch.exp(tx) * tx).sum()
    y.backward(retain_graph=True)
    y.backward()
    ty.backward(retain_graph=True)
    ty.backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward(retain_graph=True)  # the second call freed it


def test_a_node_that_saved_nothing_may_be_traversed_again_as_torch():
    v = np.array([1.0, -2.0, 3.0])
    x, tx = dg.tensor(v, requires_grad=True), to_torch(v)
    y, ty = (x + 1).sum(), (tx + 1).sum()
    y.backward()
    y.backward()
    ty.backward()
    ty.backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_autograd_grad_frees_unless_retained_and_create_graph_retains():
    x = dg.tensor(1.5, dtype="float64", requires_grad=True)
    y = x ** 3
    (g,) = dg.autograd_grad(y, x, create_graph=True)  # retains by default, as torch
    (g2,) = dg.autograd_grad(g, x)
    assert g2.item() == pytest.approx(6 * 1.5)
    (g3,) = dg.autograd_grad(y, x)  # still there: create_graph retained it
    assert g3.item() == pytest.approx(3 * 1.5 ** 2)
    with pytest.raises(RuntimeError, match="second time"):
        dg.autograd_grad(y, x)


def test_drawing_a_graph_after_backward_keeps_working():
    x1 = dg.tensor(1.5, dtype="float64", requires_grad=True, name="x1")
    x2 = dg.tensor(2.0, dtype="float64", requires_grad=True, name="x2")
    f = 100 * (x2 - x1 ** 2) ** 2 + (1 - x1) ** 2
    f.backward()
    g = dg.graph(f)
    grads = {n.name: n.grad for n in g.nodes if n.name in ("x1", "x2")}
    assert float(grads["x1"]) == pytest.approx(-400 * 1.5 * (2 - 1.5 ** 2) - 2 * (1 - 1.5))
    assert float(grads["x2"]) == pytest.approx(200 * (2 - 1.5 ** 2))
    with pytest.raises(RuntimeError, match="second time"):
        f.backward()  # drawing did not un-free the graph


# ----- in-place ops -----------------------------------------------------------------------


def test_manual_sgd_step_under_no_grad_changes_the_same_tensor():
    w = dg.tensor([1.0, -2.0], requires_grad=True)
    buf = w.data
    view = w.numpy()
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with dg.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    assert w.data is buf and w.is_leaf and w.requires_grad
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    for _ in range(3):
        (tw * tw).sum().backward()
        with torch.no_grad():
            tw -= 0.1 * tw.grad
        tw.grad = None
    np.testing.assert_allclose(view, tw.detach().numpy(), rtol=1e-6)


def test_in_place_on_a_leaf_that_requires_grad_raises_torchs_error():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    g = dg.tensor([0.5, 0.5])
    for op in (lambda: w.__isub__(g), lambda: w.add_(g), lambda: w.mul_(2), lambda: w.zero_(),
               lambda: w.fill_(1.0), lambda: w.copy_(g), lambda: w.__setitem__(0, 3.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation"):
            op()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable"):
        torch.tensor([1.0, 2.0], requires_grad=True).add_(1)


def _both(fn, *arrays):
    """fn run on dagrad leaves and on torch leaves of the same float64 values: (dg, torch)."""
    xs = [dg.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    ts = [to_torch(np.asarray(a, dtype=np.float64)) for a in arrays]
    out = fn(dg, xs)
    tout = fn(torch, ts)
    out.backward()
    tout.backward()
    return out, tout, xs, ts


INPLACE = {
    "iadd": lambda lib, x: _chain(x, lambda y: y.__iadd__(x[1])),
    "isub_scalar": lambda lib, x: _chain(x, lambda y: y.__isub__(0.5)),
    "imul": lambda lib, x: _chain(x, lambda y: y.__imul__(x[1])),
    "itruediv": lambda lib, x: _chain(x, lambda y: y.__itruediv__(x[1] * x[1] + 1)),
    "add_alpha": lambda lib, x: _chain(x, lambda y: y.add_(x[1], alpha=2.0)),
    "sub_": lambda lib, x: _chain(x, lambda y: y.sub_(x[1])),
    "mul_": lambda lib, x: _chain(x, lambda y: y.mul_(x[1])),
    "div_": lambda lib, x: _chain(x, lambda y: y.div_(2.0)),
    "zero_": lambda lib, x: _chain(x, lambda y: y.zero_(), extra=x[1]),
    "fill_": lambda lib, x: _chain(x, lambda y: y.fill_(0.25), extra=x[1]),
    "copy_": lambda lib, x: _chain(x, lambda y: y.copy_(x[1] * 3)),
    "setitem_row": lambda lib, x: _chain(x, lambda y: y.__setitem__(0, x[1][1] * 2) or y),
    "setitem_fancy": lambda lib, x: _chain(x, lambda y: y.__setitem__(
        (slice(None), [0, 2]), x[1][:, :2] + 1) or y),
    # x += f(x): the consumer f saw x before the write and must reach x's old history
    "residual": lambda lib, x: _residual(lib, x),
    # a consumer that saved nothing (y + 1) made before the write, used after it
    "old_consumer": lambda lib, x: _old_consumer(x),
}


def _chain(x, write, extra=None):
    y = x[0].tanh() * 1.5     # a non-leaf that requires grad
    z = write(y)
    assert z is y             # in place: the same tensor object
    out = (y * y).sum()
    if extra is not None:
        out = out + (extra * extra).sum()
    return out


def _residual(lib, x):
    y = x[0] * 2
    y += lib.tanh(y) * x[1]
    return (y * y).sum()


def _old_consumer(x):
    y = x[0] * 3
    z = y + 1                 # add saves nothing
    y *= 2
    return (z * x[1]).sum() + y.sum()


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_recorded_in_place_ops_match_torch(name):
    rng = np.random.default_rng(hash(name) % 2**32)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    out, tout, xs, ts = _both(INPLACE[name], a, b)
    assert out.item() == pytest.approx(tout.item(), rel=1e-12)
    for x, t in zip(xs, ts, strict=True):
        if t.grad is None:  # an input the result does not use
            assert x.grad is None
            continue
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_recorded_in_place_ops_match_finite_differences():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def f(a_, b_):
        x = [dg.tensor(a_, dtype="float64", requires_grad=True),
             dg.tensor(b_, dtype="float64", requires_grad=True)]
        return _residual(dg, x) + _chain(x, lambda y: y.__setitem__(1, x[1][0]) or y)

    assert dg.gradcheck(lambda p, q: _residual(dg, [p, q]) + _chain(
        [p, q], lambda y: y.__setitem__(1, q[0]) or y),
        dg.tensor(a, dtype="float64", requires_grad=True),
        dg.tensor(b, dtype="float64", requires_grad=True))
    assert np.isfinite(f(a, b).item())


def test_backward_raises_naming_the_op_when_a_saved_value_was_changed_in_place():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    w = dg.tensor([3.0, 4.0], requires_grad=True)
    h = x * 1
    y = (h * w).sum()          # mul saved h
    h += 1                     # h's values change after mul used them
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*op 'mul'"):
        y.backward()
    tx, tw = to_torch(np.array([1.0, 2.0])), to_torch(np.array([3.0, 4.0]))
    th = tx * 1
    ty = (th * tw).sum()
    th += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.backward()


def test_a_parameter_changed_by_an_optimizer_step_invalidates_the_old_graph():
    lin = nn.Linear(3, 2, seed=0)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    x = dg.tensor(np.ones((4, 3)), requires_grad=True)
    loss = lin(x).sum()
    loss.backward(retain_graph=True)
    opt.step()                 # W changes in place: linear saved it for x's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*'linear'"):
        loss.backward()


def test_version_counter_counts_in_place_writes_shared_with_views():
    t = dg.zeros(2, 3)
    v = t[0]                   # a view of t's memory
    assert t._version == 0
    t += 1
    t.mul_(2)
    t[1] = 5.0
    assert t._version == 3 and v._version == 3
    np.testing.assert_array_equal(v.data, [2.0, 2.0, 2.0])
    tt = torch.zeros(2, 3)
    tt += 1
    tt.mul_(2)
    tt[1] = 5.0
    assert tt._version == 3


def test_in_place_errors_name_what_was_wrong():
    t = dg.zeros(3)
    with pytest.raises(RuntimeError, match=r"output with shape \(3,\) doesn't match the "
                                           r"broadcast shape \(2, 3\)"):
        t += dg.ones(2, 3)
    i = dg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    x = dg.tensor(np.ones((2, 3)), requires_grad=True)
    h = x * 2
    r = h.reshape(3, 2)        # a view of h's memory
    with pytest.raises(RuntimeError, match="shares memory with another one"):
        r *= 2


def test_in_place_inside_dg_compile_is_refused():
    w = dg.tensor(np.ones(3), requires_grad=True)

    def step(x):
        y = (w * x).sum()
        y.backward()
        with dg.no_grad():
            w.sub_(0.1 * w.grad)
        return y

    f = dg.compile(step)
    with pytest.raises(RuntimeError, match="in place inside the compiled function"):
        f(np.ones(3, np.float32))


# ----- max / min -------------------------------------------------------------------------


def test_max_and_min_with_dim_unpack_into_values_and_indices_as_torch():
    v = np.array([[1.0, 5.0, 5.0, -2.0], [0.5, -3.0, 0.5, 0.1]])
    for name in ("max", "min"):
        x, tx = dg.tensor(v, requires_grad=True), to_torch(v)
        vals, idx = getattr(x, name)(dim=1)
        tvals, tidx = getattr(tx, name)(dim=1)
        np.testing.assert_array_equal(vals.data, tvals.detach().numpy())
        np.testing.assert_array_equal(idx.data, tidx.numpy())
        assert idx.dtype == np.int64
        (vals * dg.tensor([1.0, 2.0])).sum().backward()
        (tvals * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())  # ties: first index only
        r = getattr(dg, name)(x, 0, keepdim=True)
        tr = getattr(torch, name)(tx, 0, keepdim=True)
        assert r.values.shape == tuple(tr.values.shape) and r.indices.shape == r.values.shape
        np.testing.assert_array_equal(r.indices.data, tr.indices.numpy())
        assert type(r).__name__ == ("MaxResult" if name == "max" else "MinResult")


def test_max_and_min_numpys_way_or_without_dim_give_the_values():
    v = np.array([[1.0, 5.0], [7.0, -3.0]])
    x = dg.tensor(v)
    assert isinstance(x.max(axis=1), dg.Tensor)
    np.testing.assert_array_equal(x.max(axis=1).data, [5.0, 7.0])
    np.testing.assert_array_equal(x.min(axis=0).data, [1.0, -3.0])
    assert x.max().item() == 7.0 and x.min().item() == -3.0
    np.testing.assert_array_equal(dg.max(x, dg.tensor(2.0)).data, np.maximum(v, 2.0))
    with pytest.raises(TypeError, match="not both"):
        x.max(1, axis=1)


# ----- random tensors draw in their own dtype ---------------------------------------------


def test_randn_float32_peak_memory_is_bounded_and_the_stream_is_unchanged():
    n = 2000
    dg.manual_seed(0)
    tracemalloc.start()
    try:
        a = dg.randn(n, n)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    result = n * n * 4
    assert peak < result + 9 * 2**20  # the result and one 8 MiB block, not a float64 copy
    np.testing.assert_array_equal(
        a.data, np.random.default_rng(0).standard_normal((n, n)).astype(np.float32))
