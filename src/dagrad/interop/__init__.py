"""The way out to PyTorch: modules and state dicts both ways, and the ``.pt`` for PyTorch.

PyTorch is imported only inside these functions (``pip install 'dagrad[torch]'``)::

    tm = dg.interop.to_torch(model)          # torch.nn.Module: same layers, weights, outputs
    model = dg.interop.from_torch(tm)        # back, for the layers dagrad has
    dg.interop.save_torch(model, "model.pt") # torch.load(..., weights_only=True) reads it
    tm = dg.interop.load_torch("model.pt")
"""

from .architecture import ConversionError, architecture, from_spec, supported_layers
from .convert import (
    from_torch,
    state_dict_from_torch,
    state_dict_to_torch,
    to_torch,
    torch_architecture,
    torch_from_architecture,
)
from .files import load_torch, save_torch

__all__ = ["to_torch", "from_torch", "state_dict_to_torch", "state_dict_from_torch",
           "save_torch", "load_torch", "architecture", "from_spec", "torch_architecture",
           "torch_from_architecture", "supported_layers", "ConversionError"]
