"""The shared workload: MLP 784-256-256-10 (tanh), its initial weights, and MNIST batches."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

SIZES = (784, 256, 256, 10)
LR = 0.01
SAMPLE_FILE = "mnist10k.npz"


def init_params(dtype=np.float32, seed: int = 0, sizes=SIZES) -> list[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3], W of shape (out, in), uniform ±1/√in (torch.nn.Linear's rule)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1.0 / np.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype))
        params.append(rng.uniform(-bound, bound, (n_out,)).astype(dtype))
    return params


def gemm_cases(batch: int, sizes=SIZES) -> list[dict[str, Any]]:
    """The GEMMs C (m×n) = A (m×k) · B (k×n) of one SGD training step of the MLP, in order.

    Forward: a_l = a_{l−1} W_lᵀ (B×in · in×out) for every layer; backward: ∇W_l = g_lᵀ a_{l−1}
    (out×B · B×in) for every layer and g_{l−1} = g_l W_l (B×out · out×in) for every layer but
    the first, whose input (the data) needs no gradient.
    """
    layers = list(zip(sizes[:-1], sizes[1:], strict=True))
    cases = [{"gemm": f"forward, layer {i}", "m": batch, "k": n_in, "n": n_out}
             for i, (n_in, n_out) in enumerate(layers, 1)]
    for i in range(len(layers), 0, -1):
        n_in, n_out = layers[i - 1]
        cases.append({"gemm": f"weight gradient, layer {i}", "m": n_out, "k": batch, "n": n_in})
        if i > 1:
            cases.append({"gemm": f"input gradient, layer {i}", "m": batch, "k": n_out,
                          "n": n_in})
    return cases


def flops_per_step(batch: int, sizes=SIZES) -> int:
    """GEMM FLOPs of one training step: Σ 2·m·k·n over ``gemm_cases``."""
    return sum(2 * c["m"] * c["k"] * c["n"] for c in gemm_cases(batch, sizes))


def _sample_path() -> Path | None:
    """The embedded sample's file, found without importing dagrad."""
    spec = importlib.util.find_spec("dagrad")
    roots = list(spec.submodule_search_locations or []) if spec else []
    roots.append(str(Path(__file__).resolve().parents[1] / "src" / "dagrad"))
    for root in roots:
        path = Path(root) / "data" / SAMPLE_FILE
        if path.is_file():
            return path
    return None


def load_images(use_dagrad: bool = True) -> tuple[np.ndarray, np.ndarray, str]:
    """(images uint8 (N, 784), labels int64 (N,), where they came from)."""
    if use_dagrad:
        try:
            import dagrad.data

            images, labels = dagrad.data.load_sample("train")
            return images.reshape(len(images), -1), labels.astype(np.int64), "dagrad.data." \
                "load_sample('train')"
        except (ImportError, AttributeError):
            pass
    path = _sample_path()
    if path is not None:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"].astype(np.int64)
        return images.reshape(len(images), -1), labels, f"{os.path.basename(path)} (all 10,000)"
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (10000, 784), dtype=np.uint8),
            rng.integers(0, 10, 10000).astype(np.int64), "random data (no MNIST sample found)")


def as_float(v) -> float:
    """A backend's scalar (dagrad/torch/JAX/NumPy) as a Python float, without a warning."""
    return float(v.item() if hasattr(v, "item") else v)


def batch(n: int, dtype=np.float32, use_dagrad: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The first n images scaled to [0, 1] in ``dtype``, and their labels."""
    images, labels, _ = load_images(use_dagrad)
    return (images[:n] / np.asarray(255, dtype)).astype(dtype), labels[:n].copy()
