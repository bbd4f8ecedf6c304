"""A whole training run, dagrad against PyTorch: ``dagrad train`` and ``benchmarks.torch_train``.

Both train the same 784-256-256-10 tanh MLP (Adam lr 1e-3, cosine schedule over the run, batch
128, standardised inputs, the test set evaluated after every epoch) from the same initial
weights in the same epoch order (dagrad's seed 0: PyTorch gets them through ``--init`` and
``--shuffle numpy``), so the accuracies differ only by rounding, as separate commands, one
after the other on the same CPUs, each with one thread per CPU by its own mechanism (dagrad:
the BLAS variables ``benchmarks/env.py`` sets; PyTorch: ``torch.set_num_threads``).  Full mode:
Fashion-MNIST, 15 epochs, five rounds, each a pair of adjacent runs in alternating order
(dagrad, PyTorch, PyTorch, dagrad, dagrad, PyTorch, ...), the time ratio the median of the rounds'
(on a shared machine one disturbed run then moves one round, not the figure); quick: fewer
epochs, one round; smoke: one epoch on a slice of Fashion-MNIST, or of dagrad's embedded
sample when Fashion-MNIST is not on this machine.  Each command runs under a small measuring
process (``--measure``) that starts it and reads its own child's resource usage with
``os.wait4``: wall seconds from start to exit (interpreter start, imports, data loading,
training, evaluation, dagrad's checkpoints, metrics and plots included) and the child's peak
RSS, which then starts from that small process's size, not the benchmark's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

NAME = "training"
EPOCHS = {"full": 15, "quick": 3, "smoke": 1}
ROUNDS = {"full": 5, "quick": 1, "smoke": 1}
#: (training samples, test samples) in smoke mode; None elsewhere: the whole sets.
LIMITS: dict[str, tuple[int, int] | None] = {"full": None, "quick": None, "smoke": (1024, 500)}
BATCH = 128
HIDDEN = (256, 256)
LR = 1e-3


def fashion_mnist_dir() -> str | None:
    """The folder dagrad reads Fashion-MNIST from on this machine, or None (no download)."""
    try:
        from dagrad.data.mnist import DatasetUnavailable, _locate
    except ImportError:
        return None
    try:
        images, _ = _locate("fashion-mnist", "train", False, None)
        _locate("fashion-mnist", "test", False, None)
    except (DatasetUnavailable, OSError):
        return None
    return str(images.parent)


def _plots_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def write_initial_weights(path: str, seed: int = 0) -> None:
    """dagrad train's initial MLP (its seed, sizes and init) as a plain .npz for PyTorch."""
    import numpy as np

    from dagrad.training.run import build_model, resolve_config

    cfg = resolve_config({"seed": seed, "hidden": list(HIDDEN)})
    state = build_model({**cfg, "input_dim": 784, "num_classes": 10}).state_dict()
    np.savez(path, **{k: np.asarray(v) for k, v in state.items()})


def commands(dataset: str, data_dir: str | None, epochs: int, limits: tuple[int, int] | None,
             out: str, plots: bool, init: str | None = None) -> dict[str, list[str]]:
    """The two command lines: ``dagrad train …`` and ``python -m benchmarks.torch_train …``.

    With ``init`` (dagrad's initial weights, :func:`write_initial_weights`) PyTorch starts
    from the same weights and takes dagrad's epoch order: the runs differ only in rounding.
    """
    common = ["--epochs", str(epochs), "--batch-size", str(BATCH)]
    lim = [] if limits is None else ["--limit-train", str(limits[0]), "--limit-test",
                                     str(limits[1])]
    dagrad = [sys.executable, "-c", "import sys; from dagrad.cli import main; sys.exit(main())",
              "train", "--dataset", dataset, *common, *lim, "--no-progress", "-o", out]
    if not plots:
        dagrad.append("--no-plots")
    torch = [sys.executable, "-m", "benchmarks.torch_train", "--dataset", dataset, *common,
             *lim, "--lr", str(LR), "--hidden", ",".join(map(str, HIDDEN))]
    if data_dir is not None:
        torch += ["--data", data_dir]
    if init is not None:
        torch += ["--init", init, "--shuffle", "numpy"]
    return {"dagrad": dagrad, "torch": torch}


def measure_child(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd`` (its output passed through), then its wall time and peak RSS (os.wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"returncode": proc.returncode, "wall_s": wall, "maxrss_mib": usage.ru_maxrss / 1024,
            "user_s": usage.ru_utime, "sys_s": usage.ru_stime}


def run_measured(cmd: list[str], environ: dict[str, str], timeout: float) -> dict[str, Any]:
    """``cmd`` under ``python -m benchmarks.training --measure``: its figures and its output."""
    wrapper = [sys.executable, "-m", "benchmarks.training", "--measure", "--", *cmd]
    proc = subprocess.run(wrapper, capture_output=True, text=True, env=environ, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    try:
        row = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"the measuring process failed: {tail}"}
    if row["returncode"] != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        row["error"] = f"exit status {row['returncode']}: {tail}"
    row["output"] = lines[:-1]
    return row


def _dagrad_result(row: dict[str, Any], out: Path) -> dict[str, Any]:
    metrics = json.loads((out / "metrics.json").read_text())
    row.update(test_acc=metrics["final"]["accuracy"], test_loss=metrics["final"]["loss"],
               epochs=metrics["epochs_done"], train=metrics["dataset"]["train"],
               test=metrics["dataset"]["test"],
               sizes=[metrics["config"]["input_dim"], *metrics["config"]["hidden"],
                      metrics["config"]["num_classes"]],
               in_process_s=metrics["seconds"],
               epoch_s=[e["seconds"] for e in metrics["epochs"]],
               train_loss=[e["train_loss"] for e in metrics["epochs"]])
    return row


def _torch_result(row: dict[str, Any]) -> dict[str, Any]:
    summary = json.loads(row["output"][-1])
    row.update(test_acc=summary["test_acc"], test_loss=summary["test_loss"],
               epochs=summary["epochs"], train=summary["train"], test=summary["test"],
               sizes=summary["sizes"], in_process_s=summary["seconds"],
               epoch_s=[e["seconds"] for e in summary["history"]],
               train_loss=[e["train_loss"] for e in summary["history"]],
               threads=summary["threads"])
    return row


def run(ctx) -> dict[str, Any]:
    """Both commands, one after the other, ``ROUNDS`` times; times, peak RSS, accuracies."""
    mode = ctx.mode
    data_dir = fashion_mnist_dir()
    dataset = "fashion-mnist" if data_dir is not None else "sample"
    if dataset == "sample" and mode != "smoke":
        raise RuntimeError("Fashion-MNIST is not on this machine (dagrad looks in its cache and "
                           "/usr/share/datasets/fashion-mnist, package dataset-fashion-mnist); "
                           "only --smoke falls back to the embedded sample")
    if ctx.peer("torch") is None:
        return {"skipped": "PyTorch is not installed (the bench extra)", "checks": {}}
    epochs, limits, plots = EPOCHS[mode], LIMITS[mode], _plots_available()
    order = [who for i in range(ROUNDS[mode])
             for who in (("dagrad", "torch") if i % 2 == 0 else ("torch", "dagrad"))]
    runs: dict[str, list[dict[str, Any]]] = {"dagrad": [], "torch": []}
    with tempfile.TemporaryDirectory(prefix="dagrad-bench-train-") as tmp:
        init = str(Path(tmp) / "initial.npz")
        write_initial_weights(init)
        for i, who in enumerate(order):
            out = Path(tmp) / f"run{i}"
            cmd = commands(dataset, data_dir, epochs, limits, str(out), plots, init)[who]
            shown = " ".join(["dagrad", *cmd[3:]] if who == "dagrad" else ["python", *cmd[1:]])
            print(f"  {who}, round {i // 2 + 1}/{ROUNDS[mode]}: {shown}", flush=True)
            row = run_measured(cmd, ctx.child_env, timeout=3600)
            if "error" in row:
                raise RuntimeError(f"{who}: {row['error']}")
            row = _dagrad_result(row, out) if who == "dagrad" else _torch_result(row)
            row.pop("output")
            runs[who].append(row)
            print(f"    {row['wall_s']:.1f} s, peak RSS {row['maxrss_mib']:.0f} MiB, test "
                  f"accuracy {100 * row['test_acc']:.2f}%", flush=True)
    # ratio per round: the round's dagrad run against its torch run (adjacent runs)
    pairs = list(zip(runs["dagrad"], runs["torch"], strict=True))
    ratios = [d["wall_s"] / t["wall_s"] for d, t in pairs]
    summary = {name: {"wall_s": median(r["wall_s"] for r in rows),
                      "maxrss_mib": max(r["maxrss_mib"] for r in rows),
                      "test_acc": median(r["test_acc"] for r in rows)}
               for name, rows in runs.items()}
    d, t = summary["dagrad"], summary["torch"]
    first_d, first_t = runs["dagrad"][0], runs["torch"][0]
    fastest = {name: min(min(r["epoch_s"]) for r in rows) for name, rows in runs.items()}
    return {
        "title": "Training run: dagrad train against the same run in PyTorch",
        "dataset": dataset, "epochs": epochs, "batch": BATCH, "rounds": ROUNDS[mode],
        "train": first_d["train"], "test": first_d["test"], "sizes": first_d["sizes"],
        "order": order, "plots": plots, "runs": runs, "summary": summary,
        "time_ratios": ratios, "time_ratio": median(ratios),
        # the fastest training epoch of each side (the loop alone, test evaluation excluded):
        # what the two cost where neither was slowed by other processes on the machine
        "fastest_epoch_s": fastest,
        "fastest_epoch_ratio": fastest["dagrad"] / fastest["torch"],
        "accuracy_gap_points": 100 * (d["test_acc"] - t["test_acc"]),
        "checks": {
            "both commands finished": all(r["returncode"] == 0 for rows in runs.values()
                                          for r in rows),
            "every child reported its peak RSS": all(r["maxrss_mib"] > 0 for rows in
                                                     runs.values() for r in rows),
            "same data and model on both sides": first_d["train"] == first_t["train"]
            and first_d["test"] == first_t["test"] and first_d["sizes"] == first_t["sizes"],
            "accuracies above chance": all(r["test_acc"] > 0.2 for rows in runs.values()
                                           for r in rows),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """``--measure -- CMD …``: run CMD, print one JSON line with its wall time and peak RSS."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] != ["--measure", "--"] or len(args) < 3:
        print("usage: python -m benchmarks.training --measure -- COMMAND [ARGS…]\n"
              "(the workload itself runs from python -m benchmarks --only training)",
              file=sys.stderr)
        return 2
    sys.stdout.flush()
    row = measure_child(args[2:])
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
