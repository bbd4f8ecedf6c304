"""examples/pytorch_mnist: a usual PyTorch MNIST script runs on dagrad with only its imports
changed.  Its PyTorch twin starts from the same weights (dg.interop.to_torch into the twin's
Net) and sees the same batches in the same order: with dropout in eval mode the losses agree
step by step (PyTorch is the oracle), with dropout on the final test accuracies agree within
one point.  Both scripts also run end to end (train, evaluate, save, load)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import dagrad as dg

torch = pytest.importorskip("torch")

HERE = Path(__file__).resolve().parents[1] / "examples" / "pytorch_mnist"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"pytorch_mnist_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scripts():
    return _load("train_dagrad"), _load("train_torch")


def _code(path: Path) -> list[str]:
    """The lines after the docstring, without import lines."""
    text = path.read_text(encoding="utf-8")
    body = text.split('"""', 2)[2]
    return [ln for ln in body.splitlines()
            if not re.match(r"(import|from) \S+", ln) and ln.strip()]


def test_the_imports_are_the_only_difference():
    ours, theirs = _code(HERE / "train_dagrad.py"), _code(HERE / "train_torch.py")
    assert ours == theirs
    text = (HERE / "train_dagrad.py").read_text(encoding="utf-8")
    assert "import dagrad as torch" in text and "\nimport torch" not in text
    for habit in ("nn.Module", "nn.Dropout", "label_smoothing=0.1", "torch.optim.AdamW",
                  "lr_scheduler.LinearLR", "clip_grad_norm_", "argmax(dim=1)", "model.eval()",
                  "torch.save(", "torch.load(", "torch.no_grad()", "torch.manual_seed"):
        assert habit in text, habit


def _twins(D, T, seed):
    dg.manual_seed(seed)
    torch.manual_seed(seed)      # the twin's dropout masks: fixed, so the test is repeatable
    dnet = D.Net()
    tnet = dg.interop.to_torch(dnet, into=T.Net())
    for (n, p), tp in zip(dnet.named_parameters(), tnet.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, tp.detach().numpy(), err_msg=n)
    return dnet, tnet


def _batches(D, seed):
    dg.manual_seed(seed)
    loader = D.DataLoader(D.mnist("train"), batch_size=64, shuffle=True)
    for x, y in loader:
        yield (x, y), (torch.from_numpy(np.array(x.data)), torch.from_numpy(np.array(y.data)))


def _fit(D, T, dnet, tnet, steps, eval_mode):
    dloss = D.nn.CrossEntropyLoss(label_smoothing=0.1)
    tloss = T.nn.CrossEntropyLoss(label_smoothing=0.1)
    dopt, dsched = D.make_optimizer(dnet)
    topt, tsched = T.make_optimizer(tnet)
    losses = []
    done = 0
    while done < steps:
        for dbatch, tbatch in _batches(D, seed=done):
            for net in (dnet, tnet):
                net.train(not eval_mode)
            losses.append((D.train_step(dnet, dbatch, dloss, dopt, dsched),
                           T.train_step(tnet, tbatch, tloss, topt, tsched)))
            done += 1
            if done == steps:
                break
    return np.array(losses)


@pytest.mark.slow
def test_dropout_off_the_losses_agree_step_by_step(scripts):
    D, T = scripts
    dnet, tnet = _twins(D, T, seed=1)
    losses = _fit(D, T, dnet, tnet, steps=150, eval_mode=True)   # past the 100-step warm-up
    np.testing.assert_allclose(losses[:, 0], losses[:, 1], rtol=1e-5, atol=1e-6)
    assert losses[-10:, 0].mean() < 0.6 * losses[:10, 0].mean()   # and it learns
    for (n, p), tp in zip(dnet.named_parameters(), tnet.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=n)
    test = D.DataLoader(D.mnist("test"), batch_size=1000)
    ttest = T.DataLoader(T.mnist("test"), batch_size=1000)
    assert D.evaluate(dnet, test) == pytest.approx(T.evaluate(tnet, ttest), abs=0.002)


@pytest.mark.slow
def test_dropout_on_the_final_accuracies_agree_within_one_point(scripts):
    D, T = scripts
    dnet, tnet = _twins(D, T, seed=2)
    _fit(D, T, dnet, tnet, steps=375, eval_mode=False)               # three epochs
    acc_d = D.evaluate(dnet, D.DataLoader(D.mnist("test"), batch_size=1000))
    acc_t = T.evaluate(tnet, T.DataLoader(T.mnist("test"), batch_size=1000))
    assert acc_d > 0.9 and acc_t > 0.9
    assert abs(acc_d - acc_t) <= 0.01, (acc_d, acc_t)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train_dagrad", "train_torch"])
def test_each_script_runs_end_to_end(name, scripts, tmp_path, capsys):
    mod = scripts[0] if name == "train_dagrad" else scripts[1]
    acc = mod.main(["--epochs", "1", "--save", str(tmp_path / "net.pt")])
    out = capsys.readouterr().out
    assert "epoch 1: last batch loss" in out
    assert f"reloaded from {tmp_path / 'net.pt'}: test accuracy {100 * acc:.2f}%" in out
    assert acc > 0.85


@pytest.mark.slow
def test_the_trained_net_exports_to_onnx_and_torch_with_its_outputs(scripts, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    D, T = scripts
    dnet, tnet = _twins(D, T, seed=4)
    _fit(D, T, dnet, tnet, steps=20, eval_mode=False)
    dnet.eval()
    x = np.array(D.mnist("test")[:33][0].data, dtype=np.float32)     # 33 normalised digits
    assert x.shape == (33, 28, 28)
    want = dnet(dg.tensor(x)).data
    dg.onnx.export(dnet, x[:2], tmp_path / "net.onnx")
    (got,) = ort.InferenceSession(str(tmp_path / "net.onnx"),
                                  providers=["CPUExecutionProvider"]).run(None, {"input": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    twin = dg.interop.to_torch(dnet, into=T.Net())
    assert not twin.training
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), want, rtol=1e-5,
                                   atol=1e-5)
