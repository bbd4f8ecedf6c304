"""dagrad vanishing: exercise (a) — the deep chain h_i = σ(w_i h_{i−1}); with --mlp, gradient
flow in a deep MLP on real digits (Glorot & Bengio 2010)."""

from __future__ import annotations

import argparse
import sys

from ..i18n import N_, _

NAME = "vanishing"
HELP = N_("exercise (a): ∂h_n/∂w_i of the chain h_i = σ(w_i h_(i-1)) by autodiff vs closed "
          "form vs bound (exit status 1 when a check fails); --mlp: per-layer gradient norms of "
          "a deep MLP on real digits")

_MLP_ONLY = ("init", "steps", "width", "batch", "lr")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``dagrad vanishing``."""
    p.add_argument("--depth", default="20",
                   help=_("chain: the number of layers n (default 20); --mlp: hidden layers, "
                          "one or a comma list such as 10,20"))
    from ..catalogue import activation_names

    names = ", ".join(activation_names())
    p.add_argument("--activations", default=None,
                   help=_("comma list; chain default sigmoid,tanh,relu — the op table's "
                          "activations ({names}; leaky_relu:0.1 sets the slope) or expressions "
                          "in x such as 'x / (1 + abs(x))'; --mlp default tanh (any of those "
                          "names)").format(names=names))
    w = p.add_mutually_exclusive_group()
    w.add_argument("--weights", default=None,
                   help=_("chain weights: one number for every layer or n comma-separated "
                          "numbers (default: w_i ~ U(-1, 1) from --seed)"))
    w.add_argument("--seed", type=int, default=None,
                   help=_("random seed (chain weights; MLP init and batches, default 0)"))
    p.add_argument("--x", type=float, default=1.0,
                   help=_("chain input h_0 = x (default 1.0)"))
    p.add_argument("--rows", type=int, default=40,
                   help=_("chain: at most this many layers per table (default 40; 0 = all)"))
    p.add_argument("--derivation", action="store_true",
                   help=_("chain: print the derivation too"))
    p.add_argument("--mlp", action="store_true",
                   help=_("measure gradient flow in a deep MLP on real MNIST digits instead"))
    p.add_argument("--init", default=None,
                   help=_("--mlp: comma list of standard, xavier, he (default standard,xavier)"))
    p.add_argument("--steps", type=int, default=None,
                   help=_("--mlp: SGD steps before the second measurement (default 50)"))
    p.add_argument("--width", type=int, default=None,
                   help=_("--mlp: hidden width (default 256)"))
    p.add_argument("--batch", type=int, default=None,
                   help=_("--mlp: batch size (default 256)"))
    p.add_argument("--lr", type=float, default=None,
                   help=_("--mlp: SGD learning rate (default 0.1)"))
    p.add_argument("-o", "--out", help=_("write the plot here (.png or .svg)"))
    p.add_argument("--markdown", metavar="PATH", help=_("also write the report as Markdown"))
    p.add_argument("--latex", metavar="PATH",
                   help=_("also write the report as a LaTeX document"))
    from ..explain.solutions import add_option

    add_option(p)
    p.add_argument("--pdf", metavar="PATH",
                   help=_("also print the report with its plot to this PDF (A4) with headless "
                          "Chromium"))


def split_list(text: str) -> list[str]:
    """Split at commas outside parentheses: 'relu,leaky_relu(x, 0.1)' → 2 items."""
    items, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        if ch == "," and depth == 0:
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur).strip())
    if any(not item for item in items):
        raise ValueError(_("empty item in the list {text!r}").format(text=text))
    return items


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in split_list(text)]
    except ValueError:
        raise ValueError(_("{option} must be an integer or a comma list of integers, got "
                           "{text!r}").format(option=what, text=text)) from None


def _weights(text: str | None) -> list[float] | float | None:
    if text is None:
        return None
    try:
        vals = [float(v) for v in split_list(text)]
    except ValueError:
        raise ValueError(_("--weights must be numbers separated by commas, got {text!r}").format(
            text=text)) from None
    return vals[0] if len(vals) == 1 else vals


def _write_text(path: str, text: str) -> None:
    from ..atomic import atomic_write

    with atomic_write(path, "w") as f:
        f.write(text)
    print(_("wrote {path}").format(path=path))


def _outputs(rep, args: argparse.Namespace) -> None:
    if args.out:
        print(_("wrote {path}").format(path=rep.plot(args.out)))
    if args.markdown:
        _write_text(args.markdown, rep.to_markdown())
    if args.latex:
        _write_text(args.latex, rep.to_latex())
    if args.pdf:
        _write_pdf(rep, args.pdf)


def _write_pdf(rep, path: str) -> None:
    """The report's HTML with its plot inlined (SVG), printed to ``path``."""
    import base64
    import tempfile
    from pathlib import Path

    from ..pdf import write_page_pdf

    with tempfile.TemporaryDirectory(prefix="dagrad-vanishing-") as tmp:
        plot = Path(rep.plot(Path(tmp) / "plot.svg")).read_bytes()
    import html

    figure = (f'<p><img alt="{html.escape(_("the plot"))}" src="data:image/svg+xml;base64,'
              f'{base64.b64encode(plot).decode("ascii")}"></p>')
    title = _("dagrad vanishing — gradient flow") if hasattr(rep, "cases") else \
        _("dagrad vanishing — the chain {chain}, n = {n}").format(chain="h_i = σ(w_i h_(i−1))",
                                                                  n=rep.n)
    print(_("wrote {path}").format(path=write_page_pdf(path, title,
                                                      figure + rep._repr_html_())))


def _check_suffix(args: argparse.Namespace) -> None:
    if args.out and not args.out.lower().endswith((".png", ".svg")):
        raise ValueError(_("-o/--out must end in .png or .svg, got {path!r}").format(
            path=args.out))


def run_chain(args: argparse.Namespace) -> int:
    """The sheet's chain: tables, answer, optional derivation and plot; 1 when a check fails."""
    from ..cli import UsageError
    from ..explain.vanishing_chain.scalar_chain import vanishing
    from ..explain.vanishing_chain.text import answer_text

    given = [f"--{k}" for k in _MLP_ONLY if getattr(args, k) is not None]
    if given:
        raise UsageError(_("{options}: only with --mlp").format(options=", ".join(given)))
    depths = _ints(args.depth, "--depth")
    if len(depths) != 1:
        raise UsageError(_("the chain takes one --depth (the number of layers n)"))
    acts = split_list(args.activations or "sigmoid,tanh,relu")
    from .graph import echo_reading

    for act in acts:
        echo_reading(act, label=_("activation {name}: ").format(name=act))
    rep = vanishing(depths[0], acts, weights=_weights(args.weights), x=args.x, seed=args.seed)
    if getattr(args, "solutions", "on") != "on":  # the worksheet or the key
        from .sheets import run_vanishing

        return run_vanishing(args, rep)
    if args.derivation:
        print(rep.derivation("text"), end="\n\n")
    print(rep._setup(), end="\n\n")
    print(rep.table(max_rows=args.rows or None), end="\n\n")
    print(answer_text(rep))
    _outputs(rep, args)
    if not rep.ok:
        for line in rep.failures():
            print(_("dagrad vanishing: CHECK FAILED: {failure}").format(failure=line),
                  file=sys.stderr)
        return 1
    return 0


def run_mlp(args: argparse.Namespace) -> int:
    """Gradient flow in deep MLPs on real digits: the ratio table and the plot."""
    from ..cli import UsageError
    from ..explain.vanishing_chain.flow import gradient_flow

    if args.weights is not None:
        raise UsageError(_("--weights applies to the chain, not to --mlp"))
    if getattr(args, "solutions", "on") != "on":
        raise UsageError(_("--solutions applies to the chain (exercise a), not to --mlp"))
    rep = gradient_flow(
        depth=_ints(args.depth, "--depth"),
        activations=split_list(args.activations or "tanh"),
        inits=split_list(args.init or "standard,xavier"),
        width=args.width or 256, batch=args.batch or 256,
        steps=50 if args.steps is None else args.steps, lr=args.lr or 0.1,
        seed=0 if args.seed is None else args.seed)
    print(rep)
    print("\n" + _("time per case: {times}").format(
        times=", ".join(f"{c.label}: {c.seconds:.1f} s" for c in rep.cases)))
    _outputs(rep, args)
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chain or, with --mlp, to the gradient-flow measurement."""
    _check_suffix(args)
    return run_mlp(args) if args.mlp else run_chain(args)
