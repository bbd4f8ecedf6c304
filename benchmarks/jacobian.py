"""The 10×784 Jacobian of the MLP's softmax output w.r.t. one input x, float64, ms per call.

dagrad uses ``dg.jacobian`` in reverse mode (the 10 basis cotangents batched through one
backward pass); PyTorch ``torch.func.jacrev``; JAX ``jax.jit(jax.jacrev)``; NumPy the closed
form (diag s − s sᵀ) W3 diag(1 − h2²) W2 diag(1 − h1²) W1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import model
from .numpy_mlp import NumpyMLP
from .timing import interleave, paired_ratio, sane, summary

NAME = "jacobian"


def dagrad_net(params: list[np.ndarray], output: str | None):
    """A float64 dg.nn.MLP holding ``params`` (a function of raw ops if nn is missing)."""
    import dagrad as dg

    try:
        net = dg.nn.MLP(list(model.SIZES), activation="tanh", output=output, dtype="float64")
    except (AttributeError, ImportError):
        ps = [dg.tensor(p) for p in params]

        def net(x):
            h = x
            for i in range(0, len(ps) - 2, 2):
                h = dg.tanh(dg.ops.linear(h, ps[i], ps[i + 1]))
            h = dg.ops.linear(h, ps[-2], ps[-1])
            return dg.softmax(h) if output == "softmax" else h

        return net
    for lin, w, b in zip(net.layers, params[::2], params[1::2], strict=True):
        lin.weight.data[...] = w
        lin.bias.data[...] = b
    return net


def dagrad_jac(params, x):
    """dg.jacobian(softmax ∘ MLP) in reverse mode."""
    import dagrad as dg

    jac = dg.jacobian(dagrad_net(params, "softmax"))
    return lambda: jac(x).data


def torch_fn(torch, params, x):
    """softmax ∘ MLP as a function of x with the weights as float64 constants."""
    ps = [torch.from_numpy(p) for p in params]

    def f(v):
        h = v
        for i in range(0, len(ps) - 2, 2):
            h = torch.tanh(torch.nn.functional.linear(h, ps[i], ps[i + 1]))
        return torch.softmax(torch.nn.functional.linear(h, ps[-2], ps[-1]), -1)

    return f


def torch_jac(torch, params, x):
    """torch.func.jacrev, eager."""
    jac = torch.func.jacrev(torch_fn(torch, params, x))
    xt = torch.from_numpy(x)
    return lambda: jac(xt).numpy()


def jax_jac(jax, params, x):
    """jax.jit(jax.jacrev(softmax ∘ MLP))."""
    jnp = jax.numpy
    ps = [jnp.asarray(p) for p in params]

    def f(v):
        h = v
        for i in range(0, len(ps) - 2, 2):
            h = jnp.tanh(h @ ps[i].T + ps[i + 1])
        return jax.nn.softmax(h @ ps[-2].T + ps[-1])

    jac = jax.jit(jax.jacrev(f))
    xj = jnp.asarray(x)
    return lambda: np.asarray(jax.block_until_ready(jac(xj)))


def run(ctx) -> dict[str, Any]:
    """ms per Jacobian per backend, ratios dagrad/peer of time, agreement with the closed form."""
    params = model.init_params(np.float64)
    x = model.batch(1, np.float64)[0][0]
    net = NumpyMLP(params)
    cases = {"dagrad": dagrad_jac(params, x), "numpy": lambda: net.softmax_jacobian(x)}
    if (torch := ctx.peer("torch")) is not None:
        cases["torch"] = torch_jac(torch, params, x)
    if (jax := ctx.peer("jax")) is not None:
        cases["jax"] = jax_jac(jax, params, x)
    ref = net.softmax_jacobian(x)
    agree = {k: bool(np.allclose(c(), ref, rtol=1e-8, atol=1e-12)) for k, c in cases.items()}
    times = interleave(cases, ctx.plan)
    return {
        "title": f"Jacobian of softmax(MLP(x)) w.r.t. x, {ref.shape[0]}×{ref.shape[1]}, float64",
        "unit": "ms per 10×784 Jacobian",
        "shape": list(ref.shape),
        "backends": {k: summary(ts) for k, ts in times.items()},
        "ratios": {k: paired_ratio(times["dagrad"], times[k]) for k in times if k != "dagrad"},
        "checks": {"Jacobians agree with the closed form": all(agree.values()),
                   "figures sane": all(sane(min(ts)) for ts in times.values())},
        "agree": agree,
    }
