"""Indexing tg primitives: gather and scatter-add along a dim (torch.gather and
Tensor.scatter_add semantics) and insert_slice (the functional form of writing into a
strided slice: ATen's slice_scatter / select_scatter after functionalization).

They close each other under differentiation: gather's gradient is a scatter-add into
zeros, scatter-add's is a gather, and insert_slice's are a slice and an insert of zeros.
That is what lets the importer build sort, topk, max pooling and in-place slice writes
from them with exact PyTorch gradients.
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .ops_elementwise import _same_elem
from .tg import PURE, TGOp
from .types import DYN, element_type, is_bool, is_int, normalize_dim, shape_of, tensor_type


def _check_index(t) -> None:
    if not is_int(element_type(t)):
        raise ValueError(f"expects an integer index, got {element_type(t)}")


def _compatible(a, b, what: str) -> None:
    if len(a) != len(b) or any(x != y and DYN not in (x, y) for x, y in zip(a, b)):
        raise ValueError(f"expects {what}, got {list(a)} and {list(b)}")


class GatherOp(TGOp, name="gather", traits=PURE):
    """out[..., i, ...] = input[..., index[..., i, ...], ...] along `dim` (torch.gather);
    the result has the index's shape; negative indices count from the end of `dim`."""

    input: Operand[ir.RankedTensorType]
    index: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        x, idx = shape_of(types[0]), shape_of(types[1])
        _check_index(types[1])
        d = normalize_dim(dim, len(x))
        if len(idx) != len(x):
            raise ValueError(f"expects an index of the input's rank {len(x)}, got rank {len(idx)}")
        for i, (a, b) in enumerate(zip(x, idx)):
            if i != d and a != DYN and b != DYN and b > a:
                raise ValueError(f"index dim {i} of size {b} exceeds the input's {a}")
        return tensor_type(idx, element_type(types[0]))


class ScatterAddOp(TGOp, name="scatter_add", traits=PURE):
    """input with src[..., i, ...] added at input[..., index[..., i, ...], ...] along `dim`
    (Tensor.scatter_add). The index has src's shape and the input's sizes outside `dim`."""

    input: Operand[ir.RankedTensorType]
    index: Operand[ir.RankedTensorType]
    src: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        x, idx, src = (shape_of(t) for t in types)
        _check_index(types[1])
        _same_elem([types[0], types[2]])
        if is_bool(element_type(types[0])):
            raise ValueError("expects a numeric input, got i1")
        d = normalize_dim(dim, len(x))
        _compatible(idx, src, "index and src of one shape")
        outside = [s for i, s in enumerate(x) if i != d]
        _compatible([s for i, s in enumerate(idx) if i != d], outside, "index sizes outside dim")
        return types[0]


class InsertSliceOp(TGOp, name="insert_slice", traits=PURE):
    """dest with dest[start : start + step * n : step] along `dim` replaced by src, n the
    size of src along `dim` (ATen's slice_scatter)."""

    dest: Operand[ir.RankedTensorType]
    src: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    start: ir.IntegerAttr
    step: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, start=0, step=1, **attrs):
        dest, src = shape_of(types[0]), shape_of(types[1])
        _same_elem(types)
        d = normalize_dim(dim, len(dest))
        if start < 0 or step < 1:
            raise ValueError(f"expects start >= 0 and step >= 1, got start {start} step {step}")
        _compatible(
            [s for i, s in enumerate(src) if i != d],
            [s for i, s in enumerate(dest) if i != d],
            "src and dest of one shape outside dim",
        )
        n, size = src[d], dest[d]
        if DYN not in (n, size) and n and start + step * (n - 1) >= size:
            raise ValueError(f"slice of {n} from {start} step {step} exceeds dim size {size}")
        return types[0]


class StopGradientOp(TGOp, name="stop_gradient", traits=PURE):
    """The input unchanged, with a zero gradient: Tensor.detach, and the rows of an
    embedding's padding_idx, which get no gradient in PyTorch."""

    input: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        return types[0]


__all__ = ["GatherOp", "ScatterAddOp", "InsertSliceOp", "StopGradientOp"]
