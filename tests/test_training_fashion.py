"""Training on the real Fashion-MNIST (Debian's dataset-fashion-mnist) through the uint8 path.

The loaders keep the images as uint8 and standardise each batch; these tests check, against
NumPy computations written here, that every batch holds exactly what the former path (the whole
set converted to float32 up front: /255, −mean, /std) held, that the loader holds no float copy,
and that a few Adam steps on those batches lower the loss.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import dagrad as dg
from dagrad import data as dgdata

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
pytestmark = pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                                reason="dataset-fashion-mnist not installed")


def _mean_std(X: np.ndarray) -> tuple[float, float]:
    """Mean and std of X/255 over all values, in float64, two passes over chunks of images."""
    flat = X.reshape(len(X), -1)
    total = sum(float((flat[i:i + 5000] / 255.0).sum()) for i in range(0, len(X), 5000))
    mean = total / flat.size
    sq = sum(float(((flat[i:i + 5000] / 255.0 - mean) ** 2).sum())
             for i in range(0, len(X), 5000))
    return mean, (sq / flat.size) ** 0.5


def _former(rows: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The former whole-matrix conversion, restricted to these rows."""
    out = rows.reshape(len(rows), -1).astype(np.float32)
    out /= np.float32(255)
    out -= np.float32(mean)
    out /= np.float32(std)
    return out


@pytest.fixture(scope="module")
def train_set():
    return dgdata.load_fashion_mnist("train", root=DEBIAN_FASHION, download=False)


def test_uint8_batches_equal_the_float_path_and_training_learns(train_set):
    X, y = train_set
    assert X.dtype == np.uint8 and X.shape == (60000, 28, 28)
    mean, std = _mean_std(X)
    tracemalloc.start()
    try:
        # labels = row numbers, so each batch says which rows it took
        loader = dgdata.DataLoader(X, np.arange(len(X)), batch_size=128, shuffle=True, seed=0,
                                   standardize=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * X.nbytes  # a float32 copy alone would be 4 × X.nbytes
    assert loader.mean == pytest.approx(mean, rel=1e-12)
    assert loader.std == pytest.approx(std, rel=1e-12)
    assert abs(mean - 0.286) < 0.001 and abs(std - 0.353) < 0.001  # Fashion-MNIST's figures

    model = dg.nn.MLP([784, 256, 256, 10], activation="tanh", seed=0)
    opt = dg.optim.Adam(model.parameters(), lr=1e-3)
    held = _former(X[-512:], loader.mean, loader.std)

    def held_loss() -> float:
        with dg.no_grad():
            return float(dg.nn.functional.cross_entropy(model(dg.Tensor(held)), y[-512:]).data)

    before, seen = held_loss(), set()
    for b, (xb, rows) in enumerate(loader):
        rows = rows.data
        assert xb.data.dtype == np.float32 and xb.shape == (128, 784)
        np.testing.assert_array_equal(xb.data, _former(X[rows], loader.mean, loader.std))
        seen.update(rows.tolist())
        loss = dg.nn.functional.cross_entropy(model(xb), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if b == 39:
            break
    assert len(seen) == 40 * 128  # shuffled without repeats
    assert held_loss() < 0.6 * before  # ~2.3 → below ~1 after 40 steps


def test_test_split_loader_and_evaluate_cli_batches_equal_the_float_path(train_set):
    from dagrad.training.run import eval_loader

    Xte, yte = dgdata.load_fashion_mnist("test", root=DEBIAN_FASHION, download=False)
    mean, std = _mean_std(train_set[0])
    cfg = {"mean": mean, "std": std}
    got = np.concatenate([xb.data for xb, _ in eval_loader(Xte, yte, cfg)])
    np.testing.assert_array_equal(got, _former(Xte, mean, std))
    labels = np.concatenate([yb.data for _, yb in eval_loader(Xte, yte, cfg)])
    np.testing.assert_array_equal(labels, yte)
    plain = np.concatenate([xb.data for xb, _ in eval_loader(Xte, yte, {})])
    np.testing.assert_array_equal(plain, Xte.reshape(len(Xte), -1).astype(np.float32)
                                  / np.float32(255))
