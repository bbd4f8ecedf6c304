"""PNG plots of a training run: loss and accuracy curves, and the confusion matrix.

matplotlib is imported inside each function (never by ``import dagrad``) and used through its
object API with the Agg canvas, so no global backend is switched.  :func:`require_matplotlib`
lets a caller refuse early (before a training run) rather than fail at the first plot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..atomic import atomic_write
from ..i18n import _

__all__ = ["plot_curves", "plot_confusion", "require_matplotlib"]

INSTALL_HINT = "pip install 'dagrad[plot]'"


def require_matplotlib() -> None:
    """Raise ImportError, naming the install command, when matplotlib cannot be imported."""
    import importlib.util

    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError(_("the plots need matplotlib, which is not installed: {install} (or "
                            "train without plots: --no-plots, plots=False)").format(
                                install=INSTALL_HINT), name="matplotlib")


def _figure(size: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: str | os.PathLike) -> str:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    return os.fspath(path)


def plot_curves(history: Sequence[Mapping[str, Any]], path: str | os.PathLike,
                title: str | None = None) -> str:
    """Loss and accuracy (train and test) against the epoch, side by side; returns the path."""
    fig = _figure((10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    for key, label, style in (("train", _("train"), "-o"), ("test", _("test"), "-s")):
        loss = [h.get(f"{key}_loss") for h in history]
        acc = [h.get(f"{key}_acc") for h in history]
        if any(v is not None for v in loss):
            ax_loss.plot(epochs, [np.nan if v is None else v for v in loss], style, label=label,
                         markersize=3)
        if any(v is not None for v in acc):
            ax_acc.plot(epochs, [np.nan if v is None else 100 * v for v in acc], style,
                        label=label, markersize=3)
    from matplotlib.ticker import MaxNLocator

    ax_loss.set(xlabel=_("epoch"), ylabel=_("cross-entropy loss"), title=_("loss"))
    ax_acc.set(xlabel=_("epoch"), ylabel=_("accuracy (%)"), title=_("accuracy"))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.lines:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_confusion(confusion: np.ndarray, path: str | os.PathLike,
                   class_names: Sequence[str] | None = None, title: str | None = None) -> str:
    """The confusion matrix (rows: true class, columns: predicted), counts written in; the path."""
    cm = np.asarray(confusion)
    n = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    fig = _figure((7.5, 6.5))
    ax = fig.subplots()
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=_("fraction of the true class"))
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if frac[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(n), names)
    ax.set(xlabel=_("predicted"), ylabel=_("true"))
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title + ' — ' if title else ''}"
                 + _("accuracy {accuracy}").format(accuracy=f"{100 * acc:.2f}%"))
    fig.tight_layout()
    return _save(fig, path)
