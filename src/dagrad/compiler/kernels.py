"""Kernels: how a step runs at replay — NumPy calls writing with ``out=`` into planned buffers.

Elementwise ops get their kernels from the op table itself: the forward or vjp rule is called
once on recording values (:mod:`dagrad.ops.rulecode`) and the recorded tree of ufunc calls is
lowered to ``out=`` calls (the rule's own operations in its order, so the numbers are the
rule's), in place where the planner allows.  The few kernels that are not an elementwise rule —
GEMMs whose result layout the planner tunes, softmax + cross-entropy fused across forward and
backward, bias reductions, cotangent accumulation — are installed on their ops here.  A kernel
is chosen only when its conditions hold (float dtypes, no batch axes on the cotangent, ...);
otherwise the step runs the table's own function.  0-d values replay as NumPy scalars through
templates generated from the same recordings (see ``scalar_template``).  tests/test_compiler.py
checks the kernels against the table's rules on random inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import autodiff
from ..ops.rulecode import BOOL_UFUNCS, Code, source
from .ir import CONST, Step, Value

__all__ = ["Kernel", "View", "Ctx", "select", "scalar_template"]


@dataclass
class Kernel:
    """A replacement for one step: the code it emits and what the planner must provide.

    ``result``: "buffer" (written into a preallocated array), "alias" (operand ``alias`` itself,
    no work), "local" (a fresh NumPy scalar or array).  ``inplace``: operands whose buffer the
    result may reuse when they die here; ``temps``: scratch arrays shaped like the result, the
    first of which may reuse an operand in ``temp_inplace`` or become the result; ``saves``:
    a forward that writes the values its op saves for the vjp (``Step.saved``) into buffers
    the planner provides (``Ctx.saved``), which the vjp step then reads as operands;
    ``tune(order, arrays)``: a runnable sample of the kernel writing a C- or F-ordered result,
    which the planner times to choose the result's memory layout.  ``hoist``: a pure step the
    planner may move up to right after the steps making what it reads (a bias gradient's
    batch sum, run while the cotangent is still in cache rather than after two GEMMs).
    ``follow``: an operand whose buffer's layout (C or F) the result takes, so that the
    elementwise steps combining the two run over like-ordered memory (NumPy runs a C array
    times an F array element by element along strides: 15× slower at 128×256).
    """

    emit: Callable[[Ctx], list[str]]
    reads: tuple[int, ...] | None = None
    result: str = "buffer"
    alias: int = 0
    inplace: tuple[int, ...] = ()
    temps: int = 0
    temp_inplace: tuple[int, ...] = ()
    result_in_temp: bool = False
    saves: bool = False
    tune: Callable[[str, list[Any]], Callable[[], Any]] | None = None
    hoist: bool = False
    follow: int | None = None


@dataclass
class View:
    """What a selector sees of a step: its operands' values (shapes, dtypes) and result."""

    step: Step
    operands: list[Value]
    out: Value

    def nd(self, k: int) -> int:
        return len(self.operands[k].shape)

    def floats(self) -> bool:
        """Every operand and the result share one floating dtype."""
        dt = self.out.dtype
        return dt.kind == "f" and all(v.dtype == dt for v in self.operands)

    def g_plain(self) -> bool:
        """vjp: the cotangent has the output's shape (no batch axes) and needs no reduction."""
        g, out = self.operands[0], self.operands[1 + len(self.step.op.args)]
        return g.shape == out.shape and self.step.sum_to is None and not self.step.wrap


@dataclass
class Ctx:
    """Names the emitted code uses: operands, result, temps, the saved values' buffers (a
    forward with ``Kernel.saves``); ``bind`` adds a constant."""

    ops: list[str]
    out: str
    temps: list[str]
    saved: list[str] | None
    attrs: dict[str, Any]
    bind: Callable[[Any, str], str]
    view: Callable[[str, tuple[int, ...]], str]
    operands: list[Value] = field(default_factory=list)
    order: str = "C"              # the result buffer's layout ("F": feature-major)
    dead: bool = False            # nothing reads the result (the step makes saved values)


# ----- elementwise ops: kernels generated from the table's forward and vjp rules ------------
@dataclass
class _Lowered:
    """A recorded rule as ``out=`` calls: each line's text (``{k}`` operand k, ``{out}``,
    ``{t<i>}`` temps), the operands it reads, and whether it writes the result buffer."""

    lines: list[tuple[str, frozenset[int], bool]]
    temps: int

    def reads(self) -> tuple[int, ...]:
        return tuple(sorted(frozenset().union(*(r for _, r, _ in self.lines))))

    def inplace(self, same_shape: set[int]) -> tuple[int, ...]:
        """Operands whose buffer the result may be: read no later than its first write."""
        first = next(i for i, (_, _, w) in enumerate(self.lines) if w)
        late = frozenset().union(*(r for _, r, _ in self.lines[first + 1:]))
        return tuple(k for k in self.reads() if k in same_shape and k not in late)


#: (op, step kind, input index, attrs) → the lowered rule, or None (no kernel).
_LOWERED: dict[tuple, _Lowered | None] = {}


class _NotLowered(Exception):
    """The recorded tree has a node no ``out=`` call computes."""


def _is_call(x: Any) -> bool:
    """A recorded float-valued call (computed into a buffer); masks are computed inline."""
    return isinstance(x, Code) and x.call is not None and x.call[0] not in BOOL_UFUNCS


def _inline(x: Any, reads: set[int]) -> str:
    """A leaf, a number or a boolean mask as an expression; the operands it reads join reads."""
    if not isinstance(x, Code):
        return repr(x)
    if x.call is None:
        reads.add(int(x.src[1:-1]))
        return x.src
    name, args = x.call
    if name not in BOOL_UFUNCS:
        raise _NotLowered(name)
    return f"_np.{name}({', '.join(_inline(a, reads) for a in args)})"


def _lower(root: Code) -> _Lowered | None:
    """The recorded tree as NumPy calls writing with ``out=``, or None.

    A call node is computed into its destination (the result buffer for the root): its first
    call-argument into that same destination, later ones into temps.  These are the rule's own
    operations, in its order, on its operands — so the numbers are the rule's.
    """
    lines: list[tuple[str, frozenset[int], bool]] = []
    free: list[str] = []
    count = [0]

    def temp() -> str:
        if free:
            return free.pop()
        count[0] += 1
        return f"{{t{count[0] - 1}}}"

    def emit(text: str, reads: set[int], dest: str) -> None:
        lines.append((text, frozenset(reads), dest == "{out}"))

    def operand(x: Any, dest: str) -> tuple[str, str | None]:
        """x's expression: a call computed into dest (a fresh temp if dest is None)."""
        if not _is_call(x):
            return "", None
        d = dest
        into(x, d)
        return d, d

    def into(x: Code, dest: str) -> None:
        name, args = x.call
        if name == "as_float":                       # a mask as 0/1 of the float dtype
            r: set[int] = set()
            emit(f"_np.copyto({dest}, {_inline(args[0], r)})", r, dest)
            return
        if name == "where":                          # y everywhere, then x where cond holds
            cond, a, b = args
            if not isinstance(cond, Code) or cond.call is None:
                raise _NotLowered("where on an operand")  # may not be boolean: np.where's own
            r = set()
            if _is_call(b):
                into(b, dest)
            else:
                emit(f"_np.copyto({dest}, {_inline(b, r)})", r, dest)
            r = set()
            if _is_call(a):
                t = temp()
                into(a, t)
                src_a = t
                free.append(t)
            else:
                src_a = _inline(a, r)
            emit(f"_np.copyto({dest}, {src_a}, where={_inline(cond, r)})", r, dest)
            return
        refs: list[str] = []
        held: list[str] = []
        r = set()
        first = True
        for a in args:
            if _is_call(a):
                d = dest if first else temp()
                first = False
                into(a, d)
                refs.append(d)
                if d != dest:
                    held.append(d)
            else:
                refs.append(_inline(a, r))
        emit(f"_np.{name}({', '.join(refs)}, out={dest})", r, dest)
        free.extend(held)

    if not _is_call(root):
        return None
    try:
        into(root, "{out}")
    except _NotLowered:
        return None
    return _Lowered(lines, count[0])


def _recorded(step: Step, n: int) -> Code | None:
    """The step's forward or vjp rule called on n recording operands (attrs as they are)."""
    op = step.op
    leaves = [Code(f"{{{k}}}") for k in range(n)]
    if step.kind == "fwd":
        return source(op.forward, leaves, step.attrs)
    rule = op.vjp_rule(step.index)
    return None if rule is None else source(rule, leaves, step.attrs)


def _generated(v: View) -> Kernel | None:
    """The array kernel lowered from the table's own forward or vjp rule (elementwise ops)."""
    s = v.step
    if not s.op.elementwise or s.op.variadic or not v.floats() or v.out.scalar:
        return None
    if s.kind == "vjp" and (s.sum_to is not None or s.wrap):
        return None
    shapes = [o.shape for o in v.operands]
    try:
        if np.broadcast_shapes(*shapes, v.out.shape) != v.out.shape:
            return None
        key = (s.op, s.kind, s.index, tuple(sorted(s.attrs.items())))
        hash(key)
    except (ValueError, TypeError):
        return None
    if key not in _LOWERED:
        code = _recorded(s, len(v.operands))
        _LOWERED[key] = None if code is None else _lower(code)
    low = _LOWERED[key]
    if low is None:
        return None
    same = {k for k, shape in enumerate(shapes) if shape == v.out.shape}

    def emit(c: Ctx) -> list[str]:
        names = {str(k): n for k, n in enumerate(c.ops)} | {"out": c.out} | \
            {f"t{i}": t for i, t in enumerate(c.temps)}
        return [re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], text)
                for text, _, _ in low.lines]

    return Kernel(emit, reads=low.reads(), inplace=low.inplace(same), temps=low.temps)


def _linear(v: View) -> Kernel | None:
    """x Wᵀ + b: one GEMM into the result, then the bias added in place (as ops.linear).

    For a batch, the result may be stored feature-major (F order): the GEMM then runs as
    W xᵀ into its transpose, which BLAS does faster for few rows; the planner times both at
    trace time.  (Same numbers for a row-major x; for a feature-major x BLAS may round short
    dot products differently, by an ulp.)
    """
    if not v.floats() or v.nd(0) < 1 or v.nd(1) != 2:
        return None

    def emit(c: Ctx) -> list[str]:
        x, w, b = c.ops
        gemm = f"_np.matmul({w}, {x}.T, out={c.out}.T)" if c.order == "F" else \
            f"_np.matmul({x}, {w}.T, out={c.out})"
        return [gemm, f"_np.add({c.out}, {b}, out={c.out})"]

    def tune(order: str, arrays: list[Any]) -> Callable[[], Any]:
        x, w = arrays[0], arrays[1]
        out = np.empty(v.out.shape, v.out.dtype, order=order)
        if order == "F":
            return lambda: np.matmul(w, x.T, out=out.T)
        return lambda: np.matmul(x, w.T, out=out)

    return Kernel(emit, tune=tune if v.nd(0) == 2 else None)


def _matmul(v: View) -> Kernel | None:
    if not v.floats() or v.nd(0) < 2 or v.nd(1) < 2:
        return None
    return Kernel(lambda c: [f"_np.matmul({c.ops[0]}, {c.ops[1]}, out={c.out})"])


def _ce_loss_lines(c: Ctx, e: str, se: str, rows: str) -> list[str]:
    """The forward's own steps (ops.nn's ``_ce_forward``): s = logits − max (a few columns:
    the max across the transposed rows, exact in any order), e = e^s (into e) and its row sums
    (into se), loss = −(Σ_i (s_i,y_i − log Σ_j e_ij)) / N — the loss left out when nothing
    reads it (only the saved e and Σe are needed, e.g. by dg.grad)."""
    logits, labels = c.ops[0], c.ops[1]
    shape, dtype = c.operands[0].shape, c.operands[0].dtype
    if shape[-1] <= 32:
        mx = f"_np.maximum.reduce(_np.ascontiguousarray({logits}.T), axis=0)[:, None]"
    else:
        mx = f"_np.maximum.reduce({logits}, axis=-1, keepdims=True)"
    lines = [f"_e = _np.subtract({logits}, {mx})" if e == "_e" else
             f"_np.subtract({logits}, {mx}, out={e})"]
    if c.dead and se != "_se":
        return lines + [f"_np.exp({e}, out={e})",
                        f"_np.add.reduce({e}, axis=-1, keepdims=True, out={se})"]
    if shape[0] and dtype.itemsize >= 4:
        loss = f"{c.out} = -(_np.add.reduce(_sy - _np.log({se})[:, 0]) / {shape[0]})"
    else:
        loss = f"{c.out} = -(_sy - _np.log({se})[:, 0]).mean()"
    return lines + [f"_sy = {e}[{rows}, {labels}]",
                    f"_np.exp({e}, out={e})",
                    f"_np.add.reduce({e}, axis=-1, keepdims=True, out={se})" if se != "_se"
                    else f"_se = _np.add.reduce({e}, axis=-1, keepdims=True)",
                    loss]


_ROWS: dict[int, np.ndarray] = {}


def _rows(n: int) -> np.ndarray:
    """0, 1, …, n − 1: the row index of a (rows, labels) pick, one array per size."""
    return _ROWS.setdefault(n, np.arange(n))


def _ce_operands(logits: Value, labels: Value) -> bool:
    return logits.dtype.kind == "f" and len(logits.shape) == 2 and len(labels.shape) == 1 \
        and labels.dtype.kind == "i"


def _cross_entropy(v: View) -> Kernel | None:
    """softmax + cross-entropy forward into buffers: e^(logits − max) and its row sums, the
    values the op saves for its vjp, when it saved them (else into fresh local arrays: a
    planned scratch buffer would be shaped like the 0-d loss)."""
    if not _ce_operands(*v.operands):
        return None
    rows_ = _rows(v.operands[0].shape[0])
    if not v.step.saved:
        return Kernel(lambda c: _ce_loss_lines(c, "_e", "_se", c.bind(rows_, "rows")),
                      result="local")
    return Kernel(lambda c: _ce_loss_lines(c, *c.saved, c.bind(rows_, "rows")),
                  result="local", saves=True)


def _ce_vjp(v: View) -> Kernel | None:
    """d loss/d logits = g · (e / Σe − onehot) / N from the saved e and Σe, as the rule on
    arrays computes it (in place into e's buffer when e dies here)."""
    s, ops = v.step, v.operands
    if s.index != 0 or len(ops) != 6 or not ops[0].scalar or s.sum_to is not None or \
            ops[0].dtype != ops[1].dtype or not _ce_operands(ops[1], ops[2]):
        return None
    n = ops[1].shape[0]
    rows_ = _rows(n)
    g = ops[0]
    unit = g.kind == CONST and np.asarray(g.const) == 1

    def emit(c: Ctx) -> list[str]:
        r, rows = c.out, c.bind(rows_, "rows")
        return [f"_np.divide({c.ops[4]}, {c.ops[5]}, out={r})",
                f"{r}[{rows}, {c.ops[2]}] -= 1",
                f"_np.multiply({r}, {1.0 / max(n, 1)!r}, out={r})",
                *([] if unit else [f"_np.multiply({r}, {c.ops[0]}, out={r})"])]

    return Kernel(emit, reads=(2, 4, 5) if unit else (0, 2, 4, 5), inplace=(4,))


def _identity_vjp(v: View) -> Kernel | None:
    """Rules that return g itself: no work, or one reduction (a bias gradient Σ_batch g)."""
    st = v.step.sum_to
    if st is None:
        return None if v.step.wrap else Kernel(lambda c: [], result="alias", alias=0, reads=(0,))
    g = v.operands[0]
    if not v.floats() or v.out.scalar:
        return None
    if len(g.shape) < st[1] + len(st[0]):  # sum_to would broadcast, not reduce
        return None
    axes = autodiff.reduce_axes(g.shape, st[0], st[1])
    kept = tuple(1 if k in axes else n for k, n in enumerate(g.shape))

    def emit(c: Ctx) -> list[str]:
        return [f"_np.add.reduce({c.ops[0]}, axis={axes!r}, keepdims=True, "
                f"out={c.view(c.out, kept)})"]

    return Kernel(emit, reads=(0,), hoist=True)


def _linear_vjp(v: View) -> Kernel | None:
    """x: g W;  W: gᵀ x — GEMM kernels writing with out= (b's rule is an identity rule)."""
    i = v.step.index
    if not v.floats() or not v.g_plain():
        return None
    if i == 0:
        def emit(c: Ctx) -> list[str]:
            g, w = c.ops[0], c.ops[2]
            if c.order == "F":              # x is feature-major: (W ᵀ gᵀ)ᵀ into a like buffer
                return [f"_np.matmul({w}.T, {g}.T, out={c.out}.T)"]
            return [f"_np.matmul({g}, {w}, out={c.out})"]

        return Kernel(emit, reads=(0, 2), follow=1 if v.nd(0) == 2 and v.nd(1) == 2 else None)
    if v.nd(1) != 2 or v.nd(0) != 2:
        return None
    return Kernel(lambda c: [f"_np.matmul({c.ops[0]}.T, {c.ops[1]}, out={c.out})"],
                  reads=(0, 1))


def _matmul_vjp(v: View) -> Kernel | None:
    if not v.floats() or not v.g_plain() or v.nd(1) != 2 or v.nd(2) != 2:
        return None
    if v.step.index == 0:
        return Kernel(lambda c: [f"_np.matmul({c.ops[0]}, {c.ops[2]}.T, out={c.out})"],
                      reads=(0, 2))
    return Kernel(lambda c: [f"_np.matmul({c.ops[1]}.T, {c.ops[0]}, out={c.out})"],
                  reads=(0, 1))


def _add_step(v: View) -> Kernel | None:
    """Cotangent accumulation prev + c, in place into whichever dies here."""
    if not v.floats() or v.out.scalar or any(o.shape != v.out.shape for o in v.operands):
        return None
    return Kernel(lambda c: [f"_np.add({c.ops[0]}, {c.ops[1]}, out={c.out})"], inplace=(0, 1))


def _install() -> None:
    """Install the kernels that are not elementwise rules (GEMMs with a chosen layout, the
    fused softmax + cross-entropy pair) on their ops: ``Op.kernels["fwd"]`` and ``["vjp"]``.
    Elementwise ops need none: their kernels are lowered from their own rules."""
    from ..ops import linalg
    from ..ops import nn as nnops

    for op, fwd, vjp in ((linalg.Linear, _linear, _linear_vjp),
                         (linalg.Matmul, _matmul, _matmul_vjp),
                         (nnops.CrossEntropy, _cross_entropy, _ce_vjp)):
        op.kernels["fwd"], op.kernels["vjp"] = fwd, vjp
_install()


def select(v: View) -> Kernel | None:
    """The array kernel for a step, or None (the step then runs the table's own function)."""
    s = v.step
    if s.kind == "fwd" and not s.dyn:
        f = s.op.kernels.get("fwd", _generated)
    elif s.kind == "vjp" and not s.dyn:
        f = _identity_vjp if s.index in s.op.identity_vjp else s.op.kernels.get("vjp", _generated)
    elif s.kind == "add":
        f = _add_step
    else:
        f = None
    return f(v) if f is not None else None


# ----- 0-d values: NumPy-scalar expressions generated from the table's rules ----------------
#: (op, step kind, input index, attribute names) → the generated template, or None.
_TEMPLATES: dict[tuple, str | None] = {}


def scalar_template(step: Step) -> str | None:
    """The expression for a step whose operands and result are all 0-d, or None.

    Generated once per (op, rule, attribute names) by calling the table's rule — or forward —
    on recording values (:mod:`dagrad.ops.rulecode`): the same operations in the same order.
    A forward that is not plain arithmetic is called as ``_f_<name>``, the table's own function.
    """
    if step.dyn:
        return None
    if step.kind == "add":
        return "{0} + {1}"
    op = step.op
    if op is None or not op.elementwise or op.variadic or step.kind not in ("fwd", "vjp"):
        return None
    if step.kind == "vjp" and (step.sum_to is not None or step.wrap):
        return None
    attrs = step.attrs
    if attrs:
        for a in attrs.values():
            if type(a) is not int and type(a) is not float:
                return None
        key = (op, step.kind, step.index, tuple(sorted(attrs)))
    else:
        key = (op, step.kind, step.index, ())
    if key not in _TEMPLATES:
        _TEMPLATES[key] = _generate(step, key[3])
    return _TEMPLATES[key]


def _generate(step: Step, names: tuple[str, ...]) -> str | None:
    op = step.op
    ins = [Code(f"{{{k}}}") for k in range(len(op.args))]
    attrs = {a: Code(f"{{{a}}}") for a in names}
    if step.kind == "vjp":
        rule = op.vjp_rule(step.index)
        code = None if rule is None else source(rule, [Code("{g}"), *ins, Code("{out}")], attrs)
        return None if code is None else code.src
    code = source(op.forward, ins, attrs)
    if code is not None and "_np." not in code.src:
        return code.src
    # a forward calling NumPy may take another path for one number (math.sin, not np.sin):
    try:  # the table's forward itself, where it gives a NumPy scalar for NumPy scalars
        sample = op.forward(*[np.float64(0.5)] * len(ins), **step.attrs)
    except Exception:
        return None
    if not isinstance(sample, np.generic):
        return None
    return f"_f_{op.name}({', '.join(c.src for c in ins)}" + \
        "".join(f", {a}={{{a}}}" for a in names) + ")"


#: (template, step kind, operand count) → the template's pieces and the operand positions read
_PARSED: dict[tuple[str, str, int], tuple[list[str], tuple[int, ...]]] = {}


def _parsed(template: str, kind: str, n: int) -> tuple[list[str], tuple[int, ...]]:
    """The template split at its fields (odd pieces are field names), and the positions of
    the operands it reads: for a vjp ``g`` is 0, input k is k + 1, ``out`` is n − 1."""
    key = (template, kind, n)
    hit = _PARSED.get(key)
    if hit is None:
        pieces = re.split(r"\{(\w+)\}", template)
        fields = set(pieces[1::2])
        if kind == "vjp":
            pos = {"g": 0, "out": n - 1, **{str(k): k + 1 for k in range(n - 2)}}
        else:
            pos = {str(k): k for k in range(n)}
        hit = _PARSED[key] = (pieces, tuple(sorted(p for f, p in pos.items() if f in fields)))
    return hit


def fill(template: str, names: list[str], step: Step) -> tuple[str, tuple[int, ...]]:
    """The template with operand names filled in, and the operand positions it reads."""
    pieces, used = _parsed(template, step.kind, len(names))
    if step.kind == "vjp":
        fields = {"g": names[0], "out": names[-1],
                  **{str(k): n for k, n in enumerate(names[1:-1])}}
    else:
        fields = {str(k): n for k, n in enumerate(names)}
    out = pieces[:]
    for i in range(1, len(out), 2):
        f = out[i]
        out[i] = fields[f] if f in fields else repr(step.attrs[f])
    return "".join(out), used


def reads(template: str, step: Step, n: int) -> tuple[int, ...]:
    """The operand positions a template reads (without filling it in)."""
    return _parsed(template, step.kind, n)[1]
