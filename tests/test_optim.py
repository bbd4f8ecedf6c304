"""dg.optim against torch.optim: single steps, 200-step training runs, schedules, state dicts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dagrad as dg
from dagrad import nn, optim
from dagrad.nn import functional as F

SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
]
ADAM_CASES = [
    {},
    {"lr": 0.01, "weight_decay": 0.05},
    {"lr": 0.003, "betas": (0.3, 0.9), "eps": 1e-6},  # β₁ < 0.5: torch's other lerp branch
]


def make(kind, params, cfg):
    if kind == "sgd":
        return optim.SGD(params, **cfg)
    return optim.Adam(params, **cfg)


def make_torch(kind, params, cfg):
    if kind == "sgd":
        return torch.optim.SGD(params, **cfg)
    return torch.optim.Adam(params, **cfg)


CASES = [("sgd", c) for c in SGD_CASES] + [("adam", c) for c in ADAM_CASES]


@pytest.mark.parametrize("kind,cfg", CASES)
def test_each_step_equals_torch_for_given_gradients(kind, cfg):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,), (2, 2)]
    init = [rng.standard_normal(s) for s in shapes]
    ours = [dg.tensor(a, requires_grad=True) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt, topt = make(kind, ours, cfg), make_torch(kind, theirs, cfg)
    for _ in range(6):
        for p, tp in zip(ours, theirs, strict=True):
            g = rng.standard_normal(p.shape)
            p.grad = dg.tensor(g)
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
        for p, tp in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-14, atol=1e-15)


def test_parameters_without_gradient_are_skipped_and_zero_grad_clears():
    a = dg.tensor([1.0, 2.0], requires_grad=True)
    b = dg.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = dg.tensor([1.0, 1.0])
    opt.step()
    assert b.data.tolist() == [3.0] and b not in opt.state
    assert a.data[0] == pytest.approx(0.9)
    opt.zero_grad()
    assert a.grad is None
    a.grad = dg.tensor([1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    assert a.grad.data.tolist() == [0.0, 0.0]


def test_invalid_arguments():
    p = dg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="requires_grad"):
        optim.SGD([dg.tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([p, p], lr=0.1)


def test_parameter_groups_have_their_own_hyperparameters():
    a = dg.tensor([1.0], requires_grad=True)
    b = dg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = dg.tensor([1.0]), dg.tensor([1.0])
    opt.step()
    assert a.data[0] == pytest.approx(0.9) and b.data[0] == pytest.approx(0.5)
    with pytest.raises(TypeError, match="unknown"):
        optim.SGD([{"params": [dg.tensor([1.0], requires_grad=True)], "speed": 1}], lr=0.1)


# ----------------------------------------------------------------------------- training runs
@pytest.fixture(scope="module")
def sample_slice():
    X, y = dg.data.load_sample("train")
    X = X[:640].reshape(640, -1).astype(np.float64) / 255.0
    return (X - X.mean()) / X.std(), y[:640]


@pytest.mark.parametrize("kind,cfg", [
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}),
    ("adam", {"lr": 1e-3}),
    ("adam", {"lr": 1e-3, "weight_decay": 1e-3}),
])
def test_200_training_steps_give_torchs_losses(sample_slice, kind, cfg):
    X, y = sample_slice
    sizes = [784, 32, 32, 10]
    model = nn.MLP(sizes, activation="tanh", dtype="float64", seed=0)
    tmods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        tmods.append(torch.nn.Linear(a, b, dtype=torch.float64))
        if i < len(sizes) - 2:
            tmods.append(torch.nn.Tanh())
    tmodel = torch.nn.Sequential(*tmods)
    with torch.no_grad():
        for (_, p), tp in zip(model.named_parameters(), tmodel.parameters(), strict=True):
            tp.copy_(torch.from_numpy(p.data))
    opt, topt = make(kind, model.parameters(), cfg), make_torch(kind, tmodel.parameters(), cfg)
    sched = optim.CosineAnnealingLR(opt, T_max=200)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=200)
    order = np.random.default_rng(1).permutation(np.tile(np.arange(len(y)), 10))
    ours, theirs = [], []
    for step in range(200):
        idx = order[step * 32:(step + 1) * 32]
        xb, yb = X[idx], y[idx]
        loss = F.cross_entropy(model(dg.Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(xb)),
                                                  torch.from_numpy(yb))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        tsched.step()
        ours.append(loss.item())
        theirs.append(tloss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0)
    assert ours[-1] < 0.5 * ours[0]  # it learned
    for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------- schedules
def _lrs(sched, opt, n):
    out = [opt.param_groups[0]["lr"]]
    for _ in range(n):
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("make_pair", [
    lambda o, t: (optim.StepLR(o, step_size=7, gamma=0.5),
                  torch.optim.lr_scheduler.StepLR(t, step_size=7, gamma=0.5)),
    lambda o, t: (optim.StepLR(o, step_size=1, gamma=0.9),
                  torch.optim.lr_scheduler.StepLR(t, step_size=1, gamma=0.9)),
    lambda o, t: (optim.CosineAnnealingLR(o, T_max=50),
                  torch.optim.lr_scheduler.CosineAnnealingLR(t, T_max=50)),
    lambda o, t: (optim.CosineAnnealingLR(o, T_max=13, eta_min=0.01),
                  torch.optim.lr_scheduler.CosineAnnealingLR(t, T_max=13, eta_min=0.01)),
], ids=["step7", "step1", "cosine", "cosine-eta-min-past-T"])
def test_schedules_equal_torchs(make_pair):
    p = dg.tensor([1.0], requires_grad=True)
    tp = torch.tensor([1.0], requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.3), torch.optim.SGD([tp], lr=0.3)
    sched, tsched = make_pair(opt, topt)
    ours = _lrs(sched, opt, 120)
    theirs = [topt.param_groups[0]["lr"]]
    for _ in range(120):
        topt.step()
        tsched.step()
        theirs.append(topt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    assert sched.get_last_lr() == [ours[-1]]


def test_scheduler_state_dict_resumes_the_same_values():
    def fresh():
        p = dg.tensor([1.0], requires_grad=True)
        o = optim.Adam([p], lr=0.1)
        return o, optim.CosineAnnealingLR(o, T_max=30)

    o1, s1 = fresh()
    full = _lrs(s1, o1, 30)
    o2, s2 = fresh()
    _lrs(s2, o2, 12)
    o3, s3 = fresh()
    o3.load_state_dict(o2.state_dict())
    s3.load_state_dict(s2.state_dict())
    assert _lrs(s3, o3, 18) == full[12:]
    o4, _ = fresh()
    with pytest.raises(ValueError, match="T_max"):
        optim.CosineAnnealingLR(o4, T_max=31).load_state_dict(s2.state_dict())


# ----------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("kind,cfg", [("sgd", {"lr": 0.1, "momentum": 0.9}),
                                      ("adam", {"lr": 0.01})])
def test_optimizer_state_dict_round_trip_continues_identically(kind, cfg):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 2)) for _ in range(8)]
    init = rng.standard_normal((3, 2))

    def run(steps, opt=None, p=None):
        p = p if p is not None else dg.tensor(init, requires_grad=True)
        opt = opt if opt is not None else make(kind, [p], cfg)
        for g in steps:
            p.grad = dg.tensor(g)
            opt.step()
        return p, opt

    p_full, _ = run(grads)
    p_half, opt_half = run(grads[:5])
    sd = optim.flat_state_dict(opt_half.state_dict())  # the form a checkpoint stores
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in sd.values())
    p_new = dg.tensor(p_half.data, requires_grad=True)
    opt_new = make(kind, [p_new], {**cfg, "lr": 123.0})
    opt_new.load_state_dict(sd)
    assert opt_new.param_groups[0]["lr"] == cfg["lr"]
    run(grads[5:], opt_new, p_new)
    np.testing.assert_array_equal(p_new.data, p_full.data)
    for v in opt_new.state[p_new].values():  # loaded state is a copy
        if isinstance(v, np.ndarray):
            assert not any(np.shares_memory(v, w) for w in sd.values())


def test_optimizer_load_state_dict_validates():
    p = dg.tensor(np.ones((2, 2)), requires_grad=True)
    opt = optim.Adam([p])
    p.grad = dg.ones(2, 2, dtype="float64")
    opt.step()
    sd = opt.state_dict()
    q = dg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([q]).load_state_dict(sd)
    with pytest.raises(ValueError, match="number of parameters"):
        optim.Adam([p, q]).load_state_dict(sd)
