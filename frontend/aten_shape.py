"""ATen -> tg rules for padding, splitting, repeating and constant-making ops (the ones not
in aten.py): pad in all four modes, unbind, narrow, repeat, diagonal, new_* factories.
"""

from __future__ import annotations

import numpy as np
import torch

from ..dialects import builders as tg
from ..dialects import builders_nn as nn
from ..dialects.types import DYN, shape_of
from .aten import IMPORT, as_dtype, unsupported
from .aten_view import _fill
from .aten_index import bool_constant, i64
from .fx_importer import static_dims
from .symbolic_sizes import output_shape

aten = torch.ops.aten


# --- padding ------------------------------------------------------------------------


def constant_block(x, d: int, amount: int, value):
    """A block of `value` shaped like x but `amount` long on dim d (dynamic sizes from x)."""
    shape = list(shape_of(x))
    shape[d] = amount
    block = tg.broadcast_to(tg.scalar(value, x), [1 if s == DYN else s for s in shape])
    if DYN not in shape:
        return block
    ref = tg.convert(tg.slice(x, d, 0, 1), i64())  # integers: the condition is never NaN
    return tg.where(tg.eq(ref, ref), block, block)


def pad_constant(x, d: int, left: int, right: int, value):
    n = shape_of(x)[d]
    if left < 0 or right < 0:  # negative padding crops
        if n == DYN and right < 0:
            unsupported("negative padding at the end of a dynamic dim")
        x = tg.slice(x, d, max(-left, 0), n - max(-right, 0) if n != DYN else -1)
        left, right = max(left, 0), max(right, 0)
    parts = [constant_block(x, d, left, value)] if left else []
    parts.append(x)
    if right:
        parts.append(constant_block(x, d, right, value))
    return tg.cat(parts, d) if len(parts) > 1 else x


def pad_index(n: int, left: int, right: int, mode: str) -> np.ndarray:
    """Source positions of a reflect / replicate / circular padded dim of size n."""
    pos = np.arange(-left, n + right)
    if mode == "reflect":
        period = 2 * (n - 1)
        pos = np.abs(pos) % period
        return np.where(pos >= n, period - pos, pos)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    return pos % n  # circular


def pad(x, pads, mode="constant", value=0.0):
    rank = len(shape_of(x))
    for i in range(len(pads) // 2):
        d = rank - 1 - i
        left, right = pads[2 * i], pads[2 * i + 1]
        if not left and not right:
            continue
        if mode == "constant":
            x = pad_constant(x, d, left, right, value)
            continue
        n = shape_of(x)[d]
        if n == DYN:
            unsupported(f"{mode} padding of a dynamic dim")
        x = nn.index_select(x, tg.constant(pad_index(n, left, right, mode), i64()), d)
    return x


@IMPORT.register(aten.pad.default)
def import_pad(ctx, x, pads, mode="constant", value=None):
    return pad(x, list(pads), mode, 0.0 if value is None else value)


@IMPORT.register(aten.constant_pad_nd.default)
def import_constant_pad(ctx, x, pads, value=0):
    return pad(x, list(pads), "constant", value)


for _mode, _ops in (
    (
        "reflect",
        (
            aten.reflection_pad1d.default,
            aten.reflection_pad2d.default,
            aten.reflection_pad3d.default,
        ),
    ),
    (
        "replicate",
        (
            aten.replication_pad1d.default,
            aten.replication_pad2d.default,
            aten.replication_pad3d.default,
        ),
    ),
    ("circular", (aten._pad_circular.default,)),
):
    IMPORT.register(*_ops)(lambda ctx, x, pads, _m=_mode: pad(x, list(pads), _m))


# --- splitting and repeating --------------------------------------------------------


@IMPORT.register(aten.unbind.int)
def import_unbind(ctx, x, dim=0):
    d = dim % len(shape_of(x))
    out = static_dims(ctx.meta()[0].shape) if ctx.meta() else []
    return [tg.reshape(tg.slice(x, d, i, i + 1), out) for i in range(shape_of(x)[d])]


@IMPORT.register(aten.narrow.default)
def import_narrow(ctx, x, dim, start, length):
    d = dim % len(shape_of(x))
    n = shape_of(x)[d]
    if not isinstance(start, int) or not isinstance(length, int):
        unsupported("narrow with symbolic bounds")
    if start < 0:
        if n == DYN:
            unsupported("narrow with a negative start on a dynamic dim")
        start += n
    return tg.slice(x, d, start, start + length)


@IMPORT.register(aten.repeat.default)
def import_repeat(ctx, x, repeats):
    shape = [1] * (len(repeats) - len(shape_of(x))) + list(shape_of(x))
    if DYN in shape:
        unsupported("repeat of a dynamic tensor")
    x = tg.reshape(x, shape)
    spread = [v for s in shape for v in (1, s)]
    wide = [v for r, s in zip(repeats, shape) for v in (r, s)]
    out = tg.broadcast_to(tg.reshape(x, spread), wide)
    return tg.reshape(out, [r * s for r, s in zip(repeats, shape)])


@IMPORT.register(aten.expand_as.default, aten.view_as.default, aten.reshape_as.default)
def import_as(ctx, x, other):
    out = static_dims(ctx.meta().shape)
    if ctx.node.target is aten.expand_as.default:
        return tg.broadcast_to(x, out)
    return tg.reshape(x, out)


@IMPORT.register(aten.movedim.int, aten.moveaxis.int, aten.swapaxes.default, aten.swapdims.default)
def import_movedim(ctx, x, src, dst):
    rank = len(shape_of(x))
    s, t = src % rank, dst % rank
    if ctx.node.target in (aten.swapaxes.default, aten.swapdims.default):
        return tg.transpose(x, s, t)
    perm = [i for i in range(rank) if i != s]
    perm.insert(t, s)
    return tg.permute(x, perm)


@IMPORT.register(aten.diagonal.default)
def import_diagonal(ctx, x, offset=0, dim1=0, dim2=1):
    rank = len(shape_of(x))
    a, b = dim1 % rank, dim2 % rank
    rest = [i for i in range(rank) if i not in (a, b)]
    x = tg.permute(x, [*rest, a, b])
    n, m = shape_of(x)[-2:]
    if DYN in (n, m):
        unsupported("diagonal of dynamic dims")
    if offset >= 0:
        x = tg.slice(x, rank - 1, min(offset, m), m)
    else:
        x = tg.slice(x, rank - 2, min(-offset, n), n)
    n, m = shape_of(x)[-2:]
    k = min(n, m)
    x = tg.slice(tg.slice(x, rank - 2, 0, k), rank - 1, 0, k)
    if k == 0:
        return tg.reshape(tg.reduce_sum(x, [rank - 1], False), output_shape(ctx))
    eye = bool_constant(np.eye(k))
    return tg.reduce_sum(tg.where(eye, x, tg.scalar(0, x)), [rank - 1], False)


@IMPORT.register(aten.trace.default)
def import_trace(ctx, x):
    return tg.reduce_sum(as_dtype(import_diagonal(ctx, x), ctx.out_dtype()), [], False)


@IMPORT.register(aten.diag_embed.default)
def import_diag_embed(ctx, x, offset=0, dim1=-2, dim2=-1):
    if offset or (dim1, dim2) not in ((-2, -1), (len(shape_of(x)) - 1, len(shape_of(x)))):
        unsupported("diag_embed with an offset or other dims")
    k = shape_of(x)[-1]
    if k == DYN:
        unsupported("diag_embed of a dynamic dim")
    eye = bool_constant(np.eye(k))
    col = tg.reshape(x, (*shape_of(x), 1))
    return tg.where(eye, col, tg.scalar(0, x))


# --- factories ----------------------------------------------------------------------


# Fills of a dynamic shape take its sizes from the symbolic ones (aten_view.broadcast_to_meta).
IMPORT.register(aten.new_zeros.default)(lambda ctx, x, size, **kw: _fill(ctx, 0))
IMPORT.register(aten.new_ones.default)(lambda ctx, x, size, **kw: _fill(ctx, 1))
IMPORT.register(aten.new_full.default)(lambda ctx, x, size, v, **kw: _fill(ctx, v))
# empty tensors hold unspecified values: zeros are one valid choice
IMPORT.register(aten.new_empty.default)(lambda ctx, x, size, **kw: _fill(ctx, 0))
IMPORT.register(aten.empty_like.default)(lambda ctx, x, **kw: _fill(ctx, 0))
IMPORT.register(aten.empty.memory_format)(lambda ctx, size, **kw: _fill(ctx, 0))


@IMPORT.register(aten.eye.default, aten.eye.m)
def import_eye(ctx, n, m=None, **kw):
    m = n if m is None or isinstance(m, torch.dtype) else m
    from .fx_importer import element_type_of

    return tg.constant(np.eye(n, m), element_type_of(ctx.out_dtype()))


@IMPORT.register(aten.linspace.default)
def import_linspace(ctx, start, end, steps, **kw):
    from .fx_importer import element_type_of

    if not all(isinstance(v, (int, float)) for v in (start, end)):
        unsupported("linspace with tensor bounds")
    values = torch.linspace(start, end, steps, dtype=ctx.out_dtype())
    return tg.constant(values.numpy(), element_type_of(ctx.out_dtype()))
