"""Hostile checkpoints, .npz and IDX files are refused by their headers, in bounded memory.

The builders here write each hostile file from scratch (zip entries, .npy headers, IDX headers,
gzip streams); scripts/reliability.py uses the same builders. Memory is measured with
tracemalloc (NumPy reports its buffers to it): every refusal must happen before the data it
declares is inflated or allocated. No test touches the network.
"""

from __future__ import annotations

import gzip
import io
import struct
import tracemalloc
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

import dagrad as dg
from dagrad import atomic
from dagrad.data import load_dataset, load_fashion_mnist, load_mnist, mnist, read_idx
from dagrad.training.checkpoint import (
    config_parameter_shapes,
    load_checkpoint,
    save_checkpoint,
)
from dagrad.training.run import build_model, model_from_checkpoint, resolve_config

MiB = 2**20
#: Most memory any refusal here may trace (the files declare hundreds of MiB to GiB).
BOUND = 8 * MiB


# ------------------------------------------------------------------------------ builders
def npy_header(shape: tuple[int, ...], dtype: str | np.dtype) -> bytes:
    """A version 1.0 ``.npy`` header declaring ``shape`` and ``dtype``."""
    out = io.BytesIO()
    npy_format.write_array_header_1_0(out, {"descr": npy_format.dtype_to_descr(np.dtype(dtype)),
                                            "fortran_order": False, "shape": shape})
    return out.getvalue()


def add_member(path: Path, name: str, header: bytes, data_bytes: int,
               compress: bool = True) -> None:
    """Append a member: ``header`` then ``data_bytes`` zero bytes, deflated as it streams."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "a", compression=method, compresslevel=1) as zf, \
            zf.open(name, "w", force_zip64=True) as f:
        f.write(header)
        zeros = bytes(min(data_bytes, 16 * MiB))
        left = data_bytes
        while left:
            n = min(left, len(zeros))
            f.write(zeros[:n])
            left -= n


def good_checkpoint(path: Path, config: dict | None = None, input_dim: int = 4) -> Path:
    """A small real checkpoint of an ``input_dim``-3-2 `dagrad train` MLP."""
    cfg = {"input_dim": input_dim, "hidden": [3], "num_classes": 2, **(config or {})}
    model = dg.nn.MLP([input_dim, 3, 2], seed=0)
    save_checkpoint(path, model.state_dict(), config=cfg)
    return path


def checkpoint_with_extra_member(path: Path, nbytes: int) -> Path:
    """A good checkpoint plus a member 'junk' of ``nbytes`` zeros (deflated: ~nbytes/1000)."""
    good_checkpoint(path)
    add_member(path, "junk.npy", npy_header((nbytes,), np.uint8), nbytes)
    return path


def checkpoint_with_hidden(path: Path, hidden: list[int], input_dim: int = 784) -> Path:
    """A good checkpoint whose config claims other hidden layers than the stored weights."""
    return good_checkpoint(path, {"hidden": hidden}, input_dim)


def checkpoint_with_huge_weight(path: Path, shape: tuple[int, ...]) -> Path:
    """A checkpoint whose 'model.0.weight' really holds ``shape`` float32 zeros (deflated)."""
    arrays = dict(np.load(good_checkpoint(path), allow_pickle=False))
    arrays.pop("model.0.weight")
    np.savez(path, **arrays)
    add_member(path, "model.0.weight.npy", npy_header(shape, np.float32),
               int(np.prod(shape)) * 4)
    return path


def checkpoint_lying_header(path: Path, shape: tuple[int, ...]) -> Path:
    """'model.0.weight' declares ``shape`` in its .npy header but holds 12 floats of data."""
    arrays = dict(np.load(good_checkpoint(path), allow_pickle=False))
    arrays.pop("model.0.weight")
    np.savez(path, **arrays)
    add_member(path, "model.0.weight.npy", npy_header(shape, np.float32), 12 * 4)
    return path


def zip_of_non_npy(path: Path) -> Path:
    """A zip whose members are not .npy files (np.load hands them back as bytes)."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("format", b"dagrad-checkpoint-1")
        zf.writestr("model.0.weight", b"\x00" * 48)
    return path


def checkpoint_with_member(path: Path, key: str, value: np.ndarray) -> Path:
    """A good checkpoint with one member replaced (np.savez, as an attacker would)."""
    arrays = dict(np.load(good_checkpoint(path), allow_pickle=False))
    arrays[key] = value
    np.savez(path, **arrays)
    return path


def idx_header(dtype_code: int, shape: tuple[int, ...]) -> bytes:
    """An IDX header: two zero bytes, type code, ndim, big-endian uint32 sizes."""
    return bytes([0, 0, dtype_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def gzip_stream(path: Path, header: bytes, zero_bytes: int, tail: bytes = b"") -> Path:
    """A gzip file of ``header``, ``zero_bytes`` zeros, then ``tail`` (streamed, level 1)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1,
                                                mtime=0) as f:
        f.write(header)
        zeros = bytes(min(max(zero_bytes, 1), 16 * MiB))
        left = zero_bytes
        while left:
            n = min(left, len(zeros))
            f.write(zeros[:n])
            left -= n
        f.write(tail)
    return path


def idx_split(folder: Path, n_images: int, n_labels: int, image_bytes: int | None = None,
              prefix: str = "train") -> tuple[Path, Path]:
    """Images claiming ``n_images`` (holding ``image_bytes`` zeros) and ``n_labels`` labels."""
    folder.mkdir(parents=True, exist_ok=True)
    images = gzip_stream(folder / f"{prefix}-images-idx3-ubyte.gz",
                         idx_header(0x08, (n_images, 28, 28)),
                         n_images * 784 if image_bytes is None else image_bytes)
    labels = gzip_stream(folder / f"{prefix}-labels-idx1-ubyte.gz",
                         idx_header(0x08, (n_labels,)), n_labels)
    return images, labels


@contextmanager
def traced() -> Iterator[dict[str, int]]:
    """Measure the peak of traced allocations (Python objects and NumPy buffers) inside."""
    box: dict[str, int] = {}
    tracemalloc.start()
    try:
        yield box
    finally:
        box["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def refused(fn: Callable[[], object], error: type[BaseException] = ValueError
            ) -> tuple[str, int]:
    """(message of the ``error`` that ``fn`` raised, traced peak bytes while it ran).

    Whatever else happens comes back as a message the tests' comparisons reject, after the
    peak (measured either way) has been checked.
    """
    with traced() as mem:
        try:
            fn()
        except error as exc:
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported as a mismatching message
            message = f"<{type(exc).__name__} instead of {error.__name__}: {exc}>"
        else:
            message = "<not refused>"
    return message, mem["peak"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """No download can happen here: the opener fails the test, the cache is private."""
    def fail(url, *args, **kwargs):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(mnist, "_urlopen", fail)
    monkeypatch.setenv("DAGRAD_DATA", str(tmp_path / "cache"))
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion-mnist", ())
    monkeypatch.setattr(urllib.request, "urlopen", fail, raising=False)


# ---------------------------------------------------------------------------- checkpoints
def test_extra_deflated_member_is_refused_without_inflating_it(tmp_path):
    path = checkpoint_with_extra_member(tmp_path / "extra.npz", 256 * MiB)
    assert path.stat().st_size < 2 * MiB  # the 256 MiB member deflates to a few hundred KiB
    message, peak = refused(lambda: load_checkpoint(path))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message.startswith(f"{path}: unexpected member 'junk.npy' (256.0 MiB declared)")
    assert "refused without reading it" in message


def test_config_with_huge_hidden_layer_is_refused_before_any_allocation(tmp_path):
    path = checkpoint_with_hidden(tmp_path / "hidden.npz", [400000])  # 1.2 GiB of float32
    # what `dagrad evaluate` and `dagrad train --resume` do with a checkpoint
    message, peak = refused(lambda: model_from_checkpoint(load_checkpoint(path)))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message.startswith(f"{path}: its config describes an MLP [784, 400000, 2] that "
                              "does not match the stored parameters: ")
    assert "model.0.weight is float32 (3, 784), the config says float32 (400000, 784)" in message


def test_member_larger_than_the_limit_is_refused_before_reading(tmp_path):
    path = checkpoint_with_huge_weight(tmp_path / "big.npz", (3, 2**24))  # 192 MiB of float32
    message, peak = refused(lambda: load_checkpoint(path, max_bytes=16 * MiB))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message.startswith(f"{path}: its arrays declare ")
    assert "above the limit of 16.0 MiB" in message
    assert "member 'model.0.weight.npy': float32 (3, 16777216), 192.0 MiB" in message


def test_header_that_lies_about_its_size_is_refused(tmp_path):
    path = checkpoint_lying_header(tmp_path / "lie.npz", (100000, 100000))
    message, peak = refused(lambda: load_checkpoint(path))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message.startswith(f"{path}: member 'model.0.weight.npy': declares float32 "
                              "(100000, 100000), 37.3 GiB of data but its zip entry holds 48 "
                              "bytes after the")


def test_zip_of_non_npy_members_is_refused_by_name(tmp_path):
    path = zip_of_non_npy(tmp_path / "plain.zip")
    message, _ = refused(lambda: load_checkpoint(path))
    assert message == (f"{path}: member 'format' is not a NumPy .npy array (an .npz holds "
                       "only .npy members)")
    message, _ = refused(lambda: atomic.load_npz(path))
    assert message.startswith(f"{path}: member 'format' is not a NumPy .npy array")


@pytest.mark.parametrize("key, value, expected", [
    ("model.0.weight", np.zeros((3, 4), np.int32),
     "member 'model.0.weight.npy' must hold floats, its header declares int32 (3, 4)"),
    ("rng", np.zeros(6, np.float64),
     "member 'rng.npy' must hold 6 uint64, its header declares float64 (6,)"),
    ("epoch", np.array([1, 2]),
     "member 'epoch.npy' must hold a non-negative integer, its header declares int64 (2,)"),
    ("config", np.array(7),
     "member 'config.npy' must hold a JSON string, its header declares int64 ()"),
    ("optim.state.0.m", np.array(["x"]),
     "member 'optim.state.0.m.npy' must hold numbers, its header declares <U1 (1,)"),
])
def test_wrong_dtypes_are_refused_naming_the_member(tmp_path, key, value, expected):
    path = checkpoint_with_member(tmp_path / "dtype.npz", key, value)
    message, _ = refused(lambda: load_checkpoint(path))
    assert message == f"{path}: {expected}"


def test_object_member_is_refused_without_unpickling(tmp_path):
    path = checkpoint_with_member(tmp_path / "obj.npz", "optim.state.0.m",
                                  np.array([{"a": 1}], dtype=object))
    message, _ = refused(lambda: load_checkpoint(path))
    assert message == (f"{path}: member 'optim.state.0.m.npy': holds object arrays (dtype "
                       "object), refused: loading them would need pickle")


@pytest.mark.parametrize("cut", [0.25, 0.5, 0.9, 0.999])
def test_truncated_checkpoints_are_value_errors_naming_the_file(tmp_path, cut):
    good = good_checkpoint(tmp_path / "good.npz")
    blob = good.read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(blob[: int(len(blob) * cut)])
    message, _ = refused(lambda: load_checkpoint(path))
    assert message.startswith(f"{path}: ")


def test_truncated_member_data_is_refused_naming_the_member(tmp_path):
    """A member whose deflate stream ends early (the zip directory still intact)."""
    path = tmp_path / "short.npz"
    good_checkpoint(path)
    arrays = dict(np.load(path, allow_pickle=False))
    weight = arrays.pop("model.0.weight")
    np.savez(path, **arrays)
    header = npy_header(weight.shape, weight.dtype)
    deflater = zlib.compressobj(1, zlib.DEFLATED, -15)
    stream = deflater.compress(header + weight.tobytes()) + deflater.flush()
    info = zipfile.ZipInfo("model.0.weight.npy")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, header + weight.tobytes())
    blob = bytearray(path.read_bytes())
    start = blob.rfind(stream[:16])  # the member's deflate stream, found by its first bytes
    assert start > 0
    blob[start + len(stream) - 4:start + len(stream)] = bytes(4)  # damage its tail
    path.write_bytes(bytes(blob))
    message, _ = refused(lambda: load_checkpoint(path))
    assert message.startswith(f"{path}: member 'model.0.weight.npy': ")


def test_good_checkpoint_still_loads_and_matches(tmp_path):
    path = good_checkpoint(tmp_path / "good.npz")
    ck = load_checkpoint(path)
    model = model_from_checkpoint(ck)
    for k, v in dg.nn.MLP([4, 3, 2], seed=0).state_dict().items():
        np.testing.assert_array_equal(np.asarray(model.state_dict()[k]), np.asarray(v))
    assert ck.config["hidden"] == [3]


@pytest.mark.parametrize("config", [
    {}, {"hidden": [7]}, {"input_dim": 5, "hidden": [6, 4], "num_classes": 3},
    {"hidden": [], "dtype": "float64"}, {"hidden": [2, 2, 2]},
])
def test_config_shapes_equal_the_model_train_builds(config):
    """checkpoint.py's arithmetic stays the layout of run.build_model (no drift)."""
    built = build_model(resolve_config(config)).state_dict()
    expected = {k: (tuple(v.shape), str(np.asarray(v).dtype)) for k, v in built.items()}
    assert config_parameter_shapes(config) == expected


def test_load_npz_reads_fortran_order_and_budget(tmp_path):
    path = tmp_path / "f.npz"
    a = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.savez(path, a=a, b=np.arange(5, dtype=">i4"))
    out = atomic.load_npz(path)
    np.testing.assert_array_equal(out["a"], a)
    np.testing.assert_array_equal(out["b"], np.arange(5))
    with pytest.raises(ValueError, match=r"above the limit of 100 bytes"):
        atomic.load_npz(path, max_bytes=100)


# ------------------------------------------------------------------------------ IDX files
def test_gzip_claiming_millions_of_images_is_refused_by_the_label_count(tmp_path):
    """The images' header claims 200,000 images (157 MiB, deflated ~150 KiB); labels say 10."""
    root = tmp_path / "root"
    images, labels = idx_split(root, 200_000, 10)
    message, peak = refused(lambda: load_mnist("train", root=root))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message == (f"{images} has 200000 images but {labels} has 10 labels (as their "
                       "headers declare; nothing else was read)")


def test_idx_header_above_the_limit_is_refused_before_inflating(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_stream(path, idx_header(0x08, (2_000_000, 28, 28)), 10 * MiB)  # claims 1.5 GiB
    message, peak = refused(lambda: read_idx(path))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message == (f"{path}: its header declares uint8 data of shape (2000000, 28, 28) "
                       "(1.5 GiB), above the limit of 1.0 GiB (max_bytes); refused before "
                       "reading the data")


def test_matching_counts_above_the_limit_are_refused_before_reading(tmp_path):
    root = tmp_path / "root"
    images, _ = idx_split(root, 20_000, 20_000, image_bytes=0)
    with traced() as mem, pytest.raises(ValueError) as info:
        mnist._load("mnist", "train", root, False, None, max_bytes=4 * MiB)
    assert mem["peak"] < BOUND, f"traced peak {mem['peak'] / MiB:.1f} MiB"
    assert str(info.value).startswith(f"{images}: its header declares 20,000 images (15.0 MiB")


def test_gzip_with_trailing_data_stops_reading_at_the_declared_size(tmp_path):
    """10 images declared, then 256 MiB more zeros: refused after at most 1 MiB past the end."""
    path = gzip_stream(tmp_path / "t-idx3-ubyte.gz", idx_header(0x08, (10, 28, 28)),
                       10 * 784 + 256 * MiB)
    message, peak = refused(lambda: read_idx(path))
    assert peak < BOUND, f"traced peak {peak / MiB:.1f} MiB"
    assert message == (f"{path}: trailing bytes: expected 7840 bytes of data after the 16-byte "
                       f"header (7856 in all), found more than {7840 + MiB} (more than "
                       f"{MiB} extra; stopped reading there)")


def test_gzip_with_too_little_data_names_the_file(tmp_path):
    path = gzip_stream(tmp_path / "t-idx3-ubyte.gz", idx_header(0x08, (10, 28, 28)), 7000)
    message, _ = refused(lambda: read_idx(path))
    assert message == (f"{path}: truncated: expected 7840 bytes of data after the 16-byte "
                       "header (7856 in all), found 7000")


def test_idx_multibyte_types_round_trip_native(tmp_path):
    path = tmp_path / "x.idx"
    raw = idx_header(0x0C, (2, 3)) + np.arange(6, dtype=">i4").tobytes()
    path.write_bytes(raw)
    out = read_idx(path)
    assert out.dtype == np.dtype(np.int32) and out.dtype.isnative
    np.testing.assert_array_equal(out, np.arange(6).reshape(2, 3))


# ------------------------------------------------------------------------- explicit roots
@pytest.mark.parametrize("loader, title", [(load_fashion_mnist, "Fashion-MNIST"),
                                           (load_mnist, "MNIST")])
def test_root_that_is_a_file_is_an_error_naming_it(tmp_path, loader, title):
    not_a_folder = tmp_path / "passwd"
    not_a_folder.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(FileNotFoundError) as info:
        loader("train", root=not_a_folder)
    assert str(info.value).startswith(
        f"{not_a_folder}: is not a folder; root= must be a folder holding {title}'s "
        "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]")


def test_root_that_does_not_exist_is_an_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=r"nowhere: does not exist; root= must be"):
        load_fashion_mnist("test", root=missing)


def test_root_without_the_files_does_not_fall_through(tmp_path):
    """Even with the split in the cache, a wrong explicit root is an error."""
    cache = Path(mnist.cache_dir("mnist"))
    idx_split(cache, 5, 5, prefix="t10k")
    assert load_mnist("test")[0].shape == (5, 28, 28)  # the implicit search finds the cache
    root = tmp_path / "root"
    root.mkdir()
    (root / "t10k-images-idx3-ubyte.gz").write_bytes(
        (cache / "t10k-images-idx3-ubyte.gz").read_bytes())
    with pytest.raises(FileNotFoundError) as info:
        load_mnist("test", root=root)
    assert str(info.value) == (
        f"{root}: no MNIST test split: expected t10k-images-idx3-ubyte[.gz] and "
        f"t10k-labels-idx1-ubyte[.gz] in {root} or {root / 'mnist'}; found only "
        f"{root / 't10k-images-idx3-ubyte.gz'}")


def test_root_for_the_embedded_sample_is_refused(tmp_path):
    with pytest.raises(ValueError, match="applies to the IDX datasets"):
        load_dataset("sample", "train", root=tmp_path)


def test_no_download_from_tests():
    with pytest.raises(AssertionError, match="tried to download"):
        mnist._urlopen("https://example.invalid/x")
