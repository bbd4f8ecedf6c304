"""The ONNX graph under construction: nodes, initializers, and what is known of each value.

A value is an ONNX tensor name with its trace-time shape and dtype and ``batch``: the axis that
is the model's dynamic batch axis (None if it has none).  ``loose`` marks values whose shape
depends on the batch size other than through that axis (a slice of the batch, a reshape that
folds it into another axis): their dims are left unknown in the model's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["V", "Builder", "ExportError"]


class ExportError(ValueError):
    """What dg.onnx.export cannot write (the message names the op, value or option)."""


@dataclass
class V:
    """One value of the graph being built."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    batch: int | None = None
    loose: bool = False

    @property
    def ndim(self) -> int:
        return len(self.shape)


class Builder:
    """Collects nodes and initializers; hands out unique names."""

    def __init__(self, onnx: Any, opset: int, dynamic: bool, batch_size: int | None = None):
        self.onnx = onnx
        self.batch_size = batch_size   # the example's batch size (dynamic export)
        self.helper = onnx.helper
        self.opset = opset
        self.dynamic = dynamic
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set()
        self._consts: dict[tuple, str] = {}

    def fresh(self, base: str) -> str:
        """A name not used yet, from ``base``."""
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def node(self, op_type: str, inputs: list[str], base: str | None = None, **attrs: Any) -> str:
        """Append one node with one output; returns the output's name."""
        out = self.fresh(base or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [out],
                                                name=self.fresh(f"{op_type}_node"), **attrs))
        return out

    def initializer(self, name: str, array: np.ndarray) -> str:
        """A named initializer (a parameter or a constant) holding ``array``."""
        name = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(array, order="C"),
                                                                   name))
        return name

    def const(self, value: Any, dtype: Any) -> str:
        """A constant (shared between nodes asking for the same small value)."""
        arr = np.asarray(value, dtype=np.dtype(dtype))
        key = (arr.dtype.str, arr.shape, arr.tobytes()) if arr.size <= 64 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.initializer("const", arr)
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values: Any) -> str:
        """An int64 1-D constant (shapes, axes, indices)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), np.int64)

    def cast(self, v: V, dtype: Any) -> str:
        """v's name, converted to ``dtype`` if it is another dtype."""
        dtype = np.dtype(dtype)
        if v.dtype == dtype:
            return v.name
        return self.node("Cast", [v.name], "cast", to=tensor_type(self.onnx, dtype))

    def reduce(self, op_type: str, x: str, axes: tuple[int, ...] | None, keepdims: bool) -> str:
        """Reduce* over ``axes`` (None: all), with axes as an input or attribute by opset."""
        as_input = op_type == "ReduceSum" or self.opset >= 18
        kd = int(bool(keepdims))
        if axes is None:
            return self.node(op_type, [x], keepdims=kd)
        if as_input:
            return self.node(op_type, [x, self.ints(axes)], keepdims=kd)
        return self.node(op_type, [x], axes=list(axes), keepdims=kd)


def tensor_type(onnx: Any, dtype: Any) -> int:
    """The ONNX TensorProto type of a NumPy dtype."""
    dtype = np.dtype(dtype)
    try:
        return onnx.helper.np_dtype_to_tensor_dtype(dtype)
    except (KeyError, ValueError, TypeError):
        raise ExportError(f"dg.onnx.export: dtype {dtype} has no ONNX tensor type") from None
