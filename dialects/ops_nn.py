"""Neural-network tg ops: the composites PyTorch's nn.functional calls (norms, activations,
losses, attention, conv, embedding, upsampling) and the few primitives they need
(convolution, index_select, iota).

Optional scalar attributes are arrays holding zero or one value (`scale = []`), since IRDL
attributes cannot be optional; optional tensors are variadic operand groups of 0 or 1.
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

from typing import Sequence

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .ops_elementwise import FloatUnaryOp, _same_elem
from .ops_reduce import normalized_dims, reduced_shape
from .registry import NON_DIFFERENTIABLE
from .tg import PURE, TGOp
from .types import (
    DYN,
    broadcast_shapes,
    element_type,
    is_bool,
    is_float,
    is_int,
    normalize_dim,
    shape_of,
    tensor_type,
)

REDUCTIONS = ("none", "mean", "sum")


def _join(a: int, b: int, what: str) -> int:
    if a != DYN and b != DYN and a != b:
        raise ValueError(f"{what} mismatch: {a} vs {b}")
    return b if a == DYN else a


def _float_elem(t) -> ir.Type:
    if not is_float(element_type(t)):
        raise ValueError(f"expects a floating-point operand, got {element_type(t)}")
    return element_type(t)


def _reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got '{reduction}'")


def _optional_scalar(values, name: str) -> None:
    if len(values) > 1:
        raise ValueError(f"'{name}' holds at most one value, got {len(values)}")


# --- primitives ---------------------------------------------------------------------


def conv_out_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    if size == DYN or k == DYN:
        return DYN
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


class ConvolutionOp(TGOp, name="convolution", traits=PURE):
    """Cross-correlation of an (N, C, *spatial) input with an (O, C/groups, *kernel) weight,
    symmetric zero `padding`; no bias (tg.conv2d adds it)."""

    input: Operand[ir.RankedTensorType]
    weight: Operand[ir.RankedTensorType]
    stride: ir.ArrayAttr
    padding: ir.ArrayAttr
    dilation: ir.ArrayAttr
    groups: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, stride=(), padding=(), dilation=(), groups=1, **attrs):
        elem = _same_elem(types)
        x, w = shape_of(types[0]), shape_of(types[1])
        n = len(x) - 2
        if n < 1 or len(w) != len(x):
            raise ValueError(f"expects input and weight of one rank >= 3, got {len(x)} and {len(w)}")
        for name, v in (("stride", stride), ("padding", padding), ("dilation", dilation)):
            if len(v) != n:
                raise ValueError(f"expects {n} '{name}' values, got {len(v)}")
        if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or groups < 1:
            raise ValueError("expects stride, dilation, groups >= 1 and padding >= 0")
        if w[0] != DYN and w[0] % groups:
            raise ValueError(f"out channels {w[0]} not divisible by groups {groups}")
        if x[1] != DYN and w[1] != DYN:
            _join(x[1], w[1] * groups, "in channels")
        spatial = [
            conv_out_size(x[i + 2], w[i + 2], stride[i], padding[i], dilation[i]) for i in range(n)
        ]
        if any(s != DYN and s < 1 for s in spatial):
            raise ValueError(f"kernel larger than padded input: output size {spatial}")
        return tensor_type((x[0], w[0], *spatial), elem)


class IndexSelectOp(TGOp, name="index_select", traits=PURE):
    """Take whole slices of `input` along `dim` at integer `index` (any rank, like numpy.take):
    result shape is input[:dim] + index.shape + input[dim+1:]."""

    input: Operand[ir.RankedTensorType]
    index: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        x, idx = shape_of(types[0]), shape_of(types[1])
        if not is_int(element_type(types[1])):
            raise ValueError(f"expects an integer index, got {element_type(types[1])}")
        d = normalize_dim(dim, len(x))
        return tensor_type((*x[:d], *idx, *x[d + 1 :]), element_type(types[0]))


class IotaOp(TGOp, name="iota", traits=PURE):
    """0, 1, ..., n-1 as i64, n the size of dim `dim` of `like` (static or dynamic)."""

    like: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        shape = shape_of(types[0])
        return tensor_type((shape[normalize_dim(dim, len(shape))],), ir.IntegerType.get_signless(64))


NON_DIFFERENTIABLE.add(IotaOp)  # integer positions: no gradient flows through them


# --- composite activations ----------------------------------------------------------


class SiluOp(FloatUnaryOp, name="silu", traits=PURE):
    COMPOSITE = True


class MishOp(FloatUnaryOp, name="mish", traits=PURE):
    COMPOSITE = True


class HardswishOp(FloatUnaryOp, name="hardswish", traits=PURE):
    COMPOSITE = True


class ClampOp(TGOp, name="clamp", traits=PURE):
    """min(max(x, min), max); `min` and `max` are [] (unbounded) or [value]."""

    input: Operand[ir.RankedTensorType]
    min: ir.ArrayAttr
    max: ir.ArrayAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, min=(), max=(), **attrs):  # noqa: A002
        _optional_scalar(min, "min")
        _optional_scalar(max, "max")
        return types[0]


class HardtanhOp(TGOp, name="hardtanh", traits=PURE):
    input: Operand[ir.RankedTensorType]
    min_val: ir.FloatAttr
    max_val: ir.FloatAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        return types[0]


class DropoutOp(TGOp, name="dropout", traits=PURE):
    """x * mask / (1 - p) when `train`; `mask` (i1, x's shape) comes from torch's RNG outside
    the graph, so it is an operand: [] when not training, p == 0 or p == 1."""

    input: Operand[ir.RankedTensorType]
    mask: Sequence[Operand[ir.RankedTensorType]]
    p: ir.FloatAttr
    train: ir.IntegerAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, p=0.5, train=False, **attrs):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"expects 0 <= p <= 1, got {p}")
        needs_mask = bool(train) and 0.0 < p < 1.0
        if len(types) != 1 + needs_mask:
            raise ValueError(f"expects {int(needs_mask)} mask operands, got {len(types) - 1}")
        if needs_mask:
            mask = types[1]
            if not is_bool(element_type(mask)) or shape_of(mask) != shape_of(types[0]):
                raise ValueError(f"expects an i1 mask of the input's shape, got {mask}")
        return types[0]


# --- composite arithmetic -----------------------------------------------------------


class AddcOp(TGOp):
    input: Operand[ir.RankedTensorType]
    tensor1: Operand[ir.RankedTensorType]
    tensor2: Operand[ir.RankedTensorType]
    value: ir.FloatAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        return tensor_type(broadcast_shapes(*map(shape_of, types)), _same_elem(types))


class AddcmulOp(AddcOp, name="addcmul", traits=PURE): ...
class AddcdivOp(AddcOp, name="addcdiv", traits=PURE): ...


# --- composite reductions -----------------------------------------------------------


class DimsReduceOp(TGOp):
    input: Operand[ir.RankedTensorType]
    dims: ir.ArrayAttr
    keepdim: ir.IntegerAttr
    COMPOSITE = True

    @classmethod
    def infer(cls, types, dims=(), keepdim=False, **attrs):
        elem = _float_elem(types[0])
        return tensor_type(reduced_shape(shape_of(types[0]), dims, keepdim), elem)


class LogsumexpOp(DimsReduceOp, name="logsumexp", traits=PURE):
    result: Result[ir.RankedTensorType]


class VarOp(DimsReduceOp, name="var", traits=PURE):
    """Variance over `dims` dividing by N - correction (1: Bessel's, 0: biased)."""

    correction: ir.FloatAttr
    result: Result[ir.RankedTensorType]


class StdOp(DimsReduceOp, name="std", traits=PURE):
    correction: ir.FloatAttr
    result: Result[ir.RankedTensorType]


class VarMeanOp(DimsReduceOp, name="var_mean", traits=PURE):
    correction: ir.FloatAttr
    var: Result[ir.RankedTensorType]
    mean: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        t = super().infer(types, **attrs)
        return [t, t]


class NormOp(DimsReduceOp, name="norm", traits=PURE):
    """Vector p-norm over `dims`: p = 2, 1, inf, -inf, 0 (count of non-zeros) or any other p."""

    p: ir.FloatAttr
    result: Result[ir.RankedTensorType]


# --- composite normalizations -------------------------------------------------------


def _check_channel_params(types, c: int, what: str) -> None:
    for t in types:
        s = shape_of(t)
        if len(s) != 1 or (c != DYN and s[0] != DYN and s[0] != c):
            raise ValueError(f"expects {what} of shape [{c}], got {t}")


class GroupNormOp(TGOp, name="group_norm", traits=PURE):
    """Normalize (N, C, *) over groups of C/num_groups channels; `params` is [], [w], [w, b]."""

    input: Operand[ir.RankedTensorType]
    params: Sequence[Operand[ir.RankedTensorType]]
    num_groups: ir.IntegerAttr
    eps: ir.FloatAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, num_groups=1, **attrs):
        _float_elem(types[0])
        _same_elem(types)
        x = shape_of(types[0])
        if len(x) < 2 or x[1] == DYN:
            raise ValueError(f"expects an (N, C, *) input with static C, got {types[0]}")
        if num_groups < 1 or x[1] % num_groups:
            raise ValueError(f"channels {x[1]} not divisible by num_groups {num_groups}")
        if len(types) > 3:
            raise ValueError(f"expects at most weight and bias, got {len(types) - 1} params")
        _check_channel_params(types[1:], x[1], "params")
        return types[0]


class BatchNormOp(TGOp, name="batch_norm", traits=PURE):
    """Batch norm of (N, C, *). Eval normalizes with the running stats (one result). Train
    normalizes with the batch's biased stats and also returns the updated running_mean and
    running_var (momentum-weighted, running_var from the unbiased variance), as PyTorch.
    `params` is [] or [weight, bias]."""

    input: Operand[ir.RankedTensorType]
    running_mean: Operand[ir.RankedTensorType]
    running_var: Operand[ir.RankedTensorType]
    params: Sequence[Operand[ir.RankedTensorType]]
    training: ir.IntegerAttr
    momentum: ir.FloatAttr
    eps: ir.FloatAttr
    result: Result[ir.RankedTensorType]
    new_stats: Sequence[Result[ir.RankedTensorType]]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, training=False, **attrs):
        _float_elem(types[0])
        _same_elem(types)
        x = shape_of(types[0])
        if len(x) < 2:
            raise ValueError(f"expects an (N, C, *) input, got {types[0]}")
        if len(types) not in (3, 5):
            raise ValueError(f"expects params [] or [weight, bias], got {len(types) - 3} values")
        _check_channel_params(types[1:], x[1], "stats and params")
        return [types[0], types[1], types[2]] if training else [types[0]]


# Losses and layers live in ops_nn_layers.py (file size); re-export them so `ops_nn.X` finds
# every nn op.
from . import ops_nn_layers as _layers  # noqa: E402

globals().update({_n: getattr(_layers, _n) for _n in _layers.__all__})

__all__ = [n for n in dir() if n.endswith("Op")] + ["conv_out_size", "normalized_dims"]
