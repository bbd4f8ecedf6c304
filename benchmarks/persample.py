"""Per-sample input gradients ∇x L_i for a batch of 128, float64, ms per batch.

Samples do not interact in the forward pass, so dagrad gets every ∇x L_i from one backward pass
of the summed loss (N · the mean cross-entropy), eagerly ("dagrad") and as
``dg.compile(dg.grad(...))`` ("dagrad compiled", jitted like JAX's row: the trace is the first
call, which the warm-up absorbs); PyTorch uses ``torch.func.vmap(grad)``, JAX
``jax.jit(jax.vmap(jax.grad))``, NumPy the closed-form backward to x.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import model
from .jacobian import dagrad_net
from .numpy_mlp import NumpyMLP
from .timing import interleave, paired_ratio, sane, summary

NAME = "persample"
BATCH = {"full": 128, "quick": 128, "smoke": 8}


def dagrad_grads(params, x, y):
    """dg.grad of N · cross_entropy(MLP(X), y) with respect to X."""
    import dagrad as dg

    net = dagrad_net(params, None)
    n = x.shape[0]
    g = dg.grad(lambda v: dg.cross_entropy(net(v), y) * n)
    return lambda: g(x).data


def dagrad_compiled_grads(params, x, y):
    """dg.compile(dg.grad(N · cross_entropy(MLP(X), y))) with respect to X, replayed."""
    import dagrad as dg

    net = dagrad_net(params, None)
    n = x.shape[0]
    g = dg.compile(dg.grad(lambda v: dg.cross_entropy(net(v), y) * n))
    xt = dg.tensor(x)
    return lambda: g(xt).data


def torch_grads(torch, params, x, y):
    """torch.func.vmap(torch.func.grad(loss of one sample))."""
    ps = [torch.from_numpy(p) for p in params]
    lin = torch.nn.functional.linear

    def loss(v, t):
        h = v
        for i in range(0, len(ps) - 2, 2):
            h = torch.tanh(lin(h, ps[i], ps[i + 1]))
        return torch.nn.functional.cross_entropy(lin(h, ps[-2], ps[-1])[None], t[None])

    g = torch.func.vmap(torch.func.grad(loss))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return lambda: g(xt, yt).numpy()


def jax_grads(jax, params, x, y):
    """jax.jit(jax.vmap(jax.grad(loss of one sample)))."""
    jnp = jax.numpy
    ps = [jnp.asarray(p) for p in params]

    def loss(v, t):
        h = v
        for i in range(0, len(ps) - 2, 2):
            h = jnp.tanh(h @ ps[i].T + ps[i + 1])
        return -jax.nn.log_softmax(h @ ps[-2].T + ps[-1])[t]

    g = jax.jit(jax.vmap(jax.grad(loss)))
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    return lambda: np.asarray(jax.block_until_ready(g(xj, yj)))


def run(ctx) -> dict[str, Any]:
    """ms per batch of per-sample gradients, ratios dagrad/peer of time, agreement."""
    n = BATCH[ctx.mode]
    params = model.init_params(np.float64)
    x, y = model.batch(n, np.float64)
    net = NumpyMLP(params)
    cases = {"dagrad": dagrad_grads(params, x, y),
             "dagrad compiled": dagrad_compiled_grads(params, x, y),
             "numpy": lambda: net.input_grads(x, y)}
    if (torch := ctx.peer("torch")) is not None:
        cases["torch"] = torch_grads(torch, params, x, y)
    if (jax := ctx.peer("jax")) is not None:
        cases["jax"] = jax_grads(jax, params, x, y)
    ref = net.input_grads(x, y)
    agree = {k: bool(np.allclose(c(), ref, rtol=1e-8, atol=1e-12)) for k, c in cases.items()}
    times = interleave(cases, ctx.plan)
    return {
        "title": f"Per-sample ∇x L, float64, batch {n}",
        "unit": f"ms per batch of {n}",
        "batch": n,
        "backends": {k: summary(ts) for k, ts in times.items()},
        "ratios": {k: paired_ratio(times["dagrad"], times[k]) for k in times if k != "dagrad"},
        "compiled_ratios": {k: paired_ratio(times["dagrad compiled"], times[k])
                            for k in times if k != "dagrad compiled"},
        "checks": {"per-sample gradients agree with the closed form": all(agree.values()),
                   "figures sane": all(sane(min(ts)) for ts in times.values())},
        "agree": agree,
    }
