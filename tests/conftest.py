"""Shared test helpers: PyTorch as the oracle, finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

import dagrad as dg

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _default_dtype():
    """Every test starts from float32 as the default dtype, and restores it."""
    prev = dg.get_default_dtype()
    dg.set_default_dtype("float32")
    yield
    dg.set_default_dtype(prev)


def to_torch(x, requires_grad=True):
    """A float64/float32 torch leaf with the same values as a dagrad tensor or array."""
    arr = np.array(x.data if isinstance(x, dg.Tensor) else x)
    t = torch.from_numpy(arr)
    if requires_grad and t.dtype.is_floating_point:
        t.requires_grad_(True)
    return t


def numeric_grad(f, arrays, k, eps=1e-6):
    """Central differences of the scalar f(*arrays) w.r.t. arrays[k] (float64)."""
    xs = [np.array(a, dtype=np.float64) for a in arrays]
    g = np.zeros_like(xs[k])
    flat, gflat = xs[k].reshape(-1), g.reshape(-1)
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + eps
        hi = float(f(*xs))
        flat[j] = orig - eps
        lo = float(f(*xs))
        flat[j] = orig
        gflat[j] = (hi - lo) / (2 * eps)
    return g


def fuzz_examples(n: int) -> int:
    """Hypothesis example counts scaled by $DAGRAD_FUZZ_SCALE (scripts/reliability.py)."""
    import os

    return max(1, int(n * float(os.environ.get("DAGRAD_FUZZ_SCALE", "1"))))
