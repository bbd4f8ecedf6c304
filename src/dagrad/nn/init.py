"""Weight initialisation in place, with PyTorch's names and formulas (``torch.nn.init``).

Every function fills ``tensor.data`` in place and returns the tensor.  Randomness comes from
``generator`` (a ``numpy.random.Generator``), else from ``seed``, else from dagrad's own
generator (``dg.manual_seed``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tensor import STATE, Tensor

__all__ = [
    "resolve_generator",
    "calculate_gain",
    "fan_in_and_fan_out",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "zeros_",
    "ones_",
    "constant_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def resolve_generator(generator: np.random.Generator | None = None,
                      seed: int | None = None) -> np.random.Generator:
    """The generator to draw from: ``generator``, else a new one from ``seed``, else dagrad's."""
    if generator is not None and seed is not None:
        raise ValueError("give generator= or seed=, not both")
    if generator is not None:
        return generator
    if seed is not None:
        return np.random.default_rng(seed)
    return STATE.rng


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain: 1 (linear, sigmoid), 5/3 (tanh), √2 (relu), √(2/(1+a²)) (leaky)."""
    linear = ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): (in·k, out·k)."""
    shape = tuple(np.shape(tensor.data if isinstance(tensor, Tensor) else tensor))
    if len(shape) < 2:
        raise ValueError(f"fan in/out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.data[...] = values.astype(tensor.data.dtype, copy=False)
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: np.random.Generator | None = None, seed: int | None = None) -> Tensor:
    """Fill with samples of U(a, b)."""
    rng = resolve_generator(generator, seed)
    return _fill(tensor, rng.uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: np.random.Generator | None = None, seed: int | None = None) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    rng = resolve_generator(generator, seed)
    return _fill(tensor, mean + std * rng.standard_normal(tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with ``value``."""
    tensor.data[...] = value
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0,
                    generator: np.random.Generator | None = None,
                    seed: int | None = None) -> Tensor:
    """Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator, seed)


def xavier_normal_(tensor: Tensor, gain: float = 1.0,
                   generator: np.random.Generator | None = None,
                   seed: int | None = None) -> Tensor:
    """Glorot normal: N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator, seed)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: np.random.Generator | None = None,
                     seed: int | None = None) -> Tensor:
    """He uniform: U(−b, b) with b = √3·gain/√fan; a=√5 gives PyTorch's Linear: b = 1/√fan_in."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator, seed)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: np.random.Generator | None = None,
                    seed: int | None = None) -> Tensor:
    """He normal: N(0, σ²) with σ = gain/√fan (relu: σ = √(2/fan_in))."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    return normal_(tensor, 0.0, std, generator, seed)


def _phi_cdf(z: float) -> float:
    """Φ(z), the standard normal CDF (±∞ allowed)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: np.random.Generator | None = None,
                  seed: int | None = None) -> Tensor:
    """Fill with samples of N(mean, std²) conditioned on a ≤ x ≤ b (exact, by rejection).

    Proposals: the normal itself when [a, b] holds much of its mass, else uniform on [a, b]
    (a finite interval) or an exponential tail (Robert 1995) beyond a one-sided bound.
    """
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be positive, got {std}")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = resolve_generator(generator, seed)
    lo, hi = (a - mean) / std, (b - mean) / std           # bounds in standard units
    mass = _phi_cdf(hi) - _phi_cdf(lo)
    n = int(np.prod(tensor.shape))
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        if mass >= 0.1:
            z = rng.standard_normal(k)
            ok = (z >= lo) & (z <= hi)
        elif math.isfinite(lo) and math.isfinite(hi):
            z = rng.uniform(lo, hi, k)
            peak = 0.0 if lo <= 0 <= hi else min(lo * lo, hi * hi)   # max of e^(−z²/2)
            ok = rng.random(k) <= np.exp((peak - z * z) / 2)
        else:                                             # one tail beyond |bound| > 1.28
            t = lo if math.isfinite(lo) else -hi          # mirrored so the tail is z ≥ t
            rate = (t + math.sqrt(t * t + 4)) / 2
            z = t + rng.exponential(1 / rate, k)
            ok = rng.random(k) <= np.exp(-((z - rate) ** 2) / 2)
            if not math.isfinite(lo):
                z = -z
        out[todo[ok]] = z[ok]
        todo = todo[~ok]
    return _fill(tensor, np.clip(mean + std * out, a, b).reshape(tensor.shape))
