"""Mini-batches of (inputs, labels) as Tensors, from arrays or from a Dataset (as PyTorch's)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, default_generator

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate"]

_CHUNK = 1 << 20  # values per chunk when computing statistics of non-uint8 data


def _as_matrix(X: np.ndarray) -> np.ndarray:
    """Flatten to (N, D): uint8 pixels stay uint8 (a copy; scaled per batch), others float32."""
    X = np.asarray(X)
    if X.ndim < 1:
        raise ValueError("X must have a leading sample axis")
    flat = X.reshape(len(X), -1)
    if X.dtype == np.uint8:
        return flat.copy()  # 1 byte a value: the float32 batches are made from it per batch
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
    return flat.astype(np.float32)  # always a copy: the loader owns its matrix


def _pixels(rows: np.ndarray, mean: float | None, std: float | None) -> np.ndarray:
    """uint8 rows as float32: v/255, then (v/255 − mean)/std if standardised (fresh memory).

    The same float32 operations, in the same order, as converting the whole matrix up front,
    so every batch holds the bits the former whole-matrix conversion gave.
    """
    out = rows.astype(np.float32)
    out /= np.float32(255)
    if mean is not None:
        out -= np.float32(mean)
        out /= np.float32(std)
    return out


def _leaf(arr: np.ndarray) -> Tensor:
    return Tensor._from_op(arr, None)


class Dataset:
    """A base for map-style datasets (as ``torch.utils.data.Dataset``): define ``__len__`` and
    ``__getitem__(i)`` returning one sample, e.g. ``(x, label)``."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples ``(t_1[i], t_2[i], …)`` of arrays or Tensors sharing their first axis (as
    ``torch.utils.data.TensorDataset``); a DataLoader batches it by slicing, not sample by sample.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one array or tensor")
        self.arrays = tuple(t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors)
        for k, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {k} is 0-d; each needs a sample axis")
        n = {len(a) for a in self.arrays}
        if len(n) != 1:
            raise ValueError(f"TensorDataset: the tensors have different numbers of samples "
                             f"{[len(a) for a in self.arrays]}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, i: Any) -> tuple[Tensor, ...]:
        return tuple(_leaf(np.array(a[i])) for a in self.arrays)


def _stack(items: list[Any], where: str) -> Tensor:
    """One field of a batch: the samples' values stacked along a new first axis (Python ints →
    int64, Python floats → float64, arrays and Tensors keep their dtype, as torch's collate)."""
    first = items[0]
    if isinstance(first, (bool, np.bool_)):
        dtype: Any = np.bool_
    elif isinstance(first, (int, np.integer)) and not isinstance(first, np.generic):
        dtype = np.int64
    elif isinstance(first, float) and not isinstance(first, np.generic):
        dtype = np.float64
    else:
        dtype = None
    arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in items]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"DataLoader: the samples' {where} have different shapes "
                         f"{sorted(shapes)}; they cannot be stacked into one batch")
    out = np.stack(arrays)
    if out.dtype.kind not in "biuf":
        raise TypeError(f"DataLoader: the samples' {where} hold {out.dtype} values; a batch "
                        "holds numbers")
    return _leaf(out if dtype is None else out.astype(dtype, copy=False))


def default_collate(samples: Sequence[Any]) -> Any:
    """A list of samples as one batch: tuples field by field, dicts key by key, each field
    stacked into a Tensor with a new first axis (as ``torch.utils.data.default_collate``)."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("DataLoader: the samples have different numbers of fields")
        return tuple(_stack([s[k] for s in samples], f"field {k}") for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([s[k] for s in samples], f"field {k!r}") for k in first}
    return _stack(list(samples), "values")


def _is_dataset(obj: Any) -> bool:
    return (not isinstance(obj, (np.ndarray, Tensor, list, tuple))
            and hasattr(obj, "__len__") and hasattr(obj, "__getitem__"))


class DataLoader:
    """Iterate over mini-batches as Tensors: ``(xb float32 (B, D), yb int64 (B,))`` of arrays
    ``(X, y)``, or the collated samples of a Dataset (anything with ``__len__`` and
    ``__getitem__``, as PyTorch's ``DataLoader(dataset, batch_size, shuffle)``).

    Arrays: ``X`` is (N, ...) — e.g. uint8 images (N, 28, 28) — flattened to (N, D). uint8
    pixels stay uint8 (a quarter of float32's memory) and each batch is converted when it is
    sliced: divided by 255 so they lie in [0, 1] (and standardised), the same float32 numbers a
    whole-matrix conversion gives; other dtypes are converted to float32 once, up front, and
    taken as they are. Batches are sliced out of the matrix (no per-sample Python).
    With ``standardize=True`` every value becomes ``(x - mean) / std`` with scalar ``mean`` and
    ``std``: pass the *training* set's statistics (``DataLoader.stats(X_train)``, or
    ``train_loader.mean`` / ``.std``) to every loader; when they are omitted they are computed
    from this loader's own ``X`` (right for the training loader only). Giving ``mean`` and
    ``std`` implies standardisation.

    A Dataset: ``dataset[i]`` for each index of a batch, collated by ``collate_fn``
    (:func:`default_collate`: tuples field by field into stacked Tensors); a
    :class:`TensorDataset` is sliced batch by batch instead.

    ``shuffle`` draws a new order every epoch (each ``iter()``) from ``seed`` and the epoch
    number, so a seeded loader repeats the same sequence of epochs; without ``seed`` the seed is
    drawn once, when a shuffling loader is made, from ``generator`` or dagrad's default generator
    (so ``dg.manual_seed`` fixes it). ``shuffle`` defaults to False for a Dataset (PyTorch's
    default) and to True for the ``(X, y)`` form. ``len()`` is the number of batches; ``drop_last``
    drops a final short batch. Batches are fresh memory, safe to modify.
    """

    def __init__(
        self,
        X: Any = None,
        y: Any = None,
        batch_size: int = 1,
        shuffle: bool | None = None,
        seed: int | None = None,
        drop_last: bool = False,
        standardize: bool = False,
        mean: float | None = None,
        std: float | None = None,
        *,
        dataset: Any = None,
        collate_fn: Any = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        if dataset is not None:
            if X is not None:
                raise TypeError("DataLoader: give the data once (X or dataset=)")
            X = dataset
        if X is None:
            raise TypeError("DataLoader: give arrays (X, y) or a dataset")
        if y is not None and _is_dataset(X) and isinstance(y, (int, np.integer)) \
                and not isinstance(y, bool):
            y, batch_size = None, y  # DataLoader(dataset, 64), PyTorch's positional form
        self.dataset: Any = None
        if y is None:
            if not _is_dataset(X):
                raise TypeError(
                    f"DataLoader: {type(X).__name__} is not a Dataset (it needs __len__ and "
                    "__getitem__); give arrays as DataLoader(X, y, batch_size)")
            if standardize or mean is not None or std is not None:
                raise ValueError("DataLoader: standardize/mean/std apply to arrays (X, y); "
                                 "standardise inside the Dataset's __getitem__ instead")
            self.dataset = X
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        if seed is not None and (int(seed) != seed or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        if collate_fn is not None and self.dataset is None:
            raise ValueError("DataLoader: collate_fn applies to a Dataset, not to arrays (X, y)")
        self.batch_size = int(batch_size)
        self.shuffle = bool(self.dataset is None if shuffle is None else shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.epoch = 0
        self.collate_fn = collate_fn or default_collate
        # a shuffling loader without a seed takes one draw from the generator (nothing else does)
        self._entropy = int(seed) if seed is not None else \
            int((generator or default_generator()).integers(0, 2**63 - 1)) if self.shuffle else 0
        self.mean: float | None = None
        self.std: float | None = None
        self._uint8 = False
        if self.dataset is not None:
            return
        y = np.asarray(y.data if isinstance(y, Tensor) else y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be a 1-D integer array, got {y.dtype} {y.shape}")
        if isinstance(X, Tensor):
            X = X.data
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        self._X = _as_matrix(X)
        self._uint8 = self._X.dtype == np.uint8  # kept as bytes, converted batch by batch
        self._y = y.astype(np.int64)
        if standardize or mean is not None:
            if mean is None:
                mean, std = self.stats(X)
            if not std > 0:
                raise ValueError(f"std must be positive, got {std}")
            self.mean, self.std = float(mean), float(std)
            if not self._uint8:
                self._X -= np.float32(self.mean)
                self._X /= np.float32(self.std)

    @staticmethod
    def stats(X: np.ndarray) -> tuple[float, float]:
        """Return (mean, std) of all values of ``X`` as the loader sees them (uint8 / 255)."""
        X = np.asarray(X)
        if X.size == 0:
            raise ValueError("cannot compute statistics of an empty array")
        if X.dtype == np.uint8:  # exact and cheap: a histogram of the 256 pixel values
            flat8 = X.reshape(-1)  # bincount widens to intp: count in chunks, not all at once
            counts = np.zeros(256, dtype=np.float64)
            for i in range(0, flat8.size, _CHUNK):
                counts += np.bincount(flat8[i : i + _CHUNK], minlength=256)
            values = np.arange(256) / 255.0
            mean = float(counts @ values / X.size)
            var = float(counts @ (values - mean) ** 2 / X.size)
            return mean, var**0.5
        flat = X.reshape(-1)
        starts = range(0, flat.size, _CHUNK)
        mean = sum(float(flat[i : i + _CHUNK].sum(dtype=np.float64)) for i in starts) / flat.size
        sq = sum(
            float(((flat[i : i + _CHUNK].astype(np.float64) - mean) ** 2).sum()) for i in starts
        )
        return mean, (sq / flat.size) ** 0.5

    @property
    def num_samples(self) -> int:
        """Number of samples (rows of X, or the Dataset's length)."""
        return len(self.dataset) if self.dataset is not None else len(self._y)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Any]:
        """Start a new epoch: yield its batches, fresh Tensors safe to modify."""
        order = None
        if self.shuffle:
            rng = np.random.default_rng([self._entropy, self.epoch])
            order = rng.permutation(self.num_samples)
        self.epoch += 1
        if self.dataset is None:
            return self._batches(order)
        return self._dataset_batches(order)

    def _spans(self, order: np.ndarray | None) -> Iterator[Any]:
        n = self.num_samples
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min(n, (b + 1) * self.batch_size)
            yield slice(lo, hi) if order is None else order[lo:hi]

    def _batches(self, order: np.ndarray | None) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield the batches of one epoch in ``order`` (None: the data's own order)."""
        X, y, uint8 = self._X, self._y, self._uint8
        for idx in self._spans(order):
            if uint8:  # uint8 rows → float32 (always fresh memory)
                xb = _pixels(X[idx], self.mean, self.std)
            else:
                xb = X[idx].copy() if order is None else X[idx]
            yield _leaf(xb), _leaf(y[idx].copy() if order is None else y[idx])

    def _dataset_batches(self, order: np.ndarray | None) -> Iterator[Any]:
        ds = self.dataset
        for idx in self._spans(order):
            if isinstance(ds, TensorDataset) and self.collate_fn is default_collate:
                yield tuple(_leaf(np.array(a[idx])) for a in ds.arrays)
                continue
            ids = range(idx.start, idx.stop) if isinstance(idx, slice) else idx.tolist()
            yield self.collate_fn([ds[i] for i in ids])
