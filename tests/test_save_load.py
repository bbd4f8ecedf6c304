"""dg.save / dg.load: state dicts, optimizer state in PyTorch's nested layout, tensors and
plain values round-trip through the safe .npz format (never pickle), atomically; anything else
is refused, naming where it sits; damaged or hostile files are refused, naming the path.
The round trips are compared with torch.save/torch.load of the same numbers."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile

import numpy as np
import pytest

import dagrad as dg
from dagrad import nn, optim
from dagrad.serialization import STRUCTURE_KEY

torch = pytest.importorskip("torch")


def _to_torch(x):
    """A dagrad structure with torch tensors in place of dagrad's (for torch.save)."""
    if isinstance(x, dg.Tensor):
        return torch.tensor(x.numpy()).requires_grad_(x.requires_grad)
    if isinstance(x, np.ndarray):
        return torch.tensor(x)
    if isinstance(x, dict):
        return {k: _to_torch(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_torch(v) for v in x)
    return x


def _same(ours, theirs, where="obj"):
    """ours (from dg.load) equals theirs (from torch.load) in structure, types and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, (dg.Tensor, np.ndarray)), where
        a = ours.numpy() if isinstance(ours, dg.Tensor) else ours
        assert a.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), where
        np.testing.assert_array_equal(a, theirs.detach().numpy(), err_msg=where)
        if isinstance(ours, dg.Tensor):
            assert ours.requires_grad == theirs.requires_grad, where
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), where
        for k in theirs:
            _same(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float) and math.isnan(theirs):
        assert isinstance(ours, float) and math.isnan(ours), where
    else:
        assert type(ours) is type(theirs) and ours == theirs, where


def _both(obj, tmp_path):
    """obj through dg.save/dg.load and through torch.save/torch.load(weights_only=True)."""
    dg.save(obj, tmp_path / "ours.pt")
    torch.save(_to_torch(obj), tmp_path / "theirs.pt")
    return dg.load(tmp_path / "ours.pt"), torch.load(tmp_path / "theirs.pt", weights_only=True)


def test_a_tensor_round_trips_as_torchs(tmp_path):
    for x in (dg.randn(3, 4), dg.tensor([1, 2, 3]), dg.tensor(2.5, dtype="float64"),
              dg.tensor([[True, False]]), dg.randn(2, requires_grad=True), dg.zeros(0, 3)):
        ours, theirs = _both(x, tmp_path)
        _same(ours, theirs)


def test_a_model_state_dict_round_trips_and_loads_back(tmp_path):
    dg.manual_seed(0)
    model = nn.MLP([6, 5, 3])
    sd = model.state_dict()
    ours, theirs = _both(sd, tmp_path)
    _same(ours, theirs)
    other = nn.MLP([6, 5, 3], seed=99)
    other.load_state_dict(dg.load(tmp_path / "ours.pt"))
    x = dg.randn(4, 6)
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())


def test_torchs_optimizer_state_dict_layout_round_trips(tmp_path):
    """PyTorch's nested layout: int keys in 'state', tuples (betas), floats, bools, None."""
    w = torch.nn.Parameter(torch.randn(3, 2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))
    opt = torch.optim.AdamW([w, b], lr=1e-3, betas=(0.9, 0.99))
    for _ in range(2):
        opt.zero_grad()
        (w.sum() ** 2 + b.square().sum()).backward()
        opt.step()
    sd = opt.state_dict()
    assert isinstance(sd["param_groups"][0]["betas"], tuple)

    def to_dg(x):
        if isinstance(x, torch.Tensor):
            return dg.tensor(x.detach().numpy())
        if isinstance(x, dict):
            return {k: to_dg(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(to_dg(v) for v in x)
        return x

    ours, theirs = _both(to_dg(sd), tmp_path)
    _same(ours, theirs)
    assert list(ours["state"]) == [0, 1] and ours["param_groups"][0]["params"] == [0, 1]
    assert ours["param_groups"][0]["betas"] == (0.9, 0.99)


def test_dagrads_optimizer_state_dict_round_trips(tmp_path):
    model = nn.MLP([4, 3, 2], seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        dg.cross_entropy(model(dg.randn(5, 4)), np.arange(5) % 2).backward()
        opt.step()
    sd = opt.state_dict()
    dg.save({"model": model.state_dict(), "optimizer": sd, "epoch": 3}, tmp_path / "ck.pt")
    back = dg.load(tmp_path / "ck.pt")
    _same_plain(back["optimizer"], sd)
    assert back["epoch"] == 3
    opt2 = optim.Adam(nn.MLP([4, 3, 2], seed=1).parameters(), lr=1e-2)
    opt2.load_state_dict(back["optimizer"])


def _same_plain(a, b):
    if isinstance(b, (dg.Tensor, np.ndarray, np.generic)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype == np.asarray(b).dtype
    elif isinstance(b, dict):
        assert list(a) == list(b)
        for k in b:
            _same_plain(a[k], b[k])
    elif isinstance(b, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same_plain(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_plain_values_keep_their_types(tmp_path):
    obj = {"lr": 1e-3, "inf": float("inf"), "nan": float("nan"), "big": 2**80, "neg": -3,
           "flag": True, "none": None, "name": "mlp – 784·256", "nested": [1, (2.5, "x"), []],
           7: "int key", "empty": {}}
    ours, theirs = _both(obj, tmp_path)
    _same(ours, theirs)
    scalars = {"f32": np.float32(1.25), "i64": np.int64(-4), "arr": np.arange(3)}
    dg.save(scalars, tmp_path / "s.pt")
    back = dg.load(tmp_path / "s.pt")
    assert type(back["f32"]) is np.float32 and back["f32"] == np.float32(1.25)
    assert type(back["i64"]) is np.int64 and isinstance(back["arr"], np.ndarray)


def test_the_file_is_a_safe_npz_numpy_opens_without_pickle(tmp_path):
    dg.save({"w": dg.ones(2, 2)}, tmp_path / "m.pt")
    with np.load(tmp_path / "m.pt", allow_pickle=False) as z:
        assert set(z.files) == {STRUCTURE_KEY, "a0"}
        doc = json.loads(z[STRUCTURE_KEY].tobytes())
        assert doc["format"] == "dagrad.save/1"
        np.testing.assert_array_equal(z["a0"], np.ones((2, 2), np.float32))


@pytest.mark.parametrize("obj, where, what", [
    ({"fn": print}, r"obj\['fn'\]", "a callable"),
    ({"fn": lambda: 0}, r"obj\['fn'\]", "a function"),
    ({"a": [1, {2, 3}]}, r"obj\['a'\]\[1\]", "a set"),
    ({"m": nn.Linear(2, 2)}, r"obj\['m'\]", r"an object of type Linear \(save its state_dict"),
    ({(1, 2): 3}, r"obj\[\(1, 2\)\]", "a dict key of type tuple"),
    ([np.array(["a"], dtype=object)], r"obj\[0\]", "an array of dtype object"),
    (b"bytes", r"obj", "a bytes"),
])
def test_unsupported_values_are_named_with_where_they_sit(tmp_path, obj, where, what):
    path = tmp_path / "bad.pt"
    with pytest.raises(TypeError, match=rf"dg.save: cannot store {what}.* at {where} "):
        dg.save(obj, path)
    assert not path.exists()


def test_a_refused_save_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "keep.pt"
    dg.save({"w": dg.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="state|obj"):
        dg.save({"w": dg.ones(3), "fn": print}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.pt"]  # no temp file left behind


def test_save_is_atomic_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "keep.pt"
    dg.save({"w": dg.ones(3)}, path)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        dg.save({"w": dg.zeros(3)}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.pt"]


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def _structure(doc):
    return _npy(np.frombuffer(json.dumps(doc).encode(), np.uint8))


@pytest.mark.parametrize("members, message", [
    ({"a0.npy": _npy(np.ones(2))}, "not a dg.save file"),
    ({"__dagrad__.npy": _npy(np.ones(2))}, "not the bytes of a JSON document"),
    ({"__dagrad__.npy": _npy(np.frombuffer(b"{nope", np.uint8))}, "not JSON"),
    ({"__dagrad__.npy": _structure({"format": "other", "root": {}})}, "not a dg.save file of"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1",
                                    "root": {"t": "tensor", "k": "a9"}})}, "missing array"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1", "root": {"t": "pickle"}})},
     "unknown type 'pickle'"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1",
                                    "root": {"t": "list", "items": [{"t": "tensor", "k": "a0"},
                                                                    {"t": "tensor", "k": "a0"}]}}),
      "a0.npy": _npy(np.ones(2))}, "referenced twice"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1", "root": {"t": "none"}}),
      "a0.npy": _npy(np.ones(2))}, "belong to no entry"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1",
                                    "root": {"t": "tensor", "k": "a0"}}),
      "a0.npy": _npy(np.array([{"x": 1}], dtype=object))}, "object"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1",
                                    "root": {"t": "int", "v": "12x"}})}, "bad int value"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1", "root": {
        "t": "dict", "items": [[["s", "a"], {"t": "none"}]] * 2}})}, "key 'a' twice"),
    ({"__dagrad__.npy": _structure({"format": "dagrad.save/1",
                                    "root": {"t": "dict", "items": [["a", 1]]}})},
     "malformed dict entry"),
])
def test_damaged_or_hostile_files_are_refused_naming_the_path(tmp_path, members, message):
    path = tmp_path / "evil.pt"
    _zip(path, members)
    with pytest.raises(ValueError, match=message) as e:
        dg.load(path)
    assert str(path) in str(e.value)


def test_deep_nesting_and_size_limits(tmp_path):
    deep = {"t": "none"}
    for _ in range(300):
        deep = {"t": "list", "items": [deep]}
    path = tmp_path / "deep.pt"
    _zip(path, {"__dagrad__.npy": _structure({"format": "dagrad.save/1", "root": deep})})
    with pytest.raises(ValueError, match="deeper than"):
        dg.load(path)
    nested: list = []
    for _ in range(300):
        nested = [nested]
    with pytest.raises(TypeError, match="nested deeper"):
        dg.save(nested, tmp_path / "n.pt")
    dg.save({"w": dg.zeros(1000)}, tmp_path / "big.pt")
    with pytest.raises(ValueError, match="max_bytes"):
        dg.load(tmp_path / "big.pt", max_bytes=1000)
    for bad in (tmp_path / "missing.pt", tmp_path):
        with pytest.raises(ValueError, match=str(bad)):
            dg.load(bad)
    (tmp_path / "trunc.pt").write_bytes((tmp_path / "big.pt").read_bytes()[:200])
    with pytest.raises(ValueError, match="trunc.pt"):
        dg.load(tmp_path / "trunc.pt")


def test_pytorchs_load_options(tmp_path):
    dg.save([dg.ones(2)], tmp_path / "x.pt")
    assert dg.load(tmp_path / "x.pt", map_location="cpu", weights_only=True)[0].shape == (2,)
    with pytest.raises(ValueError, match="map_location"):
        dg.load(tmp_path / "x.pt", map_location="cuda")
    with pytest.raises(ValueError, match="weights_only=False"):
        dg.load(tmp_path / "x.pt", weights_only=False)


def test_compressed_files_load_the_same(tmp_path):
    sd = nn.MLP([20, 10, 2], seed=0).state_dict()
    dg.save(sd, tmp_path / "c.pt", compress=True)
    back = dg.load(tmp_path / "c.pt")
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k])
