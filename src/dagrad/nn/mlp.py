"""``MLP``: the sheet's network z^(l) = φ^(l)(W^(l) z^(l−1) + b^(l)), as a ``Sequential``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import init as nninit
from .layers import INITS, Identity, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .module import Module

__all__ = ["MLP", "ACTIVATIONS", "Elementwise", "activation_names", "make_activation"]

#: The activations PyTorch has a module of its own for; every other activation of the op table
#: (``dagrad.catalogue.activation_names()``: softplus, sin, …) becomes an :class:`Elementwise`.
ACTIVATIONS = {
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "identity": Identity,
}


class Elementwise(Module):
    """y = φ(x) for a named elementwise op φ of the table (with its default attributes)."""

    def __init__(self, name: str):
        super().__init__()
        from ..catalogue import named_functions

        self.name = name
        self._fn = named_functions()[name].call

    def forward(self, x: Any) -> Any:
        return self._fn(x)

    def extra_repr(self) -> str:
        return self.name


def activation_names() -> tuple[str, ...]:
    """Every name ``MLP(activation=...)`` accepts: the modules above and the table's activations."""
    from ..catalogue import activation_names as table

    return tuple(dict.fromkeys([*ACTIVATIONS, *table()]))


def make_activation(name: str) -> Module:
    """The activation module called ``name`` (any of :func:`activation_names`)."""
    key = name.strip().lower().replace("-", "_")
    if key in ACTIVATIONS:
        return ACTIVATIONS[key]()
    if key in activation_names():
        return Elementwise(key)
    raise ValueError(f"unknown activation {name!r}: use one of {', '.join(activation_names())}")


class MLP(Sequential):
    """Linear → activation → … → Linear [→ Softmax]: sizes [784, 256, 256, 10] is the sheet's.

    The activation follows every hidden layer; ``output="softmax"`` appends Softmax (the
    sheet's z^(3)), ``output=None`` returns logits (train those with ``cross_entropy``).
    ``model.layers`` lists the Linear layers (W^(l) = ``layers[l-1].weight``); ``model[i]``
    indexes the Sequential, so parameter names are ``"0.weight"``, ``"2.bias"``, … as in
    ``torch.nn.Sequential``.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", output: str | None = None,
                 init: str = "default", bias: bool = True, zero_bias: bool = False,
                 dtype: Any = None, generator: np.random.Generator | None = None,
                 seed: int | None = None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError(f"MLP: sizes must list at least 2 positive sizes, got {sizes}")
        if output not in (None, "softmax", "logits"):
            raise ValueError(f"MLP: output must be None or 'softmax', got {output!r}")
        if init not in INITS:
            raise ValueError(f"MLP: init must be one of {', '.join(INITS)}, got {init!r}")
        super().__init__()
        rng = nninit.resolve_generator(generator, seed)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            lin = Linear(n_in, n_out, bias=bias, init=init, zero_bias=zero_bias, dtype=dtype,
                         generator=rng)
            self.append(lin)
            layers.append(lin)
            if i < len(sizes) - 2:
                self.append(make_activation(activation))
        if output == "softmax":
            self.append(Softmax(-1))
        self.layers: list[Linear] = layers
        self.sizes = sizes
        self.activation = activation.strip().lower().replace("-", "_")
        self.output = None if output == "logits" else output
        self.init = init

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture (JSON-friendly)."""
        return {"sizes": list(self.sizes), "activation": self.activation, "output": self.output,
                "init": self.init, "bias": self.layers[0].bias is not None}
