"""dagrad evaluate: loss, accuracy and per-class accuracy of a ``dagrad train`` checkpoint."""

from __future__ import annotations

import argparse

from ..i18n import N_, _

NAME = "evaluate"
HELP = N_("evaluate a checkpoint of 'dagrad train': loss, accuracy and per-class accuracy")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad evaluate``."""
    p.add_argument("checkpoint", help=_("checkpoint.npz written by 'dagrad train'"))
    p.add_argument("--dataset", choices=["sample", "mnist", "fashion-mnist"],
                   help=_("data to evaluate on (default: the one it was trained on)"))
    p.add_argument("--split", choices=["test", "train"], default="test", help="(test)")
    p.add_argument("--limit", type=int, metavar="N", help=_("use the first N samples"))
    p.add_argument("-o", "--out", help=_("also write evaluation.json and confusion.png here"))
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help=_("with -o: write evaluation.json only, no confusion.png (needs no "
                          "matplotlib)"))


def run(args: argparse.Namespace) -> int:
    """Load, evaluate, print the table."""
    import json
    from pathlib import Path

    from ..atomic import atomic_write
    from ..data import load_dataset
    from ..training import evaluate, load_checkpoint, model_from_checkpoint
    from ..training.run import CLASS_NAMES, eval_loader, resolve_config

    ckpt = load_checkpoint(args.checkpoint)
    cfg = resolve_config(ckpt.config)
    model = model_from_checkpoint(ckpt)
    dataset = args.dataset or cfg["dataset"]
    X, y = load_dataset(dataset, args.split)
    if args.limit is not None:
        if args.limit < 1:
            raise ValueError(_("--limit must be at least 1, got {limit}").format(
                limit=args.limit))
        X, y = X[: args.limit], y[: args.limit]
    if int(X[0].size) != int(cfg.get("input_dim", 784)):
        raise ValueError(_("{dataset} samples have {size} values; the model expects "
                           "{expected}").format(dataset=dataset, size=X[0].size,
                                                expected=cfg.get("input_dim")))
    res = evaluate(model, eval_loader(X, y, cfg), num_classes=int(cfg.get("num_classes", 10)))
    names = CLASS_NAMES.get(dataset, [str(i) for i in range(res.confusion.shape[0])])
    print(_("checkpoint {path}: MLP {sizes} after {epochs} epoch(s) on {dataset}").format(
        path=args.checkpoint, sizes=[cfg["input_dim"], *cfg["hidden"], 10], epochs=ckpt.epoch,
        dataset=cfg["dataset"]))
    print(_("{dataset} {split} ({n} samples): loss {loss}  accuracy {accuracy}").format(
        dataset=dataset, split=args.split, n=f"{res.n:,}", loss=f"{res.loss:.4f}",
        accuracy=f"{100 * res.accuracy:.2f}%"))
    wide, count = max(10, len(_("accuracy")) + 2), max(8, len(_("samples")) + 1)
    print(f"  {_('class'):<12}{_('samples'):>{count}}{_('accuracy'):>{wide}}")
    rows = res.confusion.sum(axis=1)
    for c, acc in enumerate(res.per_class_accuracy):
        shown = "—" if rows[c] == 0 else f"{100 * acc:.2f}%"
        print(f"  {names[c]:<12}{int(rows[c]):>{count}}{shown:>{wide}}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "evaluation.json", "w") as f:
            json.dump({"checkpoint": str(args.checkpoint), "dataset": dataset,
                       "split": args.split, **res.to_dict()}, f, indent=2)
        written = [out / "evaluation.json"]
        if args.plots:
            from ..training.plots import plot_confusion

            written.append(Path(plot_confusion(res.confusion, out / "confusion.png", names,
                                               title=f"{dataset} {args.split}")))
        from .needs import join_words

        print(_("wrote {files}").format(files=join_words([str(w) for w in written])))
    return 0
