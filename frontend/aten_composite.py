"""ATen -> tg rules for the remaining composites: the native_* normalization forms,
instance/rms norm, distances, margin losses, nearest upsampling, broadcast_tensors and
meshgrid, the *_copy view variants, median and friends.
"""

from __future__ import annotations

import math

import torch

from ..dialects import builders as tg
from ..dialects import builders_nn as nn
from ..dialects.types import DYN, shape_of
from .aten import IMPORT, as_dtype, dims_arg, unsupported
from .aten_index import sort
from .aten_nn import REDUCTION, _reduce
from .fx_importer import static_dims

aten = torch.ops.aten


# --- normalization forms ------------------------------------------------------------


@IMPORT.register(aten.native_layer_norm.default)
def import_native_layer_norm(ctx, x, normalized_shape, weight, bias, eps):
    if weight is None and bias is not None:
        weight = tg.broadcast_to(tg.scalar(1.0, x), list(normalized_shape))
    return [nn.layer_norm(x, normalized_shape, weight, bias, eps), None, None]


@IMPORT.register(aten.native_group_norm.default)
def import_native_group_norm(ctx, x, weight, bias, n, c, hw, group, eps):
    if weight is None and bias is not None:
        weight = tg.broadcast_to(tg.scalar(1.0, x), [shape_of(x)[1]])
    return [nn.group_norm(x, group, weight, bias, eps), None, None]


@IMPORT.register(aten.instance_norm.default)
def import_instance_norm(
    ctx,
    x,
    weight,
    bias,
    running_mean,
    running_var,
    use_input_stats,
    momentum,
    eps,
    cudnn_enabled=True,
):
    if not use_input_stats or running_mean is not None:
        unsupported("instance_norm with running stats")
    c = shape_of(x)[1]
    if weight is None and bias is not None:
        weight = tg.broadcast_to(tg.scalar(1.0, x), [c])
    return nn.group_norm(x, c, weight, bias, eps)


@IMPORT.register(aten.rms_norm.default)
def import_rms_norm(ctx, x, normalized_shape, weight=None, eps=None):
    x = as_dtype(x, ctx.out_dtype())
    rank = len(shape_of(x))
    dims = list(range(rank - len(normalized_shape), rank))
    eps = torch.finfo(ctx.out_dtype()).eps if eps is None else eps
    out = tg.mul(x, tg.rsqrt(tg.add(tg.reduce_mean(tg.mul(x, x), dims, True), eps)))
    return tg.mul(out, weight) if weight is not None else out


@IMPORT.register(aten._safe_softmax.default)
def import_safe_softmax(ctx, x, dim, dtype=None):
    x = as_dtype(x, ctx.out_dtype())
    d = dim % max(len(shape_of(x)), 1)
    empty = tg.eq(tg.reduce_max(x, [d], True), -math.inf)
    # rows of -inf give 0, with a zero (not NaN) gradient: softmax of a sanitized input
    probs = tg.softmax(tg.where(empty, tg.scalar(0.0, x), x), d)
    return tg.where(empty, tg.scalar(0.0, x), probs)


# --- distances and margin losses ----------------------------------------------------


@IMPORT.register(aten.pairwise_distance.default)
def import_pairwise_distance(ctx, a, b, p=2.0, eps=1e-6, keepdim=False):
    diff = tg.add(tg.sub(a, b), eps)
    rank = len(shape_of(diff))
    if not rank:
        return tg.abs(diff)
    return nn.norm(diff, float(p), [rank - 1], keepdim)


@IMPORT.register(aten.cosine_similarity.default)
def import_cosine_similarity(ctx, a, b, dim=1, eps=1e-8):
    shape = static_dims(
        torch.broadcast_shapes(ctx.meta(ctx.node.args[0]).shape, ctx.meta(ctx.node.args[1]).shape)
    )
    a, b = tg.broadcast_to(a, shape), tg.broadcast_to(b, shape)
    d = dim % len(shape)
    na = tg.maximum(nn.norm(a, 2.0, [d], True), eps)
    nb = tg.maximum(nn.norm(b, 2.0, [d], True), eps)
    return tg.reduce_sum(tg.mul(tg.div(a, na), tg.div(b, nb)), [d], False)


@IMPORT.register(aten.dist.default)
def import_dist(ctx, a, b, p=2):
    diff = tg.sub(a, b)
    if not shape_of(diff):
        return tg.abs(diff) if p != 0 else tg.convert(tg.ne(diff, 0.0), diff.type.element_type)
    return nn.norm(diff, float(p), [], False)


@IMPORT.register(aten.soft_margin_loss.default)
def import_soft_margin_loss(ctx, x, y, reduction=1):
    z = tg.neg(tg.mul(x, y))  # log(1 + exp(z)) = softplus(z), stable form
    loss = tg.add(tg.relu(z), tg.log1p(tg.exp(tg.neg(tg.abs(z)))))
    return _reduce(loss, REDUCTION[reduction])


@IMPORT.register(aten.margin_ranking_loss.default)
def import_margin_ranking_loss(ctx, a, b, y, margin=0.0, reduction=1):
    loss = tg.relu(tg.add(tg.mul(tg.neg(y), tg.sub(a, b)), float(margin)))
    return _reduce(loss, REDUCTION[reduction])


@IMPORT.register(aten.hinge_embedding_loss.default)
def import_hinge_embedding_loss(ctx, x, y, margin=1.0, reduction=1):
    neg = tg.relu(tg.sub(float(margin), x))
    loss = tg.add(
        tg.where(tg.eq(y, 1.0), x, tg.scalar(0.0, x)),
        tg.where(tg.eq(y, -1.0), neg, tg.scalar(0.0, x)),
    )
    return _reduce(loss, REDUCTION[reduction])


@IMPORT.register(aten.kl_div.default)
def import_kl_div(ctx, x, target, reduction=1, log_target=False):
    if log_target:
        loss = tg.mul(tg.exp(target), tg.sub(target, x))
    else:
        xlogy = tg.where(tg.eq(target, 0.0), tg.scalar(0.0, target), tg.mul(target, tg.log(target)))
        loss = tg.sub(xlogy, tg.mul(target, x))
    return _reduce(loss, REDUCTION[reduction])


@IMPORT.register(aten.poisson_nll_loss.default)
def import_poisson_nll_loss(ctx, x, target, log_input, full, eps, reduction):
    if full:
        unsupported("poisson_nll_loss with full=True")
    if log_input:
        loss = tg.sub(tg.exp(x), tg.mul(target, x))
    else:
        loss = tg.sub(x, tg.mul(target, tg.log(tg.add(x, float(eps)))))
    return _reduce(loss, REDUCTION[reduction])


# --- upsampling ---------------------------------------------------------------------


def _nearest(ctx, x, n):
    out = static_dims(ctx.meta().shape)[-n:]
    if DYN in out:
        unsupported("nearest upsampling to a dynamic size")
    return out


@IMPORT.register(aten.upsample_nearest2d.vec, aten.upsample_nearest1d.vec)
def import_upsample_nearest_vec(ctx, x, output_size, scale_factors):
    n = 2 if ctx.node.target is aten.upsample_nearest2d.vec else 1
    scales = list(scale_factors) if scale_factors else None
    return _upsample(ctx, x, _nearest(ctx, x, n), scales, n)


@IMPORT.register(aten.upsample_nearest2d.default)
def import_upsample_nearest2d(ctx, x, output_size, scales_h=None, scales_w=None):
    scales = [scales_h, scales_w] if scales_h is not None and scales_w is not None else None
    return _upsample(ctx, x, _nearest(ctx, x, 2), scales, 2)


def _upsample(ctx, x, out, scales, n):
    if n == 1:
        s = shape_of(x)
        y = nn.upsample_nearest2d(
            tg.reshape(x, (*s[:2], 1, s[2])), [1, out[0]], [1.0, scales[0]] if scales else None
        )
        return tg.reshape(y, (*s[:2], out[0]))
    return nn.upsample_nearest2d(x, out, scales)


# --- broadcasting and views ---------------------------------------------------------


@IMPORT.register(aten.broadcast_tensors.default)
def import_broadcast_tensors(ctx, xs):
    return [tg.broadcast_to(x, static_dims(m.shape)) for x, m in zip(xs, ctx.meta())]


@IMPORT.register(aten.meshgrid.default, aten.meshgrid.indexing)
def import_meshgrid(ctx, xs, indexing="ij"):
    result = []
    for i, (x, m) in enumerate(zip(xs, ctx.meta())):
        shape = static_dims(m.shape)
        view = [1] * len(shape)
        axis = 1 - i if indexing == "xy" and len(shape) >= 2 and i < 2 else i
        view[axis] = shape_of(x)[0] if shape_of(x) else 1
        result.append(tg.broadcast_to(tg.reshape(x, view), shape))
    return result


@IMPORT.register(aten.sum_to_size.default)
def import_sum_to_size(ctx, x, size):
    size = list(size)
    lead = len(shape_of(x)) - len(size)
    out = tg.reduce_sum(x, list(range(lead)), False) if lead else x
    unit = [i for i, s in enumerate(size) if s == 1 and shape_of(out)[i] != 1]
    return tg.reduce_sum(out, unit, True) if unit else out


def _same_as(target):
    """The *_copy variant of a view op imports like the view (values are what matter)."""
    rule = IMPORT[target]
    return lambda ctx, *a, **k: rule(ctx, *a, **k)


for _copy, _view in (
    (aten.view_copy.default, aten.view.default),
    (aten.permute_copy.default, aten.permute.default),
    (aten.expand_copy.default, aten.expand.default),
    (aten.alias_copy.default, aten.alias.default),
    (aten.diagonal_copy.default, aten.diagonal.default),
    (aten.narrow_copy.default, aten.narrow.default),
    (aten.split_with_sizes_copy.default, aten.split_with_sizes.default),
    (aten.unsafe_split.Tensor, aten.split.Tensor),
    (aten.t_copy.default, aten.t.default),
    (aten.transpose_copy.int, aten.transpose.int),
    (aten.unsqueeze_copy.default, aten.unsqueeze.default),
    (aten.squeeze_copy.dim, aten.squeeze.dim),
    (aten.select_copy.int, aten.select.int),
    (aten.slice_copy.Tensor, aten.slice.Tensor),
    (aten.unbind_copy.int, aten.unbind.int),
):
    if _view in IMPORT and _copy not in IMPORT:
        IMPORT[_copy] = _same_as(_view)


@IMPORT.register(aten.fliplr.default, aten.flipud.default)
def import_fliplr(ctx, x):
    return IMPORT[aten.flip.default](ctx, x, [1 if ctx.node.target is aten.fliplr.default else 0])


@IMPORT.register(aten.rot90.default)
def import_rot90(ctx, x, k=1, dims=(0, 1)):
    a, b = dims
    flip = IMPORT[aten.flip.default]
    k %= 4
    if k == 1:
        return tg.transpose(flip(ctx, x, [b]), a, b)
    if k == 2:
        return flip(ctx, x, [a, b])
    if k == 3:
        return flip(ctx, tg.transpose(x, a, b), [b])
    return x


@IMPORT.register(aten.diff.default)
def import_diff(ctx, x, n=1, dim=-1, prepend=None, append=None):
    d = dim % len(shape_of(x))
    x = tg.cat([v for v in (prepend, x, append) if v is not None], d)
    for _ in range(n):
        size = shape_of(x)[d]
        if size == DYN:
            unsupported("diff along a dynamic dim")
        x = tg.sub(tg.slice(x, d, 1, size), tg.slice(x, d, 0, size - 1))
    return x


# --- order statistics ---------------------------------------------------------------


@IMPORT.register(aten.aminmax.default)
def import_aminmax(ctx, x, *, dim=None, keepdim=False):
    dims = dims_arg(dim)
    return [tg.reduce_min(x, dims, keepdim), tg.reduce_max(x, dims, keepdim)]


def _kth(x, d, k, keepdim):
    values, indices = sort(x, d, False)
    v, i = tg.slice(values, d, k, k + 1), tg.slice(indices, d, k, k + 1)
    if keepdim:
        return [v, i]
    shape = [s for j, s in enumerate(shape_of(v)) if j != d]
    return [tg.reshape(v, shape), tg.reshape(i, shape)]


@IMPORT.register(aten.median.default)
def import_median(ctx, x):
    shape = shape_of(x)
    if DYN in shape:
        unsupported("median of a dynamic tensor")
    flat = tg.reshape(x, (math.prod(shape),))
    return tg.reshape(_kth(flat, 0, (math.prod(shape) - 1) // 2, False)[0], ())


@IMPORT.register(aten.median.dim)
def import_median_dim(ctx, x, dim, keepdim=False):
    if not shape_of(x):
        return [x, tg.scalar(0, tg.convert(x, _i64()))]
    d = dim % len(shape_of(x))
    return _kth(x, d, (shape_of(x)[d] - 1) // 2, keepdim)


@IMPORT.register(aten.kthvalue.default)
def import_kthvalue(ctx, x, k, dim=-1, keepdim=False):
    if not shape_of(x):
        return [x, tg.scalar(0, _i64())]
    return _kth(x, dim % len(shape_of(x)), k - 1, keepdim)


def _i64():
    from torch_mlir import ir

    return ir.IntegerType.get_signless(64)


@IMPORT.register(aten.var_mean.default, aten.std_mean.default)
def import_var_mean_all(ctx, x, unbiased=True):
    var, mean = nn.var_mean(x, [], 1.0 if unbiased else 0.0, False)
    return [tg.sqrt(var) if ctx.node.target is aten.std_mean.default else var, mean]


@IMPORT.register(aten.conv3d.default, aten.conv3d.padding)
def import_conv3d(ctx, *args):
    unsupported("3-d convolution")
