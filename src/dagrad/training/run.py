"""A whole training run from a config dict: data, model, optimizer, schedule, fit, and the files.

``train_run(config, out)`` is what ``dagrad train`` does: it writes ``checkpoint.npz`` (every
epoch), ``metrics.json``, ``curves.png`` and ``confusion.png`` into ``out`` (the two plots need
matplotlib, which is checked before any training step; ``plots=False`` leaves them out).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..i18n import N_, _
from .checkpoint import Checkpoint, load_checkpoint
from .loop import EvalResult, FitResult, evaluate, fit

__all__ = ["DEFAULTS", "LR_DEFAULTS", "CLASS_NAMES", "resolve_config", "merge_resume_config",
           "load_data", "build_model", "build_optimizer", "build_scheduler", "train_run",
           "model_from_checkpoint", "DATASET_NOTES"]

#: Defaults of ``dagrad train`` (lr None: by optimizer, see LR_DEFAULTS).
DEFAULTS: dict[str, Any] = {
    "dataset": "sample", "epochs": 20, "batch_size": 64, "lr": None, "optimizer": "adam",
    "momentum": 0.9, "weight_decay": 0.0, "schedule": "cosine", "seed": 0, "init": "default",
    "activation": "tanh", "hidden": [256, 256], "standardize": True, "limit_train": None,
    "limit_test": None, "dtype": "float32",
}
LR_DEFAULTS = {"adam": 1e-3, "sgd": 0.05}
#: Settings whose change would make ``--resume`` continue a different run.
FIXED_ON_RESUME = ("dataset", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
                   "schedule", "seed", "init", "activation", "hidden", "standardize",
                   "limit_train", "limit_test", "dtype")
NUM_CLASSES = 10
CLASS_NAMES = {
    "sample": [str(i) for i in range(10)],
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}
#: What each dataset is (English msgids; shown through ``_()``).
DATASET_NOTES = {
    "sample": N_("the 10,000 real MNIST digits embedded in dagrad (8,000 train / 2,000 test); "
                 "--dataset mnist or fashion-mnist trains on a full set"),
    "mnist": N_("MNIST (60,000 train / 10,000 test)"),
    "fashion-mnist": N_("Fashion-MNIST (60,000 train / 10,000 test)"),
}


def resolve_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """DEFAULTS updated by the non-None overrides, validated; lr filled in by optimizer."""
    cfg = dict(DEFAULTS)
    cfg.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = set(cfg) - set(DEFAULTS) - {"input_dim", "num_classes", "mean", "std"}
    if unknown:
        raise ValueError(_("unknown settings: {names}").format(names=", ".join(sorted(unknown))))
    cfg["dataset"] = str(cfg["dataset"]).strip().lower().replace("_", "-")
    if cfg["dataset"] not in CLASS_NAMES:
        raise ValueError(_("unknown dataset {name!r}: use sample, mnist or "
                           "fashion-mnist").format(name=cfg["dataset"]))
    if cfg["optimizer"] not in LR_DEFAULTS:
        raise ValueError(_("optimizer must be sgd or adam, got {name!r}").format(
            name=cfg["optimizer"]))
    if cfg["schedule"] not in ("none", "step", "cosine"):
        raise ValueError(_("schedule must be none, step or cosine, got {name!r}").format(
            name=cfg["schedule"]))
    if cfg["lr"] is None:
        cfg["lr"] = LR_DEFAULTS[cfg["optimizer"]]
    for key in ("epochs", "batch_size"):
        if int(cfg[key]) < 1:
            raise ValueError(_("{setting} must be at least 1, got {value}").format(
                setting=key.replace("_", "-"), value=cfg[key]))
    for key in ("limit_train", "limit_test"):
        if cfg[key] is not None and int(cfg[key]) < 1:
            raise ValueError(_("{setting} must be at least 1, got {value}").format(
                setting=key.replace("_", "-"), value=cfg[key]))
    if not float(cfg["lr"]) > 0:
        raise ValueError(_("lr must be positive, got {value}").format(value=cfg["lr"]))
    cfg["hidden"] = [int(h) for h in cfg["hidden"]]
    return cfg


def merge_resume_config(saved: Mapping[str, Any], explicit: Mapping[str, Any]) -> dict[str, Any]:
    """The saved config, with ``epochs`` changed if asked; other differing settings are errors."""
    cfg = dict(saved)
    conflicts = []
    for key, value in explicit.items():
        if value is None or key not in DEFAULTS:
            continue
        if key == "epochs":
            if int(value) != int(saved["epochs"]) and saved.get("schedule") != "none":
                conflicts.append(_("epochs ({value} vs {saved}: the {schedule} schedule is "
                                   "laid over all epochs)").format(
                                       value=value, saved=saved["epochs"],
                                       schedule=saved.get("schedule")))
            cfg["epochs"] = int(value)
        elif key in FIXED_ON_RESUME:
            norm = [int(h) for h in value] if key == "hidden" else value
            if key == "dataset":
                norm = str(value).strip().lower().replace("_", "-")
            if norm != saved.get(key):
                conflicts.append(f"{key.replace('_', '-')} ({norm} vs {saved.get(key)})")
    if conflicts:
        raise ValueError(_("--resume continues the saved run; these settings differ from it: "
                           "{conflicts}").format(conflicts="; ".join(conflicts)))
    return cfg


def load_data(cfg: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test) of the configured dataset, cut to the limits."""
    from ..data import load_dataset

    Xtr, ytr = load_dataset(cfg["dataset"], "train")
    Xte, yte = load_dataset(cfg["dataset"], "test")
    if cfg.get("limit_train"):
        Xtr, ytr = Xtr[: int(cfg["limit_train"])], ytr[: int(cfg["limit_train"])]
    if cfg.get("limit_test"):
        Xte, yte = Xte[: int(cfg["limit_test"])], yte[: int(cfg["limit_test"])]
    return Xtr, ytr, Xte, yte


def build_model(cfg: Mapping[str, Any]) -> Any:
    """The MLP [input_dim, *hidden, num_classes] with logits out, initialised from the seed."""
    from ..nn import MLP

    sizes = [int(cfg.get("input_dim", 784)), *cfg["hidden"], int(cfg.get("num_classes", 10))]
    return MLP(sizes, activation=cfg["activation"], output=None, init=cfg["init"],
               dtype=cfg["dtype"], seed=int(cfg["seed"]))


def build_optimizer(cfg: Mapping[str, Any], model: Any) -> Any:
    """Adam(lr, weight_decay) or SGD(lr, momentum, weight_decay)."""
    from .. import optim

    if cfg["optimizer"] == "adam":
        return optim.Adam(model.parameters(), lr=float(cfg["lr"]),
                          weight_decay=float(cfg["weight_decay"]))
    return optim.SGD(model.parameters(), lr=float(cfg["lr"]), momentum=float(cfg["momentum"]),
                     weight_decay=float(cfg["weight_decay"]))


def build_scheduler(cfg: Mapping[str, Any], optimizer: Any, steps_per_epoch: int) -> Any:
    """Per step: cosine from lr to 0 over all steps; step: ×0.1 every ⌈epochs/3⌉ epochs."""
    from .. import optim

    total = int(cfg["epochs"]) * steps_per_epoch
    if cfg["schedule"] == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=total)
    if cfg["schedule"] == "step":
        every = max(1, -(-int(cfg["epochs"]) // 3))
        return optim.StepLR(optimizer, step_size=every * steps_per_epoch, gamma=0.1)
    return None


def eval_loader(X: np.ndarray, y: np.ndarray, cfg: Mapping[str, Any],
                batch_size: int = 1000) -> Any:
    """Batches of (X, y) in order as the model sees them: x/255, then (x/255 − mean)/std.

    uint8 images stay uint8 and each batch is scaled (and standardised with the run's saved
    mean/std) when it is taken, so evaluating never holds a float copy of the whole set.
    """
    from ..data import DataLoader

    mean = cfg.get("mean")
    return DataLoader(X, y, batch_size=batch_size, shuffle=False, mean=mean,
                      std=cfg.get("std") if mean is not None else None)


def model_from_checkpoint(ckpt: Checkpoint) -> Any:
    """Rebuild the model a ``dagrad train`` checkpoint describes and load its weights."""
    cfg = resolve_config(ckpt.config)
    model = build_model(cfg)
    model.load_state_dict(ckpt.model)
    return model


def _write_json(path: Path, obj: Any) -> None:
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def _metrics(cfg: Mapping[str, Any], result: FitResult, final: EvalResult | None,
             n_train: int, n_test: int, seconds: float) -> dict[str, Any]:
    best = max(result.history, key=lambda h: h.get("test_acc", -1)) if result.history else None
    return {
        "config": dict(cfg),
        "dataset": {"name": cfg["dataset"], "train": n_train, "test": n_test,
                    "mean": cfg.get("mean"), "std": cfg.get("std"),
                    "classes": CLASS_NAMES[cfg["dataset"]]},
        "epochs": result.history,
        "epochs_done": result.epoch,
        "interrupted": result.interrupted,
        "seconds": seconds,
        "best": None if best is None else {"epoch": best["epoch"],
                                           "test_acc": best.get("test_acc")},
        "final": None if final is None else final.to_dict(),
    }


def train_run(overrides: Mapping[str, Any], out: str | os.PathLike, *, resume: bool = False,
              progress: bool | None = True, log: Callable[[str], Any] | None = print,
              on_step: Callable[[dict[str, Any]], Any] | None = None,
              compile: bool = False, plots: bool = True) -> FitResult:
    """Train as configured, writing checkpoint.npz, metrics.json, curves.png, confusion.png.

    ``compile`` runs each training step through ``dg.compile`` (same numbers, faster);
    ``plots=False`` writes no PNGs.  With plots, matplotlib must be installed: an ImportError
    says so before anything is loaded or trained.
    """
    from ..data import DataLoader

    if plots:
        from .plots import require_matplotlib

        require_matplotlib()

    out = Path(out)
    ckpt_path = out / "checkpoint.npz"
    say = log or (lambda s: None)
    ckpt = None
    if resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(_("--resume: no checkpoint at {path}").format(
                path=ckpt_path))
        ckpt = load_checkpoint(ckpt_path)
        cfg = merge_resume_config(resolve_config(ckpt.config), overrides)
        if ckpt.epoch >= int(cfg["epochs"]):
            say(_("{path}: all {epochs} epochs are done; evaluating it again").format(
                path=ckpt_path, epochs=cfg["epochs"]))
        elif ckpt.batch:
            say(_("resuming {path} at epoch {epoch}, batch {batch}").format(
                path=ckpt_path, epoch=ckpt.epoch + 1, batch=ckpt.batch + 1))
        else:
            say(_("resuming {path} at epoch {epoch}").format(path=ckpt_path,
                                                             epoch=ckpt.epoch + 1))
    else:
        cfg = resolve_config(overrides)
    say(_("dataset: {name} — {note}").format(name=cfg["dataset"],
                                             note=_(DATASET_NOTES[cfg["dataset"]])))
    t0 = time.perf_counter()
    Xtr, ytr, Xte, yte = load_data(cfg)
    cfg["input_dim"] = int(np.prod(Xtr.shape[1:]))
    cfg["num_classes"] = NUM_CLASSES
    loader = DataLoader(Xtr, ytr, batch_size=int(cfg["batch_size"]), shuffle=True,
                        seed=int(cfg["seed"]), standardize=bool(cfg["standardize"]))
    cfg["mean"], cfg["std"] = loader.mean, loader.std
    test = DataLoader(Xte, yte, batch_size=1000, shuffle=False,
                      mean=loader.mean, std=loader.std)
    n_train, n_test = len(ytr), len(yte)
    del Xtr, ytr, Xte, yte  # the loaders hold their own (uint8) copies
    model = build_model(cfg)
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer, len(loader))
    say(_("model: MLP {sizes} ({activation}, {parameters} parameters); {optimizer} lr {lr}, "
          "{schedule} schedule, batch {batch}, {epochs} epochs; writing to {out}").format(
              sizes=[cfg["input_dim"], *cfg["hidden"], cfg["num_classes"]],
              activation=cfg["activation"], parameters=f"{model.num_parameters():,}",
              optimizer=cfg["optimizer"], lr=f"{cfg['lr']:g}", schedule=cfg["schedule"],
              batch=cfg["batch_size"], epochs=cfg["epochs"], out=out))
    out.mkdir(parents=True, exist_ok=True)

    def on_epoch(record: dict[str, Any], history: list[dict[str, Any]]) -> None:
        partial = FitResult(history=history, epoch=record["epoch"])
        _write_json(out / "metrics.json", _metrics(cfg, partial, None, n_train, n_test,
                                                   time.perf_counter() - t0))

    result = fit(model, optimizer, loader, test, int(cfg["epochs"]), scheduler=scheduler,
                 checkpoint=ckpt_path, resume=ckpt, config=cfg, progress=progress, log=log,
                 on_step=on_step, on_epoch=on_epoch, compile=compile)
    final = result.final
    if final is None and not result.interrupted:
        final = evaluate(model, test)
    seconds = time.perf_counter() - t0
    _write_json(out / "metrics.json", _metrics(cfg, result, final, n_train, n_test, seconds))
    if plots and result.history:
        from .plots import plot_curves

        plot_curves(result.history, out / "curves.png",
                    title=_("MLP on {dataset}").format(dataset=cfg["dataset"]))
    if plots and final is not None:
        from .plots import plot_confusion

        plot_confusion(final.confusion, out / "confusion.png", CLASS_NAMES[cfg["dataset"]],
                       title=_("{dataset} test").format(dataset=cfg["dataset"]))
    result.extra.update(config=cfg, seconds=seconds, out=str(out))
    if result.interrupted:
        where = (_("interrupted in epoch {epoch} after batch {batch}").format(
            epoch=result.epoch + 1, batch=result.batch) if result.batch
                 else _("interrupted after epoch {epoch}").format(epoch=result.epoch))
        say(_("{where}: checkpoint saved to {path}; continue with: {command}").format(
            where=where, path=ckpt_path, command=f"dagrad train -o {out} --resume"))
    elif final is not None:
        done = (_("test accuracy {accuracy} (loss {loss}) after {n} epoch in {seconds}s; files "
                  "in {out}") if result.epoch == 1 else
                _("test accuracy {accuracy} (loss {loss}) after {n} epochs in {seconds}s; files "
                  "in {out}"))
        say(done.format(accuracy=f"{100 * final.accuracy:.2f}%", loss=f"{final.loss:.4f}",
                        n=result.epoch, seconds=f"{seconds:.1f}", out=out))
    return result
