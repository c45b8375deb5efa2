"""VJP rules for contractions, reductions and shape ops (mm, reduce_*, reshape, slice, cat...).

Contract: `<op>_vjp(op, grad) -> tuple[Value | None, ...]`, one entry per operand (a
variadic operand group counts each of its values).
"""

from __future__ import annotations

from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import ops_linalg as L
from ..dialects import ops_reduce as R
from ..dialects import ops_shape as S
from ..dialects.registry import VJP
from ..dialects.types import DYN, element_type, shape_of
from .vjp_common import (
    attr,
    operands,
    permute,
    result,
    sum_to_shape,
    transpose,
    unreduce,
    unsqueeze,
    wants,
    zeros_like,
)


@VJP.register(L.MmOp)
def mm_vjp(op, g):
    # y = a b: da = g b^T, db = a^T g
    a, b = operands(op)
    return (
        tg.mm(g, transpose(b, 0, 1)) if wants(0) else None,
        tg.mm(transpose(a, 0, 1), g) if wants(1) else None,
    )


@VJP.register(L.BmmOp)
def bmm_vjp(op, g):
    a, b = operands(op)
    return (
        tg.bmm(g, transpose(b, 1, 2)) if wants(0) else None,
        tg.bmm(transpose(a, 1, 2), g) if wants(1) else None,
    )


# --- reductions ----------------------------------------------------------------------


def _reduction(op):
    x = operands(op)[0]
    dims = R.normalized_dims(attr(op, "dims"), len(shape_of(x)))
    return x, dims, bool(attr(op, "keepdim"))


def _keep(v, x, dims, keepdim):
    """A reduced value in keepdim form, which broadcasts against x."""
    return v if keepdim else unsqueeze(v, dims, len(shape_of(x)))


@VJP.register(R.ReduceSumOp)
def reduce_sum_vjp(op, g):
    x, dims, keepdim = _reduction(op)
    return (unreduce(g, x, dims, keepdim),)


def _extremum_vjp(op, g):
    # amax/amin backward: the gradient is split evenly among the elements equal to the
    # extremum (PyTorch's amax: grad * mask / mask.sum(dims, keepdim=True))
    x, dims, keepdim = _reduction(op)
    mask = tg.eq(x, _keep(result(op), x, dims, keepdim))
    count = tg.reduce_sum(tg.convert(mask, element_type(x)), dims, True)
    share = tg.div(_keep(g, x, dims, keepdim), count)
    return (tg.where(mask, share, 0),)


@VJP.register(R.ReduceMaxOp)
def reduce_max_vjp(op, g):
    return _extremum_vjp(op, g)


@VJP.register(R.ReduceMinOp)
def reduce_min_vjp(op, g):
    return _extremum_vjp(op, g)


@VJP.register(R.ReduceProdOp)
def reduce_prod_vjp(op, g):
    # d/dx_i prod = prod / x_i where x_i != 0; at a zero, the product of the others if it
    # is the only zero of its slice, else 0 (exact, as PyTorch's prod_backward)
    x, dims, keepdim = _reduction(op)
    gk = _keep(g, x, dims, keepdim)
    is_zero = tg.eq(x, 0)
    nonzero = tg.div(tg.mul(gk, _keep(result(op), x, dims, keepdim)), x)
    others = tg.reduce_prod(tg.where(is_zero, 1, x), dims, True)
    zeros = tg.reduce_sum(tg.convert(is_zero, element_type(x)), dims, True)
    at_zero = tg.where(tg.eq(zeros, 1), tg.mul(gk, others), 0)
    return (tg.where(is_zero, at_zero, nonzero),)


# Composites with rules of their own: tg-decompose{targets=autodiff} keeps them whole, so
# the backward is PyTorch's fused formula, not the gradient of the decomposition (which
# would also differentiate the max subtracted for stability, only to get zero).


@VJP.register(R.SoftmaxOp)
def softmax_vjp(op, g):
    # dx = y (g - sum(g y, dim))
    y, d = result(op), attr(op, "dim")
    return (tg.mul(y, tg.sub(g, tg.reduce_sum(tg.mul(g, y), [d], True))),)


@VJP.register(R.LogSoftmaxOp)
def log_softmax_vjp(op, g):
    # dx = g - exp(y) sum(g, dim)
    y, d = result(op), attr(op, "dim")
    return (tg.sub(g, tg.mul(tg.exp(y), tg.reduce_sum(g, [d], True))),)


# --- shape ops ---------------------------------------------------------------------


@VJP.register(S.ReshapeOp, S.DynamicReshapeOp)
def reshape_vjp(op, g):
    # The gradient takes x's shape back, its dynamic dims from x itself (Note [runtime
    # sizes]); the size operands of a dynamic_reshape are integers, without a gradient.
    ops = operands(op)
    return (tg.reshape(g, tg.sizes(ops[0])), *([None] * (len(ops) - 1)))


@VJP.register(S.PermuteOp)
def permute_vjp(op, g):
    perm = attr(op, "perm")
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return (permute(g, inverse),)


@VJP.register(S.BroadcastToOp, S.DynamicBroadcastToOp)
def broadcast_to_vjp(op, g):
    ops = operands(op)
    return (sum_to_shape(g, shape_of(ops[0])), *([None] * (len(ops) - 1)))


def _zeros_along(x, d: int, start: int, end: int | None):
    """Zeros shaped like x[start:end] along `d` (end None: to the end of a dynamic dim),
    the other dims sized from x itself (see Note [dynamic broadcast] in vjp_common)."""
    sizes = tg.sizes(x)
    if end is None:
        left = tg.sub(tg.dim_size(x, d), start)
        sizes[d] = tg.maximum(left, tg.scalar(0, left))
    else:
        sizes[d] = end - start
    return tg.broadcast_to(tg.scalar(0, x), sizes)


@VJP.register(S.SliceOp)
def slice_vjp(op, g):
    # Scatter g back into zeros: [zeros(start) | g, spread by step | zeros(rest)]
    x = operands(op)[0]
    d = attr(op, "dim") % len(shape_of(x))
    start, end, step = attr(op, "start"), attr(op, "end"), attr(op, "step")
    n, m = shape_of(x)[d], shape_of(g)[d]
    pieces = [_zeros_along(x, d, 0, start)] if start > 0 else []
    if step > 1:
        if n == DYN or m == DYN:
            raise ValueError("slice with step > 1 along a dynamic dim has no gradient rule")
        # (.., m, ..) -> (.., m, 1, ..) ++ zeros (.., m, step-1, ..) -> (.., m*step, ..)
        rank = len(shape_of(g))
        spread = unsqueeze(g, [d + 1], rank + 1)
        gap = zeros_like(spread)
        flat = list(shape_of(g))
        flat[d] = m * step
        g = tg.reshape(tg.cat([spread] + [gap] * (step - 1), d + 1), flat)
        g = tg.slice(g, d, 0, min(m * step, n - start))
        m = shape_of(g)[d]
    pieces.append(g)
    if n != DYN:
        if start + m < n:
            pieces.append(_zeros_along(x, d, start + m, n))
    elif end >= 0:
        pieces.append(_zeros_along(x, d, end, None))
    return (tg.cat(pieces, d) if len(pieces) > 1 else g,)


@VJP.register(S.CatOp)
def cat_vjp(op, g):
    # Each input's gradient is its window of g along the cat dim: a slice while the offset
    # is static, else (after an input of dynamic size) an index_select at the run-time
    # offset plus the input's positions.
    from ..dialects import builders_nn as nn

    inputs = operands(op)
    d = attr(op, "dim") % len(shape_of(g))
    grads, offset = [], 0
    for i, x in enumerate(inputs):
        size = shape_of(x)[d]
        last = i == len(inputs) - 1
        if not wants(i):
            grads.append(None)
        elif isinstance(offset, int) and (size != DYN or last):
            grads.append(tg.slice(g, d, offset, -1 if size == DYN else offset + size))
        else:  # offset is a run-time value here, or 0 before a first input of dynamic size
            positions = nn.iota(x, d)
            if isinstance(offset, ir.Value) or offset:
                positions = tg.add(positions, offset)
            grads.append(nn.index_select(g, positions, d))
        if not last:
            step = tg.dim_size(x, d) if size == DYN else size
            both_static = isinstance(offset, int) and isinstance(step, int)
            offset = offset + step if both_static else tg.add(offset, step)  # add takes ints too
    return tuple(grads)


NON_DIFFERENTIABLE_TENSOR = [R.ReduceAnyOp, R.ArgmaxOp, R.ArgminOp, S.DimSizeOp]
