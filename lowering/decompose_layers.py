"""tg-decompose rules for losses and layers: mse/nll/cross-entropy, scaled dot-product
attention, embedding, conv2d and nearest upsampling (driver in lowering/decompose.py).
"""

from __future__ import annotations

import math

import numpy as np
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import builders_nn as nn
from ..dialects import ops_nn as N
from ..dialects.registry import DECOMPOSE
from ..dialects.types import DYN, element_type, is_bool, shape_of
from .decompose import tg_attr
from .decompose_nn import channel_view


def _reduce(loss, reduction: str, denom=None):
    if reduction == "none":
        return loss
    total = tg.reduce_sum(loss, [], False)
    if reduction == "sum":
        return total
    return tg.div(total, denom) if denom is not None else tg.div(total, tg.numel(loss, range(len(shape_of(loss)))))


@DECOMPOSE.register(N.MseLossOp)
def decompose_mse_loss(op):
    diff = tg.sub(op.input, op.target)
    sq = tg.mul(diff, diff)
    reduction = tg_attr(op, "reduction")
    if reduction == "mean":
        return tg.reduce_mean(sq, [], False)
    return _reduce(sq, reduction)


class _Classes:
    """One-hot view of class-index targets against (N, C, d...) or (C,) scores.

    A one-hot compare with iota picks the target's score with elementwise ops and a sum over
    the class dim, so no gather (and no scatter in its VJP) is needed; an ignored or
    out-of-range target selects nothing.
    """

    def __init__(self, op):
        x, target = op.input, op.target
        rank = len(shape_of(x))
        self.cdim = 0 if rank == 1 else 1
        self.rank = rank
        self.elem = element_type(x)
        classes = nn.iota(x, self.cdim)
        if rank > 2:  # (C,) -> (C, 1, ..., 1) against (N, C, d...)
            classes = channel_view(classes, rank)
        t = target
        if rank > 1:  # (N, d...) -> (N, 1, d...)
            ts = shape_of(target)
            t = tg.reshape(target, (ts[0], 1, *ts[1:]))
        t = tg.convert(t, element_type(classes))
        self.onehot = tg.eq(classes, t)
        self.valid = tg.ne(target, tg.scalar(tg_attr(op, "ignore_index"), target))
        weight = list(op.weight)
        self.weight = weight[0] if weight else None

    def pick(self, scores):
        """scores[target] per item (0 where nothing is selected)."""
        zero = tg.scalar(0.0, scores)
        return tg.reduce_sum(tg.where(self.onehot, scores, zero), [self.cdim], False)

    def class_weight(self, w):
        return channel_view(w, self.rank) if self.rank > 2 else w

    def item_weight(self):
        """weight[target] for valid items, else 0: the per-item factor and the mean's divisor."""
        valid = tg.convert(self.valid, self.elem)
        if self.weight is None:
            return valid
        return tg.mul(self.pick(self.class_weight(self.weight)), valid)


@DECOMPOSE.register(N.NllLossOp)
def decompose_nll_loss(op):
    # loss_i = -w[t_i] logp[i, t_i]; mean divides by the sum of the weights used
    cls = _Classes(op)
    w = cls.item_weight()
    loss = tg.neg(tg.mul(cls.pick(op.input), w))
    reduction = tg_attr(op, "reduction")
    return _reduce(loss, reduction, tg.reduce_sum(w, [], False) if reduction == "mean" else None)


@DECOMPOSE.register(N.CrossEntropyOp)
def decompose_cross_entropy(op):
    # nll(log_softmax x); label smoothing eps mixes in the uniform target:
    # (1 - eps) nll + eps / C * sum_c(-w_c logp_c), reduced like nll (ATen's formula)
    x, target = op.input, op.target
    cdim = 0 if len(shape_of(x)) == 1 else 1
    logp = tg.log_softmax(x, cdim)
    reduction, ignore = tg_attr(op, "reduction"), tg_attr(op, "ignore_index")
    weight = list(op.weight)
    nll = nn.nll_loss(logp, target, weight[0] if weight else None, reduction, ignore)
    eps = op.label_smoothing.value
    if eps == 0.0:
        return nll
    cls = _Classes(op)
    weighted = tg.mul(logp, cls.class_weight(cls.weight)) if weight else logp
    smooth = tg.neg(tg.reduce_sum(weighted, [cdim], False))
    smooth = tg.where(cls.valid, smooth, tg.scalar(0.0, smooth))
    denom = tg.reduce_sum(cls.item_weight(), [], False) if reduction == "mean" else None
    smooth = _reduce(smooth, reduction, denom)
    per_class = tg.div(tg.scalar(eps, x), tg.numel(x, [cdim]))
    return tg.add(tg.mul(nll, 1.0 - eps), tg.mul(smooth, per_class))


@DECOMPOSE.register(N.ScaledDotProductAttentionOp)
def decompose_sdpa(op):
    # softmax(q k^T scale + mask) v; masked-out scores are -inf before the softmax
    q, k, v = op.query, op.key, op.value
    rank = len(shape_of(q))
    scale = tg_attr(op, "scale")
    e = shape_of(q)[-1]
    if scale:
        factor = tg.scalar(scale[0], q)
    elif e != DYN:
        factor = tg.scalar(1.0 / math.sqrt(e), q)
    else:
        factor = tg.rsqrt(tg.convert(tg.dim_size(q, rank - 1), element_type(q)))
    scores = tg.mul(tg.matmul(q, tg.transpose(k, -2, -1)), factor)
    neg_inf = tg.scalar(-math.inf, q)
    mask = list(op.attn_mask)
    if tg_attr(op, "is_causal"):  # keep key j <= query i (top-left aligned, as torch.tril)
        rows = nn.iota(q, rank - 2)
        rows = tg.reshape(rows, (shape_of(rows)[0], 1))
        scores = tg.where(tg.ge(rows, nn.iota(k, rank - 2)), scores, neg_inf)
    elif mask and is_bool(element_type(mask[0])):
        scores = tg.where(mask[0], scores, neg_inf)
    elif mask:
        scores = tg.add(scores, mask[0])
    probs = tg.softmax(scores, rank - 1)
    if mask:  # a row masked out entirely attends to nothing (0), as ATen's safe softmax
        empty_row = tg.eq(tg.reduce_max(scores, [rank - 1], True), neg_inf)
        probs = tg.where(empty_row, tg.scalar(0.0, q), probs)
    return tg.matmul(probs, v)


@DECOMPOSE.register(N.EmbeddingOp)
def decompose_embedding(op):
    return nn.index_select(op.weight, op.indices, 0)


@DECOMPOSE.register(N.Conv2dOp)
def decompose_conv2d(op):
    out = nn.convolution(
        op.input, op.weight, tg_attr(op, "stride"), tg_attr(op, "padding"),
        tg_attr(op, "dilation"), op.groups.value,
    )
    bias = list(op.bias)
    return tg.add(out, channel_view(bias[0], 4)) if bias else out


@DECOMPOSE.register(N.UpsampleNearest2dOp)
def decompose_upsample_nearest2d(op):
    # source index = min(floor(dst * scale), in - 1) in float32, scale = 1/s or in/out, as
    # ATen's nearest_idx; one index_select per spatial dim
    x = op.input
    out = x
    scales = tg_attr(op, "scales")
    for i, size in enumerate(tg_attr(op, "output_size")):
        d = 2 + i
        src = shape_of(x)[d]
        if src == size:
            continue
        dst = np.arange(size, dtype=np.float32)
        i64 = ir.IntegerType.get_signless(64)
        if src != DYN:
            scale = np.float32(1.0 / scales[i]) if scales else np.float32(src) / np.float32(size)
            idx = np.minimum(np.floor(dst * scale).astype(np.int64), src - 1)
            index = tg.constant(idx, i64)
        else:
            f32 = ir.F32Type.get()
            in_size = tg.dim_size(x, d)
            if scales:
                scale = tg.scalar(float(np.float32(1.0 / scales[i])), f32)
            else:
                scale = tg.div(tg.convert(in_size, f32), tg.scalar(float(size), f32))
            index = tg.convert(tg.floor(tg.mul(tg.constant(dst, f32), scale)), i64)
            index = tg.minimum(index, tg.sub(in_size, 1))
        out = nn.index_select(out, index, d)
    return out
