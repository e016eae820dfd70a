"""numpy / torch interop that never imports torch unless the user already did.

A torch tensor can only exist if ``torch`` is in ``sys.modules``, so every
check looks there first; importing this module therefore costs nothing.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def torch_if_loaded() -> Any:
    """The ``torch`` module if the user has imported it, else ``None``."""
    return sys.modules.get("torch")


def is_tensor(value: object) -> bool:
    """Whether ``value`` is a ``torch.Tensor`` (False when torch is not loaded)."""
    torch = torch_if_loaded()
    return torch is not None and isinstance(value, torch.Tensor)


def is_torch_module(value: object) -> bool:
    """Whether ``value`` is a ``torch.nn.Module`` (False when torch is not loaded)."""
    torch = torch_if_loaded()
    return torch is not None and isinstance(value, torch.nn.Module)


def is_array_like(value: object) -> bool:
    """Whether ``value`` is a numpy array or a torch tensor."""
    return isinstance(value, np.ndarray) or is_tensor(value)


def to_numpy(value: Any) -> np.ndarray:
    """A numpy view/copy of an array or tensor (bfloat16 widened to float32)."""
    if is_tensor(value):
        tensor = value.detach().cpu()
        torch = torch_if_loaded()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        return np.asarray(tensor.numpy())
    return np.asarray(value)


def like(template: Any, array: np.ndarray) -> Any:
    """``array`` in the container type of ``template`` (same device and dtype for tensors)."""
    if is_tensor(template):
        torch = torch_if_loaded()
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        return tensor.to(device=template.device, dtype=_torch_dtype_for(template, array))
    return array


def _torch_dtype_for(template: Any, array: np.ndarray) -> Any:
    """Keep the template's dtype unless the op deliberately changed the numpy dtype."""
    torch = torch_if_loaded()
    if template.dtype == torch.bfloat16 and array.dtype == np.float32:
        return torch.bfloat16
    if str(template.dtype) == f"torch.{array.dtype}":
        return template.dtype
    return torch.from_numpy(np.zeros(0, dtype=array.dtype)).dtype


def dtype_name(value: Any) -> str:
    """``'float32'``-style dtype name of an array or tensor."""
    if is_tensor(value):
        return str(value.dtype).removeprefix("torch.")
    return str(np.asarray(value).dtype)


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of an array or tensor as a tuple of ints."""
    return tuple(int(n) for n in value.shape)
