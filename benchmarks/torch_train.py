"""``python -m benchmarks.torch_train``: ``dagrad train``'s run written in PyTorch, for comparison.

The same model (784-256-256-10 tanh MLP, PyTorch's default initialisation, softmax
cross-entropy on the logits), Adam lr 1e-3, a cosine schedule stepped every batch over the
whole run, batch 128 in a new random order every epoch, inputs ``(x/255 − mean)/std`` with the
training set's scalar mean and std, the test set evaluated after every epoch (loss and
accuracy), the running training loss and accuracy kept per step — as ``dagrad train`` does.
``--init`` starts from given weights (the benchmark passes dagrad's initial MLP) and
``--shuffle numpy`` takes dagrad's epoch order, so the two runs differ only in rounding.
It is written the way a careful PyTorch script would be: the whole training set standardised
once into a float32 tensor, batches taken by index (no per-sample ``DataLoader``), evaluation
under ``torch.no_grad()`` in batches of 1,000.  Threads: ``torch.set_num_threads`` with one
thread per CPU the process may use (``benchmarks/env.py``).  Data: ``--data DIR`` holding the
IDX files (raw or .gz; default: where dagrad looks without a root), read here with gzip and
NumPy; ``--dataset sample`` takes dagrad's embedded 10,000 digits (smoke runs only: it imports
dagrad's data module).  Prints one line per epoch and, last, one JSON line with the test
accuracy, the seconds and the peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: Path) -> Any:
    """An IDX file (raw or .gz) as a NumPy array: magic 0 0 code ndim, big-endian sizes, data."""
    import numpy as np

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} data bytes, the header declares shape {shape}")
    return data.reshape(shape)


def _split_files(folder: Path, split: str) -> tuple[Path, Path]:
    found = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        base = f"{PREFIX[split]}-{kind}"
        for name in (base, base + ".gz"):
            if (folder / name).is_file():
                found.append(folder / name)
                break
        else:
            raise FileNotFoundError(f"{folder}: no {base}[.gz]")
    return found[0], found[1]


def _default_folders(dataset: str) -> list[Path]:
    """Where dagrad looks without a root: its cache folder, then Debian's for Fashion-MNIST."""
    base = os.environ.get("DAGRAD_DATA")
    xdg = os.environ.get("XDG_CACHE_HOME")
    cache = (Path(base).expanduser() if base else
             (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "dagrad")
    folders = [cache / dataset]
    if dataset == "fashion-mnist":
        folders.append(Path("/usr/share/datasets/fashion-mnist"))
    return folders


def load(dataset: str, data: str | None, split: str) -> tuple[Any, Any]:
    """(images uint8 (N, 28, 28), labels (N,)) of one split."""
    if dataset == "sample":
        from dagrad.data import load_sample

        return load_sample(split)
    folders = [Path(data)] if data is not None else _default_folders(dataset)
    for folder in folders:
        try:
            images, labels = _split_files(folder, split)
            break
        except FileNotFoundError:
            continue
    else:
        raise SystemExit(f"no {dataset} {split} split in {', '.join(map(str, folders))}: "
                         "give --data DIR")
    return read_idx(images), read_idx(labels)


def main(argv: list[str] | None = None) -> int:
    """Train and evaluate; the last line printed is the JSON summary."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.torch_train",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="fashion-mnist",
                    help="fashion-mnist / mnist (read from --data) or sample (dagrad's)")
    ap.add_argument("--data", metavar="DIR",
                    help="folder holding the IDX files (default: dagrad's cache folder, then "
                         "/usr/share/datasets/fashion-mnist)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", default="256,256")
    ap.add_argument("--limit-train", type=int, metavar="N")
    ap.add_argument("--limit-test", type=int, metavar="N")
    ap.add_argument("--init", metavar="NPZ",
                    help="initial weights: an .npz of plain arrays named as the Sequential's "
                         "state dict (0.weight, 0.bias, 2.weight, …), e.g. dagrad's MLP(seed=…)")
    ap.add_argument("--shuffle", choices=["torch", "numpy"], default="torch",
                    help="epoch order: torch.randperm, or numpy.random.default_rng([seed, "
                         "epoch]).permutation(N) (dagrad's DataLoader order)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()

    from . import env

    env.setup()  # one thread per CPU: the BLAS variables before NumPy and torch load
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(env.threads())
    torch.manual_seed(args.seed)
    Xtr, ytr = load(args.dataset, args.data, "train")
    Xte, yte = load(args.dataset, args.data, "test")
    if args.limit_train:
        Xtr, ytr = Xtr[: args.limit_train], ytr[: args.limit_train]
    if args.limit_test:
        Xte, yte = Xte[: args.limit_test], yte[: args.limit_test]
    counts = np.bincount(Xtr.reshape(-1), minlength=256).astype(np.float64)
    values = np.arange(256) / 255.0
    mean = float(counts @ values / Xtr.size)
    std = float((counts @ (values - mean) ** 2 / Xtr.size) ** 0.5)

    def standardised(X: Any) -> Any:
        t = torch.from_numpy(X.reshape(len(X), -1).astype(np.float32))
        return t.div_(255).sub_(mean).div_(std)

    x_train, y_train = standardised(Xtr), torch.from_numpy(ytr.astype(np.int64))
    x_test, y_test = standardised(Xte), torch.from_numpy(yte.astype(np.int64))
    del Xtr, Xte
    sizes = [x_train.shape[1], *(int(h) for h in args.hidden.split(",")), 10]
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    net = torch.nn.Sequential(*layers)
    if args.init:
        with np.load(args.init, allow_pickle=False) as z:
            net.load_state_dict({k: torch.from_numpy(np.array(z[k], dtype=np.float32))
                                 for k in z.files})
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    n, bsz = len(y_train), args.batch_size
    steps = -(-n // bsz)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps)
    gen = torch.Generator().manual_seed(args.seed)
    history = []
    test_acc = test_loss = float("nan")
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        net.train()
        order = (torch.randperm(n, generator=gen) if args.shuffle == "torch" else
                 torch.from_numpy(np.random.default_rng([args.seed, epoch]).permutation(n)))
        loss_sum, correct = 0.0, 0
        for lo in range(0, n, bsz):
            idx = order[lo:lo + bsz]
            xb, yb = x_train[idx], y_train[idx]
            out = net(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(yb)
            correct += int((out.argmax(1) == yb).sum())
        train_s = time.perf_counter() - t0
        net.eval()
        total, right = 0.0, 0
        with torch.no_grad():
            for lo in range(0, len(y_test), 1000):
                out = net(x_test[lo:lo + 1000])
                yb = y_test[lo:lo + 1000]
                total += float(F.cross_entropy(out, yb, reduction="sum"))
                right += int((out.argmax(1) == yb).sum())
        test_loss, test_acc = total / len(y_test), right / len(y_test)
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n,
                        "test_loss": test_loss, "test_acc": test_acc, "seconds": train_s})
        print(f"epoch {epoch + 1}/{args.epochs}  train loss {loss_sum / n:.4f} acc "
              f"{100 * correct / n:6.2f}%  test loss {test_loss:.4f} acc {100 * test_acc:6.2f}%"
              f"  {train_s:.2f}s", flush=True)
    print(json.dumps({"backend": "torch", "dataset": args.dataset, "epochs": args.epochs,
                      "batch_size": bsz, "train": n, "test": len(y_test), "sizes": sizes,
                      "test_acc": test_acc, "test_loss": test_loss, "history": history,
                      "threads": torch.get_num_threads(),
                      "seconds": time.perf_counter() - t_start,
                      "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
