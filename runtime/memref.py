"""Zero-copy marshalling between torch tensors and MLIR memref descriptors (ctypes).

A ranked memref descriptor is {allocated, aligned, offset, sizes[rank], strides[rank]};
the C interface (`llvm.emit_c_interface`) takes a pointer to one per memref argument.
"""

from __future__ import annotations

import ctypes
import functools

import torch

_DTYPES = {
    torch.float32: "f32",
    torch.float64: "f64",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int16: "i16",
    torch.int8: "i8",
    torch.bool: "i1",
}
MLIR_TO_TORCH = {v: k for k, v in _DTYPES.items()}


def mlir_element(dtype: torch.dtype) -> str:
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise TypeError(f"runtime: dtype {dtype} has no MLIR element type") from None


@functools.lru_cache(maxsize=None)
def descriptor_class(rank: int) -> type:
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRefDescriptor{rank}", (ctypes.Structure,), {"_fields_": fields})


def descriptor(t: torch.Tensor) -> ctypes.Structure:
    """A descriptor aliasing `t`'s storage: data_ptr already includes the storage offset."""
    rank = t.dim()
    desc = descriptor_class(rank)()
    ptr = t.data_ptr()
    desc.allocated = ptr
    desc.aligned = ptr
    desc.offset = 0
    if rank:
        desc.sizes[:] = list(t.shape)
        desc.strides[:] = list(t.stride())
    return desc
