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
from ..cpu_matmul import DOT_MAX_ROWS
from ..triangular_zeros import ATTRS as ZERO_ATTRS
from .common import dim, empty, fill, scalar_const, sizes_of


def _zeros(op, sizes):
    elem = element_type(op.result)
    return fill(scalar_const(0, elem), empty(sizes, elem))


# x @ w.T (B a transpose) has two forms; by measurement (1 thread, MLP-sized operands):
#   in place B^T read through a transposed indexing map: the CPU kernel (lowering/cpu_matmul.py)
#            runs the dot kernel for few rows and otherwise transposes B^T while packing
#            its panels (no materialized transpose, no serial pass over the weight);
#   swapped  (w @ x^T)^T: the broadcast kernel on w as A (any layout is free there), with
#            only x and the result transposed: best when M * (K + N) < N * K, i.e. a
#            weight much bigger than the activations (64x2048 @ 2048x2048^T: 4.3 ms dot,
#            3.2 ms swapped, eager 3.8 ms), where each thread's packed panel would serve
#            few row tiles.
# With a dynamic row count neither choice can be made at compile time, and B^T is read in
# place: the packing kernel handles any row count, while a materialized transpose of the
# weight would cost a pass over it on every call (the MLP above under dynamic=True: 7.7 ms
# with its three weight transposes, 5.1 ms in place, static 4.6 ms, eager 6.2 ms).


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


def _swap_pays(m: int, k: int, n: int) -> bool:
    return min(m, k, n) >= 0 and m * (k + n) < n * k


def _swapped(lhs, w, init):
    """lhs @ w^T as (w @ lhs^T)^T (see above); `init` gives the result's sizes and type."""
    elem = element_type(lhs)
    m, k, n = dim(lhs, 0), dim(lhs, 1), dim(w, 0)
    xt = linalg.transpose(lhs, outs=[empty([k, m], elem)], permutation=[1, 0])
    ct = linalg.matmul(w, xt, outs=[fill(scalar_const(0, elem), empty([n, m], elem))])
    return linalg.transpose(ct, outs=[init], permutation=[1, 0])


def _contract(lhs, rhs, init, batch: bool):
    """C += A B. A transposed A is read in place through a transposed indexing map (the
    CPU kernel loads A one element at a time, so any layout of A is free); a transposed B
    takes one of the forms above."""
    op = linalg.batch_matmul if batch else linalg.matmul
    rows = shape_of(lhs)[-2]
    b_src = _transposed_source(rhs, batch)
    if b_src is not None and not batch and rows >= DOT_MAX_ROWS:
        if _swap_pays(rows, shape_of(lhs)[1], shape_of(b_src)[0]):
            return _swapped(lhs, b_src, empty(sizes_of(init), element_type(init)))
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


def _keep_zero_marks(op, result: ir.Value) -> ir.Value:
    """Copy Note [triangular zeros]'s marks (lowering/triangular_zeros.py) from the tg
    product to its linalg contraction; they are in terms of the product's loops, which the
    in-place transposed forms keep. The swapped form exchanges its operands: no marks."""
    owner = result.owner if isinstance(result, ir.Value) else None
    if owner is not None and owner.operation.name in ("linalg.matmul", "linalg.batch_matmul"):
        for name in ZERO_ATTRS.values():
            if name in op.attributes:
                owner.attributes[name] = op.attributes[name]
    return result


@LOWER.register(L.MmOp)
def lower_mm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.rhs, 1)])
    return _keep_zero_marks(op, _contract(op.lhs, op.rhs, init, batch=False))


@LOWER.register(L.BmmOp)
def lower_bmm(op):
    init = _zeros(op, [dim(op.lhs, 0), dim(op.lhs, 1), dim(op.rhs, 2)])
    return _keep_zero_marks(op, _contract(op.lhs, op.rhs, init, batch=True))
