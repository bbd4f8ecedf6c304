"""A safe parser for small arithmetic expressions such as ``"x / (1 + abs(x))"``.

Users type expressions on the command line (``dagrad graph EXPR --at x1=1.5,x2=2``) and as
activation functions.  The text never reaches ``eval``/``exec``/``compile``: it is checked by a
linear scan, student notation (``x^2``, ``2x``, ``x²``, ``2·x``, ``|x|``, ``√x``, ``e^x``) is
rewritten token by token to the canonical spelling (:mod:`dagrad.notation`, which refuses what
is ambiguous with the spelling to write), the result is parsed with
``ast.parse(src, mode="eval")`` and walked against a strict whitelist that builds a small
immutable expression tree of our own.  :attr:`Expression.reading` prints the tree back in the
canonical spelling, so a command can echo how it read the input (``read as: 2*x**2 +
exp(x)``).

The known functions are the op table's named elementwise functions (:mod:`dagrad.catalogue`:
``exp``, ``tanh``, ``sigmoid``, ``leaky_relu(x, slope)``, ``maximum(a, b)``, and any entry added
later), plus the parser-level :data:`COMPOSITES` and :data:`ALIASES`.  One fold (:func:`fold`)
walks the tree with a small per-target :class:`Algebra`: dagrad Tensors (the default of
:meth:`Expression.evaluate`: the ops' public functions), NumPy (:func:`numpy_functions`: the
independent closed forms of :mod:`dagrad.closed_forms`) or SymPy (:func:`to_sympy`: each Op's
SymPy forward), so the same expression builds a dagrad graph, computes arrays and states its
formula.

Grammar accepted (everything else raises :class:`ExpressionError`)::

    expr   := expr ('+' | '-' | '*' | '/' | '**') expr | ('-' | '+') expr
            | NAME '(' expr [',' expr] ')' | '(' expr ')' | NUMBER | NAME
    (after the student-notation rewrite; ALIASES: ln -> log, max -> maximum, min -> minimum)

Decisions worth knowing:

* A constant exponent: when the base contains a variable ``|exponent| <= 64``; when the base
  is a constant too, ``|exponent| <= 1024`` and the result must stay below ``1e100``, so
  ``9**9**9`` is refused without being computed.  An integer-valued exponent is passed to the
  ``**`` operator as a Python ``int`` (``x**2.0`` passes ``2``).
* A variable exponent: ``e**y`` is ``exp(y)``; ``b**y`` needs a constant ``b > 0``; ``x**y``
  goes through the op table's ``pow``, whose derivative in ``y`` is ``x**y*log(x)`` — it is
  ``exp(y*log(x))``, defined for ``x > 0``, which :attr:`Expression.notes` says.  Evaluated on
  plain numbers, a negative base with a non-integer exponent is refused (Python would return a
  complex number).
* ``^`` is a power.  A chain ``a^b^c`` written with ``^`` (or superscripts) is refused as
  ambiguous; one written with ``**`` only keeps Python's meaning ``a**(b**c)``.
* Every variable-free arithmetic sub-expression is folded (in floats, with bounds) at parse
  time only to *check* it; the tree keeps its structure.  Division by a constant that is zero
  (``x/0``, ``1/(2-2)``) is refused at parse time, as are ``0**-1`` and a negative constant base
  with a non-integer constant exponent (which Python would turn into a complex number).
* Unary ``+`` is accepted and dropped from the tree (``+x`` is ``x``).
* ``Expression.variables`` lists the variables in natural sort order (``x1, x2, x10``; ``a, b,
  x``), so the Rosenbrock text gives ``("x1", "x2")`` whatever order they appear in.
* Division by a non-constant that happens to be zero is the caller's business: floats raise
  ``ZeroDivisionError`` as Python does, arrays and Tensors give ``inf`` as NumPy does.
* Only printable ASCII on a single line is accepted (no line breaks, tabs are fine), plus the
  notation's signs (``² ³ ⁻ · × − ÷ √`` …, :data:`dagrad.notation.ACCEPTED`); column numbers in
  messages are character columns of the typed text, counted from 1.
"""

from __future__ import annotations

import ast
import functools
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Union

from . import notation
from .catalogue import named_functions
from .i18n import N_, _

__all__ = [
    "BinaryOp",
    "ALIASES",
    "Algebra",
    "COMPOSITES",
    "Call",
    "Constant",
    "CONSTANTS",
    "Expression",
    "ExpressionError",
    "FUNCTIONS",
    "MAX_CONSTANT",
    "MAX_CONSTANT_EXPONENT",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_LITERAL",
    "MAX_NAME_LENGTH",
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_TREE_DEPTH",
    "Negate",
    "Node",
    "Number",
    "Power",
    "Variable",
    "dagrad_functions",
    "fold",
    "numpy_functions",
    "parse",
    "parse_assignments",
    "sympy_functions",
    "to_sympy",
    "unparse",
]

MAX_LENGTH = 2000  # characters, checked before anything else
MAX_NESTING = 64  # bracket depth, checked by a linear scan before ast.parse
MAX_NODES = 500  # expression nodes in the parsed syntax tree
MAX_TREE_DEPTH = 128  # depth of the syntax tree (a sum of 200 terms is 200 deep)
MAX_NAME_LENGTH = 32
MAX_LITERAL = 1e12  # largest magnitude of a number literal
MAX_EXPONENT = 64  # largest |exponent| when the base contains a variable
MAX_CONSTANT_EXPONENT = 1024  # largest |exponent| when the base is a constant
MAX_CONSTANT = 1e100  # largest magnitude of any folded constant sub-expression

#: Parser-level composites, written with operators, for names the op table does not hold; a
#: table entry of the same name takes their place.
COMPOSITES: Mapping[str, Callable[[Any], Any]] = MappingProxyType({"square": lambda x: x**2})
#: Other spellings users type for table functions (``ln(x)`` is ``log(x)``).
ALIASES: Mapping[str, str] = MappingProxyType(
    {"ln": "log", "clip": "clamp", "max": "maximum", "min": "minimum"})


def _function_arities() -> dict[str, tuple[int, int]]:
    table = {name: (f.min_args, f.max_args) for name, f in named_functions().items()}
    composites = {name: (1, 1) for name in COMPOSITES if name not in table}
    return dict(sorted({**table, **composites}.items()))


#: Known functions (the op table's named functions and the composites) and their (min, max)
#: number of positional arguments.
FUNCTIONS: Mapping[str, tuple[int, int]] = MappingProxyType(_function_arities())
#: Names that denote constants rather than variables.
CONSTANTS: Mapping[str, float] = MappingProxyType({"e": math.e, "pi": math.pi})

_KNOWN = ", ".join(sorted(FUNCTIONS))
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_BINOPS: Mapping[type, str] = MappingProxyType(
    {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
)
_REFUSED_BINOPS: Mapping[type, str] = MappingProxyType(
    {
        ast.Mod: "%",
        ast.FloorDiv: "//",
        ast.MatMult: "@",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.BitOr: "|",
        ast.BitAnd: "&",
        ast.BitXor: "^",
    }
)
_REFUSED_NODES: Mapping[type, str] = MappingProxyType(
    {
        ast.Attribute: N_("attribute access is not allowed"),
        ast.Subscript: N_("indexing and slicing are not allowed"),
        ast.Slice: N_("slices are not allowed"),
        ast.Lambda: N_("lambda is not allowed"),
        ast.ListComp: N_("comprehensions are not allowed"),
        ast.SetComp: N_("comprehensions are not allowed"),
        ast.DictComp: N_("comprehensions are not allowed"),
        ast.GeneratorExp: N_("generator expressions are not allowed"),
        ast.List: N_("lists are not allowed"),
        ast.Tuple: N_("tuples are not allowed"),
        ast.Set: N_("sets are not allowed"),
        ast.Dict: N_("dicts are not allowed"),
        ast.Compare: N_("comparisons are not allowed"),
        ast.BoolOp: N_("boolean operators (and, or) are not allowed"),
        ast.IfExp: N_("conditional expressions (x if c else y) are not allowed"),
        ast.NamedExpr: N_("assignment expressions (:=) are not allowed"),
        ast.JoinedStr: N_("f-strings are not allowed"),
        ast.FormattedValue: N_("f-strings are not allowed"),
        ast.Starred: N_("starred arguments are not allowed"),
        ast.Await: N_("await is not allowed"),
        ast.Yield: N_("yield is not allowed"),
        ast.YieldFrom: N_("yield is not allowed"),
    }
)


class ExpressionError(ValueError):
    """An expression (or an assignment list) was refused; the message says what and where."""


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Number:
    """A number literal; ``text`` is the literal as written (used for exact SymPy numbers)."""

    value: int | float
    text: str


@dataclass(frozen=True, slots=True)
class Constant:
    """A named constant: ``pi`` or ``e``."""

    name: str

    @property
    def value(self) -> float:
        """The constant's float value."""
        return CONSTANTS[self.name]


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable, looked up in the environment at evaluation time."""

    name: str


@dataclass(frozen=True, slots=True)
class Negate:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """``left op right`` for op in ``+ - * /``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Power:
    """``base ** exponent``; ``exponent_value`` is the constant exponent to pass to ``**``, or
    None for a variable exponent (``x**y`` goes through the table's pow, whose derivative in
    the exponent is ``x**y * log(x)``: ``x**y = exp(y*log(x))``, defined for ``x > 0``)."""

    base: Node
    exponent: Node
    exponent_value: int | float | None


@dataclass(frozen=True, slots=True)
class Call:
    """A call of one of the known :data:`FUNCTIONS` with positional arguments."""

    name: str
    args: tuple[Node, ...]


Node = Union[Number, Constant, Variable, Negate, BinaryOp, Power, Call]  # noqa: UP007


@dataclass(frozen=True)
class Expression:
    """A parsed, validated expression: source text, variables (natural order) and tree;
    ``canonical`` is the text after the student-notation rewrite (:mod:`dagrad.notation`) and
    ``notes`` say what a reader should know about how it was read (variable powers)."""

    source: str
    variables: tuple[str, ...]
    tree: Node = field(repr=False)
    canonical: str = field(default="", repr=False)
    notes: tuple[str, ...] = field(default=(), repr=False)

    @property
    def reading(self) -> str:
        """How the expression was read, in the canonical spelling: ``2x² + e^x`` ->
        ``2*x**2 + exp(x)`` (parsing it again gives the same tree)."""
        return unparse(self.tree)

    @property
    def read_as(self) -> str:
        """The line to echo to the user: ``read as: 2*x**2 + exp(x)`` and the notes."""
        return "; ".join([_("read as: {reading}").format(reading=self.reading), *self.notes])

    @property
    def rewritten(self) -> bool:
        """True when the reading differs from the typed text (beyond blanks): worth echoing."""
        return "".join(self.reading.split()) != "".join(self.source.split())

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __str__(self) -> str:
        return self.source

    def evaluate(
        self,
        env: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]] | None = None,
        *,
        strict: bool = True,
    ) -> Any:
        """Evaluate the tree with values from ``env`` and functions from ``functions``."""
        missing = [name for name in self.variables if name not in env]
        if missing:
            if len(missing) == 1:
                raise ExpressionError(
                    _("missing value for variable '{name}'").format(name=missing[0]))
            names = ", ".join(f"'{name}'" for name in missing)
            raise ExpressionError(_("missing values for variables {names}").format(names=names))
        if strict:
            extra = [name for name in env if name not in self.variables]
            if extra:
                uses = ", ".join(self.variables) if self.variables else _("no variables")
                names = ", ".join(f"'{name}'" for name in extra)
                message = (_("unknown variable {names} (the expression uses {uses})")
                           if len(extra) == 1 else
                           _("unknown variables {names} (the expression uses {uses})"))
                raise ExpressionError(message.format(names=names, uses=uses))
        fns = dagrad_functions() if functions is None else functions
        return fold(self.tree, _values(env, fns))


# --------------------------------------------------------------------------- the one fold


@dataclass(frozen=True)
class Algebra:
    """What each leaf, power and call of the tree means in one target (values or SymPy).

    ``+ - * /`` and unary ``-`` are Python's operators in every target; ``power`` gets the
    base's and the exponent's folded values and the :class:`Power` node (its
    ``exponent_value`` is the number to pass to ``**``).
    """

    number: Callable[[Number], Any]
    constant: Callable[[Constant], Any]
    variable: Callable[[Variable], Any]
    power: Callable[[Any, Any, Power], Any]
    functions: Mapping[str, Callable[..., Any]]


def fold(node: Node, algebra: Algebra) -> Any:
    """The value of the tree in ``algebra``: f(children) at every node, bottom up."""
    if isinstance(node, Number):
        return algebra.number(node)
    if isinstance(node, Variable):
        return algebra.variable(node)
    if isinstance(node, Constant):
        return algebra.constant(node)
    if isinstance(node, Negate):
        return -fold(node.operand, algebra)
    if isinstance(node, BinaryOp):
        left = fold(node.left, algebra)
        right = fold(node.right, algebra)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        return left / right
    if isinstance(node, Power):
        return algebra.power(fold(node.base, algebra), fold(node.exponent, algebra), node)
    if isinstance(node, Call):
        try:
            fn = algebra.functions[node.name]
        except KeyError:
            raise ExpressionError(
                _("no implementation for function '{name}' in the functions mapping").format(
                    name=node.name)
            ) from None
        return fn(*(fold(arg, algebra) for arg in node.args))
    raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover


def _values(env: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Algebra:
    """Numbers as Python numbers, variables from ``env``, ``**`` with the exponent's number."""
    return Algebra(
        number=lambda n: n.value,
        constant=lambda c: c.value,
        variable=lambda v: env[v.name],
        power=_value_power,
        functions=functions,
    )


def _value_power(base: Any, exponent: Any, node: Power) -> Any:
    """``base ** exponent``: the constant's number, or a variable power (refusing what Python
    would turn into a complex number: a negative base with a non-integer exponent)."""
    if node.exponent_value is not None:
        return base**node.exponent_value
    plain = (int, float)
    if (isinstance(base, plain) and isinstance(exponent, plain) and base < 0
            and not float(exponent).is_integer()):
        raise ExpressionError(
            _("{power} at base {base} and exponent {exponent}: a variable power is "
              "exp(exponent*log(base)), defined for a base > 0").format(
                power=unparse(node), base=base, exponent=exponent))
    return base**exponent


# --------------------------------------------------------------------------- the reading

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _precedence(node: Node) -> int:
    if isinstance(node, BinaryOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, Negate):
        return 3
    if isinstance(node, Power):
        return 4
    return 5


def unparse(node: Node) -> str:
    """The tree in the canonical spelling, with the fewest brackets that keep its structure
    (Python's precedence: ``+ -`` < ``* /`` < unary ``-`` < ``**``, ``**`` to the right)."""
    if isinstance(node, Number):
        return node.text
    if isinstance(node, (Variable, Constant)):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({', '.join(unparse(arg) for arg in node.args)})"
    if isinstance(node, Negate):
        inner = unparse(node.operand)
        return f"-{inner}" if _precedence(node.operand) >= 3 else f"-({inner})"
    if isinstance(node, Power):
        base = unparse(node.base)
        if _precedence(node.base) <= 4:
            base = f"({base})"
        exponent = unparse(node.exponent)
        if _precedence(node.exponent) < 4 and not (
                isinstance(node.exponent, Negate) and _precedence(node.exponent.operand) == 5):
            exponent = f"({exponent})"
        return f"{base}**{exponent}"
    if isinstance(node, BinaryOp):
        mine = _PRECEDENCE[node.op]
        left, right = unparse(node.left), unparse(node.right)
        if _precedence(node.left) < mine:
            left = f"({left})"
        if _precedence(node.right) <= mine or isinstance(node.right, Negate):
            right = f"({right})"
        sep = f" {node.op} " if mine == 1 else node.op
        return f"{left}{sep}{right}"
    raise TypeError(f"not an expression node: {node!r}")  # pragma: no cover


# --------------------------------------------------------------------------- parsing


def parse(src: str) -> Expression:
    """Parse and validate ``src``; raise :class:`ExpressionError` for anything not whitelisted."""
    if not isinstance(src, str):
        raise TypeError(f"expression must be a str, not {type(src).__name__}")
    if len(src) > MAX_LENGTH:
        raise ExpressionError(_("expression too long ({count} characters; limit {limit})").format(
            count=len(src), limit=MAX_LENGTH))
    if not src.strip():
        raise ExpressionError(_("empty expression"))
    _scan(src)
    try:
        rewrite = notation.rewrite(src, functions={*FUNCTIONS, *ALIASES}, constants=CONSTANTS)
    except notation.NotationError as exc:
        raise ExpressionError(str(exc)) from None
    canonical = rewrite.text
    _check_nesting(canonical, rewrite)  # |x| and √x open brackets of their own
    text = canonical.lstrip(" \t")  # ast.parse would call leading blanks an indent
    indent = len(canonical) - len(text)
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal" for "1if"
            warnings.simplefilter("ignore", SyntaxWarning)
            module = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = (_(" at column {column}").format(column=rewrite.column(exc.offset - 1 + indent))
                 if exc.offset else "")
        why = _(exc.msg) if exc.msg in _PYTHON_SYNTAX_MESSAGES else exc.msg
        raise ExpressionError(_("invalid syntax: {why}{where}").format(why=why, where=where)) \
            from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise ExpressionError(_("expression could not be parsed ({error})").format(
            error=type(exc).__name__)) from None
    _check_size(module.body)
    builder = _Builder(text, indent, src, rewrite)
    tree = builder.build(module.body)
    variables = tuple(sorted(builder.variables, key=_natural_key))
    return Expression(source=src, variables=variables, tree=tree, canonical=canonical,
                      notes=tuple(dict.fromkeys(builder.notes)))


#: Python's own SyntaxError texts that have a German entry (the common ones); others stay as
#: Python wrote them.
_PYTHON_SYNTAX_MESSAGES = frozenset({
    N_("invalid syntax"), N_("unexpected EOF while parsing"), N_("'(' was never closed"),
    N_("unmatched ')'"), N_("invalid decimal literal"), N_("unterminated string literal"),
})


def _scan(src: str) -> None:
    """Refuse non-ASCII (but the notation's signs), control characters and line breaks; bound
    bracket depth (linear)."""
    depth = 0
    for column, ch in enumerate(src, start=1):
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionError(
                    _("nesting too deep (limit {limit}) at column {column}").format(
                        limit=MAX_NESTING, column=column))
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch in "\n\r":
            raise ExpressionError(_("line breaks are not allowed (column {column})").format(
                column=column))
        elif ch == "\\":
            raise ExpressionError(_("backslashes are not allowed (column {column})").format(
                column=column))
        elif ch == "#":
            raise ExpressionError(_("comments are not allowed (column {column})").format(
                column=column))
        elif not (" " <= ch <= "~" or ch == "\t" or ch in notation.ACCEPTED):
            raise ExpressionError(
                _("character {char} (U+{code}) is not allowed at column {column}; only "
                  "printable ASCII and the math signs {signs} are accepted").format(
                    char=repr(ch), code=f"{ord(ch):04X}", column=column,
                    signs=" ".join(sorted(notation.ACCEPTED)))
            )


def _check_nesting(canonical: str, rewrite: notation.Rewrite) -> None:
    """Bound the bracket depth of the rewritten text (linear), naming the typed column."""
    depth = 0
    for offset, ch in enumerate(canonical):
        if ch == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionError(_("nesting too deep (limit {limit}; |...| and √ count as "
                                        "brackets) at column {column}").format(
                    limit=MAX_NESTING, column=rewrite.column(offset)))
        elif ch == ")":
            depth = max(depth - 1, 0)


def _check_size(body: ast.expr) -> None:
    """Bound the node count and the tree depth without recursion."""
    count = 0
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    if count > MAX_NODES:
        raise ExpressionError(_("expression too large ({count} nodes; limit {limit})").format(
            count=count, limit=MAX_NODES))
    if deepest > MAX_TREE_DEPTH:
        raise ExpressionError(
            _("expression nested too deeply (syntax tree depth {depth}; limit {limit})").format(
                depth=deepest, limit=MAX_TREE_DEPTH))


def _natural_key(name: str) -> tuple[Any, ...]:
    """Sort key putting x2 before x10."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name)))


class _Builder:
    """Converts a whitelisted ``ast`` tree into :data:`Node` objects, collecting variables."""

    def __init__(self, src: str, indent: int = 0, typed: str | None = None,
                 rewrite: notation.Rewrite | None = None) -> None:
        self.src = src  # the canonical text given to ast.parse
        self.indent = indent  # leading blanks removed before ast.parse, for column numbers
        self.typed = src if typed is None else typed  # what the user typed
        self.rewrite = rewrite
        self.variables: dict[str, None] = {}
        self.notes: list[str] = []

    # -- helpers
    def _column(self, offset: int) -> int:
        """The typed column (from 1) of the canonical text's character at ``offset``."""
        if self.rewrite is None:
            return offset + self.indent + 1
        return self.rewrite.column(offset + self.indent)

    def _where(self, node: ast.AST) -> str:
        col = getattr(node, "col_offset", None)
        return _(" at column {column}").format(column=self._column(col)) if col is not None else ""

    def _snippet(self, node: ast.AST) -> str:
        if self.rewrite is None or getattr(node, "end_col_offset", None) is None:
            text = ast.get_source_segment(self.src, node) or ""
        else:
            start = self._column(node.col_offset)
            end = self._column(node.end_col_offset - 1)
            text = self.typed[start - 1:end]
        return text if len(text) <= 40 else text[:37] + "..."

    def _fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(f"{message} ('{self._snippet(node)}'){self._where(node)}")

    # -- conversion
    def build(self, node: ast.expr) -> Node:
        """Convert one expression node (recursion depth is bounded by _check_size)."""
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Negate(self.build(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand)
            op = "not" if isinstance(node.op, ast.Not) else "~"
            raise self._fail(_("operator '{op}' is not allowed").format(op=op), node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        message = (_(_REFUSED_NODES[type(node)]) if type(node) in _REFUSED_NODES else
                   _("{kind} is not allowed").format(kind=type(node).__name__))
        raise self._fail(message, node)

    def _number(self, node: ast.Constant) -> Number:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self._fail(_("constant {value} is not allowed").format(value=repr(value)), node)
        if isinstance(value, (str, bytes)):
            raise self._fail(_("strings are not allowed"), node)
        if isinstance(value, complex):
            raise self._fail(_("complex numbers are not allowed"), node)
        if not isinstance(value, (int, float)):  # pragma: no cover - no other literal kinds
            raise self._fail(_("literal is not allowed"), node)
        if not (abs(value) <= MAX_LITERAL):  # also catches inf and nan
            raise self._fail(
                _("number out of range (limit {limit})").format(limit=f"{MAX_LITERAL:g}"), node)
        text = ast.get_source_segment(self.src, node) or repr(value)
        return Number(value, text)

    def _name(self, node: ast.Name) -> Node:
        name = node.id
        if name in CONSTANTS:
            return Constant(name)
        if name in FUNCTIONS or name in ALIASES:
            raise ExpressionError(
                _("function '{name}' used as a variable{where}; call it: {name}(...)").format(
                    name=name, where=self._where(node)))
        if name.startswith("_") or "__" in name or not _NAME_RE.match(name):
            raise ExpressionError(
                _("name '{name}' is not allowed{where}: names start with a letter and contain "
                  "only letters, digits and single underscores").format(
                    name=name, where=self._where(node)))
        if len(name) > MAX_NAME_LENGTH:
            raise ExpressionError(
                _("name '{name}...' too long{where} ({count} characters; limit {limit})").format(
                    name=name[:20], where=self._where(node), count=len(name),
                    limit=MAX_NAME_LENGTH))
        self.variables.setdefault(name, None)
        return Variable(name)

    def _binop(self, node: ast.BinOp) -> Node:
        op_type = type(node.op)
        if op_type in _REFUSED_BINOPS:
            raise self._fail(
                _("operator '{op}' is not allowed; allowed: + - * / **").format(
                    op=_REFUSED_BINOPS[op_type]),
                node,
            )
        if isinstance(node.op, ast.Pow):
            return self._power(node)
        left = self.build(node.left)
        right = self.build(node.right)
        if isinstance(node.op, ast.Div):
            denominator = self._fold(node.right)
            if denominator == 0:
                raise self._fail(_("division by zero"), node)
        self._fold(node)  # bounds-check a constant sub-expression
        return BinaryOp(_BINOPS[op_type], left, right)

    def _power(self, node: ast.BinOp) -> Node:
        self._check_chain(node)
        base = self.build(node.left)
        exponent = self.build(node.right)
        p = self._fold(node.right)
        if p is None:
            return self._variable_power(node, base, exponent)
        b = self._fold(node.left)
        if b is None and abs(p) > MAX_EXPONENT:
            raise self._fail(
                _("exponent too large (limit {limit})").format(limit=MAX_EXPONENT), node)
        if b is not None:
            self._fold(node)  # checks the constant power's bounds
        exponent_value: int | float = int(p) if float(p).is_integer() else p
        return Power(base, exponent, exponent_value)

    def _variable_power(self, node: ast.BinOp, base: Node, exponent: Node) -> Node:
        """``e**y`` is ``exp(y)``; ``b**y`` needs ``b > 0``; ``x**y`` is noted as defined for
        ``x > 0`` (its derivative in ``y`` is ``x**y*log(x)``)."""
        if isinstance(node.left, ast.Name) and node.left.id == "e":
            return Call("exp", (exponent,))
        b = self._fold(node.left)
        if b is not None and b <= 0:
            raise self._fail(
                _("a variable exponent needs a positive constant base (b**y is exp(y*log(b)))"),
                node)
        if b is None:
            x, y = unparse(base), unparse(exponent)
            self.notes.append(
                _("{formula} is defined for {x} > 0").format(
                    formula=f"{_wrap(x)}**{_wrap(y)} = exp({_wrap(y)}*log({x}))", x=x))
        return Power(base, exponent, None)

    def _check_chain(self, node: ast.BinOp) -> None:
        """Refuse ``a^b^c`` written with ``^`` or superscripts and no brackets (ambiguous)."""
        inner: ast.expr = node.right
        while isinstance(inner, ast.UnaryOp):
            if self._bracketed(inner.operand):
                return
            inner = inner.operand
        if not (isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Pow)):
            return
        if self._bracketed(node.right) or (node.right is not inner and self._bracketed(inner)):
            return
        carets = self.rewrite.caret_powers if self.rewrite is not None else frozenset()
        ops = (self._operator_at(node.left, node.right), self._operator_at(inner.left,
                                                                          inner.right))
        if not any(op in carets for op in ops):
            return  # a chain of ** alone keeps Python's meaning
        a, c = self._snippet(node.left), self._snippet(inner.right)
        b = self.typed[self._column(node.right.col_offset) - 1:
                       self._column(inner.left.end_col_offset - 1)]  # with its sign
        right = self._snippet(node.right)
        second = f"({a}^{b})^{c}" if node.right is inner else f"{a}^(({b})^{c})"
        raise ExpressionError(
            _("'{snippet}'{where} is ambiguous: write {first} or {second}").format(
                snippet=self._snippet(node), where=self._where(node), first=f"{a}^({right})",
                second=second))

    def _bracketed(self, node: ast.expr) -> bool:
        """True when the canonical text has '(' right before ``node`` (blanks skipped)."""
        before = self.src[:node.col_offset].rstrip(" \t")
        return before.endswith("(")

    def _operator_at(self, left: ast.expr, right: ast.expr) -> int:
        """Canonical offset (with the indent) of the ``**`` between two operands."""
        start = left.end_col_offset or 0
        return self.src.find("**", start, right.col_offset) + self.indent

    def _call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self._fail(_("attribute access is not allowed"), node.func)
            raise self._fail(_("only the known functions can be called"), node)
        name = ALIASES.get(node.func.id, node.func.id)
        if name not in FUNCTIONS:
            product = (_("; for a product write {name}*(...)").format(name=name)
                       if len(node.args) == 1 and not node.keywords else "")
            raise ExpressionError(
                _("unknown function '{name}'{where}; known: {known}{product}").format(
                    name=name, where=self._where(node), known=_KNOWN, product=product))
        if node.keywords:
            raise self._fail(_("keyword arguments are not allowed"), node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._fail(_("starred arguments are not allowed"), arg)
        low, high = FUNCTIONS[name]
        if not low <= len(node.args) <= high:
            if low == high:
                message = (_("{name}() takes {low} argument, got {got}") if high == 1 else
                           _("{name}() takes {low} arguments, got {got}"))
            elif high == low + 1:
                message = _("{name}() takes {low} or {high} arguments, got {got}")
            else:
                message = _("{name}() takes {low} to {high} arguments, got {got}")
            raise self._fail(message.format(name=name, low=low, high=high, got=len(node.args)),
                             node)
        args = tuple(self.build(arg) for arg in node.args)
        spec = named_functions().get(name)
        for arg, attribute in zip(node.args[spec.inputs:] if spec else (),
                                  spec.attributes if spec else (), strict=False):
            if self._fold(arg) is None:
                message = (_("the slope of {name} must be a constant") if name == "leaky_relu"
                           else _("the {what} of {name} must be a constant"))
                raise self._fail(message.format(what=attribute, name=name), arg)
        return Call(name, args)

    # -- bounded constant folding (only to check; the tree keeps its structure)
    def _fold(self, node: ast.expr) -> float | None:
        """Value of a variable-free arithmetic sub-tree (refusing huge ones), else None."""
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return CONSTANTS.get(node.id)
        if isinstance(node, ast.UnaryOp):
            value = self._fold(node.operand)
            if value is None:
                return None
            return -value if isinstance(node.op, ast.USub) else value
        if not isinstance(node, ast.BinOp):
            return None
        a = self._fold(node.left)
        b = self._fold(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Add):
            result = a + b
        elif isinstance(node.op, ast.Sub):
            result = a - b
        elif isinstance(node.op, ast.Mult):
            result = a * b
        elif isinstance(node.op, ast.Div):
            if b == 0:
                raise self._fail(_("division by zero"), node)
            result = a / b
        else:
            result = self._constant_power(a, b, node)
        if not (abs(result) <= MAX_CONSTANT):
            raise self._fail(_("constant too large (limit {limit})").format(
                limit=f"{MAX_CONSTANT:g}"), node)
        return result

    def _constant_power(self, base: float, exponent: float, node: ast.BinOp) -> float:
        if abs(exponent) > MAX_CONSTANT_EXPONENT:
            raise ExpressionError(
                _("exponent too large: {snippet}{where} (limit {limit} for a constant base)")
                .format(snippet=self._snippet(node), where=self._where(node),
                        limit=MAX_CONSTANT_EXPONENT))
        if base == 0 and exponent < 0:
            raise self._fail(_("zero raised to a negative power"), node)
        if base < 0 and not exponent.is_integer():
            raise self._fail(_("negative base with a non-integer exponent"), node)
        if base != 0 and exponent * math.log10(abs(base)) > math.log10(MAX_CONSTANT):
            raise ExpressionError(
                _("exponent too large: {snippet}{where} (the result would exceed {limit})").format(
                    snippet=self._snippet(node), where=self._where(node),
                    limit=f"{MAX_CONSTANT:g}"))
        return math.pow(base, exponent)


def _wrap(text: str) -> str:
    """``text`` in brackets unless it is one name or number."""
    return text if re.fullmatch(r"[A-Za-z0-9_.]+", text) else f"({text})"


# --------------------------------------------------------------------------- namespaces


def _composites() -> dict[str, Callable[..., Any]]:
    return {name: fn for name, fn in COMPOSITES.items() if name not in named_functions()}


def numpy_functions() -> dict[str, Callable[..., Any]]:
    """The known functions in NumPy, from the closed forms of the checks (needs SymPy)."""
    from . import closed_forms

    return {**closed_forms.numpy_functions(), **_composites()}


@functools.lru_cache(maxsize=1)
def dagrad_functions() -> Mapping[str, Callable[..., Any]]:
    """The known functions as dagrad's public functions (the default of evaluate)."""
    table = {name: f.call for name, f in named_functions().items()}
    return MappingProxyType({**table, **_composites()})


def _exact(value: Any) -> Any:
    """A Python number as an exact SymPy number (0.5 -> 1/2, as typed decimals are)."""
    import sympy

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return sympy.Integer(value) if isinstance(value, int) else sympy.Rational(repr(value))


def sympy_functions() -> dict[str, Callable[..., Any]]:
    """The known functions as SymPy expressions: each Op's SymPy forward (``Op.symbolic``)."""

    def forward(spec: Any) -> Callable[..., Any]:
        return lambda *args: spec.op.symbolic(*spec.bind(args, _exact))

    table = {name: forward(spec) for name, spec in named_functions().items()}
    return {**table, **_composites()}


# --------------------------------------------------------------------------- SymPy


def to_sympy(expr: Expression, symbols: Mapping[str, Any] | None = None) -> Any:
    """Build the SymPy expression of ``expr``; variables are real symbols unless given."""
    import sympy

    table = dict(symbols or {})
    for name in expr.variables:  # real, so that abs, relu and maximum differentiate cleanly
        table.setdefault(name, sympy.Symbol(name, real=True))
    algebra = Algebra(
        number=lambda n: _exact(n.value),
        constant=lambda c: sympy.pi if c.name == "pi" else sympy.E,
        variable=lambda v: table[v.name],
        power=lambda base, exponent, node: base**exponent,
        functions=sympy_functions(),
    )
    return fold(expr.tree, algebra)


# --------------------------------------------------------------------------- --at x1=1.5,x2=2

_ASSIGNMENT_RE = re.compile(
    r"(?P<name>[A-Za-z][A-Za-z0-9_]*)=(?P<value>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\Z"
)
_NUMBER_WORDS = re.compile(r"[+-]?(?:inf|infinity|nan)\Z", re.IGNORECASE)


def _assignment_items(text: str) -> Iterator[str]:
    text = re.sub(r"\s*=\s*", "=", text.strip())
    pieces = re.split(r"[,;]", text)
    if len(pieces) > 1 and not pieces[-1].strip():
        pieces.pop()  # one trailing separator is fine
    for piece in pieces:
        words = piece.split()
        if not words:
            raise ExpressionError(_("empty item in assignments {text}").format(text=repr(text)))
        yield from words


def parse_assignments(text: str) -> dict[str, float]:
    """Parse ``"x1=1.5,x2=2"`` (also ``;`` or spaces as separators) into ``{name: float}``."""
    if not isinstance(text, str):
        raise TypeError(f"assignments must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(_("assignments too long ({count} characters; limit {limit})").format(
            count=len(text), limit=MAX_LENGTH))
    result: dict[str, float] = {}
    if not text.strip():
        return result
    for item in _assignment_items(text):
        match = _ASSIGNMENT_RE.match(item)
        if match is None:
            name, sep, value = item.partition("=")
            if sep and _NAME_RE.match(name) and _NUMBER_WORDS.match(value):
                raise ExpressionError(_("value of '{name}' is not finite in '{item}'").format(
                    name=name, item=item))
            raise ExpressionError(_("invalid assignment '{item}' (expected NAME=NUMBER)").format(
                item=item))
        name = match["name"]
        if "__" in name or len(name) > MAX_NAME_LENGTH:
            raise ExpressionError(_("invalid variable name in '{item}'").format(item=item))
        if name in CONSTANTS or name in FUNCTIONS:
            message = (_("'{name}' is a constant, not a variable, in '{item}'")
                       if name in CONSTANTS else
                       _("'{name}' is a function, not a variable, in '{item}'"))
            raise ExpressionError(message.format(name=name, item=item))
        if name in result:
            raise ExpressionError(_("duplicate assignment of '{name}' in '{item}'").format(
                name=name, item=item))
        value = float(match["value"])
        if not math.isfinite(value):
            raise ExpressionError(_("value of '{name}' is not finite in '{item}'").format(
                    name=name, item=item))
        result[name] = value
    return result
