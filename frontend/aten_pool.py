"""ATen -> tg rules for pooling, built from strided slices of the padded input.

A (kh, kw) window becomes kh*kw strided slices, each of the output's shape. Max pooling
stacks them on a new last dim and takes the first maximum through argmax + gather, so
the gradient goes to exactly the element PyTorch picks (ties included); average pooling
sums them and divides by ATen's divisor, computed per output position at import time.
Spatial sizes must be static; batch and channels may be dynamic.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import builders_index as ix
from ..dialects import ops_reduce as R
from ..dialects.tg import build
from ..dialects.types import DYN, element_type, shape_of
from .aten import IMPORT, unsupported
from .aten_shape import pad_constant
from .fx_importer import static_dims

aten = torch.ops.aten


def _tuple(v, n=2, default=None):
    if v is None or (isinstance(v, (list, tuple)) and not v):
        return default
    v = [v] if isinstance(v, int) else list(v)
    return v * n if len(v) == 1 else v


def _windows(x, kernel, stride, padding, dilation, out_sizes, fill):
    """The kh*kw strided slices (row-major window order) of x padded with `fill`."""
    rank = len(shape_of(x))
    n = len(kernel)
    for i in range(n):
        d = rank - n + i
        size = shape_of(x)[d]
        if size == DYN:
            unsupported("pooling over a dynamic spatial dim")
        need = (out_sizes[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1
        right = max(need - size - padding[i], 0)
        if padding[i] or right:
            x = pad_constant(x, d, padding[i], right, fill)
    slices = []
    for offsets in np.ndindex(*kernel):
        s = x
        for i, k in enumerate(offsets):
            d = rank - n + i
            start = k * dilation[i]
            s = tg.slice(s, d, start, start + (out_sizes[i] - 1) * stride[i] + 1, stride[i])
        slices.append(s)
    return slices


def _args(ctx, x, kernel, stride, padding, dilation, n):
    kernel = _tuple(kernel, n)
    stride = _tuple(stride, n, kernel)
    padding = _tuple(padding, n, [0] * n)
    dilation = _tuple(dilation, n, [1] * n)
    out = ctx.meta()
    out = out[0] if isinstance(out, (list, tuple)) else out
    out_sizes = static_dims(out.shape)[-n:]
    return kernel, stride, padding, dilation, out_sizes


def running_max(slices):
    """The window maximum as ATen's CPU kernel scans it: an element replaces the running
    maximum when it is greater or NaN. One fused elementwise loop; as a `where`, its
    gradient goes to the first maximal element of the window, as ATen's does (a chain of
    tg.maximum would split ties, and ties are common after a relu)."""
    best = slices[0]
    is_float = isinstance(element_type(best), (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))
    for s in slices[1:]:
        take = tg.gt(s, best)
        if is_float:
            take = tg.logical_or(take, tg.isnan(s))
        best = tg.where(take, s, best)
    return best


def max_pool(ctx, x, kernel, stride, padding, dilation, n, with_indices):
    kernel, stride, padding, dilation, out_sizes = _args(
        ctx, x, kernel, stride, padding, dilation, n
    )
    slices = _windows(x, kernel, stride, padding, dilation, out_sizes, -math.inf)
    if not with_indices:
        return running_max(slices)
    rank = len(shape_of(x))
    stacked = tg.cat([tg.reshape(s, (*shape_of(s), 1)) for s in slices], rank)
    best = build(R.ArgmaxOp, stacked, dim=rank, keepdim=True)
    values = tg.reshape(ix.gather(stacked, best, rank), shape_of(slices[0]))
    # flat input position of each window element, per output position: (*out, K)
    spatial = shape_of(x)[-n:]
    grids = np.meshgrid(
        *[np.arange(o) * s - p for o, s, p in zip(out_sizes, stride, padding)], indexing="ij"
    )
    table = []
    for offsets in np.ndindex(*kernel):
        flat = np.zeros(out_sizes, dtype=np.int64)
        for i, k in enumerate(offsets):
            flat = flat * spatial[i] + grids[i] + k * dilation[i]
        table.append(flat)
    table = tg.constant(np.stack(table, -1), ir.IntegerType.get_signless(64))
    k = tg.constant(np.arange(len(slices)), ir.IntegerType.get_signless(64))
    picked = tg.where(tg.eq(best, k), table, tg.scalar(0, table))
    return [values, tg.reduce_sum(picked, [rank], False)]


@IMPORT.register(aten.max_pool2d.default, aten.max_pool1d.default, aten.max_pool3d.default)
def import_max_pool(ctx, x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
    n = {aten.max_pool1d.default: 1, aten.max_pool2d.default: 2}.get(ctx.node.target, 3)
    return max_pool(ctx, x, kernel, stride, padding, dilation, n, False)


@IMPORT.register(
    aten.max_pool2d_with_indices.default,
    aten.max_pool1d_with_indices.default,
    aten.max_pool3d_with_indices.default,
)
def import_max_pool_indices(ctx, x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
    n = {aten.max_pool1d_with_indices.default: 1, aten.max_pool2d_with_indices.default: 2}.get(
        ctx.node.target, 3
    )
    return max_pool(ctx, x, kernel, stride, padding, dilation, n, True)


def _divisors(spatial, out_sizes, kernel, stride, padding, count_include_pad, divisor_override):
    """ATen's avg_pool divisor per output position: the window clipped to the padded input
    (count_include_pad) or to the input itself."""
    if divisor_override:
        return np.full(out_sizes, float(divisor_override))
    per_dim = []
    for size, o, k, s, p in zip(spatial, out_sizes, kernel, stride, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            per_dim.append(end - start)
        else:
            per_dim.append(np.minimum(end, size) - np.maximum(start, 0))
    out = per_dim[0].astype(np.float64)
    for extent in per_dim[1:]:
        out = np.multiply.outer(out, extent)
    return out


def avg_pool(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, n):
    kernel, stride, padding, dilation, out_sizes = _args(ctx, x, kernel, stride, padding, 1, n)
    slices = _windows(x, kernel, stride, padding, dilation, out_sizes, 0.0)
    total = slices[0]
    for s in slices[1:]:
        total = tg.add(total, s)
    spatial = shape_of(x)[-n:]
    div = _divisors(
        spatial, out_sizes, kernel, stride, padding, count_include_pad, divisor_override
    )
    if np.all(div == div.flat[0]):
        return tg.div(total, float(div.flat[0]))
    return tg.div(total, tg.constant(div, element_type(total)))


@IMPORT.register(aten.avg_pool2d.default, aten.avg_pool3d.default)
def import_avg_pool(
    ctx,
    x,
    kernel,
    stride=(),
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    n = 2 if ctx.node.target is aten.avg_pool2d.default else 3
    return avg_pool(
        ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, n
    )


@IMPORT.register(aten.avg_pool1d.default)
def import_avg_pool1d(
    ctx, x, kernel, stride=(), padding=0, ceil_mode=False, count_include_pad=True
):
    return avg_pool(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, None, 1)


def adaptive(x, out_sizes, reduce):
    """Adaptive pooling, one spatial dim at a time: cell i of o over n covers
    [floor(i*n/o), ceil((i+1)*n/o))."""
    rank = len(shape_of(x))
    n = len(out_sizes)
    for i, o in enumerate(out_sizes):
        d = rank - n + i
        size = shape_of(x)[d]
        if size == DYN:
            unsupported("adaptive pooling over a dynamic spatial dim")
        if o == size:
            continue
        if size % o == 0:  # equal windows: reshape and reduce
            shape = list(shape_of(x))
            x = reduce(tg.reshape(x, (*shape[:d], o, size // o, *shape[d + 1 :])), [d + 1], False)
            continue
        cells = []
        for c in range(o):
            start, end = (c * size) // o, -((-(c + 1) * size) // o)
            cells.append(reduce(tg.slice(x, d, start, end), [d], True))
        x = tg.cat(cells, d)
    return x


@IMPORT.register(
    aten.adaptive_avg_pool2d.default,
    aten.adaptive_avg_pool1d.default,
    aten.adaptive_avg_pool3d.default,
    aten._adaptive_avg_pool2d.default,
)
def import_adaptive_avg_pool(ctx, x, output_size):
    n = len(_tuple(output_size, 1))
    out = static_dims(ctx.meta().shape)[-n:]
    return adaptive(x, out, tg.reduce_mean)


@IMPORT.register(aten.adaptive_max_pool2d.default, aten.adaptive_max_pool1d.default)
def import_adaptive_max_pool(ctx, x, output_size):
    unsupported("adaptive max pooling (indices)")
