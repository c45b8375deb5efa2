"""GPU contraction kernel: `out += a * b` generics (matmul, bmm, transposed variants) tiled
through shared memory. See Note [gpu kernel schemes] in gpu_kernels.py.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, memref

from .gpu_kernels import (
    TILE,
    Generic,
    barrier,
    cidx,
    constant,
    delinearize,
    for_loop,
    if_then,
    if_value,
    lt,
    make_launch,
    product,
    shared_type,
)


def dims_of(m: ir.AffineMap) -> set[int] | None:
    if not all(isinstance(e, ir.AffineDimExpr) for e in m.results):
        return None
    return {e.position for e in m.results}


def contraction_dims(g: Generic) -> tuple[int, int, int] | None:
    """(m, n, k) loop positions if `g` is a float `out += a * b` contraction, else None."""
    if len(g.inputs) != 2 or len(g.outputs) != 1 or g.parallel.count(False) != 1:
        return None
    types = {str(ir.MemRefType(v.type).element_type) for v in g.operands}
    elem = ir.MemRefType(g.outputs[0].type).element_type
    if len(types) != 1 or not isinstance(elem, ir.FloatType):
        return None
    ops = list(g.block.operations)
    if [o.name for o in ops] != ["arith.mulf", "arith.addf", "linalg.yield"]:
        return None
    a, b, acc = g.block.arguments
    mul, add, yld = ops
    if {v for v in mul.operands} != {a, b} or a == b:
        return None
    if set(add.operands) != {mul.result, acc} or yld.operands[0] != add.result:
        return None
    sa, sb, so = (dims_of(m) for m in g.maps)
    if sa is None or sb is None or so is None:
        return None
    k = g.parallel.index(False)
    ms, ns = sa - sb - {k}, sb - sa - {k}
    if k not in sa or k not in sb or len(ms) != 1 or len(ns) != 1:
        return None
    m, n = ms.pop(), ns.pop()
    if m not in so or n not in so:
        return None
    return m, n, k


def contraction_kernel(g: Generic, m: int, n: int, k: int) -> None:
    ranges = g.ranges()
    batch = [d for d in range(g.n_loops) if d not in (m, n, k)]
    M, N, K = ranges[m], ranges[n], ranges[k]
    elem = ir.MemRefType(g.outputs[0].type).element_type
    tile = cidx(TILE)
    grid = [arith.ceildivui(N, tile), arith.ceildivui(M, tile), product([ranges[d] for d in batch])]
    tile_ty = shared_type([TILE, TILE], elem)
    body, ids = make_launch(grid, [tile, tile, cidx(1)], [tile_ty, tile_ty])
    a_sh, b_sh = ids["shared"]
    tx, ty = ids["tx"], ids["ty"]
    with ir.InsertionPoint.at_block_terminator(body):
        bidx = delinearize(ids["bz"], [ranges[d] for d in batch])
        row = arith.addi(arith.muli(ids["by"], tile), ty)
        col = arith.addi(arith.muli(ids["bx"], tile), tx)
        zero = constant(elem, 0.0)

        def full(mi, ni, ki):
            idx = [cidx(0)] * g.n_loops
            for d, v in zip(batch, bidx):
                idx[d] = v
            idx[m], idx[n], idx[k] = mi, ni, ki
            return idx

        def both(c1, c2):
            return arith.andi(c1, c2)

        def k_tile(t, accs):
            ka = arith.addi(t, tx)
            va = if_value(
                both(lt(row, M), lt(ka, K)), elem,
                lambda: g.load(0, full(row, cidx(0), ka)), lambda: zero,
            )
            memref.StoreOp(va, a_sh, [ty, tx])
            kb = arith.addi(t, ty)
            vb = if_value(
                both(lt(kb, K), lt(col, N)), elem,
                lambda: g.load(1, full(cidx(0), col, kb)), lambda: zero,
            )
            memref.StoreOp(vb, b_sh, [ty, tx])
            barrier()

            def dot(kk, acc):
                x = memref.LoadOp(a_sh, [ty, kk]).result
                y = memref.LoadOp(b_sh, [kk, tx]).result
                return [arith.addf(acc[0], arith.mulf(x, y))]

            out = for_loop(cidx(0), tile, cidx(1), accs, dot)
            barrier()
            return out

        (acc,) = for_loop(cidx(0), K, tile, [zero], k_tile)

        def store():
            out_idx = g.indices(2, full(row, col, cidx(0)))
            old = memref.LoadOp(g.outputs[0], out_idx).result
            memref.StoreOp(arith.addf(old, acc), g.outputs[0], out_idx)

        if_then(both(lt(row, M), lt(col, N)), store)
