"""Part (c): another small MLP, its loss, and ∇_x L, ∇_b1 L as Jacobian products with their sizes.

The variant draws the layer sizes, the hidden activation and the loss (cross-entropy of the
logits, or the negative log-likelihood of the softmax output; both are L = −log z^(n)_y).  The
key's sizes are written from the variant by hand; the engine then builds the MLP with random
weights and a random input and :func:`dagrad.explain.jacobian_chain` multiplies the closed-form
Jacobians and checks them against dagrad's reverse mode, ``dg.jacobian`` of each step and
float64 finite differences.  The checks require those to pass and the engine's factor shapes
to equal the key's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..i18n import _
from .checks import Check
from .document import DisplayMath, Figure, Heading, Items, Paragraph, math

__all__ = ["VariantC", "SolutionC", "draw", "solve", "CHECKERS", "handout", "key"]

POINTS, BONUS = 6, 4
HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "softplus")
LOSSES = ("cross_entropy", "nll", "mse")  # mse: (1/K)·‖z^(n) − e_y‖² of the softmax output
DENSE_BYTES = 8 * 2**20   # build J_o1(W1) densely up to this size
MSE_DERIVATION_LATEX = (r"L = \tfrac{1}{K}\sum_k (z_k - t_k)^2,\ t = e_y,\quad "
                        r"\frac{\partial L}{\partial z_j} = \tfrac{2}{K}(z_j - t_j),\quad "
                        r"J = \tfrac{2}{K}\,(z - e_y)^\top")


@dataclass(frozen=True)
class VariantC:
    sizes: tuple[int, ...]     # D, H1, …, K
    activation: str
    loss: str                  # "cross_entropy" (logits), "nll" or "mse" (softmax output)
    label: int                 # the sheet's y ∈ [1 : K] of the instance the key is checked on
    seed: int                  # weights and input of that instance

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1


@dataclass
class SolutionC:
    report: Any                # dagrad.explain.JacobianChainReport (None for the MSE loss)
    shapes: dict[str, list[tuple[int, int]]]  # the factor shapes per gradient
    independent: list[tuple[str, bool]]       # (check, passed) against independent routes
    gradients: dict[str, np.ndarray]          # ∇_x L and ∇_b1 L as the chain products


def draw(rng: np.random.Generator) -> VariantC:
    """A variant of part (c) from ``rng``."""
    hidden = int(rng.integers(1, 4))
    d = int(rng.choice([8, 16, 32, 64, 100, 784]))
    hs = [int(h) for h in rng.choice([4, 8, 16, 32, 64, 128, 256], size=hidden)]
    k = int(rng.choice([3, 4, 5, 10]))
    act = HIDDEN_ACTIVATIONS[int(rng.integers(len(HIDDEN_ACTIVATIONS)))]
    loss = LOSSES[int(rng.integers(len(LOSSES)))]
    return VariantC((d, *hs, k), act, loss, int(rng.integers(1, k + 1)),
                    int(rng.integers(2**31 - 1)))


def solve(v: VariantC) -> SolutionC:
    """The chains of a random instance of the variant's MLP: by the explainer (c) for −log z_y,
    by :func:`_mse_chain` for the mean squared error."""
    import dagrad as dg

    model = dg.nn.MLP(list(v.sizes), activation=v.activation,
                      output=None if v.loss == "cross_entropy" else "softmax", seed=v.seed)
    x = np.random.default_rng(v.seed).normal(size=v.sizes[0])
    if v.loss == "mse":
        return _mse_chain(v, model, x)
    dense = v.sizes[1] ** 2 * v.sizes[0] * 8 <= DENSE_BYTES
    report = dg.explain.jacobian_chain(model, x, v.label - 1, dense=dense,
                                       description="exercise (c) instance")
    shapes = {t: [f.shape for f in report.chains[(t, "layer")].factors] for t in ("x", "b1")}
    grads = {t: report.chains[(t, "layer")].adjoints[-1].ravel() for t in ("x", "b1")}
    return SolutionC(report, shapes, [(c.name, bool(c.ok)) for c in report.independent_checks],
                     grads)


def _mse_chain(v: VariantC, model: Any, x: np.ndarray) -> SolutionC:
    """L = (1/K)‖softmax(o^(n)) − e_y‖²: the product of the closed-form Jacobians (the
    explainer's, in NumPy) against dagrad's reverse mode and float64 finite differences."""
    import dagrad as dg
    from dagrad.nn.functional import mse_loss

    from ..catalogue import named_functions
    from ..explain.mlp_jacobians import jacobians as jac
    from ..explain.mlp_jacobians.model import inspect_mlp

    spec = inspect_mlp(model)
    n, k = v.depth, v.sizes[-1]
    target = np.eye(k)[v.label - 1]

    def forward(x_: np.ndarray, b1: np.ndarray) -> tuple[float, list[np.ndarray], np.ndarray]:
        z, pre = x_, []
        for l in range(n):
            o = spec.weights[l] @ z + (b1 if l == 0 else spec.biases[l])
            pre.append(o)
            z = jac.softmax(o) if l == n - 1 else jac.activation(v.activation, o, spec.slope)
        return float(np.mean((z - target) ** 2)), pre, z

    _, pre, s = forward(x, spec.biases[0])
    chain = [(2.0 / k) * (s - target)[None, :],
             jac.softmax_jacobian(s) @ spec.weights[n - 1]]
    for l in range(n - 1, 0, -1):
        chain.append(jac.activation_jacobian(v.activation, pre[l - 1], spec.slope)
                     @ spec.weights[l - 1])
    last_b = jac.activation_jacobian(v.activation, pre[0], spec.slope)
    row = chain[0]
    for f in chain[1:-1]:
        row = row @ f
    closed = {"x": (row @ chain[-1]).ravel(), "b1": (row @ last_b).ravel()}
    # dagrad's reverse mode on float64 copies of the same weights
    xt = dg.tensor(x, dtype="float64", requires_grad=True)
    b1 = dg.tensor(spec.biases[0], dtype="float64", requires_grad=True)
    act = named_functions()[v.activation]
    z = xt
    for l in range(n):
        o = dg.matmul(dg.tensor(spec.weights[l], dtype="float64"), z) + (
            b1 if l == 0 else dg.tensor(spec.biases[l], dtype="float64"))
        z = dg.softmax(o) if l == n - 1 else act.call(o, *(
            (spec.slope,) if v.activation == "leaky_relu" else ()))
    out = mse_loss(z, dg.tensor(target, dtype="float64"))
    out.backward()
    engine = {"x": np.asarray(xt.grad, dtype=np.float64), "b1": np.asarray(b1.grad)}
    # central differences of the NumPy forward along three random directions each
    rng = np.random.default_rng(v.seed + 1)
    eps, fd_ok = 1e-6, True
    for name, size in (("x", v.sizes[0]), ("b1", v.sizes[1])):
        for _ in range(3):
            d = rng.normal(size=size)
            xs = [x + eps * d, x - eps * d] if name == "x" else [x, x]
            bs = [spec.biases[0]] * 2 if name == "x" else [spec.biases[0] + eps * d,
                                                          spec.biases[0] - eps * d]
            num = (forward(xs[0], bs[0])[0] - forward(xs[1], bs[1])[0]) / (2 * eps)
            fd_ok &= abs(num - closed[name] @ d) <= 1e-6 * max(1.0, abs(num)) + 1e-9
    agree = all(np.allclose(closed[t], engine[t], rtol=1e-9, atol=1e-14) for t in closed)
    shapes = {"x": [f.shape for f in chain],
              "b1": [f.shape for f in chain[:-1]] + [last_b.shape]}
    return SolutionC(None, shapes, [
        ("∇_x L and ∇_b1 L: closed-form chain product vs dagrad reverse mode", agree),
        ("∇_x L and ∇_b1 L: along random directions vs float64 central differences",
         bool(fd_ok))], closed)


def expected_shapes(v: VariantC) -> dict[str, list[tuple[int, int]]]:
    """The sizes the key prints, from the layer sizes alone."""
    s, n = v.sizes, v.depth
    chain = [(1, s[n])] + [(s[l], s[l - 1]) for l in range(n, 1, -1)]
    return {"x": chain + [(s[1], s[0])], "b1": chain + [(s[1], s[1])]}


# ----------------------------------------------------------------------------- checks
def check_report(v: VariantC, s: SolutionC) -> Check:
    failed = [name for name, ok in s.independent if not ok]
    ok = bool(s.independent) and not failed and (s.report is None or s.report.ok)
    return Check("c", "the Jacobian products for ∇_x L, ∇_b1 L (and ∇_W1 L)", "dagrad reverse "
                 "mode, dg.jacobian of each step and float64 finite differences", ok,
                 "; ".join(failed) or f"{len(s.independent)} independent checks pass")


def check_sizes(v: VariantC, s: SolutionC) -> Check:
    want = expected_shapes(v)
    ok = want == s.shapes
    return Check("c", "the sizes of every Jacobian", "the sizes derived from the layer sizes",
                 ok, "equal" if ok else f"key {want} vs engine {s.shapes}")


CHECKERS = [check_report, check_sizes]


# ----------------------------------------------------------------------------- the text
def _z(l: int, n: int) -> str:
    return "x" if l == 0 else f"z^{{({l})}}"


def _loss_tex(v: VariantC) -> str:
    n = v.depth
    if v.loss == "mse":
        return (rf"L_{{\mathrm{{mse}}}}(z^{{({n})}}, y) = \frac{{1}}{{{v.sizes[-1]}}}"
                rf"\sum_{{k=1}}^{{{v.sizes[-1]}}}\bigl(z^{{({n})}}_k - [k = y]\bigr)^2")
    if v.loss == "nll":
        return rf"L_{{\mathrm{{nll}}}}(z^{{({n})}}, y) = -\log z^{{({n})}}_y"
    return (rf"L_{{\mathrm{{ce}}}}(o^{{({n})}}, y) = -\log \operatorname{{softmax}}"
            rf"(o^{{({n})}})_y")


def handout(v: VariantC) -> list[Any]:
    """Part (c) of the handout."""
    n, s = v.depth, v.sizes
    hidden = ", ".join(map(str, s[1:-1]))
    layers = (_("one hidden layer with {sizes} neurons").format(sizes=math(hidden)) if n == 2
              else _("{h} hidden layers with {sizes} neurons").format(h=n - 1,
                                                                     sizes=math(hidden)))
    act = math(r"\operatorname{" + v.activation.replace("_", r"\_") + "}")
    if v.activation == "leaky_relu":
        act += " " + _("(negative slope {alpha})").format(alpha=math(r"\alpha = 0.01"))
    output = (_("The output layer of the MLP uses the softmax activation function.")
              if v.loss != "cross_entropy" else
              _("The output layer of the MLP is linear: the MLP outputs the logits {o}.")
              .format(o=math(f"o^{{({n})}}")))
    symbols = ", ".join(math(t) for t in
                        ["x"] + [f"z^{{({l})}}" for l in range(1, n + 1)] + ["y", "L"])
    return [
        Heading(2, _("c) Backpropagation for multivariate functions ({p} points + {b} bonus "
                     "points)").format(p=POINTS, b=BONUS)),
        Paragraph(_("Consider an MLP that maps an input vector of {d} dimensions to a vector "
                    "of {k} dimensions. The MLP has {layers}, which use the {act} activation "
                    "function.").format(d=math(str(s[0])), k=math(str(s[-1])), layers=layers,
                                        act=act) + " " + output + " "
                  + _("The MLP can be defined recursively as")),
        DisplayMath(r"z^{(l)} := \phi^{(l)}\bigl(\underbrace{W^{(l)} \cdot z^{(l-1)} + "
                    r"b^{(l)}}_{o^{(l)}(z^{(l-1)})}\bigr) \text{ with } z^{(0)} := x"),
        Paragraph(_("where {W} is the weight matrix, {b} the bias and {phi} the activation "
                    "function of the layer with index {l}, and {x} is the input of the MLP. "
                    "The MLP is trained to minimise").format(
            W=math("W^{(l)}"), b=math("b^{(l)}"), phi=math(r"\phi^{(l)}"), l=math("l"),
            x=math("x"))),
        DisplayMath(_loss_tex(v)),
        Paragraph(_("where {y} is an integer label {range}.").format(
            y=math("y"), range=math(rf"y \in [1 : {s[-1]}]"))),
        Paragraph(_("Represent the computation of the objective as a DAG using the symbols "
                    "{symbols}. Then use the chain rule in several dimensions to write the "
                    "gradients {gx} and {gb} as products of Jacobian matrices. Give the "
                    "Jacobian matrices of the individual steps explicitly and derive the "
                    "Jacobian matrices of the given activation functions from the definitions "
                    "of the activation functions. Make sure that the product of the Jacobian "
                    "matrices can actually be computed: to check this, give the size of every "
                    "Jacobian matrix needed to compute the gradients {gx} and {gb}.").format(
            symbols=symbols, gx=math(r"\nabla_x L"), gb=math(r"\nabla_{b^{(1)}} L"))),
        Paragraph(_("**Bonus:** ({b} points) Use tensor products to write the gradient {gw} "
                    "with respect to the weight matrix {W} as a product of vectors, matrices "
                    "and tensors as well. Describe in particular the shape and the entries of "
                    "the Jacobian matrix {J}.").format(
            b=BONUS, gw=math(r"\nabla_{W^{(1)}} L"), W=math("W^{(1)}"),
            J=math(r"J_{o^{(1)}}(W^{(1)})"))),
    ]


def _product(v: VariantC, last: str) -> tuple[str, str]:
    """The product ∇ L = J_L(z^(n)) ⋯ J_z1(last) and its sizes, in LaTeX."""
    n = v.depth
    factors = [rf"J_L(z^{{({n})}})"] + [rf"J_{{z^{{({l})}}}}({_z(l - 1, n)})"
                                        for l in range(n, 1, -1)]
    factors.append(rf"J_{{z^{{(1)}}}}({last})")
    shapes = expected_shapes(v)["x" if last == "x" else "b1"]
    sizes = r" \cdot ".join(rf"({a} \times {b})" for a, b in shapes)
    return " ".join(factors), sizes + rf" = 1 \times {shapes[-1][1]}"


def key(v: VariantC, s: SolutionC, figure: Figure | None) -> list[Any]:
    """Part (c) of the key (``figure``: the layer DAG drawn by Graphviz, when drawn)."""
    from ..explain.mlp_jacobians import jacobians as jac

    n, sz = v.depth, v.sizes
    form = jac.ACTIVATION_FORMS[v.activation]
    px, sx = _product(v, "x")
    pb, sb = _product(v, "b^{(1)}")
    nodes = r" \to ".join(["x"] + [f"z^{{({l})}}" for l in range(1, n + 1)]) + r" \to L"
    out: list[Any] = [
        Heading(2, _("c) Backpropagation for multivariate functions ({p} points + {b} bonus "
                     "points)").format(p=POINTS, b=BONUS)),
        Paragraph(_("DAG: {nodes}, and {y} feeds {L} as well.").format(
            nodes=math(nodes), y=math("y"), L=math("L"))
            + " " + (_("The loss is the cross-entropy of the logits; with {s} as a node of its "
                       "own it is {L}.").format(s=math(rf"z^{{({n})}} := \operatorname{{softmax}}"
                                                       rf"(o^{{({n})}})"),
                                                L=math(rf"L = -\log z^{{({n})}}_y"))
                     if v.loss == "cross_entropy" else
                     _("The loss is the negative log-likelihood {L}.").format(
                         L=math(rf"L = -\log z^{{({n})}}_y")) if v.loss == "nll" else
                     _("The loss is the mean squared error {L} between the softmax output and "
                       "the one-hot vector of the label.").format(
                         L=math(rf"L = \tfrac{{1}}{{{sz[-1]}}}\,\lVert z^{{({n})}} - e_y"
                                r"\rVert^2")))),
    ]
    if figure is not None:
        out.append(figure)
    loss_step = (rf"J_L(z^{{({n})}}) = \tfrac{{2}}{{{sz[n]}}}\,(z^{{({n})}} - e_y)^\top"
                 if v.loss == "mse" else
                 rf"J_L(z^{{({n})}}) = -\tfrac{{1}}{{z^{{({n})}}_y}}\,e_y^\top")
    steps = [loss_step + rf" \in \mathbb{{R}}^{{1 \times {sz[n]}}}",
             rf"J_{{z^{{({n})}}}}({_z(n - 1, n)}) = \bigl(\operatorname{{diag}}(s) - s\,s^\top"
             rf"\bigr)\,W^{{({n})}},\ s = z^{{({n})}} \in \mathbb{{R}}^{{{sz[n]} \times "
             rf"{sz[n - 1]}}}"]
    for l in range(n - 1, 0, -1):
        steps.append(rf"J_{{z^{{({l})}}}}({_z(l - 1, n)}) = "
                     + form.latex.replace("{o}", f"o^{{({l})}}") + rf"\,W^{{({l})}} \in "
                     rf"\mathbb{{R}}^{{{sz[l]} \times {sz[l - 1]}}}")
    steps.append(r"J_{z^{(1)}}(b^{(1)}) = " + form.latex.replace("{o}", "o^{(1)}")
                 + rf"\cdot I \in \mathbb{{R}}^{{{sz[1]} \times {sz[1]}}}")
    out += [
        Paragraph(_("Chain rule (each factor's size below the product):")),
        DisplayMath(rf"\nabla_x L = {px}"), DisplayMath(sx),
        DisplayMath(rf"\nabla_{{b^{{(1)}}}} L = {pb}"), DisplayMath(sb),
        Paragraph(_("The Jacobian matrices of the steps, with {o}:").format(
            o=math(r"o^{(l)} = W^{(l)} z^{(l-1)} + b^{(l)}"))),
        Items(tuple(math(t) for t in steps), numbered=False),
        Paragraph(_("Derivations from the definitions:")),
        Items((math(form.derivation_latex), math(jac.SOFTMAX_DERIVATION_LATEX),
               math(MSE_DERIVATION_LATEX if v.loss == "mse" else jac.LOSS_DERIVATION_LATEX),
               math(jac.LINEAR_DERIVATION_LATEX)),
              numbered=False),
        Paragraph(_("**Bonus:** {J} is a tensor of shape {shape} with entries {entries}; with "
                    "{delta}:").format(
            J=math(r"J_{o^{(1)}}(W^{(1)})"),
            shape=math(rf"{sz[1]} \times {sz[1]} \times {sz[0]}"),
            entries=math(r"\partial o^{(1)}_i / \partial W^{(1)}_{jk} = \delta_{ij}\,x_k"),
            delta=math(r"\delta^{(1)} = \nabla_{o^{(1)}} L = J_L(z^{(" + str(n) + r")})\cdots "
                       r"J_{z^{(1)}}(o^{(1)}) \in \mathbb{R}^{1 \times " + str(sz[1]) + "}"))),
        DisplayMath(r"\nabla_{W^{(1)}} L = \delta^{(1)} \cdot J_{o^{(1)}}(W^{(1)}) = "
                    r"\delta^{(1)\top} x^\top \in \mathbb{R}^{" + f"{sz[1]} \\times {sz[0]}" + "}"),
        Paragraph((_("Checked on a random instance of this network: the products equal "
                     "dagrad's reverse mode and float64 finite differences ({k} independent "
                     "checks).") if s.report is None else
                   _("Checked on a random instance of this network: the products equal dagrad's "
                     "reverse mode, each factor equals {jac} of its step, and float64 finite "
                     "differences agree ({k} independent checks).")).format(
            jac="dg.jacobian", k=len(s.independent))),
    ]
    return out
