"""Datasets: IDX files, MNIST / Fashion-MNIST, the embedded 10,000-digit sample, batching.

Every loader returns ``(images uint8 (N, 28, 28), labels int64 (N,))``.
"""

from __future__ import annotations

import os

import numpy as np

from .idx import read_idx, read_idx_header, write_idx
from .loader import DataLoader, Dataset, TensorDataset, default_collate
from .mnist import DatasetUnavailable, load_fashion_mnist, load_mnist
from .sample import load_sample

__all__ = [
    "read_idx",
    "read_idx_header",
    "write_idx",
    "load_sample",
    "load_mnist",
    "load_fashion_mnist",
    "load_dataset",
    "DataLoader",
    "Dataset",
    "TensorDataset",
    "default_collate",
    "DatasetUnavailable",
    "DATASETS",
]

#: Names accepted by ``load_dataset``.
DATASETS = ("sample", "mnist", "fashion-mnist")


def load_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load ``split`` of "sample", "mnist" or "fashion-mnist" (root/download: IDX datasets)."""
    key = name.strip().lower().replace("_", "-")
    if key == "sample":
        if root is not None:
            raise ValueError(f"root={os.fspath(root)!r} applies to the IDX datasets (mnist, "
                             "fashion-mnist); the sample is embedded in dagrad")
        return load_sample(split)
    if key == "mnist":
        return load_mnist(split, root=root, download=download)
    if key == "fashion-mnist":
        return load_fashion_mnist(split, root=root, download=download)
    raise ValueError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)}")
