"""CPU transposes: a bufferized linalg.transpose that moves the innermost dimension becomes a
cache-blocked loop nest (Note [cpu transpose kernel]).

Note [cpu transpose kernel]
~~~~~~~~~~~~~~~~~~~~~~~~~~~
convert-linalg-to-parallel-loops writes out[.., i, .., j] = in[.., j, .., i] row by row of
the output, so every read of a row of `out` touches a new cache line of `in` (and, for a
2048-wide input, a new page): 15-20 ns an element, measured; a 2048x2048 weight
transposed per call cost 78 ms. Instead, T x T tiles (T = the f32 vector width: 8 with
AVX2, 16 with AVX-512):

    scf.parallel (outer dims..., a0 step T, b0 step T)     first dim spread over threads
      if the tile is full:                                 T vector loads (rows of `in`,
        rows = in[.., b0+r, .., a0 : a0+T]  (r < T)        contiguous along a), one 2-D
        out[.., a0+c, .., b0 : b0+T] = transpose(rows)[c]  butterfly of shuffles, T
      else:                                                vector stores
        out[.., a, .., b] = in[..]  for a, b in the tile   (edges, element by element)

Measured (1 thread): 0.45 ns an element for 1024x256, 0.84 for 2048x2048, faster than
eager's `x.t().contiguous()`. Non-float element types and non-unit inner strides use the
scalar tiles only. Only transposes whose output innermost dim is not the input's innermost
dim are rewritten (others already stream both operands).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, memref, scf, vector

from .cpu_loop_hints import explicit_loop
from .cpu_matmul import _c, host_vector_bits
from .registry import ops_named

TILE = 16


def _size(v: ir.Value, d: int) -> ir.Value:
    s = ir.MemRefType(v.type).shape[d]
    return _c(s) if s != ir.ShapedType.get_dynamic_size() else memref.dim(v, _c(d))


def _unit_inner(v: ir.Value) -> bool:
    strides, _ = ir.MemRefType(v.type).get_strides_and_offset()
    return bool(strides) and strides[-1] == 1


def emit_transpose(src: ir.Value, dst: ir.Value, perm: list[int],
                   rows: tuple[ir.Value, ir.Value] | None = None):
    """The loop nest of Note [cpu transpose kernel] at the current insertion point; returns
    its scf.parallel. `rows` restricts its first dim to [lo, hi) (a thread's share)."""
    rank = len(perm)
    inner = rank - 1
    a_dim = perm.index(rank - 1)  # the output dim that runs along the input's rows
    outer = [d for d in range(rank) if d not in (a_dim, inner)]
    dims = [*outer, a_dim, inner]
    sizes = {d: _size(dst, d) for d in range(rank)}
    elem = ir.MemRefType(dst.type).element_type
    tile = _tile(dst)
    steps = [1] * len(outer) + [tile, tile]
    lows, highs = [_c(0)] * rank, [sizes[d] for d in dims]
    if rows is not None:
        lows[0], highs[0] = rows
    loop = scf.ParallelOp([], lows, highs, [_c(s) for s in steps], [])
    body = loop.region.blocks.append(*[ir.IndexType.get()] * rank)
    with ir.InsertionPoint(body):
        ivs = dict(zip(dims, body.arguments))
        vectorized = _is_float(elem) and tile > 1 and _unit_inner(src) and _unit_inner(dst)
        if vectorized:
            full = arith.andi(*[
                arith.cmpi(arith.CmpIPredicate.sle, arith.addi(ivs[d], _c(tile)), sizes[d])
                for d in (a_dim, inner)
            ])
            branch = scf.IfOp(full, has_else=True)
            with ir.InsertionPoint(branch.then_block):
                _vector_tile(src, dst, perm, ivs, a_dim, inner, tile, elem)
                scf.YieldOp([])
            with ir.InsertionPoint(branch.else_block):
                _scalar_tile(src, dst, perm, ivs, sizes, a_dim, inner, tile)
                scf.YieldOp([])
        else:
            _scalar_tile(src, dst, perm, ivs, sizes, a_dim, inner, tile)
        scf.ReduceOp([], 0)
    return loop.operation


def _tile(dst: ir.Value) -> int:
    """The tile edge: the vector's lanes for floats, TILE for the scalar tiles of others."""
    elem = ir.MemRefType(dst.type).element_type
    return max(host_vector_bits() // ir.FloatType(elem).width, 1) if _is_float(elem) else TILE


def _elements(v: ir.Value) -> int:
    n = 1
    for s in ir.MemRefType(v.type).shape:
        n *= (1 << 30) if s == ir.ShapedType.get_dynamic_size() else s
    return n


def _is_float(elem: ir.Type) -> bool:
    return isinstance(elem, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))


def _source_index(perm: list[int], out_index: list[ir.Value]) -> list[ir.Value]:
    in_index = [None] * len(perm)
    for k, v in enumerate(out_index):
        in_index[perm[k]] = v
    return in_index


def _vector_tile(src, dst, perm, ivs, a_dim, inner, tile, elem) -> None:
    """A full tile in registers: `tile` rows of the input (contiguous along a), transposed
    by `transpose_rows`, stored as `tile` rows of the output (contiguous along b)."""
    rank = len(perm)
    row_t = ir.VectorType.get([tile], elem)
    rows = []
    for bb in range(tile):
        b = ivs[inner] if bb == 0 else arith.addi(ivs[inner], _c(bb))
        out_index = [{a_dim: ivs[a_dim], inner: b}.get(d, ivs.get(d)) for d in range(rank)]
        rows.append(vector.load(row_t, src, _source_index(perm, out_index)))
    for aa, row in enumerate(transpose_rows(rows)):
        a = ivs[a_dim] if aa == 0 else arith.addi(ivs[a_dim], _c(aa))
        out_index = [{a_dim: a, inner: ivs[inner]}.get(d, ivs.get(d)) for d in range(rank)]
        vector.store(row, dst, out_index)


def transpose_rows(rows: list[ir.Value]) -> list[ir.Value]:
    """Transpose a T x T matrix held as T 1-D vectors (T a power of two) with T*log2(T)
    two-source shuffles (Note [butterfly transpose]).

    Note [butterfly transpose]
    ~~~~~~~~~~~~~~~~~~~~~~~~~~
    Transposing [[A, B], [C, D]] gives [[A', C'], [B', D']]: swap the off-diagonal blocks,
    then transpose every block. Level d (d = T/2, ..., 1) swaps the off-diagonal d x d blocks
    of every 2d x 2d block, i.e. exchanges bit d of the row and column index where they
    differ; the levels touch different bits, so together they transpose. For a row pair
    (r, r + d) with bit d of r clear, one level is two shuffles of the pair:
        new[r][c]     = c & d ? old[r + d][c - d] : old[r][c]
        new[r + d][c] = c & d ? old[r + d][c]     : old[r][c + d]
    Each lowers to one two-source shufflevector (vpermt2ps with AVX-512). A 2-D
    vector.transpose would do the same in principle, but canonicalize rewrites it into
    per-element to_elements/from_elements: 512 element moves and 10x the LLVM code for a
    16 x 16 tile, which dominated JIT time for graphs with transposes.
    """
    t = len(rows)
    d = t // 2
    while d >= 1:
        low = [c if not c & d else t + c - d for c in range(t)]
        high = [c + d if not c & d else t + c for c in range(t)]
        out = list(rows)
        for r in range(t):
            if r & d:
                continue
            out[r] = vector.shuffle(rows[r], rows[r + d], low)
            out[r + d] = vector.shuffle(rows[r], rows[r + d], high)
        rows = out
        d //= 2
    return rows


def _scalar_tile(src, dst, perm, ivs, sizes, a_dim, inner, tile) -> None:
    """A (partial) tile one element at a time."""
    rank = len(perm)

    def tile_end(d):
        return arith.minsi(arith.addi(ivs[d], _c(tile)), sizes[d])

    a_loop = scf.ForOp(ivs[a_dim], tile_end(a_dim), _c(1))
    with ir.InsertionPoint(a_loop.body):
        b_loop = scf.ForOp(ivs[inner], tile_end(inner), _c(1))
        with ir.InsertionPoint(b_loop.body):
            at = {**ivs, a_dim: a_loop.induction_variable, inner: b_loop.induction_variable}
            out_index = [at[d] for d in range(rank)]
            memref.store(memref.load(src, _source_index(perm, out_index)), dst, out_index)
            scf.YieldOp([])
        scf.YieldOp([])
        explicit_loop(b_loop)
    explicit_loop(a_loop)  # edges: a few elements per call (Note [explicit loops])


# 2-D transposes up to this many elements share one kernel on dynamic shapes (Note
# [shared kernels], lowering/cpu_parallel.py).
SHARED_MAX_ELEMENTS = 1 << 20


def rewrite_transposes(module: ir.Operation) -> int:
    """Replace every bufferized linalg.transpose that moves the innermost dim; returns how
    many were replaced. Threaded 2-D ones of at most SHARED_MAX_ELEMENTS call a kernel
    shared by all shapes; others (and all with outer dims, which may fuse with their
    neighbours' loops) are loop nests in place."""
    from .cpu_parallel import MIN_WORK, SharedKernels

    found = ops_named(module, "linalg.transpose")
    kernels = SharedKernels(module)
    count = 0
    for op in found:
        src, dst = op.operands[0], op.operands[1]
        if not all(isinstance(v.type, ir.MemRefType) for v in (src, dst)):
            continue
        perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
        if len(perm) < 2 or perm[-1] == len(perm) - 1:
            continue
        with ir.InsertionPoint(op), op.location:
            if len(perm) == 2 and _elements(dst) <= SHARED_MAX_ELEMENTS and _shared_work(src, dst) >= MIN_WORK:
                kernels.call(("transpose", str(ir.MemRefType(dst.type).element_type)),
                             (_c(0), _size(dst, 0), _c(_tile(dst))), [src, dst],
                             lambda lo, hi, s, d: emit_transpose(s, d, [1, 0], (lo, hi)),
                             general=True)
            else:
                emit_transpose(src, dst, perm)
        op.erase()
        count += 1
    return count


_TILE_WORK: dict[tuple, int] = {}


def _shared_work(src: ir.Value, dst: ir.Value) -> int:
    """`cpu_parallel._work` of the loop nest emit_transpose would write for a static 2-D
    transpose, without writing it: the tiles times the work of one tile, which depends only
    on the types and is measured once per process on a nest emitted and erased (building
    each nest only to count it cost 9 of the MLP's 45 ms of MLIR passes)."""
    from .cpu_parallel import _body_work

    rows, cols = ir.MemRefType(dst.type).shape
    tile = _tile(dst)
    key = (str(ir.MemRefType(dst.type).element_type), tile, _unit_inner(src), _unit_inner(dst))
    if key not in _TILE_WORK:
        probe = emit_transpose(src, dst, [1, 0])
        _TILE_WORK[key] = _body_work(probe)
        probe.erase()
    return -(-rows // tile) * -(-cols // tile) * max(1, _TILE_WORK[key])
