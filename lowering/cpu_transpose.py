"""CPU transposes: a bufferized linalg.transpose that moves the innermost dimension becomes a
cache-blocked loop nest (Note [cpu transpose kernel]).

Note [cpu transpose kernel]
~~~~~~~~~~~~~~~~~~~~~~~~~~~
convert-linalg-to-parallel-loops writes out[.., i, .., j] = in[.., j, .., i] row by row of
the output, so every read of a row of `out` touches a new cache line of `in` (and, for a
2048-wide input, a new page): 15-20 ns an element, measured; a 2048x2048 weight
transposed per call cost 78 ms. Blocking both dimensions in T x T tiles keeps the T input
lines of a tile in L1 while the tile's output rows are written:

    scf.parallel (outer dims..., a0 step T, b0 step T)     first dim spread over threads
      for a in a0..min(a0+T, A):                           A: the output dim read innermost
        for b in b0..min(b0+T, B):                         B: the output's innermost dim
          out[.., a, .., b] = in[perm^-1 (.., a, .., b)]

Only transposes whose output innermost dim is not the input's innermost dim are rewritten
(others already stream both operands).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, memref, scf

from .cpu_matmul import _c

TILE = 16


def _size(v: ir.Value, d: int) -> ir.Value:
    s = ir.MemRefType(v.type).shape[d]
    return _c(s) if s != ir.ShapedType.get_dynamic_size() else memref.dim(v, _c(d))


def emit_transpose(src: ir.Value, dst: ir.Value, perm: list[int]) -> None:
    """The loop nest of Note [cpu transpose kernel] at the current insertion point."""
    rank = len(perm)
    inner = rank - 1
    a_dim = perm.index(rank - 1)  # the output dim that runs along the input's rows
    outer = [d for d in range(rank) if d not in (a_dim, inner)]
    dims = [*outer, a_dim, inner]
    sizes = {d: _size(dst, d) for d in range(rank)}
    steps = [1] * len(outer) + [TILE, TILE]
    loop = scf.ParallelOp(
        [], [_c(0)] * rank, [sizes[d] for d in dims], [_c(s) for s in steps], []
    )
    body = loop.region.blocks.append(*[ir.IndexType.get()] * rank)
    with ir.InsertionPoint(body):
        ivs = dict(zip(dims, body.arguments))

        def tile_end(d):
            return arith.minsi(arith.addi(ivs[d], _c(TILE)), sizes[d])

        a_loop = scf.ForOp(ivs[a_dim], tile_end(a_dim), _c(1))
        with ir.InsertionPoint(a_loop.body):
            b_loop = scf.ForOp(ivs[inner], tile_end(inner), _c(1))
            with ir.InsertionPoint(b_loop.body):
                at = {**ivs, a_dim: a_loop.induction_variable, inner: b_loop.induction_variable}
                out_index = [at[d] for d in range(rank)]
                in_index = [None] * rank
                for k in range(rank):
                    in_index[perm[k]] = out_index[k]
                memref.store(memref.load(src, in_index), dst, out_index)
                scf.YieldOp([])
            scf.YieldOp([])
        scf.ReduceOp([], 0)


def rewrite_transposes(module: ir.Operation) -> int:
    """Replace every bufferized linalg.transpose that moves the innermost dim; returns how
    many were replaced."""
    found = []

    def visit(op):
        if op.name == "linalg.transpose":
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    count = 0
    for op in found:
        src, dst = op.operands[0], op.operands[1]
        if not all(isinstance(v.type, ir.MemRefType) for v in (src, dst)):
            continue
        perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
        if len(perm) < 2 or perm[-1] == len(perm) - 1:
            continue
        with ir.InsertionPoint(op), op.location:
            emit_transpose(src, dst, perm)
        op.erase()
        count += 1
    return count
