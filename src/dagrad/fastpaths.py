"""The engine's fast-path switches, in one place: each shortcut gives the plain path's values.

Tests turn a switch off to compare the shortcut with the path it replaces, bit for bit.
"""

from __future__ import annotations

__all__ = ["SCALAR_FAST_PATH", "ORIENT_FAST_PATH", "CE_SAVE", "COMPILE_CODEGEN_LIMIT",
           "INPLACE_VJP", "INPLACE_VJP_MIN_SIZE"]

#: ``backprop`` runs the rules of 0-d elementwise nodes on numbers — Python floats for float64
#: where the op takes them (``Op.floats``), else NumPy scalars — (off: the general path, on arrays).
SCALAR_FAST_PATH = True
#: ``linear`` may compute a batched forward as (W xᵀ)ᵀ where that is verified bit-identical and
#: timed faster (see :func:`dagrad.tuning.swap_gemm`).
ORIENT_FAST_PATH = True
#: ``cross_entropy``'s forward saves e^(logits − max) and its row sums on the node for its vjp
#: (off: the vjp recomputes them from the logits; the values are the same either way).
CE_SAVE = True
#: ``dg.compile`` emits a plan of at most this many steps as one generated Python function; a
#: longer one (CPython compiles some µs per generated line) runs the same lines as a program of
#: small steps compiled once per distinct text (:mod:`dagrad.compiler.interpret`).  0: always
#: interpret (tests compare the two replays bit for bit).
COMPILE_CODEGEN_LIMIT = 50_000
#: ``backprop`` lets a unary elementwise op's vjp overwrite its cotangent array when nothing
#: else holds it (:mod:`dagrad.ops.inplace_vjp`), and sums a second contribution into the
#: fresh array a rule just made (off: every rule and every sum makes a fresh array).
INPLACE_VJP = True
#: ... for cotangents of at least this many elements (below, a fresh array costs no more).
INPLACE_VJP_MIN_SIZE = 2048
