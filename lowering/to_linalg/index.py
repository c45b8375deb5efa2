"""Lowering of the indexing primitives of dialects/ops_index.py.

gather is a parallel linalg.generic over the index reading the input with tensor.extract.
scatter_add is written without a write-conflict: a linalg.generic over (result dims x the
index's `dim`) whose reduction adds src where the index equals the result position. It
costs size(dim) times more than a sequential scatter, and stays a plain parallel loop nest
on every target. insert_slice is tensor.insert_slice with the step as stride.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from ...dialects import ops_index as I
from ...dialects.registry import LOWER
from ...dialects.types import element_type, is_float, normalize_dim, shape_of
from .common import (
    as_index, empty, generic, identity_map, insert_slice, scalar_const, sizes_of,
)


def _wrapped(i: ir.Value, size) -> ir.Value:
    """An integer index as `index`, a negative one counted from the end of `size`."""
    n = arith.index_cast(i.type, as_index(size))
    zero = arith.constant(i.type, 0)
    fixed = arith.select(arith.cmpi(arith.CmpIPredicate.slt, i, zero), arith.addi(i, n), i)
    return arith.index_cast(ir.IndexType.get(), fixed)


@LOWER.register(I.GatherOp)
def lower_gather(op):
    x, idx = op.input, op.index
    rank = len(shape_of(x))
    d = normalize_dim(op.dim.value, rank)
    size = sizes_of(x)[d]
    init = empty(sizes_of(idx), element_type(x))

    def body(i, _out):
        pos = [linalg.IndexOp(j).result for j in range(rank)]
        pos[d] = _wrapped(i, size)
        return tensor.extract(x, pos)

    maps = [identity_map(rank), identity_map(rank)]
    return generic([idx], [init], maps, ["parallel"] * rank, body)[0]


@LOWER.register(I.ScatterAddOp)
def lower_scatter_add(op):
    # out[p] = input[p] + sum_r (index[p with dim -> r] == p[dim]) * src[p with dim -> r]
    x, idx, src = op.input, op.index, op.src
    rank = len(shape_of(x))
    d = normalize_dim(op.dim.value, rank)
    elem = element_type(x)
    size = sizes_of(x)[d]
    loops = rank + 1  # the result dims, then r (the index's position along dim)
    src_exprs = [ir.AffineDimExpr.get(rank if j == d else j) for j in range(rank)]
    src_map = ir.AffineMap.get(loops, 0, src_exprs)
    out_map = ir.AffineMap.get(loops, 0, [ir.AffineDimExpr.get(j) for j in range(rank)])
    add = arith.addf if is_float(elem) else arith.addi

    def body(i, s, acc):
        hit = arith.cmpi(arith.CmpIPredicate.eq, _wrapped(i, size), linalg.IndexOp(d).result)
        return add(acc, arith.select(hit, s, scalar_const(0, elem)))

    iterators = ["parallel"] * rank + ["reduction"]
    return generic([idx, src], [x], [src_map, src_map, out_map], iterators, body)[0]


@LOWER.register(I.InsertSliceOp)
def lower_insert_slice(op):
    dest, src = op.dest, op.src
    rank = len(shape_of(dest))
    d = normalize_dim(op.dim.value, rank)
    offsets = [0] * rank
    strides = [1] * rank
    offsets[d], strides[d] = op.start.value, op.step.value
    return insert_slice(src, dest, offsets, strides)


@LOWER.register(I.StopGradientOp)
def lower_stop_gradient(op):
    return op.input
