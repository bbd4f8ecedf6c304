"""Exercise (c): an MLP's gradients ∇_x L and ∇_b1 L as ordered products of explicit Jacobians.

``jacobian_chain(model, x, y)`` evaluates every Jacobian of z^(l) = φ(W^(l) z^(l−1) + b^(l)),
z^(n) = softmax(o^(n)), L = −log z^(n)_y from its closed form in float64 (plain NumPy, not the
autodiff), multiplies them left to right (vector–Jacobian products on the 1×n gradient row),
and checks the products, every intermediate adjoint and the bonus ∇_W1 L (n×m) = δ1ᵀ · xᵀ,
vec(∇_W1 L) (1×n·m) = δ1 (1×n) · J_o1(W1) (n×n·m) = δ1 ⊗ xᵀ against independent oracles:
dagrad's reverse mode, ``dg.jacobian`` of each step, and float64 finite differences of the
NumPy forward.  Checks whose two sides come from one computation (sizes, symmetry, two builds
of one definition) are kept apart as consistency checks and never counted as checks.
A batch x of shape (N, in) gives a :class:`~dagrad.explain.mlp_jacobians.batch.BatchJacobianChain`.
"""

from __future__ import annotations

from typing import Any

from ...i18n import _
from .batch import batch_chain
from .model import check_inputs, inspect_mlp
from .single import JacobianChainReport, single_report

__all__ = ["jacobian_chain", "JacobianChainReport"]


def jacobian_chain(model: Any, x: Any, y: Any, *, dense: bool | None = None,
                   check_steps: bool = True, description: str | None = None) -> Any:
    """∇_x L = J_L(z3)·J_z3(z2)·J_z2(z1)·J_z1(x) and ∇_b1 L as explicit Jacobian products, checked.

    ``model``: a ``dg.nn.MLP``; ``x``: one input (in,) with an integer label ``y`` from 0 (the
    sheet's y is label + 1) — or a batch (N, in) with labels (N,), which gives per-sample
    chains and the batch-mean loss's gradients.  ``dense``: also build the 3-tensor
    J_o1(W1) (392 MiB for the sheet's sizes; default True for one input, False for a batch);
    ``check_steps``: compare every factor with ``dg.jacobian`` of its step.
    """
    spec = inspect_mlp(model)
    xs, ys, batched = check_inputs(spec, x, y)
    if batched:
        if dense:
            raise ValueError(_("jacobian_chain: dense=True builds the 3-tensor of one input; "
                               "a batch uses the implicit Kronecker form (take one sample with "
                               "report.sample(n, dense=True))"))
        return batch_chain(spec, xs, ys, model=model, description=description)
    return single_report(spec, xs[0], int(ys[0]), True if dense is None else bool(dense),
                         check_steps, description)
