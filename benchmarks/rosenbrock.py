"""∇f of Rosenbrock f = 100(x2 − x1²)² + (1 − x1)² at (1.5, 2.0), float64, µs per call."""

from __future__ import annotations

from typing import Any

from .timing import interleave, paired_ratio, sane, summary

NAME = "rosenbrock"
POINT = (1.5, 2.0)
EXPECTED = (151.0, -50.0)


def f(x1, x2):
    """The function, in operators every backend overloads."""
    return 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2


def _tensor_grad(leaf):
    """Two scalar leaves (the sheet's form) made by ``leaf``, f(x1, x2).backward()."""
    x1, x2 = leaf(POINT[0]), leaf(POINT[1])

    def call():
        x1.grad = x2.grad = None
        f(x1, x2).backward()
        return x1.grad.item(), x2.grad.item()

    return call


def dagrad_grad():
    """dagrad float64 leaves."""
    import dagrad as dg

    return _tensor_grad(lambda v: dg.tensor(v, dtype="float64", requires_grad=True))


def torch_grad(torch):
    """0-d float64 torch leaves."""
    return _tensor_grad(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))


def jax_grad(jax):
    """jax.jit(jax.grad(f, argnums=(0, 1))) on float64 scalars."""
    g = jax.jit(jax.grad(f, argnums=(0, 1)))
    a, b = jax.numpy.float64(POINT[0]), jax.numpy.float64(POINT[1])

    def call():
        d1, d2 = jax.block_until_ready(g(a, b))
        return float(d1), float(d2)

    return call


def micrograd_grad(engine):
    """micrograd Values (its engine.Value), f(x1, x2).backward()."""
    value = engine.Value

    def call():
        x1, x2 = value(POINT[0]), value(POINT[1])
        f(x1, x2).backward()
        return x1.grad, x2.grad

    return call


def closed_form():
    """The derivative by hand: (−400 x1 (x2 − x1²) − 2(1 − x1), 200 (x2 − x1²))."""
    x1, x2 = POINT

    def call():
        r = x2 - x1 * x1
        return -400.0 * x1 * r - 2.0 * (1.0 - x1), 200.0 * r

    return call


def run(ctx) -> dict[str, Any]:
    """µs per gradient for each backend, ratios dagrad/peer of time, gradient check."""
    from .compiled import rosenbrock_grad

    cases = {"dagrad": dagrad_grad(), "dagrad compiled": rosenbrock_grad(POINT)}
    if (torch := ctx.peer("torch")) is not None:
        cases["torch"] = torch_grad(torch)
    if (jax := ctx.peer("jax")) is not None:
        cases["jax"] = jax_grad(jax)
    if (mg := ctx.peer("micrograd")) is not None:
        cases["micrograd"] = micrograd_grad(mg)
    cases["closed form"] = closed_form()
    grads = {k: tuple(float(v) for v in c()) for k, c in cases.items()}
    times = interleave(cases, ctx.plan)
    return {
        "title": f"Rosenbrock ∇f at {POINT}, float64",
        "point": list(POINT),
        "unit": "µs per ∇f",
        "backends": {k: summary(ts) for k, ts in times.items()},
        "ratios": {k: paired_ratio(times["dagrad"], times[k]) for k in times if k != "dagrad"},
        "compiled_ratios": {k: paired_ratio(times["dagrad compiled"], times[k])
                            for k in times if k != "dagrad compiled"},
        "gradients": grads,
        "checks": {
            "gradients agree": all(abs(g[0] - EXPECTED[0]) < 1e-9 and abs(g[1] - EXPECTED[1]) < 1e-9
                                   for g in grads.values()),
            "figures sane": all(sane(min(ts)) for ts in times.values()),
        },
    }
