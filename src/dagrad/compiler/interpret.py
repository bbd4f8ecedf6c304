"""Replay of a large plan: the generated lines run as a program of small compiled steps.

CPython compiles generated code at some microseconds per line, so a plan of hundreds of
thousands of steps cannot become one function in reasonable time.  Here each step's lines are
made canonical — every value, buffer and constant name becomes a slot of one list, numbered in
order of first use — and each distinct canonical text is compiled once into a step function
closed over its slot numbers.  A replay runs the steps in order over a fresh slot list: the
same expressions on the same objects as the generated function, so the same numbers, bit for
bit, and the same effects.
"""

from __future__ import annotations

import builtins
import itertools
import linecache
import re
from collections.abc import Callable
from types import FunctionType
from typing import Any

__all__ = ["Program"]

_counter = itertools.count()

#: A string literal (kept), a comment (dropped), or a name that is not an attribute (``.grad``)
#: nor a keyword argument (``out=``; generated assignments always have a space before ``=``).
_TOKEN = re.compile(r"('[^'\n]*'|\"[^\"\n]*\"|#[^\n]*|(?<![\w.])[A-Za-z]\w*(?!=(?!=)))")
#: The generated function's own locals: arguments, state loads, values, and A / T.
_LOCAL = re.compile(r"[avs]\d+|[AT]")


class Program:
    """Steps over slots.  ns: the generated function's namespace — names starting with ``_``
    are helpers (globals of every step), the others per-plan objects (slots filled once)."""

    def __init__(self, ns: dict[str, Any], label: str = "fn"):
        self.ns = ns
        self.glb: dict[str, Any] = {"__builtins__": builtins}
        self.glb.update((k, v) for k, v in ns.items() if k[0] == "_")
        self.slots: dict[str, int] = {"A": 0, "T": 1}
        self.kinds: dict[str, bool] = {}            # name -> is it a slot
        self.made: dict[str, Any] = {}              # canonical text -> the code of its steps
        self.tag = f"<dg.compile {label} #{next(_counter)} step"

    def slot(self, key: str | int) -> int:
        """The slot of a name — or of a local value's number (its name is ``v<vid>``) — a new
        one the first time."""
        k = self.slots.get(key)
        if k is None:
            k = self.slots[key] = len(self.slots)
        return k

    def code(self, text: str, n: int) -> Any:
        """The code of ``_step(_S, _j0, …)`` running canonical text (``_S[_jk]``: the k-th
        slot); a step is that code with its slot numbers as default arguments (one object per
        step, read as fast locals)."""
        code = self.made.get(text)
        if code is None:
            params = "".join(f", _j{k}=0" for k in range(n))
            lines = [line.rstrip() for line in text.split("\n") if line.strip()] or ["pass"]
            src = f"def _step(_S{params}):\n" + "".join(f"    {line}\n" for line in lines)
            filename = f"{self.tag} {len(self.made)}>"
            linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
            exec(builtins.compile(src, filename, "exec"), self.glb)
            code = self.made[text] = self.glb.pop("_step").__code__
        return code

    def canonical(self, lines: list[str], ret: bool = False) -> Callable:
        """A step running generated lines (``ret``: one expression, returned)."""
        pieces = _TOKEN.split("\n".join(lines))    # odd pieces: the tokens
        seen: dict[str, str] = {}
        order: list[int] = []
        kinds, slot, ns = self.kinds, self.slot, self.ns
        for i in range(1, len(pieces), 2):
            t = pieces[i]
            hit = seen.get(t)
            if hit is None:
                c = t[0]
                if c == "#":
                    pieces[i] = ""
                    continue
                is_slot = kinds.get(t)
                if is_slot is None:
                    is_slot = kinds[t] = c != "'" and c != '"' and (
                        (t in ns and c != "_") or _LOCAL.fullmatch(t) is not None)
                if not is_slot:
                    continue
                hit = seen[t] = f"_S[_j{len(order)}]"
                order.append(slot(int(t[1:]) if t[0] == "v" and t[1:].isdigit() else t))
            pieces[i] = hit
        text = "".join(pieces)
        code = self.code("return " + text if ret else text, len(order))
        return FunctionType(code, self.glb, "_step", tuple(order))

    def replay(self, steps: list[Callable], final: Callable) -> Callable:
        """replay(A, T): the steps in order over a fresh slot list, then final's value."""
        init: list[Any] = [None] * len(self.slots)
        ns = self.ns
        for name, k in self.slots.items():
            if name in ns:
                init[k] = ns[name]

        def replay(A: Any, T: Any) -> Any:
            S = init.copy()
            S[0] = A
            S[1] = T
            for s in steps:
                s(S)
            return final(S)

        replay.interpreted = True           # type: ignore[attr-defined]
        return replay
