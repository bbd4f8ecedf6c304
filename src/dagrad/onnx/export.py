"""dg.onnx.export: trace a function or module once and write its forward DAG as an ONNX model.

The forward is recorded with dg.compile's recorder (every op application, comparison and
captured tensor, in order; a Python decision on a traced value is refused), then each step is
written with the op's entry of :data:`.table.TABLE`.  Parameters (tensors that existed before
the call) become named initializers, tensors made during the call from constants become
constants, the example inputs become the graph's inputs with a dynamic batch axis.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .builder import Builder, ExportError, V, tensor_type
from .table import COMPARISONS, TABLE, Out, Refused

__all__ = ["export", "ExportError", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17


def _leaves(example_inputs: Any) -> list[Tensor]:
    items = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    out = []
    for i, x in enumerate(items):
        if isinstance(x, Tensor):
            out.append(x.detach())
            continue
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise ExportError(f"dg.onnx.export: example input {i} has dtype {arr.dtype}; "
                              "give Tensors or number arrays")
        out.append(Tensor._from_op(arr, None))
    if not out:
        raise ExportError("dg.onnx.export: give at least one example input")
    return out


def _record(fn: Any, leaves: list[Tensor]) -> tuple[Any, Any]:
    """Run fn once under the recorder; (recorder, result)."""
    from ..compiler import guards
    from ..compiler.trace import ACTIVE, LOCK, CompileError, Recorder
    from ..ops import base
    from ..tensor import no_grad

    with LOCK:
        rec = Recorder(leaves)
        ACTIVE.append(rec)
        base.HOOKS.append(rec.on_op)
        base.INPLACE_HOOKS.append(rec.on_inplace)
        try:
            with guards.installed(rec), no_grad():
                result = fn(*leaves)
            rec.check_mutations()
        except CompileError as e:
            raise ExportError(str(e).replace("dg.compile", "dg.onnx.export")) from None
        finally:
            base.INPLACE_HOOKS.remove(rec.on_inplace)
            base.HOOKS.remove(rec.on_op)
            ACTIVE.remove(rec)
    return rec, result


def _outputs(rec: Any, result: Any) -> list[int]:
    items = result if isinstance(result, (tuple, list)) else (result,)
    vids = []
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise ExportError(f"dg.onnx.export: output {i} is a {type(t).__name__}; the function "
                              "must return a Tensor or a tuple of Tensors")
        v = rec.by_tensor.get(id(t))
        if v is None:
            v = rec.by_array.get(id(t.data))
        if v is None:
            raise ExportError(f"dg.onnx.export: output {i} (shape {t.shape}) was not computed "
                              "by dagrad ops from the inputs (NumPy on .data is not recorded)")
        vids.append(v)
    return vids


def _value_info(onnx: Any, name: str, v: V, dynamic: bool) -> Any:
    dims: list[Any] = list(v.shape)
    if dynamic and v.loose:
        dims = [None] * v.ndim
    elif dynamic and v.batch is not None:
        dims[v.batch] = "batch"
    return onnx.helper.make_tensor_value_info(name, tensor_type(onnx, v.dtype), dims)


def export(fn_or_module: Any, example_inputs: Any, path: str | os.PathLike, *,
           dynamic_batch: bool = True, opset: int = DEFAULT_OPSET,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           metadata: dict[str, str] | None = None) -> Any:
    """Write fn's forward DAG at ``example_inputs`` as an ONNX model to ``path``; returns it.

    y = fn(*example_inputs) is traced once; a Module is exported in eval mode (dropout off, as
    torch.onnx).  ``dynamic_batch``: axis 0 of every input is the symbolic dimension "batch"
    (and the batch axis of the outputs follows it).  ``opset``: the ONNX operator set (≥ 17).
    The model passes ``onnx.checker.check_model(full_check=True)`` before it is written
    (atomically).  Ops without an ONNX mapping are refused by name.
    """
    from ..atomic import atomic_write
    from ._deps import require_onnx

    onnx = require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not 17 <= opset <= newest:
        raise ExportError(f"dg.onnx.export: opset must be an integer from 17 to {newest} (this "
                          f"onnx's newest), got {opset!r}")
    leaves = _leaves(example_inputs)
    module = fn_or_module if hasattr(fn_or_module, "named_parameters") and \
        hasattr(fn_or_module, "training") else None
    if not callable(fn_or_module):
        raise ExportError(f"dg.onnx.export: {type(fn_or_module).__name__} is not callable")
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    try:
        rec, result = _record(fn_or_module, leaves)
    finally:
        if module is not None and was_training:
            module.train()
    out_vids = _outputs(rec, result)
    names = {}
    if module is not None:
        names = {id(p): n for n, p in module.named_parameters()}
    model = _build(onnx, rec, leaves, out_vids, names, dynamic_batch, opset, input_names,
                   output_names, metadata, getattr(fn_or_module, "__name__",
                                                   type(fn_or_module).__name__))
    onnx.checker.check_model(model, full_check=True)
    with atomic_write(path, "wb") as f:
        f.write(model.SerializeToString())
    return model


def _names(given: Sequence[str] | None, n: int, base: str, what: str) -> list[str]:
    if given is None:
        return [base] if n == 1 else [f"{base}{i}" for i in range(n)]
    given = [str(s) for s in given]
    if len(given) != n or len(set(given)) != n:
        raise ExportError(f"dg.onnx.export: {what} must be {n} distinct names, got {given}")
    return given


def _build(onnx: Any, rec: Any, leaves: list[Tensor], out_vids: list[int],
           param_names: dict[int, str], dynamic: bool, opset: int,
           input_names: Sequence[str] | None, output_names: Sequence[str] | None,
           metadata: dict[str, str] | None, graph_name: str) -> Any:
    from ..compiler.ir import ARG, CONST, STATE

    sizes = {leaf.data.shape[0] for leaf in leaves if leaf.data.ndim}
    b = Builder(onnx, opset, dynamic, sizes.pop() if len(sizes) == 1 else None)
    in_names = _names(input_names, len(leaves), "input", "input_names")
    out_names = _names(output_names, len(out_vids), "output", "output_names")
    b.names.update(in_names)
    b.names.update(out_names)
    vals: dict[int, V] = {}
    graph_inputs = []
    for i, leaf in enumerate(leaves):
        arr = leaf.data
        v = V(in_names[i], tuple(arr.shape), arr.dtype, 0 if dynamic and arr.ndim else None)
        graph_inputs.append(_value_info(onnx, in_names[i], v, dynamic))
    for value in rec.values:
        if value.kind == ARG:
            arr = leaves[value.arg].data
            vals[value.vid] = V(in_names[value.arg], tuple(arr.shape), arr.dtype,
                                0 if dynamic and arr.ndim else None)
        elif value.kind == STATE:
            t = value.tensor
            base = param_names.get(id(t)) or t.name or "param"
            vals[value.vid] = V(b.initializer(base, np.asarray(t.data)), value.shape,
                                value.dtype)
        elif value.kind == CONST:
            vals[value.vid] = V(b.const(value.const, value.dtype), value.shape, value.dtype)
    for step in rec.steps:
        vals[step.out] = _step(b, rec, step, vals)
    outputs = []
    for name, vid in zip(out_names, out_vids, strict=True):
        v = vals[vid]
        b.nodes.append(onnx.helper.make_node("Identity", [v.name], [name],
                                             name=b.fresh("Identity_output")))
        outputs.append(_value_info(onnx, name, v, dynamic))
    graph = onnx.helper.make_graph(b.nodes, graph_name, graph_inputs, outputs,
                                   initializer=b.initializers)
    model = onnx.helper.make_model(graph, producer_name="dagrad",
                                   opset_imports=[onnx.helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)  # onnxruntime releases read IR ≤ 10
    if metadata:
        onnx.helper.set_model_props(model, {str(k): str(v) for k, v in metadata.items()})
    return model


def _step(b: Builder, rec: Any, step: Any, vals: dict[int, V]) -> V:
    value = rec.values[step.out]
    out = Out(tuple(value.shape), np.dtype(value.dtype))
    if step.kind == "fwd":
        if step.folded is not None:        # every operand a constant: the value itself
            return V(b.const(step.folded, out.dtype), out.shape, out.dtype)
        entry = TABLE.get(step.op.name)
        if entry is None or isinstance(entry, Refused):
            why = f" ({entry.why})" if isinstance(entry, Refused) else ""
            raise ExportError(f"dg.onnx.export: op '{step.op.name}' has no ONNX mapping{why}")
        return entry(b, [vals[i] for i in step.ins], out, dict(step.attrs))
    if step.kind == "cmp":
        name = getattr(step.fn, "__name__", str(step.fn))
        if name not in COMPARISONS:
            raise ExportError(f"dg.onnx.export: comparison {name!r} has no ONNX mapping")
        if step.folded is not None:
            return V(b.const(step.folded, out.dtype), out.shape, out.dtype)
        ins = [vals[i] for i in step.ins]
        common = np.result_type(*[v.dtype for v in ins])
        y = b.node(COMPARISONS[name], [b.cast(v, common) for v in ins], name)
        if name == "not_equal":
            y = b.node("Not", [y], name)
        batch = next((v.batch + len(out.shape) - v.ndim for v in ins
                      if v.batch is not None and v.ndim), None)
        return V(y, out.shape, out.dtype, batch, any(v.loose for v in ins))
    if step.kind == "copyarg":
        src = vals[step.ins[0]]
        return V(b.cast(src, out.dtype) if src.dtype != out.dtype else
                 b.node("Identity", [src.name]), out.shape, out.dtype, src.batch, src.loose)
    if step.kind == "view":
        raise ExportError("dg.onnx.export: fn took a NumPy view of a traced value (.data "
                          "sliced or transposed); use dagrad ops (indexing, .T, reshape)")
    if step.kind == "effect":
        raise ExportError("dg.onnx.export: fn has side effects (an optimizer step or a .grad "
                          "write); export the forward function only")
    raise ExportError(f"dg.onnx.export: a recorded {step.kind!r} step has no ONNX mapping")
