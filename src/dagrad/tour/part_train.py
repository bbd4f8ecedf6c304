"""Tour part: train the sheet's MLP (784-256-256-10, tanh) on the embedded MNIST digits."""

from __future__ import annotations

import html
from pathlib import Path

from .report import PARTS, Section

EPOCHS = 3


def run(out: Path) -> Section:
    """A short run of ``dagrad train``'s defaults (Adam, cosine, standardised inputs)."""
    from ..training.run import train_run

    d = out / "train"
    result = train_run({"dataset": "sample", "epochs": EPOCHS}, d, progress=False, log=None)
    final = result.final
    hist = result.history
    acc = final.accuracy if final is not None else float("nan")
    summary = [f"{EPOCHS} epochs on 8,000 embedded MNIST digits in "
               f"{result.extra['seconds']:.1f} s: test accuracy {100 * acc:.2f}% on 2,000 "
               f"held-out digits (loss {hist[0]['train_loss']:.3f} → "
               f"{hist[-1]['train_loss']:.3f}); `dagrad train` runs the full 20 epochs"]
    rows = "".join(
        f"<tr><td>{r['epoch']}</td><td>{r['train_loss']:.4f}</td>"
        f"<td>{100 * r['train_acc']:.2f}%</td><td>{r['test_loss']:.4f}</td>"
        f"<td>{100 * r['test_acc']:.2f}%</td></tr>" for r in hist)
    page = (f"<p>{html.escape(summary[0])}.</p><table><thead><tr><th>epoch</th><th>train loss"
            "</th><th>train acc</th><th>test loss</th><th>test acc</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            '<p><img src="train/curves.png" alt="loss and accuracy per epoch">'
            '<img src="train/confusion.png" alt="confusion matrix"></p>')
    md = (f"- {summary[0]}\n\n![curves](train/curves.png)\n\n"
          "![confusion](train/confusion.png)\n")
    return Section("train", PARTS["train"][1], summary, page, md,
                   ["train/curves.png", "train/confusion.png", "train/metrics.json",
                    "train/checkpoint.npz"], acc > 0.85)
