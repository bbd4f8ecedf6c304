"""dg.optim's PyTorch habits against torch.optim 2.13 on the same numbers.

AdamW, RMSprop, Adagrad (and SGD, Adam) step for step with identical weights and gradients,
parameter groups, state dicts in PyTorch's nested layout (both ways), LambdaLR, LinearLR,
OneCycleLR, SequentialLR and ReduceLROnPlateau lr sequences, scheduler state dicts through a
checkpoint, and dg.compile replaying the new optimizers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import nn, optim
from dagrad.nn import functional as F
from dagrad.training import load_checkpoint, save_checkpoint

OPTIMIZERS = [
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    ("AdamW", {"lr": 0.003, "betas": (0.3, 0.9), "eps": 1e-6, "weight_decay": 0.0}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.3, "centered": True, "momentum": 0.5, "eps": 1e-6}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.01, "eps": 1e-6}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.05}),
]
IDS = [f"{k}-{i}" for i, (k, _) in enumerate(OPTIMIZERS)]


def pair(kind, ours, theirs, cfg):
    return getattr(optim, kind)(ours, **cfg), getattr(torch.optim, kind)(theirs, **cfg)


def leaves(rng, dtype=np.float64, shapes=((4, 3), (3,), (2, 2))):
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([dg.tensor(a, requires_grad=True) for a in init],
            [torch.tensor(a, requires_grad=True) for a in init])


def give_grads(rng, ours, theirs, dtype=np.float64):
    for p, tp in zip(ours, theirs, strict=True):
        g = rng.standard_normal(p.shape).astype(dtype)
        p.grad = dg.tensor(g)
        tp.grad = torch.tensor(g)


@pytest.mark.parametrize("kind,cfg", OPTIMIZERS, ids=IDS)
def test_each_step_equals_torch_in_float64(kind, cfg):
    rng = np.random.default_rng(0)
    ours, theirs = leaves(rng)
    opt, topt = pair(kind, ours, theirs, cfg)
    for _ in range(10):
        give_grads(rng, ours, theirs)
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind,cfg", OPTIMIZERS, ids=IDS)
def test_float32_steps_stay_float32_and_follow_torch(kind, cfg):
    rng = np.random.default_rng(1)
    ours, theirs = leaves(rng, np.float32)
    opt, topt = pair(kind, ours, theirs, cfg)
    for _ in range(10):
        give_grads(rng, ours, theirs, np.float32)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs, strict=True):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=2e-5, atol=2e-6)
    for p in ours:
        assert all(v.dtype == np.float32 for v in opt.state[p].values()
                   if isinstance(v, np.ndarray))


@pytest.mark.parametrize("kind", ["AdamW", "RMSprop", "Adagrad", "SGD"])
def test_parameter_groups_with_their_own_hyperparameters_equal_torch(kind):
    rng = np.random.default_rng(2)
    ours, theirs = leaves(rng)
    extra = {"AdamW": {"weight_decay": 0.3, "betas": (0.5, 0.9)},
             "RMSprop": {"momentum": 0.7, "centered": True},
             "Adagrad": {"lr_decay": 0.1}, "SGD": {"momentum": 0.9}}[kind]
    cfg = {"lr": 0.02}
    groups = [{"params": ours[:2]}, {"params": ours[2:], "lr": 0.1, **extra}]
    tgroups = [{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.1, **extra}]
    opt, topt = getattr(optim, kind)(groups, **cfg), getattr(torch.optim, kind)(tgroups, **cfg)
    for _ in range(6):
        give_grads(rng, ours, theirs)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-13, atol=1e-15)
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[0]["lr"] == 0.02


def test_adamw_decays_the_weights_not_the_gradient():
    # decoupled: with zero gradients AdamW still shrinks p by (1 − ηλ) per step; Adam's L2 does not
    p = dg.tensor([2.0, -4.0], dtype="float64", requires_grad=True)
    q = dg.tensor([2.0, -4.0], dtype="float64", requires_grad=True)
    a, b = optim.AdamW([p], lr=0.1, weight_decay=0.5), optim.Adam([q], lr=0.1)
    for _ in range(3):
        p.grad = dg.zeros(2, dtype="float64")
        q.grad = dg.zeros(2, dtype="float64")
        a.step()
        b.step()
    np.testing.assert_allclose(p.data, np.array([2.0, -4.0]) * 0.95 ** 3, rtol=1e-15)
    np.testing.assert_array_equal(q.data, [2.0, -4.0])
    assert optim.AdamW([dg.tensor([1.0], requires_grad=True)]).defaults["weight_decay"] == 0.01


@pytest.fixture(scope="module")
def sample_slice():
    X, y = dg.data.load_sample("train")
    X = X[:320].reshape(320, -1).astype(np.float64) / 255.0
    return (X - X.mean()) / X.std(), y[:320]


@pytest.mark.parametrize("kind,cfg", [("AdamW", {"lr": 2e-3, "weight_decay": 0.05}),
                                      ("RMSprop", {"lr": 1e-3, "momentum": 0.5}),
                                      ("Adagrad", {"lr": 0.05, "lr_decay": 1e-3})])
def test_60_training_steps_from_the_same_weights_give_torchs_losses(sample_slice, kind, cfg):
    X, y = sample_slice
    model = nn.MLP([784, 32, 10], activation="relu", dtype="float64", seed=0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(784, 32, dtype=torch.float64),
                                 torch.nn.ReLU(), torch.nn.Linear(32, 10, dtype=torch.float64))
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
            tp.copy_(torch.from_numpy(p.data))
    opt, topt = pair(kind, list(model.parameters()), list(tmodel.parameters()), cfg)
    order = np.random.default_rng(1).permutation(np.tile(np.arange(len(y)), 6))
    ours, theirs = [], []
    for step in range(60):
        idx = order[step * 32:(step + 1) * 32]
        loss = F.cross_entropy(model(dg.Tensor(X[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(X[idx])),
                                                  torch.from_numpy(y[idx]))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        ours.append(loss.item())
        theirs.append(tloss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert np.mean(ours[-10:]) < 0.7 * np.mean(ours[:10])  # it learned


# ----------------------------------------------------------------------------- state dicts
def _plain(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else x


@pytest.mark.parametrize("kind,cfg", OPTIMIZERS, ids=IDS)
def test_state_dict_has_torchs_nested_layout_and_values(kind, cfg):
    rng = np.random.default_rng(3)
    ours, theirs = leaves(rng)
    opt, topt = pair(kind, [{"params": ours[:1]}, {"params": ours[1:]}],
                     [{"params": theirs[:1]}, {"params": theirs[1:]}], cfg)
    for _ in range(3):
        give_grads(rng, ours, theirs)
        opt.step()
        topt.step()
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert set(sd) == {"state", "param_groups"} == set(tsd)
    assert sorted(sd["state"]) == sorted(tsd["state"]) == [0, 1, 2]
    for i, st in tsd["state"].items():
        want = {k: v for k, v in st.items() if v is not None}
        assert set(sd["state"][i]) == set(want), (i, set(sd["state"][i]), set(want))
        for k, v in want.items():
            np.testing.assert_allclose(np.asarray(sd["state"][i][k], dtype=np.float64),
                                       np.asarray(_plain(v), dtype=np.float64),
                                       rtol=1e-13, atol=1e-15)
    for g, tg in zip(sd["param_groups"], tsd["param_groups"], strict=True):
        assert g["params"] == tg["params"]
        for k, v in g.items():
            assert k in tg, k
            assert v == tg[k], (k, v, tg[k])


@pytest.mark.parametrize("kind,cfg", OPTIMIZERS, ids=IDS)
def test_loading_torchs_state_dict_continues_as_torch(kind, cfg):
    rng = np.random.default_rng(4)
    ours, theirs = leaves(rng)
    opt, topt = pair(kind, ours, theirs, cfg)
    for _ in range(4):                       # torch runs alone; dagrad takes over its state
        give_grads(rng, [dg.tensor(t.detach().numpy(), requires_grad=True) for t in theirs],
                   theirs)
        topt.step()
    for p, tp in zip(ours, theirs, strict=True):
        p.data[...] = tp.detach().numpy()
    opt.load_state_dict(topt.state_dict())
    for _ in range(4):
        give_grads(rng, ours, theirs)
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind,cfg", OPTIMIZERS, ids=IDS)
def test_state_dict_round_trip_through_an_npz_file_continues_identically(kind, cfg, tmp_path):
    rng = np.random.default_rng(5)
    grads = [[rng.standard_normal(s) for s in ((3, 2), (2,))] for _ in range(8)]
    init = [rng.standard_normal(s) for s in ((3, 2), (2,))]

    def run(steps, opt=None, ps=None):
        ps = ps if ps is not None else [dg.tensor(a, requires_grad=True) for a in init]
        opt = opt if opt is not None else getattr(optim, kind)(ps, **cfg)
        for gs in steps:
            for p, g in zip(ps, gs, strict=True):
                p.grad = dg.tensor(g)
            opt.step()
        return ps, opt

    full, _ = run(grads)
    half, opt_half = run(grads[:5])
    path = tmp_path / "opt.npz"
    dg.atomic.save_npz(path, **optim.flat_state_dict(opt_half.state_dict()))
    flat = dg.atomic.load_npz(path)
    ps = [dg.tensor(p.data, requires_grad=True) for p in half]
    opt_new = getattr(optim, kind)(ps, **{**cfg, "lr": 123.0})
    opt_new.load_state_dict(flat)                          # the flat form loads as well
    assert opt_new.param_groups[0]["lr"] == opt_half.param_groups[0]["lr"]
    opt_new2 = getattr(optim, kind)([dg.tensor(p.data, requires_grad=True) for p in half],
                                    **cfg)
    opt_new2.load_state_dict(optim.nested_state_dict(flat))
    run(grads[5:], opt_new, ps)
    for p, q in zip(ps, full, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    sd = opt_new.state_dict()                              # state_dict hands out copies
    for p in ps:
        for k, v in opt_new.state[p].items():
            if isinstance(v, np.ndarray):
                i = [id(q) for q in ps].index(id(p))
                assert not np.shares_memory(v, sd["state"][i][k])


def test_load_state_dict_refuses_what_it_cannot_honour():
    p = dg.tensor(np.ones((2, 2)), requires_grad=True)
    tp = torch.ones((2, 2), dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([tp], maximize=True)
    with pytest.raises(ValueError, match="maximize=True"):
        optim.Adam([p]).load_state_dict(topt.state_dict())
    topt = torch.optim.Adam([tp], amsgrad=True)
    with pytest.raises(ValueError, match="amsgrad"):
        optim.Adam([p]).load_state_dict(topt.state_dict())
    topt = torch.optim.AdamW([tp])
    with pytest.raises(ValueError, match="decoupled_weight_decay"):
        optim.Adam([p]).load_state_dict(topt.state_dict())   # Adam is not AdamW
    optim.AdamW([p]).load_state_dict(topt.state_dict())
    sd = optim.SGD([p], lr=0.1).state_dict()
    sd["param_groups"][0]["speed"] = 3
    with pytest.raises(ValueError, match="unknown hyperparameter 'speed'"):
        optim.SGD([p], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="2 parameter groups saved, 1 here"):
        optim.SGD([p], lr=0.1).load_state_dict(
            {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}] * 2})
    with pytest.raises(ValueError, match="unexpected key 'momentum'"):
        optim.SGD([p], lr=0.1).load_state_dict({"momentum": np.array(0.9)})
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.SGD([p], lr=0.1).load_state_dict(
            {"state": {}, "param_groups": [{"lr": -1.0, "params": [0]}]})


# ----------------------------------------------------------------------------- schedules
def _lr_runs(make, n, opt_kind="SGD", cfg=None, metrics=None, record=("lr",)):
    cfg = cfg or {"lr": 0.3, "momentum": 0.9}
    p = dg.tensor([1.0], requires_grad=True)
    tp = torch.tensor([1.0], requires_grad=True)
    opt, topt = getattr(optim, opt_kind)([p], **cfg), getattr(torch.optim, opt_kind)([tp], **cfg)
    sched, tsched = make(optim.lr_scheduler, opt), make(torch.optim.lr_scheduler, topt)
    ours = [[opt.param_groups[0][k] for k in record]]
    theirs = [[topt.param_groups[0][k] for k in record]]
    for i in range(n):
        opt.step()
        topt.step()
        if metrics is None:
            sched.step()
            tsched.step()
        else:
            sched.step(metrics[i])
            tsched.step(metrics[i])
        ours.append([opt.param_groups[0][k] for k in record])
        theirs.append([topt.param_groups[0][k] for k in record])
    assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-13)
    return ours, theirs, sched


SCHEDULES = {
    "lambda": lambda m, o: m.LambdaLR(o, lambda t: 0.95 ** t + 0.01 * (t % 7)),
    "lambda-warmup": lambda m, o: m.LambdaLR(o, lambda t: min(1.0, (t + 1) / 10)),
    "linear-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=20),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                            total_iters=77),
    "linear-defaults": lambda m, o: m.LinearLR(o),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=150),
    "onecycle-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.5, epochs=5, steps_per_epoch=30, anneal_strategy="linear",
        three_phase=True, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    "sequential-warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=10),
            m.CosineAnnealingLR(o, T_max=90, eta_min=1e-4)], milestones=[10]),
    "sequential-three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, total_iters=4), m.StepLR(o, 7, gamma=0.5),
            m.LambdaLR(o, lambda t: 1.0 / (1 + t))], milestones=[20, 60]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_lrs_equal_torchs_over_many_steps(name):
    n = 150 if "onecycle" in name else 160
    ours, theirs, _ = _lr_runs(SCHEDULES[name], n)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-16)
    assert len({round(x[0], 12) for x in ours}) > 5   # the lr really moved


@pytest.mark.parametrize("opt_kind,cfg,key", [("SGD", {"lr": 0.1, "momentum": 0.9}, "momentum"),
                                              ("Adam", {"lr": 0.1}, "betas"),
                                              ("AdamW", {"lr": 0.1}, "betas"),
                                              ("RMSprop", {"lr": 0.1, "momentum": 0.5},
                                               "momentum")])
@pytest.mark.parametrize("three_phase", [False, True])
def test_onecycle_cycles_momentum_and_betas_as_torch(opt_kind, cfg, key, three_phase):
    def make(m, o):
        return m.OneCycleLR(o, max_lr=[0.4], total_steps=100, three_phase=three_phase,
                            base_momentum=0.8, max_momentum=0.97)

    ours, theirs, _ = _lr_runs(make, 100, opt_kind, cfg, record=("lr", key))
    for (lr, mom), (tlr, tmom) in zip(ours, theirs, strict=True):
        assert lr == pytest.approx(tlr, rel=1e-13, abs=1e-16)
        np.testing.assert_allclose(np.ravel(mom), np.ravel(tmom), rtol=1e-13)
    assert len({str(m) for _, m in ours}) > 10


def test_onecycle_refuses_stepping_past_total_steps_and_bad_arguments():
    opt = optim.SGD([dg.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    s = optim.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="tried to step 4 times; total_steps is 3"):
        s.step()
    with pytest.raises(ValueError, match="total_steps, or epochs and steps_per_epoch"):
        optim.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        optim.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="cosine")
    plain = optim.Adagrad([dg.tensor([1.0], requires_grad=True)])
    with pytest.raises(ValueError, match="neither momentum nor betas"):
        optim.OneCycleLR(plain, max_lr=1.0, total_steps=5)
    optim.OneCycleLR(plain, max_lr=1.0, total_steps=5, cycle_momentum=False)


PLATEAU = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2},
    {"mode": "min", "threshold_mode": "abs", "threshold": 0.05, "patience": 1, "cooldown": 3},
    {"factor": 0.3, "patience": 0, "min_lr": 0.01, "cooldown": 1},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.1, "patience": 3, "eps": 0.02},
]


@pytest.mark.parametrize("kw", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_lr_on_plateau_equals_torch(kw):
    rng = np.random.default_rng(6)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + 0.05 * rng.standard_normal(60),
                              np.linspace(0.5, 0.9, 20), 0.3 + 0.01 * rng.standard_normal(40)])
    ours, theirs, sched = _lr_runs(lambda m, o: m.ReduceLROnPlateau(o, **kw), len(metrics),
                                   metrics=list(metrics))
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)
    assert len({x[0] for x in ours}) > 1                # it reduced at least once


def test_reduce_lr_on_plateau_takes_a_0d_tensor_and_validates():
    opt = optim.SGD([dg.tensor([1.0], requires_grad=True)], lr=0.1)
    s = optim.ReduceLROnPlateau(opt, patience=0)
    s.step(dg.tensor(1.0))
    s.step(dg.tensor(2.0))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        optim.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        optim.ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(ValueError, match="threshold_mode"):
        optim.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(TypeError, match="ReduceLROnPlateau"):
        optim.SequentialLR(opt, [optim.ReduceLROnPlateau(opt)], milestones=[])


RESUMABLE = {
    "onecycle": (lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=60), None),
    "linear": (lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=25), None),
    "lambda": (lambda m, o: m.LambdaLR(o, lambda t: 0.9 ** t), None),
    "sequential": (SCHEDULES["sequential-warmup-cosine"], None),
    "plateau": (lambda m, o: m.ReduceLROnPlateau(o, mode="max", patience=2, cooldown=2),
                [1, 2, 2, 2, 2, 3, 3, 3, 3, 3] * 6),
}


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_scheduler_state_dict_resumes_through_a_checkpoint(name, tmp_path):
    make, metrics = RESUMABLE[name]

    def fresh():
        p = dg.tensor([1.0], requires_grad=True)
        o = optim.SGD([p], lr=0.3, momentum=0.9)
        return p, o, make(optim.lr_scheduler, o)

    def advance(o, s, steps):
        out = []
        for i in steps:
            o.step()
            s.step() if metrics is None else s.step(metrics[i])
            out.append((o.param_groups[0]["lr"], o.param_groups[0]["momentum"]))
        return out

    p1, o1, s1 = fresh()
    full = advance(o1, s1, range(60))
    p2, o2, s2 = fresh()
    advance(o2, s2, range(23))
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": p2.data}, optimizer_state=o2.state_dict(),
                    scheduler_state=s2.state_dict())
    ck = load_checkpoint(path)
    p3, o3, s3 = fresh()
    o3.load_state_dict(ck.optimizer)
    s3.load_state_dict(ck.scheduler)
    np.testing.assert_allclose(advance(o3, s3, range(23, 60)), full[23:], rtol=1e-15)


def test_scheduler_state_dict_refuses_other_constants():
    o = optim.SGD([dg.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    sd = optim.OneCycleLR(o, max_lr=1.0, total_steps=50).state_dict()
    o2 = optim.SGD([dg.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="total_steps=50, this scheduler has total_steps=40"):
        optim.OneCycleLR(o2, max_lr=1.0, total_steps=40).load_state_dict(sd)
    with pytest.raises(ValueError, match="start_factor"):
        optim.LinearLR(o2, start_factor=0.0)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        optim.LambdaLR(o2, [lambda t: 1.0, lambda t: 2.0])


def test_lr_scheduler_imports_as_in_pytorch():
    from dagrad.optim.lr_scheduler import LinearLR, OneCycleLR  # noqa: F401

    assert dg.optim.lr_scheduler.ReduceLROnPlateau is optim.ReduceLROnPlateau


# ----------------------------------------------------------------------------- dg.compile
@pytest.mark.parametrize("kind,cfg", [("AdamW", {"lr": 1e-3}),
                                      ("RMSprop", {"lr": 1e-3, "centered": True}),
                                      ("Adagrad", {"lr": 1e-2})])
def test_compiled_training_step_with_the_new_optimizers_equals_eager(kind, cfg):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((12, 8, 20))
    Y = rng.integers(0, 5, (12, 8))
    nets = [nn.MLP([20, 16, 5], dtype="float64", seed=0) for _ in range(2)]
    opts = [getattr(optim, kind)(n.parameters(), **cfg) for n in nets]
    scheds = [optim.LinearLR(o, start_factor=0.1, total_iters=6) for o in opts]

    def step_fn(net, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(net(dg.Tensor(x)), y)
            loss.backward()
            opt.step()
            return loss
        return step

    eager = step_fn(nets[0], opts[0])
    compiled = dg.compile(step_fn(nets[1], opts[1]), tune=False)
    for i in range(12):
        np.testing.assert_allclose(compiled(X[i], Y[i]).item(), eager(X[i], Y[i]).item(),
                                   rtol=1e-12)
        for s in scheds:
            s.step()
    assert compiled.traces == 1
    for pe, pc in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_allclose(pc.data, pe.data, rtol=1e-12, atol=1e-14)
