"""ATen -> tg rules for torch.nn.functional: convolution, normalization, embedding,
losses, attention, activations and statistics. Pooling is in aten_pool.py.

Pre-dispatch graphs keep these composites whole (aten.conv2d, aten.cross_entropy_loss,
aten.scaled_dot_product_attention...), so each maps onto one tg composite op that
tg-decompose later expands per target.
"""

from __future__ import annotations

import torch

from ..dialects import builders as tg
from ..dialects import builders_index as ix
from ..dialects import builders_nn as nn
from ..dialects.types import DYN, element_type, is_float, shape_of
from .aten import IMPORT, as_dtype, dims_arg, unsupported

aten = torch.ops.aten
REDUCTION = {0: "none", 1: "mean", 2: "sum"}  # ATen's at::Reduction enum


def _pair(v, n: int = 2) -> list[int]:
    v = [v] if isinstance(v, int) else list(v)
    return v * n if len(v) == 1 else v


def _ones(like, n):
    return tg.broadcast_to(tg.scalar(1.0, like), [n])


def _zeros(like, n):
    return tg.broadcast_to(tg.scalar(0.0, like), [n])


# --- convolution --------------------------------------------------------------------


def _conv_padding(padding, w, dilation, n):
    if padding == "valid":
        return [0] * n
    if padding == "same":
        spans = [dilation[i] * (shape_of(w)[2 + i] - 1) for i in range(n)]
        if any(s % 2 for s in spans):
            unsupported("padding='same' with an odd total padding")
        return [s // 2 for s in spans]
    return _pair(padding, n)


def conv(ctx, x, w, bias, stride, padding, dilation, groups):
    """conv1d/2d of batched or unbatched input through tg.conv2d (1-d as height 1)."""
    rank = len(shape_of(w))
    n = rank - 2
    if n not in (1, 2):
        unsupported(f"{n}-d convolution")
    stride, dilation = _pair(stride, n), _pair(dilation, n)
    padding = _conv_padding(padding, w, dilation, n)
    unbatched = len(shape_of(x)) == rank - 1
    if unbatched:
        x = tg.reshape(x, (1, *shape_of(x)))
    if n == 1:
        xs, ws = shape_of(x), shape_of(w)
        x = tg.reshape(x, (xs[0], xs[1], 1, xs[2]))
        w = tg.reshape(w, (ws[0], ws[1], 1, ws[2]))
        stride, padding, dilation = [1, *stride], [0, *padding], [1, *dilation]
    out = nn.conv2d(x, w, bias, stride, padding, dilation, groups)
    return tg.reshape(out, [DYN if s == DYN else s for s in _out_shape(ctx)])


def _out_shape(ctx):
    from .fx_importer import static_dims

    return static_dims(ctx.meta().shape)


@IMPORT.register(aten.conv2d.default, aten.conv1d.default, aten.conv2d.padding, aten.conv1d.padding)
def import_conv(ctx, x, w, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return conv(ctx, x, w, bias, stride, padding, dilation, groups)


@IMPORT.register(aten.convolution.default)
def import_convolution(
    ctx, x, w, bias, stride, padding, dilation, transposed, output_padding, groups
):
    if transposed:
        unsupported("transposed convolution")
    return conv(ctx, x, w, bias, stride, padding, dilation, groups)


# --- normalization ------------------------------------------------------------------


def _bn_params(x, weight, bias):
    c = shape_of(x)[1]
    if weight is None and bias is None:
        return None, None
    return (
        weight if weight is not None else _ones(x, c),
        bias if bias is not None else _zeros(x, c),
    )


@IMPORT.register(aten._native_batch_norm_legit_functional.default)
def import_bn_functional(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
    w, b = _bn_params(x, weight, bias)
    if not training:
        out = nn.batch_norm(x, running_mean, running_var, w, b, False, momentum, eps)
        return [out, None, None, running_mean, running_var]
    out, mean, var = nn.batch_norm(x, running_mean, running_var, w, b, True, momentum, eps)
    return [out, None, None, mean, var]


@IMPORT.register(aten._native_batch_norm_legit_no_training.default)
def import_bn_no_training(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
    w, b = _bn_params(x, weight, bias)
    return [nn.batch_norm(x, running_mean, running_var, w, b, False, momentum, eps), None, None]


@IMPORT.register(aten._native_batch_norm_legit.no_stats)
def import_bn_no_stats(ctx, x, weight, bias, training, momentum, eps):
    if not training:
        unsupported("batch norm without running stats in eval mode")
    w, b = _bn_params(x, weight, bias)
    c = shape_of(x)[1]
    out = nn.batch_norm(x, _zeros(x, c), _ones(x, c), w, b, True, momentum, eps)[0]
    return [out, None, None]


@IMPORT.register(aten.batch_norm.default)
def import_batch_norm(
    ctx, x, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True
):
    if training:
        unsupported("aten.batch_norm in training mode (expected the functional form)")
    w, b = _bn_params(x, weight, bias)
    return nn.batch_norm(x, running_mean, running_var, w, b, False, momentum, eps)


@IMPORT.register(aten.group_norm.default)
def import_group_norm(ctx, x, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    if weight is None and bias is not None:
        weight = _ones(x, shape_of(x)[1])
    return nn.group_norm(as_dtype(x, ctx.out_dtype()), num_groups, weight, bias, eps)


# --- embedding ----------------------------------------------------------------------


@IMPORT.register(aten.embedding.default)
def import_embedding(ctx, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    if scale_grad_by_freq:
        unsupported("embedding with scale_grad_by_freq")
    out = nn.embedding(weight, indices)
    if padding_idx is None or padding_idx < 0:
        return out
    # the padding row gets no gradient: read it through stop_gradient where it is used
    frozen = nn.embedding(ix.stop_gradient(weight), indices)
    pad = tg.eq(indices, tg.scalar(padding_idx, indices))
    pad = tg.reshape(pad, (*shape_of(pad), 1))
    return tg.where(pad, frozen, out)


# --- losses -------------------------------------------------------------------------


def _reduction(r) -> str:
    if r not in REDUCTION:
        unsupported(f"loss reduction {r}")
    return REDUCTION[r]


@IMPORT.register(aten.mse_loss.default)
def import_mse_loss(ctx, x, target, reduction=1):
    dtype = ctx.out_dtype()
    return nn.mse_loss(as_dtype(x, dtype), as_dtype(target, dtype), _reduction(reduction))


@IMPORT.register(aten.l1_loss.default)
def import_l1_loss(ctx, x, target, reduction=1):
    loss = tg.abs(tg.sub(x, target))
    return _reduce(loss, _reduction(reduction))


@IMPORT.register(aten.smooth_l1_loss.default)
def import_smooth_l1_loss(ctx, x, target, reduction=1, beta=1.0):
    d = tg.abs(tg.sub(x, target))
    if beta == 0:
        loss = d
    else:
        loss = tg.where(
            tg.lt(d, beta), tg.div(tg.mul(tg.mul(d, d), 0.5), beta), tg.sub(d, 0.5 * beta)
        )
    return _reduce(loss, _reduction(reduction))


@IMPORT.register(aten.huber_loss.default)
def import_huber_loss(ctx, x, target, reduction=1, delta=1.0):
    d = tg.abs(tg.sub(x, target))
    loss = tg.where(
        tg.lt(d, delta), tg.mul(tg.mul(d, d), 0.5), tg.mul(tg.sub(d, 0.5 * delta), delta)
    )
    return _reduce(loss, _reduction(reduction))


@IMPORT.register(aten.binary_cross_entropy_with_logits.default)
def import_bce_logits(ctx, x, target, weight=None, pos_weight=None, reduction=1):
    # (1 - t) x + (1 + (pw - 1) t) softplus(-x), softplus(-x) = log1p(exp(-|x|)) + max(-x, 0)
    softplus = tg.add(tg.log1p(tg.exp(tg.neg(tg.abs(x)))), tg.relu(tg.neg(x)))
    coef = (
        tg.scalar(1.0, x)
        if pos_weight is None
        else tg.add(tg.mul(tg.sub(pos_weight, 1.0), target), 1.0)
    )
    loss = tg.add(tg.mul(tg.sub(1.0, target), x), tg.mul(coef, softplus))
    if weight is not None:
        loss = tg.mul(loss, weight)
    return _reduce(loss, _reduction(reduction))


@IMPORT.register(aten.binary_cross_entropy.default)
def import_bce(ctx, x, target, weight=None, reduction=1):
    # log clamped at -100, as ATen
    logx = tg.maximum(tg.log(x), -100.0)
    log1mx = tg.maximum(tg.log(tg.sub(1.0, x)), -100.0)
    loss = tg.neg(tg.add(tg.mul(target, logx), tg.mul(tg.sub(1.0, target), log1mx)))
    if weight is not None:
        loss = tg.mul(loss, weight)
    return _reduce(loss, _reduction(reduction))


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return (tg.reduce_mean if reduction == "mean" else tg.reduce_sum)(loss, [], False)


@IMPORT.register(aten.nll_loss.default, aten.nll_loss_nd.default, aten.nll_loss2d.default)
def import_nll_loss(ctx, x, target, weight=None, reduction=1, ignore_index=-100):
    return nn.nll_loss(x, target, weight, _reduction(reduction), ignore_index)


@IMPORT.register(aten.cross_entropy_loss.default)
def import_cross_entropy(
    ctx, x, target, weight=None, reduction=1, ignore_index=-100, label_smoothing=0.0
):
    reduction = _reduction(reduction)
    if is_float(element_type(target)):  # class probabilities
        cdim = 0 if len(shape_of(x)) == 1 else 1
        logp = tg.log_softmax(x, cdim)
        if label_smoothing:
            target = tg.add(
                tg.mul(target, 1.0 - label_smoothing),
                tg.div(tg.scalar(label_smoothing, x), tg.numel(x, [cdim])),
            )
        if weight is not None:
            logp = tg.mul(logp, nn_channel(weight, len(shape_of(x)), cdim))
        loss = tg.neg(tg.reduce_sum(tg.mul(logp, target), [cdim], False))
        if reduction == "mean":  # divides by the batch size, not by the weights
            n = tg.numel(x, [0]) if cdim == 1 else tg.scalar(1.0, x)
            return tg.div(tg.reduce_sum(loss, [], False), n)
        return _reduce(loss, reduction)
    return nn.cross_entropy(x, target, weight, reduction, ignore_index, label_smoothing)


def nn_channel(w, rank, cdim):
    return w if rank == 1 else tg.reshape(w, (shape_of(w)[0], *([1] * (rank - 2))))


# --- attention ----------------------------------------------------------------------


@IMPORT.register(aten.scaled_dot_product_attention.default)
def import_sdpa(
    ctx, q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    if dropout_p:
        unsupported("scaled_dot_product_attention with dropout_p > 0")
    if enable_gqa and shape_of(q)[-3] != shape_of(k)[-3]:
        unsupported("grouped-query attention")
    if attn_mask is not None and is_float(element_type(attn_mask)):
        attn_mask = as_dtype(attn_mask, ctx.out_dtype())
    if is_causal and attn_mask is not None:
        unsupported("attn_mask together with is_causal")
    lead = shape_of(q)[:-2]
    if (
        attn_mask is None
        and len(lead) > 1
        and DYN not in lead
        and shape_of(k)[:-2] == lead
        and shape_of(v)[:-2] == lead
        and DYN in shape_of(q)[-2:] + shape_of(k)[-2:]
    ):
        # fold the batch dims: with dynamic sequence lengths the 4-d score tensor would have
        # two dynamic dims, which tg.reshape (in the matmul decomposition) cannot produce
        b = 1
        for n in lead:
            b *= n
        q3, k3, v3 = (tg.reshape(t, (b, *shape_of(t)[-2:])) for t in (q, k, v))
        out = nn.scaled_dot_product_attention(q3, k3, v3, None, is_causal, scale)
        return tg.reshape(out, (*lead, *shape_of(out)[-2:]))
    return nn.scaled_dot_product_attention(q, k, v, attn_mask, is_causal, scale)


# --- activations and pointwise composites -------------------------------------------


def _float_unary(fn):
    return lambda ctx, x, *a, **k: fn(as_dtype(x, ctx.out_dtype()), *a, **k)


IMPORT.register(aten.silu.default)(_float_unary(nn.silu))
IMPORT.register(aten.mish.default)(_float_unary(nn.mish))
IMPORT.register(aten.hardswish.default)(_float_unary(nn.hardswish))


@IMPORT.register(aten.hardsigmoid.default)
def import_hardsigmoid(ctx, x):
    return tg.div(nn.clamp(tg.add(x, 3.0), 0.0, 6.0), 6.0)


@IMPORT.register(aten.relu6.default)
def import_relu6(ctx, x):
    return nn.clamp(x, 0.0, 6.0)


@IMPORT.register(aten.leaky_relu.default)
def import_leaky_relu(ctx, x, slope=0.01):
    return tg.where(tg.gt(x, 0.0), x, tg.mul(x, slope))


@IMPORT.register(aten.elu.default)
def import_elu(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
    neg = tg.mul(tg.expm1(tg.mul(x, float(input_scale))), float(alpha))
    return tg.mul(tg.where(tg.gt(x, 0.0), x, neg), float(scale))


@IMPORT.register(aten.celu.default)
def import_celu(ctx, x, alpha=1.0):
    return import_elu(ctx, x, alpha, 1.0, 1.0 / alpha)


@IMPORT.register(aten.selu.default)
def import_selu(ctx, x):
    return import_elu(ctx, x, 1.6732632423543772, 1.0507009873554805, 1.0)


@IMPORT.register(aten.softplus.default)
def import_softplus(ctx, x, beta=1.0, threshold=20.0):
    bx = tg.mul(x, float(beta))
    soft = tg.div(tg.log1p(tg.exp(bx)), float(beta))
    return tg.where(tg.gt(bx, float(threshold)), x, soft)


@IMPORT.register(aten.log_sigmoid.default, aten.log_sigmoid_forward.default)
def import_log_sigmoid(ctx, x):
    # -softplus(-x) = min(x, 0) - log1p(exp(-|x|))
    out = tg.sub(tg.minimum(x, 0.0), tg.log1p(tg.exp(tg.neg(tg.abs(x)))))
    return out if ctx.node.target is aten.log_sigmoid.default else [out, None]


@IMPORT.register(aten.softshrink.default, aten.hardshrink.default)
def import_shrink(ctx, x, lambd=0.5):
    keep = tg.gt(tg.abs(x), float(lambd))
    if ctx.node.target is aten.hardshrink.default:
        return tg.where(keep, x, 0.0)
    shrunk = tg.sub(x, tg.mul(tg.sign(x), float(lambd)))
    return tg.where(keep, shrunk, 0.0)


@IMPORT.register(aten.glu.default)
def import_glu(ctx, x, dim=-1):
    d = dim % len(shape_of(x))
    half = shape_of(x)[d] // 2
    return tg.mul(tg.slice(x, d, 0, half), tg.sigmoid(tg.slice(x, d, half, 2 * half)))


@IMPORT.register(aten.prelu.default, aten._prelu_kernel.default)
def import_prelu(ctx, x, w):
    rank = len(shape_of(x))
    if rank >= 2 and shape_of(w) and shape_of(w)[0] != 1:
        w = tg.reshape(w, (shape_of(w)[0], *([1] * (rank - 2))))
    return tg.where(tg.gt(x, 0.0), x, tg.mul(x, w))


@IMPORT.register(aten.dropout.default, aten.feature_dropout.default, aten.alpha_dropout.default)
def import_dropout(ctx, x, p, train):
    if not train or p == 0:
        return x
    if p == 1:
        return tg.mul(x, 0.0)
    unsupported("dropout with 0 < p < 1 in training mode (random masks run eagerly)")


@IMPORT.register(aten.addcmul.default, aten.addcdiv.default)
def import_addc(ctx, x, t1, t2, value=1):
    dtype = ctx.out_dtype()
    x, t1, t2 = (as_dtype(v, dtype) for v in (x, t1, t2))
    if not is_float(element_type(x)):
        op = tg.mul if ctx.node.target is aten.addcmul.default else tg.div
        return tg.add(x, tg.mul(op(t1, t2), as_dtype(value, dtype)))
    build = nn.addcmul if ctx.node.target is aten.addcmul.default else nn.addcdiv
    return build(x, t1, t2, value)


# --- statistics ---------------------------------------------------------------------


def _correction(unbiased=None, correction=None) -> float:
    if correction is not None:
        return float(correction)
    return 0.0 if unbiased is False else 1.0


def _stat(ctx, x, dim, correction, keepdim):
    x = as_dtype(x, ctx.out_dtype() if ctx.out_dtype().is_floating_point else torch.float32)
    return x, dims_arg(dim), correction, bool(keepdim)


@IMPORT.register(aten.var.dim, aten.var.correction, aten.var.default)
def import_var(ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):  # var.default(x, unbiased)
        dim, unbiased = None, dim
    return nn.var(*_stat(ctx, x, dim, _correction(unbiased, correction), keepdim))


@IMPORT.register(aten.std.dim, aten.std.correction, aten.std.default)
def import_std(ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return nn.std(*_stat(ctx, x, dim, _correction(unbiased, correction), keepdim))


@IMPORT.register(
    aten.var_mean.dim, aten.var_mean.correction, aten.std_mean.dim, aten.std_mean.correction
)
def import_var_mean(ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    var, mean = nn.var_mean(*_stat(ctx, x, dim, _correction(unbiased, correction), keepdim))
    if ctx.node.target in (aten.std_mean.dim, aten.std_mean.correction):
        var = tg.sqrt(var)
    return [var, mean]


@IMPORT.register(aten.linalg_vector_norm.default)
def import_vector_norm(ctx, x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    x = as_dtype(x, ctx.out_dtype())
    if not shape_of(x):
        x = tg.reshape(x, (1,))
        return tg.reshape(nn.norm(x, float(ord), [0], False), ())
    return nn.norm(x, float(ord), dims_arg(dim), keepdim)


@IMPORT.register(aten.norm.Scalar, aten.norm.ScalarOpt_dim)
def import_norm(ctx, x, p=2, dim=None, keepdim=False):
    return import_vector_norm(ctx, x, 2 if p is None else p, dim, keepdim)


@IMPORT.register(aten.logsumexp.default)
def import_logsumexp(ctx, x, dim, keepdim=False):
    x = as_dtype(x, ctx.out_dtype())
    if not shape_of(x):
        return x
    return nn.logsumexp(x, dims_arg(dim) or list(range(len(shape_of(x)))), keepdim)


__all__ = ["conv", "REDUCTION"]
