"""Unicode superscripts and subscripts for picture labels: z⁽¹⁾ ∈ ℝ²⁵⁶, W₁₂.

Graphviz 2.43 places each differently styled run of a label by its own width estimate, so a
label mixing ``<SUP>`` runs with plain text overlaps in a browser; one plain run with Unicode
scripts cannot.  Characters without a Unicode form raise, so a label is never half converted.
"""

from __future__ import annotations

__all__ = ["sup", "sub"]

_SUP = dict(zip("0123456789+-−=()nix", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱˣ", strict=True))
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvx",
                "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))


def _convert(text: object, table: dict[str, str], what: str) -> str:
    s = str(text)
    missing = sorted({c for c in s if c not in table})
    if missing:
        raise ValueError(f"{what}: no Unicode form for {', '.join(map(repr, missing))} in {s!r}")
    return "".join(table[c] for c in s)


def sup(text: object) -> str:
    """``text`` in Unicode superscripts: sup("(1)") → "⁽¹⁾", sup(256) → "²⁵⁶"."""
    return _convert(text, _SUP, "sup")


def sub(text: object) -> str:
    """``text`` in Unicode subscripts: sub("ij") → "ᵢⱼ", sub(12) → "₁₂"."""
    return _convert(text, _SUB, "sub")
