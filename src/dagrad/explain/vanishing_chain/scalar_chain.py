"""Exercise (a): the deep scalar chain h_i = σ(w_i·h_{i−1}), h_0 = x — why gradients vanish.

For each activation and each layer i, :func:`vanishing` computes ∂h_n/∂w_i three ways:

* **autodiff** — dagrad's reverse mode on a real recorded graph of the chain (float64 scalar
  leaves w_1..w_n, every ∂h_n/∂w_i from *one* backward pass);
* **closed form** — h_{i−1}·σ'(w_i h_{i−1})·∏_{k>i} w_k σ'(w_k h_{k−1}), evaluated independently
  in NumPy with σ' from :mod:`dagrad.closed_forms` and accumulated in log space (sign and
  log|·| separately), so it never spuriously overflows and still knows the magnitude when
  float64 underflows to 0;
* **bound** — the sheet's bound from M = sup|σ'| (sigmoid: |h_{i−1}|·4^{−(n−i+1)}; otherwise
  |h_{i−1}|·M^{n−i+1}·∏_{k>i}|w_k|); "n/a" where σ' is unbounded.

An activation is a name of the op table's activations (:data:`NAMED`: "sigmoid", "tanh", "relu",
"leaky_relu", "leaky_relu:0.1", "softplus", "sin", ...) or any elementwise expression in ``x`` for
the safe parser (``"x / (1 + abs(x))"``).  sigmoid, tanh, relu and leaky_relu have σ' written out
in NumPy (with log-space forms here); any other name is its call ``name(x)``.  An expression's σ'
and sup|σ'| come from SymPy (:mod:`.activation_sympy`: ``sympy.diff`` of the ops' SymPy
forwards), never from an op's vjp or edge formula, so the check does not compare dagrad with
itself; spellings that SymPy proves equal to the sigmoid or
tanh (``1/(1+exp(-x))``) use the named closed form and bound.

Every layer's autodiff value is checked against the closed form: "underflow" means the closed
form lies below float64's smallest normal number (np.finfo(float64).tiny, decided in log space)
and autodiff gave 0; any other disagreement is a failed check ("mismatch"), reported in the
summary and by :attr:`VanishingReport.ok` (``dagrad vanishing`` then exits 1).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import closed_forms
from ...catalogue import activation_names, named_functions
from ...expression import Call, Expression, ExpressionError, Variable, numpy_functions, parse
from ...i18n import N_, _
from .. import report as rp
from ..rendering import Rendering
from .activation_sympy import SymbolicActivation

__all__ = ["vanishing", "VanishingReport", "ChainResult", "Activation", "activation", "NAMED"]

#: The named activations: the op table's (sigmoid, tanh, relu, leaky_relu written out in NumPy
#: in :mod:`dagrad.closed_forms`; any other, such as softplus or sin, is its call ``name(x)``
#: with σ' from SymPy).
NAMED = activation_names()
LN10 = math.log(10.0)
MAX_TABLE_ROWS = 40
TINY = float(np.finfo(np.float64).tiny)  # smallest normal float64
LOG10_TINY = math.log10(TINY)  # ≈ −307.65
LOG10_MAX = math.log10(float(np.finfo(np.float64).max))  # ≈ 308.25
SMALLEST_SUBNORMAL = 2.0**-1074
RTOL = 1e-8  # autodiff vs closed form, relative, in the normal range
FAILED = ("mismatch",)  # flags that are failed checks
#: The flags as the tables write them (msgids: they render in the current language).
FLAG_WORDS = {"ok": N_("ok"), "underflow": N_("underflow"), "subnormal": N_("subnormal"),
              "dead": N_("dead"), "zero": N_("zero"), "overflow": N_("overflow"),
              "nan": N_("nan"), "mismatch": N_("mismatch")}


# --------------------------------------------------------------------------- activations


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


@dataclass(frozen=True)
class Activation:
    """An activation σ of the chain: a named one (σ' written by hand) or an expression in x.

    ``expr`` is the parsed expression when one was typed (autodiff records it as typed, even
    when SymPy recognised it as sigmoid or tanh); ``sym`` holds its SymPy σ' and sup|σ'|.
    """

    label: str
    kind: str  # "sigmoid" | "tanh" | "relu" | "leaky_relu" | "expression"
    slope: float = 0.01  # leaky_relu's negative slope α
    expr: Expression | None = field(default=None, compare=False)
    sym: SymbolicActivation | None = field(default=None, compare=False)

    def tensor(self, u: Any) -> Any:
        """σ(u) on a dagrad Tensor (recorded in the graph): the typed expression or the op."""
        if self.expr is not None:
            return self.expr.evaluate({"x": u})
        if self.kind in closed_forms.WITHOUT_SYMPY:
            return named_functions()[self.kind].call(u, *self._attributes)
        raise ValueError(f"activation {self.label!r}: kind {self.kind!r} needs an expression")

    def numpy(self, u: np.ndarray) -> np.ndarray:
        """σ(u) in plain NumPy (the closed form's forward pass)."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind in closed_forms.WITHOUT_SYMPY:
            return closed_forms.activation(self.kind)(u, *self._attributes)
        return np.asarray(self.expr.evaluate({"x": u}, numpy_functions()), dtype=np.float64)

    @property
    def _attributes(self) -> tuple[float, ...]:
        """The attributes the op takes after u (leaky_relu's slope)."""
        return (self.slope,) if self.kind == "leaky_relu" else ()

    def log_value(self, u: float, log_u: float, sign_u: float, h: float) -> tuple[float, float]:
        """(log|σ(u)|, sign σ(u)) knowing log|u| too, so tiny values survive float64 underflow.

        sigmoid: −softplus(−u); tanh: log|u| where |u| < 1e-9 (tanh u = u(1 − u²/3 …)),
        else log|tanh u|; relu: log u or −inf; leaky: log|u| (+ log|α| for u < 0);
        an expression: log|σ(u)| from its float64 value.
        """
        if self.kind == "sigmoid":
            return -float(np.logaddexp(0.0, -u)), 1.0
        if self.kind == "tanh" and log_u < -20.0:
            return log_u, sign_u
        if self.kind == "relu":
            return (log_u, 1.0) if sign_u > 0 else (-math.inf, 0.0)
        if self.kind == "leaky_relu":
            if sign_u > 0:
                return log_u, 1.0
            a = abs(self.slope)
            return (log_u + math.log(a), sign_u * math.copysign(1.0, self.slope)) if a else \
                (-math.inf, 0.0)
        return (math.log(abs(h)) if h != 0 else -math.inf), float(np.sign(h))

    def log_derivative(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log|σ'(u)|, sign σ'(u)): by hand for the named ones, by SymPy for expressions.

        sigmoid: log σ' = −softplus(u) − softplus(−u);  tanh: log(1 − tanh²u) = log 4 − 2|u| −
        2 log(1 + e^{−2|u|});  relu: σ' = [u > 0] (0 at 0, as PyTorch);  leaky: 1 or α.
        """
        u = np.asarray(u, dtype=np.float64)
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            if self.kind == "sigmoid":
                return -_softplus(u) - _softplus(-u), np.ones_like(u)
            if self.kind == "tanh":
                a = np.abs(u)
                return math.log(4.0) - 2 * a - 2 * np.log1p(np.exp(-2 * a)), np.ones_like(u)
            if self.kind in closed_forms.WITHOUT_SYMPY:
                d = closed_forms.activation_derivative(self.kind)(u, *self._attributes)
            else:
                d = self.sym.derivative_fn(u)
            return np.log(np.abs(d)), np.sign(d)

    @property
    def log_max_derivative(self) -> float | None:
        """log sup_u |σ'(u)|: log 1/4 (sigmoid), 0 (tanh, relu), log max(1, |α|); for an
        expression SymPy's (or the grid's) sup; None where σ' is unbounded (no bound)."""
        if self.kind == "sigmoid":
            return math.log(0.25)
        if self.kind in ("tanh", "relu"):
            return 0.0
        if self.kind == "leaky_relu":
            return math.log(max(1.0, abs(self.slope)))
        m = self.sym.sup
        if not math.isfinite(m):
            return None
        return math.log(m) if m > 0 else -math.inf

    @property
    def formula(self) -> str:
        """σ' as text (with how it was obtained, for an expression)."""
        named = {"sigmoid": "σ' = σ(1 − σ) ≤ 1/4", "tanh": "tanh' = 1 − tanh² ≤ 1",
                 "relu": "relu' = [u > 0] ∈ {0, 1}",
                 "leaky_relu": f"σ' ∈ {{{self.slope:g}, 1}}"}
        if self.kind in named:
            text = named[self.kind]
            if self.sym is not None:
                text += "; " + _("SymPy shows {label} = {kind}(x)").format(label=self.label,
                                                                           kind=self.kind)
            return text
        d = str(self.sym.derivative)
        d = d if len(d) <= 90 else d[:87] + "..."
        return _("σ' = {d} by SymPy; {sup}").format(d=d, sup=self.sym.sup_sentence())


def _as_tensor_like(y: Any, t: Any) -> Any:
    """An expression that ignores x (``x - x``) still returns a Tensor; constants become one."""
    from ...tensor import Tensor

    if isinstance(y, Tensor):
        return y
    return t * 0 + y


def activation(spec: str | Activation) -> Activation:
    """Resolve ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu[:α]"`` or an expression in x."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"activation must be a str, not {type(spec).__name__}")
    text = spec.strip()
    key = text.lower().replace("-", "_")
    if key in closed_forms.WITHOUT_SYMPY:
        return Activation(text, key)
    # another activation of the table (softplus, sin, ...) is its call, with σ' from SymPy
    source = f"{key}(x)" if key in NAMED else text
    if key.startswith("leaky_relu:"):
        raw = text.split(":", 1)[1].strip()
        try:
            slope = float(raw)
        except ValueError:
            raise ExpressionError(_("activation {spec!r}: the slope after 'leaky_relu:' must "
                                    "be a number, got {raw!r}").format(spec=spec, raw=raw)
                                  ) from None
        if not math.isfinite(slope):
            raise ExpressionError(_("activation {spec!r}: the slope must be finite").format(
                spec=spec))
        return Activation(text, "leaky_relu", slope=slope)
    try:
        expr = parse(source)
    except ExpressionError as e:
        raise ExpressionError(_("activation {spec!r}: {error}").format(spec=spec, error=e)
                              ) from None
    if expr.variables != ("x",):
        uses = ", ".join(expr.variables) or _("no variable")
        raise ExpressionError(_(
            "activation {spec!r} is neither a known name ({names}, leaky_relu:SLOPE) nor an "
            "expression in the single variable x (it uses {uses}); e.g. 'x / (1 + abs(x))'"
        ).format(spec=spec, names=", ".join(NAMED), uses=uses))
    tree = expr.tree
    if (isinstance(tree, Call) and tree.name in closed_forms.WITHOUT_SYMPY
            and tree.args == (Variable("x"),)):
        return Activation(text, tree.name)  # "tanh(x)" is tanh
    from .activation_sympy import analyse

    sym = analyse(expr)
    return Activation(text, sym.named or "expression", expr=expr, sym=sym)


# --------------------------------------------------------------------------- one chain


@dataclass
class ChainResult:
    """Everything computed for one activation; arrays are indexed by layer i = 1..n at [i−1]."""

    activation: Activation
    weights: np.ndarray  # w_1..w_n
    h: np.ndarray  # h_0..h_n (closed form's NumPy forward pass, float64)
    log10_h: np.ndarray  # log10 |h_k| tracked in log space (finite where h_k underflows)
    sign_h: np.ndarray  # sign of h_k (tracked with log10_h)
    u: np.ndarray  # pre-activations u_i = w_i h_{i−1}
    derivative: np.ndarray  # σ'(u_i)
    autodiff: np.ndarray  # ∂h_n/∂w_i by dagrad's reverse mode (float64; may underflow to 0)
    closed: np.ndarray  # closed form as a float64 (underflows like autodiff)
    sign: np.ndarray  # sign of the closed form
    log10_abs: np.ndarray  # log10 |closed form| from log space (−inf only for exact zeros)
    log10_bound: np.ndarray | None  # log10 of the bound (None for an expression)
    log10_coarse_bound: np.ndarray | None  # sigmoid: log10 (1/4)^(n−i+1)
    flags: list[str]  # ok | underflow | subnormal | dead | zero | overflow | nan | mismatch
    #                   (mismatch: a failed check, see _flag)
    dead_layer: int | None  # first layer k with σ'(u_k) = 0 exactly (ReLU: u_k ≤ 0)
    output: float  # h_n from the recorded graph

    @property
    def label(self) -> str:
        return self.activation.label

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def bound(self) -> np.ndarray | None:
        """The bound as float64 (0 where it underflows; see ``log10_bound``)."""
        if self.log10_bound is None:
            return None
        with np.errstate(under="ignore", over="ignore"):
            return 10.0 ** self.log10_bound

    @property
    def log10_ratio(self) -> np.ndarray | None:
        """log10 (|∂h_n/∂w_i| / bound), from log space (−inf where the gradient is exactly 0)."""
        if self.log10_bound is None:
            return None
        with np.errstate(invalid="ignore"):
            r = self.log10_abs - self.log10_bound
        return np.where(np.isneginf(self.log10_abs), -np.inf, r)

    @property
    def ratio(self) -> np.ndarray | None:
        """|∂h_n/∂w_i| / bound as float64 (0 where the gradient is exactly 0)."""
        lr = self.log10_ratio
        if lr is None:
            return None
        with np.errstate(under="ignore", over="ignore"):
            return 10.0 ** lr

    @property
    def bound_holds(self) -> bool | None:
        """True when |∂h_n/∂w_i| ≤ bound at every layer (up to rounding); None without bound."""
        if self.log10_bound is None:
            return None
        lb, la = self.log10_bound, self.log10_abs
        with np.errstate(invalid="ignore"):
            ok = np.isneginf(la) | (la <= lb + 1e-12 * np.maximum(1.0, np.abs(lb)))
        return bool(np.all(ok))

    @property
    def max_rel_error(self) -> float:
        """max |autodiff − closed| / |closed| over the layers flagged ok or mismatch."""
        m = np.array([f in ("ok", "mismatch") for f in self.flags])
        if not m.any():
            return 0.0
        a, c = self.autodiff[m], self.closed[m]
        with np.errstate(all="ignore"):
            r = np.abs(a - c) / np.abs(c)
        r = np.where(a == c, 0.0, np.where(np.isnan(r), np.inf, r))
        return float(np.max(r))

    @property
    def failed_layers(self) -> np.ndarray:
        """Layers i (1-based) where autodiff and the closed form disagree: failed checks."""
        return np.flatnonzero(np.isin(np.array(self.flags), FAILED)) + 1

    @property
    def ok(self) -> bool:
        """True when every layer's check passes and the bound (where there is one) holds."""
        return self.failed_layers.size == 0 and self.bound_holds is not False

    @property
    def underflow_layers(self) -> np.ndarray:
        """Layers i (1-based) whose float64 gradient underflowed to exactly 0."""
        return np.flatnonzero(np.array(self.flags) == "underflow") + 1

    def rows(self, layers: Sequence[int] | None = None) -> list[list[Any]]:
        """Table rows [i, w_i, h_{i−1}, autodiff, closed form, bound, ratio, log10|·|, flag]."""
        ratio = self.log10_ratio
        out = []
        for i in layers if layers is not None else range(1, self.n + 1):
            k = i - 1
            flag = self.flags[k]
            exact0 = np.isneginf(self.log10_abs[k])
            ad = _("underflow") if flag == "underflow" else self.autodiff[k]
            cf = rp.fmt_log10(self.sign[k], self.log10_abs[k])
            if self.log10_bound is None:
                b = r = _("n/a")
            else:
                b, r = rp.fmt_log10(1.0, self.log10_bound[k]), rp.fmt_log10(1.0, ratio[k])
            lg = _("exact 0") if exact0 else rp.fmt(self.log10_abs[k], 5)
            hv = rp.fmt_log10(self.sign_h[k], self.log10_h[k])
            out.append([i, self.weights[k], hv, ad, cf, b, r, lg, _(FLAG_WORDS[flag])])
        return out

    def summary(self) -> list[str]:
        """A few sentences: agreement, bound, dead layer, underflow."""
        lines = []
        comparable = sum(f in ("ok", "mismatch") for f in self.flags)
        zeros = sum(f in ("dead", "zero") for f in self.flags)
        bad = self.failed_layers
        text = _("autodiff vs closed form:")
        if comparable:
            text += " " + _("max relative difference {d} over {k} normal-range layers").format(
                d=rp.fmt(self.max_rel_error, 2), k=comparable)
        if zeros:
            text += (";" if comparable else "") + " " + _(
                "both exactly 0 at {k} layers").format(k=zeros)
        if not comparable and not zeros:
            text += " " + _("no layer within float64's normal range to compare")
        if bad.size:
            text += " — " + (
                _("CHECK FAILED (MISMATCH) at {k} layers (i = {i}): autodiff ≠ closed form")
                if bad.size > 1 else
                _("CHECK FAILED (MISMATCH) at {k} layer (i = {i}): autodiff ≠ closed form")
            ).format(k=bad.size, i=_ranges(bad))
        lines.append(text)
        if self.log10_bound is not None:
            ratio = self.log10_ratio
            k = int(np.argmax(ratio))
            lines.append((_("bound holds at every layer") if self.bound_holds else
                          _("BOUND VIOLATED")) + "; " + _(
                "largest |∂h_n/∂w_i| / bound = {r} at i = {i}").format(
                r=rp.fmt_log10(1.0, ratio[k], 4), i=k + 1))
        else:
            lines.append(_("bound: n/a ({sup}: σ' is unbounded)").format(
                sup=self.activation.sym.sup_sentence())
                if self.activation.sym is not None and math.isinf(self.activation.sym.sup)
                else _("bound: n/a (sup|σ'| is not defined: σ' is NaN everywhere)"))
        if self.log10_bound is not None and self.activation.sym is not None and \
                self.activation.kind == "expression":
            lines.append(_("bound from {sup}").format(sup=self.activation.sym.sup_sentence()))
        if self.dead_layer is not None:
            k = self.dead_layer
            what = (_("h_n and every ∂h_n/∂w_i are exactly 0 (dead chain)")
                    if self.activation.kind == "relu" or not np.any(self.autodiff)
                    else _("every ∂h_n/∂w_i with i ≤ {k} is exactly 0").format(k=k))
            lines.append(_("dead at layer {k}: u_{k} = w_{k}·h_{j} = {u} gives σ'(u_{k}) = 0, "
                           "so {what}").format(k=k, j=k - 1, u=rp.fmt(self.u[k - 1], 4),
                                               what=what))
        uf = self.underflow_layers
        if uf.size:
            lo = float(np.min(self.log10_abs[uf - 1]))
            lines.append(_("float64 underflow: {k} layers (i = {i}) are exactly 0 in float64 "
                           "and the log-space closed form lies below float64's smallest normal "
                           "number 10^{tiny} there (down to 10^{lo})").format(
                k=uf.size, i=_ranges(uf), tiny=f"{LOG10_TINY:.2f}", lo=f"{lo:.1f}"))
        sub = self.flags.count("subnormal")
        if sub:
            lines.append(_("{k} layers are subnormal in float64 (fewer significant "
                           "digits)").format(k=sub))
        for f in ("overflow", "nan"):
            if f in self.flags:
                lines.append(_("{k} layers: {flag}").format(k=self.flags.count(f),
                                                            flag=_(FLAG_WORDS[f])))
        return lines


def _ranges(idx: np.ndarray) -> str:
    """[1 2 3 7 8] → '1..3, 7..8'."""
    parts, start, prev = [], int(idx[0]), int(idx[0])
    for v in map(int, idx[1:]):
        if v != prev + 1:
            parts.append(f"{start}..{prev}" if prev > start else str(start))
            start = v
        prev = v
    parts.append(f"{start}..{prev}" if prev > start else str(start))
    return ", ".join(parts)


def _autodiff_chain(act: Activation, w: np.ndarray, x: float) -> tuple[float, np.ndarray]:
    """h_n and every ∂h_n/∂w_i from ONE reverse pass over the recorded float64 chain."""
    from ...autodiff import grad
    from ...tensor import Tensor, enable_grad

    with enable_grad(), np.errstate(all="ignore"):
        ws = [Tensor(np.asarray(wi, dtype=np.float64), requires_grad=True, name=f"w{i + 1}")
              for i, wi in enumerate(w)]
        h = Tensor(np.asarray(x, dtype=np.float64), name="x")
        for wk in ws:
            h = act.tensor(wk * h)
        h = _as_tensor_like(h, ws[-1] * 0)
        gs = grad(h, ws)
    return float(h.data), np.array([float(g.data) for g in gs], dtype=np.float64)


def _suffix_sum(a: np.ndarray) -> np.ndarray:
    """S_i = Σ_{k>i} a_k for i = 1..n (S_n = 0)."""
    s = np.cumsum(a[::-1])[::-1]
    return np.concatenate([s[1:], [0.0]])


def _suffix_prod(a: np.ndarray) -> np.ndarray:
    """P_i = Π_{k>i} a_k for i = 1..n (P_n = 1); used on signs only (no under/overflow)."""
    p = np.cumprod(a[::-1])[::-1]
    return np.concatenate([p[1:], [1.0]])


def _chain(act: Activation, w: np.ndarray, x: float) -> ChainResult:
    """Autodiff, closed form (log space), bound and flags for one activation."""
    n = len(w)
    h, log_h, sign_h = np.empty(n + 1), np.empty(n + 1), np.empty(n + 1)
    u, sign_u = np.empty(n), np.empty(n)
    h[0] = x
    log_h[0], sign_h[0] = (math.log(abs(x)) if x else -math.inf), math.copysign(1.0, x) * (x != 0)
    with np.errstate(all="ignore"):
        log_w = np.log(np.abs(w))
        for k in range(n):
            # forward pass in float64 and, alongside, log|h_k| and sign h_k (no underflow)
            u[k] = w[k] * h[k]
            log_u, sign_u[k] = log_w[k] + log_h[k], float(np.sign(w[k])) * sign_h[k]
            h[k + 1] = act.numpy(u[k])
            log_h[k + 1], sign_h[k + 1] = act.log_value(u[k], log_u, sign_u[k], h[k + 1])
        # σ' at u; where u underflowed to 0 but is not 0, at the smallest float of its sign
        u_eff = np.where((u == 0) & (sign_u != 0), sign_u * 5e-324, u)
        log_d, sign_d = act.log_derivative(u_eff)
        # log|∂h_n/∂w_i| = log|h_{i−1}| + log|σ'(u_i)| + Σ_{k>i} (log|w_k| + log|σ'(u_k)|)
        log_abs = log_h[:-1] + log_d + _suffix_sum(log_w + log_d)
        sign = sign_h[:-1] * sign_d * _suffix_prod(np.sign(w) * sign_d)
        log_h_prev = log_h[:-1]
        closed = np.where(np.isneginf(log_abs), 0.0, sign * np.exp(log_abs))
        derivative = sign_d * np.exp(log_d)
        log_m = act.log_max_derivative
        log_bound = coarse = None
        if log_m is not None:
            # sigmoid: the sheet's bound assumes |w_k| < 1 (then max(1, |w_k|) = 1)
            lw = np.log(np.maximum(1.0, np.abs(w))) if act.kind == "sigmoid" else log_w
            log_bound = log_h_prev + np.arange(n, 0, -1) * log_m + _suffix_sum(lw)
            if act.kind == "sigmoid":
                coarse = np.arange(n, 0, -1) * math.log10(0.25)
    out, ad = _autodiff_chain(act, w, x)
    zero_d = np.flatnonzero(derivative == 0)
    dead = int(zero_d[0]) + 1 if zero_d.size else None
    log10_abs = log_abs / LN10
    flags = [_flag(a, c, lg, s, dead, n)
             for a, c, lg, s in zip(ad, closed, log10_abs, sign, strict=True)]
    return ChainResult(act, w.copy(), h, log_h / LN10, sign_h, u, derivative, ad, closed, sign,
                       log10_abs,
                       None if log_bound is None else log_bound / LN10, coarse, flags, dead,
                       out)


def _agrees(ad: float, closed: float, n: int) -> bool:
    """Same value up to RTOL, or up to a few units of the last subnormal place per layer
    (below float64's normal range a product of n factors keeps only absolute precision)."""
    if ad != 0 and closed != 0 and math.copysign(1.0, ad) != math.copysign(1.0, closed):
        return False
    return abs(ad - closed) <= max(RTOL * abs(closed), 4 * (n + 1) * SMALLEST_SUBNORMAL)


def _flag(ad: float, closed: float, log10: float, sign: float, dead: int | None, n: int) -> str:
    """One layer's verdict: autodiff ``ad`` against the closed form (``log10`` |·| from log space).

    underflow: the closed form is below float64's smallest normal number and autodiff gave 0;
    subnormal: both there and agreeing to the subnormal precision; overflow: the closed form is
    beyond float64's largest and autodiff gave ±inf of its sign; dead/zero: both exactly 0;
    nan: both NaN; ok: they agree; anything else — "mismatch" — is a failed check.
    """
    if math.isnan(ad) or math.isnan(log10):
        return "nan" if math.isnan(ad) and math.isnan(log10) else "mismatch"
    if log10 == -math.inf:
        if ad != 0:
            return "mismatch"
        return "dead" if dead is not None else "zero"
    if log10 > LOG10_MAX:
        return "overflow" if math.isinf(ad) and math.copysign(1.0, ad) == sign else "mismatch"
    if math.isinf(ad):
        return "mismatch"
    if log10 < LOG10_TINY:
        if ad == 0:
            return "underflow"
        return "subnormal" if _agrees(ad, closed, n) else "mismatch"
    return "ok" if _agrees(ad, closed, n) else "mismatch"


# --------------------------------------------------------------------------- the entry point


def _weights(n: int, weights: Any, seed: int | None) -> tuple[np.ndarray, str, int | None]:
    if weights is None:
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31 - 1))
        w = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
        return w, f"w_i ~ U(-1, 1), numpy default_rng({seed})", seed
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
        src = f"w_i = {rp.fmt(w[0])} for every layer"
    elif w.shape == (n,):
        w = w.copy()
        src = "weights given"
    else:
        raise ValueError(_("vanishing: weights must be one number or {n} numbers (one per "
                           "layer), got shape {shape}").format(n=n, shape=w.shape))
    if not np.all(np.isfinite(w)):
        raise ValueError(_("vanishing: weights must be finite"))
    return w, src, seed


def vanishing(n: int, activations: str | Sequence[str | Activation] = ("sigmoid", "tanh", "relu"),
              weights: Any = None, x: float = 1.0, seed: int | None = None) -> VanishingReport:
    """∂h_n/∂w_i = h_{i−1}σ'(w_i h_{i−1})∏_{k>i} w_kσ'(w_k h_{k−1}), h_i = σ(w_i h_{i−1}), h_0 = x.

    ``weights``: n numbers, one number for every layer, or None for w_i ~ U(−1, 1) drawn by
    ``numpy.random.default_rng(seed)`` (so every |w_i| < 1, the sheet's hypothesis); seed None
    draws a fresh seed, recorded in ``report.seed``.  The same weights serve every activation.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(_("vanishing: n must be a positive integer (the number of layers), "
                           "got {n!r}").format(n=n))
    n = int(n)
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(_("vanishing: x must be finite"))
    acts = [activation(a) for a in ([activations] if isinstance(activations, (str, Activation))
                                     else activations)]
    if not acts:
        raise ValueError(_("vanishing: give at least one activation"))
    w, source, seed = _weights(n, weights, seed)
    results: dict[str, ChainResult] = {}
    for a in acts:
        if a.label in results:
            raise ValueError(_("vanishing: activation {label!r} given twice").format(
                label=a.label))
        results[a.label] = _chain(a, w, x)
    return VanishingReport(n, x, w, source, seed, results)


# --------------------------------------------------------------------------- the report


@dataclass
class VanishingReport(Rendering):
    """Result of :func:`vanishing`: data per activation plus tables, derivation and plot.

    ``to_markdown(max_rows=...)``, ``to_latex(max_rows=...)``, ``_repr_html_`` and ``str`` come
    from :class:`~dagrad.explain.rendering.Rendering` (renderer: ``chain_render``).
    """

    n: int
    x: float
    weights: np.ndarray
    weights_source: str
    seed: int | None
    results: dict[str, ChainResult]

    #: The table's head (msgids: :meth:`headers` writes them in the current language).
    HEADERS = ("i", "w_i", "h_(i-1)", N_("∂h_n/∂w_i autodiff"), N_("closed form"), N_("bound"),
               N_("|∂|/bound"), "log10 |∂h_n/∂w_i|", N_("flag"))
    LATEX_HEADERS = ("$i$", "$w_i$", "$h_{i-1}$", r"$\partial h_n/\partial w_i$ (autodiff)",
                     N_("closed form"), N_("bound"), N_("ratio"), r"$\log_{10}|\cdot|$",
                     N_("flag"))

    _renderer = "vanishing_chain.chain_render"

    def __getitem__(self, label: str) -> ChainResult:
        return self.results[label]

    @property
    def activations(self) -> list[str]:
        return list(self.results)

    @property
    def ok(self) -> bool:
        """True when every activation passes: autodiff = closed form at every layer, bound holds."""
        return all(r.ok for r in self.results.values())

    def failures(self) -> list[str]:
        """One line per failed check (empty when :attr:`ok`)."""
        out = []
        for label, r in self.results.items():
            bad = r.failed_layers
            if bad.size:
                out.append(_("σ = {act}: autodiff ≠ closed form at {k} of {n} layers "
                             "(i = {i})").format(act=label, k=bad.size, n=r.n, i=_ranges(bad)))
            if r.bound_holds is False:
                out.append(_("σ = {act}: the closed form exceeds the bound").format(act=label))
        return out

    def layers_shown(self, max_rows: int | None = MAX_TABLE_ROWS) -> list[int]:
        """All layers, or an even selection of about ``max_rows`` including 1 and n."""
        if max_rows is None or self.n <= max_rows:
            return list(range(1, self.n + 1))
        picks = np.unique(np.round(np.linspace(1, self.n, max_rows)).astype(int))
        return [int(i) for i in picks]

    def headers(self, latex: bool = False) -> list[str]:
        """The table's head in the current language (``latex``: the LaTeX spelling)."""
        return [_(h) for h in (self.LATEX_HEADERS if latex else self.HEADERS)]

    def weights_text(self) -> str:
        """Where the weights came from, in the current language."""
        if self.weights_source.startswith("w_i ~ U(-1, 1)") and self.seed is not None:
            return _("w_i ~ U(-1, 1), numpy default_rng({seed})").format(seed=self.seed)
        if self.weights_source == "weights given":
            return _("weights given")
        if self.weights_source.endswith(" for every layer"):
            return _("w_i = {w} for every layer").format(w=rp.fmt(self.weights[0]))
        return self.weights_source

    def _setup(self) -> str:
        return _("chain h_i = σ(w_i·h_(i-1)), h_0 = x = {x}, n = {n} layers; {weights}; "
                 "float64").format(x=rp.fmt(self.x), n=self.n, weights=self.weights_text())

    def _note(self, shown: list[int]) -> str:
        return "" if len(shown) == self.n else _(
            "(showing {k} of {n} layers; the report's arrays hold all of them)").format(
            k=len(shown), n=self.n)

    def table(self, activation: str | None = None, max_rows: int | None = MAX_TABLE_ROWS) -> str:
        """The per-layer table(s) for the terminal, with each activation's summary."""
        shown = self.layers_shown(max_rows)
        parts = []
        for label, r in self.results.items():
            if activation is not None and label != activation:
                continue
            parts.append(f"σ = {label}   ({r.activation.formula})")
            parts.append(rp.text_table(self.headers(), r.rows(shown)))
            if self._note(shown):
                parts.append(self._note(shown))
            parts += ["  " + s for s in r.summary()]
            parts.append("")
        return "\n".join(parts).rstrip()

    def derivation(self, fmt: str = "text") -> str:
        """The derivation of ∂h_n/∂w_i and the bounds ("text", "markdown" or "latex")."""
        from .text import derivation_markdown, derivation_text, markdown_to_latex

        if fmt == "text":
            return derivation_text(self.n)
        md = derivation_markdown(self.n)
        if fmt == "markdown":
            return md
        if fmt == "latex":
            return markdown_to_latex(md)
        raise ValueError(f"derivation: fmt must be 'text', 'markdown' or 'latex', got {fmt!r}")

    def plot(self, path: str | os.PathLike) -> str:
        """log10 |∂h_n/∂w_i| against i per activation, bounds dashed, underflow marked (PNG/SVG)."""
        from .plot import plot_chain

        return plot_chain(self, path)
