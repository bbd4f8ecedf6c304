"""Check the chain of factor sizes a student wrote for ∇x L, ∇b1 L or ∇W1 L of the sheet's MLP.

The sheet's chains and their factors' sizes are the ones exercise (c)'s explainer builds
(:mod:`dagrad.explain.mlp_jacobians`: ``chain_names``, ``sample_factors`` and the bonus's
``weight_products``), for the layer sizes asked (784-256-256-10 by default), never typed here
again.  A product of sizes is defined when each factor has as many rows as the one before it
has columns (for a 3-tensor: its first axis); the diagnosis names the first undefined product,
and a defined chain that is not the sheet's is aligned with it (missing, extra or replaced
factors) and its result size compared with the gradient's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..i18n import _
from .report import RIGHT, WRONG, CheckReport, Table

__all__ = ["sizes", "sheet_chains", "parse_sizes", "QUANTITIES", "SHEET_SIZES"]

SHEET_SIZES = (784, 256, 256, 10)
QUANTITIES = {"grad_x": "∇x L", "grad_b1": "∇b1 L", "grad_W1": "∇W1 L"}
MAX_WEIGHTS = 50_000_000  # entries of the MLP built to read the sizes off (--sizes-of)

Shape = tuple[int, ...]


@dataclass(frozen=True)
class SheetChain:
    """One way the sheet writes the quantity: a label, (factor name, size) pairs, the result."""

    label: str
    factors: tuple[tuple[str, Shape], ...]
    result: Shape


def size_text(shape: Shape) -> str:
    """"1×10", "256×200,704"."""
    return "×".join(f"{d:,}" for d in shape)


def _jacobian_name(name: str) -> str:
    """"J_z2(z1)" -> "∂z2/∂z1"; other names as they are."""
    m = re.fullmatch(r"J_(\w+)\((\w+)\)", name)
    return f"∂{m.group(1)}/∂{m.group(2)}" if m else name


def sheet_chains(layer_sizes: Sequence[int] = SHEET_SIZES) -> dict[str, list[SheetChain]]:
    """Every chain the exercise (c) explainer displays for ∇x L, ∇b1 L and ∇W1 L, with sizes."""
    import dagrad as dg

    from ..explain.mlp_jacobians.factors import chain_names, sample_factors
    from ..explain.mlp_jacobians.model import inspect_mlp, numpy_forward
    from ..explain.mlp_jacobians.weight_gradient import weight_products

    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(_("--sizes-of {sizes}: give at least two positive layer sizes, e.g. "
                           "784,256,256,10").format(sizes=layer_sizes))
    weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    if weights > MAX_WEIGHTS:
        raise ValueError(_("--sizes-of {sizes}: {n} weights, above the {limit} this check "
                           "builds").format(sizes=",".join(map(str, sizes)), n=f"{weights:,}",
                                            limit=f"{MAX_WEIGHTS:,}"))
    with dg.no_grad():
        spec = inspect_mlp(dg.nn.MLP(sizes, activation="tanh"))
    x = np.zeros((1, sizes[0]))
    values = {k: v[0] for k, v in numpy_forward(spec, x, np.array([0])).items()}
    f = sample_factors(spec, values, 0)
    depth = spec.depth
    n, m = sizes[1], sizes[0]

    def named(pairs: list[tuple[str, str]]) -> list[tuple[str, Shape]]:
        return [(_jacobian_name(f"J_{o}({i})"), f[f"J_{o}({i})"].shape) for o, i in pairs]

    out: dict[str, list[SheetChain]] = {}
    for q, target in (("grad_x", "x"), ("grad_b1", "b1")):
        dim = m if target == "x" else n
        out[q] = [SheetChain(_("{q} at the layer level").format(q=QUANTITIES[q]), tuple(named(
            chain_names(depth, target, "layer"))), (1, dim)),
            SheetChain(_("{q} at the fine level (every activation and affine step)").format(
                q=QUANTITIES[q]), tuple(named(chain_names(depth, target, "fine"))), (1, dim))]
    forms = weight_products(np.zeros(n), np.zeros(m), None, lambda: np.zeros(0))
    jw = forms["vec"].factors[1]
    w_factor = (_jacobian_name(jw.name), tuple(jw.shape))
    layer = chain_names(depth, "b1", "layer")[:-1] + [("z1", "o1")]
    fine = chain_names(depth, "b1", "fine")[:-1]
    out["grad_W1"] = [
        SheetChain(_("{q} at the layer level").format(q="vec(∇W1 L)"),
                   (*named(layer), w_factor), tuple(forms["vec"].shape)),
        SheetChain(_("{q} at the fine level").format(q="vec(∇W1 L)"),
                   (*named(fine), w_factor), tuple(forms["vec"].shape))]
    for key, label in (("vec", "vec(∇W1 L) = δ1 · J_o1(W1)"), ("outer", "∇W1 L = δ1ᵀ · xᵀ"),
                       ("tensor", _("{q}, the 3-tensor").format(q="J_L(W1) = δ1 · J_o1(W1)"))):
        p = forms[key]
        out["grad_W1"].append(SheetChain(label, tuple((_jacobian_name(o.name), tuple(o.shape))
                                                      for o in p.factors), tuple(p.shape)))
    return out


_SIZE = re.compile(r"\d[\d,]*(?:(?:\s*[x×X]\s*|\*)\d[\d,]*)+")
_SEPARATOR = re.compile(r"\s*(?:[·⋅@.]|\*|\s)\s*|\s+")


def _dims(token: str) -> Shape:
    return tuple(int(d.replace(",", "")) for d in re.split(r"\s*[x×X*]\s*", token))


def parse_sizes(text: str) -> tuple[list[Shape], Shape | None]:
    """"1x10 · 10x256 → 1x256" -> ([(1, 10), (10, 256)], (1, 256)); × x X * between
    dimensions, · ⋅ @ . * or blanks between factors, an optional result after → -> or =."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(_("--sizes: empty; write the factors' sizes, e.g. "
                           "'1x10 · 10x256 · 256x256 · 256x784'"))
    if len(text) > 2000:
        raise ValueError(_("--sizes: too long ({n} characters; limit 2000)").format(
            n=len(text)))
    parts = re.split(r"→|->|=", text, maxsplit=1)
    body, result_text = (parts[0], parts[1]) if len(parts) == 2 else (text, None)
    shapes: list[Shape] = []
    pos = 0
    for match in _SIZE.finditer(body):
        gap = body[pos:match.start()]
        if (shapes and not _SEPARATOR.fullmatch(gap)) or (not shapes and gap.strip()):
            raise ValueError(_("--sizes {text!r}: cannot read {what!r}; write sizes only, e.g. "
                               "'1x10 · 10x256'").format(text=text, what=gap.strip()))
        shapes.append(_dims(match.group()))
        pos = match.end()
    if body[pos:].strip() or not shapes:
        raise ValueError(_("--sizes {text!r}: cannot read {what!r}; write sizes only, e.g. "
                           "'1x10 · 10x256'").format(text=text, what=body[pos:].strip() or body))
    result = None
    if result_text is not None:
        m = _SIZE.fullmatch(result_text.strip())
        if not m:
            raise ValueError(_("--sizes {text!r}: the result {what!r} is not a size such as "
                               "1x784").format(text=text, what=result_text.strip()))
        result = _dims(m.group())
    if any(d == 0 for s in shapes for d in s):
        raise ValueError(_("--sizes {text!r}: a size of 0 is no matrix").format(text=text))
    return shapes, result


def _breaks(shapes: list[Shape]) -> list[str]:
    out = []
    for a, b in zip(shapes, shapes[1:], strict=False):
        if a[-1] != b[0]:
            out.append(_("{a} cannot be followed by {b}: {cols} ≠ {rows} (columns of the left "
                         "factor against rows of the right)").format(
                             a=size_text(a), b=size_text(b), cols=f"{a[-1]:,}",
                             rows=f"{b[0]:,}"))
    return out


def _product(shapes: list[Shape]) -> Shape:
    shape = shapes[0]
    for s in shapes[1:]:
        shape = shape[:-1] + s[1:]
    return shape


def _align(yours: list[Shape], sheet: SheetChain) -> tuple[int, list[str]]:
    """Edit distance between the size sequences and what each edit means."""
    want = [s for _, s in sheet.factors]
    a, b = len(yours), len(want)
    D = [[0] * (b + 1) for _ in range(a + 1)]
    for i in range(a + 1):
        D[i][0] = i
    for j in range(b + 1):
        D[0][j] = j
    for i in range(1, a + 1):
        for j in range(1, b + 1):
            D[i][j] = min(D[i - 1][j] + 1, D[i][j - 1] + 1,
                          D[i - 1][j - 1] + (yours[i - 1] != want[j - 1]))
    notes: list[str] = []
    i, j = a, b
    while i or j:
        if i and j and D[i][j] == D[i - 1][j - 1] + (yours[i - 1] != want[j - 1]):
            if yours[i - 1] != want[j - 1]:
                name, s = sheet.factors[j - 1]
                t = _(" (its transpose)") if yours[i - 1] == s[::-1] else ""
                notes.append(_("has {yours}{t} where the sheet has {name} ({size})").format(
                    yours=size_text(yours[i - 1]), t=t, name=name, size=size_text(s)))
            i, j = i - 1, j - 1
        elif j and D[i][j] == D[i][j - 1] + 1:
            name, s = sheet.factors[j - 1]
            notes.append(_("has no {name} ({size})").format(name=name, size=size_text(s)))
            j -= 1
        else:
            notes.append(_("has an extra {size} (factor {i}) that the sheet's chain does not "
                           "have").format(size=size_text(yours[i - 1]), i=i))
            i -= 1
    return D[a][b], notes[::-1]


def sizes(quantity: str, chain: str, *, layer_sizes: Sequence[int] = SHEET_SIZES
          ) -> CheckReport:
    """Check the sizes of the factors of ∇x L, ∇b1 L or ∇W1 L (``quantity``: grad_x, grad_b1,
    grad_W1) against the sheet's chains for an MLP of ``layer_sizes``."""
    if quantity not in QUANTITIES:
        raise ValueError(_("--quantity {quantity!r}: choose one of {names}").format(
            quantity=quantity, names=", ".join(QUANTITIES)))
    shapes, claimed = parse_sizes(chain)
    chains = sheet_chains(layer_sizes)[quantity]
    name = QUANTITIES[quantity]
    arch = "-".join(map(str, layer_sizes))
    question = _("the sizes of the factors of {name} for the {arch} MLP").format(name=name,
                                                                                 arch=arch)
    table = Table(_("the sheet's chains"), [_("form"), _("factors"), _("result")],
                  [[c.label, " · ".join(f"{n} ({size_text(s)})" for n, s in c.factors),
                    size_text(c.result)] for c in chains])
    yours = [tuple(s) for s in shapes]
    match = next((c for c in chains if [s for _, s in c.factors] == yours), None)
    breaks = _breaks(yours)
    diagnosis: list[str] = []
    if match is not None and not breaks:
        result = _product(yours)
        ok = claimed is None or claimed == result
        diagnosis.append(_("it is the sheet's {label}: {chain}").format(
            label=match.label, chain=" · ".join(f"{n} ({size_text(s)})" for n, s in match.factors)
            + f" → {size_text(result)}"))
        if not ok:
            diagnosis.append(_("but the product is {result}, not the {claimed} you wrote").format(
                result=size_text(result), claimed=size_text(claimed)))
        report = CheckReport("sizes", question, chain, RIGHT if ok else WRONG,
                             _("compared with the chains of exercise (c)'s explainer"), diagnosis,
                             tables=[table])
        report.data.update(match=match, shapes=yours)
        return report
    best = min(chains, key=lambda c: _align(yours, c)[0])
    edits = _align(yours, best)[1]
    written = " · ".join(size_text(s) for s in yours)
    if breaks:
        diagnosis += [_("the product is not defined: {why}").format(why=b) for b in breaks]
        diagnosis += [_("compared with the sheet's {label}, yours {edit}").format(
            label=best.label, edit=n) for n in edits]
    else:
        result = _product(yours)
        if result == best.result:
            diagnosis.append(_("{written} gives the right {result} but {what}").format(
                written=written, result=size_text(result),
                what=_(" and ").join(edits) or _("is not the sheet's chain")))
        else:
            diagnosis.append(_("{written} gives {result}, but {name} is {right}").format(
                written=written, result=size_text(result), name=name,
                right=size_text(best.result)))
            diagnosis += [_("compared with the sheet's {label}, yours {edit}").format(
                label=best.label, edit=n) for n in edits]
        if claimed is not None and claimed != result:
            diagnosis.append(_("the product is {result}, not the {claimed} you wrote").format(
                result=size_text(result), claimed=size_text(claimed)))
    report = CheckReport("sizes", question, chain, WRONG,
                         _("compared with the chains of exercise (c)'s explainer"), diagnosis,
                         tables=[table])
    report.data.update(match=None, closest=best, shapes=yours)
    return report
