"""MLP 784-256-256-10 training step (forward, backward, SGD), float32, samples/s per backend."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from . import compiled, model
from .numpy_mlp import NumpyMLP
from .timing import interleave, paired_ratio, sane, summary

NAME = "mlp"
BATCHES = {"full": (32, 128, 512), "quick": (32, 128, 512), "smoke": (8,)}


def dagrad_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                lr: float = model.LR) -> Callable[[], Any]:
    """dg.nn.MLP + dg.optim.SGD + dg.cross_entropy (raw ops when nn/optim are missing)."""
    import dagrad as dg

    xt = dg.as_tensor(x)  # shares x's memory: refilling x feeds the next step
    try:
        net = dg.nn.MLP(list(model.SIZES), activation="tanh")
        opt = dg.optim.SGD(net.parameters(), lr=lr)
    except (AttributeError, ImportError):
        return dagrad_ops_step(params, x, y, lr)
    for lin, w, b in zip(net.layers, params[::2], params[1::2], strict=True):
        lin.weight.data[...] = w
        lin.bias.data[...] = b

    def step():
        opt.zero_grad()
        loss = dg.cross_entropy(net(xt), y)
        loss.backward()
        opt.step()
        return loss

    return step


def dagrad_ops_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                    lr: float = model.LR) -> Callable[[], Any]:
    """The same step from dg.ops.linear, dg.tanh and dg.cross_entropy with SGD on p.data."""
    import dagrad as dg

    ps = [dg.tensor(p, requires_grad=True) for p in params]
    xt = dg.as_tensor(x)

    def step():
        h = xt
        for i in range(0, len(ps) - 2, 2):
            h = dg.tanh(dg.ops.linear(h, ps[i], ps[i + 1]))
        loss = dg.cross_entropy(dg.ops.linear(h, ps[-2], ps[-1]), y)
        loss.backward()
        for p in ps:
            p.data -= lr * p.grad.data
            p.grad = None
        return loss

    return step


def numpy_step(params, x, y, lr=model.LR):
    """The hand-written NumPy forward/backward/SGD."""
    net = NumpyMLP(params, lr)
    return lambda: net.step(x, y)


def torch_step(torch, params, x, y, lr=model.LR):
    """torch.nn.Sequential + torch.optim.SGD + F.cross_entropy, eager."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(model.SIZES[:-1], model.SIZES[1:], strict=True)):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(model.SIZES) - 2:
            layers.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p, v in zip(net.parameters(), params, strict=True):
            p.copy_(torch.from_numpy(v))
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    ce = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ce(net(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def jax_loss(jax, p, x, y):
    """Mean cross-entropy of the tanh MLP with parameters p = [W1, b1, ...]."""
    jnp = jax.numpy
    h = x
    for i in range(0, len(p) - 2, 2):
        h = jnp.tanh(h @ p[i].T + p[i + 1])
    logits = h @ p[-2].T + p[-1]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def jax_step(jax, params, x, y, lr=model.LR, reread=False):
    """jax.jit of value_and_grad + the SGD update (parameters donated, as a training loop)."""
    # With ``reread`` the host arrays x, y are copied to the device on every call (a loader's
    # fresh batches); otherwise once, as the other backends also hold the batch ready.
    jnp = jax.numpy

    @partial(jax.jit, donate_argnums=0)
    def update(p, xb, yb):
        loss, g = jax.value_and_grad(partial(jax_loss, jax))(p, xb, yb)
        return [a - lr * b for a, b in zip(p, g, strict=True)], loss

    state = [[jnp.asarray(a) for a in params]]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def step():
        xb, yb = (jnp.asarray(x), jnp.asarray(y)) if reread else (xj, yj)
        state[0], loss = update(state[0], xb, yb)
        return jax.block_until_ready(loss)

    return step


def _variants(p: int, q: int, r: int, dtype, rng) -> list[tuple[str, Callable[[], Any]]]:
    """X (p×q) · Y (q×r) into a fresh p×r buffer, X and Y each stored as is or transposed."""
    out = []
    for xt in (False, True):
        for yt in (False, True):
            x = rng.standard_normal((q, p) if xt else (p, q)).astype(dtype)
            y = rng.standard_normal((r, q) if yt else (q, r)).astype(dtype)
            x, y = (x.T if xt else x), (y.T if yt else y)
            buf = np.empty((p, r), dtype)
            out.append((("T" if xt else "N") + ("T" if yt else "N"),
                        partial(np.matmul, x, y, out=buf)))
    return out


def _fastest(variants: list[tuple[str, Callable[[], Any]]], tries: int) -> tuple[str, Callable]:
    """The variant with the smallest best-of-``tries`` time (one untimed call first)."""
    best = None
    for label, f in variants:
        f()
        t = min(timed(f) for _ in range(tries))
        if best is None or t < best[0]:
            best = (t, label, f)
    return best[1], best[2]


def timed(f: Callable[[], Any]) -> float:
    """Seconds for one call."""
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def gemm_roofline(batch: int, dtype=np.float32, tries: int = 5,
                  sizes=model.SIZES) -> tuple[Callable[[], None], list[dict[str, Any]]]:
    """(call, cases): exactly the training step's GEMMs (``model.gemm_cases``) with np.matmul.

    Each GEMM C = A·B runs in the fastest of its eight BLAS forms — C = A·B or Cᵀ = Bᵀ·Aᵀ,
    each operand stored as is or transposed — picked once by timing them all, so the sum is a
    bound for any step that computes these GEMMs with NumPy's BLAS.
    """
    rng = np.random.default_rng(1)
    cases, calls = model.gemm_cases(batch, sizes), []
    for c in cases:
        m, k, n = c["m"], c["k"], c["n"]
        forms = [(f"C = A·B ({lab})", f) for lab, f in _variants(m, k, n, dtype, rng)]
        forms += [(f"Cᵀ = Bᵀ·Aᵀ ({lab})", f) for lab, f in _variants(n, k, m, dtype, rng)]
        c["form"], call = _fastest(forms, tries)
        calls.append(call)

    def run():
        for call in calls:
            call()

    return run, cases


def linear_forms(batch: int, dtype) -> dict[str, str]:
    """The form eager ``linear`` chose (by timing, on first use) for each forward GEMM of this
    batch size: x Wᵀ as written, or (W xᵀ)ᵀ (BLAS with the operands' roles swapped)."""
    try:
        from dagrad import tuning
    except ImportError:
        return {}
    return {f"{m}×{k} · {k}×{n}": "(W xᵀ)ᵀ" if use else "x Wᵀ"
            for (m, k, n, dt), use in tuning.ORIENTATIONS.items()
            if m == batch and dt == np.dtype(dtype)}


def gemm_counts(gemms: list[dict[str, Any]]) -> dict[str, int]:
    """How many GEMMs of each kind (forward, weight gradient, input gradient) and in total."""
    counts = {kind: sum(g["gemm"].startswith(kind) for g in gemms)
              for kind in ("forward", "weight gradient", "input gradient")}
    counts["total"] = len(gemms)
    return counts


def run(ctx) -> dict[str, Any]:
    """Samples/s of each backend at each batch size, the roofline, paired ratios, checks."""
    dtype = np.float32
    out: dict[str, Any] = {
        "title": f"MLP {'-'.join(map(str, model.SIZES))} training step "
                 f"({np.dtype(dtype).name}, SGD)",
        "sizes": list(model.SIZES), "dtype": np.dtype(dtype).name, "unit": "samples/s",
        "batches": {}, "checks": {}}
    torch, jax = ctx.peer("torch"), ctx.peer("jax")
    for b in BATCHES[ctx.mode]:
        params = model.init_params(dtype)
        x, y = model.batch(b, dtype)
        cases = {"dagrad": dagrad_step(params, x, y),
                 "dagrad compiled": compiled.mlp_step(params, x, y),
                 "numpy": numpy_step(params, x, y)}
        if torch is not None:
            cases["torch"] = torch_step(torch, params, x, y)
        if jax is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cases["jax"] = jax_step(jax, params, x, y)
        first = {k: model.as_float(f()) for k, f in cases.items()}  # same weights, same batch
        ref = first["numpy"]
        agree = {k: bool(np.isclose(v, ref, rtol=1e-4, atol=1e-5)) for k, v in first.items()}
        cases["gemm roofline"], gemms = gemm_roofline(b, dtype, tries=1 if ctx.mode == "smoke"
                                                      else 5)
        times = interleave(cases, ctx.plan)
        row = {}
        for k, ts in times.items():
            s = summary(ts)
            s["samples_per_s"] = b / s["median_s"]
            row[k] = s
        backends = [k for k in times if k != "gemm roofline"]
        ratios = {k: paired_ratio(times[k], times["dagrad"]) for k in backends if k != "dagrad"}
        compiled_ratios = {k: paired_ratio(times[k], times["dagrad compiled"])
                           for k in backends if k != "dagrad compiled"}
        fraction = {k: paired_ratio(times["gemm roofline"], times[k]) for k in backends}
        flops = model.flops_per_step(b)
        row["gemm roofline"]["gflops"] = flops / row["gemm roofline"]["median_s"] / 1e9
        out["batches"][str(b)] = {"backends": row, "ratios": ratios, "first_loss": first,
                                  "linear_forms": linear_forms(b, dtype),
                                  "compiled_ratios": compiled_ratios,
                                  "roofline_fraction": fraction, "gemms": gemms,
                                  "gemm_counts": gemm_counts(gemms),
                                  "flops_per_step": flops}
        out["checks"][f"B={b} first-step loss agrees"] = all(agree.values())
        out["checks"][f"B={b} figures sane"] = all(sane(r["median_s"]) for r in row.values())
    return out
