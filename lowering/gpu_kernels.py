"""GPU kernel construction: each bufferized linalg.generic becomes one gpu.launch.

Three schemes, picked per op (see Note [gpu kernel schemes]); all index computation that
depends on dynamic sizes happens on the host before the launch, so grid sizes and bounds
are plain index values the outliner turns into kernel arguments.
"""

from __future__ import annotations

import math

from torch_mlir import ir
from torch_mlir.dialects import affine, arith, memref, scf

# Note [gpu kernel schemes]
# - elementwise (all loops parallel): the iteration space is linearized, one thread per
#   point, BLOCK threads per block, a bounds check on the tail block.
# - reduction whose body is `combine(acc, f(inputs))` for a known associative combiner:
#   one block per output point; each thread folds a strided slice of the reduction space
#   serially, then a shared-memory tree (log2(threads) steps with barriers) combines the
#   partials, and thread 0 folds the result into the initial output value.
# - contraction (`out += a * b` with exactly one m, n and k loop, any batch loops): a
#   TILE x TILE output tile per block, A and B tiles staged through shared memory.
# - any other reduction (several outputs, unknown combiner): one thread per output point
#   with a serial loop over the reduction space. Correct, not fast.
BLOCK = 256
TILE = 16
WORKGROUP = "#gpu.address_space<workgroup>"

# Combiner op -> identity element (as a Python value for its element type).
COMBINERS = {
    "arith.addf": 0.0,
    "arith.mulf": 1.0,
    "arith.maximumf": -math.inf,
    "arith.maxnumf": -math.inf,
    "arith.minimumf": math.inf,
    "arith.minnumf": math.inf,
    "arith.addi": 0,
    "arith.muli": 1,
    "arith.ori": 0,
    "arith.xori": 0,
    "arith.andi": -1,
    "arith.maxsi": "min",
    "arith.minsi": "max",
}


class KernelError(Exception):
    """A linalg op this module cannot turn into a kernel."""


def cidx(n: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), n).result


def constant(ty: ir.Type, value) -> ir.Value:
    if isinstance(ty, ir.FloatType):
        return arith.ConstantOp(ty, ir.FloatAttr.get(ty, float(value))).result
    width = ir.IntegerType(ty).width
    if value == "min":
        value = -(1 << (width - 1)) if width > 1 else 0
    elif value == "max":
        value = (1 << (width - 1)) - 1 if width > 1 else 1
    if width == 1:
        value = value & 1
    return arith.ConstantOp(ty, ir.IntegerAttr.get(ty, int(value))).result


def binop(name: str, a: ir.Value, b: ir.Value) -> ir.Value:
    return ir.Operation.create(name, results=[a.type], operands=[a, b]).result


def product(values: list[ir.Value]) -> ir.Value:
    out = cidx(1)
    for v in values:
        out = arith.muli(out, v)
    return out


def lt(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.cmpi(arith.CmpIPredicate.ult, a, b)


def delinearize(lin: ir.Value, ranges: list[ir.Value]) -> list[ir.Value]:
    """Row-major indices of `lin` in a space of `ranges` (the last index varies fastest)."""
    out = []
    for r in reversed(ranges):
        out.append(arith.remui(lin, r))
        lin = arith.divui(lin, r)
    return out[::-1]


def make_launch(grid, block, shared: list[ir.Type]):
    """A gpu.launch with `shared` workgroup buffers; returns (block, ids) where ids holds the
    block ids 'bx','by','bz', thread ids 'tx','ty','tz' and the workgroup buffers 'shared'."""
    seg = ir.DenseI32ArrayAttr.get([0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    i64 = ir.IntegerType.get_signless(64)
    op = ir.Operation.create(
        "gpu.launch",
        operands=[*grid, *block],
        attributes={
            "operandSegmentSizes": seg,
            "workgroup_attributions": ir.IntegerAttr.get(i64, len(shared)),
        },
        regions=1,
    )
    body = op.regions[0].blocks.append(*([ir.IndexType.get()] * 12), *shared)
    with ir.InsertionPoint(body):
        ir.Operation.create("gpu.terminator")
    args = list(body.arguments)
    ids = dict(zip(["bx", "by", "bz", "tx", "ty", "tz"], args[:6]))
    ids["shared"] = args[12:]
    return body, ids


def shared_type(shape: list[int], elem: ir.Type) -> ir.Type:
    return ir.MemRefType.get(shape, elem, memory_space=ir.Attribute.parse(WORKGROUP))


def barrier():
    ir.Operation.create("gpu.barrier")


def if_then(cond: ir.Value, build) -> None:
    op = scf.IfOp(cond)
    with ir.InsertionPoint(op.then_block):
        build()
        scf.YieldOp([])


def if_value(cond: ir.Value, ty: ir.Type, then, other) -> ir.Value:
    op = scf.IfOp(cond, [ty], has_else=True)
    with ir.InsertionPoint(op.then_block):
        scf.YieldOp([then()])
    with ir.InsertionPoint(op.else_block):
        scf.YieldOp([other()])
    return op.results[0]


def for_loop(lb, ub, step, inits: list[ir.Value], build) -> list[ir.Value]:
    """scf.for with iter_args; `build(iv, args) -> new args` fills the body."""
    loop = scf.ForOp(lb, ub, step, inits)
    with ir.InsertionPoint(loop.body):
        scf.YieldOp(build(loop.induction_variable, list(loop.inner_iter_args)))
    return list(loop.results)


class Generic:
    """The facts about a linalg.generic on memrefs that every scheme needs."""

    def __init__(self, op: ir.OpView):
        self.op = op
        self.maps = [ir.AffineMapAttr(a).value for a in op.attributes["indexing_maps"]]
        its = [str(a) for a in op.attributes["iterator_types"]]
        self.parallel = ["parallel" in s for s in its]
        self.inputs = list(op.inputs)
        self.outputs = list(op.outputs)
        self.operands = self.inputs + self.outputs
        self.block = op.regions[0].blocks[0]
        self.n_loops = len(its)
        for v in self.operands:
            if not isinstance(v.type, ir.MemRefType):
                raise KernelError(f"expects memref operands (bufferize first), got {v.type}")

    def ranges(self) -> list[ir.Value]:
        """Host-side extent of every loop, from the first operand dimension it indexes."""
        out = []
        for d in range(self.n_loops):
            for v, m in zip(self.operands, self.maps):
                pos = [i for i, e in enumerate(m.results) if is_dim(e, d)]
                if pos:
                    size = ir.MemRefType(v.type).shape[pos[0]]
                    out.append(cidx(size) if size >= 0 else memref.DimOp(v, cidx(pos[0])).result)
                    break
            else:
                raise KernelError(f"loop {d} is not the plain index of any operand dimension")
        return out

    def indices(self, k: int, idx: list[ir.Value]) -> list[ir.Value]:
        """Operand k's indices for loop indices `idx` (affine.apply for non-trivial maps)."""
        out = []
        for e in self.maps[k].results:
            if isinstance(e, ir.AffineDimExpr):
                out.append(idx[e.position])
            elif isinstance(e, ir.AffineConstantExpr):
                out.append(cidx(e.value))
            else:
                m = ir.AffineMap.get(self.n_loops, 0, [e])
                out.append(affine.AffineApplyOp(m, idx).result)
        return out

    def load(self, k: int, idx: list[ir.Value]) -> ir.Value:
        return memref.LoadOp(self.operands[k], self.indices(k, idx)).result

    def inline(self, args: list[ir.Value | None], idx: list[ir.Value]) -> list[ir.Value]:
        """Move the body to the insertion point with block arguments replaced by `args` and
        linalg.index by `idx`; returns the yielded values. Consumes the body (use once)."""
        for a, v in zip(self.block.arguments, args):
            if v is not None:
                a.replace_all_uses_with(v)
        ip = ir.InsertionPoint.current
        yielded = None
        for op in list(self.block.operations):
            if op.name == "linalg.yield":
                yielded = list(op.operands)
                break
            if op.name == "linalg.index":
                dim = ir.IntegerAttr(op.attributes["dim"]).value
                op.result.replace_all_uses_with(idx[dim])
                continue
            op.detach_from_parent()
            ip.insert(op)
        assert yielded is not None, "linalg.generic body without linalg.yield"
        return yielded

    def arg_used(self, k: int) -> bool:
        return any(True for _ in self.block.arguments[k].uses)


def is_dim(e, d: int) -> bool:
    return isinstance(e, ir.AffineDimExpr) and e.position == d


def elementwise_kernel(g: Generic) -> None:
    ranges = g.ranges()
    total = product(ranges)
    nblocks = arith.ceildivui(total, cidx(BLOCK))
    body, ids = make_launch([nblocks, cidx(1), cidx(1)], [cidx(BLOCK), cidx(1), cidx(1)], [])
    with ir.InsertionPoint.at_block_terminator(body):
        gid = arith.addi(arith.muli(ids["bx"], cidx(BLOCK)), ids["tx"])

        def point():
            idx = delinearize(gid, ranges)
            args = [g.load(k, idx) if g.arg_used(k) else None for k in range(len(g.operands))]
            for k, v in enumerate(g.inline(args, idx)):
                memref.StoreOp(v, g.outputs[k], g.indices(len(g.inputs) + k, idx))

        if_then(lt(gid, total), point)


def combiner_of(g: Generic) -> str | None:
    """The combiner name if the body is `combine(acc, f(inputs))` on a single output."""
    if len(g.outputs) != 1:
        return None
    acc = g.block.arguments[len(g.inputs)]
    uses = list(acc.uses)
    term = list(g.block.operations)[-1]
    y = term.operands[0]
    if len(uses) != 1 or not isinstance(y, ir.OpResult):
        return None
    owner = y.owner
    if owner.name not in COMBINERS or uses[0].owner != owner:
        return None
    return owner.name


def split_idx(g: Generic, par: list[ir.Value], red: list[ir.Value]) -> list[ir.Value]:
    it_p, it_r = iter(par), iter(red)
    return [next(it_p) if p else next(it_r) for p in g.parallel]


def reduction_tree_kernel(g: Generic, combiner: str) -> None:
    ranges = g.ranges()
    par = [r for r, p in zip(ranges, g.parallel) if p]
    red = [r for r, p in zip(ranges, g.parallel) if not p]
    n_par, n_red = product(par), product(red)
    elem = ir.MemRefType(g.outputs[0].type).element_type
    threads = BLOCK
    static = [ir.IntegerAttr(r.owner.attributes["value"]).value for r in red
              if r.owner.name == "arith.constant"]
    if len(static) == len(red):  # small static rows do not need 256 threads
        threads = max(32, min(BLOCK, 1 << max(0, math.prod(static) - 1).bit_length()))
    body, ids = make_launch(
        [n_par, cidx(1), cidx(1)], [cidx(threads), cidx(1), cidx(1)], [shared_type([threads], elem)]
    )
    (sh,) = ids["shared"]
    tx = ids["tx"]
    with ir.InsertionPoint.at_block_terminator(body):
        pidx = delinearize(ids["bx"], par)

        def step(r, accs):
            idx = split_idx(g, pidx, delinearize(r, red))
            args = [g.load(k, idx) if g.arg_used(k) else None for k in range(len(g.inputs))]
            return g.inline(args + accs, idx)

        (acc,) = for_loop(tx, n_red, cidx(threads), [constant(elem, COMBINERS[combiner])], step)
        memref.StoreOp(acc, sh, [tx])
        barrier()
        s = threads // 2
        while s >= 1:

            def fold(s=s):
                a = memref.LoadOp(sh, [tx]).result
                b = memref.LoadOp(sh, [arith.addi(tx, cidx(s))]).result
                memref.StoreOp(binop(combiner, a, b), sh, [tx])

            if_then(lt(tx, cidx(s)), fold)
            barrier()
            s //= 2

        def finish():
            out_idx = g.indices(len(g.inputs), split_idx(g, pidx, [cidx(0)] * len(red)))
            old = memref.LoadOp(g.outputs[0], out_idx).result
            total = memref.LoadOp(sh, [cidx(0)]).result
            memref.StoreOp(binop(combiner, old, total), g.outputs[0], out_idx)

        if_then(arith.cmpi(arith.CmpIPredicate.eq, tx, cidx(0)), finish)


def serial_reduction_kernel(g: Generic) -> None:
    ranges = g.ranges()
    par = [r for r, p in zip(ranges, g.parallel) if p]
    red = [r for r, p in zip(ranges, g.parallel) if not p]
    n_par, n_red = product(par), product(red)
    nblocks = arith.ceildivui(n_par, cidx(BLOCK))
    body, ids = make_launch([nblocks, cidx(1), cidx(1)], [cidx(BLOCK), cidx(1), cidx(1)], [])
    with ir.InsertionPoint.at_block_terminator(body):
        gid = arith.addi(arith.muli(ids["bx"], cidx(BLOCK)), ids["tx"])

        def point():
            pidx = delinearize(gid, par)
            zero_idx = split_idx(g, pidx, [cidx(0)] * len(red))
            n_in = len(g.inputs)
            out_idx = [g.indices(n_in + k, zero_idx) for k in range(len(g.outputs))]
            inits = [memref.LoadOp(o, i).result for o, i in zip(g.outputs, out_idx)]

            def step(r, accs):
                idx = split_idx(g, pidx, delinearize(r, red))
                args = [g.load(k, idx) if g.arg_used(k) else None for k in range(n_in)]
                return g.inline(args + accs, idx)

            for v, o, i in zip(for_loop(cidx(0), n_red, cidx(1), inits, step), g.outputs, out_idx):
                memref.StoreOp(v, o, i)

        if_then(lt(gid, n_par), point)
