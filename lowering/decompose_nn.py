"""tg-decompose rules for nn activations, arithmetic composites, statistics and the batch and
group normalizations (see lowering/decompose.py for the driver and the primitive set).
"""

from __future__ import annotations

import math

from ..dialects import builders as tg
from ..dialects import builders_nn as nn
from ..dialects import ops_nn as N
from ..dialects.ops_reduce import normalized_dims
from ..dialects.registry import DECOMPOSE
from ..dialects.types import DYN, element_type, shape_of
from .decompose import tg_attr


def drop_unit_dims(x, dims):
    """Remove the size-1 `dims` of a keepdim-shaped `x`. A reshape when at most one dim stays
    dynamic (what tg.reshape allows); else a sum over the unit dims, which is the same copy."""
    shape = shape_of(x)
    out = [d for i, d in enumerate(shape) if i not in dims]
    if not dims:
        return x
    if out.count(DYN) <= 1:
        return tg.reshape(x, out)
    return tg.reduce_sum(x, dims, False)


def channel_view(v, rank: int):
    """A (C,) per-channel vector as (C, 1, ..., 1), broadcasting against (N, C, *spatial)."""
    return tg.reshape(v, (shape_of(v)[0], *([1] * (rank - 2))))


def _dims(op):
    return normalized_dims(tg_attr(op, "dims"), len(shape_of(op.input)))


# --- activations --------------------------------------------------------------------


@DECOMPOSE.register(N.SiluOp)
def decompose_silu(op):
    return tg.mul(op.input, tg.sigmoid(op.input))


@DECOMPOSE.register(N.MishOp)
def decompose_mish(op):
    # x tanh(softplus x); softplus x = max(x, 0) + log1p(exp(-|x|)) never overflows
    x = op.input
    softplus = tg.add(tg.relu(x), tg.log1p(tg.exp(tg.neg(tg.abs(x)))))
    return tg.mul(x, tg.tanh(softplus))


@DECOMPOSE.register(N.HardswishOp)
def decompose_hardswish(op):
    # x relu6(x + 3) / 6
    x = op.input
    return tg.mul(x, tg.div(nn.clamp(tg.add(x, 3.0), 0.0, 6.0), 6.0))


@DECOMPOSE.register(N.ClampOp)
def decompose_clamp(op):
    # max then min: NaN propagates, and min > max yields max everywhere, as torch.clamp
    out = op.input
    lo, hi = tg_attr(op, "min"), tg_attr(op, "max")
    if lo:
        out = tg.maximum(out, lo[0])
    if hi:
        out = tg.minimum(out, hi[0])
    return out


@DECOMPOSE.register(N.HardtanhOp)
def decompose_hardtanh(op):
    return nn.clamp(op.input, op.min_val.value, op.max_val.value)


@DECOMPOSE.register(N.DropoutOp)
def decompose_dropout(op):
    x, p = op.input, op.p.value
    if not tg_attr(op, "train") or p == 0.0:
        return x
    if p == 1.0:  # ATen multiplies by zero (NaN stays NaN)
        return tg.mul(x, 0.0)
    mask = list(op.mask)[0]
    # x * (mask / (1 - p)): the kept values are rescaled so the expectation is unchanged
    return tg.mul(x, tg.mul(tg.convert(mask, element_type(x)), 1.0 / (1.0 - p)))


@DECOMPOSE.register(N.AddcmulOp)
def decompose_addcmul(op):
    prod = tg.mul(op.tensor1, op.tensor2)
    value = op.value.value
    return tg.add(op.input, prod if value == 1.0 else tg.mul(prod, value))


@DECOMPOSE.register(N.AddcdivOp)
def decompose_addcdiv(op):
    quot = tg.div(op.tensor1, op.tensor2)
    value = op.value.value
    return tg.add(op.input, quot if value == 1.0 else tg.mul(quot, value))


# --- statistics ---------------------------------------------------------------------


@DECOMPOSE.register(N.LogsumexpOp)
def decompose_logsumexp(op):
    # m + log(sum(exp(x - m))), m the max with infinities replaced by 0 so that all -inf
    # gives -inf and any +inf gives +inf instead of NaN from inf - inf
    x, dims, keepdim = op.input, _dims(op), tg_attr(op, "keepdim")
    m = tg.reduce_max(x, dims, True)
    m = tg.where(tg.isinf(m), tg.scalar(0.0, x), m)
    total = tg.log(tg.reduce_sum(tg.exp(tg.sub(x, m)), dims, True))
    out = tg.add(total, m)
    return out if keepdim else drop_unit_dims(out, dims)


def _variance(op):
    """(var with the op's keepdim, mean in keepdim form) over the op's dims."""
    x, dims, keepdim = op.input, _dims(op), tg_attr(op, "keepdim")
    mean = tg.reduce_mean(x, dims, True)
    centered = tg.sub(x, mean)
    total = tg.reduce_sum(tg.mul(centered, centered), dims, keepdim)
    # divide by max(N - correction, 0), as ATen: N <= correction gives inf or NaN
    denom = tg.maximum(tg.sub(tg.numel(x, dims), op.correction.value), 0.0)
    return tg.div(total, denom), mean


@DECOMPOSE.register(N.VarOp)
def decompose_var(op):
    return _variance(op)[0]


@DECOMPOSE.register(N.StdOp)
def decompose_std(op):
    return tg.sqrt(_variance(op)[0])


@DECOMPOSE.register(N.VarMeanOp)
def decompose_var_mean(op):
    var, mean = _variance(op)
    return [var, mean if tg_attr(op, "keepdim") else drop_unit_dims(mean, _dims(op))]


@DECOMPOSE.register(N.NormOp)
def decompose_norm(op):
    x, dims, keepdim, p = op.input, _dims(op), tg_attr(op, "keepdim"), op.p.value
    if p == 2.0:
        return tg.sqrt(tg.reduce_sum(tg.mul(x, x), dims, keepdim))
    a = tg.abs(x)
    if p == 1.0:
        return tg.reduce_sum(a, dims, keepdim)
    if p == math.inf:
        return tg.reduce_max(a, dims, keepdim)
    if p == -math.inf:
        return tg.reduce_min(a, dims, keepdim)
    if p == 0.0:  # number of non-zeros
        return tg.reduce_sum(tg.convert(tg.ne(x, 0.0), element_type(x)), dims, keepdim)
    return tg.pow(tg.reduce_sum(tg.pow(a, p), dims, keepdim), 1.0 / p)


# --- normalizations -----------------------------------------------------------------


@DECOMPOSE.register(N.GroupNormOp)
def decompose_group_norm(op):
    # statistics per (sample, group) over the group's channels and all spatial positions
    x = op.input
    shape = shape_of(x)
    n, c, spatial = shape[0], shape[1], shape[2:]
    g = op.num_groups.value
    if [n, *spatial].count(DYN) > 1:
        raise ValueError(f"expects at most one dynamic dim among batch and spatial, got {x.type}")
    grouped = tg.reshape(x, (n, g, c // g, *spatial))
    dims = list(range(2, len(shape) + 1))
    mean = tg.reduce_mean(grouped, dims, True)
    centered = tg.sub(grouped, mean)
    var = tg.reduce_mean(tg.mul(centered, centered), dims, True)  # biased, as ATen
    out = tg.reshape(tg.mul(centered, tg.rsqrt(tg.add(var, op.eps.value))), shape)
    params = list(op.params)
    if params:
        out = tg.mul(out, channel_view(params[0], len(shape)))
    if len(params) > 1:
        out = tg.add(out, channel_view(params[1], len(shape)))
    return out


@DECOMPOSE.register(N.BatchNormOp)
def decompose_batch_norm(op):
    x, rm, rv = op.input, op.running_mean, op.running_var
    rank = len(shape_of(x))
    eps, params = op.eps.value, list(op.params)
    training = tg_attr(op, "training")
    if training:
        dims = [0, *range(2, rank)]
        mean = tg.reduce_mean(x, dims, True)
        centered = tg.sub(x, mean)
        var = tg.reduce_mean(tg.mul(centered, centered), dims, True)  # biased for the output
    else:
        mean, var = channel_view(rm, rank), channel_view(rv, rank)
        centered = tg.sub(x, mean)
    out = tg.mul(centered, tg.rsqrt(tg.add(var, eps)))
    if params:
        out = tg.add(tg.mul(out, channel_view(params[0], rank)), channel_view(params[1], rank))
    if not training:
        return out
    # running = (1 - momentum) running + momentum batch, the variance unbiased: var n/(n-1)
    m = op.momentum.value
    count = tg.numel(x, dims)
    unbiased = tg.mul(var, tg.div(count, tg.sub(count, 1.0)))
    c = shape_of(rm)
    new_mean = tg.add(tg.mul(rm, 1.0 - m), tg.mul(tg.reshape(mean, c), m))
    new_var = tg.add(tg.mul(rv, 1.0 - m), tg.mul(tg.reshape(unbiased, c), m))
    return [out, new_mean, new_var]
