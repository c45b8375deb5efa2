"""tg-cpu-parallel-columns: a reduction over leading dims runs its kept columns on the thread
team instead of serially (Note [reductions over leading dims]).

Note [reductions over leading dims]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A sum over every dim but the last, a bias's gradient (4x128x1024 -> 1024) or a
layer_norm weight's, has its reduction loops outside its parallel one, and
convert-linalg-to-parallel-loops keeps that order:

    scf.for %b = 0 to 4 {
      scf.for %t = 0 to 128 {
        scf.parallel (%j) = (0) to (1024) step (1) { g[j] += x[b, t, j] }
      }
    }

tg-cpu-outline-parallel only hands top-level scf.parallel nests to the threads, so the
whole sum ran on the calling thread: 512 fork-free but serial passes over a 4 KB row,
memory-bound (the GPT-2 block's backward sums 1.7 M floats this way, 1.9% of the calling
thread in its training step, perf). Here the parallel loop moves outward in column blocks,
and each block keeps the reduction loops and a contiguous inner loop (which LLVM
vectorizes as before):

    scf.parallel (%c) = (0) to (1024) step (128) {
      scf.for %b = 0 to 4 {
        scf.for %t = 0 to 128 {
          scf.for %j = %c to min(%c + 128, 1024) { g[j] += x[b, t, j] }
        }
      }
    }

A block is the widest of 128, 64 and 32 columns that leaves at least four blocks (two per
thread, so that a stolen tail can move one). Each of its rows is one contiguous run and
the rows are a page apart: blocks of 32 columns read 128 bytes per 4 KB row, and the
hardware prefetcher, which stays within a page, gained little. Measured on the sums
alone (2 threads, hot caches, alternating rounds): 4x128x1024 -> 1024 took 52 us in
blocks of 32 and 35-37 us in blocks of 128 (eager 40 us), 4x128x768 29 -> 19-20 us (eager
22 us), 4x128x256 12 -> 9.5 us in blocks of 64 (eager 12 us).

Legal when iterations of the parallel loop with different induction variables never touch
the same element of a buffer the nest writes, across every iteration of the outer loops:
each such buffer is accessed, everywhere in the nest, through one memref value at one
index list that has each of the parallel loop's induction variables as an index (an
element of iteration j is never one of iteration j'). The outer loops must be a perfect
nest of scf.for without loop-carried values around the parallel loop; buffers the nest
only reads are unrestricted. Nests too small to be outlined for threads
(cpu_parallel.MIN_WORK) or with fewer than two blocks of columns are left alone.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, scf

from .cpu_fuse_loops import _Footprint, _bounds, access_index
from .cpu_matmul import _c
from .cpu_parallel import MIN_WORK, _static_trip, _work, static_int
from .registry import function_blocks, register_pass

# Set to False to keep such reductions serial (bench/variants.py A/B runs).
PARALLEL_COLUMNS = True
COLUMNS = (128, 64, 32)  # columns per block, the widest that leaves MIN_BLOCKS blocks
MIN_BLOCKS = 4


def block_columns(trip: int) -> int:
    """Columns per block for a parallel loop of `trip` columns (Note [reductions over
    leading dims]): the widest of COLUMNS with MIN_BLOCKS blocks, else the narrowest."""
    return next((c for c in COLUMNS if trip >= MIN_BLOCKS * c), COLUMNS[-1])


@register_pass("tg-cpu-parallel-columns")
def parallel_columns(module, pass_):
    """Move the parallel loop of a reduction over leading dims outward in column blocks
    (Note [reductions over leading dims], lowering/cpu_reductions.py).

    Requires: bufferized loops (convert-linalg-to-parallel-loops), before
    tg-cpu-outline-parallel.  Produces: top-level scf.parallel nests over column blocks."""
    if PARALLEL_COLUMNS:
        rewrite_reductions(module)


def rewrite_reductions(module: ir.Operation) -> int:
    """Apply the Note's rewrite to every qualifying top-level nest; returns how many."""
    count = 0
    for block in function_blocks(module):
        for op in list(block.operations):
            found = _nest(op.operation)
            if found is not None and _legal(found[1]) and _pays(*found):
                _rewrite(*found)
                count += 1
    return count


def _nest(op) -> tuple[list, ir.Operation] | None:
    """(the scf.for loops, outermost first, the scf.parallel) of a perfect nest of loops
    without loop-carried values around one scf.parallel, rooted at `op`; else None."""
    loops = []
    while op.name == "scf.for" and len(op.results) == 0:
        body = list(op.regions[0].blocks[0].operations)
        if len(body) != 2:
            return None
        loops.append(op)
        op = body[0].operation
    if not loops or op.name != "scf.parallel" or len(op.results) != 0:
        return None
    outer_ivs = [loop.regions[0].blocks[0].arguments[0] for loop in loops]
    if any(v == iv for v in op.operands for iv in outer_ivs):
        return None  # bounds that depend on the outer loops: not a rectangle to reorder
    return loops, op


def _legal(parallel) -> bool:
    """Note [reductions over leading dims]'s condition on the buffers `parallel` writes."""
    fp = _Footprint(parallel)
    ivs = list(parallel.regions[0].blocks[0].arguments)
    for root in fp.writes:
        if root in fp.opaque:
            return False
        accesses = fp.accesses[root]
        memref = accesses[0][1]
        first = access_index(accesses[0][0], memref)
        for op, v in accesses:
            if not (v == memref) or access_index(op, v) != first:
                return False
        if any(iv not in first for iv in ivs):
            return False
    return True


def _pays(loops: list, parallel) -> bool:
    lo, hi, step = _bounds(parallel)[-1]
    trip = _static_trip(lo, hi, step)
    return (trip is not None and trip >= 2 * COLUMNS[-1]
            and _work(loops[0]) >= MIN_WORK)


def _rewrite(loops: list, parallel) -> None:
    bounds = _bounds(parallel)
    idx = ir.IndexType.get()
    lo, hi, step = bounds[-1]
    columns = block_columns(_static_trip(lo, hi, step))
    with ir.InsertionPoint(loops[0]), parallel.location:
        st = static_int(step)
        block_step = _c(st * columns) if st is not None else arith.muli(step, _c(columns))
        outer = scf.ParallelOp([], [b[0] for b in bounds], [b[1] for b in bounds],
                               [b[2] for b in bounds[:-1]] + [block_step], [])
        body = outer.region.blocks.append(*[idx] * len(bounds))
        with ir.InsertionPoint(body):
            column = body.arguments[len(bounds) - 1]
            end = arith.minsi(arith.addi(column, block_step), hi)
            at = scf.ReduceOp([], 0)
    new_ivs = []
    for loop in loops:
        with ir.InsertionPoint(at), loop.location:
            copy = scf.ForOp(*list(loop.operands)[:3])
            with ir.InsertionPoint(copy.body):
                at = scf.YieldOp([])
        new_ivs.append(copy.induction_variable)
    with ir.InsertionPoint(at), parallel.location:
        inner = scf.ForOp(column, end, step)
        with ir.InsertionPoint(inner.body):
            inner_end = scf.YieldOp([])
    old_body = parallel.regions[0].blocks[0]
    for op in list(old_body.operations)[:-1]:  # all but scf.reduce
        op.operation.move_before(inner_end)
    for old, new in zip(old_body.arguments, list(body.arguments)[:-1] + [inner.induction_variable]):
        old.replace_all_uses_with(new)
    for loop, new in zip(loops, new_ivs):
        loop.regions[0].blocks[0].arguments[0].replace_all_uses_with(new)
    loops[0].erase()
