"""Run the tour's parts and assemble ``index.html`` and ``report.md`` from their sections.

Each part reports its *independent checks* (:class:`Check`: a result computed by dagrad, the
oracle it is compared with, pass or fail) in ``Section.checks``; the page lists exactly those,
per part, with their oracles, and its opening sentence is generated from them — nothing here
names a check a part did not report.  ``Section.ok`` covers the rest of what a part expects
(a bound holding, an accuracy reached); a failed check makes it False too.
"""

from __future__ import annotations

import html
import importlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write
from ..i18n import N_, _, get_language

# part key -> (module, title); the title is an English msgid: _(title) where it is shown
PARTS: dict[str, tuple[str, str]] = {
    "a": (".part_a", N_("(a) Vanishing gradients in a deep chain")),
    "b": (".part_b", N_("(b) The Rosenbrock function as a DAG")),
    "c": (".part_c", N_("(c) The MLP's gradient as a chain of Jacobians")),
    "train": (".part_train", N_("Training the sheet's MLP on real digits")),
}


def title(key: str) -> str:
    """The title of part ``key`` in the current language."""
    return _(PARTS[key][1])


@dataclass(frozen=True)
class Check:
    """One independent check: ``subject`` against ``oracle``, two computations of one quantity
    that share no derivative code (dagrad's autodiff vs a closed form, SymPy, finite
    differences; or a hand-written Jacobian product vs dagrad's backprop)."""

    name: str
    subject: str
    oracle: str  # the oracle, described
    passed: bool
    detail: str = ""
    kind: str = ""  # the oracle's kind in a word or two: "closed form", "SymPy", "backprop", …

    def __post_init__(self) -> None:
        if not self.subject or not self.oracle or self.subject == self.oracle:
            raise ValueError(f"check {self.name!r}: needs a subject and a different oracle, "
                             f"got {self.subject!r} and {self.oracle!r}")

    @property
    def oracle_kind(self) -> str:
        return self.kind or self.oracle

    @property
    def mark(self) -> str:
        return "✓" if self.passed else _("✗ FAILED")


@dataclass
class Section:
    """One part of the report: what the terminal prints and what the page shows."""

    key: str
    title: str
    summary: list[str]
    html: str
    markdown: str
    files: list[str] = field(default_factory=list)
    ok: bool = True
    seconds: float = 0.0
    checks: list[Check] = field(default_factory=list)

    @property
    def checks_passed(self) -> int:
        return sum(c.passed for c in self.checks)

    def status(self) -> str:
        """'2 of 2 independent checks pass', or what failed; the part's other expectations."""
        n, k = len(self.checks), self.checks_passed
        one, many = _("{k} of {n} independent check passes"), _("{k} of {n} independent "
                                                                 "checks pass")
        text = ((one if n == 1 else many).format(k=k, n=n) if n else
                _("no independent checks listed"))
        if k < n:
            return text + _(" — CHECK FAILED, see below")
        return text + (_("; expected results hold") if self.ok else
                       _("; an expected result did not hold — see below"))


def headline(sections: Sequence[Section]) -> str:
    """What the page claims about its checks, generated from the checks the parts reported."""
    checks = [c for s in sections for c in s.checks]
    if not checks:
        return _("No part of this report lists an independent check.")
    parts = []
    for s in sections:
        if s.checks:
            kinds = Counter(c.oracle_kind for c in s.checks)
            parts.append(f"{s.title.split(' ', 1)[0]} {len(s.checks)}: "
                         + ", ".join(_("{k} against {oracle}").format(k=k, oracle=o)
                                     for o, k in kinds.items()))
    text = _("{passed} of {n} independent checks pass ({parts}); each compares two "
             "computations of one quantity that share no derivative code, both named with the "
             "check.").format(passed=sum(c.passed for c in checks), n=len(checks),
                              parts="; ".join(parts))
    none = [s.title for s in sections if not s.checks]
    if none:
        text += " " + _("Listed without independent checks: {parts}.").format(
            parts="; ".join(none))
    return text


def _checks_html(s: Section) -> str:
    if not s.checks:
        return ""
    rows = "".join(f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.subject)}</td>"
                   f"<td>{html.escape(c.oracle)}</td><td>{html.escape(c.detail)}</td>"
                   f'<td class="{"ok" if c.passed else "bad"}">{html.escape(c.mark)}</td></tr>'
                   for c in s.checks)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   (_("check"), _("computed by"), _("oracle"), _("details"), ""))
    return (f"<h3>{html.escape(_('Independent checks'))}</h3><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{rows}</tbody></table>")


def _checks_markdown(s: Section) -> str:
    if not s.checks:
        return ""
    lines = [_("**Independent checks** (what is checked: computed by … vs oracle):"), ""]
    lines += [f"- {c.mark} {c.name}: "
              + _("{subject} vs {oracle}").format(subject=c.subject, oracle=c.oracle)
              + (f" ({c.detail})" if c.detail else "") for c in s.checks]
    return "\n".join(lines) + "\n\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d2330;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #dde3ee;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
td,th{border:1px solid #d5dbe6;padding:.25em .55em;text-align:right}
th{background:#f1f4f9} pre{background:#f6f8fb;padding:.8em;overflow-x:auto;font-size:.85em}
img{max-width:100%;height:auto;border:1px solid #e3e7ef;margin:.5em 0}
.ok{color:#16733a} .bad{color:#b3261e}
nav a{margin-right:1em} .files a{margin-right:.8em;font-size:.9em}
summary{cursor:pointer;color:#2a5db0;margin:.6em 0}
"""


def _page(sections: Sequence[Section], seconds: float) -> str:
    """The report page: one ``dg-part`` section per part (a new printed page each), the print
    stylesheet, and KaTeX inlined where a part shows formulas."""
    from ..web.page import html_page

    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    body = []
    for s in sections:
        status = f'<span class="{"ok" if s.ok else "bad"}">{html.escape(s.status())}</span>'
        files = "".join(f'<a href="{html.escape(f)}">{html.escape(f)}</a>' for f in s.files)
        body.append(f'<section id="{s.key}" class="dg-part"><h2>{html.escape(s.title)}</h2>'
                    f"<p>{status} · {s.seconds:.1f} s</p>"
                    f'<p class="files">{html.escape(_("files:"))} {files}</p>'
                    "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in s.summary)
                    + f"</ul>{_checks_html(s)}{s.html}</section>")
    made = html.escape(_("Made by {command} in {seconds} s.")).format(
        command="<code>dagrad tour</code>", seconds=f"{seconds:.1f}")
    return html_page("dagrad tour",
                     f"<h1>{html.escape(_('dagrad — the exercise sheet, worked'))}</h1>"
                     f"<p>{html.escape(_('Backpropagation you can see and trust.'))} "
                     f"{html.escape(headline(sections))} {made}</p>"
                     f"<nav>{nav}</nav>{''.join(body)}", css=_CSS, lang=get_language())


def write_report(out: Path, sections: Sequence[Section], seconds: float) -> Path:
    """Write ``index.html`` and ``report.md`` for the sections; return the index path."""
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    with atomic_write(index, "w") as f:
        f.write(_page(sections, seconds))
    md = f"# {_('dagrad — the exercise sheet, worked')}\n\n{headline(sections)}\n\n" + "\n\n".join(
        f"## {s.title}\n\n{s.status()}\n\n{_checks_markdown(s)}" + s.markdown.strip()
        for s in sections) + "\n"
    with atomic_write(out / "report.md", "w") as f:
        f.write(md)
    return index


def run_tour(out: Path, only: Sequence[str] | None = None,
             log: Callable[[str], object] = print) -> tuple[list[Section], Path]:
    """Run the chosen parts (all by default) into ``out``; print a summary; return sections."""
    keys = list(only) if only else list(PARTS)
    unknown = [k for k in keys if k not in PARTS]
    if unknown:
        raise ValueError(_("--only: unknown part {parts}; choose from {choices}").format(
            parts=", ".join(unknown), choices=", ".join(PARTS)))
    t0 = time.perf_counter()
    sections = []
    for key in keys:
        module = PARTS[key][0]
        log(f"{title(key)} …")
        start = time.perf_counter()
        part = importlib.import_module(module, __package__)
        section = part.run(out)
        section.seconds = time.perf_counter() - start
        if section.checks_passed < len(section.checks):
            section.ok = False
        for line in section.summary:
            log("  " + line)
        for c in section.checks:
            if not c.passed:
                log("  " + _("CHECK FAILED: {name}: {subject} vs {oracle}").format(
                    name=c.name, subject=c.subject, oracle=c.oracle)
                    + (f" ({c.detail})" if c.detail else ""))
        log(f"  {section.status()}")
        sections.append(section)
    index = write_report(out, sections, time.perf_counter() - t0)
    return sections, index
