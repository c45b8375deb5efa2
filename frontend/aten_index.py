"""ATen -> tg rules for indexing: gather/scatter, advanced indexing and index_put, the
functionalized forms of in-place slice writes (slice_scatter, select_scatter), and the
ops built from them: sort, topk, one_hot, flip, roll.

Data-dependent shapes (boolean-mask indexing, nonzero) are not imported: they run eagerly.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import builders_index as ix
from ..dialects import builders_nn as nn
from ..dialects.types import DYN, element_type, is_bool, is_float, shape_of
from .aten import IMPORT, as_dtype, unsupported
from .fx_importer import element_type_of, static_dims
from .symbolic_sizes import output_shape

aten = torch.ops.aten


def i64() -> ir.Type:
    return ir.IntegerType.get_signless(64)


def bool_constant(array) -> ir.Value:
    """An i1 constant (built from i8: tg.constant packs multi-dim bools wrongly)."""
    arr = np.asarray(array).astype(np.int8)
    return tg.ne(tg.constant(arr, ir.IntegerType.get_signless(8)), 0)


def unsqueeze(x, d: int):
    s = shape_of(x)
    return tg.reshape(x, (*s[:d], 1, *s[d:]))


def like_shape(x, ref):
    """`x` broadcast to the shape of `ref` (an integer tensor, so never NaN): a where whose
    condition carries ref's dynamic sizes (see vjp_common's Note [dynamic broadcast])."""
    if DYN not in shape_of(ref):
        return tg.broadcast_to(x, shape_of(ref))
    return tg.where(tg.eq(ref, ref), x, x)


def wrap(index, size: int):
    """Negative indices counted from the end of a static `size`."""
    index = tg.convert(index, i64())
    return tg.where(tg.lt(index, 0), tg.add(index, size), index)


def positions(x, d: int):
    """0..n-1 along dim `d` of x, shaped to broadcast against x."""
    rank = len(shape_of(x))
    iota = nn.iota(x, d)
    return tg.reshape(iota, (shape_of(iota)[0], *([1] * (rank - d - 1))))


# --- gather and scatter -------------------------------------------------------------


@IMPORT.register(aten.gather.default)
def import_gather(ctx, x, dim, index, sparse_grad=False):
    if not shape_of(x):
        return tg.reshape(ix.gather(tg.reshape(x, (1,)), tg.reshape(index, (1,)), 0), ())
    return ix.gather(x, tg.convert(index, i64()), dim)


@IMPORT.register(aten.take_along_dim.default)
def import_take_along_dim(ctx, x, index, dim=None):
    if dim is None:
        return ix.gather(
            tg.reshape(x, (DYN if DYN in shape_of(x) else math.prod(shape_of(x)),)),
            tg.reshape(tg.convert(index, i64()), output_shape(ctx)),
            0,
        )
    d = dim % len(shape_of(x))
    out = static_dims(ctx.meta().shape)
    xs = [s if i == d else o for i, (s, o) in enumerate(zip(shape_of(x), out))]
    idx_shape = list(out)
    if DYN in xs + idx_shape:
        unsupported("take_along_dim with dynamic sizes")
    return ix.gather(
        tg.broadcast_to(x, xs), tg.broadcast_to(tg.convert(index, i64()), idx_shape), d
    )


def _scatter_operands(x, dim, index, src):
    """Normalize (dim, index, src) to what tg.scatter_add takes: src cut to the index's
    shape, and the index covering x outside `dim` (else x is cut to it and restored)."""
    rank = len(shape_of(x))
    d = dim % max(rank, 1)
    idx_shape, x_shape = shape_of(index), shape_of(x)
    if DYN in idx_shape or DYN in x_shape or DYN in shape_of(src):
        if idx_shape != shape_of(src):
            unsupported("scatter with dynamic sizes and an index smaller than src")
    for i, n in enumerate(idx_shape):
        if shape_of(src)[i] != n:
            src = tg.slice(src, i, 0, n)
    partial = [i for i in range(rank) if i != d and idx_shape[i] != x_shape[i]]
    return d, tg.convert(index, i64()), src, partial


def _scatter(x, d, index, src, partial, combine):
    """combine(region, index, src) on the part of x the index covers outside `d`."""
    if not partial:
        return combine(x, index, src)
    region = x
    for i in partial:
        region = tg.slice(region, i, 0, shape_of(index)[i])
    out = combine(region, index, src)
    for i in reversed(partial):  # write back one dim at a time, outermost last
        outer = x
        for j in partial:
            if j < i:
                outer = tg.slice(outer, j, 0, shape_of(index)[j])
        out = ix.insert_slice(outer, out, i, 0, 1)
    return out


def overwrite(d: int):
    """combine() writing src into region at index along d; duplicate indices average (ATen
    keeps an unspecified one of them)."""

    def combine(region, index, src):
        zeros = tg.mul(region, 0)
        total = ix.scatter_add(zeros, index, src, d)
        ones = tg.add(tg.mul(tg.convert(index, element_type(src)), 0), 1)
        count = ix.scatter_add(zeros, index, ones, d)
        value = tg.div(total, tg.maximum(count, 1))
        return tg.where(tg.gt(count, 0), value, region)

    return combine


@IMPORT.register(
    aten.scatter_add.default, aten.scatter.src, aten.scatter.value, aten.scatter_reduce.two
)
def import_scatter(ctx, x, dim, index, src, reduce=None, include_self=True):
    target = ctx.node.target
    x = as_dtype(x, ctx.out_dtype())
    if is_bool(element_type(x)):
        unsupported("scatter into a bool tensor")
    if not shape_of(x):
        unsupported("scatter into a 0-d tensor")
    if not isinstance(src, ir.Value):
        src = tg.broadcast_to(
            as_dtype(src, ctx.out_dtype()), static_dims(ctx.meta(ctx.node.args[2]).shape)
        )
    src = as_dtype(src, ctx.out_dtype())
    d, index, src, partial = _scatter_operands(x, dim, index, src)
    if target is aten.scatter_add.default or (
        target is aten.scatter_reduce.two and reduce == "sum" and include_self
    ):
        return _scatter(x, d, index, src, partial, lambda r, i, s: ix.scatter_add(r, i, s, d))
    if target is aten.scatter_reduce.two:
        unsupported(f"scatter_reduce with reduce='{reduce}'")
    if is_float(element_type(x)) and reduce is None:
        return _scatter(x, d, index, src, partial, overwrite(d))
    unsupported("scatter of integers or with a reduce mode")


@IMPORT.register(aten.index_select.default)
def import_index_select(ctx, x, dim, index):
    if not shape_of(x):
        return x
    out = nn.index_select(x, tg.convert(index, i64()), dim)
    return tg.reshape(out, output_shape(ctx))


@IMPORT.register(aten.index_add.default)
def import_index_add(ctx, x, dim, index, source, alpha=1):
    d = dim % max(len(shape_of(x)), 1)
    if alpha != 1:
        source = tg.mul(source, as_dtype(alpha, ctx.out_dtype()))
    idx = tg.reshape(
        tg.convert(index, i64()),
        (shape_of(index)[0] if shape_of(index) else 1, *([1] * (len(shape_of(x)) - d - 1))),
    )
    if not shape_of(source):
        source = tg.reshape(source, (1,))
    idx = like_shape(
        idx,
        tg.convert(tg.mul(source, 0), i64())
        if is_float(element_type(source))
        else tg.mul(source, 0),
    )
    return ix.scatter_add(x, idx, source, d)


# --- advanced indexing --------------------------------------------------------------


def _linearize(x, indices):
    """View of x with the indexed dims merged into one dim `d` and the (broadcast, wrapped)
    flat index into it; `restore` maps an x-shaped-view tensor back to x's layout."""
    rank = len(shape_of(x))
    indices = list(indices) + [None] * (rank - len(indices))
    dims = [i for i, v in enumerate(indices) if v is not None]
    for i in dims:
        if is_bool(element_type(indices[i])):
            unsupported("boolean mask indexing (data-dependent shape)")
    adjacent = dims == list(range(dims[0], dims[-1] + 1))
    perm = list(range(rank)) if adjacent else dims + [i for i in range(rank) if i not in dims]
    xv = tg.permute(x, perm)
    d = dims[0] if adjacent else 0
    sizes = [shape_of(x)[i] for i in dims]
    if len(dims) == 1:
        idx = indices[dims[0]]
        idx = wrap(idx, sizes[0]) if sizes[0] != DYN else tg.convert(idx, i64())
        return xv, d, idx, perm, sizes
    if DYN in sizes:
        unsupported("advanced indexing of several dynamic dims")
    bshape = np.broadcast_shapes(*[tuple(shape_of(indices[i])) for i in dims])
    flat = None
    for i, n in zip(dims, sizes):
        part = tg.broadcast_to(wrap(indices[i], n), bshape)
        flat = part if flat is None else tg.add(tg.mul(flat, n), part)
    vs = shape_of(xv)
    xv = tg.reshape(xv, (*vs[:d], math.prod(sizes), *vs[d + len(dims) :]))
    return xv, d, flat, perm, sizes


@IMPORT.register(aten.index.Tensor, aten._unsafe_index.Tensor)
def import_index(ctx, x, indices):
    xv, d, idx, _, _ = _linearize(x, indices)
    return tg.reshape(nn.index_select(xv, idx, d), output_shape(ctx))


@IMPORT.register(aten.index_put.default, aten._unsafe_index_put.default)
def import_index_put(ctx, x, indices, values, accumulate=False):
    values = as_dtype(values, ctx.out_dtype())
    present = [v for v in indices if v is not None]
    if len(present) == 1 and is_bool(element_type(present[0])):
        mask = present[0]
        lead = [i for i, v in enumerate(indices) if v is not None][0]
        if (
            lead == 0
            and shape_of(mask) == shape_of(x)[: len(shape_of(mask))]
            and not shape_of(values)
        ):
            mask = tg.reshape(
                mask, (*shape_of(mask), *([1] * (len(shape_of(x)) - len(shape_of(mask)))))
            )
            return tg.where(mask, tg.add(x, values) if accumulate else values, x)
        unsupported("index_put with a boolean mask and non-scalar values")
    xv, d, idx, perm, sizes = _linearize(x, indices)
    if DYN in shape_of(idx) or len(shape_of(idx)) != 1:
        if DYN in shape_of(idx):
            unsupported("index_put with a dynamic index")
        idx = tg.reshape(idx, (math.prod(shape_of(idx)),))
    vs = shape_of(xv)
    k = shape_of(idx)[0]
    target = (*vs[:d], k, *vs[d + 1 :])
    if DYN in target:
        unsupported("index_put with dynamic sizes")
    # values broadcast against x[indices], whose shape is the index's then the rest
    vals = tg.broadcast_to(values, _index_result_shape(x, indices, perm, d, len(sizes)))
    vals = (
        tg.reshape(vals, (*[target[i] for i in range(d)], k, *target[d + 1 :]))
        if d == 0 or perm == list(range(len(perm)))
        else vals
    )
    vals = tg.broadcast_to(vals, target)
    index = tg.broadcast_to(tg.reshape(wrap(idx, vs[d]), (k, *([1] * (len(vs) - d - 1)))), target)
    if accumulate:
        out = ix.scatter_add(xv, index, vals, d)
    else:
        if not is_float(element_type(xv)):
            unsupported("index_put of integers without accumulate")
        out = overwrite(d)(xv, index, vals)
    if len(sizes) > 1:
        out = tg.reshape(out, (*vs[:d], *sizes, *vs[d + 1 :]))
    inverse = [perm.index(i) for i in range(len(perm))]
    return tg.permute(out, inverse)


def _index_result_shape(x, indices, perm, d, n):
    """Shape of x[indices] flattened like the linearized view: pre dims, K, post dims."""
    xs = [shape_of(x)[p] for p in perm]
    present = [v for v in indices if v is not None]
    bshape = np.broadcast_shapes(*[tuple(shape_of(v)) for v in present])
    return (*xs[:d], *bshape, *xs[d + n :])


# --- functionalized in-place writes -------------------------------------------------


def _clamp_bounds(n: int, start, end, step):
    start = 0 if start is None else start
    end = n if end is None or end > n else end
    start = max(start + n, 0) if start < 0 else min(start, n)
    end = max(end + n, 0) if end < 0 else end
    return start, max(end, start), step


@IMPORT.register(aten.slice_scatter.default)
def import_slice_scatter(ctx, x, src, dim=0, start=None, end=None, step=1):
    d = dim % len(shape_of(x))
    n = shape_of(x)[d]
    if n == DYN:
        if (start or 0) < 0:
            unsupported("slice_scatter with a negative start on a dynamic dim")
        start = start or 0
    else:
        start, _, _ = _clamp_bounds(n, start, end, step)
    src = as_dtype(src, ctx.out_dtype())
    if shape_of(src)[d] == 0:
        return x
    return ix.insert_slice(x, src, d, start, step)


@IMPORT.register(aten.select_scatter.default)
def import_select_scatter(ctx, x, src, dim, index):
    d = dim % len(shape_of(x))
    n = shape_of(x)[d]
    if index < 0:
        if n == DYN:
            unsupported("select_scatter with a negative index on a dynamic dim")
        index += n
    return ix.insert_slice(x, unsqueeze(as_dtype(src, ctx.out_dtype()), d), d, index, 1)


@IMPORT.register(aten.copy.default)
def import_copy(ctx, dst, src, non_blocking=False):
    src = as_dtype(src, ctx.out_dtype())
    return (
        like_shape(src, tg.mul(tg.convert(dst, i64()), 0))
        if DYN in shape_of(dst)
        else tg.broadcast_to(src, shape_of(dst))
    )


@IMPORT.register(aten.fill.Scalar, aten.fill.Tensor)
def import_fill(ctx, x, value):
    v = as_dtype(value, ctx.out_dtype())
    if DYN in shape_of(x):
        return (
            tg.where(tg.eq(tg.convert(x, i64()), tg.convert(x, i64())), v, v) if shape_of(x) else v
        )
    return tg.broadcast_to(v, shape_of(x))


# --- reorderings --------------------------------------------------------------------


@IMPORT.register(aten.flip.default)
def import_flip(ctx, x, dims):
    rank = len(shape_of(x))
    for dim in dims:
        d = dim % max(rank, 1)
        if not rank or shape_of(x)[d] == 1:
            continue
        rev = tg.sub(tg.sub(tg.dim_size(x, d), 1), nn.iota(x, d))
        x = nn.index_select(x, rev, d)
    return x


@IMPORT.register(aten.roll.default)
def import_roll(ctx, x, shifts, dims=()):
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = list(dims)
    if not dims:
        shape = shape_of(x)
        if DYN in shape:
            unsupported("roll of a flattened dynamic tensor")
        flat = import_roll(ctx, tg.reshape(x, (math.prod(shape),)), shifts, [0])
        return tg.reshape(flat, shape)
    for s, dim in zip(shifts, dims):
        d = dim % len(shape_of(x))
        n = shape_of(x)[d]
        if n == DYN:
            unsupported("roll along a dynamic dim")
        s %= max(n, 1)
        if s:
            x = tg.cat([tg.slice(x, d, n - s, n), tg.slice(x, d, 0, n - s)], d)
    return x


def _rank_along(x, d: int, descending: bool):
    """Stable sort position of each element of x along d (NaN sorts as the largest)."""
    a, b = unsqueeze(x, d + 1), unsqueeze(x, d)  # a: element i (at d), b: element j (at d+1)
    if is_float(element_type(x)):
        na, nb = tg.isnan(a), tg.isnan(b)
        if descending:
            before = tg.logical_or(tg.gt(b, a), tg.logical_and(nb, tg.logical_not(na)))
        else:
            before = tg.logical_and(tg.logical_not(nb), tg.logical_or(tg.lt(b, a), na))
        same = tg.logical_or(tg.eq(a, b), tg.logical_and(na, nb))
    else:
        before = tg.gt(b, a) if descending else tg.lt(b, a)
        same = tg.eq(a, b)
    n = shape_of(x)[d]
    i_pos = positions(unsqueeze(x, d + 1), d)  # (n, 1, ...)
    j_pos = positions(unsqueeze(x, d), d + 1)  # (n, ...)
    earlier = tg.lt(j_pos, i_pos)
    counted = tg.logical_or(before, tg.logical_and(same, earlier))
    del n
    return tg.reduce_sum(tg.convert(counted, i64()), [d + 1], False)


def sort(x, dim: int, descending: bool):
    rank = len(shape_of(x))
    if not rank:
        return x, tg.scalar(0, i64())
    d = dim % rank
    if is_bool(element_type(x)):
        unsupported("sort of bool")
    rank_idx = _rank_along(x, d, descending)
    zeros = (
        tg.mul(x, 0)
        if not is_float(element_type(x))
        else tg.where(tg.eq(rank_idx, rank_idx), tg.scalar(0.0, x), tg.scalar(0.0, x))
    )
    values = ix.scatter_add(zeros, rank_idx, x, d)
    pos = like_shape(positions(x, d), rank_idx)
    indices = ix.scatter_add(tg.mul(rank_idx, 0), rank_idx, pos, d)
    return values, indices


@IMPORT.register(aten.sort.default, aten.sort.stable)
def import_sort(ctx, x, *args, stable=None, dim=-1, descending=False):
    if ctx.node.target is aten.sort.default and args:
        dim = args[0]
        descending = args[1] if len(args) > 1 else descending
    return list(sort(x, dim, descending))


@IMPORT.register(aten.argsort.default, aten.argsort.stable)
def import_argsort(ctx, x, *args, stable=False, dim=-1, descending=False):
    if ctx.node.target is aten.argsort.default and args:
        dim = args[0]
        descending = args[1] if len(args) > 1 else descending
    return sort(x, dim, descending)[1]


@IMPORT.register(aten.msort.default)
def import_msort(ctx, x):
    return sort(x, 0, False)[0]


@IMPORT.register(aten.topk.default)
def import_topk(ctx, x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    if not shape_of(x):
        return [x, tg.scalar(0, i64())]
    d = dim % len(shape_of(x))
    values, indices = sort(x, d, largest)
    return [tg.slice(values, d, 0, k), tg.slice(indices, d, 0, k)]


@IMPORT.register(aten.one_hot.default)
def import_one_hot(ctx, x, num_classes=-1):
    if num_classes < 0:
        unsupported("one_hot without num_classes (data-dependent shape)")
    classes = tg.constant(np.arange(num_classes), i64())
    return tg.convert(tg.eq(unsqueeze(x, len(shape_of(x))), classes), i64())


# --- scans --------------------------------------------------------------------------


def _scan(x, dim, fill, reduce):
    """reduce over j <= i of x[j] along dim (O(n^2) as a masked reduction)."""
    rank = len(shape_of(x))
    if not rank:
        return x
    d = dim % rank
    n = shape_of(x)[d]
    if n == DYN:
        unsupported("cumulative op along a dynamic dim")
    tri = np.tril(np.ones((n, n), dtype=bool)).reshape((n, n, *([1] * (rank - d - 1))))
    b = unsqueeze(x, d)  # (.., 1, n_j, ..)
    masked = tg.where(bool_constant(tri), b, tg.scalar(fill, x))
    return reduce(masked, [d + 1], False)


@IMPORT.register(aten.cumsum.default)
def import_cumsum(ctx, x, dim, dtype=None):
    x = as_dtype(x, ctx.out_dtype())
    return _scan(x, dim, 0, tg.reduce_sum)


@IMPORT.register(aten.cumprod.default)
def import_cumprod(ctx, x, dim, dtype=None):
    x = as_dtype(x, ctx.out_dtype())
    return _scan(x, dim, 1, tg.reduce_prod)


@IMPORT.register(aten.logcumsumexp.default)
def import_logcumsumexp(ctx, x, dim):
    if not shape_of(x):
        return x
    d = dim % len(shape_of(x))
    m = tg.reduce_max(x, [d], True)
    # the shift cancels in value and derivative: keep it out of the gradient
    m = ix.stop_gradient(tg.where(tg.isinf(m), tg.scalar(0.0, x), m))
    return tg.add(tg.log(_scan(tg.exp(tg.sub(x, m)), d, 0, tg.reduce_sum)), m)


__all__ = ["sort", "unsqueeze", "like_shape", "i64", "element_type_of"]
