"""Row-local buffers: a temporary that only one parallel nest uses, each iteration its own
slice, becomes a small per-iteration stack buffer (Note [row-local buffers]).

Note [row-local buffers]
~~~~~~~~~~~~~~~~~~~~~~~~
Bufferization gives every intermediate of a layer_norm or a softmax a buffer of the whole
tensor, and row fusion (Note [row fusion], lowering/cpu_fuse_loops.py) then runs them all
in one nest over rows:

    %c = memref.alloc() : memref<4x128x256xf32>           // x - mean, 512 KB
    scf.parallel (b, i) to (4, 128) {
      ... for j: %c[b, i, j] = x[b, i, j] - m[b, i]       // written here
      ... for j: y[b, i, j] = %c[b, i, j] * r[b, i]       // and read back, same row
    }

Each row of %c is written and read by one iteration only, and nothing else touches %c,
so the row never needs to leave the core. Such a buffer is replaced by a stack buffer of
one iteration's slice:

    scf.parallel (b, i) to (4, 128) {
      %c_row = memref.alloca() : memref<256xf32>
      ... %c_row[j] ...
    }

and once tg-cpu-outline-parallel has made the nest a function over a thread's share of
the rows, tg-cpu-hoist-row-buffers moves the slice to that function's entry block: one per
thread, reused by its rows in turn (an iteration writes the slice before it reads it, as
it did the whole buffer). In the entry block LLVM sees an ordinary static alloca, and the
one-float accumulators of row statistics become registers (after LLVM's O3 only the row
slices are left as allocas). Left in the loop, each iteration would grow the stack; in an
alloca scope (stacksave/stackrestore per iteration) the allocas are dynamic to LLVM and
stay in memory: the block's inference measured 1-2% slower than with whole buffers that
way (two pairs).

Measured on a GPT-2 block (d256, t128, b4): the inference module's heap allocations went
from 23 to 13 (its two layer_norm nests and its softmax nest), the training forward's
from 22 to 13, the backward's from 38 to 34. bench/variants.py, ROW_BUFFERS on vs off:
the training step 20.74/20.86/20.26 vs 21.15/20.59/21.22 ms and 14.93/14.64 vs
15.17/15.00 ms (4 of 5 pairs faster, about 1.5%); the inference step and
layer_norm(softmax(x @ w)) unchanged within noise (4.735/4.536 vs 4.608/4.573 ms;
2.592/2.628/2.567 vs 2.615/2.601/2.536 ms): their rows were in L2 already.

Conditions, all checked: the buffer is a memref.alloc with a static shape and the identity
layout, used only by its dealloc, by views of it (expand/collapse_shape: identity layouts
too) and by loads and stores inside one top-level scf.parallel, each of which indexes it
at that nest's induction variables in its leading dims (the test row fusion uses,
`_Footprint.aligned`); the slice is at most MAX_ROW_BYTES, a nest's slices together at
most MAX_NEST_BYTES (an OpenMP worker's stack is small). A load or store through a view
then reads the slice at the offset of its remaining indices in that view (views of an
identity-layout buffer are contiguous, so the slice is contiguous in all of them).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, memref, vector

from .cpu_fuse_loops import (_ACCESSES, _VIEWS, _WRITES, _Footprint, _bounds, _root, _unit_reshapes_only,
                             access_index)
from .cpu_parallel import _is_within, _static_trip
from .registry import function_blocks, register_pass

# Set to False to keep whole-tensor temporaries (bench/variants.py A/B runs).
ROW_BUFFERS = True
# A bigger slice stays a whole-tensor buffer: the stack of an OpenMP worker is small.
MAX_ROW_BYTES = 32 << 10
MAX_NEST_BYTES = 128 << 10  # and all the slices of one nest together
ROW_ATTR = "dynamlir.row_buffer"  # marks the slices, for tg-cpu-hoist-row-buffers


@register_pass("tg-cpu-row-buffers")
def row_buffers(module, pass_):
    """Replace temporaries that one parallel nest uses row by row with per-iteration stack
    buffers (Note [row-local buffers], lowering/cpu_row_buffers.py).

    Requires: bufferized loops (after tg-cpu-fuse-parallel-loops).  Produces: memref.alloca
    at the start of scf.parallel bodies, fewer memref.alloc/dealloc pairs."""
    privatize_row_buffers(module)


def privatize_row_buffers(module: ir.Operation) -> int:
    """Note [row-local buffers] in every function's body; returns how many buffers."""
    if not ROW_BUFFERS:
        return 0
    return sum(_privatize_block(block) for block in function_blocks(module))


def _privatize_block(block: ir.Block) -> int:
    # Each alloc is checked against the one top-level nest its first access is in, and each
    # nest's footprint is computed once: a block's backward has ~40 allocs and ~20 nests.
    owner = block.owner
    candidates: dict = {}
    for op in block.operations:
        op = op.operation
        if op.name == "memref.alloc":
            access = _first_access(op.results[0])
            loop = _top_level(access, owner) if access is not None else None
            if loop is not None and loop.name == "scf.parallel":
                candidates.setdefault(loop, []).append(op)
    done = 0
    for loop, allocs in candidates.items():
        footprint = _Footprint(loop)
        r = len(loop.operands) // 3
        mine, total = [], 0
        for alloc in allocs:
            plan = _plan(alloc, loop, footprint, r)
            if plan is None:
                continue
            nbytes = plan[0] * ir.MemRefType(alloc.results[0].type).element_type.width // 8
            if total + nbytes <= MAX_NEST_BYTES:
                total += nbytes
                mine.append((alloc, plan))
        if mine:
            _rewrite(loop, mine)  # erases the allocs it privatizes
            done += len(mine)
    return done


def _first_access(buf: ir.Value):
    """A load or store of `buf` or of a view of it, or None."""
    todo = [buf]
    while todo:
        v = todo.pop()
        for use in v.uses:
            if use.owner.name in _ACCESSES:
                return use.owner
            if use.owner.name in _VIEWS:
                todo.append(use.owner.results[0])
    return None


def _top_level(op, fn):
    """The ancestor of `op` (or `op` itself) directly in the body of `fn`."""
    cur = op.operation
    while cur is not None and cur.parent is not None and cur.parent != fn:
        cur = cur.parent
    return cur if cur is not None and cur.parent == fn else None


def _plan(alloc, loop, footprint: _Footprint, r: int):
    """(slice elements, accesses, deallocs, views) when `alloc` qualifies for `loop`, else None."""
    buf = alloc.results[0]
    t = ir.MemRefType(buf.type)
    if not t.has_static_shape or list(alloc.operands) or not _identity(t):
        return None
    accesses, deallocs, views = [], [], []
    todo = [buf]
    while todo:
        v = todo.pop()
        for use in v.uses:
            user = use.owner
            name = user.name
            if name == "memref.dealloc" and v == buf:
                deallocs.append(user)
            elif name in _VIEWS and use.operand_number == 0:
                if not _identity(ir.MemRefType(user.results[0].type)):
                    return None
                views.append(user)
                todo.append(user.results[0])
            elif name in _ACCESSES and use.operand_number == (1 if name in _WRITES else 0):
                if not _is_within(user, loop) or not _vector_along_slice(user, v, r):
                    return None
                accesses.append((user, v))
            else:
                return None
    if not accesses or not footprint.aligned(buf, r):
        return None
    trips = [_static_trip(*b) for b in _bounds(loop)[:r]]
    if any(t_ is None for t_ in trips):
        return None
    elements = 1
    for s in t.shape:
        elements *= s
    matched = 1
    for t_ in trips:
        matched *= t_
    width = getattr(t.element_type, "width", None)
    if width is None or elements % matched or (elements // matched) * width // 8 > MAX_ROW_BYTES:
        return None
    return elements // matched, accesses, deallocs, views


def _vector_along_slice(op, view: ir.Value, r: int) -> bool:
    """A scalar access, or a 1-D vector one along the view's last dim beyond the nest's r
    leading dims (its lanes then lie in one iteration's slice)."""
    if not op.name.startswith("vector."):
        return True
    vt = ir.VectorType(op.operands[0].type if op.name in _WRITES else op.results[0].type)
    return vt.rank == 1 and ir.MemRefType(view.type).rank > r


def _identity(t: ir.MemRefType) -> bool:
    layout = t.layout
    return isinstance(layout, ir.AffineMapAttr) and layout.value == ir.AffineMap.get_identity(t.rank)


def _suffix_strides(shape: list[int]) -> list[int]:
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= s
    return strides[::-1]


def _remaining(view: ir.Value, index: list[ir.Value], ivs: list[ir.Value], moving: int
               ) -> list[tuple[ir.Value, int]]:
    """(index, stride) of the dims of `view` that are not the nest's induction variables
    `ivs` (`moving` of them with a trip count other than 1): the slice offset is their dot
    product (Note [row-local buffers])."""
    shape = ir.MemRefType(view.type).shape
    strides = _suffix_strides(shape)
    r = len(ivs)
    if _root(view, r)[1] and len(index) >= r and all(x == iv for x, iv in zip(index, ivs)):
        dims = range(r, len(shape))
    else:  # unit reshapes only (the other way `aligned` accepts): skip the matched dims
        assert _unit_reshapes_only(view)
        non_unit = [d for d, s in enumerate(shape) if s != 1]
        dims = non_unit[moving:]
    return [(index[d], strides[d]) for d in dims if shape[d] != 1]


def _rewrite(loop, mine) -> None:
    body = loop.regions[0].blocks[0]
    r = len(loop.operands) // 3
    ivs = list(body.arguments)[:r]
    moving = sum(1 for b in _bounds(loop)[:r] if _static_trip(*b) != 1)
    idx = ir.IndexType.get()
    for alloc, (elements, accesses, deallocs, views) in mine:
        elem = ir.MemRefType(alloc.results[0].type).element_type
        with ir.InsertionPoint.at_block_begin(body), alloc.location:
            row = memref.alloca(ir.MemRefType.get([elements], elem), [], [],
                                alignment=ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 64))
            row.owner.attributes[ROW_ATTR] = ir.UnitAttr.get()
        for op, view in accesses:
            write = op.name in _WRITES
            index = access_index(op, view)
            with ir.InsertionPoint(op), op.location:
                offset = None
                for x, stride in _remaining(view, index, ivs, moving):
                    term = x if stride == 1 else arith.muli(x, arith.constant(idx, stride))
                    offset = term if offset is None else arith.addi(offset, term)
                offset = offset if offset is not None else arith.constant(idx, 0)
                if op.name == "memref.load":
                    new = memref.load(row, [offset])
                elif op.name == "memref.store":
                    memref.store(op.operands[0], row, [offset])
                elif op.name == "vector.load":
                    new = vector.load(op.results[0].type, row, [offset])
                else:
                    vector.store(op.operands[0], row, [offset])
            if not write:
                op.results[0].replace_all_uses_with(new)
            op.erase()
        for op in deallocs:
            op.erase()
        for view in reversed(views):
            view.erase()
        alloc.erase()


@register_pass("tg-cpu-hoist-row-buffers")
def hoist_row_buffers(module, pass_):
    """Move the row buffers of Note [row-local buffers] from their loop bodies to the start
    of their function, once the nests are outlined (tg-cpu-outline-parallel).

    Requires: tg-cpu-row-buffers, then tg-cpu-outline-parallel.  Produces: every marked
    memref.alloca in its function's entry block."""
    for fn in module.regions[0].blocks[0].operations:
        if fn.operation.name != "func.func" or not fn.regions[0].blocks:
            continue
        entry = fn.regions[0].blocks[0]
        found = []

        def visit(op):
            if op.name == "memref.alloca" and ROW_ATTR in op.attributes:
                found.append(op)
            return ir.WalkResult.ADVANCE

        fn.operation.walk(visit)
        first = list(entry.operations)[0] if found else None
        for op in found:
            if op.block != entry:
                op.move_before(first)
