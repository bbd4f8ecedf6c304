"""dagrad with ``dg.compile``: the MLP training step and the Rosenbrock gradient, replayed.

Both are built exactly like their eager counterparts in ``mlp.py`` and ``rosenbrock.py`` (same
modules, optimizer and loss; same scalar leaves), wrapped in ``dg.compile``; the first call
traces, the harness's warm-up absorbs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import model

NAME = "dagrad compiled"


def mlp_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
             lr: float = model.LR) -> Callable[[], Any]:
    """dg.compile of: zero_grad, cross_entropy(MLP(x), y), backward, SGD step (returns loss)."""
    train_step = mlp_train_step(params, lr)
    return lambda: train_step(x, y)


def mlp_train_step(params: list[np.ndarray], lr: float = model.LR) -> Any:
    """The compiled training step itself, ``train_step(x, y) -> loss`` (not yet traced)."""
    import dagrad as dg

    net = dg.nn.MLP(list(model.SIZES), activation="tanh")
    opt = dg.optim.SGD(net.parameters(), lr=lr)
    for lin, w, b in zip(net.layers, params[::2], params[1::2], strict=True):
        lin.weight.data[...] = w
        lin.bias.data[...] = b

    @dg.compile
    def train_step(xb, yb):
        opt.zero_grad()
        loss = dg.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return train_step


def rosenbrock_grad(point: tuple[float, float] = (1.5, 2.0)) -> Callable[[], Any]:
    """dg.compile(dg.grad(f, argnums=(0, 1))) on two 0-d float64 tensors (as jax.jit(grad))."""
    import dagrad as dg

    from .rosenbrock import f

    g = dg.compile(dg.grad(f, argnums=(0, 1)))
    x1 = dg.tensor(point[0], dtype="float64")
    x2 = dg.tensor(point[1], dtype="float64")

    def call():
        d1, d2 = g(x1, x2)
        return float(d1.data), float(d2.data)

    return call
