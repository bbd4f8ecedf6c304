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
        raise ValueError(f"--sizes-of {layer_sizes}: give at least two positive layer sizes, "
                         "e.g. 784,256,256,10")
    weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    if weights > MAX_WEIGHTS:
        raise ValueError(f"--sizes-of {','.join(map(str, sizes))}: {weights:,} weights, above "
                         f"the {MAX_WEIGHTS:,} this check builds")
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
        out[q] = [SheetChain(f"{QUANTITIES[q]} at the layer level", tuple(named(
            chain_names(depth, target, "layer"))), (1, dim)),
            SheetChain(f"{QUANTITIES[q]} at the fine level (every activation and affine step)",
                       tuple(named(chain_names(depth, target, "fine"))), (1, dim))]
    forms = weight_products(np.zeros(n), np.zeros(m), None, lambda: np.zeros(0))
    jw = forms["vec"].factors[1]
    w_factor = (_jacobian_name(jw.name), tuple(jw.shape))
    layer = chain_names(depth, "b1", "layer")[:-1] + [("z1", "o1")]
    fine = chain_names(depth, "b1", "fine")[:-1]
    out["grad_W1"] = [
        SheetChain("vec(∇W1 L) at the layer level", (*named(layer), w_factor),
                   tuple(forms["vec"].shape)),
        SheetChain("vec(∇W1 L) at the fine level", (*named(fine), w_factor),
                   tuple(forms["vec"].shape))]
    for key, label in (("vec", "vec(∇W1 L) = δ1 · J_o1(W1)"), ("outer", "∇W1 L = δ1ᵀ · xᵀ"),
                       ("tensor", "J_L(W1) = δ1 · J_o1(W1), the 3-tensor")):
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
        raise ValueError("--sizes: empty; write the factors' sizes, e.g. "
                         "'1x10 · 10x256 · 256x256 · 256x784'")
    if len(text) > 2000:
        raise ValueError(f"--sizes: too long ({len(text)} characters; limit 2000)")
    parts = re.split(r"→|->|=", text, maxsplit=1)
    body, result_text = (parts[0], parts[1]) if len(parts) == 2 else (text, None)
    shapes: list[Shape] = []
    pos = 0
    for match in _SIZE.finditer(body):
        gap = body[pos:match.start()]
        if (shapes and not _SEPARATOR.fullmatch(gap)) or (not shapes and gap.strip()):
            raise ValueError(f"--sizes {text!r}: cannot read {gap.strip()!r}; write sizes only, "
                             "e.g. '1x10 · 10x256'")
        shapes.append(_dims(match.group()))
        pos = match.end()
    if body[pos:].strip() or not shapes:
        raise ValueError(f"--sizes {text!r}: cannot read {body[pos:].strip() or body!r}; "
                         "write sizes only, e.g. '1x10 · 10x256'")
    result = None
    if result_text is not None:
        m = _SIZE.fullmatch(result_text.strip())
        if not m:
            raise ValueError(f"--sizes {text!r}: the result {result_text.strip()!r} is not a "
                             "size such as 1x784")
        result = _dims(m.group())
    if any(d == 0 for s in shapes for d in s):
        raise ValueError(f"--sizes {text!r}: a size of 0 is no matrix")
    return shapes, result


def _breaks(shapes: list[Shape]) -> list[str]:
    out = []
    for a, b in zip(shapes, shapes[1:], strict=False):
        if a[-1] != b[0]:
            out.append(f"{size_text(a)} cannot be followed by {size_text(b)}: "
                       f"{a[-1]:,} ≠ {b[0]:,} (columns of the left factor against rows of the "
                       "right)")
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
                t = " (its transpose)" if yours[i - 1] == s[::-1] else ""
                notes.append(f"has {size_text(yours[i - 1])}{t} where the sheet has {name} "
                             f"({size_text(s)})")
            i, j = i - 1, j - 1
        elif j and D[i][j] == D[i][j - 1] + 1:
            name, s = sheet.factors[j - 1]
            notes.append(f"has no {name} ({size_text(s)})")
            j -= 1
        else:
            notes.append(f"has an extra {size_text(yours[i - 1])} (factor {i}) that the "
                         "sheet's chain does not have")
            i -= 1
    return D[a][b], notes[::-1]


def sizes(quantity: str, chain: str, *, layer_sizes: Sequence[int] = SHEET_SIZES
          ) -> CheckReport:
    """Check the sizes of the factors of ∇x L, ∇b1 L or ∇W1 L (``quantity``: grad_x, grad_b1,
    grad_W1) against the sheet's chains for an MLP of ``layer_sizes``."""
    if quantity not in QUANTITIES:
        raise ValueError(f"--quantity {quantity!r}: choose one of {', '.join(QUANTITIES)}")
    shapes, claimed = parse_sizes(chain)
    chains = sheet_chains(layer_sizes)[quantity]
    name = QUANTITIES[quantity]
    arch = "-".join(map(str, layer_sizes))
    question = f"the sizes of the factors of {name} for the {arch} MLP"
    table = Table("the sheet's chains", ["form", "factors", "result"],
                  [[c.label, " · ".join(f"{n} ({size_text(s)})" for n, s in c.factors),
                    size_text(c.result)] for c in chains])
    yours = [tuple(s) for s in shapes]
    match = next((c for c in chains if [s for _, s in c.factors] == yours), None)
    breaks = _breaks(yours)
    diagnosis: list[str] = []
    if match is not None and not breaks:
        result = _product(yours)
        ok = claimed is None or claimed == result
        diagnosis.append(f"it is the sheet's {match.label}: " + " · ".join(
            f"{n} ({size_text(s)})" for n, s in match.factors) + f" → {size_text(result)}")
        if not ok:
            diagnosis.append(f"but the product is {size_text(result)}, not the "
                             f"{size_text(claimed)} you wrote")
        report = CheckReport("sizes", question, chain, RIGHT if ok else WRONG,
                             "compared with the chains of exercise (c)'s explainer", diagnosis,
                             tables=[table])
        report.data.update(match=match, shapes=yours)
        return report
    best = min(chains, key=lambda c: _align(yours, c)[0])
    edits = _align(yours, best)[1]
    written = " · ".join(size_text(s) for s in yours)
    if breaks:
        diagnosis += ["the product is not defined: " + b for b in breaks]
        diagnosis += [f"compared with the sheet's {best.label}, yours {n}" for n in edits]
    else:
        result = _product(yours)
        if result == best.result:
            diagnosis.append(f"{written} gives the right {size_text(result)} but "
                             + (" and ".join(edits) or "is not the sheet's chain"))
        else:
            diagnosis.append(f"{written} gives {size_text(result)}, but {name} is "
                             f"{size_text(best.result)}")
            diagnosis += [f"compared with the sheet's {best.label}, yours {n}" for n in edits]
        if claimed is not None and claimed != result:
            diagnosis.append(f"the product is {size_text(result)}, not the "
                             f"{size_text(claimed)} you wrote")
    report = CheckReport("sizes", question, chain, WRONG,
                         "compared with the chains of exercise (c)'s explainer", diagnosis,
                         tables=[table])
    report.data.update(match=None, closest=best, shapes=yours)
    return report
