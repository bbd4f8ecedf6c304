"""Plots for the vanishing-gradient explainers: the chain's log10 |∂h_n/∂w_i| per layer, and the
figure helpers (Agg canvas, atomic PNG/SVG writes) that ``gradient_flow`` shares.

matplotlib is imported inside the functions only, through its object API (no global backend).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["plot_chain", "new_figure", "save_figure"]

LOG10_TINY = math.log10(np.finfo(np.float64).tiny)  # smallest normal float64, ≈ −307.65


def save_figure(fig: Any, path: str | os.PathLike) -> str:
    """Write a matplotlib figure atomically, as PNG or SVG by the path's suffix."""
    from ...atomic import atomic_write

    suffix = os.path.splitext(os.fspath(path))[1].lower()
    fmts = {".png": "png", ".svg": "svg"}
    if suffix not in fmts:
        raise ValueError(f"plot: the file must end in .png or .svg, got {os.fspath(path)!r}")
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format=fmts[suffix], dpi=120)
    return os.fspath(path)


def new_figure(size: tuple[float, float]) -> Any:
    """A matplotlib Figure on the Agg canvas (no global backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def plot_chain(rep: Any, path: str | os.PathLike) -> str:
    """log10 |∂h_n/∂w_i| vs i: autodiff (solid), bounds (dashed), underflow (hollow), zeros (×),
    failed checks (red squares at the closed form).  ``rep``: a ``VanishingReport`` (not
    imported here, so that the report and its plot form no import circle)."""
    from matplotlib.lines import Line2D

    from ...i18n import _

    fig = new_figure((10, 5.6))
    ax = fig.subplots()
    i = np.arange(1, rep.n + 1)
    many = rep.n > 60
    ms = 0 if many else 4
    finite_vals = [r.log10_abs[np.isfinite(r.log10_abs)] for r in rep.results.values()]
    finite_vals += [r.log10_bound[np.isfinite(r.log10_bound)] for r in rep.results.values()
                    if r.log10_bound is not None]
    allv = np.concatenate(finite_vals) if finite_vals else np.zeros(1)
    allv = allv if allv.size else np.zeros(1)
    lo, hi = float(allv.min()), float(allv.max())
    pad = max(0.06 * (hi - lo), 0.5)
    zeros = any(not np.all(np.isfinite(r.log10_abs)) for r in rep.results.values())
    floor = lo - (2 * pad if zeros else pad)
    extra: list[Any] = []
    for j, (label, r) in enumerate(rep.results.items()):
        color = f"C{j}"
        flags = np.array(r.flags)
        with np.errstate(divide="ignore"):
            y = np.where(flags == "underflow", r.log10_abs, np.log10(np.abs(r.autodiff)))
        ok = np.isfinite(y)
        name = f"{label}: autodiff"
        if r.dead_layer is not None and r.activation.kind == "relu":
            name += " " + _("(dead at layer {k})").format(k=r.dead_layer)
        ax.plot(i[ok], y[ok], "-o", color=color, ms=ms, lw=1.6, label=name)
        uf = flags == "underflow"
        if uf.any() and many:
            ax.plot(i[uf], y[uf], ":", color=color, lw=2.2)
        elif uf.any():
            ax.plot(i[uf], y[uf], "o", mfc="white", mec=color, ms=ms + 2, lw=0)
        bad = flags == "mismatch"
        if bad.any():  # a failed check: show the closed form, which autodiff missed
            ax.plot(i[bad], r.log10_abs[bad], "s", mfc="none", mec="red", ms=ms + 5, mew=1.5,
                    lw=0, label=f"{label}: " + _("closed form where autodiff differs "
                                                 "(CHECK FAILED)"))
        z = ~np.isfinite(r.log10_abs)
        if z.any():
            ax.plot(i[z], np.full(z.sum(), floor + 0.5 * pad), "x", color=color, ms=6,
                    markevery=max(1, int(z.sum()) // 40), lw=0,
                    label=f"{label}: " + _("exactly 0 (drawn at the bottom)"))
        if r.log10_bound is not None:
            b = r.log10_bound
            bok = np.isfinite(b)
            ax.plot(i[bok], b[bok], "--", color=color, lw=1.2, alpha=0.85,
                    label=f"{label}: " + _("bound"))
    if any("underflow" in r.flags for r in rep.results.values()):
        extra.append(Line2D([], [], ls=":" if many else "", marker="" if many else "o",
                            mfc="white", mec="0.3", color="0.3", lw=2.2 if many else 0,
                            label=_("float64 underflow: exactly 0,\ndrawn at its log-space "
                                    "value")))
    if lo < LOG10_TINY:
        ax.axhline(LOG10_TINY, color="0.4", ls=":", lw=1)
        ax.text(1, LOG10_TINY, " " + _("smallest normal float64 (2.2e-308)"), va="bottom",
                fontsize=8,
                color="0.3")
    ax.set_ylim(floor, hi + pad)
    ax.set_xlim(0.5, rep.n + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(_("layer i (weight $w_i$)"))
    ax.set_ylabel(r"$\log_{10}\,|\partial h_n / \partial w_i|$")
    ax.set_title(_("Chain {chain}, {n}, {x}: gradient w.r.t. each weight").format(
        chain=r"$h_i = \sigma(w_i h_{i-1})$", n=f"$n = {rep.n}$", x=f"$x = {rep.x:g}$"),
        fontsize=11)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles + extra, labels + [e.get_label() for e in extra], fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    return save_figure(fig, path)
