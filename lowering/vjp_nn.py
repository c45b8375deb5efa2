"""VJP rules for the nn primitives: convolution (as convolutions of the gradient) and
index_select (as a one-hot contraction, until tg has a scatter-add primitive).

Contract: `<op>_vjp(op, grad) -> tuple[Value | None, ...]`, one entry per operand.
"""

from __future__ import annotations

import itertools

from ..dialects import builders as tg
from ..dialects import builders_nn as nn
from ..dialects import ops_nn as N
from ..dialects.registry import VJP
from ..dialects.types import DYN, element_type, shape_of
from .vjp_common import attr, operands, permute, unsqueeze, wants, zeros_like


@VJP.register(N.IndexSelectOp)
def index_select_vjp(op, g):
    # dx = scatter-add of g into zeros at `index` along dim, written as
    # one_hot(index)^T @ g: O(#index * size(dim) * rest), fine for small tables. A
    # tg scatter-add primitive would make embedding backward linear.
    x, index = operands(op)
    rank, d = len(shape_of(x)), attr(op, "dim") % max(len(shape_of(x)), 1)
    ni = len(shape_of(index))
    gshape = shape_of(g)
    # g: pre + index dims + post -> (index dims, pre, post) -> (K, M)
    perm = list(range(d, d + ni)) + list(range(d)) + list(range(d + ni, len(gshape)))
    moved = permute(g, perm)
    # dynamic sizes from g (Note [runtime sizes]): the index dims' count, the rest's
    k = tg.size_product([tg.size(g, i) for i in range(d, d + ni)])
    g2 = tg.reshape(moved, (k, tg.size_product([tg.size(g, i) for i in perm[ni:]])))
    idx = tg.reshape(tg.convert(index, _i64()), (k, 1))
    positions = tg.reshape(nn.iota(x, d), (1, shape_of(x)[d]))
    one_hot = tg.convert(tg.eq(idx, positions), element_type(x))
    dx = tg.mm(permute(one_hot, [1, 0]), g2)  # (size(dim), M)
    # (size(dim), M) -> (size(dim), pre, post), dynamic sizes from x (Note [runtime sizes])
    dx = tg.reshape(dx, [tg.size(x, d)] + [tg.size(x, i) for i in range(rank) if i != d])
    back = list(range(1, d + 1)) + [0] + list(range(d + 1, rank))
    return (permute(dx, back), None)


def _i64():
    from torch_mlir import ir

    return ir.IntegerType.get_signless(64)


# --- convolution ---------------------------------------------------------------------


@VJP.register(N.ConvolutionOp)
def convolution_vjp(op, g):
    x, w = operands(op)
    stride, padding, dilation = (attr(op, k) for k in ("stride", "padding", "dilation"))
    groups = attr(op, "groups")
    if any(d == DYN for d in shape_of(x)[2:] + shape_of(w)[1:]):
        raise ValueError("convolution backward needs static spatial and channel sizes")
    if groups == 1:
        return (
            _conv_input_grad(g, x, w, stride, padding, dilation) if wants(0) else None,
            _conv_weight_grad(g, x, w, stride, padding, dilation) if wants(1) else None,
        )
    # grouped: the groups are independent convolutions along the channel dims
    cg, og = shape_of(x)[1] // groups, shape_of(w)[0] // groups
    dxs, dws = [], []
    for i in range(groups):
        xi = tg.slice(x, 1, i * cg, (i + 1) * cg)
        wi = tg.slice(w, 0, i * og, (i + 1) * og)
        gi = tg.slice(g, 1, i * og, (i + 1) * og)
        if wants(0):
            dxs.append(_conv_input_grad(gi, xi, wi, stride, padding, dilation))
        if wants(1):
            dws.append(_conv_weight_grad(gi, xi, wi, stride, padding, dilation))
    return (tg.cat(dxs, 1) if dxs else None, tg.cat(dws, 0) if dws else None)


def _conv_input_grad(g, x, w, stride, padding, dilation):
    # dx = conv(g dilated by stride and padded, w flipped with in/out channels swapped)
    n = len(stride)
    spatial, kernel = shape_of(x)[2:], shape_of(w)[2:]
    for i in range(n):
        axis = i + 2
        g = _dilate(g, axis, stride[i])
        span = dilation[i] * (kernel[i] - 1)
        lost = (spatial[i] + 2 * padding[i] - span - 1) % stride[i]  # rows no window reached
        g = _pad(g, axis, span - padding[i], span - padding[i] + lost)
    flipped = w
    for i in range(n):
        rev = tg.constant(list(range(kernel[i] - 1, -1, -1)), _i64())
        flipped = nn.index_select(flipped, rev, i + 2)
    flipped = permute(flipped, [1, 0, *range(2, n + 2)])
    return nn.convolution(g, flipped, [1] * n, [0] * n, dilation, 1)


def _conv_weight_grad(g, x, w, stride, padding, dilation):
    # dw[o, c, k] = sum_{n, j} g[n, o, j] x_pad[n, c, j*stride + k*dilation]: a convolution
    # of x (channels as batch) with g (batch as channels), stride and dilation swapped
    n = len(stride)
    spatial = list(range(2, n + 2))
    if shape_of(x)[0] == DYN:  # the batch would become a dynamic weight dim
        return _conv_weight_grad_by_offsets(g, x, w, stride, padding, dilation)
    xt = permute(x, [1, 0, *spatial])
    gt = permute(g, [1, 0, *spatial])
    dw = nn.convolution(xt, gt, dilation, padding, stride, 1)  # (C, O, K' >= K)
    for i, k in enumerate(shape_of(w)[2:]):
        if shape_of(dw)[i + 2] != k:
            dw = tg.slice(dw, i + 2, 0, k)
    return permute(dw, [1, 0, *spatial])


def _conv_weight_grad_by_offsets(g, x, w, stride, padding, dilation):
    # The same sum as one mm per kernel offset k: (O, N*J) @ (N*J, C), where the (N*J, C)
    # operand is the strided window of x_pad starting at k*dilation. Used for a dynamic
    # batch, which then only appears as a contraction size.
    n = len(stride)
    o, c, kernel = shape_of(w)[0], shape_of(x)[1], shape_of(w)[2:]
    out = shape_of(g)[2:]
    xp = x
    for i in range(n):
        xp = _pad(xp, i + 2, padding[i], padding[i])
    gm = tg.reshape(permute(g, [1, 0, *range(2, n + 2)]), (o, DYN))
    cols = []
    for offsets in itertools.product(*[range(k) for k in kernel]):
        xs = xp
        for i, k in enumerate(offsets):
            start = k * dilation[i]
            xs = tg.slice(xs, i + 2, start, start + (out[i] - 1) * stride[i] + 1, stride[i])
        xm = tg.reshape(permute(xs, [0, *range(2, n + 2), 1]), (DYN, c))
        cols.append(tg.reshape(tg.mm(gm, xm), (o, c, 1)))
    return tg.reshape(tg.cat(cols, 2), (o, c, *kernel))


def _dilate(t, axis: int, s: int):
    """Insert s-1 zeros between the elements of `t` along `axis`."""
    if s == 1:
        return t
    length = shape_of(t)[axis]
    rank = len(shape_of(t))
    spread = unsqueeze(t, [axis + 1], rank + 1)
    gap = zeros_like(spread)
    shape = list(shape_of(t))
    shape[axis] = length * s
    out = tg.reshape(tg.cat([spread] + [gap] * (s - 1), axis + 1), shape)
    return tg.slice(out, axis, 0, (length - 1) * s + 1)


def _pad(t, axis: int, left: int, right: int):
    """Zero-pad (positive) or crop (negative) `t` along `axis`."""
    size = shape_of(t)[axis]
    start, end = max(-left, 0), size - max(-right, 0)
    if start or end != size:
        t = tg.slice(t, axis, start, end)
    pieces = []
    if left > 0:
        pieces.append(_zeros_like_along(t, axis, left))
    pieces.append(t)
    if right > 0:
        pieces.append(_zeros_like_along(t, axis, right))
    return tg.cat(pieces, axis) if len(pieces) > 1 else t


def _zeros_like_along(t, axis: int, amount: int):
    """Zeros shaped like `t` but `amount` long on `axis` (see Note [dynamic broadcast])."""
    shape = list(shape_of(t))
    shape[axis] = amount
    static = [1 if d == DYN else d for d in shape]
    zeros = tg.broadcast_to(tg.scalar(0, t), static)
    if DYN not in shape:
        return zeros
    ref = tg.slice(t, axis, 0, 1)
    return tg.where(tg.eq(ref, ref), zeros, zeros)
