"""``dg.compile(fn)``: record fn's DAG once, then replay it as a preallocated NumPy plan.

The first call with a given signature (shapes and dtypes of the array arguments, values of the
others) runs fn eagerly — its result is the eager result — while recording every op applied,
every vjp rule a backward pass applies (``loss.backward()``, ``dg.grad``, ``dg.vjp``…), every
write of a leaf's ``.grad`` (``zero_grad``, backward) and every optimizer step.  The recording
is planned (constants folded, dead steps dropped — e.g. the gradient of an input nobody needs —,
fused NumPy kernels chosen, buffers assigned by liveness) and emitted as one Python function
(a plan of more than ``fastpaths.COMPILE_CODEGEN_LIMIT`` steps: as small compiled steps, see
:mod:`.interpret`);
later calls run that function: NumPy calls writing with ``out=`` into buffers made once, no
Tensor per op, parameters updated in place by fused SGD/Adam kernels.  Values equal eager ones
(the kernels run the table's operations in the same order): bit for bit with
``compile(fn, tune=False)``; the default also times, per layer, a feature-major layout for
batched ``linear`` results, which can round short dot products differently (an ulp).
``f.source`` shows the code.

What fn may do: any dagrad ops; backward passes and transforms; ``zero_grad()`` /
``p.grad = None``; ``opt.step()`` of dagrad optimizers (others replay by calling ``step()``;
other in-place updates can be registered with :func:`record_effect`); Python control flow on
shapes, dtypes and non-array arguments (they are part of the signature).

What it may not: make a Python decision on a traced tensor's value — ``Tensor.item()``,
``float()``, ``int()``, ``bool()`` (``if loss > 1:``), ``.numpy()``, ``np.asarray(t)`` on a
traced value raise :class:`CompileError` naming the call site (return the value, or select
with ``dg.where``); change arguments or parameters in place with NumPy (refused when detected);
compute with NumPy on ``t.data`` (such values are recorded as constants).  Plain Python side
effects (``print``, appending to a list) happen only in the traced call.  Returned tensors have
no graph and share no memory with later calls (a copy, or an array the call made for the
result); leaf gradients are written into buffers the next call reuses.
"""

from __future__ import annotations

from .function import CompiledFunction, compile
from .trace import CompileError, record_effect

__all__ = ["compile", "CompiledFunction", "CompileError", "record_effect"]

