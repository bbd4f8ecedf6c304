"""dg.nn's PyTorch habits against torch.nn 2.13 on the same numbers.

Dropout (train/eval, the mask from dg.manual_seed, inverted scaling, gradients), ModuleList and
ModuleDict (PyTorch's state-dict keys), Identity and Flatten, the losses with every option
(cross_entropy's weight / ignore_index / label_smoothing / probability targets, nll_loss,
mse_loss, l1_loss, the loss modules), one_hot, clip_grad_norm_ / clip_grad_value_, and
trunc_normal_ against the truncated normal's closed-form moments; a PyTorch-shaped training
script and its torch twin from the same weights.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import nn, optim
from dagrad.compiler import CompileError
from dagrad.nn import functional as F

TF = torch.nn.functional


def t_(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


# ----------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_is_inverted_dropout_with_torchs_numbers_and_gradient(p, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 33)).astype(dtype)
    w = rng.standard_normal((64, 33)).astype(dtype)
    dg.manual_seed(3)
    a = dg.tensor(x, requires_grad=True)
    out = F.dropout(a, p)
    (out * dg.tensor(w)).sum().backward()
    kept = out.data != 0
    assert out.dtype == np.dtype(dtype)
    # torch's dropout given the same Bernoulli draws: noise.bernoulli_(1 − p).div_(1 − p); x·noise
    ta = t_(x, True)
    noise = torch.tensor(kept.astype(dtype)).div_(1 - p)
    tout = ta * noise
    (tout * t_(w)).sum().backward()
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    np.testing.assert_array_equal(a.grad.data, ta.grad.numpy())
    np.testing.assert_allclose(out.data[kept], x[kept] / (1 - p), rtol=1e-6)


def test_dropout_keeps_1_minus_p_of_the_entries_and_the_mean():
    dg.manual_seed(0)
    n, p = 400_000, 0.3
    out = F.dropout(dg.ones(n, dtype="float64"), p)
    frac = float(np.mean(out.data != 0))
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(frac - (1 - p)) < 5 * sigma
    assert abs(out.data.mean() - 1.0) < 5 * sigma / (1 - p)    # E[x m / (1 − p)] = x


def test_dropout_mask_comes_from_dg_manual_seed():
    x = dg.ones(1000)
    dg.manual_seed(11)
    a = F.dropout(x, 0.5).data
    dg.manual_seed(11)
    b = F.dropout(x, 0.5).data
    c = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_dropout_module_respects_train_and_eval_and_the_edges():
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.ReLU())
    x = dg.randn(16, 8)
    model.eval()
    assert not model[1].training
    np.testing.assert_array_equal(model(x).data, model[2](model[0](x)).data)
    model.train()
    assert model[1].training
    assert np.any(model(x).data != model[2](model[0](x)).data)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    a = dg.tensor(np.ones(5), requires_grad=True)
    z = F.dropout(a, 1.0)
    z.sum().backward()
    torch_zero = TF.dropout(torch.ones(5, dtype=torch.float64), 1.0)
    np.testing.assert_array_equal(z.data, torch_zero.numpy())
    np.testing.assert_array_equal(a.grad.data, np.zeros(5))
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1, but got"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1, but got"):
            F.dropout(x, bad)
    with pytest.raises(ValueError, match="inplace=True is not supported"):
        nn.Dropout(0.5, inplace=True)


def test_dg_compile_refuses_training_dropout_and_replays_eval_dropout():
    model = nn.Sequential(nn.Linear(6, 4), nn.Dropout(0.5))
    x = np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32)
    f = dg.compile(lambda x: model(dg.Tensor(x)), tune=False)
    with pytest.raises(CompileError, match="dropout draws a new random mask"):
        f(x)
    model.eval()
    g = dg.compile(lambda x: model(dg.Tensor(x)), tune=False)
    np.testing.assert_array_equal(g(x).data, model(dg.Tensor(x)).data)
    np.testing.assert_array_equal(g(x + 1).data, model(dg.Tensor(x + 1)).data)


# ----------------------------------------------------------------------------- containers
class Ours(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(5, 7), nn.Linear(7, 7)])
        self.blocks.append(nn.Linear(7, 6))
        self.heads = nn.ModuleDict({"cls": nn.Linear(6, 3), "reg": nn.Linear(6, 1)})
        self.flat = nn.Flatten()
        self.skip = nn.Identity(54, unused="yes")

    def forward(self, x):
        x = self.flat(x)
        for block in self.blocks:
            x = dg.tanh(block(x))
        x = self.skip(x)
        return self.heads["cls"](x), self.heads["reg"](x)


class Theirs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(5, 7), torch.nn.Linear(7, 7)])
        self.blocks.append(torch.nn.Linear(7, 6))
        self.heads = torch.nn.ModuleDict({"cls": torch.nn.Linear(6, 3),
                                          "reg": torch.nn.Linear(6, 1)})
        self.flat = torch.nn.Flatten()
        self.skip = torch.nn.Identity(54, unused="yes")

    def forward(self, x):
        x = self.flat(x)
        for block in self.blocks:
            x = torch.tanh(block(x))
        x = self.skip(x)
        return self.heads["cls"](x), self.heads["reg"](x)


def test_modulelist_and_moduledict_register_parameters_with_torchs_names():
    ours, theirs = Ours().double(), Theirs().double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 5, 1))
    a, tx = dg.tensor(x, requires_grad=True), t_(x, True)
    (c, r), (tc, tr) = ours(a), theirs(tx)
    (c.sum() + (r * r).sum()).backward()
    (tc.sum() + (tr * tr).sum()).backward()
    np.testing.assert_allclose(c.data, tc.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(a.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert n == tn
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert optim.SGD(ours.parameters(), lr=0.1).param_groups[0]["params"][0] is \
        ours.blocks[0].weight


def test_container_edits_renumber_as_torch():
    layers = [nn.Linear(2, 2) for _ in range(4)]
    tlayers = [torch.nn.Linear(2, 2) for _ in range(4)]
    ml, tml = nn.ModuleList(layers[:2]), torch.nn.ModuleList(tlayers[:2])
    ml.insert(1, layers[2])
    tml.insert(1, tlayers[2])
    ml += [layers[3]]
    tml += [tlayers[3]]
    del ml[0]
    del tml[0]
    assert list(ml.state_dict()) == list(tml.state_dict())
    assert len(ml) == len(tml) == 3 and ml[-1] is layers[3] and ml[0] is layers[2]
    assert isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 2
    ml[0] = layers[0]
    assert ml[0] is layers[0] and list(ml) == [layers[0], layers[1], layers[3]]
    md, tmd = nn.ModuleDict(), torch.nn.ModuleDict()
    for k in ("b", "a", "c"):
        md[k] = nn.Linear(1, 1)
        tmd[k] = torch.nn.Linear(1, 1)
    md.pop("a")
    tmd.pop("a")
    md.update([("d", nn.Identity())])
    tmd.update([("d", torch.nn.Identity())])
    assert list(md.keys()) == list(tmd.keys()) == ["b", "c", "d"]
    assert list(md.state_dict()) == list(tmd.state_dict())
    assert "c" in md and "a" not in md and len(md) == 3 and list(md) == ["b", "c", "d"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'zz'"):
        md["zz"]
    with pytest.raises(TypeError, match="not a Module"):
        ml.append(3)
    with pytest.raises(IndexError, match="ModuleList index 7 out of range for 3 modules"):
        ml[7]
    with pytest.raises(NotImplementedError, match="iterate over its modules"):
        ml(dg.ones(2))
    md.clear()
    assert len(md) == 0 and list(md.parameters()) == []


@pytest.mark.parametrize("args", [(), (0,), (2,), (1, 2), (0, -2), (-3, -1)])
def test_flatten_equals_torch(args):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    a, tx = dg.tensor(x, requires_grad=True), t_(x, True)
    out, tout = nn.Flatten(*args)(a), torch.nn.Flatten(*args)(tx)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    w = np.random.default_rng(2).standard_normal(out.shape)
    (out * dg.tensor(w)).sum().backward()
    (tout * t_(w)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, tx.grad.numpy())
    assert repr(nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))
    assert nn.Identity()(a) is a


# ----------------------------------------------------------------------------- losses
SHAPES = {"C": (5,), "NC": (6, 5), "NCd": (4, 5, 3), "NCdd": (2, 5, 3, 2)}
CE_OPTIONS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.15},
    {"label_smoothing": 0.3, "reduction": "sum"},
    {"label_smoothing": 0.2, "reduction": "none"},
    {"weight": True},
    {"weight": True, "reduction": "sum"},
    {"weight": True, "reduction": "none"},
    {"weight": True, "label_smoothing": 0.25},
    {"weight": True, "label_smoothing": 0.1, "reduction": "none"},
    {"ignore": -100},
    {"ignore": -100, "label_smoothing": 0.2},
    {"ignore": -100, "weight": True, "label_smoothing": 0.2},
    {"ignore": -100, "weight": True, "reduction": "none"},
    {"ignore": 2, "weight": True},
    {"ignore": 2, "label_smoothing": 0.3, "reduction": "sum"},
]


def _case(shape_name, opts, seed=0):
    rng = np.random.default_rng(seed)
    shape = SHAPES[shape_name]
    c = shape[1] if len(shape) > 1 else shape[0]
    x = rng.standard_normal(shape) * 2
    batch = () if len(shape) == 1 else (shape[0], *shape[2:])
    y = rng.integers(0, c, batch)
    kw, tkw = {}, {}
    if opts.get("weight"):
        w = rng.random(c) + 0.2
        kw["weight"], tkw["weight"] = w, torch.tensor(w)
    if "ignore" in opts:
        ig = opts["ignore"]
        if ig < 0:
            flat = y.reshape(-1)
            flat[:: 3] = ig
        kw["ignore_index"] = tkw["ignore_index"] = ig
    for k in ("reduction", "label_smoothing"):
        if k in opts:
            kw[k] = tkw[k] = opts[k]
    return x, y, kw, tkw


def _compare(ours_fn, theirs_fn, x, y, dtype, rtol):
    a = dg.tensor(x.astype(dtype), requires_grad=True)
    tx = t_(x.astype(dtype), True)
    out, tout = ours_fn(a, y), theirs_fn(tx, torch.from_numpy(np.asarray(y)))
    assert out.shape == tuple(tout.shape) and out.dtype == np.dtype(dtype)
    g = np.random.default_rng(9).standard_normal(out.shape).astype(dtype)
    (out * dg.tensor(g)).sum().backward()
    (tout * t_(g)).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(a.grad.data, tx.grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("shape_name", list(SHAPES))
@pytest.mark.parametrize("opts", CE_OPTIONS, ids=[str(i) for i in range(len(CE_OPTIONS))])
def test_cross_entropy_with_every_option_equals_torch(shape_name, opts):
    if shape_name == "C" and "ignore" in opts and opts["ignore"] < 0:
        pytest.skip("a single target cannot be partly ignored")
    x, y, kw, tkw = _case(shape_name, opts)
    _compare(lambda a, y: F.cross_entropy(a, y, **kw),
             lambda t, y: TF.cross_entropy(t, y, **tkw), x, y, "float64", 1e-12)
    tkw32 = {k: (v.float() if k == "weight" else v) for k, v in tkw.items()}
    _compare(lambda a, y: nn.CrossEntropyLoss(**kw)(a, y),
             lambda t, y: torch.nn.CrossEntropyLoss(**tkw32)(t, y), x, y, "float32", 2e-5)


@pytest.mark.parametrize("shape_name", list(SHAPES))
@pytest.mark.parametrize("opts", [{}, {"reduction": "sum"}, {"reduction": "none"},
                                  {"label_smoothing": 0.2}, {"weight": True},
                                  {"weight": True, "label_smoothing": 0.4, "reduction": "none"},
                                  {"weight": True, "reduction": "sum"}], ids=str)
def test_cross_entropy_with_probability_targets_equals_torch(shape_name, opts):
    x, _, kw, tkw = _case(shape_name, opts)
    rng = np.random.default_rng(4)
    q = rng.random(x.shape)
    q /= q.sum(axis=1 if x.ndim > 1 else 0, keepdims=True)
    _compare(lambda a, q: F.cross_entropy(a, q, **kw),
             lambda t, q: TF.cross_entropy(t, q, **tkw), x, q, "float64", 1e-12)
    # the targets get their gradient too (soft targets that are themselves learned)
    a, qa = dg.tensor(x, requires_grad=True), dg.tensor(q, requires_grad=True)
    tx, tq = t_(x, True), t_(q, True)
    F.cross_entropy(a, qa, **kw).sum().backward()
    TF.cross_entropy(tx, tq, **tkw).sum().backward()
    np.testing.assert_allclose(qa.grad.data, tq.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape_name", list(SHAPES))
@pytest.mark.parametrize("opts", [o for o in CE_OPTIONS if "label_smoothing" not in o],
                         ids=str)
def test_nll_loss_with_every_option_equals_torch(shape_name, opts):
    if shape_name == "C" and "ignore" in opts and opts["ignore"] < 0:
        pytest.skip("a single target cannot be partly ignored")
    x, y, kw, tkw = _case(shape_name, opts, seed=1)
    _compare(lambda a, y: F.nll_loss(F.log_softmax(a, 1 if a.ndim > 1 else 0), y, **kw),
             lambda t, y: TF.nll_loss(torch.log_softmax(t, 1 if t.ndim > 1 else 0), y, **tkw),
             x, y, "float64", 1e-12)
    tkw32 = {k: (v.float() if k == "weight" else v) for k, v in tkw.items()}
    _compare(lambda a, y: nn.NLLLoss(**kw)(a, y),            # any numbers, not only log-probs
             lambda t, y: torch.nn.NLLLoss(**tkw32)(t, y), x, y, "float32", 2e-5)


def test_the_plain_case_is_the_fused_op_and_the_others_compose_table_ops():
    seen = []
    hook = lambda op, inputs, out, attrs: seen.append(op.name)  # noqa: E731
    dg.ops.HOOKS.append(hook)
    try:
        x = dg.randn(8, 5, requires_grad=True)
        y = np.arange(8) % 5
        F.cross_entropy(x, y)
        assert seen == ["cross_entropy"]
        seen.clear()
        F.cross_entropy(dg.randn(2, 5, 3), y[:6].reshape(2, 3))
        assert "cross_entropy" in seen and "log_softmax" not in seen
        seen.clear()
        F.cross_entropy(x, y, label_smoothing=0.1)
        assert "cross_entropy" not in seen and "log_softmax" in seen
    finally:
        dg.ops.HOOKS.remove(hook)


def test_an_all_ignored_batch_gives_torchs_nan_and_weights_change_the_mean():
    x = np.random.default_rng(2).standard_normal((3, 4))
    y = np.full(3, -100)
    with np.errstate(invalid="ignore", divide="ignore"):
        ours = F.cross_entropy(dg.tensor(x), y).item()
    assert math.isnan(ours) and math.isnan(TF.cross_entropy(t_(x), torch.from_numpy(y)).item())
    y = np.array([0, 1, 1])
    w = np.array([10.0, 1.0, 1.0, 1.0])
    lsm = x - np.log(np.exp(x).sum(1, keepdims=True))       # the closed form by hand
    want = -(10 * lsm[0, 0] + lsm[1, 1] + lsm[2, 1]) / 12
    assert F.cross_entropy(dg.tensor(x), y, weight=w).item() == pytest.approx(want, rel=1e-13)


def test_compiled_step_replays_the_composed_loss_with_new_labels():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 8, 4))
    Y = rng.integers(0, 4, (6, 8))
    Y[:, ::3] = -100
    w = np.array([1.0, 2.0, 0.5, 1.5])
    nets = [nn.Linear(4, 4, dtype="float64", seed=0) for _ in range(2)]

    def loss_of(net):
        def f(x, y):
            return F.cross_entropy(net(dg.Tensor(x)), y, weight=w, label_smoothing=0.1)
        return f

    compiled = dg.compile(loss_of(nets[1]), tune=False)
    for i in range(6):
        assert compiled(X[i], Y[i]).item() == pytest.approx(
            loss_of(nets[0])(X[i], Y[i]).item(), rel=1e-12)
        assert compiled(X[i], Y[i]).item() == pytest.approx(
            TF.cross_entropy(t_(X[i]) @ t_(nets[0].weight.data).T + t_(nets[0].bias.data),
                             torch.from_numpy(Y[i]), weight=torch.tensor(w),
                             label_smoothing=0.1).item(), rel=1e-12)
    assert compiled.traces == 1


def test_loss_errors_name_what_was_wrong():
    x = dg.randn(4, 3)
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(x, [0, 1, 2, 0], reduction="avg")
    with pytest.raises(ValueError, match="weight must have shape \\(3,\\)"):
        F.cross_entropy(x, [0, 1, 2, 0], weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="label 3 at position \\(3,\\) is outside \\[0, 3\\)"):
        F.cross_entropy(x, [0, 1, -100, 3])
    with pytest.raises(ValueError, match="label_smoothing must lie in"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is not supported for probability"):
        F.cross_entropy(x, np.full((4, 3), 1 / 3, np.float32), ignore_index=0)
    with pytest.raises(ValueError, match="MSELoss: reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="class axis"):
        F.nll_loss(dg.tensor(1.0), 0)


@pytest.mark.parametrize("name", ["mse", "l1"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1_losses_equal_torch(name, reduction):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4))
    y = rng.standard_normal((5, 4))
    y[0, :2] = x[0, :2]                                     # |x − y| at its kink
    ours = {"mse": (F.mse_loss, nn.MSELoss), "l1": (F.l1_loss, nn.L1Loss)}[name]
    theirs = {"mse": (TF.mse_loss, torch.nn.MSELoss), "l1": (TF.l1_loss, torch.nn.L1Loss)}[name]
    _compare(lambda a, y: ours[0](a, dg.tensor(y), reduction=reduction),
             lambda t, y: theirs[0](t, y, reduction=reduction), x, y, "float64", 1e-13)
    _compare(lambda a, y: ours[1](reduction=reduction)(a, dg.tensor(y)),
             lambda t, y: theirs[1](reduction=reduction)(t, y), x, y.astype(np.float32),
             "float32", 1e-6)


def test_one_hot_equals_torch():
    y = np.array([[0, 3, 1], [2, 2, 0]])
    for k in (-1, 4, 6):
        ours = F.one_hot(dg.tensor(y), num_classes=k)
        theirs = TF.one_hot(torch.from_numpy(y), num_classes=k)
        assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    with pytest.raises(ValueError, match="not smaller than num_classes=3"):
        F.one_hot(y, 3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(np.array([-1, 0]))
    with pytest.raises(TypeError, match="integer class indices"):
        F.one_hot(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        F.one_hot(np.array([], dtype=np.int64))


# ----------------------------------------------------------------------------- utils
def _grads_pair(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (2, 5)]
    ours, theirs = [], []
    for s in shapes:
        g = rng.standard_normal(s) * scale
        p, tp = dg.tensor(np.zeros(s), requires_grad=True), torch.zeros(s, dtype=torch.float64,
                                                                          requires_grad=True)
        p.grad, tp.grad = dg.tensor(g), torch.tensor(g)
        ours.append(p)
        theirs.append(tp)
    ours.append(dg.tensor(np.zeros(2), requires_grad=True))    # no gradient: skipped
    theirs.append(torch.zeros(2, dtype=torch.float64, requires_grad=True))
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_equals_torch(norm_type, max_norm):
    ours, theirs = _grads_pair()
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=float(norm_type))
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=float(norm_type))
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-13)
    for p, tp in zip(ours[:-1], theirs[:-1], strict=True):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-13, atol=1e-16)
    assert ours[-1].grad is None


def test_clip_grad_norm_in_float32_a_single_tensor_and_the_nonfinite_check():
    g = np.random.default_rng(1).standard_normal((30, 7)).astype(np.float32) * 3
    p = dg.tensor(np.zeros((30, 7), np.float32), requires_grad=True)
    tp = torch.zeros((30, 7), requires_grad=True)
    p.grad, tp.grad = dg.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(p, 1.0)
    assert total.dtype == np.float32 and p.grad.dtype == np.float32
    assert total.item() == pytest.approx(torch.nn.utils.clip_grad_norm_(tp, 1.0).item(),
                                         rel=1e-6)
    np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-6, atol=1e-8)
    p.grad = dg.tensor(np.array([[np.inf] * 7] * 30, np.float32))
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([dg.tensor([1.0], requires_grad=True)], 1.0).item() == 0.0


def test_clip_grad_value_equals_torch():
    ours, theirs = _grads_pair(2, scale=3.0)
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, tp in zip(ours[:-1], theirs[:-1], strict=True):
        np.testing.assert_array_equal(p.grad.data, tp.grad.numpy())
    assert np.abs(ours[0].grad.data).max() == 1.5


def test_compiled_step_replays_gradient_clipping():
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((8, 16, 10)) * 5, rng.integers(0, 3, (8, 16))
    nets = [nn.MLP([10, 12, 3], dtype="float64", seed=1) for _ in range(2)]
    opts = [optim.SGD(n.parameters(), lr=0.5) for n in nets]
    norms = [[], []]

    def step_of(k):
        def step(x, y):
            opts[k].zero_grad()
            loss = F.cross_entropy(nets[k](dg.Tensor(x)), y)
            loss.backward()
            total = nn.utils.clip_grad_norm_(nets[k].parameters(), 0.3)
            opts[k].step()
            return loss, total
        return step

    eager, compiled = step_of(0), dg.compile(step_of(1), tune=False)
    for i in range(8):
        le, ne = eager(X[i], Y[i])
        lc, nc = compiled(X[i], Y[i])
        assert lc.item() == pytest.approx(le.item(), rel=1e-12)
        assert nc.item() == pytest.approx(ne.item(), rel=1e-12)
        norms[0].append(ne.item())
    assert min(norms[0]) > 0.3                      # every step was really clipped
    for pe, pc in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_allclose(pc.data, pe.data, rtol=1e-12, atol=1e-14)


def _truncated_moments(mean, std, a, b):
    """Mean and variance of N(mean, std²) restricted to [a, b] (the textbook closed form)."""
    al, be = (a - mean) / std, (b - mean) / std
    pdf = lambda z: 0.0 if math.isinf(z) else math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    zmass = cdf(be) - cdf(al)
    t_al = 0.0 if math.isinf(al) else al * pdf(al)
    t_be = 0.0 if math.isinf(be) else be * pdf(be)
    m = mean + std * (pdf(al) - pdf(be)) / zmass
    var = std**2 * (1 + (t_al - t_be) / zmass - ((pdf(al) - pdf(be)) / zmass) ** 2)
    return m, var


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04),
                                          (1.0, 2.0, 0.0, 3.0), (0.0, 1.0, 3.0, 3.5),
                                          (0.0, 1.0, 2.5, math.inf),
                                          (0.0, 1.0, -math.inf, -3.0), (5.0, 1.0, -2.0, 2.0)])
def test_trunc_normal_has_the_truncated_normals_moments_and_bounds(mean, std, a, b):
    n = 200_000
    t = dg.zeros(n, dtype="float64")
    assert nn.init.trunc_normal_(t, mean, std, a, b, seed=0) is t
    x = t.data
    assert x.min() >= a and x.max() <= b
    m, var = _truncated_moments(mean, std, a, b)
    assert abs(x.mean() - m) < 5 * math.sqrt(var / n)
    assert abs(x.var() - var) < 0.03 * var
    if (mean, std, a, b) == (0.0, 1.0, -2.0, 2.0):            # torch's samples: same law
        tt = torch.nn.init.trunc_normal_(torch.empty(n, dtype=torch.float64),
                                         generator=torch.Generator().manual_seed(0)).numpy()
        assert abs(tt.mean() - x.mean()) < 0.02 and abs(tt.var() - x.var()) < 0.02


def test_trunc_normal_follows_dg_manual_seed_keeps_dtype_and_checks_arguments():
    w = dg.zeros(50, 20)
    dg.manual_seed(4)
    nn.init.trunc_normal_(w, std=0.02)
    first = w.data.copy()
    dg.manual_seed(4)
    nn.init.trunc_normal_(w, std=0.02)
    assert w.dtype == np.float32 and np.array_equal(w.data, first)
    assert np.abs(first).max() <= 2.0 and first.std() < 0.03
    with pytest.raises(ValueError, match="std must be positive"):
        nn.init.trunc_normal_(w, std=0.0)
    with pytest.raises(ValueError, match="need a < b"):
        nn.init.trunc_normal_(w, a=1.0, b=-1.0)


# ----------------------------------------------------------------------------- a torch script
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 64)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(self.drop(dg.relu(self.fc1(self.flatten(x)))))


class TorchClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = torch.nn.Flatten()
        self.fc1 = torch.nn.Linear(784, 64)
        self.drop = torch.nn.Dropout(0.2)
        self.fc2 = torch.nn.Linear(64, 10)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(self.flatten(x)))))


def test_a_pytorch_shaped_training_script_and_its_torch_twin_agree_step_by_step():
    X, y = dg.data.load_sample("train")
    X = (X[:1024].astype(np.float32) / 255.0 - 0.13) / 0.31
    y = y[:1024]
    dg.manual_seed(0)
    model, twin = Classifier(), TorchClassifier()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    crit, tcrit = nn.CrossEntropyLoss(label_smoothing=0.1), \
        torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    topt = torch.optim.AdamW(twin.parameters(), lr=3e-3, weight_decay=0.01)
    sched = optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10)
    tsched = torch.optim.lr_scheduler.LinearLR(topt, start_factor=0.1, total_iters=10)
    model.eval()                 # dropout off: the same function on both sides, step by step
    twin.eval()
    for step in range(32):
        idx = slice(32 * step, 32 * step + 32)
        loss = crit(model(dg.tensor(X[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        n = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        tloss = tcrit(twin(torch.from_numpy(X[idx])), torch.from_numpy(y[idx]))
        topt.zero_grad()
        tloss.backward()
        tn = torch.nn.utils.clip_grad_norm_(twin.parameters(), 1.0)
        topt.step()
        tsched.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=2e-4, abs=2e-5), step
        assert n.item() == pytest.approx(tn.item(), rel=2e-3)
    with dg.no_grad():
        acc = (model(dg.tensor(X)).argmax(1).numpy() == y).mean()
    with torch.no_grad():
        tacc = (twin(torch.from_numpy(X)).argmax(1).numpy() == y).mean()
    assert acc > 0.7 and abs(acc - tacc) <= 0.01
    model.train()                # and with dropout on, it still trains
    for step in range(8):
        idx = slice(32 * step, 32 * step + 32)
        loss = crit(model(dg.tensor(X[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert np.isfinite(loss.item())
