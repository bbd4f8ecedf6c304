"""The one deliberately independent catalogue of closed forms that the checks compare with.

Nothing here calls an Op's forward, vjp, jvp or edge formula: a named function's value is its
SymPy forward (``Op.symbolic``) lambdified for NumPy, and its derivatives are ``sympy.diff`` of
that forward, lambdified too.  SymPy is imported on first use.  The activations that the checks
need without SymPy (sigmoid, written once in a stable form, tanh, relu, leaky_relu) and their
derivatives are also written out here in NumPy: :data:`WITHOUT_SYMPY`.

At a kink SymPy's conventions hold (``Heaviside(0) = 1/2``, ``sign(0) = 0``); compare away from
kinks, or state the convention (PyTorch: relu'(0) = 0, maximum splits ties evenly).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .catalogue import named_functions

__all__ = ["sympy_forward", "sympy_derivative", "numpy_forward", "numpy_derivative",
           "numpy_functions", "sigmoid", "sigmoid_derivative", "tanh_derivative",
           "WITHOUT_SYMPY", "activation", "activation_derivative"]


def sigmoid(u: Any) -> np.ndarray:
    """σ(u) = 1/(1 + e⁻ᵘ), computed as e^{−|u|}/(1 + e^{−|u|}) for u < 0 (no overflow)."""
    u = np.asarray(u, dtype=np.float64)
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(u: Any) -> np.ndarray:
    """σ'(u) = e⁻ᵘ/(1 + e⁻ᵘ)² = σ(u)(1 − σ(u))."""
    s = sigmoid(u)
    return s * (1.0 - s)


def tanh_derivative(u: Any) -> np.ndarray:
    """tanh'(u) = 1 − tanh²(u)."""
    t = np.tanh(np.asarray(u, dtype=np.float64))
    return 1.0 - t * t


#: Activations written out in NumPy here, usable without SymPy: name -> (φ(u, *attributes),
#: φ'(u, *attributes)).  relu'(0) = 0 and leaky_relu'(0) = slope, as PyTorch.  Every other
#: activation of the table takes its closed forms from SymPy (:func:`numpy_forward`).
WITHOUT_SYMPY: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (lambda u: np.tanh(np.asarray(u, dtype=np.float64)), tanh_derivative),
    "relu": (lambda u: np.maximum(np.asarray(u, dtype=np.float64), 0.0),
             lambda u: (np.asarray(u) > 0).astype(np.float64)),
    "leaky_relu": (lambda u, slope=0.01: np.where(np.asarray(u) > 0, u, slope * np.asarray(u)),
                   lambda u, slope=0.01: np.where(np.asarray(u) > 0, 1.0, slope)),
}


def activation(name: str) -> Callable[..., np.ndarray]:
    """φ(u, *attributes) in NumPy: written out here, else from the Op's SymPy forward."""
    if name in WITHOUT_SYMPY:
        return WITHOUT_SYMPY[name][0]
    return numpy_forward(name)


def activation_derivative(name: str) -> Callable[..., np.ndarray]:
    """φ'(u, *attributes) in NumPy: written out here, else ``sympy.diff`` of the SymPy forward."""
    if name in WITHOUT_SYMPY:
        return WITHOUT_SYMPY[name][1]
    return numpy_derivative(name)


def _exact(value: Any) -> Any:
    """An attribute as an exact SymPy number (0.01 -> 1/100); None stays None."""
    import sympy

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return sympy.Integer(value) if isinstance(value, int) else sympy.Rational(repr(value))


@functools.cache
def sympy_forward(name: str, attributes: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], Any]:
    """(input symbols, f): the SymPy forward on real symbols, attributes given or defaulted."""
    import sympy

    spec = named_functions()[name]
    syms = tuple(sympy.Symbol(n, real=True) for n in spec.op.args)
    attrs = spec.bind((*syms, *attributes))[spec.inputs:]
    return syms, spec.op.symbolic(*syms, *(_exact(a) for a in attrs))


@functools.cache
def sympy_derivative(name: str, wrt: int = 0, attributes: tuple[Any, ...] = ()
                     ) -> tuple[tuple[Any, ...], Any]:
    """(input symbols, ∂f/∂input_wrt) by ``sympy.diff`` of the SymPy forward."""
    import sympy

    syms, f = sympy_forward(name, attributes)
    return syms, sympy.diff(f, syms[wrt])


@functools.cache
def _lambdified(name: str, wrt: int | None, attributes: tuple[Any, ...]) -> Callable[..., Any]:
    import sympy

    if wrt is None:
        syms, expr = sympy_forward(name, attributes)
    else:
        syms, expr = sympy_derivative(name, wrt, attributes)
    return sympy.lambdify(syms, expr, modules="numpy")


def _numpy(name: str, wrt: int | None) -> Callable[..., Any]:
    spec = named_functions()[name]

    def call(*args: Any) -> Any:
        spec.bind(args)  # checks the number of arguments
        inputs = [np.asarray(a) for a in args[:spec.inputs]]
        out = _lambdified(name, wrt, tuple(args[spec.inputs:]))(*inputs)
        shape = np.broadcast_shapes(*(a.shape for a in inputs))
        if np.shape(out) != shape:  # a constant (a slope, 1) fills the shape
            out = np.broadcast_to(np.asarray(out, dtype=np.float64), shape).copy()
        return out

    call.__name__ = call.__qualname__ = name if wrt is None else f"d{name}_d{spec.op.args[wrt]}"
    call.__doc__ = f"{name} from its SymPy forward, lambdified for NumPy"
    return call


def numpy_forward(name: str) -> Callable[..., Any]:
    """f(*inputs, *attributes) in NumPy from the SymPy forward (attributes take defaults)."""
    return _numpy(name, None)


def numpy_derivative(name: str, wrt: int = 0) -> Callable[..., Any]:
    """∂f/∂input_wrt (*inputs, *attributes) in NumPy, from ``sympy.diff`` of the SymPy forward."""
    return _numpy(name, wrt)


def numpy_functions() -> dict[str, Callable[..., Any]]:
    """Every named function of the table in NumPy from its SymPy forward (the parser's oracle)."""
    return {name: numpy_forward(name) for name in named_functions()}
