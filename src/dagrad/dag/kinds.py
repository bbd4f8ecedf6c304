"""The three kinds of node in a drawn DAG (the bottom floor of ``dag/``: renderers read these,
not the Graph class, so no renderer imports the model that calls it)."""

from __future__ import annotations

__all__ = ["LEAF", "CONST", "OP"]

LEAF = "leaf"  # an input that requires a gradient
CONST = "const"  # an input that does not (Python numbers, data)
OP = "op"  # the result of an op
