"""Exercise (c): an MLP's gradient as a product of explicit Jacobians, checked independently."""

from __future__ import annotations

from .explainer import JacobianChainReport, jacobian_chain

__all__ = ["jacobian_chain", "JacobianChainReport"]
