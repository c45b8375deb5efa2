"""Elementwise consumers of a matmul, applied to its accumulators as the kernel stores them.

Note [matmul epilogues]
~~~~~~~~~~~~~~~~~~~~~~~
A GPT-2 block's fc1 writes a 512x1024 C that only GELU reads, and its fc2's C only meets
the residual add. As separate ops, each is a pass over C after the kernel: read 2 MB that
left the registers moments ago, compute, write 2 MB elsewhere. Here the bufferized
elementwise op (a linalg.generic, all loops parallel) that first reads C after the matmul
is applied to the accumulators in the kernel's last k block instead, vector by vector:

    acc = A[i:i+MR, :] B[:, j:j+NR]               registers, as before
    D[i+r, j+v*VL : +VL] = f(acc[r][v], X[i+r, j+v*VL : +VL], bias[j+v*VL : +VL], s)

f is the generic's body with every scalar op rebuilt on vectors (its constants splatted),
and its other inputs are read at the element the accumulator holds: a tensor of C's shape
(through a row-major reshape), a row vector along C's columns, or a 0-d scalar. When
nothing else reads C (only views, the consumer and its dealloc), D takes C's place: earlier
k blocks keep their partial sums in D, and C is never written (its buffer is then dead and
canonicalize drops it). When C lives on (a training step saves fc1's output for the
backward), the kernel stores both.

The matmul moves down to the consumer's place, so the consumer's operands (D's alloc, its
views) exist at the call; that is allowed only when no op in between touches C or writes A
or B (another product may read them: a backward's weight gradient runs between fc2's input
gradient and the GELU backward that consumes it).
Only 2-D products on the broadcast kernel qualify (not batch_matmul, not the dot form of
few rows), with C static, row-major and contiguous.

Products on a shape-general kernel (Note [shape-general kernels], lowering/cpu_matmul.py)
keep their consumers as loops: one kernel serves all of them, and an epilogue would make
each its own. An MLP's ReLUs in the kernel took as long as in loops of their own (5.96 vs
5.91 ms) and its compile went from one matmul kernel to two.

The consumer runs on the tile just stored, read back from L1 in a loop over its rows and
vectors, not on the accumulators in registers: unrolled per accumulator, a GELU body (25
vector ops) was copied 28 times into fc1's kernel. Measured with bench/variants.py (private
code objects, rotating rounds): a GPT-2 block's inference 5.31 -> 5.25 ms (its proj and fc2
take the residual add, fc1 the GELU); the unrolled form was 1.7% faster but added 0.1-0.2 s
of compile. The training step is unchanged within noise (18.57 vs 18.64 ms): fc1's C is
kept for the backward, whose GELU backward reads three saved tensors (see MAX_TILES).

Note [epilogue prefetches]
~~~~~~~~~~~~~~~~~~~~~~~~~~
A tile input is read MR rows x NR columns at a time, 6 runs of 256 bytes in rows 4 KB
apart: the hardware prefetcher does not follow that, so each run is a miss the consumer
waits on. fc2's input gradient with the GELU backward as its epilogue (whose tile input is
fc1's saved output) took 38% longer than the product alone, against 26% for the same body
as a loop of its own. Each micro-kernel of a last k block therefore prefetches its tile
inputs' lines before its k loop (6 x 4 lines behind 256 k steps of FMAs; earlier blocks
issue none, their lines would be evicted before use). Measured on that kernel (calls of
each variant in alternating rounds, median of per-round ratios): 6.3% and 8.4% faster with
the prefetches, now within 1-3% of the separate loop; fc2's forward with the residual add
(K = 1024, four k blocks) unchanged (1.004). Unrolling the consumer over the tile's four
vectors gained another 2.4% on the GELU backward but cost 0.15-0.3 s of the block's
training compile, and is not done.

Note [column sums in the epilogue]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A Linear's bias gradient is its output gradient summed over the rows, and in a GELU MLP's
backward fc1's output gradient dH is the D of fc2's input-gradient kernel (its epilogue
the GELU backward): the sum came right after, as a pass that read dH's 2 MB again. When the
ops right after the consumer are a zero fill of a buffer of D's columns and that sum (a
linalg.generic adding D over every dim but the last into it), the kernel does the sum
instead: after storing a tile's epilogue values it adds the tile's rows, read back from
L1, into the buffer's columns, and the fill moves ahead of the kernel. Only where no two
threads share a column (a column split, or one thread): a row split would race on the
sums. Measured on the GPT-2 block's training step (per kernel, one process alternating):
the 79 us sum is gone and the kernel took 1512 vs 1500 us; the step's kernels 91 us less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch_mlir import ir
from torch_mlir.dialects import arith, memref, vector

from .cpu_fuse_loops import ALIASES, buffer_of
from .cpu_matmul import _dims, _operands_within
from .to_linalg.common import _reassoc

# Consumers reading more whole tensors besides C are left as loops of their own: a GPT-2
# block's GELU backward (three saved tensors) in fc2's input-gradient kernel made the
# training step 2% slower (24.82 vs 24.35 ms), its reads strided by the kernel's tiles.
MAX_TILES = 1
# Prefetch the tile inputs an epilogue reads before the micro-kernel's k loop (Note
# [epilogue prefetches]).
PREFETCH = True
# Sum D's columns in the kernel when a bias gradient sums them right after (Note [column
# sums in the epilogue]).
COLUMN_SUMS = True

_SCALAR_TYPES = (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type, ir.IntegerType)


@dataclass
class Epilogue:
    """The consumer `generic` of a matmul's C, and how its kernel applies it."""

    generic: ir.Operation
    kinds: list[str]  # per generic input: "acc" (C itself), "tile", "row" or "scalar"
    inputs: list[ir.Value | None]  # per generic input (None for "acc"), as the generic reads it
    out: ir.Value  # D, as the generic writes it
    keep_c: bool  # C is read later too: store it as well as D
    signature: tuple  # what the kernel's code depends on (for Note [shared kernels])
    colsum: ir.Value | None = None  # Note [column sums in the epilogue]: D's column sums
    colsum_ops: tuple = ()  # the zero fill of `colsum` and the sum the kernel replaces

    def operands(self, m: int, n: int) -> list[ir.Value]:
        """The kernel's extra operands, made at the current insertion point: D (unless it
        replaces C) and the inputs that are not C, reshaped to C's (m, n) where they are
        tiles."""
        out = [_as_matrix(self.out, m, n)] if self.keep_c else []
        for kind, value in zip(self.kinds, self.inputs):
            if kind == "tile":
                out.append(_as_matrix(value, m, n))
            elif kind in ("row", "scalar"):
                out.append(value)
        if self.colsum is not None:
            out.append(self.colsum)
        return out

    def zero_colsum_first(self) -> None:
        """Move the column sums' zero fill to the consumer's place, before the kernel that
        is emitted there accumulates into them."""
        self.colsum_ops[0].move_before(self.generic)

    def drop_colsum_loop(self) -> None:
        """Erase the loop that summed D: the kernel has done it."""
        self.colsum_ops[1].erase()

    def target(self, m: int, n: int) -> ir.Value:
        """What the kernel writes as C when nothing else reads it: D as an (m, n) matrix."""
        return _as_matrix(self.out, m, n)

    def bind(self, values: list[ir.Value]) -> "BoundEpilogue":
        """This epilogue inside a kernel whose extra arguments are `values` (as operands())."""
        values = list(values)
        out = values.pop(0) if self.keep_c else None
        inputs = [None if kind == "acc" else values.pop(0) for kind in self.kinds]
        colsum = values.pop(0) if self.colsum is not None else None
        return BoundEpilogue(self, out, inputs, colsum)


@dataclass
class BoundEpilogue:
    spec: Epilogue
    out: ir.Value | None  # None: the kernel's C is D
    inputs: list[ir.Value | None]
    colsum: ir.Value | None = None  # where D's column sums accumulate

    def apply(self, acc: ir.Value, row: ir.Value, col: ir.Value) -> ir.Value:
        """f(acc) for the accumulator vector `acc` of C[row, col : col + width]."""
        width = ir.VectorType(acc.type).shape[0]
        body = self.spec.generic.regions[0].blocks[0]
        mapping: dict = {}
        for arg, kind, value in zip(body.arguments, self.spec.kinds, self.inputs):
            elem = ir.MemRefType(value.type).element_type if value is not None else None
            if kind == "acc":
                mapping[arg] = acc
            elif kind == "tile":
                mapping[arg] = vector.load(ir.VectorType.get([width], elem), value, [row, col])
            elif kind == "row":
                mapping[arg] = vector.load(ir.VectorType.get([width], elem), value, [col])
            else:
                mapping[arg] = vector.broadcast(ir.VectorType.get([width], elem), memref.load(value, []))
        ops = list(body.operations)
        for op in ops[:-1]:
            if op.operation.name == "arith.constant":
                mapping[op.result] = _splat(op.result, width)
                continue
            operands = [mapping[v] if v in mapping else _splat(v, width) for v in op.operands]
            new = ir.Operation.create(
                op.operation.name,
                results=[ir.VectorType.get([width], r.type) for r in op.results],
                operands=operands,
                attributes={name: op.attributes[name] for name in op.attributes},
            )
            for old, res in zip(op.results, new.results):
                mapping[old] = res
        return mapping[ops[-1].operands[0]]

    def prefetch(self, rows: list[ir.Value], cols: list[ir.Value]) -> None:
        """Ask for the lines of the tile inputs that apply() will read at these rows and
        vector columns (Note [epilogue prefetches])."""
        if not PREFETCH:
            return
        for kind, value in zip(self.spec.kinds, self.inputs):
            if kind == "tile":
                for row in rows:
                    for col in cols:
                        memref.prefetch(value, [row, col], False, 3, True)


def _splat(v: ir.Value, width: int) -> ir.Value:
    """A vector of `width` copies of the scalar constant `v`."""
    vt = ir.VectorType.get([width], v.type)
    return arith.constant(vt, ir.DenseElementsAttr.get_splat(vt, v.owner.attributes["value"]))


def _row_major(t: ir.MemRefType) -> bool:
    t = ir.MemRefType(t)
    if not t.has_static_shape:
        return False
    strides, offset = t.get_strides_and_offset()
    expect, run = [], 1
    for size in reversed(t.shape):
        expect.insert(0, run)
        run *= size
    return offset == 0 and all(s == e or size == 1 for s, e, size in zip(strides, expect, t.shape))


def _as_matrix(v: ir.Value, m: int, n: int) -> ir.Value:
    """Row-major `v` as an (m, n) matrix (a collapse of its leading dims)."""
    t = ir.MemRefType(v.type)
    if t.rank == 2:
        return v
    groups = [list(range(t.rank - 1)), [t.rank - 1]]
    return memref.collapse_shape(ir.MemRefType.get([m, n], t.element_type), v, _reassoc(groups))


def _roots(op) -> set:
    return {buffer_of(v) for v in _operands_within(op) if isinstance(v.type, ir.MemRefType)}


def _written_roots(op) -> set:
    """The buffers `op` may write: a linalg op's outs (its body sees scalars only), and
    every buffer any other op touches."""
    view = op.opview
    if op.name.startswith("linalg.") and hasattr(view, "outputs"):
        return {buffer_of(v) for v in view.outputs if isinstance(v.type, ir.MemRefType)}
    return _roots(op)


def _only_consumed_by(root: ir.Value, allowed: list) -> bool:
    """Every use of buffer `root` (through views) is an op in `allowed` or a dealloc."""
    pending = [root]
    while pending:
        v = pending.pop()
        for use in v.uses:
            owner = getattr(use.owner, "operation", use.owner)
            if owner.name in ALIASES:
                pending.extend(owner.results)
            elif owner.name != "memref.dealloc" and not any(owner == a for a in allowed):
                return False
    return True


def _body_signature(body: ir.Block) -> tuple | None:
    """The consumer's body as a hashable description, or None if it cannot be vectorized:
    every op scalar, region-free and not linalg.index, capturing only scalar constants."""
    ops = list(body.operations)
    names: dict = {a: ("arg", i) for i, a in enumerate(body.arguments)}
    sig = []
    for i, op in enumerate(ops[:-1]):
        name = op.operation.name
        if len(op.operation.regions) or name == "linalg.index" or not op.results:
            return None
        if not all(isinstance(r.type, _SCALAR_TYPES) for r in op.results):
            return None
        refs = []
        for v in op.operands:
            if v in names:
                refs.append(names[v])
                continue
            owner = v.owner
            if not (isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant"
                    and isinstance(v.type, _SCALAR_TYPES)):
                return None
            refs.append(("const", str(owner.attributes["value"])))
        attrs = tuple(sorted((name, str(op.attributes[name])) for name in op.attributes))
        sig.append((name, tuple(refs), attrs, tuple(str(r.type) for r in op.results)))
        for j, r in enumerate(op.results):
            names[r] = ("op", i, j)
    yielded = list(ops[-1].operands)
    if len(yielded) != 1 or yielded[0] not in names:
        return None
    sig.append(("yield", names[yielded[0]]))
    return tuple(sig)


def find_epilogue(op, p: dict) -> Epilogue | None:
    """The elementwise op that first reads matmul `op`'s C, when the kernel can apply it
    (Note [matmul epilogues]); else None."""
    if p["batch"] or p["form"] != "nn":
        return None
    c = p["c"]
    ct = ir.MemRefType(c.type)
    if ct.rank != 2 or not _row_major(ct):
        return None
    m, n = ct.shape
    root = buffer_of(c)
    inputs_of_product = {buffer_of(p["a"]), buffer_of(p["b"])}
    guarded = {root, *inputs_of_product}
    block_ops = list(op.block.operations)
    at = next(i for i, o in enumerate(block_ops) if o.operation == op)
    consumer = None
    for nxt in block_ops[at + 1:]:
        nxt = nxt.operation
        if nxt.name in ALIASES:
            continue
        if root in _roots(nxt):
            consumer = nxt
            break
        if _written_roots(nxt) & inputs_of_product:
            return None  # the product would read A or B after this op changed them
    if consumer is None or consumer.name != "linalg.generic":
        return None
    generic = consumer.opview
    iters = [str(a) for a in ir.ArrayAttr(consumer.attributes["iterator_types"])]
    outs, ins = list(generic.outputs), list(generic.inputs)
    if any("parallel" not in it for it in iters) or len(outs) != 1 or len(iters) < 2:
        return None
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(consumer.attributes["indexing_maps"])]
    rank = len(iters)
    identity = list(range(rank))
    body = consumer.regions[0].blocks[0]
    signature = _body_signature(body)
    if signature is None or len(list(body.arguments[-1].uses)):
        return None  # not vectorizable, or it reads D's old values
    out = outs[0]
    ot = ir.MemRefType(out.type)
    if (_dims(maps[-1]) != identity or not _row_major(ot) or ot.shape[-1] != n
            or ot.element_type != ct.element_type or buffer_of(out) in guarded):
        return None
    domain = ot.shape
    if math.prod(domain) != m * n:
        return None
    kinds: list[str] = []
    inputs: list[ir.Value | None] = []
    for value, amap in zip(ins, maps):
        t = ir.MemRefType(value.type)
        dims = _dims(amap)
        if buffer_of(value) == root:
            if dims != identity or t.shape != domain or not _row_major(t):
                return None
            kinds.append("acc")
            inputs.append(None)
        elif buffer_of(value) in guarded - {root}:
            return None  # reads A or B: fine in principle, but keeps the aliasing simple
        elif dims == identity and t.shape == domain and _row_major(t):
            kinds.append("tile")
            inputs.append(value)
        elif dims == [rank - 1] and t.rank == 1 and t.shape == [n] and _row_major(t):
            kinds.append("row")
            inputs.append(value)
        elif dims == [] and t.rank == 0:
            kinds.append("scalar")
            inputs.append(value)
        else:
            return None
    if "acc" not in kinds or kinds.count("tile") > MAX_TILES:
        return None
    # C must be dead after the consumer for D to take its place, and its start must not be
    # its old contents (a zero fill or a bias, Note [matmul accumulator init]).
    dead = (isinstance(root.owner, ir.OpView) and root.owner.operation.name == "memref.alloc"
            and p["init"] is not None and _only_consumed_by(root, [op, consumer]))
    keep_c = not dead
    # Threads that share C's rows out would race on the column sums.
    colsum, colsum_ops = _column_sum(block_ops, consumer, out, n) if p["split"] != "m" else (None, ())
    return Epilogue(consumer, kinds, inputs, out, keep_c,
                    (tuple(kinds), keep_c, signature, colsum is not None), colsum, colsum_ops)


def _column_sum(block_ops: list, consumer, out: ir.Value, n: int):
    """(the buffer, (its zero fill, the sum)) when the ops right after the consumer zero a
    rank-1 buffer of D's n columns and sum D over every other dim into it (a bias's
    gradient; Note [column sums in the epilogue]), else (None, ())."""
    if not COLUMN_SUMS:
        return None, ()
    at = next(i for i, o in enumerate(block_ops) if o.operation == consumer)
    following = [o.operation for o in block_ops[at + 1:] if o.operation.name not in ALIASES][:2]
    if len(following) != 2 or [o.name for o in following] != ["linalg.fill", "linalg.generic"]:
        return None, ()
    fill, total = following
    target = fill.opview.outputs[0]
    generic = total.opview
    ins, outs = list(generic.inputs), list(generic.outputs)
    if len(ins) != 1 or len(outs) != 1 or outs[0] != target or buffer_of(ins[0]) != buffer_of(out):
        return None, ()
    zero = fill.opview.inputs[0].owner
    if not (isinstance(zero, ir.OpView) and zero.operation.name == "arith.constant"
            and ir.FloatAttr(zero.attributes["value"]).value == 0.0):
        return None, ()
    tt, it = ir.MemRefType(target.type), ir.MemRefType(ins[0].type)
    iters = [str(a) for a in ir.ArrayAttr(total.attributes["iterator_types"])]
    rank = len(iters)
    maps = [_dims(ir.AffineMapAttr(a).value) for a in ir.ArrayAttr(total.attributes["indexing_maps"])]
    if (tt.rank != 1 or tt.shape != [n] or not _row_major(tt) or not _row_major(it)
            or it.shape[-1] != n or maps != [list(range(rank)), [rank - 1]]
            or any("reduction" not in x for x in iters[:-1]) or "parallel" not in iters[-1]):
        return None, ()
    body = list(total.regions[0].blocks[0].operations)
    args = list(total.regions[0].blocks[0].arguments)
    if (len(body) != 2 or body[0].operation.name != "arith.addf"
            or set(body[0].operands) != set(args) or body[1].operands[0] != body[0].result):
        return None, ()
    return target, (fill, total)

