"""Exercise (a): a deep scalar chain's derivatives, closed forms, bounds; gradient flow in MLPs."""

from __future__ import annotations

from .flow import GradientFlowReport, gradient_flow
from .scalar_chain import VanishingReport, vanishing

__all__ = ["vanishing", "VanishingReport", "gradient_flow", "GradientFlowReport"]
