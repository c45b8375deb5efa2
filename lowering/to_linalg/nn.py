"""Lowering of the nn primitives of dialects/ops_nn.py: convolution (linalg conv named ops on
a zero-padded input), index_select (a gather written as a linalg.generic with
tensor.extract) and iota (linalg.index).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from ...dialects import ops_nn as N
from ...dialects.registry import LOWER
from ...dialects.tg import from_attr
from ...dialects.types import DYN, element_type, normalize_dim, shape_of, tensor_type
from .common import (
    Size,
    as_index,
    collapse_to,
    dim,
    empty,
    expand_to,
    fill,
    generic,
    identity_map,
    index,
    mixed,
    scalar_const,
    sizes_of,
)


def _i64() -> ir.Type:
    return ir.IntegerType.get_signless(64)


@LOWER.register(N.IotaOp)
def lower_iota(op):
    like = op.like
    d = normalize_dim(op.dim.value, len(shape_of(like)))
    init = empty([dim(like, d)], _i64())
    body = lambda out: arith.index_cast(_i64(), linalg.IndexOp(0).result)  # noqa: E731
    return generic([], [init], [identity_map(1)], ["parallel"], body)[0]


@LOWER.register(N.IndexSelectOp)
def lower_index_select(op):
    # out[pre, j..., post] = x[pre, index[j...], post]; negative indices count from the end
    x, idx = op.input, op.index
    rx, ri = len(shape_of(x)), len(shape_of(idx))
    d = normalize_dim(op.dim.value, rx)
    xs, isz = sizes_of(x), sizes_of(idx)
    out_sizes = [*xs[:d], *isz, *xs[d + 1 :]]
    rank = len(out_sizes)
    init = empty(out_sizes, element_type(x))
    size = arith.index_cast(element_type(idx), as_index(xs[d]))
    idx_map = ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(d + j) for j in range(ri)])

    def body(i, _out):
        zero = arith.constant(element_type(idx), 0)
        wrapped = arith.select(arith.cmpi(arith.CmpIPredicate.slt, i, zero), arith.addi(i, size), i)
        pos = [linalg.IndexOp(j).result for j in range(d)]
        pos.append(arith.index_cast(ir.IndexType.get(), wrapped))
        pos += [linalg.IndexOp(d + ri + k).result for k in range(rx - d - 1)]
        return tensor.extract(x, pos)

    return generic([idx], [init], [idx_map, identity_map(rank)], ["parallel"] * rank, body)[0]


def _padded(x: ir.Value, pads: list[int]) -> ir.Value:
    """x (N, C, *spatial) zero-padded by pads[i] on both sides of spatial dim i."""
    if not any(pads):
        return x
    sizes = sizes_of(x)
    new_sizes: list[Size] = list(sizes[:2])
    for s, p in zip(sizes[2:], pads):
        new_sizes.append(s + 2 * p if isinstance(s, int) else arith.addi(s, index(2 * p)))
    elem = element_type(x)
    dest = fill(scalar_const(0, elem), empty(new_sizes, elem))
    dyn, static = mixed(sizes)
    rank = len(sizes)
    return tensor.insert_slice(x, dest, [], dyn, [], [0, 0, *pads], static, [1] * rank)


def _out_size(s: Size, k: int, stride: int, pad: int, dil: int) -> Size:
    if isinstance(s, int):
        return (s + 2 * pad - dil * (k - 1) - 1) // stride + 1
    span = arith.subi(arith.addi(s, index(2 * pad)), index(dil * (k - 1) + 1))
    return arith.addi(arith.divui(span, index(stride)), index(1))


@LOWER.register(N.ConvolutionOp)
def lower_convolution(op):
    x, w = op.input, op.weight
    if len(shape_of(x)) != 4:
        raise ValueError(f"only 2-d convolution lowers to linalg, got input {x.type}")
    stride, pad = from_attr(op.attributes["stride"]), from_attr(op.attributes["padding"])
    dil, groups = from_attr(op.attributes["dilation"]), op.groups.value
    ws = shape_of(w)
    if DYN in ws:
        raise ValueError(f"expects a static weight shape, got {w.type}")
    xp = _padded(x, pad)
    xs = sizes_of(x)
    out_sp = [_out_size(xs[2 + i], ws[2 + i], stride[i], pad[i], dil[i]) for i in range(2)]
    elem = element_type(x)
    kw = {"strides": stride, "dilations": dil}
    if groups == 1:
        init = fill(scalar_const(0, elem), empty([xs[0], ws[0], *out_sp], elem))
        return linalg.conv_2d_nchw_fchw(xp, w, outs=[init], **kw)
    # grouped: view channels as (G, C/G) and filters as (G, O/G) for conv_2d_ngchw_gfchw
    g, cg, og = groups, ws[1], ws[0] // groups
    ps = sizes_of(xp)
    pshape = shape_of(xp)
    xg = expand_to(
        xp, [[0], [1, 2], [3], [4]], tensor_type((pshape[0], g, cg, *pshape[2:]), elem),
        [ps[0], g, cg, *ps[2:]],
    )
    wg = expand_to(w, [[0, 1], [2], [3], [4]], tensor_type((g, og, *ws[1:]), elem), [g, og, *ws[1:]])
    rshape = shape_of(op.result)
    init = fill(
        scalar_const(0, elem),
        empty([xs[0], g, og, *out_sp], elem),
    )
    out = linalg.conv_2d_ngchw_gfchw(xg, wg, outs=[init], **kw)
    return collapse_to(out, [[0], [1, 2], [3], [4]], tensor_type(rshape, elem))
