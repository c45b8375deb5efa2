"""Fusion of consecutive parallel loop nests that share their outer dims (bufferized loops).

Note [row fusion]
~~~~~~~~~~~~~~~~~
linalg's elementwise fusion stops at reductions: softmax over rows becomes four loop nests
(row max, exp of the shifted row, row sum, division), layer_norm four more, each a separate
pass over memory and a separate fork/join of the thread team. On buffers they read

    scf.parallel (b, h, i, _) to (4, 4, 128, 1)   { for j: m[b,h,i] = max(m[b,h,i], x[b,h,i,j]) }
    scf.parallel (b, h, i, j) to (4, 4, 128, 128) { e[b,h,i,j] = exp(x[b,h,i,j] - m[b,h,i]) }
    ...

Consecutive top-level scf.parallel loops whose leading dims have the same bounds fuse over
those dims, the rest of each nest kept, in order, inside:

    scf.parallel (b, h, i) to (4, 4, 128) {
      scf.parallel (_) to (1)   { for j: m[b,h,i] = max(...) }
      scf.parallel (j) to (128) { e[b,h,i,j] = exp(x[b,h,i,j] - m[b,h,i]) }
      ...
    }

so a row is read from memory once and stays in L1 for the following passes, and the team
forks once. Legal when every buffer that one of two fused nests writes and the other touches
is accessed, in both, at exactly the outer induction variables in its leading indices
(through views that keep those dims): iteration (b, h, i) then only depends on itself. Any
other access of such a buffer (a call, a view that moves the leading dims, an index that is
not the induction variable) stops the fusion. Allocations, views and constants between the
nests move above the fused loop; any other op ends a group.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import scf

from .cpu_parallel import _static_trip
from .registry import function_blocks

_VIEWS = ("memref.expand_shape", "memref.collapse_shape")
# Other ops whose result aliases their operand: followed to find the buffer, never aligned.
ALIASES = (*_VIEWS, "memref.subview", "memref.cast", "memref.reinterpret_cast",
            "memref.transpose", "memref.view")
_MOVABLE = ("memref.alloc", "arith.constant", *_VIEWS)
_ACCESSES = ("memref.load", "memref.store", "vector.load", "vector.store")
_WRITES = ("memref.store", "vector.store")


def _dims(loop) -> int:
    return len(loop.operands) // 3


def _same_value(a: ir.Value, b: ir.Value) -> bool:
    """Equal SSA values, or constants with the same value."""
    if a == b:
        return True
    oa, ob = a.owner, b.owner
    return (
        isinstance(oa, ir.OpView) and isinstance(ob, ir.OpView)
        and oa.operation.name == ob.operation.name == "arith.constant"
        and oa.attributes["value"] == ob.attributes["value"]
    )


def _is_const(v: ir.Value, value: int) -> bool:
    owner = v.owner
    return (isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant"
            and isinstance(owner.attributes["value"], ir.IntegerAttr)
            and ir.IntegerAttr(owner.attributes["value"]).value == value)


def _bounds(loop) -> list[tuple[ir.Value, ir.Value, ir.Value]]:
    n = _dims(loop)
    ops = list(loop.operands)
    return [(ops[d], ops[n + d], ops[2 * n + d]) for d in range(n)]


def _common_prefix(a, b) -> int:
    """How many leading dims of loops with bounds `a` and `b` run 0..ub step 1 alike."""
    r = 0
    for (lo1, hi1, st1), (lo2, hi2, st2) in zip(a, b):
        if not (_is_const(lo1, 0) and _is_const(lo2, 0) and _is_const(st1, 1) and _is_const(st2, 1)
                and _same_value(hi1, hi2)):
            break
        r += 1
    return r


def _view_keeps_leading(view, r: int) -> bool:
    groups = [list(ir.ArrayAttr(g)) for g in ir.ArrayAttr(view.attributes["reassociation"])]
    return len(groups) >= r and all(
        len(g) == 1 and ir.IntegerAttr(g[0]).value == i for i, g in enumerate(groups[:r])
    )


def access_index(op, v: ir.Value) -> list[ir.Value]:
    """The index operands of the load or store `op` (one of _ACCESSES) of memref `v`."""
    first = 2 if op.name in _WRITES else 1
    return list(op.operands)[first:first + ir.MemRefType(v.type).rank]


def _root(v: ir.Value, r: int | None = None) -> tuple[ir.Value, bool]:
    """(the buffer `v` views, whether every view on the way keeps the leading r dims)."""
    keeps = True
    while isinstance(v.owner, ir.OpView) and v.owner.operation.name in ALIASES:
        if v.owner.operation.name not in _VIEWS or (
            r is not None and not _view_keeps_leading(v.owner, r)
        ):
            keeps = False
        v = v.owner.operands[0]
    return v, keeps


def buffer_of(v: ir.Value) -> ir.Value:
    """The buffer a memref value views (through every aliasing op)."""
    return _root(v)[0]


class _Footprint:
    """The buffers a loop nest touches: for each root, its accesses and whether it writes."""

    def __init__(self, loop):
        self.loop = loop
        self.accesses: dict = {}  # root -> list of (op, memref value)
        self.writes: set = set()
        self.opaque: set = set()  # roots used other than by loads and stores

        def visit(op):
            for i, v in enumerate(op.operands):
                if not isinstance(v.type, ir.MemRefType):
                    continue
                root, _ = _root(v)
                if op.name in _ACCESSES and i == (1 if op.name in _WRITES else 0):
                    self.accesses.setdefault(root, []).append((op, v))
                    if op.name in _WRITES:
                        self.writes.add(root)
                elif op.name not in ALIASES:
                    self.opaque.add(root)
            return ir.WalkResult.ADVANCE

        loop.walk(visit)

    def roots(self) -> set:
        return set(self.accesses) | self.opaque

    def aligned(self, root, r: int) -> bool:
        """Every access of `root` indexes it with this nest's first r induction variables
        leading: through views that keep those dims, or through views that only add or
        drop unit dims (then unit dims and loop dims of trip 1 are left out of the match)."""
        if root in self.opaque:
            return False
        ivs = list(self.loop.regions[0].blocks[0].arguments)[:r]
        trips = [_static_trip(*b) for b in _bounds(self.loop)[:r]]
        moving = [iv for iv, t in zip(ivs, trips) if t != 1]
        for op, v in self.accesses.get(root, []):
            index = access_index(op, v)
            if _unit_reshapes_only(v):
                shape = ir.MemRefType(v.type).shape
                kept = [x for x, size in zip(index, shape) if size != 1]
                if len(kept) < len(moving) or any(x != iv for x, iv in zip(kept, moving)):
                    return False
            elif not _root(v, r)[1] or len(index) < r or any(x != iv for x, iv in zip(index, ivs)):
                return False
        return True


def _non_unit(t: ir.MemRefType) -> list[int]:
    return [s for s in t.shape if s != 1]


def _unit_reshapes_only(v: ir.Value) -> bool:
    """Every view from the buffer to `v` only inserts or removes unit dims (identity layouts),
    so the non-unit dims of `v` index the buffer's non-unit dims one to one."""
    while isinstance(v.owner, ir.OpView) and v.owner.operation.name in ALIASES:
        src = v.owner.operands[0]
        if v.owner.operation.name not in _VIEWS or (
            _non_unit(ir.MemRefType(src.type)) != _non_unit(ir.MemRefType(v.type))
        ):
            return False
        v = src
    layout = ir.MemRefType(v.type).layout
    return isinstance(layout, ir.AffineMapAttr) and layout.value == ir.AffineMap.get_identity(
        ir.MemRefType(v.type).rank
    )


def _independent(a: _Footprint, b: _Footprint, r: int) -> bool:
    """Note [row fusion]'s legality for nests a, b fused over r dims."""
    for root in a.roots() & b.roots():
        if root in a.writes or root in b.writes or root in a.opaque or root in b.opaque:
            if not (a.aligned(root, r) and b.aligned(root, r)):
                return False
    return True


def _fuse(group: list, r: int) -> None:
    """Replace the nests of `group` (in order) by one nest over their first r dims."""
    first = group[0]
    idx = ir.IndexType.get()
    lo, hi, step = zip(*_bounds(first)[:r])
    with ir.InsertionPoint(first), first.location:
        fused = scf.ParallelOp([], list(lo), list(hi), list(step), [])
        body = fused.region.blocks.append(*[idx] * r)
        with ir.InsertionPoint(body):
            scf.ReduceOp([], 0)
    outer = list(body.arguments)
    terminator = list(body.operations)[-1]
    for loop in group:
        bounds = _bounds(loop)
        ivs = list(loop.regions[0].blocks[0].arguments)
        target_end, inner = terminator, []
        if len(bounds) > r:
            rest = bounds[r:]
            with ir.InsertionPoint(terminator), loop.location:
                nest = scf.ParallelOp([], [b[0] for b in rest], [b[1] for b in rest],
                                      [b[2] for b in rest], [])
                nest_body = nest.region.blocks.append(*[idx] * len(rest))
                with ir.InsertionPoint(nest_body):
                    target_end = scf.ReduceOp([], 0)
            inner = list(nest_body.arguments)
        for op in list(loop.regions[0].blocks[0].operations)[:-1]:  # all but scf.reduce
            op.operation.move_before(target_end)
        for old, new in zip(ivs, outer + inner):
            old.replace_all_uses_with(new)
        loop.erase()


def fuse_parallel_loops(module: ir.Operation) -> int:
    """Fuse the groups of Note [row fusion] in every function's body; returns how many nests
    were fused away."""
    return sum(_fuse_block(block) for block in function_blocks(module))


def _fuse_block(block: ir.Block) -> int:
    groups, group, moved, r = [], [], [], 0

    def close():
        nonlocal group, moved
        if len(group) > 1:
            groups.append((group, moved, r))
        group, moved = [], []

    for op in list(block.operations):
        op = op.operation
        if op.name == "scf.parallel":
            fp = _Footprint(op)
            if group:
                nr = min(r, _common_prefix(_bounds(group[-1].loop), _bounds(op)))
                if nr >= 1 and all(_independent(g, fp, nr) for g in group):
                    group.append(fp)
                    r = nr
                    continue
                close()
            group, r = [fp], _dims(op)
        elif group and op.name in _MOVABLE:
            moved.append(op)
        else:
            close()
    close()
    count = 0
    for members, between, r in groups:
        head = members[0].loop
        for op in between:
            op.move_before(head)
        _fuse([m.loop for m in members], r)
        count += len(members) - 1
    return count
