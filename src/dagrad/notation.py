"""Student notation: math as students type it, rewritten token by token to the parser's spelling.

:func:`rewrite` runs before :func:`dagrad.expression.parse` hands the text to ``ast.parse``; it
never evaluates anything.  It turns the notation below into the canonical spelling (Python's
operators and the op table's function names) and refuses what a reader could take two ways,
with the spelling to use instead.  The column of every canonical character in the typed text
is kept, so the parser's messages still point at what the user typed.

=========================  ===============================  ====================================
typed                      read as                          note
=========================  ===============================  ====================================
``x^2``, ``x²``, ``x⁻¹``   ``x**2``, ``x**2``, ``x**-1``    ``^`` is a power (never XOR)
``2x``, ``2 x``, ``2(x+1)``  ``2*x``, ``2*x``, ``2*(x+1)``  a number before an operand
``2sin(x)``, ``2|x|``      ``2*sin(x)``, ``2*abs(x)``
``(x+1)(x-1)``, ``x²y``    ``(x+1)*(x-1)``, ``x**2*y``      a group, or a superscript, then more
``2·x``, ``2×x``, ``2⋅x``  ``2*x``
``−``, ``÷``               ``-``, ``/``                     (U+2212, U+00F7)
``|x|``                    ``abs(x)``                       bars pair by position, nest
``√x``, ``√(x+1)``         ``sqrt(x)``, ``sqrt(x+1)``       ``√`` takes the next operand
``ln(x)``                  ``log(x)``                       (the parser's ALIASES)
``max(0, x)``, ``min``     ``maximum(0, x)``, ``minimum``   (the parser's ALIASES)
``e^x``, ``e**x``          ``exp(x)``                       (the parser, for a variable power)
=========================  ===============================  ====================================

Refused as ambiguous, each with the spelling to write: ``2^3^2`` (``2^(3^2)`` or
``(2^3)^2``; a chain of ``**`` alone keeps Python's meaning), ``x y`` (``x*y``), ``sin x`` and
``sinx`` (``sin(x)``), ``ex`` (``e*x`` or ``exp(x)``), ``1/2x`` (``1/(2*x)`` or ``x/2``),
``e^2x`` (``e^(2*x)`` or ``e^2*x``), ``|x|y|`` (``abs(x)*y`` or ``abs(x*abs(y))``),
``√x^2`` (``sqrt(x^2)`` or ``sqrt(x)^2``), ``exp(x)(y)`` and ``2 3``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Collection
from dataclasses import dataclass

from .i18n import _

__all__ = ["NotationError", "Rewrite", "SUPERSCRIPTS", "SIGNS", "rewrite"]

#: Superscript characters and what they stand for in an exponent.
SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-", "⁺": "+"}
#: Other non-ASCII signs and their ASCII operator (``√`` and ``|`` are rewritten apart).
SIGNS = {"·": "*", "×": "*", "⋅": "*", "∙": "*", "−": "-", "÷": "/"}
#: Every non-ASCII character the notation accepts.
ACCEPTED = frozenset(SUPERSCRIPTS) | frozenset(SIGNS) | {"√"}

_TOKEN = re.compile(
    r"(?P<space>[ \t]+)"
    r"|(?P<number>0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
    r"|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)"
    r"|(?P<op>\*\*|//|<<|>>|<=|>=|==|!=|:=|[-+*/^(),|√·×⋅∙−÷])"
    r"|(?P<other>.)"
)
_VARIABLE_TAIL = re.compile(r"[A-Za-z][0-9]*\Z")
_OPERAND_START = ("number", "name", "(", "|open", "√")


class NotationError(ValueError):
    """Student notation that is ambiguous or malformed; the message says what to write."""


@dataclass(frozen=True)
class Rewrite:
    """The canonical text, the typed column (from 1) of each of its characters, and where the
    ``**`` that came from ``^`` or a superscript start (canonical offsets)."""

    text: str
    columns: tuple[int, ...]
    caret_powers: frozenset[int]

    def column(self, offset: int) -> int:
        """The typed column (from 1) of the canonical character at ``offset`` (from 0)."""
        if not self.columns:
            return 1
        return self.columns[min(max(offset, 0), len(self.columns) - 1)]


@dataclass(frozen=True)
class _Token:
    kind: str  # space number name sup op other
    text: str
    column: int  # from 1


def _tokens(src: str) -> list[_Token]:
    return [_Token(m.lastgroup or "other", m.group(), m.start() + 1)
            for m in _TOKEN.finditer(src)]


class _Writer:
    """Collects canonical text with the typed column of each character."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.columns: list[int] = []
        self.carets: set[int] = set()
        self.length = 0

    def put(self, text: str, column: int, caret: bool = False, literal: bool = False) -> None:
        """Append ``text``: typed as is from ``column`` on (literal), or standing for the
        sign typed at ``column``."""
        if caret:
            self.carets.add(self.length)
        self.parts.append(text)
        if literal:
            self.columns.extend(range(column, column + len(text)))
        else:
            self.columns.extend([column] * len(text))
        self.length += len(text)


def rewrite(src: str, functions: Collection[str], constants: Collection[str] = ("e", "pi")
            ) -> Rewrite:
    """Student notation -> canonical text (``2x^2 + e^x`` -> ``2*x**2 + e**x``); raise
    :class:`NotationError` for ambiguous input.  ``functions`` are the callable names (with
    aliases), ``constants`` the constant names.  Text without notation comes back unchanged."""
    return _Rewriter(src, _tokens(src), functions, constants).run()


def _check_name(tok: _Token, functions: Collection[str], constants: Collection[str]) -> None:
    """Refuse names that read as a function or constant glued to a variable: sinx, ex, pix."""
    name = tok.text
    if name in functions or name in constants or keyword.iskeyword(name):
        return
    for known in sorted((*functions, *constants), key=len, reverse=True):
        tail = name[len(known):]
        if name.startswith(known) and _VARIABLE_TAIL.match(tail):
            if known in constants:
                also = _(" or exp({tail})").format(tail=tail) if known == "e" else ""
                raise NotationError(
                    _("'{name}' at column {column} is ambiguous: write {product}{also} (a "
                      "variable's name cannot start with a constant's name and one letter)")
                    .format(name=name, column=tok.column, product=f"{known}*{tail}", also=also))
            raise NotationError(
                _("'{name}' at column {column} is ambiguous: write {call} (a variable's name "
                  "cannot start with a function's name and one letter)")
                .format(name=name, column=tok.column, call=f"{known}({tail})"))


class _Rewriter:
    def __init__(self, src: str, tokens: list[_Token], functions: Collection[str],
                 constants: Collection[str]) -> None:
        self.src = src
        self.tokens = tokens
        self.functions = functions
        self.constants = constants
        self.out = _Writer()
        self.groups: list[tuple[str, int, bool]] = []  # ('(' or '|', column, is a call)
        self.sqrt_pending: list[tuple[int, int]] = []  # (group depth, column of √)
        self.history: list[str] = []  # keys of the tokens emitted so far
        self.prev: str | None = None  # key of the previous token as emitted
        self.prev_token: _Token | None = None
        self.closed_call = False  # the last ')' closed a function call

    def fail(self, message: str) -> NotationError:
        return NotationError(message)

    def run(self) -> Rewrite:
        solid = [t for t in self.tokens if t.kind != "space"]
        following = dict(zip(map(id, solid), [*solid[1:], None], strict=True))
        for tok in self.tokens:
            if tok.kind == "space":
                self.out.put(tok.text, tok.column, literal=True)
            else:
                self.step(tok, following[id(tok)])
        for kind, column, _call in reversed(self.groups):
            if kind == "|":
                raise self.fail(_("unmatched '|' at column {column}: close it, or write abs(...)")
                                .format(column=column))
        if self.sqrt_pending:
            column = self.sqrt_pending[-1][1]
            raise self.fail(_("'√' at column {column} has nothing to take the root of: write "
                              "sqrt(...)").format(column=column))
        return Rewrite("".join(self.out.parts), tuple(self.out.columns),
                       frozenset(self.out.carets))

    # -- what the previous token was
    def prev_ends_operand(self) -> bool:
        return self.prev in ("number", "name", ")", "|close", "sup")

    def juxtapose(self, tok: _Token, starts: str) -> None:
        """The previous operand meets ``tok`` with no operator: insert '*' or refuse."""
        prev, t = self.prev, self.prev_token
        assert t is not None
        if keyword.iskeyword(tok.text) or (prev == "name" and keyword.iskeyword(t.text)):
            return  # Python's keywords: the parser names what is not allowed
        here = _("'{left}' then '{right}' at column {column}").format(
            left="|" if prev == "|close" else t.text, right=tok.text, column=tok.column)
        if prev == "name":
            if t.text in self.functions:
                raise self.fail(_("write {call}: a function's argument goes in brackets ({here})")
                                .format(call=f"{t.text}({tok.text if starts != '(' else '...'})",
                                        here=here))
            if starts == "(":  # x(y+1): pass to the parser, which names the unknown function
                return
            raise self.fail(_("{here} is ambiguous: write {product} for a product").format(
                here=here, product=f"{t.text}*{tok.text}"))
        if prev == "|close":
            raise self.fail(_("ambiguous bars: {here}; write abs(...) and '*' explicitly, e.g. "
                              "abs(x)*y or abs(x*abs(y))").format(here=here))
        if prev == ")":
            if self.closed_call:
                raise self.fail(_("{here}: write '*' between a function's value and what "
                                  "follows, e.g. exp(x)*(y)").format(here=here))
            if starts in ("number", "name"):
                raise self.fail(_("{here} is ambiguous: write {product} for a product").format(
                    here=here, product=f"(...)*{tok.text}"))
        if prev == "number":
            if starts == "number":
                raise self.fail(_("{here}: two numbers with no operator; write {product}")
                                .format(here=here, product=f"{t.text}*{tok.text}"))
            if starts == "name" and tok.column == t.column + len(t.text):
                glued = t.text + tok.text
                if tok.text[0] in "jJ":
                    raise self.fail(_("complex numbers are not allowed ('{glued}') at column "
                                      "{column}; for a product write {product}").format(
                        glued=glued, column=t.column, product=f"{t.text}*{tok.text}"))
            before = self.history[-2::-1]  # the keys before the number, nearest first
            if before[:1] in (["-"], ["+"]):
                before = before[1:]
            if before[:1] == ["/"]:
                raise self.fail(_("'{typed}' at column {column} is ambiguous: write {grouped} to "
                                  "divide by the product, or {plain} to multiply the quotient")
                                .format(typed=f"/{t.text}{tok.text}", column=t.column - 1,
                                        grouped=f"/({t.text}*{tok.text})",
                                        plain=f"/{t.text}*{tok.text}"))
            if before[:1] in (["^"], ["**"]):
                raise self.fail(_("'{typed}' at column {column} is ambiguous: write {grouped} for "
                                  "a product in the exponent, or {plain} to multiply the power")
                                .format(typed=f"^{t.text}{tok.text}", column=t.column - 1,
                                        grouped=f"^({t.text}*{tok.text})",
                                        plain=f"^{t.text}*{tok.text}"))
        self.out.put("*", tok.column)

    def step(self, tok: _Token, nxt: _Token | None) -> None:
        kind, text, column = tok.kind, tok.text, tok.column
        if kind == "name":
            _check_name(tok, self.functions, self.constants)
            if self.prev_ends_operand():
                self.juxtapose(tok, "name")
            self.emit(text, column, "name")
            is_call = nxt is not None and nxt.text == "("
            if text in self.functions and not is_call:
                follow = f" {nxt.text}" if nxt is not None else ""
                if nxt is not None and nxt.kind in ("number", "name"):
                    raise self.fail(_("'{typed}' at column {column}: write {call}").format(
                        typed=f"{text}{follow}", column=column, call=f"{text}({nxt.text})"))
            if not is_call:
                self.operand_done()
            return
        if kind == "number":
            if self.prev_ends_operand():
                self.juxtapose(tok, "number")
            self.emit(text, column, "number")
            self.operand_done()
            return
        if kind == "sup":
            digits = "".join(SUPERSCRIPTS[c] for c in text)
            if not re.fullmatch(r"[-+]?\d+", digits):
                raise self.fail(_("superscript '{text}' at column {column} is not an integer "
                                  "exponent: write ^(...)").format(text=text, column=column))
            if not self.prev_ends_operand():
                raise self.fail(_("superscript '{text}' at column {column} has no base").format(
                    text=text, column=column))
            self.out.put("**", column, caret=True)
            self.out.put(digits, column)
            self.set_prev("sup", tok)
            return
        if kind == "other":
            self.emit(text, column, "other")
            return
        # operators
        if text in ("·", "×", "⋅", "∙", "−", "÷"):
            self.emit(SIGNS[text], column, {"−": "-", "÷": "/"}.get(text, "*"))
            return
        if text == "^":
            self.out.put("**", column, caret=True)
            self.set_prev("^", tok)
            return
        if text == "√":
            if self.prev_ends_operand():
                self.juxtapose(tok, "√")
            if nxt is None or not (nxt.kind in ("number", "name") or nxt.text in "(|√"):
                raise self.fail(_("'√' at column {column} must be followed by a number, a name "
                                  "or a bracket: write sqrt(...)").format(column=column))
            self.out.put("sqrt(", column)
            self.sqrt_pending.append((len(self.groups), column))
            self.set_prev("√", tok)
            return
        if text == "|":
            self.bar(tok)
            return
        if text == "(":
            if self.prev_ends_operand() and self.prev != "name":
                self.juxtapose(tok, "(")
            call = self.prev == "name" and self.prev_token is not None
            self.groups.append(("(", column, call))
            self.emit("(", column, "(")
            return
        if text == ")":
            call = False
            if self.groups and self.groups[-1][0] == "(":
                call = self.groups.pop()[2]
            elif self.groups:
                raise self.fail(_("')' at column {column} closes a '|' bar opened at column "
                                  "{opened}").format(column=column, opened=self.groups[-1][1]))
            self.emit(")", column, ")")
            self.closed_call = call
            self.operand_done()
            return
        self.emit(text, column, text)

    def bar(self, tok: _Token) -> None:
        opened_here = bool(self.groups) and self.groups[-1][0] == "|"
        if self.prev_ends_operand() and opened_here:
            self.groups.pop()
            self.emit(")", tok.column, "|close")
            self.closed_call = False
            self.operand_done()
            return
        if self.prev_ends_operand():
            if self.prev == "name":
                raise self.fail(_("'|' at column {column} after '{name}' opens no absolute "
                                  "value: write abs(...) for one, '*' for a product ('|' is no "
                                  "operator)").format(column=tok.column,
                                                       name=self.prev_token.text))
            if self.prev == "|close":
                raise self.fail(_("ambiguous bars: '|' at column {column} follows a closed "
                                  "'|...|'; write abs(...) and '*' explicitly, e.g. abs(x)*y or "
                                  "abs(x*abs(y))").format(column=tok.column))
            self.juxtapose(tok, "|open")
        self.groups.append(("|", tok.column, False))
        self.emit("abs(", tok.column, "|open")

    def operand_done(self) -> None:
        """An operand ended at the current depth: close the √ waiting for it."""
        depth = len(self.groups)
        while self.sqrt_pending and self.sqrt_pending[-1][0] == depth:
            _depth, column = self.sqrt_pending.pop()
            self.out.put(")", self.out.columns[-1] if self.out.columns else column)
            following = self._next_after(column)
            if following is not None and (following.text in ("^", "**")
                                          or following.kind == "sup"):
                raise self.fail(_("'√' at column {column} followed by a power is ambiguous: "
                                  "write sqrt(x^2) or sqrt(x)^2").format(column=column))

    def _next_after(self, column: int) -> _Token | None:
        last = self.out.columns[-1]
        for t in self.tokens:
            if t.column > last and t.kind != "space":
                return t
        return None

    def emit(self, text: str, column: int, key: str) -> None:
        literal = self.src[column - 1:column - 1 + len(text)] == text
        self.out.put(text, column, literal=literal)
        self.set_prev(key, _Token("op", text, column) if key not in ("number", "name")
                      else _Token(key, text, column))

    def set_prev(self, key: str, tok: _Token) -> None:
        self.history.append(key)
        self.prev = key
        self.prev_token = tok
