"""ONNX export of dagrad's traced forward DAG (``pip install 'dagrad[onnx]'``)::

    dg.onnx.export(model, x_example, "model.onnx")    # dynamic batch axis, opset 17
    # then: onnxruntime.InferenceSession("model.onnx").run(None, {"input": x})

Every op of the op table has an entry in :data:`dagrad.onnx.table.TABLE` (ONNX operators, or a
refusal naming the op); ``onnx`` is imported only when exporting.
"""

from .builder import ExportError
from .export import DEFAULT_OPSET, export
from .table import TABLE

__all__ = ["export", "ExportError", "TABLE", "DEFAULT_OPSET"]
