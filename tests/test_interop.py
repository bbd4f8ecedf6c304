"""dg.interop: dagrad modules and state dicts to PyTorch and back, and the ``.pt`` for PyTorch.

The oracle is PyTorch itself: the converted torch module computes its outputs (and gradients)
with its own kernels from the copied weights.
"""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import dagrad as dg
from dagrad import interop, nn

torch = pytest.importorskip("torch")


def _x(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _same_outputs(dm, tm, x, tol):
    got = dm(dg.tensor(x)).data
    with torch.no_grad():
        want = tm(torch.from_numpy(x)).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "leaky_relu", "softplus",
                                        "sin", "square", "identity"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_torch_mlp_same_outputs_and_gradients(activation, dtype):
    m = nn.MLP([6, 9, 8, 4], activation=activation, dtype=dtype, seed=3)
    tm = interop.to_torch(m)
    assert isinstance(tm, torch.nn.Module)
    assert [n for n, _ in tm.named_parameters()] == [n for n, _ in m.named_parameters()]
    x = _x((5, 6), dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    _same_outputs(m, tm, x, tol)
    # gradients of a cross-entropy through both: the copied weights are the same weights
    y = np.array([0, 3, 1, 2, 3])
    loss = dg.cross_entropy(m(dg.tensor(x)), y)
    loss.backward()
    tl = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    tl.backward()
    for (name, p), tp in zip(m.named_parameters(), tm.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=tol * 10, atol=tol,
                                   err_msg=name)


def test_to_torch_uses_torch_nn_layers_and_softmax_output():
    m = nn.MLP([4, 5, 3], activation="softplus", output="softmax", seed=1)
    tm = interop.to_torch(m)
    assert [type(c).__name__ for c in tm] == ["Linear", "Softplus", "Linear", "Softmax"]
    assert isinstance(tm, torch.nn.Sequential)
    _same_outputs(m, tm, _x((7, 4), np.float32), 1e-6)


def test_to_torch_named_sequential_identity_flatten_logsoftmax():
    m = nn.Sequential(OrderedDict([("flat", nn.Flatten()), ("fc", nn.Linear(12, 5, seed=2)),
                                   ("act", nn.LeakyReLU(0.2)), ("id", nn.Identity()),
                                   ("out", nn.LogSoftmax(dim=1))]))
    tm = interop.to_torch(m)
    assert [n for n, _ in tm.named_children()] == ["flat", "fc", "act", "id", "out"]
    assert tm.act.negative_slope == 0.2 and tm.out.dim == 1
    _same_outputs(m, tm, _x((3, 3, 4), np.float32), 1e-6)


def test_to_torch_keeps_train_eval_mode():
    m = nn.MLP([3, 4, 2], seed=0)
    assert interop.to_torch(m).training
    m.eval()
    assert not interop.to_torch(m).training


@pytest.mark.skipif(not hasattr(nn, "Dropout"), reason="nn.Dropout (issue 20 part B) not here")
def test_dropout_both_ways_same_p_and_eval_outputs():
    m = nn.Sequential(nn.Linear(6, 8, seed=4), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2,
                                                                                    seed=5))
    m.eval()
    tm = interop.to_torch(m)
    assert isinstance(tm[2], torch.nn.Dropout) and tm[2].p == pytest.approx(0.3)
    assert not tm.training
    _same_outputs(m, tm, _x((4, 6), np.float32), 1e-6)
    back = interop.from_torch(tm)
    assert type(back[2]) is nn.Dropout and back[2].p == pytest.approx(0.3)
    assert not back.training
    _same_outputs(back, tm, _x((4, 6), np.float32, seed=1), 1e-6)


@pytest.mark.skipif(not hasattr(nn, "ModuleList"), reason="nn.ModuleList (part B) not here")
def test_modulelist_to_torch_and_back():
    m = nn.Sequential(nn.Linear(3, 4, seed=1), nn.Tanh())
    holder = nn.ModuleList([m, nn.Linear(4, 2, seed=2)])
    th = interop.to_torch(holder)
    assert isinstance(th, torch.nn.ModuleList) and len(th) == 2
    x = _x((5, 3), np.float32)
    with torch.no_grad():
        want = th[1](th[0](torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(holder[1](holder[0](dg.tensor(x))).data, want, rtol=1e-6,
                               atol=1e-6)
    back = interop.from_torch(th)
    assert type(back) is nn.ModuleList
    assert list(back.state_dict()) == list(th.state_dict())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_torch_same_outputs(dtype):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 16), torch.nn.Tanh(),
                             torch.nn.Linear(16, 16), torch.nn.Sigmoid(),
                             torch.nn.Linear(16, 10, bias=False), torch.nn.Softplus(),
                             torch.nn.Linear(10, 3), torch.nn.LogSoftmax(dim=-1)).to(dtype)
    m = interop.from_torch(tm)
    assert type(m) is nn.Sequential
    assert m[5].bias is None
    np_dt = np.float32 if dtype == torch.float32 else np.float64
    assert all(p.data.dtype == np_dt for p in m.parameters())
    _same_outputs(m, tm, _x((6, 2, 4), np_dt), 1e-5 if np_dt == np.float32 else 1e-12)


def test_from_torch_refuses_layers_dagrad_lacks_by_name():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1)))
    with pytest.raises(interop.ConversionError, match=r"Conv1d \(at '1\.0'\).*no dagrad"):
        interop.from_torch(tm)
    with pytest.raises(interop.ConversionError, match="BatchNorm1d.*buffers"):
        interop.from_torch(torch.nn.Sequential(torch.nn.BatchNorm1d(3)))
    with pytest.raises(interop.ConversionError, match="Softplus.*beta=2"):
        interop.from_torch(torch.nn.Softplus(beta=2))
    with pytest.raises(interop.ConversionError, match="Unflatten.*no dagrad"):
        interop.from_torch(torch.nn.Unflatten(1, (2, 2)))
    with pytest.raises(interop.ConversionError, match="float16"):
        interop.from_torch(torch.nn.Linear(2, 2).half())


def test_to_torch_refuses_a_module_subclass_by_name():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x) * 2

    with pytest.raises(interop.ConversionError, match="Net.*state_dict_to_torch"):
        interop.to_torch(Net())
    with pytest.raises(interop.ConversionError, match=r"Net \(at 'inner'\)"):
        interop.to_torch(nn.Sequential(OrderedDict(inner=Net())))


def test_state_dicts_convert_both_ways_exactly():
    m = nn.MLP([4, 6, 2], dtype="float64", seed=7)
    tsd = interop.state_dict_to_torch(m.state_dict())
    assert list(tsd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for k, v in m.state_dict().items():
        assert tsd[k].dtype == torch.float64 and tuple(tsd[k].shape) == v.shape
        np.testing.assert_array_equal(tsd[k].numpy(), v)
    # a copy: changing the torch tensor leaves dagrad's weights alone
    tsd["0.bias"].add_(1.0)
    assert not np.array_equal(tsd["0.bias"].numpy(), m.state_dict()["0.bias"])
    back = interop.state_dict_from_torch(tsd)
    assert all(isinstance(v, np.ndarray) for v in back.values())
    m.load_state_dict(back)
    np.testing.assert_array_equal(m[0].bias.data, tsd["0.bias"].numpy())
    with pytest.raises(TypeError, match="'step' is a int"):
        interop.state_dict_from_torch({"step": 3})
    with pytest.raises(TypeError, match="'name'.*not a number array"):
        interop.state_dict_to_torch({"name": np.array(["a"])})


def test_save_torch_is_plain_pytorch_and_load_torch_rebuilds(tmp_path):
    m = nn.MLP([5, 8, 3], activation="relu", seed=2)
    path = tmp_path / "model.pt"
    interop.save_torch(m, path, metadata={"mean": 0.13, "std": 0.31})
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"state_dict", "dagrad_architecture"}
    arch = raw["dagrad_architecture"]
    assert arch["metadata"] == {"mean": 0.13, "std": 0.31}
    import json

    assert json.loads(json.dumps(arch)) == arch
    tm = interop.load_torch(path)
    assert not tm.training
    _same_outputs(m, tm, _x((4, 5), np.float32), 1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left


def test_load_torch_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        interop.load_torch(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="bad.pt.*weights_only"):
        interop.load_torch(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="other.pt.*dagrad_architecture"):
        interop.load_torch(other)
    with pytest.raises(ValueError, match="not a dagrad architecture"):
        interop.torch_from_architecture({"module": {}})


def test_architecture_rebuilds_the_dagrad_module():
    m = nn.MLP([3, 4, 4, 2], activation="cos", dtype="float64", seed=1)
    m2 = interop.from_spec(interop.architecture(m))
    m2.load_state_dict(m.state_dict())
    x = dg.tensor(_x((2, 3), np.float64))
    np.testing.assert_array_equal(m2(x).data, m(x).data)


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'dagrad\[torch\]'"):
        interop.to_torch(nn.Linear(2, 2))


def test_import_dagrad_and_interop_do_not_import_torch():
    code = ("import sys, dagrad as dg; dg.interop; dg.interop.architecture(dg.nn.Linear(2, 2)); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def _twin_classes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 5, seed=1)
            self.act = nn.Tanh()
            self.fc2 = nn.Linear(5, 3, seed=2)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x))) * 2

    class TorchNet(torch.nn.Module):
        def __init__(self, act=torch.nn.Tanh, out=3):
            super().__init__()
            self.fc1 = torch.nn.Linear(6, 5)
            self.act = act()
            self.fc2 = torch.nn.Linear(5, out)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x))) * 2

    return Net, TorchNet


def test_to_torch_into_a_twin_checks_the_layers_and_copies_the_weights():
    Net, TorchNet = _twin_classes()
    m = Net()
    twin = interop.to_torch(m, into=TorchNet())
    assert isinstance(twin, TorchNet)
    _same_outputs(m, twin, _x((4, 6), np.float32), 1e-6)
    with pytest.raises(interop.ConversionError, match="layer 'act' differs.*Tanh.*ReLU"):
        interop.to_torch(m, into=TorchNet(act=torch.nn.ReLU))
    with pytest.raises(interop.ConversionError, match="layer 'fc2' differs"):
        interop.to_torch(m, into=TorchNet(out=4))
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        interop.to_torch(m, into=object())


@pytest.mark.skipif(not hasattr(nn, "ModuleDict"), reason="nn.ModuleDict (part B) not here")
def test_moduledict_to_torch_and_back():
    d = nn.ModuleDict({"enc": nn.Linear(3, 4, seed=1), "act": nn.ReLU()})
    td = interop.to_torch(d)
    assert isinstance(td, torch.nn.ModuleDict) and list(td) == ["enc", "act"]
    back = interop.from_torch(td)
    assert type(back) is nn.ModuleDict
    np.testing.assert_array_equal(back["enc"].weight.data, d["enc"].weight.data)


@pytest.mark.skipif("start_dim" not in nn.Flatten.__init__.__code__.co_varnames,
                    reason="Flatten(start_dim, end_dim) (part A) not here")
def test_flatten_dims_both_ways():
    m = nn.Sequential(nn.Flatten(0, 1), nn.Linear(4, 2, seed=3))
    tm = interop.to_torch(m)
    assert (tm[0].start_dim, tm[0].end_dim) == (0, 1)
    _same_outputs(m, tm, _x((2, 3, 4), np.float32), 1e-6)
    back = interop.from_torch(tm)
    assert (back[0].start_dim, back[0].end_dim) == (0, 1)
