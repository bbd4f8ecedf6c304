"""dagrad train: the sheet's 784-256-256-10 MLP trained on the sample, MNIST or Fashion-MNIST."""

from __future__ import annotations

import argparse
import sys

from ..i18n import N_, _

NAME = "train"
HELP = N_("train the sheet's MLP (784-256-256-10, tanh) on the embedded sample, MNIST or "
          "Fashion-MNIST; writes a checkpoint, metrics.json and plots")


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        msg = _("--hidden wants sizes like 256,256, got {text!r}").format(text=text)
        raise argparse.ArgumentTypeError(msg) from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            _("--hidden wants positive sizes, got {text!r}").format(text=text))
    return sizes


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad train`` (unset ones take the defaults shown, or the checkpoint's)."""
    from ..training.run import DEFAULTS as D

    p.add_argument("--dataset", choices=["sample", "mnist", "fashion-mnist"],
                   help=_("data to train on (default: {dataset}, embedded, offline)").format(
                       dataset=D["dataset"]))
    p.add_argument("--epochs", type=int,
                   help=_("passes over the training set ({n})").format(n=D["epochs"]))
    p.add_argument("--batch-size", type=int,
                   help=_("samples per step ({n})").format(n=D["batch_size"]))
    p.add_argument("--lr", type=float, help=_("learning rate (adam 1e-3, sgd 0.05)"))
    p.add_argument("--optimizer", choices=["adam", "sgd"], help=f"({D['optimizer']})")
    p.add_argument("--momentum", type=float,
                   help=_("SGD momentum ({value})").format(value=D["momentum"]))
    p.add_argument("--weight-decay", type=float,
                   help=_("L2 weight decay ({value})").format(value=D["weight_decay"]))
    p.add_argument("--schedule", choices=["none", "step", "cosine"],
                   help=_("learning-rate schedule, stepped every batch ({schedule})").format(
                       schedule=D["schedule"]))
    p.add_argument("--seed", type=int,
                   help=_("initialisation and shuffling seed ({seed})").format(seed=D["seed"]))
    p.add_argument("--init", choices=["default", "xavier", "he"],
                   help=_("weight init: PyTorch's default, Glorot uniform or He normal"))
    p.add_argument("--activation", choices=["tanh", "sigmoid", "relu", "leaky_relu"],
                   help=_("hidden activation ({activation})").format(
                       activation=D["activation"]))
    p.add_argument("--hidden", type=_hidden, help=_("hidden sizes (256,256)"))
    p.add_argument("--no-standardize", dest="standardize", action="store_const", const=False,
                   help=_("feed pixels in [0, 1] instead of (x − mean) / std of the training "
                          "set"))
    p.add_argument("--dtype", choices=["float32", "float64"], help=f"({D['dtype']})")
    p.add_argument("--limit-train", type=int, metavar="N",
                   help=_("use the first N training samples"))
    p.add_argument("--limit-test", type=int, metavar="N", help=_("use the first N test samples"))
    p.add_argument("-o", "--out", default="runs/train",
                   help=_("output folder (checkpoint.npz, metrics.json, curves.png, "
                          "confusion.png)"))
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help=_("write no curves.png or confusion.png (needs no matplotlib)"))
    p.add_argument("--resume", action="store_true",
                   help=_("continue the run saved in --out exactly where it stopped"))
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help=_("no progress bar on stderr"))
    p.add_argument("--compile", action="store_true",
                   help=_("run each step through dg.compile: traced once, then replayed into "
                          "preallocated buffers (same numbers, faster)"))
    p.add_argument("--export-onnx", metavar="PATH",
                   help=_("also write the trained model as ONNX (dynamic batch; run it with "
                          "ONNX Runtime; needs the onnx extra)"))
    p.add_argument("--export-torch", metavar="PATH",
                   help=_("also write the trained model for PyTorch: a .pt with the state dict "
                          "and the architecture (torch.load(PATH, weights_only=True); "
                          "dg.interop.load_torch rebuilds it; needs the torch extra)"))


def run(args: argparse.Namespace) -> int:
    """Train, print a line per epoch, write the files; 130 if stopped by Ctrl-C."""
    from ..training.run import DEFAULTS, train_run

    missing = _export_missing(args)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    overrides = {k: getattr(args, k, None) for k in DEFAULTS}
    result = train_run(overrides, args.out, resume=args.resume, progress=args.progress,
                       compile=args.compile, plots=args.plots)
    if result.interrupted:
        if args.export_onnx or args.export_torch:
            print(_("interrupted: nothing exported (resume, then export)"), file=sys.stderr)
        return 130
    _export(args)
    return 0


def _export_missing(args: argparse.Namespace) -> str | None:
    """The install line for what --export-onnx / --export-torch need, checked before training."""
    from .needs import Need, Requirement, missing_message

    needs = []
    if getattr(args, "export_onnx", None):
        needs.append(Need(Requirement("onnx", module="onnx", extra="onnx"),
                          _("to write {path}").format(path=args.export_onnx),
                          _("or leave out --export-onnx")))
    if getattr(args, "export_torch", None):
        needs.append(Need(Requirement("PyTorch", module="torch", extra="torch"),
                          _("to write {path}").format(path=args.export_torch),
                          _("or leave out --export-torch")))
    return missing_message(NAME, needs)


def _export(args: argparse.Namespace) -> None:
    """Write the trained model (the run's checkpoint) for ONNX Runtime and/or PyTorch."""
    if not (args.export_onnx or args.export_torch):
        return
    import json
    from pathlib import Path

    import numpy as np

    from ..training import load_checkpoint
    from ..training.run import CLASS_NAMES, model_from_checkpoint, resolve_config

    ckpt = load_checkpoint(Path(args.out) / "checkpoint.npz")
    model = model_from_checkpoint(ckpt)
    cfg = resolve_config(ckpt.config)
    meta = {"input": "images flattened, scaled to [0, 1], then (x - mean) / std when mean is "
                     "set; the output is the logits",
            "mean": cfg.get("mean"), "std": cfg.get("std"), "dataset": cfg["dataset"],
            "classes": CLASS_NAMES[cfg["dataset"]]}
    if args.export_torch:
        from ..interop import save_torch

        save_torch(model, args.export_torch, metadata=meta)
        print(_("wrote {path}: state dict + architecture for PyTorch (dg.interop.load_torch, "
                "or torch.load(path, weights_only=True))").format(path=args.export_torch))
    if args.export_onnx:
        from ..onnx import export

        dtype = next(iter(model.parameters())).data.dtype
        example = np.zeros((2, model.sizes[0]), dtype=dtype)
        export(model, example, args.export_onnx,
               metadata={k: json.dumps(v) for k, v in meta.items()})
        print(_("wrote {path}: ONNX, input 'input' (batch, {n_in}) {dtype}, output 'output' "
                "(batch, {n_out}) logits").format(path=args.export_onnx, n_in=model.sizes[0],
                                                  dtype=np.dtype(dtype).name,
                                                  n_out=model.sizes[-1]))
