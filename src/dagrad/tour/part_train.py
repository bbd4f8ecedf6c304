"""Tour part: train the sheet's MLP (784-256-256-10, tanh) on the embedded MNIST digits."""

from __future__ import annotations

import html
from pathlib import Path

from ..i18n import _
from .report import Section, title

EPOCHS = 3


def run(out: Path) -> Section:
    """A short run of ``dagrad train``'s defaults (Adam, cosine, standardised inputs)."""
    from ..training.run import train_run

    d = out / "train"
    result = train_run({"dataset": "sample", "epochs": EPOCHS}, d, progress=False, log=None)
    final = result.final
    hist = result.history
    acc = final.accuracy if final is not None else float("nan")
    summary = [_("{epochs} epochs on 8,000 embedded MNIST digits in {seconds} s: test "
                 "accuracy {accuracy}% on 2,000 held-out digits (loss {first} → {last}); "
                 "`dagrad train` runs the full 20 epochs").format(
        epochs=EPOCHS, seconds=f"{result.extra['seconds']:.1f}", accuracy=f"{100 * acc:.2f}",
        first=f"{hist[0]['train_loss']:.3f}", last=f"{hist[-1]['train_loss']:.3f}")]
    rows = "".join(
        f"<tr><td>{r['epoch']}</td><td>{r['train_loss']:.4f}</td>"
        f"<td>{100 * r['train_acc']:.2f}%</td><td>{r['test_loss']:.4f}</td>"
        f"<td>{100 * r['test_acc']:.2f}%</td></tr>" for r in hist)
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in (_("epoch"), _("train loss"), _("train acc"),
                                                   _("test loss"), _("test acc")))
    curves, confusion = _("loss and accuracy per epoch"), _("confusion matrix")
    page = (f"<p>{e(summary[0])}.</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f'<p><img src="train/curves.png" alt="{e(curves)}">'
            f'<img src="train/confusion.png" alt="{e(confusion)}"></p>')
    md = (f"- {summary[0]}\n\n![{curves}](train/curves.png)\n\n"
          f"![{confusion}](train/confusion.png)\n")
    return Section("train", title("train"), summary, page, md,
                   ["train/curves.png", "train/confusion.png", "train/metrics.json",
                    "train/checkpoint.npz"], acc > 0.85)
