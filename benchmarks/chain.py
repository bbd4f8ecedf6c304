"""Deep scalar chain h_i = σ(w_i h_{i−1}), n = 10,000 steps, forward + backward, float64.

Every backend builds the chain from the same scalar leaves (x and w_1..w_n), then backpropagates
to all of them.  micrograd has no sigmoid: it gets one in its own style (a Value with a
``_backward`` closure), and its recursive topological sort needs a raised recursion limit.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from .timing import interleave, paired_ratio, sane, summary

NAME = "chain"
STEPS = {"full": 10_000, "quick": 10_000, "smoke": 50}
LONG = {"full": 100_000, "quick": 100_000, "smoke": 200}
X0 = 0.3
TITLE = "Sigmoid chain h_i = σ(w_i h_{i−1}), forward + backward, float64"


def weights(n: int) -> list[float]:
    """w_i, mildly varied so no two steps are identical."""
    return [0.5 + 0.001 * (i % 7) for i in range(n)]


def _tensor_chain(leaf, sigmoid, n: int):
    """sigmoid(w * h) n times on 0-d float64 leaves made by ``leaf``, then backward."""
    ws = [leaf(w) for w in weights(n)]
    x = leaf(X0)

    def call():
        x.grad = None
        for w in ws:
            w.grad = None
        h = x
        for w in ws:
            h = sigmoid(w * h)
        h.backward()
        return h.item(), ws[-1].grad.item(), x.grad.item()

    return call


def dagrad_chain(n: int):
    """dg.sigmoid(w * h) n times, then backward to x and every w."""
    import dagrad as dg

    return _tensor_chain(lambda v: dg.tensor(v, dtype="float64", requires_grad=True),
                         dg.sigmoid, n)


def torch_chain(torch, n: int):
    """torch.sigmoid(w * h) on 0-d float64 tensors."""
    return _tensor_chain(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
                         torch.sigmoid, n)


def micrograd_chain(engine, n: int):
    """micrograd Values plus a sigmoid written the way micrograd writes its ops."""
    value = engine.Value

    def sigmoid(v):
        s = 1.0 / (1.0 + math.exp(-v.data))
        out = value(s, (v,), "sigmoid")

        def _backward():
            v.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    ws = [value(w) for w in weights(n)]

    def call():
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * n + 1000))
        try:
            x = value(X0)
            h = x
            for w in ws:
                w.grad = 0.0
                h = sigmoid(w * h)
            h.backward()
        finally:
            sys.setrecursionlimit(limit)
        return h.data, ws[-1].grad, x.grad

    return call


def _agree(a: tuple, b: tuple) -> bool:
    return all(math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-300) for u, v in zip(a, b,
                                                                               strict=True))


def run(ctx) -> dict[str, Any]:
    """ms per forward+backward for each backend; dagrad alone also at LONG steps."""
    n = STEPS[ctx.mode]
    cases = {"dagrad": dagrad_chain(n)}
    if (torch := ctx.peer("torch")) is not None:
        cases["torch"] = torch_chain(torch, n)
    if (mg := ctx.peer("micrograd")) is not None:
        cases["micrograd"] = micrograd_chain(mg, n)
    values = {k: c() for k, c in cases.items()}
    times = interleave(cases, ctx.plan)
    long_n = LONG[ctx.mode]
    long_call = dagrad_chain(long_n)
    t0 = time.perf_counter()
    long_vals = long_call()
    long_s = time.perf_counter() - t0
    ref = values["dagrad"]
    return {
        "title": TITLE,
        "unit": "ms per forward+backward",
        "steps": n,
        "backends": {k: summary(ts) for k, ts in times.items()},
        "ratios": {k: paired_ratio(times["dagrad"], times[k]) for k in times if k != "dagrad"},
        "values": {k: list(v) for k, v in values.items()},
        "long": {"steps": long_n, "seconds": long_s, "h_n": long_vals[0],
                 "dh_dw_n": long_vals[1]},
        "checks": {
            "h_n, dh/dw_n, dh/dx agree": all(_agree(v, ref) for v in values.values()),
            f"dagrad {long_n:,} steps ran": math.isfinite(long_vals[0]) and long_vals[1] > 0,
            "figures sane": all(sane(min(ts)) for ts in times.values()),
        },
    }
