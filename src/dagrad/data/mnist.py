"""MNIST and Fashion-MNIST from the standard IDX files: local folders, cache, or mirrors.

A split's two files are ``<prefix>-images-idx3-ubyte[.gz]`` and
``<prefix>-labels-idx1-ubyte[.gz]`` (prefix ``train`` or ``t10k``). An explicit ``root`` must
hold them (directly or in ``root/<dataset>``): a root that is not a folder or lacks them is a
FileNotFoundError naming the path and the files, never a fall-through to other places.
Without ``root`` the search is: the cache folder ``$DAGRAD_DATA/<dataset>``, else
``$XDG_CACHE_HOME/dagrad/<dataset>``, else ``~/.cache/dagrad/<dataset>``; for Fashion-MNIST
also Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``);
then missing files are downloaded into the cache, each checked against its published size
and SHA-256 before it is renamed into place. Both files' headers (dtype, shape, matching
counts, total size within the limit) are checked before either file's data is read.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..sizes import MAX_LOAD_BYTES, format_bytes
from .idx import read_idx, read_idx_header

__all__ = [
    "DatasetUnavailable",
    "load_mnist",
    "load_fashion_mnist",
    "cache_dir",
    "CHECKSUMS",
    "MIRRORS",
    "SYSTEM_DIRS",
]


class DatasetUnavailable(RuntimeError):
    """The dataset's files are neither on disk nor downloadable."""


TIMEOUT_S = 30.0


def _urlopen(url: str, timeout: float = TIMEOUT_S):
    """Open a URL with urllib (the one network entry point; tests replace it)."""
    import urllib.request  # imported on first download only: keeps `import dagrad` fast

    return urllib.request.urlopen(url, timeout=timeout)


#: Published size in bytes and SHA-256 of each compressed file (None would mean "size only").
#: MNIST: sizes from LeCun's page; SHA-256 as pinned by torchvision/TFDS-style loaders
#: (several independent sources agree). Fashion-MNIST: sizes and SHA-256 as published for
#: the Zalando S3 files (MD5s in their README; SHA-256 as pinned by TFDS-style loaders).
#: Debian repacks the Fashion .gz files (gzip header without the file name, 24 bytes
#: smaller), so the table is used for downloads only; local files are validated by
#: structure (IDX header, sizes, matching counts).
CHECKSUMS: dict[str, dict[str, tuple[int, str | None]]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": (
            9912422,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        ),
        "train-labels-idx1-ubyte.gz": (
            28881,
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        ),
        "t10k-images-idx3-ubyte.gz": (
            1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            4542,
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": (
            26421880,
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        ),
        "train-labels-idx1-ubyte.gz": (
            29515,
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        ),
        "t10k-images-idx3-ubyte.gz": (
            4422102,
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            5148,
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    },
}

#: Default mirrors, tried in order (overridable with $DAGRAD_MNIST_MIRRORS /
#: $DAGRAD_FASHION_MNIST_MIRRORS, comma- or space-separated, or ``mirrors=``).
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ),
}
_MIRROR_ENV = {"mnist": "DAGRAD_MNIST_MIRRORS", "fashion-mnist": "DAGRAD_FASHION_MNIST_MIRRORS"}

#: System folders searched after the cache (Debian's dataset-fashion-mnist installs here).
SYSTEM_DIRS: dict[str, tuple[str, ...]] = {
    "mnist": (),
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
}

_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_PREFIX = {"train": "train", "test": "t10k"}


def cache_dir(dataset: str) -> Path:
    """Return the cache folder for ``dataset`` ($DAGRAD_DATA or the XDG cache + /dagrad)."""
    base = os.environ.get("DAGRAD_DATA")
    if base:
        return Path(base).expanduser() / dataset
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "dagrad" / dataset


def _split_files(split: str) -> tuple[str, str]:
    """Return the (images, labels) base file names of a split, without .gz."""
    if split not in _PREFIX:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    prefix = _PREFIX[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _search_dirs(dataset: str) -> list[Path]:
    """Folders the implicit search looks in, in order: the cache, then the system folders."""
    return [cache_dir(dataset), *(Path(d) for d in SYSTEM_DIRS.get(dataset, ()))]


def _from_root(dataset: str, split: str, root: str | os.PathLike) -> tuple[Path, Path]:
    """The split's two files in an explicit ``root`` (or ``root/<dataset>``); else an error.

    A root that is not a folder, or holds neither pair, raises FileNotFoundError naming the
    path and the files expected: an explicit root never falls through to other places.
    """
    folder = Path(root).expanduser()
    bases = _split_files(split)
    expected = f"{bases[0]}[.gz] and {bases[1]}[.gz]"
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise FileNotFoundError(
            f"{folder}: {what}; root= must be a folder holding {_TITLES[dataset]}'s {expected} "
            f"(or a {dataset}/ subfolder holding them)")
    partial = []
    for directory in (folder, folder / dataset):
        pair = [_find(directory, base) for base in bases]
        if all(pair):
            return Path(pair[0]), Path(pair[1])
        partial += [str(p) for p in pair if p]
    found = f"; found only {', '.join(partial)}" if partial else ""
    raise FileNotFoundError(
        f"{folder}: no {_TITLES[dataset]} {split} split: expected {expected} in {folder} or "
        f"{folder / dataset}{found}")


def _find(directory: Path, base: str) -> Path | None:
    """Return ``directory/base`` or ``directory/base.gz`` if either is a file."""
    for candidate in (directory / base, directory / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _mirrors(dataset: str, mirrors: list[str] | tuple[str, ...] | None) -> list[str]:
    """Mirror base URLs: the argument, else the environment variable, else the defaults."""
    if mirrors is None:
        env = os.environ.get(_MIRROR_ENV[dataset], "").strip()
        mirrors = re.split(r"[,\s]+", env) if env else MIRRORS[dataset]
    return [m if m.endswith("/") else m + "/" for m in mirrors if m]


class _Progress:
    """A minimal progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total = label, total
        self.stream = sys.stderr
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = -1

    def update(self, done: int) -> None:
        if not self.active:
            return
        if self.total:
            pct = min(100, done * 100 // self.total)
            if pct == self.shown:
                return
            self.shown = pct
            bar = "#" * (pct // 4)
            self.stream.write(f"\r{self.label} [{bar:<25}] {pct:3d}% of {self.total:,} bytes")
        else:
            self.stream.write(f"\r{self.label} {done:,} bytes")
        self.stream.flush()

    def close(self) -> None:
        if self.active:
            self.stream.write("\n")
            self.stream.flush()


def _fetch(url: str, dest: Path, size: int | None, sha256: str | None) -> None:
    """Stream ``url`` into ``dest`` via a temp file; rename only if size and SHA-256 match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest, done = hashlib.sha256(), 0
    with _urlopen(url, timeout=TIMEOUT_S) as response, atomic_write(dest, "wb") as out:
        length = response.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        progress = _Progress(f"Downloading {dest.name}", size or announced)
        try:
            while chunk := response.read(1 << 16):
                done += len(chunk)
                if size is not None and done > size:
                    raise ValueError(f"larger than the published {size} bytes")
                digest.update(chunk)
                out.write(chunk)
                progress.update(done)
        finally:
            progress.close()
        if announced is not None and done < announced:
            raise ValueError(f"interrupted: got {done} of {announced} bytes")
        if size is not None and done != size:
            raise ValueError(f"wrong size: got {done} bytes, expected {size}")
        if sha256 is not None and digest.hexdigest() != sha256:
            raise ValueError(f"checksum mismatch: sha256 {digest.hexdigest()}, expected {sha256}")


def _download(dataset: str, filename: str, mirrors: list[str], errors: list[str]) -> Path | None:
    """Try each mirror for ``filename``; return the cached path, or None (errors appended)."""
    import http.client

    size, sha256 = CHECKSUMS[dataset][filename]
    dest = cache_dir(dataset) / filename
    for base in mirrors:
        url = base + filename
        try:
            _fetch(url, dest, size, sha256)
            return dest
        except (OSError, ValueError, http.client.HTTPException) as exc:
            errors.append(f"{url}: {exc}")
    return None


def _unavailable(dataset: str, split: str, dirs: list[Path], errors: list[str]) -> str:
    """The plain-language message for a dataset that could not be found or fetched."""
    title = _TITLES[dataset]
    images, labels = _split_files(split)
    looked = ", ".join(str(d) for d in dirs)
    lines = [
        f"{title} ({split} split) is not available.",
        f"Looked for {images}[.gz] and {labels}[.gz] in: {looked}.",
    ]
    if errors:
        lines.append("Downloading failed:")
        lines += [f"  {e}" for e in errors]
    else:
        lines.append("Downloading is turned off (download=False).")
    lines += [
        "Alternatives:",
        '  - the embedded 10,000-digit MNIST sample: dataset="sample" '
        "(dagrad train --dataset sample);",
        f"  - put the four {title} IDX files (.gz or raw) in a folder and pass root=DIR "
        "(--root DIR), or copy them to " + str(cache_dir(dataset)) + ";",
    ]
    if dataset == "fashion-mnist":
        lines.append(
            "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
            "(installs them in /usr/share/datasets/fashion-mnist)."
        )
    return "\n".join(lines)


def _check_headers(paths: tuple[Path, Path], max_bytes: int) -> None:
    """Validate the two files' declared dtypes, shapes and counts before reading their data."""
    images, labels = read_idx_header(paths[0]), read_idx_header(paths[1])
    if images.dtype != np.uint8 or len(images.shape) != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{paths[0]}: expected uint8 images of shape (N, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.dtype != np.uint8 or len(labels.shape) != 1:
        raise ValueError(
            f"{paths[1]}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{paths[0]} has {images.shape[0]} images but {paths[1]} has {labels.shape[0]} "
            "labels (as their headers declare; nothing else was read)"
        )
    if images.nbytes + labels.nbytes > max_bytes:
        raise ValueError(
            f"{paths[0]}: its header declares {images.shape[0]:,} images "
            f"({format_bytes(images.nbytes + labels.nbytes)} with the labels), above the limit "
            f"of {format_bytes(max_bytes)} (max_bytes); refused before reading the data"
        )


def _check_labels(labels: np.ndarray, path: Path) -> None:
    """Every label is a class 0-9."""
    if labels.size and labels.max() > 9:
        raise ValueError(f"{path}: label {int(labels.max())} out of range 0-9")


def _locate(
    dataset: str,
    split: str,
    download: bool,
    mirrors: list[str] | tuple[str, ...] | None,
) -> tuple[Path, Path]:
    """The implicit search: the cache, the system folders, then (if allowed) the mirrors."""
    bases = _split_files(split)
    dirs = _search_dirs(dataset)
    for directory in dirs:
        pair = tuple(_find(directory, base) for base in bases)
        if all(pair):
            return Path(pair[0]), Path(pair[1])
    cached = tuple(_find(cache_dir(dataset), base) for base in bases)
    if not download:
        raise DatasetUnavailable(_unavailable(dataset, split, dirs, []))
    errors: list[str] = []
    urls = _mirrors(dataset, mirrors)
    if not urls:
        errors.append("no download mirrors configured")
    fetched = []
    for path, base in zip(cached, bases, strict=True):
        path = path or _download(dataset, f"{base}.gz", urls, errors)
        if path is None:
            raise DatasetUnavailable(_unavailable(dataset, split, dirs, errors))
        fetched.append(Path(path))
    return fetched[0], fetched[1]


def _load(
    dataset: str,
    split: str,
    root: str | os.PathLike | None,
    download: bool,
    mirrors: list[str] | tuple[str, ...] | None,
    max_bytes: int = MAX_LOAD_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Find (or fetch) a split's two files; check their headers, then read them."""
    if root is not None:
        paths = _from_root(dataset, split, root)
    else:
        paths = _locate(dataset, split, download, mirrors)
    _check_headers(paths, max_bytes)
    images, labels = read_idx(paths[0], max_bytes), read_idx(paths[1], max_bytes)
    _check_labels(labels, paths[1])
    return images, labels.astype(np.int64)


def load_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    mirrors: list[str] | tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return MNIST's ``split`` ("train"/"test") as (images uint8 (N,28,28), labels int64).

    ``root``: a folder that must hold the split's IDX files (else FileNotFoundError); without
    it the cache, then the mirrors (if ``download``).
    """
    return _load("mnist", split, root, download, mirrors)


def load_fashion_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    mirrors: list[str] | tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return Fashion-MNIST's ``split`` as (images uint8 (N,28,28), labels int64 (N,)).

    ``root``: a folder that must hold the split's IDX files (else FileNotFoundError); without
    it the cache, Debian's folder, then the mirrors (if ``download``).
    """
    return _load("fashion-mnist", split, root, download, mirrors)
