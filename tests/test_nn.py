"""dg.nn against torch.nn with copied weights: values, gradients, state dicts, init statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import nn
from dagrad.nn import functional as F

TORCH_ACT = {
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU,
}


def torch_mlp(sizes, activation="tanh", output=None, bias=True):
    """The torch.nn.Sequential with the same structure (and parameter names) as dg.nn.MLP."""
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        mods.append(torch.nn.Linear(a, b, bias=bias, dtype=torch.float64))
        if i < len(sizes) - 2:
            mods.append(TORCH_ACT[activation]())
    if output == "softmax":
        mods.append(torch.nn.Softmax(dim=-1))
    return torch.nn.Sequential(*mods)


def copy_into_torch(model, tmodel):
    tparams = dict(tmodel.named_parameters())
    assert list(tparams) == [n for n, _ in model.named_parameters()]
    with torch.no_grad():
        for name, p in model.named_parameters():
            tparams[name].copy_(torch.from_numpy(p.data))


# ----------------------------------------------------------------------------- the MLP
def test_sheet_mlp_has_269322_parameters_and_torch_names():
    model = nn.MLP([784, 256, 256, 10], activation="tanh", output="softmax", seed=0)
    assert model.num_parameters() == 269_322
    assert sum(p.data.size for p in model.parameters()) == 269_322
    tmodel = torch_mlp([784, 256, 256, 10], output="softmax")
    assert [(n, tuple(p.shape)) for n, p in model.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tmodel.named_parameters()]
    assert repr(model).replace("MLP(", "Sequential(", 1) == repr(tmodel)
    assert [lin.weight.shape for lin in model.layers] == [(256, 784), (256, 256), (10, 256)]
    assert model[0] is model.layers[0] and model[2] is model.layers[1]
    assert isinstance(model[1], nn.Tanh) and isinstance(model[-1], nn.Softmax)
    assert len(model) == 6 and [type(m).__name__ for m in model][:2] == ["Linear", "Tanh"]
    assert model.config() == {"sizes": [784, 256, 256, 10], "activation": "tanh",
                              "output": "softmax", "init": "default", "bias": True}


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "leaky_relu"])
@pytest.mark.parametrize("output", [None, "softmax"])
@pytest.mark.parametrize("batch", [False, True])
def test_mlp_matches_torch_values_and_gradients(activation, output, batch):
    sizes = [9, 7, 6, 4]
    model = nn.MLP(sizes, activation=activation, output=output, dtype="float64", seed=3)
    tmodel = torch_mlp(sizes, activation, output)
    copy_into_torch(model, tmodel)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 9) if batch else (9,))
    w = rng.standard_normal((5, 4) if batch else (4,))  # a random cotangent
    out = model(dg.tensor(x))
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = tmodel(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-14)
    xt = dg.tensor(x, requires_grad=True)
    (model(xt) * w).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-13)
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.data, tparams[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-13, err_msg=name)


def test_mlp_loss_and_gradients_match_torch_cross_entropy():
    model = nn.MLP([12, 8, 8, 5], dtype="float64", seed=0)
    tmodel = torch_mlp([12, 8, 8, 5])
    copy_into_torch(model, tmodel)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((16, 12)), rng.integers(0, 5, 16)
    loss = F.cross_entropy(model(dg.tensor(x)), y)
    loss.backward()
    tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-13)
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-11, atol=1e-14,
                                   err_msg=name)


def test_mlp_options_and_errors():
    m = nn.MLP([4, 3, 2], bias=False, activation="relu", seed=0)
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "2.weight"]
    assert isinstance(m[1], nn.ReLU) and m.output is None
    assert m(dg.ones(4)).shape == (2,)
    assert nn.MLP([4, 2]).num_parameters() == 10  # no hidden layer: no activation
    with pytest.raises(ValueError, match="activation"):
        nn.MLP([4, 3, 2], activation="swish")
    with pytest.raises(ValueError, match="output"):
        nn.MLP([4, 3, 2], output="sigmoid")
    with pytest.raises(ValueError, match="init"):
        nn.MLP([4, 3, 2], init="orthogonal")
    with pytest.raises(ValueError, match="sizes"):
        nn.MLP([4])


# ----------------------------------------------------------------------------- layers
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_for_one_sample_and_a_batch(bias):
    lin = nn.Linear(6, 3, bias=bias, dtype="float64", seed=0)
    assert lin.weight.shape == (3, 6) and (lin.bias is None) == (not bias)
    t = torch.nn.Linear(6, 3, bias=bias, dtype=torch.float64)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(lin.weight.data))
        if bias:
            t.bias.copy_(torch.from_numpy(lin.bias.data))
    assert repr(lin) == repr(t)
    x = np.random.default_rng(0).standard_normal((4, 6))
    for inp in (x[0], x):
        np.testing.assert_allclose(lin(inp).data, t(torch.from_numpy(inp)).detach().numpy(),
                                   rtol=1e-13)
    out = lin(dg.tensor(x))
    out.sum().backward()
    t(torch.from_numpy(x)).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.data, t.weight.grad.numpy(), rtol=1e-12)
    if bias:
        np.testing.assert_allclose(lin.bias.grad.data, t.bias.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="does not match weight"):
        lin(dg.ones(5))


def test_linear_default_dtype_and_explicit_dtype():
    assert nn.Linear(3, 2).weight.dtype == np.float32
    assert nn.Linear(3, 2, dtype="float64").bias.dtype == np.float64
    with pytest.raises(ValueError, match="init"):
        nn.Linear(3, 2, init="bogus")


@pytest.mark.parametrize("name,ours,theirs", [
    ("tanh", nn.Tanh(), torch.nn.Tanh()),
    ("sigmoid", nn.Sigmoid(), torch.nn.Sigmoid()),
    ("relu", nn.ReLU(), torch.nn.ReLU()),
    ("leaky", nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    ("softmax", nn.Softmax(-1), torch.nn.Softmax(dim=-1)),
    ("softmax0", nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    ("logsoftmax", nn.LogSoftmax(-1), torch.nn.LogSoftmax(dim=-1)),
])
def test_activation_modules_match_torch(name, ours, theirs):
    x = np.random.default_rng(5).standard_normal((3, 4)) * 3
    w = np.random.default_rng(6).standard_normal((3, 4))
    xt = dg.tensor(x, requires_grad=True)
    (ours(xt) * w).sum().backward()
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = theirs(tx)
    (tout * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(ours(x).data, tout.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert repr(ours) == repr(theirs)


def test_sequential_indexing_iteration_slicing_and_repr():
    seq = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Tanh(), nn.Linear(4, 2, seed=1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    assert seq(dg.ones(3)).shape == (2,)
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Tanh(), lambda x: x)
    seq.append(nn.Softmax())
    assert "(3): Softmax(dim=-1)" in repr(seq)


def test_custom_module_registration_and_modes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU())
            self.head = nn.Linear(3, 1, seed=1)
            self.scale = nn.Parameter(np.ones(1))
            self.note = "not a parameter"

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "head"]
    assert net.training and all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net(dg.ones(2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.head = nn.Identity()  # replacing a child drops its parameters
    assert "head.weight" not in dict(net.named_parameters())

    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_to_double_converts_parameters():
    m = nn.MLP([3, 2, 2], seed=0)
    m.double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    m.float()
    assert all(p.dtype == np.float32 for p in m.parameters())


# ----------------------------------------------------------------------------- state dicts
def test_state_dict_round_trip_shares_no_memory():
    a = nn.MLP([5, 4, 3], seed=0)
    b = nn.MLP([5, 4, 3], seed=1)
    sd = a.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, p in a.named_parameters():
        assert not np.shares_memory(sd[name], p.data)
    b.load_state_dict(sd)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)
        assert not np.shares_memory(pa.data, pb.data)
        assert not np.shares_memory(sd[name], pb.data)
    before = b[0].weight.data.copy()
    a[0].weight.data += 1  # training the source must not move the copy
    sd["0.weight"] += 1
    np.testing.assert_array_equal(b[0].weight.data, before)
    x = np.ones((2, 5), np.float32)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_reports_missing_unexpected_and_mismatched_keys():
    m = nn.MLP([5, 4, 3], seed=0)
    sd = m.state_dict()
    bad = dict(sd)
    del bad["2.bias"]
    bad["9.weight"] = np.zeros(3, np.float32)
    bad["0.weight"] = np.zeros((4, 6), np.float32)
    bad["0.bias"] = np.zeros(4, np.float64)
    with pytest.raises(nn.StateDictError) as err:
        m.load_state_dict(bad)
    text = str(err.value)
    assert "missing keys: 2.bias" in text and "unexpected keys: 9.weight" in text
    assert "0.weight: expected float32 (4, 5), got float32 (4, 6)" in text
    assert "0.bias: expected float32 (4,), got float64 (4,)" in text
    assert isinstance(err.value, ValueError)
    np.testing.assert_array_equal(m[0].weight.data, sd["0.weight"])  # nothing half-loaded
    partial = {k: v for k, v in sd.items() if k.startswith("0.")}
    partial["extra"] = np.zeros(1, np.float32)
    res = m.load_state_dict(partial, strict=False)
    assert res.missing_keys == ["2.weight", "2.bias"] and res.unexpected_keys == ["extra"]


# ----------------------------------------------------------------------------- init
def test_default_init_is_pytorchs_uniform_bound():
    lin = nn.Linear(400, 300, seed=0, dtype="float64")
    bound = 1 / math.sqrt(400)
    for t in (lin.weight.data, lin.bias.data):
        assert np.abs(t).max() <= bound
    w = lin.weight.data
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(w.mean()) < 0.02 * bound


def test_xavier_and_he_statistics():
    xav = nn.Linear(400, 200, init="xavier", seed=0, dtype="float64").weight.data
    a = math.sqrt(6 / 600)
    assert np.abs(xav).max() <= a and np.abs(xav).max() > 0.99 * a
    assert xav.std() == pytest.approx(a / math.sqrt(3), rel=0.02)
    he = nn.Linear(400, 300, init="he", seed=0, dtype="float64").weight.data
    assert he.std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert abs(he.mean()) < 0.01 * math.sqrt(2 / 400)
    zb = nn.Linear(10, 4, init="he", zero_bias=True, seed=0)
    assert not zb.bias.data.any()


def test_init_draws_from_dagrads_generator_or_an_explicit_one():
    dg.manual_seed(7)
    a = nn.MLP([6, 5, 2])
    dg.manual_seed(7)
    b = nn.MLP([6, 5, 2])
    c = nn.MLP([6, 5, 2])
    np.testing.assert_array_equal(a[0].weight.data, b[0].weight.data)
    assert not np.array_equal(a[0].weight.data, c[0].weight.data)
    d = nn.MLP([6, 5, 2], seed=7)
    e = nn.MLP([6, 5, 2], generator=np.random.default_rng(7))
    np.testing.assert_array_equal(d[2].weight.data, e[2].weight.data)
    assert not np.array_equal(d[0].weight.data, d[2].weight.data[:, :1].T)
    with pytest.raises(ValueError, match="not both"):
        nn.Linear(2, 2, seed=1, generator=np.random.default_rng(1))


def test_init_functions_match_torch_formulas():
    assert nn.init.calculate_gain("tanh") == torch.nn.init.calculate_gain("tanh")
    assert nn.init.calculate_gain("relu") == torch.nn.init.calculate_gain("relu")
    assert nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5)))
    t = dg.zeros(3, 4)
    assert nn.init.fan_in_and_fan_out(t) == (4, 3)
    nn.init.ones_(t)
    assert t.data.sum() == 12


# ----------------------------------------------------------------------------- functional
def test_nll_loss_matches_torch_and_checks_labels():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    lp = dg.tensor(logits, requires_grad=True)
    loss = F.nll_loss(F.log_softmax(lp), y)
    loss.backward()
    tl = torch.from_numpy(logits).requires_grad_(True)
    tloss = torch.nn.functional.nll_loss(torch.log_softmax(tl, -1), torch.from_numpy(y))
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-13)
    np.testing.assert_allclose(lp.grad.data, tl.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert F.nll_loss(F.log_softmax(logits), y).item() == pytest.approx(
        F.cross_entropy(logits, y).item(), rel=1e-13)
    assert nn.CrossEntropyLoss()(logits, y).item() == pytest.approx(loss.item(), rel=1e-13)
    assert nn.NLLLoss()(F.log_softmax(logits), y).item() == pytest.approx(loss.item(), rel=1e-13)
    single = F.nll_loss(F.log_softmax(logits[0]), y[0])
    assert single.item() == pytest.approx(-F.log_softmax(logits[0]).data[y[0]])
    with pytest.raises(ValueError, match=r"outside \[0, 4\)"):
        F.nll_loss(logits, np.array([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="do not match"):
        F.nll_loss(logits, y[:3])
    with pytest.raises(TypeError, match="integers"):
        F.nll_loss(logits, y + 0.5)


def test_functional_activations_are_the_ops():
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x))
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(F.relu(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(F.leaky_relu(x, 0.1).data, np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(F.softmax(x).data.sum(), 1.0)
    w, b = np.ones((2, 7)), np.array([1.0, -1.0])
    np.testing.assert_allclose(F.linear(x, w, b).data, [1.0, -1.0], atol=1e-12)
