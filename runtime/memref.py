"""Zero-copy marshalling between torch tensors and MLIR memref descriptors (ctypes).

A ranked memref descriptor is {allocated, aligned, offset, sizes[rank], strides[rank]};
the C interface (`llvm.emit_c_interface`) takes a pointer to one per memref argument.
"""

from __future__ import annotations

import ctypes
import functools
import struct
from typing import Sequence

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


@functools.lru_cache(maxsize=256)
def _block_layout(ranks: tuple[int, ...]) -> tuple[struct.Struct, struct.Struct, list[int]]:
    """For tensors of these ranks: the struct of the slots and cells, the struct of the
    descriptors that follow them, and each descriptor's offset in the block."""
    head = struct.Struct(f"@{2 * len(ranks)}P")
    fields = ["PPq" + "q" * (2 * r) for r in ranks]
    offsets = [head.size + struct.calcsize("@" + "".join(fields[:i])) for i in range(len(ranks))]
    return head, struct.Struct("@" + "".join(fields)), offsets


def argument_block(tensors: Sequence[torch.Tensor]) -> ctypes.Array:
    """The `void **` that a packed entry point (`_mlir__mlir_ciface_...`) takes, in one buffer:
    n slots, then n cells, then n descriptors. Slot i holds the address of cell i, which
    holds the address of descriptor i (the C interface takes each `desc*` by address); the
    descriptor aliases tensor i's storage (data_ptr includes the storage offset). The
    tensors must outlive the calls that use the block."""
    return PreparedBlock(tensors).fill(tensors)


class PreparedBlock:
    """An argument block (argument_block) for tensors of fixed shapes and strides, made
    once: a call only writes the tensors' data pointers into their descriptors, with one
    struct.pack_into over the descriptors (half the time of a ctypes Structure per tensor;
    the slots and cells, which point into the block itself, are written once). Not for
    concurrent calls: each thread keeps its own."""

    __slots__ = ("block", "_body", "_offset", "_values", "_slots")

    def __init__(self, tensors: Sequence[torch.Tensor]):
        head, self._body, offsets = _block_layout(tuple(t.dim() for t in tensors))
        self.block = (ctypes.c_byte * (head.size + self._body.size))()
        base, word, n = ctypes.addressof(self.block), struct.calcsize("@P"), len(tensors)
        cells = [base + (n + i) * word for i in range(n)]
        head.pack_into(self.block, 0, *cells, *[base + off for off in offsets])
        self._offset = head.size
        self._values: list[int] = []
        self._slots: list[int] = []  # where each tensor's two pointers sit in _values
        for t in tensors:
            self._slots.append(len(self._values))
            self._values += (0, 0, 0, *t.shape, *t.stride())

    def fill(self, tensors: Sequence[torch.Tensor]) -> ctypes.Array:
        """The block, pointing at `tensors` (of the shapes and strides it was made for)."""
        values = self._values
        for at, t in zip(self._slots, tensors):
            values[at] = values[at + 1] = t.data_ptr()
        self._body.pack_into(self.block, self._offset, *values)
        return self.block
