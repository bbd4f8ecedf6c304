"""The op table's named functions as users call them: ``exp(x)``, ``leaky_relu(x, 0.1)``.

Every elementwise :class:`~dagrad.ops.Op` with a SymPy forward (``symbolic``) whose public
function ``dagrad.ops.<name>`` exists is a named function here, except the ops spelled with
operators (``+ - * / **`` and unary ``-``) and ``cast`` (its attribute is a dtype, not a number).
Its inputs are the Op's ``args``; the public function's further parameters are the Op's
attributes (numbers, in the order the forward and the SymPy forward take them), with the
public function's defaults.  The parser, its NumPy and SymPy namespaces, the closed forms of
the checks and every list of named activations are built from :func:`named_functions`, so a
new table entry is a function and an activation everywhere with no further code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["OPERATOR_OPS", "NOT_NAMED", "REQUIRED", "NamedFunction", "named_functions",
           "activation_names"]

#: Table ops that the expression language reaches by operators, never by name.
OPERATOR_OPS = frozenset({"add", "sub", "mul", "div", "neg", "pow", "powi"})
#: Elementwise ops with a SymPy forward that are no number functions.
NOT_NAMED = frozenset({"cast"})
#: The default of an attribute that must be given.
REQUIRED: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class NamedFunction:
    """One named elementwise function: its Op, its public function and its call signature."""

    name: str
    op: Any  # dagrad.ops.Op
    call: Callable[..., Any]  # the public function, dagrad.ops.<name>
    inputs: int  # tensor arguments (the Op's args)
    attributes: tuple[str, ...]  # further (number) parameters of the public function
    defaults: tuple[Any, ...]  # their defaults (REQUIRED where none)

    @property
    def min_args(self) -> int:
        """Fewest positional arguments: the inputs and the attributes without a default."""
        return self.inputs + sum(d is REQUIRED for d in self.defaults)

    @property
    def max_args(self) -> int:
        """Most positional arguments: the inputs and every attribute."""
        return self.inputs + len(self.attributes)

    def bind(self, args: tuple[Any, ...], number: Callable[[Any], Any] = lambda v: v
             ) -> tuple[Any, ...]:
        """The arguments completed with the attributes' defaults (each passed through number)."""
        if not self.min_args <= len(args) <= self.max_args:
            raise TypeError(f"{self.name}() takes {self.min_args} to {self.max_args} arguments, "
                            f"got {len(args)}")
        missing = self.defaults[len(args) - self.inputs:]
        return (*args, *(number(d) for d in missing))


def _named(op: Any, ops_module: Any) -> NamedFunction | None:
    if (not op.elementwise or op.symbolic is None or op.variadic or op.name in OPERATOR_OPS
            or op.name in NOT_NAMED):
        return None
    call = getattr(ops_module, op.name, None)
    if not callable(call):
        return None
    params = list(inspect.signature(call).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    inputs = len(op.args)
    if len(positional) < inputs:
        return None
    extra = positional[inputs:]
    return NamedFunction(op.name, op, call, inputs, tuple(p.name for p in extra),
                         tuple(p.default for p in extra))


@functools.lru_cache(maxsize=1)
def named_functions() -> Mapping[str, NamedFunction]:
    """Name -> :class:`NamedFunction` for every named elementwise op of the table (table order)."""
    from . import ops

    found = (_named(op, ops) for op in ops.OPS.values())
    return MappingProxyType({f.name: f for f in found if f is not None})


def activation_names() -> tuple[str, ...]:
    """The named activations: the named functions of one input whose attributes all default to
    numbers, so ``name(x)`` means one function (``tanh``, ``leaky_relu``; not ``clamp``)."""
    return tuple(name for name, f in named_functions().items()
                 if f.inputs == 1 and all(isinstance(d, (int, float)) for d in f.defaults))
