"""Closed-form Jacobians of the MLP's steps, in plain NumPy (float64) — the independent oracle.

Nothing here touches the autodiff: every matrix is written from its definition, evaluated at
the forward values.  Row = output component, column = input component (numerator layout), so
a gradient is a row vector and a chain is multiplied left to right (vector–Jacobian products).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import closed_forms
from ...catalogue import activation_names, named_functions
from ...i18n import N_, _
from ...limits import check_dense

__all__ = [
    "ACTIVATION_FORMS", "ActivationForm", "activation", "activation_derivative",
    "activation_jacobian", "softmax", "softmax_jacobian", "nll_jacobian", "linear_input_jacobian",
    "linear_bias_jacobian", "weight_tensor", "weight_tensor_nbytes", "kron_rows",
]


@dataclass(frozen=True)
class ActivationForm:
    """An activation's Jacobian: text and LaTeX of diag(φ'(o)) and of its derivation."""

    name: str
    text: str          # the Jacobian, {o} for the pre-activation
    latex: str
    derivation: str    # ∂z_i/∂o_j from the definition (text)
    derivation_latex: str


_WRITTEN_FORMS: dict[str, ActivationForm] = {
    "tanh": ActivationForm(
        "tanh", "diag(1 − tanh²({o}))",
        r"\operatorname{diag}\bigl(1-\tanh^2({o})\bigr)",
        N_("tanh(u) = (eᵘ − e⁻ᵘ)/(eᵘ + e⁻ᵘ), so by the quotient rule tanh'(u) = "
           "((eᵘ + e⁻ᵘ)² − (eᵘ − e⁻ᵘ)²)/(eᵘ + e⁻ᵘ)² = 1 − tanh²(u). z_i = tanh(o_i) depends "
           "on o_i only, hence ∂tanh(o_i)/∂o_j = δ_ij·(1 − tanh²(o_i)): a diagonal matrix."),
        r"\tanh u = \frac{e^{u}-e^{-u}}{e^{u}+e^{-u}},\quad "
        r"\tanh' u = \frac{(e^{u}+e^{-u})^2-(e^{u}-e^{-u})^2}{(e^{u}+e^{-u})^2} = 1-\tanh^2 u,"
        r"\quad \frac{\partial \tanh(o_i)}{\partial o_j} = "
        r"\delta_{ij}\,\bigl(1-\tanh^2(o_i)\bigr)"),
    "sigmoid": ActivationForm(
        "sigmoid", "diag(σ({o})·(1 − σ({o})))",
        r"\operatorname{diag}\bigl(\sigma({o})\odot(1-\sigma({o}))\bigr)",
        N_("σ(u) = 1/(1 + e⁻ᵘ), so σ'(u) = e⁻ᵘ/(1 + e⁻ᵘ)² = σ(u)(1 − σ(u)); elementwise, "
           "hence ∂σ(o_i)/∂o_j = δ_ij·σ(o_i)(1 − σ(o_i)): a diagonal matrix."),
        r"\sigma(u) = \frac{1}{1+e^{-u}},\quad \sigma'(u) = \frac{e^{-u}}{(1+e^{-u})^2}"
        r" = \sigma(u)\bigl(1-\sigma(u)\bigr),\quad \frac{\partial \sigma(o_i)}{\partial o_j}"
        r" = \delta_{ij}\,\sigma(o_i)\bigl(1-\sigma(o_i)\bigr)"),
    "relu": ActivationForm(
        "relu", "diag(1[{o} > 0])",
        r"\operatorname{diag}\bigl(\mathbb{1}[{o} > 0]\bigr)",
        N_("relu(u) = max(0, u) has slope 1 for u > 0 and 0 for u < 0 (0 at u = 0, as "
           "PyTorch); elementwise, hence ∂relu(o_i)/∂o_j = δ_ij·1[o_i > 0]: a diagonal 0/1 "
           "matrix."),
        r"\operatorname{relu}(u) = \max(0,u),\quad \operatorname{relu}'(u) = \mathbb{1}[u>0],"
        r"\quad \frac{\partial \operatorname{relu}(o_i)}{\partial o_j} = \delta_{ij}\,"
        r"\mathbb{1}[o_i>0]"),
    "leaky_relu": ActivationForm(
        "leaky_relu", "diag(1[{o} > 0] + α·1[{o} ≤ 0])",
        r"\operatorname{diag}\bigl(\mathbb{1}[{o}>0] + \alpha\,\mathbb{1}[{o}\le 0]\bigr)",
        N_("leaky_relu(u) = u for u > 0, α·u otherwise; elementwise, hence "
           "∂φ(o_i)/∂o_j = δ_ij·(1 if o_i > 0 else α): a diagonal matrix."),
        r"\varphi(u) = \begin{cases}u & u>0\\ \alpha u & u\le 0\end{cases},\quad "
        r"\frac{\partial \varphi(o_i)}{\partial o_j} = \delta_{ij}\,(\mathbb{1}[o_i>0]"
        r" + \alpha\,\mathbb{1}[o_i\le 0])"),
    "identity": ActivationForm(
        "identity", "I", "I",
        N_("φ(u) = u, so ∂o_i/∂o_j = δ_ij: the identity matrix."),
        r"\varphi(u) = u,\quad \frac{\partial o_i}{\partial o_j} = \delta_{ij}"),
}


def _derived_form(name: str) -> ActivationForm:
    """The Jacobian of a table activation without a written-out form: φ' by ``sympy.diff``."""
    import sympy

    u = sympy.Symbol("u", real=True)
    (a,), f = closed_forms.sympy_forward(name)
    _args, d = closed_forms.sympy_derivative(name)
    f, d = f.subs(a, u), d.subs(a, u)
    op = rf"\operatorname{{{name}}}"
    return ActivationForm(
        name, f"diag({name}'({{o}}))", rf"\operatorname{{diag}}\bigl({op}'({{o}})\bigr)",
        _("{f}, so {d} (by SymPy); elementwise, hence {j}: a diagonal matrix.").format(
            f=f"{name}(u) = {f}", d=f"{name}'(u) = {d}",
            j=f"∂{name}(o_i)/∂o_j = δ_ij·{name}'(o_i)"),
        rf"{op}(u) = {sympy.latex(f)},\quad {op}'(u) = {sympy.latex(d)},\quad "
        rf"\frac{{\partial {op}(o_i)}}{{\partial o_j}} = \delta_{{ij}}\,{op}'(o_i)")


class _ActivationForms(Mapping[str, ActivationForm]):
    """Every activation of the op table and the identity; forms written out above where there
    is one, else derived by SymPy on first use."""

    def _names(self) -> tuple[str, ...]:
        return (*_WRITTEN_FORMS, *(n for n in activation_names() if n not in _WRITTEN_FORMS))

    def __getitem__(self, name: str) -> ActivationForm:
        if name in _WRITTEN_FORMS:
            return _WRITTEN_FORMS[name]
        if name not in activation_names():
            raise KeyError(name)
        return _derived_form(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: The activations' Jacobian forms, keyed by the op table's activation names (and identity).
ACTIVATION_FORMS: Mapping[str, ActivationForm] = _ActivationForms()


def _closed_form(name: str, derivative: bool) -> Any:
    """φ or φ' in NumPy from the one closed-form catalogue (dagrad.closed_forms)."""
    if name not in activation_names():
        raise ValueError(f"no closed form for the activation {name!r}")
    return (closed_forms.activation_derivative if derivative else closed_forms.activation)(name)


def _attributes(name: str, slope: float) -> tuple[float, ...]:
    """The activation's attributes after o: leaky_relu's slope α, else none."""
    return (slope,)[:len(named_functions()[name].attributes)]

SOFTMAX_DERIVATION = N_(
    "s_i = e^{o_i} / Σ_k e^{o_k}. By the quotient rule ∂s_i/∂o_j = (δ_ij·e^{o_i}·Σ − "
    "e^{o_i}·e^{o_j}) / Σ² = s_i(δ_ij − s_j), i.e. J = diag(s) − s·sᵀ: symmetric, and each row "
    "sums to s_i(1 − Σ_j s_j) = 0.")
SOFTMAX_DERIVATION_LATEX = (
    r"s_i = \frac{e^{o_i}}{\sum_k e^{o_k}},\quad \frac{\partial s_i}{\partial o_j} = "
    r"\frac{\delta_{ij} e^{o_i}\sum_k e^{o_k} - e^{o_i} e^{o_j}}{(\sum_k e^{o_k})^2}"
    r" = s_i(\delta_{ij} - s_j),\quad J = \operatorname{diag}(s) - s\,s^\top")
LOSS_DERIVATION = N_("L = −log z_y depends on z_y only: ∂L/∂z_j = −δ_jy / z_y, the row "
                      "vector −(1/z_y)·e_yᵀ.")
LOSS_DERIVATION_LATEX = (r"L = -\log z_y,\quad \frac{\partial L}{\partial z_j} = "
                         r"-\frac{\delta_{jy}}{z_y},\quad J = -\tfrac{1}{z_y}\,e_y^\top")
LINEAR_DERIVATION = N_("o_i = Σ_k W_ik z_k + b_i: ∂o_i/∂z_k = W_ik (the matrix W itself), "
                        "∂o_i/∂b_j = δ_ij (the identity), ∂o_i/∂W_jk = δ_ij·z_k (a 3-tensor).")
LINEAR_DERIVATION_LATEX = (
    r"o_i = \sum_k W_{ik} z_k + b_i,\quad \frac{\partial o_i}{\partial z_k} = W_{ik},\quad "
    r"\frac{\partial o_i}{\partial b_j} = \delta_{ij},\quad "
    r"\frac{\partial o_i}{\partial W_{jk}} = \delta_{ij}\, z_k")


def activation(name: str, o: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """φ(o) elementwise (tanh, σ(o) = 1/(1 + e⁻ᵒ), relu, …; the identity): dagrad.closed_forms."""
    if name == "identity":
        return np.array(o, dtype=np.float64)
    return np.asarray(_closed_form(name, False)(o, *_attributes(name, slope)), dtype=np.float64)


def activation_derivative(name: str, o: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """φ'(o) elementwise: 1 − tanh²(o), σ(o)(1 − σ(o)), 1[o > 0], 1[o > 0] + α·1[o ≤ 0], 1, …"""
    if name == "identity":
        return np.ones_like(o, dtype=np.float64)
    return np.asarray(_closed_form(name, True)(o, *_attributes(name, slope)), dtype=np.float64)


def activation_jacobian(name: str, o: np.ndarray, slope: float = 0.01) -> np.ndarray:
    """J_z(o) = diag(φ'(o)), since z_i = φ(o_i): ∂z_i/∂o_j = δ_ij·φ'(o_i)."""
    return np.diag(activation_derivative(name, np.asarray(o, np.float64), slope))


def softmax(o: np.ndarray) -> np.ndarray:
    """s_i = e^{o_i} / Σ_k e^{o_k} (the maximum subtracted first)."""
    e = np.exp(o - np.max(o, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_jacobian(s: np.ndarray) -> np.ndarray:
    """J_s(o) = diag(s) − s·sᵀ, from ∂s_i/∂o_j = s_i(δ_ij − s_j)."""
    s = np.asarray(s, np.float64)
    return np.diag(s) - np.outer(s, s)


def nll_jacobian(z: np.ndarray, y: int) -> np.ndarray:
    """J_L(z) = −(1/z_y)·e_yᵀ (1 × C), from L = −log z_y."""
    z = np.asarray(z, np.float64)
    row = np.zeros((1, z.shape[-1]))
    row[0, y] = -1.0 / z[y]
    return row


def linear_input_jacobian(W: np.ndarray) -> np.ndarray:
    """J_o(z) = W, from o = W z + b: ∂o_i/∂z_k = W_ik."""
    return np.asarray(W, np.float64)


def linear_bias_jacobian(n: int) -> np.ndarray:
    """J_o(b) = I_n, from ∂o_i/∂b_j = δ_ij."""
    return np.eye(n)


def weight_tensor_nbytes(n_out: int, n_in: int) -> int:
    """Bytes of the dense float64 tensor J_o(W) of shape n_out × n_out × n_in."""
    return n_out * n_out * n_in * 8


def weight_tensor(x: np.ndarray, n_out: int) -> np.ndarray:
    """J_o(W) as the 3-tensor T[i, j, k] = ∂o_i/∂W_jk = δ_ij·x_k (n_out × n_out × n_in)."""
    x = np.asarray(x, np.float64)
    check_dense((n_out, n_out, x.size), np.float64, "J_o(W) as a dense tensor")
    T = np.zeros((n_out, n_out, x.size))
    idx = np.arange(n_out)
    T[idx, idx, :] = x          # only the "diagonal" slices T[i, i, :] = x are non-zero
    return T


def kron_rows(x: np.ndarray, n_out: int, rows: slice) -> np.ndarray:
    """Rows ``rows`` of J_o(W) flattened over (j, k) row-major: I_{n_out} ⊗ xᵀ (n_out × n_out·m)."""
    eye = np.eye(n_out)[rows]
    return np.kron(eye, np.asarray(x, np.float64)[None, :])
