"""Training: fit learns, checkpoints round-trip, resume is exact, Ctrl-C saves, the CLI works.

Everything runs on the embedded sample (no network) with small limits, in a few seconds.
"""

from __future__ import annotations

import io
import json
import signal
import threading

import numpy as np
import pytest

import dagrad as dg
from dagrad import nn, optim
from dagrad.cli import main
from dagrad.data import DataLoader, load_sample
from dagrad.training import (
    EvalResult,
    ProgressBar,
    evaluate,
    fit,
    load_checkpoint,
    save_checkpoint,
)
from dagrad.training.checkpoint import FORMAT, rng_from_array, rng_to_array

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def sample():
    Xtr, ytr = load_sample("train")
    Xte, yte = load_sample("test")
    return Xtr[:1024], ytr[:1024], Xte[:400], yte[:400]


def setup(sample, hidden=(32,), epochs=2, lr=2e-3, batch=64, kind="adam"):
    Xtr, ytr, Xte, yte = sample
    loader = DataLoader(Xtr, ytr, batch_size=batch, shuffle=True, seed=5, standardize=True)
    test = DataLoader(Xte, yte, batch_size=200, shuffle=False, mean=loader.mean, std=loader.std)
    model = nn.MLP([784, *hidden, 10], seed=11)
    if kind == "adam":
        opt = optim.Adam(model.parameters(), lr=lr)
    else:
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = optim.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    return model, opt, sched, loader, test


def assert_same_state(a, b):
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=name)


# ----------------------------------------------------------------------------- fit
def test_a_short_run_on_the_sample_clearly_learns():
    Xtr, ytr = load_sample("train")
    Xte, yte = load_sample("test")
    loader = DataLoader(Xtr[:2400], ytr[:2400], batch_size=32, seed=0, standardize=True)
    test = DataLoader(Xte[:500], yte[:500], batch_size=500, shuffle=False,
                      mean=loader.mean, std=loader.std)
    model = nn.MLP([784, 64, 64, 10], seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    before = evaluate(model, test)
    res = fit(model, opt, loader, test, epochs=3, progress=False, log=None)  # 225 steps
    assert not res.interrupted and len(res.history) == 3
    assert res.history[0]["train_loss"] > res.history[-1]["train_loss"]
    assert before.accuracy < 0.3 and res.final.accuracy > 0.85
    assert res.final.loss < 0.5 * before.loss
    assert all(h["test_acc"] == pytest.approx(h["test_acc"]) for h in res.history)


def test_fit_takes_arrays_as_test_data_and_logs_one_line_per_epoch(sample):
    model, opt, sched, loader, test = setup(sample, epochs=1)
    Xte = np.concatenate([xb for xb, _ in test])
    lines = []
    res = fit(model, opt, loader, (Xte, sample[3]), 1, scheduler=sched, progress=False,
              log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("epoch 1/1  train loss")
    ev = evaluate(model, test)
    assert res.history[0]["test_acc"] == ev.accuracy
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_evaluate_counts_a_confusion_matrix():
    logits = np.array([[5.0, 0, 0], [0, 5, 0], [0, 5, 0], [0, 0, 5]])
    labels = np.array([0, 1, 2, 2])
    ev = evaluate(nn.Identity(), (logits, labels), batch_size=3)
    assert isinstance(ev, EvalResult) and ev.n == 4 and ev.accuracy == 0.75
    assert ev.confusion.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    np.testing.assert_allclose(ev.per_class_accuracy, [1, 1, 0.5])
    ce = dg.cross_entropy(logits, labels).item()
    assert ev.loss == pytest.approx(ce)
    soft = nn.Sequential(nn.Softmax())
    soft.output = "softmax"  # models ending in softmax are scored with −log p_y
    assert evaluate(soft, (logits, labels)).loss == pytest.approx(ce)
    d = ev.to_dict()
    assert d["per_class_accuracy"] == [1.0, 1.0, 0.5] and json.dumps(d)


# ----------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path, sample):
    model, opt, sched, loader, test = setup(sample, epochs=1)
    fit(model, opt, loader, test, 1, scheduler=sched, progress=False, log=None)
    path = tmp_path / "c.npz"
    gen = np.random.default_rng(42)
    gen.standard_normal(3)
    save_checkpoint(path, model.state_dict(), optimizer_state=opt.state_dict(),
                    scheduler_state=sched.state_dict(), epoch=3, batch=2,
                    partial=(1.5, 7, 9), config={"a": [1, 2]}, history=[{"epoch": 1}], rng=gen)
    ck = load_checkpoint(path)
    assert (ck.epoch, ck.batch, ck.partial) == (3, 2, (1.5, 7, 9))
    assert ck.config == {"a": [1, 2]} and ck.history == [{"epoch": 1}]
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(ck.model[k], v)
    assert set(ck.optimizer) == set(optim.flat_state_dict(opt.state_dict()))
    assert int(ck.scheduler["last_epoch"]) == sched.last_epoch
    np.testing.assert_array_equal(rng_from_array(ck.rng).standard_normal(4),
                                  gen.standard_normal(4))
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert str(z["format"]) == FORMAT and all(z[k].dtype != object for k in z.files)


def test_rng_state_round_trip():
    g = np.random.default_rng(3)
    g.random(5)
    h = rng_from_array(rng_to_array(g))
    np.testing.assert_array_equal(g.random(7), h.random(7))


def test_load_checkpoint_rejects_bad_files(tmp_path, sample):
    model = nn.MLP([4, 3], seed=0)
    good = tmp_path / "good.npz"
    save_checkpoint(good, model.state_dict())
    arrays = dict(np.load(good, allow_pickle=False))

    def variant(name, **changes):
        path = tmp_path / name
        data = {**arrays, **changes}
        np.savez(path, **{k: v for k, v in data.items() if v is not None})
        return path

    cases = {
        "not a dagrad": variant("f.npz", format=np.array("other")),
        "lacks config": variant("m.npz", config=None),
        "not valid JSON": variant("j.npz", config=np.array("{oops")),
        "finite": variant("n.npz", **{"model.0.weight": np.full((3, 4), np.nan)}),
        "non-negative integer": variant("e.npz", epoch=np.array(-1)),
        "6 uint64": variant("r.npz", rng=np.arange(3)),
        "no model": variant("p.npz", **{"model.0.weight": None, "model.0.bias": None}),
    }
    for msg, path in cases.items():
        with pytest.raises(ValueError, match=msg):
            load_checkpoint(path)
    trunc = tmp_path / "t.npz"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="t.npz"):
        load_checkpoint(trunc)
    with pytest.raises(ValueError, match="no such file"):
        load_checkpoint(tmp_path / "absent.npz")


# ----------------------------------------------------------------------------- resume
def test_two_epochs_equal_one_plus_resume_one(tmp_path, sample):
    m1, o1, s1, l1, t1 = setup(sample)
    full = fit(m1, o1, l1, t1, 2, scheduler=s1, progress=False, log=None)
    path = tmp_path / "ck.npz"
    m2, o2, s2, l2, t2 = setup(sample)
    first = fit(m2, o2, l2, t2, 1, scheduler=s2, checkpoint=path, progress=False, log=None)
    assert first.epoch == 1 and load_checkpoint(path).epoch == 1
    m3, o3, s3, l3, t3 = setup(sample)  # a fresh process: everything rebuilt from scratch
    rest = fit(m3, o3, l3, t3, 2, scheduler=s3, checkpoint=path, resume=True, progress=False,
               log=None)
    assert_same_state(m1, m3)
    assert o3.param_groups[0]["lr"] == o1.param_groups[0]["lr"]
    assert [h["train_loss"] for h in rest.history] == [h["train_loss"] for h in full.history]
    assert [h["test_acc"] for h in rest.history] == [h["test_acc"] for h in full.history]
    assert load_checkpoint(path).epoch == 2


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers need the main thread")
def test_ctrl_c_mid_epoch_saves_and_resume_is_exact(tmp_path, sample):
    m1, o1, s1, l1, t1 = setup(sample, kind="sgd", lr=0.01)
    full = fit(m1, o1, l1, t1, 2, scheduler=s1, progress=False, log=None)
    path = tmp_path / "ck.npz"
    m2, o2, s2, l2, t2 = setup(sample, kind="sgd", lr=0.01)

    def press_ctrl_c(info):
        if info["epoch"] == 1 and info["batch"] == 5:
            signal.raise_signal(signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    res = fit(m2, o2, l2, t2, 2, scheduler=s2, checkpoint=path, progress=False, log=None,
              on_step=press_ctrl_c)
    assert signal.getsignal(signal.SIGINT) is previous  # handler restored
    assert res.interrupted and (res.epoch, res.batch) == (1, 5)
    ck = load_checkpoint(path)
    assert (ck.epoch, ck.batch) == (1, 5) and ck.partial[2] == 5 * 64
    m3, o3, s3, l3, t3 = setup(sample, kind="sgd", lr=0.01)
    rest = fit(m3, o3, l3, t3, 2, scheduler=s3, checkpoint=path, resume=True, progress=False,
               log=None)
    assert not rest.interrupted
    assert_same_state(m1, m3)
    assert rest.history[-1]["train_loss"] == full.history[-1]["train_loss"]
    assert rest.history[-1]["train_acc"] == full.history[-1]["train_acc"]


def test_a_hard_keyboard_interrupt_keeps_the_last_epoch_checkpoint(tmp_path, sample):
    model, opt, sched, loader, test = setup(sample)
    path = tmp_path / "ck.npz"

    def boom(info):
        if info["epoch"] == 1 and info["batch"] == 3:
            raise KeyboardInterrupt

    res = fit(model, opt, loader, test, 2, scheduler=sched, checkpoint=path, progress=False,
              log=None, on_step=boom)
    assert res.interrupted and load_checkpoint(path).epoch == 1
    with pytest.raises(KeyboardInterrupt):
        fit(model, opt, loader, test, 2, progress=False, log=None, on_step=boom,
            catch_interrupt=False)


def test_resume_needs_a_checkpoint(tmp_path, sample):
    model, opt, sched, loader, test = setup(sample)
    with pytest.raises(FileNotFoundError):
        fit(model, opt, loader, test, 1, checkpoint=tmp_path / "none.npz", resume=True)


# ----------------------------------------------------------------------------- progress bar
def test_progress_bar_plain_lines_and_terminal_redraws():
    plain = io.StringIO()
    bar = ProgressBar(10, desc="epoch 1/2", stream=plain)
    for i in range(1, 11):
        bar.update(i, loss=0.5, samples=64 * i)
    bar.close()
    lines = plain.getvalue().splitlines()
    assert len(lines) == 1 and "\r" not in plain.getvalue()
    assert lines[0].startswith("epoch 1/2  10/10  loss 0.5000") and "samples/s" in lines[0]
    tty = io.StringIO()
    bar = ProgressBar(4, desc="e", stream=tty, tty=True, min_interval=0)
    bar.update(1, loss=1.0, samples=8)
    assert "\r" in tty.getvalue() and "ETA" in tty.getvalue() and "[" in tty.getvalue()
    bar.close()
    assert tty.getvalue().endswith("\n")
    quiet = io.StringIO()
    bar = ProgressBar(4, stream=quiet, enabled=False)
    bar.update(4)
    bar.close()
    assert quiet.getvalue() == ""


# ----------------------------------------------------------------------------- CLI
def test_cli_train_writes_everything_and_evaluate_reads_it(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--epochs", "2", "--limit-train", "640", "--limit-test", "300",
            "--schedule", "none", "--seed", "3", "-o", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("dataset: sample — ")
    assert "epoch 2/2" in text and "test accuracy" in text
    for name in ("checkpoint.npz", "metrics.json", "curves.png", "confusion.png"):
        assert (out / name).exists(), name
    assert (out / "curves.png").read_bytes()[:8] == PNG
    assert (out / "confusion.png").read_bytes()[:8] == PNG
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"]["train"] == 640 and metrics["dataset"]["test"] == 300
    assert len(metrics["epochs"]) == 2 and not metrics["interrupted"]
    assert metrics["final"]["accuracy"] == metrics["epochs"][-1]["test_acc"] > 0.6
    assert np.array(metrics["final"]["confusion"]).sum() == 300
    ck = load_checkpoint(out / "checkpoint.npz")
    assert ck.epoch == 2 and ck.config["lr"] == 1e-3 and ck.config["hidden"] == [256, 256]
    assert sum(v.size for v in ck.model.values()) == 269_322

    assert main(["evaluate", str(out / "checkpoint.npz"), "--limit", "300"]) == 0
    ev = capsys.readouterr().out
    acc = f"{100 * metrics['final']['accuracy']:.2f}%"
    assert f"accuracy {acc}" in ev and "sample test (300 samples)" in ev
    assert len([ln for ln in ev.splitlines() if ln.startswith("  ") and "%" in ln]) == 10

    ev_dir = tmp_path / "ev"
    assert main(["evaluate", str(out / "checkpoint.npz"), "--split", "train", "--limit", "100",
                 "-o", str(ev_dir)]) == 0
    assert json.loads((ev_dir / "evaluation.json").read_text())["n"] == 100
    assert (ev_dir / "confusion.png").read_bytes()[:8] == PNG


def test_cli_resume_continues_and_refuses_other_settings(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "--limit-train", "256", "--limit-test", "100", "--schedule", "none",
            "--hidden", "16", "-o", str(out), "--no-progress"]
    assert main(base + ["--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["train", "-o", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "resuming" in text and "epoch 2/2" in text and "epoch 1/2" not in text
    assert load_checkpoint(out / "checkpoint.npz").epoch == 2
    assert len(json.loads((out / "metrics.json").read_text())["epochs"]) == 2
    assert main(["train", "-o", str(out), "--resume", "--lr", "0.5", "--no-progress"]) == 2
    assert "lr (0.5 vs 0.001)" in capsys.readouterr().err
    assert main(["train", "-o", str(tmp_path / "empty"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_cli_rejects_bad_options(tmp_path, capsys):
    assert main(["train", "--epochs", "0", "-o", str(tmp_path / "x")]) == 2
    assert "epochs must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--hidden", "a,b"])
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 2


def test_train_run_without_matplotlib_refuses_before_training(tmp_path, monkeypatch):
    """With plots, a missing matplotlib is an ImportError before any data, step or file."""
    import sys

    from dagrad.training.run import train_run

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what 'import matplotlib' cannot find
    steps = []
    out = tmp_path / "run"
    cfg = {"epochs": 1, "limit_train": 128, "limit_test": 64, "hidden": [8]}
    with pytest.raises(ImportError, match=r"pip install 'dagrad\[plot\]'.*--no-plots"):
        train_run(cfg, out, progress=False, log=None, on_step=steps.append)
    assert steps == [] and not out.exists()
    result = train_run(cfg, out, progress=False, log=None, on_step=steps.append, plots=False)
    assert result.epoch == 1 and len(steps) == 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "metrics.json"]


def test_cli_no_plots(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--limit-train", "128", "--limit-test", "64",
                 "--hidden", "8", "-o", str(out), "--no-progress", "--no-plots"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.npz", "metrics.json"]
    ev = tmp_path / "ev"
    assert main(["evaluate", str(out / "checkpoint.npz"), "--limit", "64", "-o", str(ev),
                 "--no-plots"]) == 0
    assert f"wrote {ev / 'evaluation.json'}\n" in capsys.readouterr().out
    assert sorted(p.name for p in ev.iterdir()) == ["evaluation.json"]


# ----------------------------------------------------------------------------- Tensor batches
@pytest.mark.parametrize("compiled", [False, True])
def test_fit_on_tensor_batches_equals_the_array_loop_it_replaced(sample, compiled):
    """The DataLoader yields Tensors now; fit's numbers are those of the loop over plain arrays
    in the loader's documented order (default_rng([seed, epoch]).permutation), bit for bit."""
    Xtr, ytr = sample[0][:320], sample[1][:320]
    loader = DataLoader(Xtr, ytr, batch_size=64, shuffle=True, seed=5, standardize=True)
    model = nn.MLP([784, 16, 10], seed=3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(model, opt, loader, None, 2, progress=False, log=None, compile=compiled)

    X = (Xtr.reshape(len(Xtr), -1).astype(np.float32) / np.float32(255)
         - np.float32(loader.mean)) / np.float32(loader.std)
    ref = nn.MLP([784, 16, 10], seed=3)
    ref_opt = optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(2):
        order = np.random.default_rng([5, epoch]).permutation(len(ytr))
        for lo in range(0, len(ytr), 64):
            idx = order[lo:lo + 64]
            loss = dg.cross_entropy(ref(dg.Tensor(X[idx])), ytr[idx].astype(np.int64))
            ref_opt.zero_grad()
            loss.backward()
            ref_opt.step()
    if compiled:
        for pa, pb in zip(model.parameters(), ref.parameters(), strict=True):
            np.testing.assert_allclose(pa.data, pb.data, rtol=1e-5, atol=1e-6)
    else:
        assert_same_state(model, ref)


def test_evaluate_takes_tensor_batches_and_arrays_alike(sample):
    model, _, _, _, test = setup(sample, epochs=1)
    X = np.concatenate([xb.numpy() for xb, _ in test])
    a, b = evaluate(model, test), evaluate(model, (X, sample[3]), batch_size=200)
    assert a.loss == b.loss and a.accuracy == b.accuracy
    np.testing.assert_array_equal(a.confusion, b.confusion)
