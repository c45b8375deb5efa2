"""nn composite ops for losses and layers: mse/nll/cross-entropy, scaled dot-product
attention, embedding, conv2d and nearest upsampling. dialects/ops_nn.py re-exports them.
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

import math
from typing import Sequence

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .ops_elementwise import _same_elem
from .ops_nn import (
    ConvolutionOp,
    IndexSelectOp,
    _check_channel_params,
    _float_elem,
    _join,
    _optional_scalar,
    _reduction,
)
from .tg import PURE, TGOp
from .types import broadcast_shapes, element_type, is_bool, is_int, shape_of, tensor_type


# --- composite losses ---------------------------------------------------------------


class MseLossOp(TGOp, name="mse_loss", traits=PURE):
    input: Operand[ir.RankedTensorType]
    target: Operand[ir.RankedTensorType]
    reduction: ir.StringAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, reduction="mean", **attrs):
        _reduction(reduction)
        elem = _float_elem(types[0])
        _same_elem(types)
        shape = broadcast_shapes(shape_of(types[0]), shape_of(types[1]))
        return tensor_type(shape if reduction == "none" else (), elem)


class ClassLossOp(TGOp):
    """(N, C, d...) or (C,) scores against class-index targets (N, d...) or ()."""

    input: Operand[ir.RankedTensorType]
    target: Operand[ir.RankedTensorType]
    weight: Sequence[Operand[ir.RankedTensorType]]
    reduction: ir.StringAttr
    ignore_index: ir.IntegerAttr
    COMPOSITE = True

    @classmethod
    def infer(cls, types, reduction="mean", **attrs):
        _reduction(reduction)
        elem = _float_elem(types[0])
        x, t = shape_of(types[0]), shape_of(types[1])
        if not is_int(element_type(types[1])):
            raise ValueError(f"expects integer class-index targets, got {element_type(types[1])}")
        if not x:
            raise ValueError("expects an input of rank >= 1")
        expected = () if len(x) == 1 else (x[0], *x[2:])
        if len(t) != len(expected):
            raise ValueError(f"expects target of shape {list(expected)}, got {list(t)}")
        per_item = tuple(_join(a, b, "target dim") for a, b in zip(t, expected))
        if len(types) > 3:
            raise ValueError("expects at most one weight")
        c = x[0] if len(x) == 1 else x[1]
        _check_channel_params(types[2:], c, "weight")
        _same_elem([types[0], *types[2:]])
        if reduction != "none":
            return tensor_type((), elem)
        return tensor_type(per_item, elem)


class NllLossOp(ClassLossOp, name="nll_loss", traits=PURE):
    result: Result[ir.RankedTensorType]


class CrossEntropyOp(ClassLossOp, name="cross_entropy", traits=PURE):
    label_smoothing: ir.FloatAttr
    result: Result[ir.RankedTensorType]


# --- composite layers ---------------------------------------------------------------


class ScaledDotProductAttentionOp(TGOp, name="scaled_dot_product_attention", traits=PURE):
    """softmax(q k^T * scale + mask) v over (..., L, E), (..., S, E), (..., S, Ev); `attn_mask`
    is [] or [mask] (i1: keep where true, float: added), `scale` is [] (1/sqrt(E)) or [s]."""

    query: Operand[ir.RankedTensorType]
    key: Operand[ir.RankedTensorType]
    value: Operand[ir.RankedTensorType]
    attn_mask: Sequence[Operand[ir.RankedTensorType]]
    is_causal: ir.IntegerAttr
    scale: ir.ArrayAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, is_causal=False, scale=(), **attrs):
        _optional_scalar(scale, "scale")
        elem = _float_elem(types[0])
        _same_elem(types[:3])
        q, k, v = map(shape_of, types[:3])
        if len(q) < 2 or len(k) != len(q) or len(v) != len(q):
            raise ValueError(f"expects query, key, value of one rank >= 2, got {len(q)}, {len(k)}, {len(v)}")
        _join(q[-1], k[-1], "embedding dim")
        _join(k[-2], v[-2], "key/value length")
        batch = broadcast_shapes(q[:-2], k[:-2], v[:-2])
        if len(types) == 4:
            mask = types[3]
            if not is_bool(element_type(mask)) and element_type(mask) != elem:
                raise ValueError(f"expects an i1 or {elem} mask, got {element_type(mask)}")
            broadcast_shapes(shape_of(mask), (*batch, q[-2], k[-2]))
            if is_causal:
                raise ValueError("expects either attn_mask or is_causal, not both")
        return tensor_type((*batch, q[-2], v[-1]), elem)


class EmbeddingOp(TGOp, name="embedding", traits=PURE):
    """weight[indices]: rows of a (V, D) table; result shape indices.shape + (D,)."""

    weight: Operand[ir.RankedTensorType]
    indices: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        w = shape_of(types[0])
        if len(w) != 2:
            raise ValueError(f"expects a rank-2 weight, got {types[0]}")
        return IndexSelectOp.infer(types, dim=0)


class Conv2dOp(TGOp, name="conv2d", traits=PURE):
    """torch.nn.functional.conv2d: tg.convolution plus an optional (O,) bias ([] or [b])."""

    input: Operand[ir.RankedTensorType]
    weight: Operand[ir.RankedTensorType]
    bias: Sequence[Operand[ir.RankedTensorType]]
    stride: ir.ArrayAttr
    padding: ir.ArrayAttr
    dilation: ir.ArrayAttr
    groups: ir.IntegerAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        if len(shape_of(types[0])) != 4:
            raise ValueError(f"expects an (N, C, H, W) input, got {types[0]}")
        out = ConvolutionOp.infer(types[:2], **attrs)
        if len(types) > 3:
            raise ValueError("expects at most one bias")
        _check_channel_params(types[2:], shape_of(out)[1], "bias")
        _same_elem(types)
        return out


class UpsampleNearest2dOp(TGOp, name="upsample_nearest2d", traits=PURE):
    """Nearest upsampling of (N, C, H, W) to `output_size` [OH, OW]; `scales` is [] (source
    index = floor(dst * in / out)) or [sh, sw] (floor(dst / s)), as ATen's kernel."""

    input: Operand[ir.RankedTensorType]
    output_size: ir.ArrayAttr
    scales: ir.ArrayAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, output_size=(), scales=(), **attrs):
        x = shape_of(types[0])
        if len(x) != 4 or len(output_size) != 2 or len(scales) not in (0, 2):
            raise ValueError(
                f"expects a rank-4 input, 2 output sizes and 0 or 2 scales, got rank {len(x)}, "
                f"{len(output_size)} sizes, {len(scales)} scales"
            )
        if any(s < 1 for s in output_size) or any(s <= 0 or math.isnan(s) for s in scales):
            raise ValueError(f"expects positive sizes and scales, got {list(output_size)}, {list(scales)}")
        return tensor_type((x[0], x[1], *output_size), element_type(types[0]))


__all__ = [n for n in dir() if n.endswith("Op") and n not in ("TGOp", "ConvolutionOp", "IndexSelectOp")]
