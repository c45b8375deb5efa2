"""Lowering of mm and bmm to linalg.matmul / linalg.batch_matmul on a zero-filled accumulator.

Note [contraction as named ops]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Contractions stay named ops on tensors so that elementwise fusion (which only fuses into
linalg.generic consumers) never pulls a producer into a matmul's reduction loop, where it
would be recomputed once per output column; the CPU pipeline gives them their own
register-tiled kernel (lowering/cpu_matmul.py) and the GPU pipeline generalizes them.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import linalg

from ...dialects import ops_linalg as L
from ...dialects.registry import LOWER
from ...dialects.tg import from_attr
from ...dialects.types import element_type, shape_of
from .common import dim, empty, fill, scalar_const


def _zeros(op, sizes):
    elem = element_type(op.result)
    return fill(scalar_const(0, elem), empty(sizes, elem))


# Below this many rows the dot kernel (reading B^T in place) beats transposing B (a blocked
# copy, lowering/cpu_transpose.py) and running the broadcast kernel; measured 1-thread:
# MLP 512-2048-2048-512 at batch 64 is 7.3 ms with the dot kernel, 20 ms transposing.
DOT_MAX_ROWS = 128


def _transposed_source(v: ir.Value, batch: bool) -> ir.Value | None:
    """x when `v` is x with its last two dims swapped (tg.permute or linalg.transpose)."""
    owner = v.owner
    if not isinstance(owner, ir.OpView):
        return None
    swap = [0, 2, 1] if batch else [1, 0]
    name = owner.operation.name
    if name == "tg.permute" and list(from_attr(owner.attributes["perm"])) == swap:
        return owner.operands[0]
    if name == "linalg.transpose" and list(ir.DenseI64ArrayAttr(owner.attributes["permutation"])) == swap:
        return owner.operands[0]
    return None


def _contract(lhs, rhs, init, batch: bool):
    """C += A B. A transposed A is read in place through a transposed indexing map (the
    CPU kernel loads A one element at a time, so any layout of A is free); so is a
    transposed B with few rows (B^T rows are contiguous along k: lowering/cpu_matmul.py's
    dot kernel)."""
    op = linalg.batch_matmul if batch else linalg.matmul
    rows = shape_of(lhs)[-2]
    # The dot kernel wins while the transpose it saves is a large share of the work (few
    # rows); with more rows, the copy is amortized and the broadcast kernel is faster.
    b_src = _transposed_source(rhs, batch) if 0 <= rows < DOT_MAX_ROWS else None
    a_src = _transposed_source(lhs, batch) if b_src is None else None
    if a_src is None and b_src is None:
        return op(lhs, rhs, outs=[init])
    n = 4 if batch else 3
    d = [ir.AffineDimExpr.get(i) for i in range(n)]
    b, (m, nn, k) = (d[:1], d[1:]) if batch else ([], d)
    a_map = [*b, k, m] if a_src is not None else [*b, m, k]
    b_map = [*b, nn, k] if b_src is not None else [*b, k, nn]
    maps = [ir.AffineMap.get(n, 0, e) for e in (a_map, b_map, [*b, m, nn])]
    return op(a_src or lhs, b_src or rhs, outs=[init], indexing_maps=maps)


@LOWER.register(L.MmOp)
def lower_mm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.rhs, 1)])
    return _contract(op.lhs, op.rhs, init, batch=False)


@LOWER.register(L.BmmOp)
def lower_bmm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.lhs, 1), dim(op.rhs, 2)])
    return _contract(op.lhs, op.rhs, init, batch=True)
