"""The op table's entry type and the one function that applies an entry to tensors.

An :class:`Op` holds everything dagrad knows about a primitive, once:

* ``forward(*arrays, **attrs) -> array``
* ``vjp`` — one rule per input, ``rule(g, *inputs, out, **attrs)``: the cotangent of that input
  (reverse mode).  ``None`` marks an input that has no derivative (labels, conditions).
* ``jvp`` — one rule per input, ``rule(t, *inputs, out, **attrs)``: that input's contribution to
  the output tangent (forward mode; contributions add up).
* ``formula`` — the local derivative d out / d input_k.  For scalar-wise ops one function of
  SymPy symbols per input, ``lambda a, b, out: b``; for tensor ops a :class:`Template` per input
  with text and LaTeX.  Edge labels, symbolic chain rules and explanations are built from it.
* ``symbolic`` — the forward map on SymPy symbols (scalar-wise ops), for symbolic derivations.
* ``saves`` — the names (from ``args``, plus ``"out"``) whose *values* the vjp rules read, as
  PyTorch's ``ctx.save_for_backward``; shapes and attributes do not count.  Backward checks
  that none of them was modified in place since the node was made, and an op that saves
  nothing may be traversed again after its graph was freed.  ``None`` (the default) means
  every input and the output: the safe assumption.
* ``residuals`` — the names of values the forward computes on the way and saves for the vjp
  (PyTorch's ``ctx.save_for_backward`` of intermediates, JAX's residuals).  Such a forward
  returns ``WithResiduals(out, name=array, ...)`` (or a plain array when it saved nothing); the
  values live on the recorded node, and the vjp rules receive them as keyword arguments on the
  array path (never under ``create_graph``, whose rules stay differentiable).  A backward
  without ``retain_graph`` drops them.  Rules must give the same values without them.

Rules are written with plain operators and :mod:`dagrad.ops.rulemath` helpers, so the same rule
runs on ndarrays (fast backward) and on Tensors (``create_graph=True``).  Cotangents and tangents
may carry extra leading batch axes: rules broadcast over them.  Broadcasting between the inputs
of a binary op is undone in one place (``autodiff``), never inside a rule.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..tensor import _SEQ as STATE_SEQ
from ..tensor import MODES, STATE, Tensor
from .inplace_vjp import UNDERIVED
from .rulecode import Code, source

__all__ = ["Op", "Template", "WithResiduals", "ResidualNode", "output_only", "apply", "binary",
           "unary", "record_result", "OPS", "as_input",
           "HOOKS", "INPLACE_HOOKS"]

OPS: dict[str, Op] = {}


@dataclass(frozen=True)
class Template:
    """Local derivative of a tensor op, as text and LaTeX with ``{a}``, ``{b}``, ``{out}``."""

    text: str
    latex: str
    kind: str = "jacobian"  # "jacobian": the full Jacobian; "diagonal": elementwise

    def render(self, names: dict[str, str], latex: bool = False) -> str:
        """Fill in the operand names (only ``{name}`` placeholders; LaTeX braces stay)."""
        import re

        text = self.latex if latex else self.text
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)), text)


class Op:
    """One primitive of the op table (see module docstring)."""

    __slots__ = ("name", "forward", "vjp", "jvp", "formula", "symbolic", "symbol",
                 "args", "broadcasts", "variadic", "elementwise", "doc", "saves",
                 "saved_inputs", "saves_out", "residuals", "_identity", "kernels", "floats",
                 "inplace_vjp")

    def __init__(self, name: str, forward: Callable, vjp: Sequence | Callable,
                 jvp: Sequence | Callable, formula: Sequence | None = None,
                 symbolic: Callable | None = None, symbol: str | None = None,
                 args: Sequence[str] = ("a",), broadcasts: bool = False,
                 variadic: bool = False, elementwise: bool = False, doc: str = "",
                 saves: Sequence[str] | None = None, residuals: Sequence[str] = ()):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.jvp = jvp
        self.formula = formula
        self.symbolic = symbolic
        self.symbol = symbol or name
        self.args = tuple(args)
        self.broadcasts = broadcasts
        self.variadic = variadic
        self.elementwise = elementwise
        self.doc = doc
        if saves is None:
            saves = (*self.args, "out") if not variadic else ("*", "out")
        unknown = [n for n in saves if n not in (*self.args, "out", "*")]
        if unknown:
            raise ValueError(f"op {name}: saves names {unknown}, not among {self.args} or 'out'")
        self.saves = tuple(saves)
        #: indices of the inputs whose values backward reads (None: all of them, variadic)
        self.saved_inputs = None if "*" in saves else tuple(
            i for i, a in enumerate(self.args) if a in saves)
        self.saves_out = "out" in saves
        self.residuals = tuple(residuals)
        self._identity: tuple[int, ...] | None = None
        #: array kernels a consumer installs on the op (dg.compile: "fwd", "vjp" selectors)
        self.kernels: dict[str, Callable] = {}
        #: True when the forward and the vjp rules take Python floats for float64 0-d values
        #: (the scalar fast path; see ``binary``); set by the op modules for the ops that do
        self.floats = False
        #: the vjp writing into an owned cotangent (:func:`.inplace_vjp.inplace_vjp`, lazily)
        self.inplace_vjp: Callable | None = UNDERIVED
        if self.residuals and elementwise:
            raise ValueError(f"op {name}: an elementwise op saves no residuals (scalar path)")
        if not variadic and (len(vjp) != len(args) or len(jvp) != len(args)):
            raise ValueError(f"op {name}: need one vjp and one jvp rule per input {args}")
        if name in OPS:
            raise ValueError(f"op {name} defined twice")
        OPS[name] = self

    def vjp_rule(self, i: int) -> Callable | None:
        """The reverse-mode rule for input ``i`` (None if that input has no derivative)."""
        if self.variadic:
            return lambda *a, **k: self.vjp(i, *a, **k)
        return self.vjp[i]

    def vjp_rules(self, n: int) -> Sequence[Callable | None]:
        """The reverse-mode rules for ``n`` inputs (variadic ops have one per input)."""
        return [self.vjp_rule(i) for i in range(n)] if self.variadic else self.vjp

    def jvp_rule(self, i: int) -> Callable | None:
        """The forward-mode rule for input ``i``."""
        if self.variadic:
            return lambda *a, **k: self.jvp(i, *a, **k)
        return self.jvp[i]

    @property
    def identity_vjp(self) -> tuple[int, ...]:
        """The inputs whose vjp rule returns the cotangent itself (x̄ = ḡ, before the engine's
        broadcast reduction): found by calling each rule on recording values."""
        if self._identity is None:
            found = []
            if not self.variadic:
                g = Code("{g}")
                operands = [g, *[Code(f"{{{k}}}") for k in range(len(self.args))], Code("{out}")]
                for i, rule in enumerate(self.vjp):
                    if rule is None:
                        continue
                    try:
                        extra = list(inspect.signature(rule).parameters)[len(operands):]
                    except (TypeError, ValueError):  # a builtin without a signature
                        continue
                    if source(rule, operands, {a: Code(f"{{{a}}}") for a in extra}) is g:
                        found.append(i)
            self._identity = tuple(found)
        return self._identity

    @property
    def scalar(self) -> bool:
        """True when the formula is a SymPy function (scalar-wise op)."""
        return self.formula is not None and not any(isinstance(f, Template)
                                                    for f in self.formula)

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


class WithResiduals:
    """A forward's output with the values it saved for its vjp (``Op.residuals``)."""

    __slots__ = ("out", "values")

    def __init__(self, out: np.ndarray, **values: Any):
        self.out = out
        self.values = values


class ResidualNode(Tensor):
    """The recorded result of an op with residuals: they live on the node, in ``_residuals``."""

    __slots__ = ("_residuals",)


def output_only(forward: Callable) -> Callable:
    """An op's forward that returns its output alone (residuals, if any, dropped)."""

    def run(*args: Any, **attrs: Any) -> Any:
        out = forward(*args, **attrs)
        return out.out if type(out) is WithResiduals else out

    return run


# Hooks for instrumentation (anomaly detection, tracing); each is called as
# hook(op, inputs, out_tensor, attrs) after a recorded or unrecorded application.
HOOKS: list[Callable] = []
# Called as hook(tensor, what) before an in-place op changes a tensor (dg.compile refuses them).
INPLACE_HOOKS: list[Callable] = []


def as_input(x: Any, like: Tensor | None = None) -> Tensor:
    """Wrap a constant as a Tensor; Python scalars take ``like``'s dtype (never upcast floats)."""
    tx = type(x)
    if (tx is float or tx is int) and like is not None:
        ld = like._d
        if type(ld) is float or (ld.dtype is _F64D and not ld.ndim):
            v = float(x)  # a float64 number: held as a Python float
        else:
            dt = ld.dtype
            v = dt.type(x) if dt.kind == "f" else None  # NEP 50: like's dtype, a NumPy scalar
        if v is not None:  # a constant: a leaf that needs no gradient
            t = _new(Tensor)
            t._d = v
            t.requires_grad = False
            t._grad = t.name = t._op = t._ins = t._attrs = None
            t._seq = _next_seq()
            t._freed = False
            return t
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        if like is not None:
            dt = np.result_type(like.dtype, x)
        elif isinstance(x, float):
            dt = STATE.default_dtype
        else:
            dt = None
        return Tensor._from_op(np.asarray(x, dtype=dt), None)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot use a value of type {type(x).__name__} in a dagrad op")
    if arr.dtype == np.float64 and not isinstance(x, np.ndarray | np.generic):
        arr = arr.astype(STATE.default_dtype)  # lists of floats follow the default dtype
    return Tensor._from_op(arr, None)


def apply(op: Op, inputs: Sequence[Tensor], attrs: dict[str, Any]) -> Tensor:
    """Run ``op`` forward on the inputs' data and record the node if any input needs a gradient."""
    # The hot path of every eager op: no generator expressions, one branch per input count,
    # and no ``**{}`` (an empty keyword dict doubles the cost of calling a ufunc).
    n = len(inputs)
    ew = op.elementwise
    if n == 1:
        a = inputs[0]
        av = _operand(a._d, op.floats) if ew else a.data
        out = op.forward(av, **attrs) if attrs else op.forward(av)
        record = a.requires_grad
    elif n == 2:
        a, b = inputs
        av, bv = (_operand(a._d, False), _operand(b._d, False)) if ew else (a.data, b.data)
        out = op.forward(av, bv, **attrs) if attrs else op.forward(av, bv)
        record = a.requires_grad or b.requires_grad
    else:
        out = op.forward(*[_operand(t._d, False) if ew else t.data for t in inputs], **attrs)
        record = False
        for t in inputs:
            if t.requires_grad:
                record = True
                break
    if type(out) is not _ND:
        if not ew:
            if type(out) is WithResiduals:
                return _record_with_residuals(op, tuple(inputs), attrs, out, record)
            out = np.asarray(out)  # elementwise forwards give ndarrays or numbers (0-d)
        elif type(out) is _F64:
            out = float(out)  # a float64 number is held as a Python float
    return record_result(op, inputs if type(inputs) is tuple else tuple(inputs), attrs, out,
                         record)


def _operand(v: Any, floats: bool) -> Any:
    """What an elementwise forward gets for a held value ``v``: a 0-d array or number as a
    number — a Python float for float64 where the op takes floats (``floats``), else a NumPy
    scalar — and any other array as itself.

    NumPy scalars and Python floats are what 0-d results of elementwise ops hold already; their
    arithmetic skips the ufunc machinery (~10x cheaper for one number) and gives the same values.
    """
    tv = type(v)
    if tv is _ND:
        if v.ndim:
            return v
        v = v[()]
        return float(v) if floats and type(v) is _F64 else v
    if tv is float and not floats:
        return _F64(v)  # strongly typed, as NumPy promotes a float64 scalar
    return v


def binary(op: Op, a: Any, b: Any) -> Tensor:
    """``apply`` for a binary elementwise op without attributes: the operators' entry.

    Numbers and arrays become constants (a Python number takes the tensor's dtype); a 0-d array
    (a leaf's value) enters the forward as a number, like the 0-d results of elementwise ops.
    Two float64 numbers meet as Python floats where the op allows (``Op.floats``): + − × ÷ on
    floats are NumPy's float64 ones, bit for bit.  A float meeting anything else (an array, a
    float32 number) enters as a NumPy float64 scalar, so dtypes promote as NumPy's.
    """
    if not isinstance(a, Tensor):
        a = as_input(a, like=b if isinstance(b, Tensor) else None)
        if not isinstance(b, Tensor):
            b = as_input(b, like=a)
    elif not isinstance(b, Tensor):
        b = as_input(b, like=a)
    av, bv = a._d, b._d
    ta, tb = type(av), type(bv)
    if ta is _ND and not av.ndim:  # _operand, inline: this is every operator's path
        if av.dtype is _F64D:
            av, ta = av.item(), float
        else:
            av = av[()]
            ta = type(av)
    if tb is _ND and not bv.ndim:
        if bv.dtype is _F64D:
            bv, tb = bv.item(), float
        else:
            bv = bv[()]
            tb = type(bv)
    if ta is float and tb is float and op.floats:
        try:
            out = op.forward(av, bv)
        except (ZeroDivisionError, OverflowError):  # NumPy's inf/nan (and warning) instead
            out = float(op.forward(_F64(av), _F64(bv)))
        return record_result(op, (a, b), _NO_ATTRS, out, a.requires_grad or b.requires_grad)
    if ta is float:
        av = _F64(av)
    if tb is float:
        bv = _F64(bv)
    try:
        out = op.forward(av, bv)
    except ValueError as e:
        if "broadcast" in str(e):
            raise ValueError(f"{op.name}: shapes {a.shape} and {b.shape} cannot be broadcast "
                             "together") from None
        raise
    if type(out) is _F64:
        out = float(out)
    return record_result(op, (a, b), _NO_ATTRS, out, a.requires_grad or b.requires_grad)


def unary(op: Op, a: Any) -> Tensor:
    """``apply`` for a unary elementwise op without attributes."""
    if not isinstance(a, Tensor):
        a = as_input(a)
    av = a._d
    ta = type(av)
    if ta is _ND and av.ndim:  # an array: the forward on it
        return record_result(op, (a,), _NO_ATTRS, op.forward(av), a.requires_grad)
    if ta is float and op.floats:  # a float64 number (as binary's), recorded inline
        out = op.forward(av)
        if type(out) is _F64:  # a math domain or range error fell back to the ufunc
            out = float(out)
        return record_result(op, (a,), _NO_ATTRS, out, a.requires_grad)
    if ta is _ND:  # 0-d: _operand, inline
        av = av[()]
        if type(av) is _F64 and op.floats:
            av = float(av)
    elif ta is float:
        av = _F64(av)  # an op that takes NumPy scalars
    out = op.forward(av)
    if type(out) is _F64:
        out = float(out)
    return record_result(op, (a,), _NO_ATTRS, out, a.requires_grad)


_NO_ATTRS: dict[str, Any] = {}
_ND = np.ndarray
_F64 = np.float64
_F64D = np.dtype(np.float64)
_new = object.__new__
_next_seq = STATE_SEQ.__next__


def _record_with_residuals(op: Op, inputs: tuple[Tensor, ...], attrs: dict[str, Any],
                           out: WithResiduals, record: bool) -> Tensor:
    """``record_result`` for a forward that saved residuals: kept on the node when recorded."""
    if not (record and (not STATE.grad_off or MODES.grad_enabled)):  # as record_result
        return record_result(op, inputs, attrs, np.asarray(out.out), False)
    result = record_result(op, inputs, attrs, np.asarray(out.out), True, ResidualNode)
    result._residuals = out.values
    return result


def record_result(op: Op, inputs: tuple[Tensor, ...], attrs: dict[str, Any],
                  out: np.ndarray | np.generic, record: bool,
                  node_type: type[Tensor] = Tensor) -> Tensor:
    """Wrap a forward result as a Tensor, with its node (op, inputs, attrs) when recording."""
    result = _new(node_type)
    result._d = out
    if record and (not STATE.grad_off or MODES.grad_enabled):  # tensor.grad_on(), inline
        result.requires_grad = True
        result._op = op
        result._ins = inputs
        result._attrs = attrs
    else:
        result.requires_grad = False
        result._op = result._ins = result._attrs = None
    result._grad = result.name = None
    result._seq = _next_seq()
    result._freed = False
    if HOOKS:
        for hook in HOOKS:
            hook(op, inputs, result, attrs)
    return result
