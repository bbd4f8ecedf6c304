"""Build examples/sheet.ipynb (the exercise sheet, walked with dagrad) from the cells below."""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS = [
    ("md", """# The exercise sheet on backpropagation, walked with dagrad

*Übungsblatt 3: Neuronale Netzwerke und Backpropagation* asks three things:
(a) how the activation function makes gradients vanish in a deep chain,
(b) the Rosenbrock function as a DAG with every edge's derivative, and ∇f by the chain rule,
(c) the gradient of an MLP's loss as a product of explicit Jacobian matrices.
Every number here is computed by dagrad, and the cells assert its checks against independent
oracles: (b) the hand-derived ∇f, (a) the closed form of ∂h_n/∂w_i (with SymPy's σ′ for a typed
activation), (c) backprop, finite differences and the explicit Jacobians' closed forms."""),
    ("code", """import dagrad as dg"""),
    ("md", """## (b) The Rosenbrock function as a DAG

$f(x) = 100(x_2 - x_1^2)^2 + (1 - x_1)^2$ with scalar leaves $x_1, x_2$, so the graph holds only
$+$, $-$, $\\times$ and natural powers."""),
    ("code", """x1 = dg.tensor(1.5, requires_grad=True, dtype="float64", name="x1")
x2 = dg.tensor(2.0, requires_grad=True, dtype="float64", name="x2")
f = 100 * (x2 - x1**2) ** 2 + (1 - x1) ** 2
f.backward()
print(f.item(), x1.grad.item(), x2.grad.item())
assert (x1.grad.item(), x2.grad.item()) == (151.0, -50.0)"""),
    ("code", """dag = dg.explain.rosenbrock(1.5, 2.0)  # exercise (b)'s explainer
assert dag.ok  # backprop and the chain rule over the DAG against the gradient derived by hand
g = dag.graph
g  # drawn by Graphviz: every edge carries ∂target/∂source, its formula and its value"""),
    ("code", """for edge, derivative, formula, value in dag.edge_rows():
    print(f"{edge:<9} {derivative} = {formula} = {value}")"""),
    ("code", """print(g.derivation())
dag.formulas  # ∂f/∂x1, ∂f/∂x2: the sum over paths of the product of the edge formulas"""),
    ("code", """dag  # the report: value, ∇f, every edge, the reverse pass, the checks"""),
    ("md", """## (a) Vanishing gradients in $h_i = \\sigma(w_i h_{i-1})$

$\\partial h_n/\\partial w_i = h_{i-1}\\,\\sigma'(w_i h_{i-1})
\\prod_{k=i+1}^n w_k\\,\\sigma'(w_k h_{k-1})$.
With the sigmoid ($\\sigma' \\le 1/4$) and $|w_k| < 1$ it shrinks at least like
$4^{-(n-i+1)}$; ReLU contributes no factor below 1 where it is active, but a single negative
pre-activation kills the whole chain."""),
    ("code", """acts = ["sigmoid", "tanh", "relu", "x / (1 + abs(x))"]
rep = dg.explain.vanishing(20, acts, seed=0)
print(rep.table("sigmoid", max_rows=6))
rep.plot("vanishing.png")
assert rep.ok  # every layer: autodiff against the closed form (or a genuine underflow)
rep"""),
    ("md", """## (c) The MLP's gradient as a chain of Jacobians

784-256-256-10 with tanh, tanh, softmax and $L = -\\log z^{(3)}_y$, on a real digit."""),
    ("code", """X, y = dg.data.load_sample("test")
model = dg.nn.MLP([784, 256, 256, 10], activation="tanh", output="softmax", seed=0)
chain = dg.explain.jacobian_chain(model, X[0].reshape(-1) / 255, int(y[0]), dense=False)
ch = chain.chain("x", "layer")
print(ch.expression())
print(ch.size_expression())
assert chain.ok
chain"""),
    ("md", """## Check your own answer

`dg.check` reads *your* work and says right or wrong — decided by SymPy and the engine, never
looked up — and, when it is wrong, where: a hand-derived ∂f/∂x is matched path by path against
the chain rule over the DAG (∂f/∂x = Σ over paths of the product of the edge derivatives).
The same checks run on the command line:
`dagrad check gradient|edges|adjoints|sizes|jacobian|bound` (exit 0 right, 1 wrong)."""),
    ("code", """mine = dg.check.gradient("100*(x2 - x1**2)**2 + (1 - x1)**2", wrt="x1",
                         answer="-200*x1*(x2 - x1**2) - 2*(1 - x1)")  # a factor 2 forgotten
assert not mine.ok and "off by a factor 2" in mine.diagnosis[0]
mine  # which path, which edges could account for it, and a point where the two differ"""),
    ("code", """adj = dg.check.adjoints("100*(x2 - x1**2)**2 + (1 - x1)**2", ["v2=-50", "x1=150"],
                       at="x1=1.5,x2=2")
print("\\n".join(adj.diagnosis))  # the first wrong adjoint in backward order, and why
sizes = dg.check.sizes("grad_x", "1x10 · 10x256 · 256x784")
print("\\n".join(sizes.diagnosis))  # the right 1×784, but a factor missing
jac = dg.check.jacobian("softmax", "diag(s) - s @ sᵀ")
assert jac.ok and not adj.ok and not sizes.ok
jac"""),
    ("md", "## Transforms: Jacobians and Hessians in one batched pass"),
    ("code", """rosen = lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
H = dg.hessian(rosen)(dg.tensor([1.5, 2.0], dtype="float64"))
print(H)  # [[1200 x1² − 400 x2 + 2, −400 x1], [−400 x1, 200]]
J = dg.jacobian(lambda v: model(v))(dg.tensor(X[0].reshape(-1) / 255))
J.shape"""),
]


def build() -> nbformat.NotebookNode:
    """The notebook object."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for k, (kind, src) in enumerate(CELLS):
        cell = (nbformat.v4.new_markdown_cell(src) if kind == "md"
                else nbformat.v4.new_code_cell(src))
        cell["id"] = f"cell-{k:02d}"  # stable ids: regenerating changes only what changed
        nb.cells.append(cell)
    return nb


if __name__ == "__main__":
    path = Path(__file__).with_name("sheet.ipynb")
    nbformat.write(build(), path)
    print(f"wrote {path}")
