"""The MLP seen by ``jacobian_chain``: checked inputs, float64 weights, two forward passes.

``numpy_forward`` evaluates o^(l) = W^(l) z^(l−1) + b^(l), z^(l) = φ(o^(l)), z^(n) = softmax(o^(n))
and L = −log z^(n)_y in plain NumPy (the values the closed forms are evaluated at);
``backprop`` runs the model's own modules in dagrad on float64 copies of the weights, with the
softmax and L as explicit steps, and returns the adjoints ∇L of every node (reverse mode).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import autodiff, ops
from ...i18n import _
from ...tensor import Tensor
from . import jacobians as jac

__all__ = ["MLPSpec", "inspect_mlp", "check_inputs", "numpy_forward", "Backprop", "backprop"]


@dataclass
class MLPSpec:
    """The architecture and float64 copies of an MLP's weights (W^(l): out × in, b^(l): out)."""

    sizes: list[int]
    activation: str
    output: str | None
    slope: float
    weights: list[np.ndarray]
    biases: list[np.ndarray | None]
    modules: list[Any] = field(repr=False)   # the model's modules, in order
    linear_ids: list[int] = field(repr=False)
    act_modules: list[Any] = field(repr=False)  # φ^(l) for l = 1..n−1 (the model's own)

    @property
    def depth(self) -> int:
        """Number of affine layers n (the sheet's 3)."""
        return len(self.weights)

    @property
    def has_bias(self) -> bool:
        return self.biases[0] is not None


def inspect_mlp(model: Any) -> MLPSpec:
    """Check that ``model`` is a dagrad ``nn.MLP`` and copy its weights to float64."""
    from ...nn import MLP, Linear, Softmax

    if not isinstance(model, MLP):
        raise TypeError(_("jacobian_chain: expected a dagrad.nn.MLP (the sheet's network), "
                          "got {type}").format(type=type(model).__name__))
    act = model.activation
    if act not in jac.ACTIVATION_FORMS:
        raise ValueError(_("jacobian_chain: no closed-form Jacobian for the activation "
                           "{activation} (supported: {names})").format(
            activation=repr(act), names=", ".join(jac.ACTIVATION_FORMS)))
    modules = list(model)
    linears = [m for m in modules if isinstance(m, Linear)]
    if [id(m) for m in linears] != [id(m) for m in model.layers]:
        raise ValueError(_("jacobian_chain: the MLP's modules do not match model.layers"))
    tail = modules[-1]
    if model.output == "softmax" and not isinstance(tail, Softmax):
        raise ValueError(_("jacobian_chain: output='softmax' but the last module is not "
                           "Softmax"))
    slope = float(getattr(modules[1], "negative_slope", 0.01)) if len(modules) > 1 else 0.01
    weights = [np.array(m.weight.data, dtype=np.float64) for m in linears]
    biases = [None if m.bias is None else np.array(m.bias.data, dtype=np.float64)
              for m in linears]
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    ids = [id(m) for m in linears]
    acts = [m for m in modules[:-1] if id(m) not in ids and not isinstance(m, Softmax)]
    if len(acts) != len(linears) - 1:
        raise ValueError(_("jacobian_chain: expected one activation module between Linear "
                           "layers"))
    return MLPSpec(sizes, act, model.output, slope, weights, biases, modules, ids, acts)


def check_inputs(spec: MLPSpec, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """(x as float64 (N, in), labels int64 (N,), batched?) — or a clear error."""
    xs = np.asarray(x.data if isinstance(x, Tensor) else x)
    if xs.dtype.kind not in "biuf":
        raise TypeError(_("jacobian_chain: x must be numbers, got dtype {dtype}").format(
            dtype=xs.dtype))
    n_in, n_cls = spec.sizes[0], spec.sizes[-1]
    if xs.ndim not in (1, 2) or xs.shape[-1] != n_in:
        raise ValueError(_("jacobian_chain: x must have shape {one} for one input or {batch} "
                           "for a batch, got {shape}").format(
            one=f"({n_in},)", batch=f"(N, {n_in})", shape=xs.shape))
    batched = xs.ndim == 2
    ys = np.asarray(y.data if isinstance(y, Tensor) else y)
    if ys.dtype.kind not in "iu" and not (ys.dtype.kind == "f" and ys.size
                                          and np.all(ys == np.round(ys))):
        raise TypeError(_("jacobian_chain: labels must be integers {range}, got dtype {dtype}"
                          ).format(range=f"0..{n_cls - 1}", dtype=ys.dtype))
    want = (xs.shape[0],) if batched else ()
    if ys.shape != want:
        raise ValueError(_("jacobian_chain: labels of shape {labels} do not match x of shape "
                           "{x} (expected shape {want})").format(labels=ys.shape, x=xs.shape,
                                                                want=want))
    ys = ys.astype(np.int64).reshape(-1)
    bad = (ys < 0) | (ys >= n_cls)
    if bad.any():
        raise ValueError(_("jacobian_chain: label {label} is outside {range} — labels are "
                           "0-based (the sheet's {y} is label + 1)").format(
            label=int(ys[bad][0]), range=f"0..{n_cls - 1}", y=f"y ∈ [1:{n_cls}]"))
    xs = np.asarray(xs, dtype=np.float64).reshape(-1, n_in)
    if not np.all(np.isfinite(xs)):
        raise ValueError(_("jacobian_chain: x contains NaN or inf"))
    return xs, ys, batched


def numpy_forward(spec: MLPSpec, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """o1, z1, …, on, zn = softmax(on) and the losses L = −log zn_y, in NumPy (rows = samples)."""
    vals: dict[str, np.ndarray] = {"x": x}
    z = x
    n = spec.depth
    for l in range(1, n + 1):
        W, b = spec.weights[l - 1], spec.biases[l - 1]
        o = z @ W.T + (0.0 if b is None else b)
        z = jac.softmax(o) if l == n else jac.activation(spec.activation, o, spec.slope)
        vals[f"o{l}"], vals[f"z{l}"] = o, z
    vals["L"] = -np.log(z[np.arange(len(y)), y])
    return vals


@dataclass
class Backprop:
    """dagrad's reverse mode on the float64 model: loss(es) and the adjoint of every node."""

    losses: np.ndarray               # (N,) per-sample L
    adjoints: dict[str, np.ndarray]  # name -> ∂(Σ_n L_n)/∂node, shape of the node
    grad_W1: np.ndarray | None       # ∂(Σ_n L_n)/∂W1
    mean_grads: dict[str, np.ndarray] = field(default_factory=dict)  # of the batch-mean loss


def _run_model(spec: MLPSpec, x: Tensor, params: list[tuple[Tensor, Tensor | None]]
               ) -> dict[str, Tensor]:
    """The model's modules in order (Linear layers on the float64 copies); softmax made explicit."""
    nodes: dict[str, Tensor] = {"x": x}
    z, l = x, 0
    for m in spec.modules:
        if id(m) in spec.linear_ids:
            W, b = params[l]
            l += 1
            z = ops.linear(z, W, b)
            nodes[f"o{l}"] = z
        else:
            z = m(z)
            nodes[f"z{l}"] = z
    n = spec.depth
    if f"z{n}" not in nodes:          # output=None: the logits; softmax is its own step
        nodes[f"z{n}"] = ops.softmax(nodes[f"o{n}"], -1)
    for k in range(1, n):
        nodes.setdefault(f"z{k}", nodes[f"o{k}"])
    return nodes


def _leaves(spec: MLPSpec, x: np.ndarray) -> tuple[Tensor, list[tuple[Tensor, Tensor | None]]]:
    xt = Tensor(np.array(x), requires_grad=True)
    params = [(Tensor(W, requires_grad=True), None if b is None else Tensor(b, requires_grad=True))
              for W, b in zip(spec.weights, spec.biases, strict=True)]
    return xt, params


def _losses(spec: MLPSpec, nodes: dict[str, Tensor], y: np.ndarray) -> Tensor:
    """L_n = −log z^(n)_{n, y_n} for every sample n."""
    zn = nodes[f"z{spec.depth}"]
    return -ops.log(zn[np.arange(len(y)), y])


def backprop(spec: MLPSpec, x: np.ndarray, y: np.ndarray, mean: bool = False) -> Backprop:
    """Reverse mode through the model: adjoints of Σ_n L_n (and of mean_n L_n if ``mean``)."""
    xt, params = _leaves(spec, x)
    nodes = _run_model(spec, xt, params)
    losses = _losses(spec, nodes, y)
    names = list(nodes)
    targets = [nodes[k] for k in names] + [params[0][0]]
    if params[0][1] is not None:
        targets.append(params[0][1])
    gs = autodiff.grad(losses, targets, np.ones(len(y)), retain_graph=True)
    adj = {k: g.data for k, g in zip(names, gs, strict=False)}
    if params[0][1] is not None:
        adj["b1"] = gs[-1].data
    out = Backprop(losses.data.copy(), adj, gs[len(names)].data)
    if mean:  # a graph of its own: a backward pass releases what its graph saved
        xt, params = _leaves(spec, x)
        losses = _losses(spec, _run_model(spec, xt, params), y)
        wrt = [xt, params[0][0]] + ([params[0][1]] if params[0][1] is not None else [])
        mg = autodiff.grad(losses.mean(), wrt)
        out.mean_grads = dict(zip(["x", "W1", "b1"], (g.data for g in mg), strict=False))
    return out
