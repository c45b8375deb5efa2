"""Reduction tg ops and the normalizations built on them.

`dims` lists the reduced dimensions (empty: all of them), `keepdim` keeps them as size 1.
reduce_mean, softmax, log_softmax and layer_norm are composites.
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

from typing import Sequence

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .ops_elementwise import _same_elem
from .tg import PURE, TGOp
from .types import element_type, is_float, normalize_dim, shape_of, tensor_type


def reduced_shape(shape: Sequence[int], dims: Sequence[int], keepdim: bool) -> tuple[int, ...]:
    dims = normalized_dims(dims, len(shape))
    if keepdim:
        return tuple(1 if i in dims else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in dims)


def normalized_dims(dims: Sequence[int], rank: int) -> tuple[int, ...]:
    """Empty `dims` means every dim, as in torch.sum(x)."""
    if not dims:
        return tuple(range(rank))
    out = tuple(sorted({normalize_dim(d, rank) for d in dims}))
    if len(out) != len(dims):
        raise ValueError(f"dims {list(dims)} repeat a dimension")
    return out


class ReduceOp(TGOp):
    input: Operand[ir.RankedTensorType]
    dims: ir.ArrayAttr
    keepdim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dims=(), keepdim=False, **attrs):
        return tensor_type(reduced_shape(shape_of(types[0]), dims, keepdim), element_type(types[0]))


# On a float reduce_max whose result only shifts values that are then exponentiated and
# summed (softmax, log_softmax): it may ignore NaNs (Note [shift-only max] in
# lowering/to_linalg/reduce.py).
SHIFT_ONLY = "dynamlir.shift_only"


class ReduceSumOp(ReduceOp, name="reduce_sum", traits=PURE): ...
class ReduceProdOp(ReduceOp, name="reduce_prod", traits=PURE): ...
class ReduceMaxOp(ReduceOp, name="reduce_max", traits=PURE): ...
class ReduceMinOp(ReduceOp, name="reduce_min", traits=PURE): ...
class ReduceAnyOp(ReduceOp, name="reduce_any", traits=PURE): ...


class ReduceMeanOp(ReduceOp, name="reduce_mean", traits=PURE):
    COMPOSITE = True


class ArgReduceOp(TGOp):
    """Index of the first max/min along `dim`, as i64 (torch.argmax/argmin)."""

    input: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    keepdim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, keepdim=False, **attrs):
        shape = reduced_shape(shape_of(types[0]), [dim], keepdim)
        return tensor_type(shape, ir.IntegerType.get_signless(64))


class ArgmaxOp(ArgReduceOp, name="argmax", traits=PURE): ...
class ArgminOp(ArgReduceOp, name="argmin", traits=PURE): ...


class SoftmaxFamilyOp(TGOp):
    input: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        normalize_dim(dim, len(shape_of(types[0])))
        if not is_float(element_type(types[0])):
            raise ValueError(f"expects a floating-point operand, got {element_type(types[0])}")
        return types[0]


class SoftmaxOp(SoftmaxFamilyOp, name="softmax", traits=PURE): ...
class LogSoftmaxOp(SoftmaxFamilyOp, name="log_softmax", traits=PURE): ...


class LayerNormOp(TGOp, name="layer_norm", traits=PURE):
    """Normalize over the last `len(normalized_shape)` dims; `params` is [], [w] or [w, b]."""

    input: Operand[ir.RankedTensorType]
    params: Sequence[Operand[ir.RankedTensorType]]
    normalized_shape: ir.ArrayAttr
    eps: ir.FloatAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, normalized_shape=(), eps=1e-5, **attrs):
        shape = shape_of(types[0])
        n = len(normalized_shape)
        if not 1 <= n <= len(shape):
            raise ValueError(f"normalized_shape {list(normalized_shape)} does not fit input rank {len(shape)}")
        _same_elem(types)
        if len(types) > 3:
            raise ValueError(f"expects at most weight and bias, got {len(types) - 1} params")
        for t in types[1:]:
            if shape_of(t) != tuple(normalized_shape):
                raise ValueError(f"expects params of shape {list(normalized_shape)}, got {t}")
        return types[0]
