"""Mini-batches of (images, labels) as plain NumPy arrays."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["DataLoader"]

_CHUNK = 1 << 20  # values per chunk when computing statistics of non-uint8 data


def _as_matrix(X: np.ndarray) -> np.ndarray:
    """Flatten to (N, D) float32; uint8 pixels are scaled to [0, 1] by 1/255."""
    X = np.asarray(X)
    if X.ndim < 1:
        raise ValueError("X must have a leading sample axis")
    flat = X.reshape(len(X), -1)
    if X.dtype == np.uint8:
        out = flat.astype(np.float32)
        out /= np.float32(255)
        return out
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
    return flat.astype(np.float32)  # always a copy: the loader owns its matrix


class DataLoader:
    """Iterate over ``(xb float32 (B, D), yb int64 (B,))`` mini-batches of ``(X, y)``.

    ``X`` is (N, ...) — e.g. uint8 images (N, 28, 28) — flattened to (N, D) and converted
    to float32 once, up front; uint8 pixels are divided by 255 so they lie in [0, 1], other
    dtypes are taken as they are. With ``standardize=True`` every value becomes
    ``(x - mean) / std`` with scalar ``mean`` and ``std``: pass the *training* set's
    statistics (``DataLoader.stats(X_train)``, or ``train_loader.mean`` / ``.std``) to
    every loader; when they are omitted they are computed from this loader's own ``X``
    (right for the training loader only). Giving ``mean`` and ``std`` implies
    standardisation. ``shuffle`` draws a new order every epoch (each ``iter()``) from
    ``seed`` and the epoch number, so a seeded loader repeats the same sequence of epochs.
    ``len()`` is the number of batches; ``drop_last`` drops a final short batch.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        standardize: bool = False,
        mean: float | None = None,
        std: float | None = None,
    ) -> None:
        y = np.asarray(y)
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be a 1-D integer array, got {y.dtype} {y.shape}")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std, or neither")
        if seed is not None and (int(seed) != seed or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.epoch = 0
        self._entropy = int(seed) if seed is not None else np.random.SeedSequence().entropy
        self._X = _as_matrix(X)
        self._y = y.astype(np.int64)
        self.mean: float | None = None
        self.std: float | None = None
        if standardize or mean is not None:
            if mean is None:
                mean, std = self.stats(X)
            if not std > 0:
                raise ValueError(f"std must be positive, got {std}")
            self.mean, self.std = float(mean), float(std)
            self._X -= np.float32(self.mean)
            self._X /= np.float32(self.std)

    @staticmethod
    def stats(X: np.ndarray) -> tuple[float, float]:
        """Return (mean, std) of all values of ``X`` as the loader sees them (uint8 / 255)."""
        X = np.asarray(X)
        if X.size == 0:
            raise ValueError("cannot compute statistics of an empty array")
        if X.dtype == np.uint8:  # exact and cheap: a histogram of the 256 pixel values
            counts = np.bincount(X.ravel(), minlength=256).astype(np.float64)
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
        """Number of samples (rows of X)."""
        return len(self._y)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Start a new epoch: yield its (xb, yb) batches, fresh arrays safe to modify."""
        order = None
        if self.shuffle:
            rng = np.random.default_rng([self._entropy, self.epoch])
            order = rng.permutation(self.num_samples)
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield the batches of one epoch in ``order`` (None: the data's own order)."""
        n = self.num_samples
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min(n, (b + 1) * self.batch_size)
            if order is None:
                yield self._X[lo:hi].copy(), self._y[lo:hi].copy()
            else:
                idx = order[lo:hi]
                yield self._X[idx], self._y[idx]
