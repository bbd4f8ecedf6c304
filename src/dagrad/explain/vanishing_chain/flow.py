"""Gradient flow in a deep MLP on real digits — Glorot & Bengio (2010), measured with dagrad.

A network 784 → width × depth → 10 (softmax cross-entropy) on a fixed batch of real MNIST digits
from ``dg.data.load_sample("train")`` (scaled to [0, 1]).  For each case (depth, activation,
initialisation) we record, per layer l, the norms of

* the back-propagated gradients ∂L/∂o_l, o_l = W_l z_{l−1} + b_l the pre-activations, and
* the weight gradients ∇_{W_l} L,

at initialisation and after ``steps`` SGD steps, all from one reverse pass per measurement
(``autodiff.grad(loss, [o_1..o_L, W_1..W_L])``).  Initialisations (zero biases in all three):

* ``standard`` — Glorot & Bengio's "standard": W ~ U[−1/√n_in, 1/√n_in];
* ``xavier`` — their "normalised" init: W ~ U[−√6/√(n_in+n_out), √6/√(n_in+n_out)];
* ``he`` — He et al.: W ~ N(0, 2/n_in).

Glorot & Bengio's observation, reproduced here: with the standard init the back-propagated
gradients of a deep tanh network shrink from the top hidden layer toward the first (each layer
multiplies their variance by about n·Var(W) = 1/3), while Xavier keeps them of similar size; the
weight gradients stay of similar size across layers in both cases.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...i18n import _
from .. import report as rp
from ..rendering import Rendering

__all__ = ["gradient_flow", "GradientFlowReport", "FlowCase", "INITS", "ACTIVATIONS"]

#: Our initialisation names → ``dg.nn.Linear(init=...)`` (all with ``zero_bias=True``).
INITS = {"standard": "default", "xavier": "xavier", "he": "he"}
#: The activations of Glorot & Bengio's experiment, in the order the plots list them; any other
#: activation dg.nn.MLP builds (every activation of the op table) is accepted after them.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INIT_FORMULAS = {"standard": "U[-1/sqrt(n_in), 1/sqrt(n_in)]",
                 "xavier": "U[±sqrt(6)/sqrt(n_in+n_out)]", "he": "N(0, 2/n_in)"}


@dataclass
class FlowCase:
    """One network: per-layer norms (index l−1 for layer l = 1..depth+1; depth+1 is the output)."""

    depth: int
    activation: str
    init: str
    backprop: dict[str, np.ndarray] = field(default_factory=dict)  # "init" / "trained"
    weight: dict[str, np.ndarray] = field(default_factory=dict)
    loss: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.activation}, {self.init}, depth {self.depth}"

    def ratio(self, quantity: str = "backprop", when: str = "init") -> float:
        """First hidden / last hidden layer: ‖g_1‖ / ‖g_depth‖ of ``quantity`` at ``when``."""
        g = (self.backprop if quantity == "backprop" else self.weight)[when]
        return float(g[0] / g[self.depth - 1]) if g[self.depth - 1] else math.inf


def _init_name(init: str) -> str:
    key = init.strip().lower()
    if key in ("default", "glorot_standard"):
        key = "standard"
    if key in ("glorot", "normalized", "normalised"):
        key = "xavier"
    if key not in INITS:
        raise ValueError(_("unknown init {init!r}: use one of {names}").format(
            init=init, names=", ".join(INITS)))
    return key


def _activation_name(act: str) -> str:
    from ...nn.mlp import activation_names

    key = act.strip().lower().replace("-", "_")
    if key not in activation_names():
        raise ValueError(_("unknown activation {act!r} for the MLP: use one of {names}").format(
            act=act, names=", ".join(activation_names())))
    return key


def _activation_order(name: str) -> tuple[int, str]:
    return (ACTIVATIONS.index(name), "") if name in ACTIVATIONS else (len(ACTIVATIONS), name)


def _as_list(value: Any, kind: type) -> list:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [value]
    out = list(value)
    if not out or not all(isinstance(v, kind) and not isinstance(v, bool) for v in out):
        raise ValueError(f"expected one or more {kind.__name__} values, got {value!r}")
    return out


def load_digits(batch: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_measure, y_measure, X_train, y_train): ``batch`` fixed digits to measure on and the
    other training digits to train on, flattened and scaled to [0, 1] (float32)."""
    from ...data import load_sample

    images, labels = load_sample("train")
    X = (images.reshape(len(images), -1) / np.float32(255.0)).astype(np.float32)
    if not 1 <= batch <= len(X) // 2:
        raise ValueError(_("batch must be between 1 and {most}, got {batch}").format(
            most=len(X) // 2, batch=batch))
    perm = np.random.default_rng(seed).permutation(len(X))
    m, t = perm[:batch], perm[batch:]
    return X[m], labels[m], X[t], labels[t]


def _build(depth: int, width: int, activation: str, init: str, seed: int) -> Any:
    from ...nn import MLP

    return MLP([784] + [width] * depth + [10], activation=activation, init=INITS[init],
               zero_bias=True, dtype="float32", seed=seed)


def measure(model: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, ‖∂L/∂o_l‖ per layer, ‖∇_{W_l} L‖ per layer) from one reverse pass."""
    from ...autodiff import grad
    from ...nn import Linear
    from ...nn.functional import cross_entropy
    from ...tensor import Tensor, enable_grad

    with enable_grad():
        h: Any = Tensor(X)
        pre = []
        for module in model:
            h = module(h)
            if isinstance(module, Linear):
                pre.append(h)
        loss = cross_entropy(h, y)
        weights = [m.weight for m in model if isinstance(m, Linear)]
        gs = grad(loss, pre + weights)
    norms = np.array([np.linalg.norm(np.asarray(g.data, dtype=np.float64)) for g in gs])
    return float(loss.data), norms[: len(pre)], norms[len(pre):]


def train(model: Any, X: np.ndarray, y: np.ndarray, steps: int, batch: int, lr: float,
          seed: int) -> None:
    """``steps`` plain SGD steps on random minibatches of ``batch`` training digits."""
    from ...nn.functional import cross_entropy
    from ...optim import SGD
    from ...tensor import enable_grad

    opt = SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        for _ in range(steps):
            idx = rng.choice(len(X), batch, replace=False)
            loss = cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def gradient_flow(depth: int | Sequence[int] = 20,
                  activations: str | Sequence[str] = ("tanh",),
                  inits: str | Sequence[str] = ("standard", "xavier"),
                  width: int = 256, batch: int = 256, steps: int = 50, lr: float = 0.1,
                  seed: int = 0) -> GradientFlowReport:
    """‖∂L/∂o_l‖ and ‖∇_{W_l} L‖ per layer l of deep MLPs on real digits, at init and after SGD.

    One case per (depth, activation, init); every case sees the same measurement batch and the
    same training minibatches (chosen by ``seed``) and is initialised from ``seed``.
    """
    depths = [int(d) for d in _as_list(depth, int)]
    if any(d < 1 for d in depths):
        raise ValueError(_("depth must be at least 1 hidden layer, got {depths}").format(
            depths=depths))
    acts = [_activation_name(a) for a in _as_list(activations, str)]
    init_names = [_init_name(i) for i in _as_list(inits, str)]
    if width < 1 or steps < 0 or not lr > 0:
        raise ValueError(_("width must be ≥ 1, steps ≥ 0 and lr > 0"))
    Xm, ym, Xt, yt = load_digits(batch, seed)
    cases = []
    for d in depths:
        for a in acts:
            for i in init_names:
                t0 = time.perf_counter()
                case = FlowCase(d, a, i)
                model = _build(d, width, a, i, seed)
                case.loss["init"], case.backprop["init"], case.weight["init"] = \
                    measure(model, Xm, ym)
                if steps:
                    train(model, Xt, yt, steps, batch, lr, seed)
                    case.loss["trained"], case.backprop["trained"], case.weight["trained"] = \
                        measure(model, Xm, ym)
                case.seconds = time.perf_counter() - t0
                cases.append(case)
    return GradientFlowReport(cases, width, batch, steps, lr, seed)


@dataclass
class GradientFlowReport(Rendering):
    """Result of :func:`gradient_flow`: the cases plus ratio tables and the flow plot.

    ``to_markdown``, ``to_latex``, ``_repr_html_`` and ``str`` come from
    :class:`~dagrad.explain.rendering.Rendering` (renderer: ``flow_render``).
    """

    _renderer = "vanishing_chain.flow_render"

    cases: list[FlowCase]
    width: int
    batch: int
    steps: int
    lr: float
    seed: int

    @property
    def whens(self) -> list[str]:
        return ["init", "trained"] if self.steps else ["init"]

    def when_label(self, when: str) -> str:
        return _("at init") if when == "init" else _("after {k} SGD steps").format(k=self.steps)

    def case(self, depth: int, activation: str, init: str) -> FlowCase:
        """The case with these settings."""
        for c in self.cases:
            if (c.depth, c.activation, c.init) == (depth, activation, _init_name(init)):
                return c
        raise KeyError(f"no case depth={depth}, activation={activation}, init={init}")

    def _short(self, when: str) -> str:
        return _("init") if when == "init" else _("{k} steps").format(k=self.steps)

    def headers(self) -> list[str]:
        """The ratio table's head in the current language."""
        h = [_("depth"), "σ", _("init")]
        for q in ("‖∂L/∂o_1‖/‖∂L/∂o_d‖", "‖∇W_1‖/‖∇W_d‖"):
            h += [f"{q} {self._short(w)}" for w in self.whens]
        h += [_("loss") + " " + self._short(w) for w in self.whens]
        return h

    def rows(self) -> list[list[Any]]:
        out = []
        for c in self.cases:
            r: list[Any] = [c.depth, c.activation, c.init]
            r += [rp.fmt(c.ratio("backprop", w), 3) for w in self.whens]
            r += [rp.fmt(c.ratio("weight", w), 3) for w in self.whens]
            r += [rp.fmt(c.loss[w], 4) for w in self.whens]
            out.append(r)
        return out

    def _setup(self) -> str:
        return _("MLP 784 → {width} × depth → 10, softmax cross-entropy, {batch} real MNIST "
                 "digits (dg.data.load_sample, scaled to [0, 1]), zero biases; SGD lr {lr}, "
                 "batch {batch}, {steps} steps; seed {seed}. Ratios are first hidden layer / "
                 "last hidden layer (d = depth).").format(
            width=self.width, batch=self.batch, lr=f"{self.lr:g}", steps=self.steps,
            seed=self.seed)

    def verdict(self) -> list[str]:
        """Glorot & Bengio's claim checked for each (depth, activation) with standard and xavier."""
        out = []
        keys = {(c.depth, c.activation) for c in self.cases}
        for d, a in sorted(keys):
            try:
                s, x = self.case(d, a, "standard"), self.case(d, a, "xavier")
            except KeyError:
                continue
            rs, rx = s.ratio("backprop"), x.ratio("backprop")
            ok = rs < 1 and rs < rx
            similar = 0.25 <= rx <= 4
            if not ok:
                how = _("NOT as Glorot & Bengio")
            elif similar:
                how = _("standard shrinks toward the input, xavier keeps it of similar size "
                        "(as Glorot & Bengio)")
            else:
                how = _("standard shrinks toward the input, xavier much less (as Glorot & "
                        "Bengio)")
            out.append(_("{act}, depth {d}: back-propagated ‖∂L/∂o_1‖/‖∂L/∂o_d‖ at init = {rs} "
                         "(standard) vs {rx} (xavier) — {how}").format(
                act=a, d=d, rs=rp.fmt(rs, 3), rx=rp.fmt(rx, 3), how=how))
        return out

    def table(self) -> str:
        """Ratios for the terminal."""
        return rp.text_table(self.headers(), self.rows())

    def plot(self, path: str | os.PathLike) -> str:
        """Per-layer norms (log scale): rows ∂L/∂o_l and ∇W_l, columns at init / after training."""
        from .plot import new_figure, save_figure

        whens = self.whens
        fig = new_figure((5.2 * len(whens) + 0.6, 8.2))
        axes = np.array(fig.subplots(2, len(whens), squeeze=False))
        pairs = sorted({(c.activation, c.init) for c in self.cases},
                       key=lambda p: (_activation_order(p[0]), list(INITS).index(p[1])))
        colors = {p: f"C{k}" for k, p in enumerate(pairs)}
        styles = ["-", "--", ":", "-."]
        depths = sorted({c.depth for c in self.cases})
        for col, when in enumerate(whens):
            for row, (name, quantity) in enumerate(
                    ((r"$\|\partial L/\partial o_l\|$ " + _("(back-propagated)"), "backprop"),
                     (r"$\|\nabla_{W_l} L\|$ " + _("(weight gradient)"), "weight"))):
                ax = axes[row, col]
                for c in self.cases:
                    g = (c.backprop if quantity == "backprop" else c.weight)[when]
                    layers = np.arange(1, len(g) + 1)
                    ax.semilogy(layers, g, styles[depths.index(c.depth) % 4], marker="o", ms=3,
                                color=colors[(c.activation, c.init)], label=c.label)
                    ax.plot([layers[-1]], [g[-1]], "s", ms=5, mfc="none",
                            color=colors[(c.activation, c.init)])
                ax.set_title(f"{name}, {self.when_label(when)}", fontsize=10)
                ax.set_xlabel(_("layer l (1 = first hidden; last = output layer, square)"))
                ax.set_ylabel(_("norm (log scale)"))
                ax.grid(alpha=0.3, which="both")
                ax.xaxis.get_major_locator().set_params(integer=True)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8,
                   frameon=False)
        fig.suptitle(_("Gradient flow, MLP 784→{width}×depth→10 on {batch} real digits").format(
            width=self.width, batch=self.batch), fontsize=11)
        rows_needed = math.ceil(len(labels) / min(3, len(labels)))
        fig.tight_layout(rect=(0, 0.03 + 0.025 * rows_needed, 1, 0.97))
        return save_figure(fig, path)
