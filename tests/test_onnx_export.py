"""dg.onnx.export: the traced forward DAG as an ONNX model that onnx's checker accepts and
ONNX Runtime (an independent engine) runs to dagrad's outputs, float32 and float64, at batch
sizes other than the example's.  A walk of the op table fails on an op without an entry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dagrad as dg
from dagrad import nn
from dagrad.onnx import TABLE, ExportError
from dagrad.onnx.table import Refused
from dagrad.ops import OPS, base

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

W53 = np.linspace(-1, 1, 15).reshape(5, 3)
W35 = np.linspace(-0.7, 0.9, 15).reshape(3, 5)
B3 = np.array([0.1, -0.2, 0.3])


def _c(a, x):
    return dg.tensor(np.asarray(a, dtype=x.dtype))


#: name → (fn of x (N, 5) [, labels (N,)], needs labels); together they use every mapped op
CASES = {
    "arith": lambda x: ((x + 1.5) * x - x / (x * x + 1) - (-x)) / 2,
    "powers": lambda x: (x ** 3 + x ** 2 + (x * x + 1) ** -1, dg.abs(x) ** 1.5,
                         dg.ops.pow(dg.abs(x) + 1, dg.abs(x))),
    "unary": lambda x: (dg.exp(x), dg.log(dg.abs(x) + 1), dg.sqrt(dg.abs(x)), dg.tanh(x),
                        dg.sigmoid(x), dg.relu(x), dg.leaky_relu(x, 0.2), dg.sin(x), dg.cos(x),
                        dg.square(x)),
    "stable": lambda x: (dg.log1p(x * 1e-9), dg.log1p(dg.abs(x)), dg.expm1(x * 1e-6),
                         dg.expm1(x * 0.03), dg.expm1(x), dg.softplus(x * 30),
                         dg.softplus(x - 40), dg.softplus(x)),
    "select": lambda x: (dg.maximum(x, 0.3), dg.minimum(x, _c([0.1, 0, -2, 3, 0.2], x)),
                         dg.where(x > 0, x, -x * 2), dg.where(x != 0.5, 1.0, x),
                         dg.clamp(x, -0.5, 0.5), dg.clamp(x, min=0.1), dg.clamp(x, max=0)),
    "cast": lambda x: dg.ops.cast(x, np.float64 if x.dtype == np.float32 else np.float32) * 2,
    "matmul": lambda x: (x @ _c(W53, x), _c(W35, x) @ x.T, x @ _c(W53[:, 0], x),
                         dg.reshape(x, (-1, 5, 1)) @ _c(W53[:1], x)),
    "linear": lambda x: (dg.linear(x, _c(W35, x), _c(B3, x)),
                         dg.linear(dg.reshape(x, (-1, 1, 5)), _c(W35, x), _c(B3, x)),
                         dg.linear(x, _c(W35, x))),
    "softmax": lambda x: (dg.softmax(x), dg.log_softmax(x, axis=0), dg.softmax(x, axis=1)),
    "loss": lambda x, y: dg.cross_entropy(x, y),
    "reduce": lambda x: (dg.sum(x, axis=1), dg.sum(x), dg.mean(x, axis=0),
                         dg.mean(x, axis=1, keepdims=True), dg.amax(x, 1), dg.amin(x, 1, True),
                         x.max(axis=0)),
    "shape": lambda x: (dg.reshape(x, (-1, 5, 1)), dg.reshape(x, (-1,)), x.T,
                        dg.broadcast_to(dg.reshape(x, (-1, 1, 5)), (x.shape[0], 3, 5)),
                        dg.stack([x, x * 2], axis=1), dg.stack([x, x], axis=0),
                        dg.concatenate([x, x * 3], axis=1)),
    "index": lambda x: (x[:, 1:4], x[:, ::-1], x[:, 2], x[:, None, np.array([0, 2, 2])],
                        x[..., -1], x[:, -2:], x[:, np.array([[1, 0], [4, 4]])]),
}


def _run(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, feeds, strict=True)))


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _inputs(name, n, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype(dtype)
    x[0, 0] = 0.5  # a tie for where(x != 0.5)
    return (x, rng.integers(0, 5, n)) if name == "loss" else (x,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_onnx_runtime_gives_dagrad_outputs_at_another_batch(name, dtype, tmp_path):
    fn = CASES[name]
    path = tmp_path / f"{name}.onnx"
    model = dg.onnx.export(fn, _inputs(name, 4, dtype, 0), path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert model.opset_import[0].version == 17
    tol = 2e-6 if dtype == "float32" else 1e-13
    for n in (7, 1):
        feeds = _inputs(name, n, dtype, n)
        want = _flat(fn(*[dg.tensor(a) if a.dtype.kind == "f" else a for a in feeds]))
        got = _run(path, feeds)
        assert len(got) == len(want)
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g.dtype == w.data.dtype and g.shape == w.shape, (name, k)
            np.testing.assert_allclose(g, w.data, rtol=tol, atol=tol * 1e-3,
                                       err_msg=f"{name} output {k} at batch {n}")


def test_every_op_of_the_table_is_mapped_or_refused_by_name():
    assert set(TABLE) == set(OPS), (set(OPS) - set(TABLE), set(TABLE) - set(OPS))
    for name, entry in TABLE.items():
        assert callable(entry) or (isinstance(entry, Refused) and entry.why), name


def test_the_cases_use_every_mapped_op():
    seen = set()

    def hook(op, inputs, out, attrs):
        seen.add(op.name)

    base.HOOKS.append(hook)
    try:
        for name, fn in CASES.items():
            fn(*[dg.tensor(a) if a.dtype.kind == "f" else a for a in _inputs(name, 3, "float64",
                                                                              0)])
    finally:
        base.HOOKS.remove(hook)
    mapped = {k for k, v in TABLE.items() if not isinstance(v, Refused)}
    assert mapped - seen == set()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus", "leaky_relu", "sigmoid"])
def test_mlp_module_dynamic_batch_and_parameter_names(activation, dtype, tmp_path):
    m = nn.MLP([12, 16, 8, 3], activation=activation, output="softmax", dtype=dtype, seed=4)
    x = np.random.default_rng(0).standard_normal((3, 12)).astype(dtype)
    path = tmp_path / "mlp.onnx"
    model = dg.onnx.export(m, dg.tensor(x), path, metadata={"mean": "0.1"})
    inits = {i.name for i in model.graph.initializer}
    assert {n for n, _ in m.named_parameters()} <= inits
    dim0 = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "batch"
    assert {p.key: p.value for p in model.metadata_props} == {"mean": "0.1"}
    x2 = np.random.default_rng(1).standard_normal((17, 12)).astype(dtype)
    (got,) = _run(path, [x2])
    tol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, m(dg.tensor(x2)).data, rtol=tol, atol=tol * 1e-2)


def test_static_batch_and_names(tmp_path):
    m = nn.Sequential(nn.Flatten(), nn.Linear(6, 2, seed=1))
    x = np.ones((2, 2, 3), np.float32)
    path = tmp_path / "static.onnx"
    model = dg.onnx.export(m, x, path, dynamic_batch=False, input_names=["img"],
                           output_names=["logits"], opset=18)
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [2, 2, 3]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(["logits"], {"img": x})
    np.testing.assert_allclose(got, m(dg.tensor(x)).data, rtol=1e-6)


@pytest.mark.skipif(not hasattr(nn, "Dropout"), reason="nn.Dropout (issue 20 part B) not here")
def test_a_module_is_exported_in_eval_mode_and_its_mode_kept(tmp_path):
    m = nn.Sequential(nn.Linear(4, 8, seed=1), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2,
                                                                                    seed=2))
    assert m.training
    x = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)
    dg.onnx.export(m, x, tmp_path / "d.onnx")
    assert m.training
    m.eval()
    (got,) = _run(tmp_path / "d.onnx", [x])
    np.testing.assert_allclose(got, m(dg.tensor(x)).data, rtol=1e-6)


def test_refusals_name_what_is_wrong(tmp_path):
    x = np.ones((3, 4), np.float32)
    p = tmp_path / "r.onnx"
    with pytest.raises(ExportError, match="op 'setitem' has no ONNX mapping"):
        dg.onnx.export(lambda t: dg.ops.setitem(t, (slice(None), 0), 0.0), x, p)
    with pytest.raises(ExportError, match="op 'scatter_add' has no ONNX mapping"):
        dg.onnx.export(lambda t: dg.ops.scatter_add(t, (slice(None), slice(0, 4)), (3, 5), 2),
                       x, p)
    with pytest.raises(ExportError, match="dg.onnx.export cannot replay a Python decision"):
        dg.onnx.export(lambda t: t if t.sum() > 0 else -t, x, p)
    with pytest.raises(ExportError, match="output 0 .* not computed by dagrad ops"):
        dg.onnx.export(lambda t: dg.tensor(t.data * 2), x, p)
    with pytest.raises(ExportError, match=r"reshape from \(3, 4\) to \(4, 3\) moves the batch"):
        dg.onnx.export(lambda t: dg.reshape(t, (4, 3)), x, p)
    with pytest.raises(ExportError, match="index array on the batch axis"):
        dg.onnx.export(lambda t: t[np.array([0, 2])], x, p)
    with pytest.raises(ExportError, match="opset must be an integer from 17"):
        dg.onnx.export(lambda t: t * 2, x, p, opset=16)
    with pytest.raises(ExportError, match="input_names must be 1 distinct names"):
        dg.onnx.export(lambda t: t * 2, x, p, input_names=["a", "b"])
    with pytest.raises(ExportError, match="dropout draws a new random mask"):
        dg.onnx.export(lambda t: nn.functional.dropout(t, 0.5, training=True), x, p)
    with pytest.raises(ExportError, match=r"op 'mul' meets the batch axis with a value of "
                                          r"shape \(3, 4\) made inside fn"):
        dg.onnx.export(lambda t: t * dg.randn(*t.shape), x, p)
    assert not p.exists() and list(tmp_path.iterdir()) == []  # nothing half-written
    # without the dynamic batch the reshape is a plain one
    dg.onnx.export(lambda t: dg.reshape(t, (4, 3)), x, p, dynamic_batch=False)
    np.testing.assert_array_equal(_run(p, [x])[0], x.reshape(4, 3))


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'dagrad\[onnx\]'"):
        dg.onnx.export(lambda t: t * 2, np.ones(2), tmp_path / "x.onnx")


def test_import_dagrad_onnx_does_not_import_onnx():
    code = "import sys, dagrad as dg; dg.onnx.TABLE; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dagrad_train_exports_onnx_and_torch_that_reproduce_the_model(dtype, tmp_path, capsys):
    """dagrad train --export-onnx / --export-torch: ONNX Runtime and PyTorch (plain
    torch.load(weights_only=True) and dg.interop.load_torch) give the trained model's outputs."""
    import json

    torch = pytest.importorskip("torch")
    from dagrad.cli import main
    from dagrad.data import load_sample
    from dagrad.training import load_checkpoint
    from dagrad.training.run import model_from_checkpoint

    out, onx, pt = tmp_path / "run", tmp_path / "m.onnx", tmp_path / "m.pt"
    assert main(["train", "-o", str(out), "--epochs", "1", "--hidden", "16", "--limit-train",
                 "256", "--limit-test", "100", "--no-plots", "--no-progress", "--dtype", dtype,
                 "--activation", "relu", "--export-onnx", str(onx),
                 "--export-torch", str(pt)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {onx}" in text and f"wrote {pt}" in text
    ck = load_checkpoint(out / "checkpoint.npz")
    model = model_from_checkpoint(ck)
    X, _ = load_sample("test")
    x = ((X[:37].reshape(37, -1) / 255.0 - ck.config["mean"]) / ck.config["std"]).astype(dtype)
    want = model(dg.tensor(x)).data
    tol = 1e-5 if dtype == "float32" else 1e-12
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(onx)).metadata_props}
    assert meta["mean"] == pytest.approx(ck.config["mean"]) and meta["classes"][3] == "3"
    (got,) = _run(onx, [x])
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    raw = torch.load(pt, weights_only=True)
    assert raw["dagrad_architecture"]["dtype"] == dtype
    for tm in (dg.interop.load_torch(pt), dg.interop.torch_from_architecture(
            raw["dagrad_architecture"])):
        tm.load_state_dict(raw["state_dict"])
        with torch.no_grad():
            np.testing.assert_allclose(tm(torch.from_numpy(x)).numpy(), want, rtol=tol, atol=tol)


def test_dagrad_train_export_without_the_package_says_what_to_install(tmp_path, capsys,
                                                                     monkeypatch):
    from dagrad.cli import main
    from dagrad.cli.needs import Requirement

    real = Requirement.available
    monkeypatch.setattr(Requirement, "available",
                        lambda self: False if self.module == "onnx" else real(self))
    assert main(["train", "-o", str(tmp_path / "r"), "--no-plots",
                 "--export-onnx", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "onnx" in err and "pip install 'dagrad[onnx]'" in err
    assert not (tmp_path / "r").exists()  # checked before any training
