"""Lowercase builders for the ops of dialects/ops_nn.py, in the style of builders.py:
result types are inferred, optional tensors are `None`, Python numbers become attributes.
"""

from __future__ import annotations

from typing import Sequence

from torch_mlir import ir

from . import ops_nn as N
from .tg import build


def _opt(*values) -> list[ir.Value]:
    return [v for v in values if v is not None]


def _scalar_list(value) -> list[float]:
    return [] if value is None else [float(value)]


# primitives


def convolution(x, w, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int], groups=1):
    return build(
        N.ConvolutionOp, x, w, stride=list(stride), padding=list(padding),
        dilation=list(dilation), groups=int(groups),
    )


def index_select(x, index, dim: int):
    return build(N.IndexSelectOp, x, index, dim=dim)


def iota(like, dim: int):
    return build(N.IotaOp, like, dim=dim)


# activations and arithmetic


def silu(x):
    return build(N.SiluOp, x)


def mish(x):
    return build(N.MishOp, x)


def hardswish(x):
    return build(N.HardswishOp, x)


def clamp(x, min=None, max=None):  # noqa: A002
    return build(N.ClampOp, x, min=_scalar_list(min), max=_scalar_list(max))


def hardtanh(x, min_val=-1.0, max_val=1.0):
    return build(N.HardtanhOp, x, min_val=float(min_val), max_val=float(max_val))


def dropout(x, p: float, train: bool, mask=None):
    return build(N.DropoutOp, x, _opt(mask), p=float(p), train=bool(train))


def addcmul(x, t1, t2, value=1.0):
    return build(N.AddcmulOp, x, t1, t2, value=float(value))


def addcdiv(x, t1, t2, value=1.0):
    return build(N.AddcdivOp, x, t1, t2, value=float(value))


# reductions


def logsumexp(x, dims: Sequence[int], keepdim=False):
    return build(N.LogsumexpOp, x, dims=list(dims), keepdim=bool(keepdim))


def var(x, dims: Sequence[int] = (), correction=1.0, keepdim=False):
    return build(N.VarOp, x, dims=list(dims), keepdim=bool(keepdim), correction=float(correction))


def std(x, dims: Sequence[int] = (), correction=1.0, keepdim=False):
    return build(N.StdOp, x, dims=list(dims), keepdim=bool(keepdim), correction=float(correction))


def var_mean(x, dims: Sequence[int] = (), correction=1.0, keepdim=False):
    return build(N.VarMeanOp, x, dims=list(dims), keepdim=bool(keepdim), correction=float(correction))


def norm(x, p=2.0, dims: Sequence[int] = (), keepdim=False):
    return build(N.NormOp, x, dims=list(dims), keepdim=bool(keepdim), p=float(p))


# normalizations


def group_norm(x, num_groups: int, weight=None, bias=None, eps=1e-5):
    return build(N.GroupNormOp, x, _opt(weight, bias), num_groups=int(num_groups), eps=float(eps))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Returns the output, or (output, new_running_mean, new_running_var) when training."""
    if (weight is None) != (bias is None):
        raise ValueError("batch_norm: expects both weight and bias or neither")
    return build(
        N.BatchNormOp, x, running_mean, running_var, _opt(weight, bias),
        training=bool(training), momentum=float(momentum), eps=float(eps),
    )


# losses


def mse_loss(x, target, reduction="mean"):
    return build(N.MseLossOp, x, target, reduction=reduction)


def nll_loss(x, target, weight=None, reduction="mean", ignore_index=-100):
    return build(N.NllLossOp, x, target, _opt(weight), reduction=reduction, ignore_index=int(ignore_index))


def cross_entropy(x, target, weight=None, reduction="mean", ignore_index=-100, label_smoothing=0.0):
    return build(
        N.CrossEntropyOp, x, target, _opt(weight), reduction=reduction,
        ignore_index=int(ignore_index), label_smoothing=float(label_smoothing),
    )


# layers


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None):
    return build(
        N.ScaledDotProductAttentionOp, q, k, v, _opt(attn_mask),
        is_causal=bool(is_causal), scale=_scalar_list(scale),
    )


def embedding(weight, indices):
    return build(N.EmbeddingOp, weight, indices)


def conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    return build(
        N.Conv2dOp, x, w, _opt(bias), stride=list(stride), padding=list(padding),
        dilation=list(dilation), groups=int(groups),
    )


def upsample_nearest2d(x, output_size: Sequence[int], scales: Sequence[float] | None = None):
    return build(
        N.UpsampleNearest2dOp, x, output_size=[int(s) for s in output_size],
        scales=[float(s) for s in scales or ()],
    )




# builders for the composites of ops_linalg / ops_reduce that builders.py does not cover


def linear(x, w, bias=None):
    from . import ops_linalg as L

    return build(L.LinearOp, x, w, _opt(bias))


def addmm(x, m1, m2, beta=1.0, alpha=1.0):
    from . import ops_linalg as L

    return build(L.AddmmOp, x, m1, m2, beta=float(beta), alpha=float(alpha))


def layer_norm(x, normalized_shape: Sequence[int], weight=None, bias=None, eps=1e-5):
    from . import ops_reduce as R

    return build(R.LayerNormOp, x, _opt(weight, bias), normalized_shape=list(normalized_shape), eps=float(eps))


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("N", "build", "ir", "Sequence")]
