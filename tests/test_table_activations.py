"""Every activation of the op table is an activation of dg.nn.MLP and of the (c) explainer:
a softplus or sin MLP against PyTorch, and the Jacobian chain's checks catching a broken rule."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg
from conftest import torch
from dagrad.catalogue import activation_names
from dagrad.nn.mlp import make_activation

TORCH = {"softplus": torch.nn.Softplus, "sin": None}


@pytest.mark.parametrize("act", ["softplus", "sin"])
def test_mlp_with_a_table_activation_matches_torch(act):
    assert act in activation_names()
    net = dg.nn.MLP([5, 4, 3], activation=act, seed=2, dtype="float64")
    mods = []
    for m in net:
        if isinstance(m, dg.nn.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(m.weight.data))
                lin.bias.copy_(torch.from_numpy(m.bias.data))
            mods.append(lin)
        else:
            mods.append(torch.nn.Softplus() if act == "softplus" else _TorchSin())
    tnet = torch.nn.Sequential(*mods)
    x = np.random.default_rng(0).standard_normal((6, 5))
    out = net(dg.tensor(x, dtype="float64"))
    tout = tnet(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for p, tp in zip(net.parameters(), tnet.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12)


class _TorchSin(torch.nn.Module):
    def forward(self, x):
        return torch.sin(x)


def test_unknown_activation_names_the_table_ones():
    with pytest.raises(ValueError, match="softplus"):
        make_activation("softsign")


def test_jacobian_chain_of_a_softplus_mlp_passes_and_catches_a_broken_rule(monkeypatch):
    X, y = dg.data.load_sample("test")
    x = X[0].reshape(-1)[:40] / 255
    model = dg.nn.MLP([40, 12, 12, 10], activation="softplus", output="softmax", seed=0)
    assert dg.explain.jacobian_chain(model, x, int(y[0]), dense=False).ok
    op = dg.ops.OPS["softplus"]
    monkeypatch.setattr(op, "vjp", (lambda g, a, out, *r, **k: 3 * g * (1 - np.exp(-out)),))
    assert not dg.explain.jacobian_chain(model, x, int(y[0]), dense=False).ok
