"""The training loop ``fit`` and the evaluation ``evaluate``: reusable by the CLI, tour, benchmarks.

One step is exactly: forward, loss, ``zero_grad``, ``backward``, ``optimizer.step()``,
``scheduler.step()``; nothing else runs per step but a few NumPy reductions for the running
loss and accuracy.  Evaluation runs under ``no_grad`` in large chunks.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ops
from ..i18n import _
from ..nn import functional as F
from ..tensor import STATE, Tensor, no_grad
from .checkpoint import Checkpoint, load_checkpoint, rng_from_array, save_checkpoint
from .progress import ProgressBar

__all__ = ["fit", "evaluate", "EvalResult", "FitResult", "default_loss"]

LossFn = Callable[[Tensor, Any], Tensor]  # (model output, labels: Tensor or ndarray) ↦ loss


def _softmax_nll(probs: Tensor, labels: Any) -> Tensor:
    """L = mean_i −log p[i, y_i] for a model whose output is already softmax probabilities."""
    return F.nll_loss(ops.log(probs), labels)


def default_loss(model: Any) -> LossFn:
    """cross_entropy on logits; −log p_y when the model ends in softmax (``output="softmax"``)."""
    return _softmax_nll if getattr(model, "output", None) == "softmax" else F.cross_entropy


@dataclass
class EvalResult:
    """Mean loss, accuracy and confusion matrix (rows: true class, columns: predicted)."""

    loss: float
    accuracy: float
    confusion: np.ndarray
    n: int

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Recall of each class: confusion[c, c] / Σ_j confusion[c, j] (nan for absent classes)."""
        rows = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, np.diag(self.confusion) / rows, np.nan)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"loss": self.loss, "accuracy": self.accuracy, "n": self.n,
                "per_class_accuracy": [None if np.isnan(a) else float(a)
                                       for a in self.per_class_accuracy],
                "confusion": self.confusion.tolist()}


@dataclass
class FitResult:
    """What ``fit`` did: per-epoch records, the final evaluation, whether it was interrupted."""

    history: list[dict[str, Any]]
    final: EvalResult | None = None
    interrupted: bool = False
    epoch: int = 0
    batch: int = 0
    seconds: float = 0.0
    checkpoint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _as_input(xb: Any) -> Tensor:
    """A batch as the model's input: a DataLoader's Tensor as it is, arrays wrapped."""
    return xb if isinstance(xb, Tensor) else Tensor(xb)


def _batches(data: Any, batch_size: int) -> Iterable[tuple[Any, Any]]:
    if isinstance(data, tuple) and len(data) == 2:
        X, y = np.asarray(data[0]), np.asarray(data[1])
        for lo in range(0, len(y), batch_size):
            yield X[lo:lo + batch_size], y[lo:lo + batch_size]
    else:
        yield from data


def evaluate(model: Any, data: Any, *, loss_fn: LossFn | None = None, batch_size: int = 1000,
             num_classes: int | None = None) -> EvalResult:
    """loss = (1/N) Σ_i L(model(x_i), y_i), accuracy = (1/N) Σ_i [argmax model(x_i) = y_i].

    ``data`` is ``(X, y)`` with X ready for the model, or an iterable of such batches, Tensors
    or arrays (e.g. a ``DataLoader`` with ``shuffle=False``).
    """
    loss_fn = loss_fn or default_loss(model)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    total, n, conf = 0.0, 0, None
    try:
        with no_grad():
            for xb, yb in _batches(data, batch_size):
                yb = np.asarray(yb)
                out = model(_as_input(xb))
                total += float(loss_fn(out, yb).data) * len(yb)
                pred = out.data.argmax(axis=-1)
                c = num_classes or out.shape[-1]
                counts = np.bincount(yb * c + pred, minlength=c * c).reshape(c, c)
                conf = counts if conf is None else conf + counts
                n += len(yb)
    finally:
        if was_training and hasattr(model, "train"):
            model.train()
    if n == 0 or conf is None:
        raise ValueError(_("evaluate: no samples"))
    return EvalResult(loss=total / n, accuracy=float(np.trace(conf)) / n, confusion=conf, n=n)


class _StopFlag:
    """Turns the first Ctrl-C (SIGINT) into a request to stop after the current step."""

    def __init__(self, enabled: bool):
        self.requested = False
        self._old: Any = None
        self._installed = False
        if enabled and threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except (ValueError, OSError):  # pragma: no cover - exotic embedding
                pass

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True
        print("\n" + _("interrupt: stopping after this step and saving a checkpoint (Ctrl-C "
                       "again to abort at once)"), file=sys.stderr, flush=True)

    def restore(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._old)
            self._installed = False


def _resume_state(resume: Any, checkpoint: str | None) -> Checkpoint | None:
    if resume is None or resume is False:
        return None
    if isinstance(resume, Checkpoint):
        return resume
    path = checkpoint if resume is True else os.fspath(resume)
    if path is None:
        raise ValueError(_("fit: resume=True needs checkpoint=PATH"))
    if not os.path.exists(path):
        raise FileNotFoundError(_("no checkpoint to resume at {path}").format(path=path))
    return load_checkpoint(path)


def fit(model: Any, optimizer: Any, train_loader: Any, test_data: Any = None, epochs: int = 1,
        *, scheduler: Any = None, loss_fn: LossFn | None = None,
        checkpoint: str | os.PathLike | None = None, resume: Any = None,
        config: Mapping[str, Any] | None = None, progress: bool | None = True,
        log: Callable[[str], Any] | None = print,
        on_step: Callable[[dict[str, Any]], Any] | None = None,
        on_epoch: Callable[[dict[str, Any], list[dict[str, Any]]], Any] | None = None,
        eval_batch_size: int = 1000, catch_interrupt: bool = True,
        compile: bool = False) -> FitResult:
    """Minimise the mean loss by mini-batch steps for ``epochs`` epochs; returns a FitResult.

    Per step: L = loss_fn(model(x_b), y_b); ∇L by backward; θ ← optimizer.step(); schedule.
    After each epoch the test set (if any) is evaluated, a record is appended to the history,
    and the checkpoint (if a path is given) is written atomically.  ``resume`` (True, a path or
    a loaded Checkpoint) restores model, optimizer, scheduler, RNG and history and continues at
    the exact batch where the checkpoint was taken; with a seeded DataLoader the result equals
    an uninterrupted run.  The first Ctrl-C stops after the current step and saves.
    With ``compile`` the step runs through ``dg.compile`` (traced once per batch shape, then
    replayed into preallocated buffers; the same numbers).
    """
    loss_fn = loss_fn or default_loss(model)
    ckpt_path = os.fspath(checkpoint) if checkpoint is not None else None
    state = _resume_state(resume, ckpt_path)
    history: list[dict[str, Any]] = []
    start_epoch, skip, partial = 0, 0, (0.0, 0, 0)
    if state is not None:
        model.load_state_dict(state.model)
        if optimizer is not None and state.optimizer:
            optimizer.load_state_dict(state.optimizer)
        if scheduler is not None and state.scheduler:
            scheduler.load_state_dict(state.scheduler)
        if state.rng is not None:
            STATE.rng = rng_from_array(state.rng)
        history = list(state.history)
        start_epoch, skip, partial = state.epoch, state.batch, state.partial
    cfg = dict(config or {})
    stop = _StopFlag(catch_interrupt)
    result = FitResult(history=history, epoch=start_epoch, batch=skip, checkpoint=ckpt_path)
    t_start = time.perf_counter()

    def save(epoch: int, batch: int, part: tuple[float, int, int]) -> None:
        if ckpt_path is None:
            return
        save_checkpoint(ckpt_path, model.state_dict(),
                        optimizer_state=optimizer.state_dict() if optimizer else None,
                        scheduler_state=scheduler.state_dict() if scheduler else None,
                        epoch=epoch, batch=batch, partial=part, config=cfg, history=history)

    model.train()
    n_batches = len(train_loader)
    train_step = _train_step(model, optimizer, loss_fn, compile)
    try:
        for epoch in range(start_epoch, epochs):
            if hasattr(train_loader, "epoch"):
                train_loader.epoch = epoch  # the shuffle order of a DataLoader is (seed, epoch)
            loss_sum, correct, seen = partial if epoch == start_epoch else (0.0, 0, 0)
            first = skip if epoch == start_epoch else 0
            t0 = time.perf_counter()
            bar = ProgressBar(n_batches, desc=_("epoch {epoch}/{epochs}").format(
                epoch=epoch + 1, epochs=epochs),
                              enabled=bool(progress))
            for b, (xb, yb) in enumerate(train_loader, start=1):
                if b <= first:
                    continue
                loss, out = train_step(xb, yb)
                if scheduler is not None:
                    scheduler.step()
                lv = float(loss.data)
                loss_sum += lv * len(yb)
                correct += int(np.count_nonzero(out.data.argmax(axis=-1) == np.asarray(yb)))
                seen += len(yb)
                bar.update(b, loss_sum / seen, seen - partial[2] * (epoch == start_epoch))
                if on_step is not None:
                    on_step({"epoch": epoch, "batch": b, "loss": lv})
                if stop.requested and b < n_batches:
                    bar.close()
                    save(epoch, b, (loss_sum, correct, seen))
                    result.interrupted, result.epoch, result.batch = True, epoch, b
                    return result
            bar.close()
            train_s = time.perf_counter() - t0
            record: dict[str, Any] = {
                "epoch": epoch + 1,
                "train_loss": loss_sum / max(seen, 1),
                "train_acc": correct / max(seen, 1),
                "lr": float(optimizer.param_groups[0]["lr"]),
                "seconds": train_s,
                "samples_per_s": (seen - (partial[2] if epoch == start_epoch else 0)) / train_s
                if train_s > 0 else None,
            }
            if test_data is not None:
                ev = evaluate(model, test_data, loss_fn=loss_fn, batch_size=eval_batch_size)
                record.update(test_loss=ev.loss, test_acc=ev.accuracy)
                result.final = ev
            history.append(record)
            save(epoch + 1, 0, (0.0, 0, 0))
            result.epoch, result.batch = epoch + 1, 0
            if log is not None:
                log(_summary(record, epochs))
            if on_epoch is not None:
                on_epoch(record, history)
            if stop.requested:
                result.interrupted = epoch + 1 < epochs
                return result
    except KeyboardInterrupt:
        # A second Ctrl-C (or one outside the main thread): the state may be mid-update, so
        # the checkpoint of the last finished epoch is kept as it is.
        if not catch_interrupt:
            raise
        result.interrupted = True
        return result
    finally:
        stop.restore()
        result.seconds = time.perf_counter() - t_start
    return result


def _train_step(model: Any, optimizer: Any, loss_fn: LossFn, compiled: bool) -> Callable:
    """(x, y) ↦ (loss, out) after forward, loss, zero_grad, backward, optimizer step."""

    def train_step(xb: Any, yb: Any) -> tuple[Tensor, Tensor]:
        out = model(_as_input(xb))
        loss = loss_fn(out, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, out

    if not compiled:
        return train_step
    from ..compiler import compile as dg_compile

    return dg_compile(train_step)


def _summary(r: Mapping[str, Any], epochs: int) -> str:
    """One line per epoch: losses, accuracies, time."""
    width = len(str(epochs))
    text = _("epoch {epoch}/{epochs}  train loss {loss} acc {accuracy}").format(
        epoch=f"{r['epoch']:>{width}}", epochs=epochs, loss=f"{r['train_loss']:.4f}",
        accuracy=f"{100 * r['train_acc']:6.2f}%")
    if "test_loss" in r:
        text += "  " + _("test loss {loss} acc {accuracy}").format(
            loss=f"{r['test_loss']:.4f}", accuracy=f"{100 * r['test_acc']:6.2f}%")
    text += f"  lr {r['lr']:.2e}  {r['seconds']:.2f}s"
    return text
