"""Training: the reusable loop ``fit``, ``evaluate``, checkpoints, progress bar and plots.

``fit(model, optimizer, train_loader, test_data, epochs, scheduler=..., checkpoint=...)`` is the
loop the CLI, the tour and the benchmarks share; ``train_run(config, out)`` is ``dagrad train``.
"""

from __future__ import annotations

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .loop import EvalResult, FitResult, default_loss, evaluate, fit
from .plots import plot_confusion, plot_curves
from .progress import ProgressBar
from .run import build_model, model_from_checkpoint, resolve_config, train_run

__all__ = ["fit", "evaluate", "EvalResult", "FitResult", "default_loss", "Checkpoint",
           "save_checkpoint", "load_checkpoint", "ProgressBar", "train_run", "resolve_config",
           "build_model", "model_from_checkpoint", "plot_curves", "plot_confusion"]

