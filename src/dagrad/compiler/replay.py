"""Replay: the plan emitted as one straight-line Python function over preallocated buffers.

Every value is a local variable (a NumPy scalar for 0-d values, a fresh array from a table
function) or a buffer made once; every step is a line or a few: a NumPy call writing with
``out=``, an expression on scalars, or a call of the table's own forward/vjp.  No Tensor is
made per op; fn's results are copied out as Tensors at the end (a result returned once is written
into an array made by the call and handed out as it is).  The source is kept on the
compiled function (``.source``) and registered with linecache, so tracebacks show it.  A plan
of more than ``fastpaths.COMPILE_CODEGEN_LIMIT`` steps runs the same lines as interpreted steps
(:mod:`.interpret`): CPython compiles generated code at microseconds per line.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import linecache
from collections.abc import Callable
from types import FunctionType
from typing import Any

import numpy as np

from .. import autodiff, fastpaths
from ..ops import OPS
from ..ops.base import WithResiduals, output_only
from ..tensor import Tensor
from . import kernels
from . import optim as fused_optim
from .interpret import Program
from .ir import ARG, CONST, STATE, STEP, Out, Step
from .kernels import Ctx
from .plan import Item, Plan, order_of

__all__ = ["generate"]

_counter = itertools.count()
_LOCAL = ("local",)


class Stale(Exception):
    """A captured tensor changed shape or dtype since the trace: trace again."""


def _split(result: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """A forward's output and the values it saved (None each when it saved none this time:
    the vjp rule then computes them itself)."""
    if type(result) is WithResiduals:
        return (result.out, *(result.values[n] for n in names))
    return (result, *(None for _ in names))


def _stale() -> None:
    raise Stale


def _tensor(arr: Any) -> Tensor:
    return Tensor._from_op(arr, None)


def _accumulate(t: Tensor, cur: Tensor, g: Any) -> None:
    """Eager's ``.grad`` accumulation when a gradient is already there."""
    data = cur.data
    if data.shape == np.shape(g) and data.flags.writeable:
        data += g
    else:
        t._grad = Tensor._from_op(data + g, None)


def _detach(t: Tensor, buf: np.ndarray) -> None:
    """A .grad still pointing at our buffer from the last call: give it its own copy."""
    cur = t.grad
    if cur is not None and cur.data is buf:
        t._grad = Tensor._from_op(buf.copy(), None)


def _view(a: Any, offset: int, shape: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """The view fn took of a traced array (strides relative to its C-ordered data)."""
    flat = np.asarray(a).reshape(-1)
    return np.lib.stride_tricks.as_strided(flat[offset:], shape, strides, writeable=False)


def _grad_copy(t: Tensor) -> Tensor | None:
    cur = t.grad
    return None if cur is None else Tensor._from_op(np.array(cur.data, copy=True), None)


def _with(attrs: dict[str, Any], paths: tuple, arrays: tuple) -> dict[str, Any]:
    """attrs with the arrays at ``paths`` replaced (indices re-derived from this call's values)."""

    def put(x: Any, path: tuple, arr: Any) -> Any:
        if not path:
            return arr
        k, rest = path[0], path[1:]
        if isinstance(x, dict):
            y = dict(x)
            y[k] = put(x[k], rest, arr)
            return y
        y = list(x)
        y[k] = put(x[k], rest, arr)
        return tuple(y) if isinstance(x, tuple) else y

    out: Any = attrs
    for path, arr in zip(paths, arrays, strict=True):
        out = put(out, path, arr)
    return out


class _Gen:
    """Builds the source and the namespace its names refer to."""

    def __init__(self, plan: Plan, fresh: bool = False):
        self.plan = plan
        #: returned values written into an array made anew by each call (handed out, not
        #: copied); only in one generated function, whose locals these arrays are
        self.fresh_ok = fresh
        self.fresh: set[int] = set()
        self.values = plan.values
        self.ns: dict[str, Any] = {"_np": np, "_T": _tensor, "_acc": _accumulate,
                                   "_detach": _detach, "_gcopy": _grad_copy, "_with": _with,
                                   "_view": _view, "_sum_to": autodiff.sum_to,
                                   "_asarray": np.asarray, "_stale": _stale,
                                   "_split": _split,
                                   **{f"_f_{name}": op.forward
                                      for name, op in OPS.items() if op.elementwise}}
        self.lines: list[str] = []
        self.head: list[str] = []
        self.loaded: set[int] = set()
        self.objs: dict[Any, str] = {}
        self.cleared: set[str] = set()    # targets whose .grad this call set to None already
        for b, arr in enumerate(plan.buffers):
            self.ns[f"b{b}"] = arr

    def bind(self, obj: Any, hint: str = "k") -> str:
        """A name for a constant or object in the generated function's namespace (one name
        per object; numbers of the same type and bits share one)."""
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            key: Any = (type(obj), obj.tobytes())
        elif type(obj) in (int, float, bool):
            key = (type(obj), repr(obj))
        else:
            key = id(obj)
        hit = self.objs.get(key)
        if hit is not None and (type(key) is tuple or self.ns[hit] is obj):
            return hit
        name = f"{hint}{len(self.ns)}"
        self.ns[name] = obj
        self.objs[key] = name
        return name

    def view(self, buf: str, shape: tuple[int, ...]) -> str:
        return self.bind(self.ns[buf].reshape(shape), f"{buf}_")

    def name(self, vid: int) -> str:
        """The expression for a value at this point of the function."""
        v = self.values[vid]
        if v.kind == ARG:
            return f"a{v.arg}"
        if v.kind == CONST:
            return self.bind(v.const)
        if v.kind == STATE:
            if vid not in self.loaded:
                t = self.bind(v.tensor, "E")
                self.lines.append(f"s{vid} = {t}.data" + ("[()]" if v.scalar else ""))
                self.loaded.add(vid)
            return f"s{vid}"
        st = self.plan.store.get(vid, ("local",))
        if st[0] == "buf":
            return f"b{st[1]}"
        if st[0] == "alias":
            return self.name(st[1])
        return f"v{vid}"

    def target(self, target: tuple[str, Any]) -> str:
        return f"T[{target[1]}]" if target[0] == "arg" else self.bind(target[1], "O")

    # ----- steps ---------------------------------------------------------------------------
    def item(self, it: Item) -> None:
        s = it.step
        if s.kind == "effect":
            self.effect(s, it)
            return
        reads = set(it.reads)
        ops = [self.name(v) if v in reads else "_UNUSED" for v in it.operands]
        out = self.name(s.out)
        tag = f"  # {s.op.name if s.op is not None else s.kind}" + \
            (f" d/d{s.op.args[s.index] if s.index < len(s.op.args) else s.index}"
             if s.kind == "vjp" else " tangent" if s.kind == "jvp" else "")
        if it.template is not None:
            expr, _ = kernels.fill(it.template, ops, s)
            self.lines.append(f"{out} = {expr}{tag}")
            return
        if it.kernel is not None:
            buf = self.ns.get(out)
            order = order_of(buf) if isinstance(buf, np.ndarray) else "C"
            ctx = Ctx(ops, out, [f"b{b}" for b in it.temps],
                      [self.name(v) for v in s.saved], s.attrs, self.bind,
                      self.view, [self.values[v] for v in it.operands], order, it.dead)
            lines = it.kernel.emit(ctx)
            b = self.plan.fresh.get(s.out)
            if b is not None and self.fresh_ok and out == f"b{b}" and lines and \
                    not any(f"b{b}_" in line for line in lines):   # (no view bound to it)
                v = self.values[s.out]
                dt = self.bind(v.dtype, "dt")
                lines = [f"{out} = _np.empty({v.shape!r}, {dt}, order={order!r})", *lines]
                self.fresh.add(s.out)
            if lines:
                self.lines.append(lines[0] + tag)
                self.lines.extend(lines[1:])
            return
        self.generic(s, ops, out, tag)

    def _attrs(self, s: Step) -> str:
        if not s.attrs:
            return ""
        a = self.bind(s.attrs, "A")
        if not s.dyn:
            return f", **{a}"
        paths = self.bind(tuple(p for p, _, _ in s.dyn), "P")
        arrays = ", ".join(f"_asarray({self.name(v)}).reshape({shape!r})"
                           for _, v, shape in s.dyn)
        return f", **_with({a}, {paths}, ({arrays},))"

    def generic(self, s: Step, ops: list[str], out: str, tag: str) -> None:
        scalar = "[()]" if self.values[s.out].scalar else ""
        if s.kind in ("fwd", "vjp", "jvp"):
            if s.kind == "jvp" or not s.op.elementwise:   # as autodiff: 0-d arrays here
                ops = [f"_asarray({o})" if self.values[v].scalar and o != "_UNUSED" else o
                       for o, v in zip(ops, s.ins, strict=True)]
            fn = (output_only(s.op.forward) if s.op.residuals and not s.saved
                  else s.op.forward) if s.kind == "fwd" else \
                s.op.vjp_rule(s.index) if s.kind == "vjp" else s.op.jvp_rule(s.index)
            f = self.bind(fn, "f")
            n_saved = len(s.ins) - len(s.op.args) - 2 if s.kind == "vjp" else 0
            if n_saved:                             # the forward's saved values, by name
                names = s.op.residuals
                ops = ops[:-n_saved] + [f"{n}={o}" for n, o in zip(names, ops[-n_saved:],
                                                                   strict=True)]
            call = f"{f}({', '.join(ops)}{self._attrs(s)})"
            if s.kind == "fwd" and s.saved:         # out and the values saved for the vjp
                names = self.bind(s.op.residuals, "R")
                saved = ", ".join(self.name(v) for v in s.saved)
                self.lines.append(f"{out}, {saved} = _split({call}, {names}){tag}")
                if scalar:
                    self.lines.append(f"{out} = {out}{scalar}")
                return
            if s.wrap:
                call = f"_asarray({call})"
            if s.sum_to is not None:
                call = f"_sum_to({call}, {s.sum_to[0]!r}, {s.sum_to[1]!r})"
            self.lines.append(f"{out} = {call}{scalar}{tag}")
        elif s.kind == "reshape":
            self.lines.append(f"{out} = _asarray({ops[0]}).reshape({s.attrs['shape']!r}){tag}")
        elif s.kind == "view":
            a = s.attrs
            self.lines.append(f"{out} = _view({ops[0]}, {a['offset']}, {a['shape']!r}, "
                              f"{a['strides']!r}){tag}")
        elif s.kind == "broadcast":
            self.lines.append(f"{out} = _np.broadcast_to({ops[0]}, {s.attrs['shape']!r}){tag}")
        elif s.kind == "add":
            self.lines.append(f"{out} = {ops[0]} + {ops[1]}{tag}")
        elif s.kind == "cmp":
            self.lines.append(f"{out} = {self.bind(s.fn, 'f')}({ops[0]}, {ops[1]}){tag}")
        elif s.kind in ("cast", "copyarg"):
            dt = self.bind(self.values[s.out].dtype, "dt")
            self.lines.append(f"{out} = _np.asarray({ops[0]}, dtype={dt}){scalar}{tag}")
        elif s.kind == "readgrad":
            self.cleared.discard(self.target(s.fn))
            self.lines.append(f"{out} = {self.target(s.fn)}.grad.data{scalar}{tag}")
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(s.kind)

    def effect(self, s: Step, it: Item) -> None:
        eff = s.fn
        if eff.kind == "grad":
            self.grad_effect(eff)
        elif eff.kind == "setgrad":
            t = self.target(eff.target)
            self.cleared.discard(t)
            if eff.vid is not None:
                self.lines.append(f"{t}.grad = _T(_np.array({self.name(eff.vid)}))  # .grad =")
            else:
                rhs = "None" if eff.obj is None else self.bind(eff.obj, "O")
                self.lines.append(f"{t}.grad = {rhs}  # .grad =")
                if eff.obj is None:
                    self.cleared.add(t)
        elif eff.kind == "optim":
            self.cleared.clear()            # (an optimizer may read or write any .grad)
            k = fused_optim.kernel_for(eff.obj)
            if k is not None:
                self.lines.append(f"{self.bind(k, 'step')}()  # {type(eff.obj).__name__} "
                                  "step, fused in place")
            else:
                self.lines.append(f"{self.bind(eff.obj, 'O')}.step()")
                self.loaded.clear()
        else:
            self.lines.append(f"{self.bind(eff.obj, 'f')}()  # recorded effect")
            self.loaded.clear()
            self.cleared.clear()

    def grad_effect(self, eff: Any) -> None:
        """Accumulate a gradient into target.grad as eager does; hand out our own buffer."""
        vid = eff.vid
        t = self.target(eff.target)
        src = self.name(vid)
        v = self.values[vid]
        if eff.dtype is not None:
            self.lines.append(f"_g = _np.asarray({src}).astype({self.bind(eff.dtype, 'dt')})")
            hand = src = "_g"
        elif vid in self.plan.dedicated:
            hand = f"b{self.plan.dedicated[vid]}"
        elif v.scalar:
            hand = f"_np.array({src})"
        else:
            hand = self.bind(np.zeros(v.shape, v.dtype), "g")
            self.lines.append(f"_np.copyto({hand}, {src})")
        if t in self.cleared:               # set to None earlier in this call: assign
            self.lines.append(f"{t}._grad = _T({hand})  # .grad")
            self.cleared.discard(t)
            return
        if hand.startswith(("b", "g")):
            self.head.append(f"_detach({t}, {hand})")
        self.lines.append(f"_c = {t}.grad  # .grad += ")
        self.lines.append(f"if _c is None: {t}._grad = _T({hand})")
        self.lines.append(f"else: _acc({t}, _c, {src})")

    def output(self, x: Any) -> str:
        if isinstance(x, Out):
            if x.kind == "tensor":
                if x.vid in self.fresh:             # made by this call: handed out as is
                    return f"_T({self.name(x.vid)})"
                return f"_T(_np.array({self.name(x.vid)}))"
            if x.kind == "array":
                if x.vid in self.fresh:
                    return self.name(x.vid)
                return f"_np.array({self.name(x.vid)})"
            if x.kind == "grad":
                return f"_gcopy({self.target(x.target)})"
            if x.kind == "leaf":
                return f"T[{x.vid}]"
            return self.bind(x.obj, "O")
        if isinstance(x, tuple):
            items = ", ".join(self.output(y) for y in x)
            if hasattr(x, "_fields"):
                return f"{self.bind(type(x), 'C')}({items})"
            return f"({items},)" if x else "()"
        if isinstance(x, list):
            return "[" + ", ".join(self.output(y) for y in x) + "]"
        if isinstance(x, dict):
            return "{" + ", ".join(f"{self.bind(k, 'K')}: {self.output(y)}"
                                   for k, y in x.items()) + "}"
        return self.bind(x, "O")


def _state_checks(g: _Gen, plan: Plan) -> list[str]:
    """Load every captured tensor once up front, checking it still has its traced shape/dtype
    (else the call raises Stale before any effect and is traced again)."""
    lines = []
    used = sorted({v for it in plan.items for v in it.reads if plan.values[v].kind == STATE})
    for vid in used:
        v = plan.values[vid]
        t = g.bind(v.tensor, "E")
        dt = g.bind(v.dtype, "dt")
        lines.append(f"s{vid} = {t}.data")
        lines.append(f"if s{vid}.shape != {v.shape!r} or s{vid}.dtype != {dt}: _stale()")
        if v.scalar:
            lines.append(f"s{vid} = s{vid}[()]")
        g.loaded.add(vid)
    return lines


def _source(g: _Gen, plan: Plan, checks: list[str], ret: str) -> str:
    args = [f"a{v.arg} = A[{v.arg}]" + ("[()]" if v.scalar else "")
            for v in plan.values if v.kind == ARG]
    body = args + checks + g.head + g.lines + [f"return {ret}"]
    params = ", ".join(g.ns)
    return (f"def _make({params}):\n    def replay(A, T):\n"
            + "".join(f"        {line}\n" for line in body) + "    return replay\n")


def source(plan: Plan) -> str:
    """The generated replay function's text for a plan (what ``f.source`` shows)."""
    g = _Gen(plan, fresh=len(plan.items) <= fastpaths.COMPILE_CODEGEN_LIMIT)
    checks = _state_checks(g, plan)
    for it in plan.items:
        g.item(it)
    return _source(g, plan, checks, g.output(plan.outputs))


def generate(plan: Plan, label: str = "fn") -> tuple[Callable, str | Callable[[], str]]:
    """The replay function ``replay(A, T)`` (A: argument arrays, T: argument objects) and its
    source: one generated function, or — for a plan of more than
    ``fastpaths.COMPILE_CODEGEN_LIMIT`` items — the same lines run step by step
    (:mod:`.interpret`; the source is then made when asked for)."""
    if len(plan.items) > fastpaths.COMPILE_CODEGEN_LIMIT:
        return _interpreted(plan, label), functools.partial(source, plan)
    g = _Gen(plan, fresh=True)
    checks = _state_checks(g, plan)
    for it in plan.items:
        g.item(it)
    src = _source(g, plan, checks, g.output(plan.outputs))
    filename = f"<dg.compile {label} #{next(_counter)}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    glb: dict[str, Any] = {"__builtins__": builtins}
    exec(compile(src, filename, "exec"), glb)
    return glb["_make"](*g.ns.values()), src   # by position: keywords match in O(n) each


def _interpreted(plan: Plan, label: str) -> Callable:
    """The plan's lines as a :class:`~.interpret.Program`; a 0-d template step goes straight
    to its canonical text (no line to parse)."""
    g = _Gen(plan)
    prog = Program(g.ns, label)
    pre = [f"a{v.arg} = A[{v.arg}]" + ("[()]" if v.scalar else "")
           for v in plan.values if v.kind == ARG] + _state_checks(g, plan)
    steps = []
    lines = g.lines
    values = plan.values
    store = plan.store
    made: dict[tuple, Any] = {}                 # (template, kind, pattern, attrs) -> code
    slot_of: dict[int, int] = {}                # vid -> its slot (all but captured tensors')
    slots = prog.slots                          # a local value's slot is keyed by its vid
    slot = prog.slot
    glb = prog.glb

    def named(vid: int) -> int:
        if values[vid].kind == STEP and store.get(vid, _LOCAL) == _LOCAL:
            k = slot_of[vid] = slot(vid)        # "v{vid}"
            return k
        k = slot(g.name(vid))                   # (a captured tensor: a load line, maybe)
        if values[vid].kind != STATE and store.get(vid, _LOCAL)[0] != "alias":
            slot_of[vid] = k
        return k

    for it in plan.items:
        template = it.template
        if template is not None:
            start = len(lines)
            s = it.step
            reads = it.reads
            out = s.out
            if out in slot_of:
                order = [slot_of[out]]
            elif values[out].kind == STEP and store.get(out, _LOCAL) == _LOCAL:
                k = slots.get(out)
                if k is None:
                    k = slots[out] = len(slots)
                slot_of[out] = k
                order = [k]
            else:
                order = [named(out)]
            pattern = [0]
            for v in it.operands:
                if v not in reads:
                    pattern.append(-1)
                    continue
                k = slot_of.get(v)
                if k is None:
                    k = named(v)
                if k in order:
                    pattern.append(order.index(k))
                else:
                    pattern.append(len(order))
                    order.append(k)
            if len(lines) > start:                # a captured tensor loaded here first
                steps.extend(prog.canonical([line]) for line in lines[start:])
            key = (template, s.kind, tuple(pattern),
                   tuple(map(repr, s.attrs.values())) if s.attrs else ())
            code = made.get(key)
            if code is None:
                canon = [f"_S[_j{k}]" if k >= 0 else "_UNUSED" for k in pattern]
                expr, _ = kernels.fill(template, canon[1:], s)
                code = made[key] = prog.code(f"{canon[0]} = {expr}", len(order))
            steps.append(FunctionType(code, glb, "_step", tuple(order)))
            continue
        start = len(lines)
        g.item(it)
        steps.append(prog.canonical(lines[start:]))
    ret = prog.canonical([g.output(plan.outputs)], ret=True)
    head = [prog.canonical([line]) for line in pre + g.head]
    return prog.replay(head + steps, ret)
