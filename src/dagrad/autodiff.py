"""Reverse mode and forward mode over the recorded DAG, both driven by the op table's rules.

Reverse mode walks the nodes in reverse creation order (a valid reverse topological order, found
iteratively, so a chain of 100,000 ops needs no recursion) and calls each op's per-input ``vjp``
rule.  Forward mode walks them in creation order calling the ``jvp`` rules.  Cotangents and
tangents may carry leading batch axes (stacks of basis vectors): one pass then computes a whole
Jacobian.  Broadcasting between an op's inputs is undone here, in :func:`sum_to`, and nowhere else.
"""

from __future__ import annotations

import heapq
import operator
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from . import fastpaths, versions
from .ops.inplace_vjp import UNDERIVED, inplace_vjp
from .tensor import _SEQ, GRAD_HOOKS, RETAINED, STATE, Tensor, _grad_mode, run_grad_hooks

__all__ = ["backward", "grad", "forward_tangents", "sum_to", "reduce_axes", "BACKWARD_HOOKS",
           "reverse_sweep", "apply_vjp", "ReverseInterpreter", "ArrayInterpreter",
           "forward_sweep", "ForwardInterpreter", "TangentInterpreter", "accumulate"]

# Called as hook(node, input_index, incoming_cotangent, result) after each vjp rule (anomaly mode).
BACKWARD_HOOKS: list[Callable] = []
# dg.compile's recorder while it traces: hook(roots, cotangents, create_graph, targets) runs
# and records the pass, returning its result, or returns None to let backprop run as usual;
# hook.forward(outputs, inputs, tangents, create_graph) does the same for forward mode.
TRACE: list[Callable] = []


def sum_to(c: Any, shape: tuple[int, ...], nb: int) -> Any:
    """Reduce a cotangent of shape batch(nb) + broadcast(shape) back to batch + shape."""
    cs = tuple(c.shape)
    if cs[nb:] == shape:
        return c
    if not nb and type(c) is np.ndarray and len(cs) == len(shape) + 1 and cs[1:] == shape:
        return np.add.reduce(c, axis=0)  # one leading axis (a bias over the batch): one reduce
    lead = len(cs) - nb - len(shape)
    if lead < 0:  # a rule returned something smaller that still broadcasts
        full = cs[:nb] + shape
        if isinstance(c, Tensor):
            return c.reshape(cs[:nb] + (1,) * -lead + cs[nb:]) + np.zeros(full, c.dtype)
        return np.broadcast_to(c.reshape(cs[:nb] + (1,) * -lead + cs[nb:]), full)
    axes = reduce_axes(cs, shape, nb)
    if len(axes) == lead and isinstance(c, np.ndarray):  # only leading axes: a fresh array
        return np.add.reduce(c, axis=axes)
    r = c.sum(axis=axes, keepdims=True) if axes else c
    return r.reshape(cs[:nb] + shape)


def reduce_axes(cshape: tuple[int, ...], shape: tuple[int, ...], nb: int) -> tuple[int, ...]:
    """The axes ``sum_to`` sums over: the leading broadcast axes after the nb batch axes, then
    the axes where ``shape`` has 1 and the cotangent does not (cshape at least as long)."""
    lead = len(cshape) - nb - len(shape)
    return tuple(range(nb, nb + lead)) + tuple(
        nb + lead + i for i, s in enumerate(shape) if s == 1 and cshape[nb + lead + i] != 1)


def as_seen_by(x: Tensor, seq: int) -> Tensor:
    """The identity ``x`` had when the node numbered ``seq`` used it (before later in-place ops).

    An input newer than its consumer was changed in place afterwards (see :mod:`dagrad.inplace`):
    each such change left the previous identity as the new node's first input.
    """
    while x._seq > seq:
        x = x._ins[0]
    return x


def inputs_of(t: Tensor) -> tuple[Tensor, ...]:
    """t's inputs as t saw them (routed past later in-place changes)."""
    ins = t._ins
    if STATE.rebased and any(x._seq > t._seq for x in ins):
        return tuple(as_seen_by(x, t._seq) for x in ins)
    return ins


def _graph_nodes(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor that requires grad and is reachable from ``roots``, in creation order."""
    seen: set[Tensor] = set()
    mark = seen.add
    stack = [r for r in roots if r.requires_grad]
    push = stack.append
    nodes = []
    keep = nodes.append
    rebased = STATE.rebased
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        mark(t)
        keep(t)
        ins = t._ins
        if ins is not None:
            for x in (inputs_of(t) if rebased else ins):
                if x.requires_grad:
                    push(x)
    nodes.sort(key=_by_seq)
    return nodes


_by_seq = operator.attrgetter("_seq")


def _depends_on(nodes: list[Tensor], targets: set[int]) -> set[int]:
    """ids of the nodes (in creation order) that depend on some target."""
    dep: set[int] = set()
    add = dep.add
    rebased = STATE.rebased
    for t in nodes:
        i = id(t)
        if i in targets:
            add(i)
            continue
        ins = t._ins
        if ins is None:
            continue
        for x in (inputs_of(t) if rebased else ins):  # a loop, not any(): no generator frame
            if id(x) in dep:
                add(i)
                break
    return dep


FREED_ERROR = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed): op '{op}' released the values it saved for backward "
    "when backward ran through it. Specify retain_graph=True in the first backward() or "
    "grad() call if you need to backward through the graph a second time.")


def _check_saved(node: Tensor, op: Any, inputs: Sequence[Tensor]) -> None:
    """Raise if a value the node's vjp reads was modified in place after the node was made."""
    seq = node._seq
    ks = range(len(inputs)) if op.saved_inputs is None else op.saved_inputs
    saved = [(k, inputs[k]) for k in ks]
    if op.saves_out:
        saved.append((-1, node))
    for k, x in saved:
        if versions.modified_after(x._d, seq):
            what = "its output" if k < 0 else \
                f"its input {k} ('{op.args[k] if k < len(op.args) else k}')"
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {what}, of shape {x.shape} and dtype {x.dtype}, which "
                f"op '{op.name}' saved for backward, is now at version "
                f"{versions.version(x._d)}: it was changed in place after the op used it. "
                "Compute the change out of place (y = y * 2, not y *= 2), or call backward "
                "before changing it.")


def _fresh(c: np.ndarray, given: set[int]) -> np.ndarray:
    """c itself if nothing else can see it, else a private copy (a leaf's .grad is its own)."""
    if c.base is not None or not c.flags.writeable or id(c) in given:
        return np.array(c)
    return c


# ----- the reference reverse sweep --------------------------------------------------------
class ReverseInterpreter(Protocol):
    """What a reverse sweep does with cotangents: :func:`reverse_sweep` drives one.

    Cotangents are the interpreter's own values (arrays for :class:`ArrayInterpreter`; dg.compile's
    recorder pairs each array with the traced value that will compute it at replay).
    """

    def seed(self, root: Tensor, g: Any) -> Any:
        """A root's given cotangent as this interpreter's value."""

    def apply(self, node: Tensor, i: int, x: Tensor, g: Any) -> Any:
        """Input ``i``'s (``x``'s) cotangent: the node's rule on ``g``, reduced to x's shape."""

    def add(self, prev: Any, c: Any) -> Any:
        """Two cotangents of one tensor accumulated: prev + c."""

    def write(self, t: Tensor, g: Any) -> None:
        """A complete cotangent reached a leaf (or a ``retain_grad`` node): write its .grad."""

    def found(self, target: Tensor, g: Any) -> Any:
        """A complete cotangent reached a requested target: the value to return for it."""


def apply_vjp(node: Tensor, i: int, g: np.ndarray) -> tuple[np.ndarray, bool, tuple | None]:
    """∂L/∂x_i = sum_to(vjp_i(g, inputs, out)): (cotangent, whether the rule returned a non-array,
    the (shape, batch axes) summed over or None), on arrays, after the BACKWARD_HOOKS."""
    op, inputs, attrs = node._op, inputs_of(node), node._attrs
    if op.residuals:
        kept = getattr(node, "_residuals", None)
        if kept:
            attrs = {**attrs, **kept}
    data = node.data
    operands = (g, *[x.data for x in inputs], data)
    c = op.vjp_rule(i)(*operands, **attrs)
    wrapped = not isinstance(c, _CARRIERS)
    if type(c) is not np.ndarray:
        c = np.asarray(c)
    shape = inputs[i].data.shape
    nb = g.ndim - data.ndim
    reduce = None
    if nb or c.shape != shape:
        c = np.asarray(sum_to(c, shape, nb))
        reduce = (shape, nb)
    for hook in BACKWARD_HOOKS:
        hook(node, i, g, c)
    return c, wrapped, reduce


class ArrayInterpreter:
    """The plain interpreter: NumPy cotangents, accumulated into ``.grad`` as ``backward`` does."""

    def __init__(self) -> None:
        self.given: set[int] = set()

    def seed(self, root: Tensor, g: Any) -> Any:
        return g

    def apply(self, node: Tensor, i: int, x: Tensor, g: Any) -> Any:
        return apply_vjp(node, i, np.asarray(g))[0]

    def add(self, prev: Any, c: Any) -> Any:
        return prev + c

    def write(self, t: Tensor, g: Any) -> None:
        accumulate(t, g, False, self.given)

    def found(self, target: Tensor, g: Any) -> Any:
        return g


def reverse_sweep(roots: Sequence[Tensor], cotangents: Sequence[Any],
                  interp: ReverseInterpreter, targets: Sequence[Tensor] | None = None
                  ) -> dict[int, Any]:
    """The reference reverse sweep: v̄_x = Σ_consumers vjp(v̄_node), newest node first.

    Visits every node reachable from ``roots`` in reverse creation order, applies each vjp rule
    through ``interp`` and accumulates per input; complete cotangents are written to leaves (and
    ``retain_grad`` nodes), or, with ``targets``, returned by id.  :func:`backprop` computes the
    same, specialised for speed (and for freed graphs, in-place versions and ``create_graph``);
    dg.compile's recorder is an interpreter of this sweep.
    """
    nodes = _graph_nodes(roots)
    wanted = None if targets is None else {id(t) for t in targets}
    dep = None if wanted is None else _depends_on(nodes, wanted)
    grads: dict[int, Any] = {}
    for r, g in zip(roots, cotangents, strict=True):
        if r.requires_grad:
            c = interp.seed(r, g)
            grads[id(r)] = c if id(r) not in grads else interp.add(grads[id(r)], c)
    found: dict[int, Any] = {}
    for node in reversed(nodes):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if wanted is not None:
            if id(node) in wanted:
                found[id(node)] = interp.found(node, g)
                if len(found) == len(wanted):
                    break
        elif node._op is None or id(node) in RETAINED:
            interp.write(node, g)
        if node._op is None:
            continue
        op = node._op
        for i, x in enumerate(inputs_of(node)):
            if not x.requires_grad or (dep is not None and id(x) not in dep) or \
                    op.vjp_rule(i) is None:
                continue
            c = interp.apply(node, i, x, g)
            prev = grads.get(id(x))
            grads[id(x)] = c if prev is None else interp.add(prev, c)
    return found


def backprop(roots: Sequence[Tensor], cotangents: Sequence[Any], *, create_graph: bool = False,
             targets: Sequence[Tensor] | None = None, retain_graph: bool = True,
             allow_freed: bool = False) -> dict[int, Any]:
    """Push cotangents from ``roots`` to the leaves (or to ``targets``) by the vjp rules.

    Without targets, gradients accumulate into each leaf's ``.grad`` (and ``retain_grad`` nodes);
    with targets, nothing is written and the cotangents reaching them are returned by id.
    Without ``retain_graph`` every node passed that saved values marks them released; a node
    so marked raises when reached again, unless ``allow_freed`` (dagrad's own drawing and
    explaining passes: dagrad keeps the values, so they can still be read).
    """
    if TRACE:
        if GRAD_HOOKS and any(id(t) in GRAD_HOOKS for t in _graph_nodes(roots)):
            raise RuntimeError(
                "register_hook: dg.compile does not replay gradient hooks; remove the hook "
                "(handle.remove()) or run this step without dg.compile")
        traced = TRACE[-1](roots, cotangents, create_graph, targets)
        if traced is not None:
            return traced
    grads: dict[Tensor, Any] = {}  # keyed by the tensors themselves (identity hash)
    # Nodes wait in a heap by creation order, newest first, entering it with their first
    # cotangent: every consumer of a node is newer, so its cotangent is complete when it is
    # popped (no separate discovery pass or sort; nodes no cotangent reaches are never visited).
    heap: list[tuple[int, Tensor]] = []  # (−seq, node): seqs are unique, nodes never compared
    leaves: list[Tensor] = []  # leaves wait in a list (no order needed), processed last
    nxt = None  # a lone waiting node kept out of the heap: on a chain, no heap operations
    # The common scalar case first, before any of the set-up below: one float root, nothing to
    # do per node but the rules (no targets, hooks, retained grads, in-place changes).
    root = roots[0] if len(roots) == 1 else None
    swept = (root is not None and type(root._d) is float and root._op is not None
             and targets is None and not create_graph and root.requires_grad
             and fastpaths.SCALAR_FAST_PATH
             and not (RETAINED or GRAD_HOOKS or versions.WRITES or STATE.rebased
                      or BACKWARD_HOOKS))
    if swept:
        grads[root] = cotangents[0]
        heap.append((-root._seq, root))
        nxt = _float_sweep(grads, heap, leaves, not retain_graph, not allow_freed)
        if nxt is None:  # every node was a float one: only the leaves are left
            _leaf_grads(leaves, grads, set())
            return {}
    else:
        for r, g in zip(roots, cotangents, strict=True):
            if r.requires_grad:
                if r in grads:
                    grads[r] = grads[r] + g
                else:
                    grads[r] = g
                    if r._op is None:
                        leaves.append(r)
                    else:
                        heap.append((-r._seq, r))
        heapq.heapify(heap)
    wanted = None if targets is None else {id(t) for t in targets}
    dep = None if wanted is None else _depends_on(_graph_nodes(roots), wanted)
    push, popnode = heapq.heappush, heapq.heappop
    found: dict[int, Any] = {}
    given: set[int] = set()
    pop, get = grads.pop, grads.get
    fast = fastpaths.SCALAR_FAST_PATH and not create_graph
    watch = wanted is not None or len(RETAINED) > 0  # per node: a target or a retained grad?
    free = not retain_graph
    check_freed = not allow_freed
    check_saved = len(versions.WRITES) > 0  # some memory was written in place: check versions
    # a cotangent of at least this many elements may be overwritten by its node's vjp
    owned_min = (fastpaths.INPLACE_VJP_MIN_SIZE if fastpaths.INPLACE_VJP and not create_graph
                 and not BACKWARD_HOOKS else _NEVER)
    latest_write = versions.LATEST  # [stamp of the newest in-place write]: older nodes only
    rebased = STATE.rebased  # some in-place op was recorded: route old consumers
    # Grad mode is create_graph's during the pass (as _grad_mode(create_graph), without a
    # generator per call) where something could record: create_graph's rules on Tensors, and
    # user code, the gradient hooks and anomaly's hooks.  Without them the rules get arrays
    # and numbers only, which record nothing, so the mode (a thread-local and a lock, ~1 µs a
    # pass) is left as it is.
    toggle = create_graph or len(GRAD_HOOKS) > 0 or len(BACKWARD_HOOKS) > 0
    if toggle:
        mode = STATE.grad_enabled
        STATE.grad_enabled = create_graph
    hooked = GRAD_HOOKS  # gradient hooks by tensor id (empty unless register_hook was called)
    if not swept and fast and not (watch or hooked or check_saved or rebased or BACKWARD_HOOKS) \
            and dep is None:  # nothing to do per node but the rules: floats first, if any
        nxt = _float_sweep(grads, heap, leaves, free, check_freed)
    try:
        while heap or nxt is not None:
            if nxt is None:
                node = popnode(heap)[1]
            else:
                node, nxt = nxt, None
            g = pop(node)  # every waiting node has its cotangent
            if hooked and id(node) in hooked:  # Tensor.register_hook: may replace g
                g = run_grad_hooks(node, g)
            if watch:
                if wanted is not None:
                    if id(node) in wanted:
                        found[id(node)] = g
                        if len(found) == len(wanted):
                            break
                elif id(node) in RETAINED:
                    accumulate(node, g, create_graph, given)
            op, inputs, attrs = node._op, node._ins, node._attrs
            if node._freed and check_freed and op.saves:  # a node that saved nothing may repeat
                raise RuntimeError(FREED_ERROR.format(op=op.name))
            if check_saved and node._seq < latest_write[0]:  # written since the node was made
                _check_saved(node, op, inputs)
            data = node._d
            # Scalar fast path, for the 0-d result of an elementwise op (it holds a number, see
            # ops.base.binary): its rules run on numbers, which skips the ufunc machinery and
            # gives the same values.  Python floats where the op takes them (``Op.floats``) and
            # the cotangent and every input are float64 numbers (a leaf's 0-d array read as a
            # float); else NumPy scalars (floats as float64 scalars, promoting as NumPy does).
            # With no batch axes on g, every input is 0-d and so is every cotangent: no shape
            # checks.  (A 0-d result that was read as an array takes the general path.)
            scalar = fast and type(data) is not _ND
            if scalar:
                nb = 0
                tg = type(g)
                if tg is _ND:
                    nb = g.ndim  # batch axes (a stack of cotangents): rules broadcast over them
                    if not nb:
                        g = g[()]
                        tg = type(g)
                args = None
                if type(data) is float and op.floats and (tg is float or tg is _F64):
                    n = len(inputs)
                    if n == 1:
                        a = inputs[0]._d
                        if type(a) is _ND and not a.ndim and a.dtype is _F64D:
                            a = a.item()
                        if type(a) is float:
                            args = (g if tg is float else float(g), a, data)
                    elif n == 2:
                        a, b = inputs[0]._d, inputs[1]._d
                        if type(a) is _ND and not a.ndim and a.dtype is _F64D:
                            a = a.item()
                        if type(b) is _ND and not b.ndim and b.dtype is _F64D:
                            b = b.item()
                        if type(a) is float and type(b) is float:
                            args = (g if tg is float else float(g), a, b, data)
                if args is None:
                    args = (g if tg is not float else _F64(g),
                            *[_number(x._d) for x in inputs],
                            data if type(data) is not float else _F64(data))
                scalar = not nb
            else:
                if create_graph:
                    args = (g, *inputs, node)
                    data = node.data
                else:
                    data = node.data
                    if type(g) is float:  # from a scalar-path consumer: a float64 number
                        g = _F64(g)
                    n = len(inputs)  # no list comprehension (a frame of its own) for 1-3 inputs
                    args = ((g, inputs[0].data, data) if n == 1 else
                            (g, inputs[0].data, inputs[1].data, data) if n == 2 else
                            (g, inputs[0].data, inputs[1].data, inputs[2].data, data) if n == 3
                            else (g, *[x.data for x in inputs], data))
                    if op.residuals:  # values the forward saved on the node (never 0-d scalars)
                        kept = getattr(node, "_residuals", None)  # a rebased node has none
                        if kept:
                            attrs = {**attrs, **kept}
                            if free:
                                node._residuals = None  # released with the graph's other values
                nb = g.ndim - data.ndim
            if (not scalar and type(g) is _ND and g.size >= owned_min and len(inputs) == 1
                    and not attrs and (own := _owned_rule(op, g, data, inputs[0])) is not None):
                rules = (own,)  # writes into g, which no one else holds
            else:
                rules = op.vjp_rules(len(inputs)) if op.variadic else op.vjp
            for x, rule in zip(inputs, rules):  # noqa: B905 (equal lengths; strict= is slow)
                if rebased and x._seq > node._seq:  # x was changed in place after node used it
                    x = as_seen_by(x, node._seq)
                if rule is None or not x.requires_grad or (dep is not None and id(x) not in dep):
                    continue
                try:
                    c = rule(*args, **attrs) if attrs else rule(*args)
                except (ZeroDivisionError, OverflowError):  # on Python floats: NumPy's inf/nan
                    c = rule(*[_F64(v) if type(v) is float else v for v in args], **attrs)
                if not scalar:
                    if not isinstance(c, _CARRIERS):
                        c = np.asarray(c)
                    xd = x._d
                    shape = () if type(xd) is float else xd.shape
                    if nb or c.shape != shape:
                        c = sum_to(c, shape, nb)
                if BACKWARD_HOOKS:
                    i = next(k for k, r in enumerate(rules) if r is rule)  # a rule per input
                    for hook in BACKWARD_HOOKS:
                        hook(node, i, g, c)
                prev = get(x)
                if prev is not None:
                    if type(c) is _ND and c.size >= owned_min and _owned_sum(c, prev):
                        grads[x] = _ADD(prev, c, out=c)  # prev + c into c, which no one holds
                    else:
                        grads[x] = prev + c
                else:
                    grads[x] = c
                    if x._op is None:
                        leaves.append(x)
                    elif nxt is None and not heap:
                        nxt = x  # the only node waiting, so the newest: it goes next
                    else:
                        if nxt is not None:
                            push(heap, (-nxt._seq, nxt))
                            nxt = None
                        push(heap, (-x._seq, x))
            if free:
                node._freed = True
        # leaves have no inputs: their cotangents are complete now
        if wanted is None and not hooked and not create_graph:
            _leaf_grads(leaves, grads, given)
        for leaf in leaves if grads else ():
            g = pop(leaf)
            if hooked and id(leaf) in hooked:
                g = run_grad_hooks(leaf, g)
            if wanted is None:
                accumulate(leaf, g, create_graph, given)
            elif id(leaf) in wanted:
                found[id(leaf)] = g
    finally:
        if toggle:
            STATE.grad_enabled = mode
    return found


def _leaf_grads(leaves: list[Tensor], grads: dict[Tensor, Any], given: set[int]) -> None:
    """Each leaf's complete cotangent (taken from ``grads``) accumulated into its ``.grad``."""
    pop = grads.pop
    for leaf in leaves:
        g = pop(leaf)
        tg = type(g)
        if tg is not _ND and leaf._grad is None and (
                tg is float and type(ld := leaf._d) is _ND and ld.dtype is _F64D
                or tg is not float and tg is leaf.dtype.type):
            # a number: immutable, no copy (Tensor._from_op, inline)
            t = leaf._grad = _new(Tensor)
            t._d = g
            t.requires_grad = False
            t._grad = t.name = t._op = t._ins = t._attrs = None
            t._seq = _next_seq()
            t._freed = False
        else:
            accumulate(leaf, g, False, given)


def _float_sweep(grads: dict[Tensor, Any], heap: list[tuple[int, Tensor]],
                 leaves: list[Tensor], free: bool, check_freed: bool) -> Tensor | None:
    """backprop's loop for the nodes that hold Python floats, while the newest waiting node is one.

    A node qualifies when its op takes floats (``Op.floats``), its cotangent is a float64 number
    and so is every input (a leaf's 0-d array read as a float): its rules then run on floats
    (a division by zero or an overflow reruns on NumPy scalars, as backprop's loop), with none
    of the per-node checks that hooks, targets, in-place changes and broadcasting need (the
    caller has none).  Returns the first node that does not qualify, its cotangent still
    waiting, for backprop's loop to go on from; None when no node is left.
    """
    pop, get, push, popnode = grads.pop, grads.get, heapq.heappush, heapq.heappop
    nxt = popnode(heap)[1] if len(heap) == 1 else None
    while heap or nxt is not None:
        if nxt is None:
            node = popnode(heap)[1]
        else:
            node, nxt = nxt, None
        data, op = node._d, node._op
        if type(data) is not float or not op.floats:
            return node
        g = pop(node)
        if type(g) is not float:
            if type(g) is not _F64:
                grads[node] = g  # back: backprop's loop takes the node from here
                return node
            g = float(g)
        ins = node._ins
        a = ins[0]._d
        if type(a) is not float:
            if type(a) is not _ND or a.ndim or a.dtype is not _F64D:
                grads[node] = g
                return node
            a = a.item()
        one = len(ins) == 1
        if not one:
            b = ins[1]._d
            if type(b) is not float:
                if type(b) is not _ND or b.ndim or b.dtype is not _F64D:
                    grads[node] = g
                    return node
                b = b.item()
        if node._freed and check_freed and op.saves:
            raise RuntimeError(FREED_ERROR.format(op=op.name))
        # The rules called directly, not as rule(*args): CPython runs such a call in the same
        # interpreter loop (no C recursion), the cheaper call.  (Ops on floats have a rule for
        # every input.)
        attrs = node._attrs
        if one:  # one input: its cotangent, accumulated by the loop below
            x = ins[0]
            if x.requires_grad:
                rule = op.vjp[0]
                try:
                    c = rule(g, a, data, **attrs) if attrs else rule(g, a, data)
                except (ZeroDivisionError, OverflowError):  # on floats: NumPy's inf/nan
                    c = rule(_F64(g), _F64(a), _F64(data), **attrs)
                cs = (c,)
            else:
                cs = (None,)
        else:
            try:  # two inputs; None: an input that needs no gradient
                if attrs:
                    cs = _call_rules(op.vjp, ins, (g, a, b, data), attrs)
                else:
                    r0, r1 = op.vjp
                    cs = (r0(g, a, b, data) if ins[0].requires_grad else None,
                          r1(g, a, b, data) if ins[1].requires_grad else None)
            except (ZeroDivisionError, OverflowError):  # on Python floats: NumPy's inf/nan
                cs = _call_rules(op.vjp, ins, (_F64(g), _F64(a), _F64(b), _F64(data)), attrs)
        for x, c in zip(ins, cs):  # noqa: B905 (equal lengths; strict= is slow)
            if c is None:
                continue
            prev = get(x)
            if prev is not None:
                grads[x] = prev + c
            else:
                grads[x] = c
                if x._op is None:
                    leaves.append(x)
                elif nxt is None and not heap:
                    nxt = x  # the only node waiting, so the newest: it goes next
                else:
                    if nxt is not None:
                        push(heap, (-nxt._seq, nxt))
                        nxt = None
                    push(heap, (-x._seq, x))
        if free:
            node._freed = True
    return None


def _owned_rule(op: Any, g: np.ndarray, data: Any, x: Tensor) -> Callable | None:
    """op's vjp writing into g (:mod:`.ops.inplace_vjp`) when that is exact and safe, else None.

    Safe: backprop's local and its ``args`` tuple are the only references to g (the count
    :data:`_SOLE` measured for a call like this one), and g owns its memory (a view of it
    would hold a reference).  Exact: g, the input's value and the node's share one shape and
    one floating dtype."""
    if _getrefcount(g) != _SOLE or g.base is not None or not g.flags.writeable:
        return None
    a = x._d
    if type(a) is not _ND or type(data) is not _ND:
        return None
    dt = g.dtype
    if dt.kind != "f" or a.dtype != dt or data.dtype != dt or a.shape != g.shape \
            or data.shape != g.shape:
        return None
    rule = op.inplace_vjp
    return inplace_vjp(op) if rule is UNDERIVED else rule


def _owned_sum(c: np.ndarray, prev: Any) -> bool:
    """Whether prev + c may be written into c: backprop's local is the only reference to c
    (:data:`_SOLE_LOCAL`), c owns its memory, and prev is an array of c's shape and dtype (so
    the sum is c's shape and dtype; the same ufunc on the same operands: the same bits)."""
    return (_getrefcount(c) == _SOLE_LOCAL and c.base is None and c.flags.writeable
            and type(prev) is _ND and prev.shape == c.shape and prev.dtype == c.dtype)


_getrefcount = sys.getrefcount
_ADD = np.add


def _count(a: Any) -> int:
    """References to a, counted one call deep (as _owned_rule and _owned_sum count theirs)."""
    return _getrefcount(a)


def _refs_of_lone_local() -> int:
    """What :func:`_owned_rule` counts for an array held by its caller's local and a tuple."""
    g = np.empty(0)
    args = (g,)
    n = _count(g)
    del args
    return n


def _refs_of_local() -> int:
    """What :func:`_owned_sum` counts for an array that only its caller's local holds."""
    g = np.empty(0)
    return _count(g)


_SOLE = _refs_of_lone_local()
_SOLE_LOCAL = _refs_of_local()
_NEVER = sys.maxsize


def _call_rules(rules: Sequence[Callable], ins: Sequence[Tensor], args: Sequence[Any],
                attrs: dict[str, Any]) -> list[Any]:
    """Each input's rule on ``args`` (None for an input that needs no gradient)."""
    return [rule(*args, **attrs) if x.requires_grad else None
            for x, rule in zip(ins, rules)]  # noqa: B905 (equal lengths)


_CARRIERS = (np.ndarray, np.generic, Tensor)  # what a rule may return as a cotangent
_ND = np.ndarray
_F64 = np.float64
_F64D = np.dtype(np.float64)
_new = object.__new__
_next_seq = _SEQ.__next__


def _number(v: Any) -> Any:
    """A held 0-d value as a NumPy scalar (a 0-d array's element; a Python float as float64)."""
    if type(v) is _ND:
        return v[()]
    return _F64(v) if type(v) is float else v


def accumulate(leaf: Tensor, g: Any, create_graph: bool, given: set[int]) -> None:
    """leaf.grad += g (a first gradient taken without a copy when nothing else can see it;
    ``given``: ids of arrays already handed to a .grad in this pass)."""
    if create_graph:
        g = g if isinstance(g, Tensor) else Tensor._from_op(np.asarray(g), None)
        leaf._grad = g if leaf._grad is None else leaf._grad + g
        return
    ld = leaf._d
    dt = _F64D if type(ld) is float else ld.dtype
    if leaf._grad is None and type(g) is np.ndarray and g.dtype == dt:
        g = _fresh(g, given)  # the common first gradient of an array leaf
        given.add(id(g))
        leaf._grad = Tensor._from_op(g, None)
        return
    if type(g) is float:  # a Python float (scalar fast path): a float64 number
        if leaf._grad is None and dt is _F64D:
            leaf._grad = Tensor._from_op(g, None)  # immutable: no copy
            return
        g = _F64(g)
    if isinstance(g, np.generic):  # a NumPy scalar (scalar fast path), immutable: no copy
        t = dt.type
        if leaf._grad is None:
            leaf._grad = Tensor._from_op(g if type(g) is t else t(g), None)
            return
        g = np.array(g, dt)
    g = g.data if isinstance(g, Tensor) else g
    if g.dtype != dt:
        g = g.astype(dt)
    if leaf._grad is None:
        g = _fresh(g, given)
        given.add(id(g))
        leaf._grad = Tensor._from_op(g, None)
    elif leaf._grad.data.shape == g.shape and leaf._grad.data.flags.writeable:
        leaf._grad.data += g
    else:
        leaf._grad = Tensor._from_op(leaf._grad.data + g, None)


def _root_cotangent(root: Tensor, grad: Any, create_graph: bool) -> Any:
    if grad is None:
        d = root._d
        if type(d) is not float and d.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {root.shape}; gradients can be implied only "
                "for a scalar output. Pass backward(grad=...) with a tensor of that shape "
                "(e.g. ones for the sum of the outputs)")
        if create_graph:
            return Tensor._from_op(np.ones(root.shape, root.dtype), None)
        if type(d) is float:
            return 1.0  # a float64 number held as a Python float (the scalar fast path)
        return np.ones(d.shape, d.dtype) if d.ndim else d.dtype.type(1)  # 0-d: a NumPy scalar
    if isinstance(grad, Tensor):
        g = grad if create_graph else grad.data
    else:
        g = np.asarray(grad)
    if tuple(g.shape) != root.shape:
        raise RuntimeError(f"backward: grad has shape {tuple(g.shape)} but the output has shape "
                           f"{root.shape}")
    if not create_graph:
        g = np.array(g, dtype=root.dtype)  # a private copy in the output's dtype
    return g


def backward(root: Tensor, grad: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d root / d leaf into ``leaf.grad`` for every leaf that requires grad.

    ``retain_graph`` defaults to ``create_graph``, as in PyTorch: without it the graph's saved
    values count as released and a second backward through them raises.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad — nothing that went into it has "
            "requires_grad=True (or it was computed under no_grad())")
    if grad is None and not create_graph and type(root._d) is float:
        g: Any = 1.0  # _root_cotangent of a float64 number held as a Python float
    else:
        g = _root_cotangent(root, grad, create_graph)
    backprop([root], [g], create_graph=create_graph,
             retain_graph=create_graph if retain_graph is None else bool(retain_graph))


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, *, allow_freed: bool = False) -> tuple[Tensor, ...]:
    """d outputs / d inputs contracted with ``grad_outputs`` (like ``torch.autograd.grad``).

    ``retain_graph`` defaults to ``create_graph`` (PyTorch's rule); ``allow_freed`` lets
    dagrad's drawing and explaining tools read a graph that a backward already released.

    Leaves' ``.grad`` are left untouched.  ``grad_outputs`` may carry leading batch axes; the
    results then carry the same.  Inputs the outputs do not depend on get zeros (as in JAX).
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        gos = [grad_outputs] * len(outs) if len(outs) == 1 or grad_outputs is None else None
        if gos is None:
            raise ValueError("grad: give one grad_output per output")
    else:
        gos = list(grad_outputs)
    cots = []
    for o, go in zip(outs, gos, strict=True):
        if go is None:
            cots.append(_root_cotangent(o, None, create_graph))
        else:
            g = go if (create_graph and isinstance(go, Tensor)) else np.asarray(
                go.data if isinstance(go, Tensor) else go)
            if tuple(g.shape[g.ndim - o.ndim:]) != o.shape:
                raise ValueError(f"grad: grad_output of shape {tuple(g.shape)} does not end with "
                                 f"the output's shape {o.shape}")
            cots.append(g)
    found = backprop(outs, cots, create_graph=create_graph, targets=ins,
                     retain_graph=create_graph if retain_graph is None else bool(retain_graph),
                     allow_freed=allow_freed)
    batch = tuple(np.shape(cots[0])[: np.ndim(cots[0]) - outs[0].ndim]) if cots else ()
    result = []
    for x in ins:
        g = found.get(id(x))
        if g is None:
            g = np.zeros(batch + x.shape, x.dtype)
        if isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(Tensor._from_op(np.asarray(g, dtype=x.dtype), None))
    return tuple(result)


def forward_tangents(outputs: Sequence[Tensor], inputs: Sequence[Tensor],
                     tangents: Sequence[Any], create_graph: bool = False) -> list[Any]:
    """Push tangents from ``inputs`` to ``outputs`` by the jvp rules (forward mode).

    Tangents may carry leading batch axes (the same for all inputs).  Returns one tangent per
    output (ndarrays, or Tensors when ``create_graph``).
    """
    if TRACE:
        traced = TRACE[-1].forward(outputs, inputs, tangents, create_graph)
        if traced is not None:
            return traced
    with _grad_mode(create_graph):
        return forward_sweep(outputs, inputs, tangents, TangentInterpreter(create_graph))


class ForwardInterpreter(Protocol):
    """What a forward sweep does with tangents: :func:`forward_sweep` drives one."""

    def seed(self, x: Tensor, t: Any) -> Any:
        """An input's given tangent as this interpreter's value."""

    def shape(self, t: Any) -> tuple[int, ...]:
        """The shape of a tangent value (batch axes first)."""

    def reshape(self, t: Any, shape: tuple[int, ...]) -> Any:
        """A tangent reshaped (a broadcast input's tangent gets its missing axes as 1s)."""

    def apply(self, node: Tensor, i: int, t: Any) -> Any:
        """Input ``i``'s contribution to the node's tangent: its jvp rule on ``t``."""

    def add(self, a: Any, b: Any) -> Any:
        """Two contributions to one tangent: a + b."""

    def broadcast(self, node: Tensor, t: Any, shape: tuple[int, ...]) -> Any:
        """A node's tangent broadcast to its full (batch + output) shape."""

    def result(self, out: Tensor, t: Any, batch: tuple[int, ...]) -> Any:
        """What to return for an output: its tangent, or zeros where ``t`` is None."""


class TangentInterpreter:
    """The plain interpreter: NumPy tangents (Tensors when ``create_graph``)."""

    def __init__(self, create_graph: bool = False) -> None:
        self.create_graph = create_graph

    def seed(self, x: Tensor, t: Any) -> Any:
        if self.create_graph:
            return t
        return np.asarray(t.data if isinstance(t, Tensor) else t, dtype=x.dtype)

    def shape(self, t: Any) -> tuple[int, ...]:
        return tuple(t.shape)

    def reshape(self, t: Any, shape: tuple[int, ...]) -> Any:
        return t.reshape(shape)

    def apply(self, node: Tensor, i: int, t: Any) -> Any:
        ins = inputs_of(node)
        vals, out = (ins, node) if self.create_graph else ([x.data for x in ins], node.data)
        c = node._op.jvp_rule(i)(t, *vals, out, **node._attrs)
        return c if isinstance(c, (np.ndarray, Tensor)) else np.asarray(c)

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def broadcast(self, node: Tensor, t: Any, shape: tuple[int, ...]) -> Any:
        if isinstance(t, Tensor):
            return t + np.zeros(shape, node.dtype)
        return np.broadcast_to(t, shape)

    def result(self, out: Tensor, t: Any, batch: tuple[int, ...]) -> Any:
        if t is not None:
            return t
        z = np.zeros(batch + out.shape, out.dtype)
        return Tensor._from_op(z, None) if self.create_graph else z


def forward_sweep(outputs: Sequence[Tensor], inputs: Sequence[Tensor], tangents: Sequence[Any],
                  interp: ForwardInterpreter) -> list[Any]:
    """The forward sweep: ṫ_node = Σ_i jvp_i(ṫ_i), oldest node first, through ``interp``."""
    nodes = _graph_nodes(outputs)
    tan: dict[int, Any] = {}
    batch: tuple[int, ...] = ()
    for x, t in zip(inputs, tangents, strict=True):
        if t is None:
            continue
        t = interp.seed(x, t)
        ts = interp.shape(t)
        batch = ts[: len(ts) - x.ndim]
        if ts[len(batch):] != x.shape:
            raise ValueError(f"jvp: tangent of shape {ts} does not match its primal "
                             f"of shape {x.shape}")
        tan[id(x)] = t if id(x) not in tan else interp.add(tan[id(x)], t)
    check_saved = len(versions.WRITES) > 0
    rebased = STATE.rebased
    for node in nodes:
        if node._op is None or id(node) in tan:
            continue
        op, ins = node._op, inputs_of(node) if rebased else node._ins
        if not any(id(x) in tan for x in ins):
            continue
        if check_saved:
            _check_saved(node, op, ins)
        total = None
        for i, x in enumerate(ins):
            t = tan.get(id(x))
            if t is None or op.jvp_rule(i) is None:
                continue
            if op.broadcasts and x.ndim < node.ndim:
                t = interp.reshape(t, batch + (1,) * (node.ndim - x.ndim) + x.shape)
            c = interp.apply(node, i, t)
            total = c if total is None else interp.add(total, c)
        if total is None:
            continue
        full = batch + node.shape
        if interp.shape(total) != full:
            total = interp.broadcast(node, total, full)
        tan[id(node)] = total
    return [interp.result(o, tan.get(id(o)), batch) for o in outputs]


class TensorBackward:
    """``Tensor.backward``, installed from this floor (tensor.py imports no autodiff)."""

    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, *, gradient: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` by reverse mode.

        Without ``retain_graph`` (default: ``create_graph``) the nodes passed release their saved
        values, and a second backward through one of them raises, as in PyTorch.
        """
        if gradient is not None:
            if grad is not None:
                raise TypeError("backward: give grad or gradient, not both")
            grad = gradient
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)


Tensor.backward = TensorBackward.backward
