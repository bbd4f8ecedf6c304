"""Central finite differences of the plain-NumPy forward in float64: an oracle for the chains.

For a seeded unit direction v, the directional derivative ∇_θ L · v (θ = x, b1 or W1) is
estimated from L alone — no Jacobian, no autodiff: D(h) = (L(θ + h v) − L(θ − h v)) / 2h,
Richardson-extrapolated R(h) = (4 D(h/2) − D(h)) / 3 (error O(h⁴)).  The estimate's own error
is bounded by |R(h) − R(h/2)| plus the rounding of L (ε·|L|/h), and the tolerance of a check
against it follows from that bound.  Where that bound is large — a relu kink within h of the
point — h shrinks (10⁻³, 10⁻⁵, 10⁻⁷) and the estimate with the smallest bound is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .model import MLPSpec, numpy_forward

__all__ = ["FiniteDifference", "directional_derivative", "PARAMETERS"]

PARAMETERS = ("x", "b1", "W1")
_STEPS = (1e-3, 1e-5, 1e-7)
_GOOD = 1e-10   # an error bound below _GOOD·max(1, |estimate|) needs no smaller step


@dataclass
class FiniteDifference:
    """∇_θ L · v estimated from L alone, with the direction used and an error bound."""

    target: str
    direction: np.ndarray   # unit norm, the shape of θ
    estimate: float
    error: float            # bound on |estimate − true directional derivative|
    h: float

    def tolerance(self) -> float:
        """How far an exact gradient may be from the estimate: 10× its error bound, ≥ 1e-9."""
        return max(10.0 * self.error, 1e-9 * max(1.0, abs(self.estimate)))


def _loss(spec: MLPSpec, x: np.ndarray, y: int, target: str, theta: np.ndarray) -> float:
    """L = −log z^(n)_y by the NumPy forward with x, b1 or W1 replaced by ``theta``."""
    if target == "x":
        x = theta
    elif target == "b1":
        spec = replace(spec, biases=[theta] + list(spec.biases[1:]))
    elif target == "W1":
        spec = replace(spec, weights=[theta] + list(spec.weights[1:]))
    else:
        raise ValueError(f"finite differences: target must be one of {PARAMETERS}, got "
                         f"{target!r}")
    return float(numpy_forward(spec, x[None, :], np.array([y]))["L"][0])


def directional_derivative(spec: MLPSpec, x: np.ndarray, y: int, target: str,
                           seed: int = 0) -> FiniteDifference:
    """∇_θ L · v ≈ R(h) = (4 D(h/2) − D(h)) / 3 with D(h) = (L(θ + hv) − L(θ − hv)) / 2h."""
    theta = {"x": x, "b1": spec.biases[0], "W1": spec.weights[0]}.get(target)
    if theta is None:
        raise ValueError(f"finite differences: the MLP has no {target!r} to perturb")
    theta = np.asarray(theta, np.float64)
    v = np.random.default_rng(seed).standard_normal(theta.shape)
    v /= np.linalg.norm(v)
    L = lambda t: _loss(spec, x, y, target, theta + t * v)
    L0 = abs(L(0.0))

    def central(h: float) -> float:
        return (L(h) - L(-h)) / (2 * h)

    best: FiniteDifference | None = None
    for h in _STEPS:
        d = [central(h / 2**k) for k in range(3)]
        r1, r2 = (4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3
        err = abs(r1 - r2) + np.finfo(np.float64).eps * L0 / (h / 4)
        if best is None or err < best.error:
            best = FiniteDifference(target, v, float(r2), float(err), h)
        if err <= _GOOD * max(1.0, abs(r2)):
            break
    return best
