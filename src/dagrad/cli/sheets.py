"""--solutions off|only: the worksheet or the key of tour, rosenbrock, vanishing, mlp-jacobians.

Each command hands over here when ``--solutions`` is not ``on``.  ``off`` writes what a teacher
hands out — the DAG (drawn without values and without edge formulas), what is given and the
numbered blanks — and nothing that holds an answer (the stepper page and the plots are refused,
since they show the answers).  ``only`` writes the key: the numbered answers, and the pictures
with their values.  ``--pdf PATH`` prints the worksheet or the key (A4, through headless
Chromium) for handing out on paper.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ..explain.solutions import Solutions, Worksheet
from ..i18n import _

ROSENBROCK = "f(x1, x2) = 100(x2 − x1²)² + (1 − x1)²"


def mode_of(args: argparse.Namespace) -> Solutions:
    """The command's --solutions (on when the command has no such option)."""
    return Solutions.of(getattr(args, "solutions", None))


def _refuse(args: argparse.Namespace, mode: Solutions, *names: str) -> None:
    """Refuse options whose output would show the answers (off), or that have no sheet."""
    from . import UsageError

    for name in names:
        value = getattr(args, name.lstrip("-").replace("-", "_"), None)
        if value:
            why = (_("it shows the answers") if mode is Solutions.OFF else
                   _("it is the worked report, not the key"))
            raise UsageError(_("{option} cannot be used with --solutions {mode}: {why}").format(
                option=name, mode=mode.value, why=why))


def _write(path: str | Path, text: str) -> None:
    from ..atomic import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(_("wrote {path}").format(path=path))


def _page(title: str, body: str) -> str:
    """A sheet's page: the reports' page (print stylesheet, KaTeX) in the language in use."""
    from ..i18n import get_language
    from ..web.page import html_page

    return html_page(title, body, lang=get_language())


def _pdf(args: argparse.Namespace, html_path: Path) -> None:
    """``--pdf PATH``: print the sheet's page (its pictures beside it) on A4."""
    if getattr(args, "pdf", None):
        from ..pdf import write_pdf

        print(_("wrote {path}").format(path=write_pdf(html_path, args.pdf)))


# ----- rosenbrock -------------------------------------------------------------------------------
def rosenbrock_sheet(x1: float, x2: float) -> tuple[Worksheet, Any]:
    """Exercise (b)'s worksheet at (x1, x2) and the traced graph."""
    from ..explain import rosenbrock
    from ..explain.worksheets import function_dag

    g = rosenbrock(x1, x2).graph
    return function_dag(g, ROSENBROCK, given=[_("the point {point}").format(
        point=f"x1 = {x1:g}, x2 = {x2:g}")]), g


def draw(g: Any, path: str | Path, mode: Solutions, constants: str = "fold",
         rankdir: str = "LR") -> None:
    """The DAG: without values and edge formulas for a worksheet, with them for the key."""
    from ..dag.render import render

    show = mode is not Solutions.OFF
    render(g, path, values=show, formulas=show, constants=constants, rankdir=rankdir)
    print(_("wrote {path}").format(path=path))


def run_rosenbrock(args: argparse.Namespace, at: dict[str, float]) -> int:
    """``dagrad rosenbrock --solutions off|only``."""
    mode = mode_of(args)
    if mode is Solutions.OFF:
        _refuse(args, mode, "--html", "--quiz")
    sheet, g = rosenbrock_sheet(at["x1"], at["x2"])
    print(sheet.text(mode), end="")
    fold = "nodes" if getattr(args, "constant_nodes", False) else "fold"
    if getattr(args, "out", None):
        draw(g, args.out, mode, constants=fold, rankdir=getattr(args, "rankdir", "LR"))
    if getattr(args, "pdf", None):
        import tempfile

        from ..dag.render import render
        from ..web.page import write_page

        with tempfile.TemporaryDirectory(prefix="dagrad-sheet-") as tmp:  # page + its picture
            show = mode is not Solutions.OFF
            render(g, Path(tmp) / "dag.svg", values=show, formulas=show, constants=fold,
                   rankdir=getattr(args, "rankdir", "LR"))
            page = write_page(Path(tmp) / "sheet.html", sheet.title,
                              sheet.to_html(mode, "dag.svg"))
            _pdf(args, Path(page))
    if getattr(args, "html", None):
        g.to_html(args.html, constants=fold, title=ROSENBROCK, quiz=getattr(args, "quiz", False))
        print(_("wrote {path}").format(path=args.html))
    return 0


# ----- vanishing --------------------------------------------------------------------------------
def run_vanishing(args: argparse.Namespace, rep: Any) -> int:
    """``dagrad vanishing --solutions off|only`` for the chain ``rep``."""
    from ..explain.worksheets import vanishing_chain

    mode = mode_of(args)
    _refuse(args, mode, "--derivation")
    if mode is Solutions.OFF:
        _refuse(args, mode, "--out")
    sheet = vanishing_chain(rep)
    print(sheet.text(mode), end="")
    if getattr(args, "out", None):
        print(_("wrote {path}").format(path=rep.plot(args.out)))
    if getattr(args, "markdown", None):
        _write(args.markdown, sheet.to_markdown(mode))
    if getattr(args, "latex", None):
        _write(args.latex, sheet.to_latex(mode))
    if getattr(args, "pdf", None):
        from ..pdf import write_page_pdf

        print(_("wrote {path}").format(path=write_page_pdf(args.pdf, sheet.title,
                                                          sheet.to_html(mode))))
    return 0


# ----- mlp-jacobians ----------------------------------------------------------------------------
def _dag_without_sizes(dot: str) -> str:
    """The MLP's DAG with the Jacobians' sizes taken off the edges (they are questions)."""
    return re.sub(r"<BR/>[\d,]+(?:×[\d,]+)+>", ">", dot)


def write_mlp_sheet(rep: Any, out: Path, mode: Solutions, stem: str | None = None) -> list[str]:
    """worksheet.* (off) or key.* (only) and the DAG into ``out``; returns the names."""
    from ..explain.picture import render
    from ..explain.worksheets import jacobian_chain

    out.mkdir(parents=True, exist_ok=True)
    stem = stem or ("worksheet" if mode is Solutions.OFF else "key")
    sheet = jacobian_chain(rep)
    dot = rep.dag_dot("layer")
    if mode is Solutions.OFF:
        dot = _dag_without_sizes(dot)
    written = []
    try:
        render(dot, str(out / f"{stem}-dag.svg"))
        picture: str | None = f"{stem}-dag.svg"
        written.append(picture)
    except (ImportError, RuntimeError) as e:
        print(_("note: no DAG picture ({reason})").format(reason=e))
        picture = None
    for name, text in ((f"{stem}.md", sheet.to_markdown(mode, picture)),
                       (f"{stem}.tex", sheet.to_latex(mode)),
                       (f"{stem}.html", _page(sheet.title, sheet.to_html(mode, picture)))):
        _write(out / name, text)
        written.append(name)
    print(sheet.text(mode), end="")
    return written


def run_mlp_jacobians(args: argparse.Namespace, model: Any, x: Any, label: int) -> int:
    """``dagrad mlp-jacobians --solutions off|only`` for one digit."""
    import dagrad as dg

    mode = mode_of(args)
    rep = dg.explain.jacobian_chain(model, x, label, dense=False)
    names = write_mlp_sheet(rep, Path(args.out), mode)
    _pdf(args, Path(args.out) / next(n for n in names if n.endswith(".html")))
    return 0


# ----- tour -------------------------------------------------------------------------------------
def run_tour(args: argparse.Namespace) -> int:
    """``dagrad tour --solutions off|only``: the worksheets (or keys) of (a), (b) and (c)."""
    import numpy as np

    import dagrad as dg

    from ..explain.vanishing_chain.scalar_chain import vanishing
    from ..explain.worksheets import vanishing_chain
    from ..tour import part_a, part_b, part_c
    from . import UsageError

    mode = mode_of(args)
    keys = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else ["a", "b",
                                                                                     "c"]
    unknown = [k for k in keys if k not in ("a", "b", "c", "train")]
    if unknown:
        raise UsageError(_("--only: unknown part {parts}; choose from a, b, c, train").format(
            parts=", ".join(unknown)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kind = "worksheet" if mode is Solutions.OFF else "key"
    html_parts, md_parts = [], []
    if "a" in keys:
        sheet = vanishing_chain(vanishing(part_a.DEPTH, part_a.ACTIVATIONS, seed=0))
        html_parts.append(sheet.to_html(mode))
        md_parts.append(sheet.to_markdown(mode))
    if "b" in keys:
        sheet, g = rosenbrock_sheet(part_b.X1, part_b.X2)
        (out / "b").mkdir(exist_ok=True)
        draw(g, out / "b" / f"rosenbrock-{kind}.svg", mode)
        html_parts.append(sheet.to_html(mode, f"b/rosenbrock-{kind}.svg"))
        md_parts.append(sheet.to_markdown(mode, f"b/rosenbrock-{kind}.svg"))
    if "c" in keys:
        X, y = dg.data.load_sample("test")
        model = dg.nn.MLP(part_c.SIZES, activation="tanh", output="softmax", seed=0)
        rep = dg.explain.jacobian_chain(model, X[0].reshape(-1).astype(np.float64) / 255,
                                        int(y[0]), dense=False)
        names = write_mlp_sheet(rep, out / "c", mode)
        from ..explain.worksheets import jacobian_chain

        sheet = jacobian_chain(rep)
        html_parts.append(sheet.to_html(mode, f"c/{names[0]}" if names[0].endswith(".svg")
                                        else None))
        md_parts.append(sheet.to_markdown(mode))
    if "train" in keys:
        print(_("note: the training run asks no questions; it has no worksheet"))
    title = (_("dagrad — the exercise sheet on backpropagation: worksheet")
             if mode is Solutions.OFF else
             _("dagrad — the exercise sheet on backpropagation: key"))
    _write(out / f"{kind}.md", f"# {title}\n\n" + "\n".join(md_parts))
    index = out / f"{kind}.html"
    _write(index, _page(title, f"<h1>{title}</h1>\n" + "\n".join(html_parts)))
    print((_("worksheet: {path}") if mode is Solutions.OFF else _("key: {path}")).format(
        path=index.resolve()))
    _pdf(args, index)
    return 0
