"""The factors of the chain rule for one sample: name, formula, size, explicit matrix, step.

Fine level: J_L(zn), J_zn(on), J_on(z(n−1)), …, J_z1(o1), then J_o1(x) = W1 or J_o1(b1) = I.
Layer level: J_L(zn), J_zn(z(n−1)) = J_zn(on)·W^(n), …, then J_z1(x) or J_z1(b1).
Every matrix comes from :mod:`.jacobians` (closed forms); ``step`` is the same map written with
dagrad ops, so ``dg.jacobian(factor.step)(factor.at)`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ... import ops
from ...i18n import N_, _
from ...tensor import Tensor
from . import jacobians as jac
from .model import MLPSpec
from .products import Operand, Product

__all__ = ["Factor", "Chain", "Check", "SOURCES", "split_checks", "node_latex", "sample_factors",
           "chain_names", "multiply", "build_chain", "tolerance", "source", "source_name",
           "check_name"]


def node_latex(name: str) -> str:
    """LaTeX of a node name: "z3" → z^{(3)}, "W1" → W^{(1)}, "x" → x."""
    if name[:1] in "zobW" and name[1:].isdigit():
        return f"{name[0]}^{{({name[1:]})}}"
    return name


def _jname(out: str, inp: str) -> str:
    return f"J_{out}({inp})"


@dataclass
class Factor:
    """One Jacobian J_out(in) of the chain: ∂out/∂in as a (dim out) × (dim in) matrix."""

    output: str
    input: str
    formula: str
    latex: str
    matrix: np.ndarray = field(repr=False)
    step: Callable[[Tensor], Tensor] = field(repr=False)
    at: np.ndarray = field(repr=False)
    parts: tuple[str, ...] = ()    # a layer-level factor: the fine factors it multiplies

    @property
    def name(self) -> str:
        return _jname(self.output, self.input)

    @property
    def latex_name(self) -> str:
        return f"J_{{{node_latex(self.output)}}}({node_latex(self.input)})"

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)  # type: ignore[return-value]

    @property
    def size(self) -> str:
        return f"{self.shape[0]}×{self.shape[1]}"


def chain_names(depth: int, target: str, level: str) -> list[tuple[str, str]]:
    """(output, input) of each factor, left to right, for ∇_target L at ``level``."""
    n = depth
    first = target if target == "x" else "b1"
    if level == "fine":
        out = [("L", f"z{n}")]
        for l in range(n, 0, -1):
            out.append((f"z{l}", f"o{l}"))
            out.append((f"o{l}", f"z{l - 1}" if l > 1 else first))
        return out
    if level == "layer":
        out = [("L", f"z{n}")]
        for l in range(n, 0, -1):
            out.append((f"z{l}", f"z{l - 1}" if l > 1 else first))
        return out
    raise ValueError(f"level must be 'layer' or 'fine', got {level!r}")


def _paren(expr: str, left: str = "(", right: str = ")") -> str:
    """``expr`` in parentheses if it has a top-level + or − (so a product reads right)."""
    depth = 0
    for c in expr:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and c in "+-−":
            return f"{left}{expr}{right}"
    return expr


def _tex_paren(expr: str) -> str:
    return _paren(expr, r"\bigl(", r"\bigr)")


def _linear_step(W: Tensor, b: Tensor | None) -> Callable[[Tensor], Tensor]:
    return lambda z: ops.linear(z, W, b)


def _t(a: np.ndarray | None) -> Tensor | None:
    return None if a is None else Tensor(a)


def sample_factors(spec: MLPSpec, v: dict[str, np.ndarray], y: int,
                   layer: bool = True) -> dict[str, Factor]:
    """Every fine (and, with ``layer``, layer-level) factor for one sample's forward values v."""
    n, act = spec.depth, spec.activation
    form = jac.ACTIVATION_FORMS[act]
    W = [spec.weights[l] for l in range(n)]
    Wt = [Tensor(w) for w in W]
    bt = [_t(b) for b in spec.biases]
    name = lambda l: "z0" if l == 0 else f"z{l}"
    val = lambda k: v["x"] if k == "z0" else v[k]
    f: dict[str, Factor] = {}
    act_txt: dict[int, tuple[str, str]] = {}

    def add(fac: Factor) -> None:
        f[fac.name] = fac

    zn = v[f"z{n}"]
    add(Factor("L", f"z{n}", f"−(1/z{n}_y)·e_yᵀ",
               rf"-\tfrac{{1}}{{z^{{({n})}}_y}}\,e_y^\top", jac.nll_jacobian(zn, y),
               lambda z: -ops.log(z[y]), zn))
    for l in range(n, 0, -1):
        o = v[f"o{l}"]
        lin = _linear_step(Wt[l - 1], bt[l - 1])
        if l == n:
            j_act = jac.softmax_jacobian(v[f"z{n}"])
            a_txt, a_tex = "diag(s) − s·sᵀ", r"\operatorname{diag}(s) - s\,s^\top"
            a_fn: Callable = lambda t: ops.softmax(t, -1)
            a_txt_full = f"diag(s) − s·sᵀ, s = z{n}"
        else:
            j_act = jac.activation_jacobian(act, o, spec.slope)
            a_txt = form.text.format(o=f"o{l}")
            a_tex = form.latex.replace("{o}", node_latex(f"o{l}"))
            a_fn = spec.act_modules[l - 1]
            a_txt_full = a_txt
        act_txt[l] = (a_txt, a_tex)
        add(Factor(f"z{l}", f"o{l}", a_txt_full, a_tex, j_act, a_fn, o))
        prev = "x" if l == 1 else name(l - 1)
        W_tex = f"W^{{({l})}}"
        add(Factor(f"o{l}", prev, f"W^({l})", W_tex, jac.linear_input_jacobian(W[l - 1]),
                   lin, val(name(l - 1))))
        if not layer:
            continue
        add(Factor(f"z{l}", prev, f"{_paren(a_txt)}·W^({l})", _tex_paren(a_tex) + r"\," + W_tex,
                   j_act @ W[l - 1], (lambda a, g: lambda z: a(g(z)))(a_fn, lin),
                   val(name(l - 1)), (_jname(f"z{l}", f"o{l}"), _jname(f"o{l}", prev))))
    if spec.has_bias:
        x1, W1t = v["x"], Wt[0]
        eye = jac.linear_bias_jacobian(spec.sizes[1])
        lin_b = lambda b: ops.linear(Tensor(x1), W1t, b)
        add(Factor("o1", "b1", "I", "I", eye, lin_b, spec.biases[0]))
        if not layer:
            return f
        j1 = f["J_z1(o1)"]
        a1 = j1.step
        t1, x1tex = act_txt[1]
        add(Factor("z1", "b1", f"{_paren(t1)}·I", _tex_paren(x1tex) + r"\,I",
                   j1.matrix @ eye, lambda b: a1(lin_b(b)), spec.biases[0],
                   ("J_z1(o1)", "J_o1(b1)")))
    return f


# The computations a check may compare.  An independent check names two different ones: what it
# checks (``subject``) and the oracle it compares with; a consistency check names none.
# Keys and descriptions are English msgids: source_name() and source() translate them.
SOURCES: dict[str, str] = {
    N_("closed forms"): N_("the Jacobians written from their definitions (explain.jacobians, "
                           "NumPy), multiplied as displayed"),
    N_("NumPy forward"): N_("the MLP's forward pass in plain NumPy "
                            "(mlp_jacobians.model.numpy_forward)"),
    N_("dagrad forward"): N_("the model's own modules run by dagrad (the op table's forward "
                             "functions)"),
    N_("dagrad reverse mode"): N_("dagrad's backprop through the model (the op table's vjp "
                                  "rules)"),
    "dg.jacobian": N_("dagrad's Jacobian of each step by itself (the op table's rules)"),
    N_("finite differences"): N_("central differences of the NumPy forward in float64"),
}


def source_name(key: str | None) -> str:
    """A computation's short name (a key of :data:`SOURCES`) in the current language."""
    return _(key) if key else ""


def source(key: str | None) -> str:
    """What the computation ``key`` is, in the current language."""
    return _(SOURCES[key]) if key else ""


@dataclass
class Check:
    """One check: |value| ≤ tol (or a yes/no fact when tol is None).

    With an ``oracle`` it is an *independent* check: ``subject`` and ``oracle`` name two
    different computations (keys of :data:`SOURCES`).  Without one it is a *consistency* check
    (shape bookkeeping, a symmetry, two builds of one definition): it is reported but never
    counted as a check, since its two sides come from the same code.
    """

    name: str
    value: float | bool
    tol: float | None = None
    subject: str | None = None
    oracle: str | None = None
    msgid: str | None = None  # the name as a catalog template, filled from args when shown
    args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, msgid: str, value: float | bool, tol: float | None = None,
           subject: str | None = None, oracle: str | None = None, **args: str) -> Check:
        """A check named by an English template (``msgid``) and the values it names; the
        name is English, :func:`check_name` writes it in the language of the report."""
        return cls(msgid.format(**args), value, tol, subject, oracle, msgid, dict(args))

    def __post_init__(self) -> None:
        if self.oracle is None:
            return
        for role, src in (("subject", self.subject), ("oracle", self.oracle)):
            if src not in SOURCES:
                raise ValueError(f"check {self.name!r}: {role} {src!r} is not one of "
                                 f"{', '.join(SOURCES)}")
        if self.subject == self.oracle:
            raise ValueError(f"check {self.name!r}: compares {self.subject!r} with itself, "
                             "which is not an independent check")

    @property
    def independent(self) -> bool:
        """True when the two sides come from different computations (an oracle is named)."""
        return self.oracle is not None

    @property
    def ok(self) -> bool:
        if self.tol is None:
            return bool(self.value)
        return bool(np.isfinite(self.value) and self.value <= self.tol)


def check_name(c: Check) -> str:
    """The check's name in the current language."""
    return _(c.msgid).format(**{k: _(v) for k, v in c.args.items()}) if c.msgid else c.name


def split_checks(checks: list[Check]) -> tuple[list[Check], list[Check]]:
    """(independent checks, consistency checks), each in the given order."""
    return [c for c in checks if c.independent], [c for c in checks if not c.independent]


def tolerance(reference: np.ndarray) -> float:
    """1e-10·max(1, max|reference|): float64 agreement up to rounding."""
    ref = np.asarray(reference, np.float64)
    return 1e-10 * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)


@dataclass
class Chain:
    """∇_target L as the ordered product of factors, multiplied left to right (VJPs).

    ``adjoints[k]`` is the row vector after multiplying factor k, i.e. ∇L w.r.t. factor k's
    input; ``backprop[k]`` is dagrad reverse mode's adjoint of the same node.
    """

    target: str
    level: str
    factors: list[Factor]
    adjoints: list[np.ndarray] = field(repr=False)
    backprop: list[np.ndarray] = field(repr=False)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def sizes(self) -> list[str]:
        return [f.size for f in self.factors]

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [f.shape for f in self.factors]

    @property
    def sizes_chain(self) -> bool:
        """Each factor has as many rows as the one before it has columns."""
        s = self.shapes
        return all(a[1] == b[0] for a, b in zip(s, s[1:], strict=False))

    @property
    def result_shape(self) -> tuple[int, int]:
        return (self.shapes[0][0], self.shapes[-1][1])

    @property
    def product(self) -> np.ndarray:
        """The chain's product, a 1 × dim(target) row vector."""
        return self.adjoints[-1]

    @property
    def reference(self) -> np.ndarray:
        """Backprop's ∇_target L as a 1 × dim(target) row vector."""
        return self.backprop[-1]

    @property
    def max_abs_diff(self) -> float:
        return float(np.max(np.abs(self.product - self.reference)))

    @property
    def adjoint_diffs(self) -> list[float]:
        return [float(np.max(np.abs(a - b))) for a, b in zip(self.adjoints, self.backprop,
                                                                 strict=True)]

    @property
    def lhs(self) -> str:
        return f"∇_{self.target} L"

    def expression(self) -> str:
        """"∇_x L = J_L(z3) · J_z3(z2) · …"."""
        return f"{self.lhs} = " + " · ".join(self.names)

    def size_expression(self) -> str:
        """"1×10 · 10×256 · … → 1×784"."""
        r = self.result_shape
        return " · ".join(self.sizes) + f" → {r[0]}×{r[1]}"

    def display(self) -> Product:
        """The chain as displayed: ∇_target L (1×n) = J_L(zn) (1×C) · … with every size."""
        return Product(self.lhs, rf"\nabla_{{{node_latex(self.target)}}} L", self.result_shape,
                       [Operand(f.name, f.latex_name, f.shape, f.matrix) for f in self.factors],
                       reference=self.reference, oracle="dagrad reverse mode")


def multiply(factors: list[Factor]) -> list[np.ndarray]:
    """Left to right: v₁ = F₁, v_k = v_{k−1}·F_k (a vector–Jacobian product each step)."""
    s = [f.shape for f in factors]
    for k, (a, b) in enumerate(zip(s, s[1:], strict=False)):
        if a[1] != b[0]:
            raise ValueError(f"the chain does not multiply: {factors[k].name} is {a[0]}×{a[1]} "
                             f"but {factors[k + 1].name} is {b[0]}×{b[1]}")
    v = factors[0].matrix
    out = [v]
    for f in factors[1:]:
        v = v @ f.matrix
        out.append(v)
    return out


def build_chain(factors: dict[str, Factor], depth: int, target: str, level: str,
                adjoints: dict[str, np.ndarray]) -> Chain:
    """The chain for ∇_target L at ``level``, multiplied, beside backprop's adjoints."""
    fs = [factors[_jname(o, i)] for o, i in chain_names(depth, target, level)]
    prods = multiply(fs)
    bp = [np.asarray(adjoints[f.input], np.float64).reshape(1, -1) for f in fs]
    return Chain(target, level, fs, prods, bp)


class CheckedReport:
    """``ok``, ``independent_checks`` and ``consistency_checks`` of a report's ``checks``."""

    checks: list[Check]

    @property
    def ok(self) -> bool:
        """True when every check passes (the consistency checks included)."""
        return all(c.ok for c in self.checks)

    @property
    def independent_checks(self) -> list[Check]:
        """The checks that compare two different computations — the only ones counted."""
        return [c for c in self.checks if c.independent]

    @property
    def consistency_checks(self) -> list[Check]:
        """Bookkeeping that holds by construction (sizes, symmetry, two builds): not counted."""
        return [c for c in self.checks if not c.independent]
