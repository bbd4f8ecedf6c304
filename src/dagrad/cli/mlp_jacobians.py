"""dagrad mlp-jacobians: exercise (c) — ∇_x L and ∇_b1 L of the sheet's MLP as Jacobian chains."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..i18n import N_, _

NAME = "mlp-jacobians"
HELP = N_("exercise (c): the 784-256-256-10 MLP's gradients ∇x L, ∇b1 L (and the bonus ∇W1 L) "
          "as products of explicit Jacobians on a real digit, checked against backprop")

SIZES = [784, 256, 256, 10]
BATCH, LR = 64, 0.1


def _activations() -> list[str]:
    """The op table's named activations that dg.nn.MLP builds as hidden layers."""
    from ..catalogue import activation_names

    return list(activation_names())


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad mlp-jacobians``."""
    p.add_argument("--seed", type=int, default=0,
                   help=_("initialisation and shuffling seed ({seed})").format(seed=0))
    p.add_argument("--digit-index", type=int, default=0, metavar="N",
                   help=_("which digit of the embedded sample's test split to explain (0)"))
    p.add_argument("--train-steps", type=int, default=0, metavar="K",
                   help=_("train the MLP for K SGD steps first (batch {batch}, lr {lr}) on the "
                          "sample's train split; 0 (default) explains it at "
                          "initialisation").format(batch=BATCH, lr=LR))
    p.add_argument("--activation", choices=_activations(), default="tanh",
                   help=_("hidden activation (tanh, as the sheet)"))
    p.add_argument("--dense", action=argparse.BooleanOptionalAction, default=True,
                   help=_("build the 392 MiB tensor J_o1(W1) for the bonus (--no-dense: the "
                          "Kronecker form only, implicitly)"))
    p.add_argument("-o", "--out", default="mlp-jacobians", metavar="DIR",
                   help=_("folder for report.md, report.tex, report.html and dag.svg"))
    from ..explain.solutions import add_option

    add_option(p)
    p.add_argument("--pdf", metavar="PATH", default=None,
                   help=_("also print report.html to this PDF (A4) with headless Chromium"))


def _train(model: Any, X: Any, y: Any, steps: int, seed: int) -> float:
    """K steps of SGD on mean −log z3_y; returns the last batch's loss."""
    import numpy as np

    import dagrad as dg
    from dagrad.nn.functional import nll_loss

    opt = dg.optim.SGD(model.parameters(), lr=LR)
    rng = np.random.default_rng(seed)
    loss = float("nan")
    for _step in range(steps):
        idx = rng.choice(len(X), BATCH, replace=False)
        p = model(dg.tensor(X[idx]))
        out = nll_loss(dg.log(p), y[idx])
        opt.zero_grad()
        out.backward()
        opt.step()
        loss = out.item()
    return loss


def run(args: argparse.Namespace) -> int:
    """Build the report for one digit, write the files and print the chains and checks."""
    import numpy as np

    import dagrad as dg
    from dagrad.atomic import atomic_write
    from dagrad.web.page import html_page

    from ..i18n import get_language
    from . import UsageError

    if args.train_steps < 0:
        raise UsageError(_("--train-steps must be ≥ 0, got {steps}").format(
            steps=args.train_steps))
    X_test, y_test = dg.data.load_sample("test")
    if not 0 <= args.digit_index < len(X_test):
        raise UsageError(_("--digit-index must be in 0..{last}, got {index}").format(
            last=len(X_test) - 1, index=args.digit_index))
    model = dg.nn.MLP(SIZES, activation=args.activation, output="softmax", seed=args.seed)
    if args.train_steps:
        X_train, y_train = dg.data.load_sample("train")
        Xf = X_train.reshape(len(X_train), -1).astype(np.float32) / 255
        t0 = time.perf_counter()
        last = _train(model, Xf, y_train, args.train_steps, args.seed)
        state = _("trained briefly: {steps} SGD steps (batch {batch}, lr {lr}) on the "
                  "sample's train split, last batch loss {loss} ({seconds} s)").format(
                      steps=args.train_steps, batch=BATCH, lr=LR, loss=f"{last:.4f}",
                      seconds=f"{time.perf_counter() - t0:.1f}")
    else:
        state = _("at initialisation (untrained; PyTorch's default init)")
    x = X_test[args.digit_index].reshape(-1).astype(np.float64) / 255
    label = int(y_test[args.digit_index])
    desc = _("Digit #{index} of the embedded MNIST sample's test split (pixels / 255); MLP "
             "{sizes} ({activation}, softmax output, seed {seed}) {state}.").format(
                 index=args.digit_index, sizes="-".join(map(str, SIZES)),
                 activation=args.activation, seed=args.seed, state=state)
    if getattr(args, "solutions", "on") != "on":  # the worksheet or the key
        from .sheets import run_mlp_jacobians

        return run_mlp_jacobians(args, model, x, label)
    t0 = time.perf_counter()
    report = dg.explain.jacobian_chain(model, x, label, dense=args.dense, description=desc)
    elapsed = time.perf_counter() - t0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    dag = None
    try:
        report.render_dag(out / "dag.svg")
        report.render_dag(out / "dag-fine.svg", level="fine")
        dag = "dag.svg"
        written += ["dag.svg", "dag-fine.svg"]
    except (ImportError, RuntimeError) as e:
        print(_("note: no DAG picture ({reason})").format(reason=e))
    files = {"report.md": report.to_markdown(dag_path=dag), "report.tex": report.to_latex(),
             "report.html": html_page("dagrad mlp-jacobians", report.to_html(),
                                      lang=get_language())}
    for name, text in files.items():
        with atomic_write(out / name, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(name)
    if args.pdf:
        from dagrad.pdf import write_pdf

        write_pdf(out / "report.html", args.pdf)
    print(str(report))
    print()
    dense = ("; " + _("dense tensor {seconds} s").format(
        seconds=f"{report.weight.seconds_dense:.2f}")
             if report.weight.seconds_dense is not None
             else "; " + _("dense tensor skipped (--no-dense)"))
    from dagrad.explain.mlp_jacobians.report import check_counts

    print(_("report built in {seconds} s").format(seconds=f"{elapsed:.2f}") + dense)
    files = ", ".join(written)
    print(_("wrote {files} to {folder}/ and {pdf}").format(files=files, folder=out, pdf=args.pdf)
          if args.pdf else _("wrote {files} to {folder}/").format(files=files, folder=out))
    print(("" if report.ok else _("FAILED: ")) + check_counts(report))
    return 0 if report.ok else 1
