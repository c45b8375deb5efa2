"""ATen -> tg rules for views and shapes (view, permute, expand, slice, select, cat,
split), constant factories (full, zeros, arange) and triu/tril; split off aten.py.

Dynamic sizes: a slice or arange whose length is symbolic takes it from an imported tensor
with that (symbolic) dim, through tg.iota (see size_source); a reshape to several dynamic
dims and a fill or expand to a dynamic shape compute theirs from the symbolic sizes
(frontend/symbolic_sizes.py, Note [runtime sizes]).
"""

from __future__ import annotations

import torch
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects.ops_shape import ReshapeOp
from ..dialects.tg import build
from ..dialects.types import DYN, element_type, shape_of, sizes_from_input, tensor_type
from .aten import IMPORT, as_dtype, unsupported
from .fx_importer import ImportContext, element_type_of, static_dims
from .symbolic_sizes import dim_with_size, output_shape, runtime_shape

aten = torch.ops.aten


# --- shapes -------------------------------------------------------------------------


@IMPORT.register(aten.view.default, aten.reshape.default, aten._unsafe_view.default)
def import_view(ctx, x, size):
    return reshape_to_meta(ctx, x)


@IMPORT.register(
    aten.unsqueeze.default,
    aten.squeeze.dim,
    aten.squeeze.dims,
    aten.squeeze.default,
    aten.flatten.using_ints,
    aten.unflatten.int,
)
def import_reshape_like(ctx, x, *args):
    return reshape_to_meta(ctx, x)


def reshape_to_meta(ctx, x):
    """Reshape `x` to the node's fake output shape. The identity only when the symbolic
    sizes match: `(?, ?) -> (?, ?)` can still move data between the two dims."""
    src = ctx.meta(ctx.node.args[0]).shape
    dst = ctx.meta().shape
    if len(src) == len(dst) and all(_same_size(a, b) for a, b in zip(src, dst)):
        return x
    if static_dims(dst).count(DYN) > 1:  # tg.reshape derives at most one dim from numel
        return tg.reshape(x, runtime_shape(ctx, dst))
    return build(ReshapeOp, x, result_types=[tensor_type(static_dims(dst), element_type(x))])


def _same_size(a, b) -> bool:
    """Provably equal sizes, compared structurally (evaluating a SymBool would add guards)."""
    if isinstance(a, int) or isinstance(b, int):
        return isinstance(a, int) and isinstance(b, int) and a == b
    return a.node.expr == b.node.expr


@IMPORT.register(aten.permute.default)
def import_permute(ctx, x, dims):
    rank = len(shape_of(x))
    return tg.permute(x, [d % max(rank, 1) for d in dims])


@IMPORT.register(aten.transpose.int)
def import_transpose(ctx, x, d0, d1):
    if len(shape_of(x)) < 2:
        return x
    return tg.transpose(x, d0, d1)


@IMPORT.register(aten.expand.default, aten.broadcast_to.default)
def import_expand(ctx, x, size, implicit=False):
    return broadcast_to_meta(ctx, x)


def broadcast_to_meta(ctx, x):
    """Broadcast `x` to the node's fake output shape; a dynamic dim that x does not have
    takes its size from the symbolic size (Note [runtime sizes])."""
    dst = ctx.meta().shape
    static = static_dims(dst)
    if sizes_from_input(shape_of(x), static):  # no run-time size to compute
        return tg.broadcast_to(x, static)
    return tg.broadcast_to(x, runtime_shape(ctx, dst))


@IMPORT.register(aten.slice.Tensor)
def import_slice(ctx, x, dim=0, start=None, end=None, step=1):
    shape = shape_of(x)
    d = dim % len(shape)
    n = shape[d]
    if isinstance(end, torch.SymInt) and n == DYN:
        # x[..., :s] with s the dim's own (symbolic) size is the whole dim
        size = ctx.meta(ctx.node.args[0]).shape[d]
        if isinstance(size, torch.SymInt) and size.node.expr == end.node.expr:
            end = None
    if not all(isinstance(v, int) or v is None for v in (start, end, step)):
        return _symbolic_slice(ctx, x, d, start, step)
    start = 0 if start is None else start
    end = 2**62 if end is None else end
    if n == DYN:
        if start < 0 or end < 0:
            return _slice_from_the_end(ctx, x, d, start, end, step)
        size = ctx.meta().shape[d]
        if isinstance(size, int) and end < 2**31:  # a static window of a dynamic dim
            from ..dialects import builders_nn as nn

            pos = tg.constant(
                list(range(start, start + size * step, step)), ir.IntegerType.get_signless(64)
            )
            return nn.index_select(x, pos, d)
        return tg.slice(x, d, start, -1 if end >= 2**31 else end, step)
    start = min(max(start + n if start < 0 else start, 0), n)
    end = min(max(end + n if end < 0 else end, start), n)
    if (start, end, step) == (0, n, 1):
        return x
    return tg.slice(x, d, start, end, step)


def _slice_from_the_end(ctx, x, d, start, end, step):
    """A slice of a dynamic dim with a bound counted from its end: x[:, :-1] (a language
    model's logits before the shifted targets) or x[:, -k:] (the last k), as an
    index_select at run-time positions."""
    from ..dialects import builders_nn as nn

    size = ctx.meta().shape[d]
    i64 = ir.IntegerType.get_signless(64)
    if start >= 0 and -2**31 < end < 0 and step == 1:
        # positions start .. n + end - 1: an iota over a slice that long, moved to start
        pos = nn.iota(tg.slice(x, d, start - end, -1, 1), d)
        return nn.index_select(x, tg.add(pos, start) if start else pos, d)
    if start < 0 and end >= 2**31 and step == 1 and isinstance(size, int) and size == -start:
        # the last k: n - k + 0 .. k-1
        offset = tg.sub(tg.dim_size(x, d), tg.constant(-start, i64))
        return nn.index_select(x, tg.add(tg.constant(list(range(size)), i64), offset), d)
    unsupported("negative slice bounds on a dynamic dim")


def _symbolic_slice(ctx, x, d, start, step):
    """x[start::step][:n] along d with n symbolic: an index_select of start + step * iota,
    the iota sized by an input dim that has the result's (symbolic) length."""
    from ..dialects import builders_nn as nn

    length = ctx.meta().shape[d]
    source = size_source(ctx, length) if isinstance(length, torch.SymInt) else None
    start = 0 if start is None else start
    if source is None or not isinstance(start, int) or not isinstance(step, int) or start < 0:
        unsupported("slice with symbolic bounds")
    pos = nn.iota(*source)
    if step != 1:
        pos = tg.mul(pos, step)
    if start:
        pos = tg.add(pos, start)
    return nn.index_select(x, pos, d)


@IMPORT.register(aten.select.int)
def import_select(ctx, x, dim, index):
    shape = shape_of(x)
    d = dim % len(shape)
    if not isinstance(index, int):
        unsupported("select at a symbolic index")
    i = index + shape[d] if index < 0 and shape[d] != DYN else index
    if shape[d] == DYN:  # a slice of a dynamic dim has a dynamic size: take index i instead
        from ..dialects import builders_nn as nn

        position = tg.constant(i, ir.IntegerType.get_signless(64))
        if i < 0:  # from the end (x[:, -1], a last token): the size is known at run time
            position = tg.add(tg.dim_size(x, d), position)
        return nn.index_select(x, position, d)
    return tg.reshape(tg.slice(x, d, i, i + 1, 1), output_shape(ctx))


@IMPORT.register(aten.cat.default)
def import_cat(ctx, xs, dim=0):
    dtype = ctx.out_dtype()
    xs = [
        as_dtype(x, dtype) for x in xs if not (shape_of(x) == (0,) and len(ctx.meta().shape) != 1)
    ]
    return tg.cat(xs, dim)


@IMPORT.register(aten.stack.default)
def import_stack(ctx, xs, dim=0):
    rank = len(shape_of(xs[0])) + 1
    d = dim % rank
    parts = [tg.reshape(x, (*shape_of(x)[:d], 1, *shape_of(x)[d:])) for x in xs]
    return tg.cat(parts, d)


# --- constants ----------------------------------------------------------------------


def _fill(ctx, value):
    return broadcast_to_meta(ctx, as_dtype(value, ctx.out_dtype()))


IMPORT.register(aten.full.default)(lambda ctx, size, value, **kw: _fill(ctx, value))
IMPORT.register(aten.zeros.default)(lambda ctx, size, **kw: _fill(ctx, 0))
IMPORT.register(aten.ones.default)(lambda ctx, size, **kw: _fill(ctx, 1))
IMPORT.register(aten.scalar_tensor.default)(lambda ctx, value, **kw: _fill(ctx, value))
IMPORT.register(aten.zeros_like.default)(lambda ctx, x, **kw: _fill(ctx, 0))
IMPORT.register(aten.ones_like.default)(lambda ctx, x, **kw: _fill(ctx, 1))
IMPORT.register(aten.full_like.default)(lambda ctx, x, value, **kw: _fill(ctx, value))


@IMPORT.register(aten.split.Tensor, aten.split_with_sizes.default)
def import_split(ctx, x, split_size, dim=0):
    shape = shape_of(x)
    d = dim % len(shape)
    outs, start = [], 0
    for val in ctx.meta():
        size = val.shape[d]
        if not isinstance(size, int):
            unsupported("split of a dynamic dim")
        outs.append(tg.slice(x, d, start, start + size, 1) if size != shape[d] else x)
        start += size
    return outs


@IMPORT.register(aten.chunk.default)
def import_chunk(ctx, x, chunks, dim=0):
    return import_split(ctx, x, None, dim)


@IMPORT.register(aten.tril.default, aten.triu.default)
def import_tril(ctx, x, diagonal=0):
    from ..dialects import builders_nn as nn

    rank = len(shape_of(x))
    rows = tg.reshape(nn.iota(x, rank - 2), (shape_of(x)[-2], 1))
    cols = nn.iota(x, rank - 1)
    offset = tg.sub(cols, rows)  # col - row, broadcast to the last two dims
    keep = (
        tg.le(offset, diagonal) if ctx.node.target is aten.tril.default else tg.ge(offset, diagonal)
    )
    return tg.where(keep, x, tg.scalar(0, x))


def size_source(ctx: ImportContext, size) -> tuple[ir.Value, int] | None:
    """An imported tensor and dim whose (dynamic) size is the symbolic `size`."""
    return dim_with_size(ctx, size.node.expr)


def _dynamic_arange(ctx, args):
    from ..dialects import builders_nn as nn

    target = ctx.node.target
    start, step = 0, 1
    if target is aten.arange.start:
        start = args[0]
    elif target is aten.arange.start_step:
        start, step = args[0], args[2]
    if not all(isinstance(v, (int, float)) for v in (start, step)):
        unsupported("arange with a symbolic start or step")
    source = size_source(ctx, ctx.meta().shape[0])
    if source is None:
        unsupported("arange with a dynamic length no input size gives")
    out = nn.iota(*source)
    elem = element_type_of(ctx.out_dtype())
    out = tg.convert(out, elem)
    if step != 1:
        out = tg.mul(out, tg.scalar(step, elem))
    return tg.add(out, tg.scalar(start, elem)) if start else out


@IMPORT.register(aten.arange.default, aten.arange.start, aten.arange.start_step)
def import_arange(ctx, *args, **kwargs):
    out = ctx.meta()
    if not isinstance(out.shape[0], int):
        return _dynamic_arange(ctx, args)
    vals = [a for a in args if isinstance(a, (int, float))]
    start, step = (0, 1) if len(vals) == 1 else (vals[0], vals[2] if len(vals) > 2 else 1)
    import numpy as np

    values = start + step * np.arange(out.shape[0])
    return tg.constant(values, element_type_of(out.dtype))
