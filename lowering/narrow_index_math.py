"""tg-narrow-index-math: position arithmetic that only feeds comparisons runs in i32
(Note [narrow index math]).

Note [narrow index math]
~~~~~~~~~~~~~~~~~~~~~~~~
Positions are i64 in torch (arange, and the iotas our import of tril/triu builds), and a
causal mask is arithmetic on them: where(iota(j) - iota(i) <= c, x, -inf). After fusion
that arithmetic runs inside the consumer's loop, once per element, and in i64 an AVX-512
vector holds 8 lanes instead of 16: the GPT-2 block's masked softmax computed its first
pass 8 floats at a time, and read one iota back from memory as 8-byte lanes.

When every value of such a computation is known to fit in i32 and its only readers are
comparisons (an i1 result, whatever the width of its operands), it is computed in i32
instead:
- iota over a static size n is in [0, n - 1]; an integer constant (a static arange is
  one) lies between its least and greatest elements;
- add, sub and neg combine ranges; reshape, broadcast_to, permute and slice keep them;
- a value joins only if its range lies within +-2^30, its operands join (but an iota's or
  a constant's: they have none of interest) and every user is a comparison or another
  joining value; anything else (an index into gather, a returned value, a remainder, a
  product) keeps it and what is computed from it at i64.
The iota stays i64 (its definition) and is converted right after; LLVM folds that truncation
into the index cast of its lowering, so the mask is i32 from the loop index on.
Measured on the block's causal softmax alone (4x4x128x128, 2 threads, variants alternating
in one process): 114 -> 82 us and 130 -> 98 us. In the block's training step (per-kernel
OpenMP regions, NARROW on and off alternating in one process): that softmax 157 -> 106 us,
all kernels 12.89 -> 12.84 ms; whole steps, inference and training, within their noise
(bench/variants.py --paired).
"""

from __future__ import annotations

import numpy as np
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects.tg import from_attr
from ..dialects.types import element_type, shape_of, tensor_type
from .registry import function_blocks, register_pass

LIMIT = 1 << 30  # bound of every narrowed value, with room for one more add in i32
# Set to False to leave index math at i64 (bench/variants.py A/B runs).
NARROW = True

_VIEWS = ("tg.reshape", "tg.broadcast_to", "tg.permute", "tg.slice")
_ARITH = ("tg.add", "tg.sub", "tg.neg")
_COMPARES = ("tg.eq", "tg.ne", "tg.lt", "tg.le", "tg.gt", "tg.ge")


@register_pass("tg-narrow-index-math")
def narrow_index_math(module, pass_):
    """Compute iota-derived integer arithmetic that only feeds comparisons in i32 (Note
    [narrow index math], lowering/narrow_index_math.py).

    Requires: tg ops.  Produces: the same comparisons on i32 operands, the i64 ops that
    only they read erased."""
    if NARROW:
        narrow_module(module)


def narrow_module(module: ir.Operation) -> int:
    """Narrow the index math of every function of `module`; returns how many comparisons
    now read i32 operands."""
    return sum(narrow_block(block) for block in function_blocks(module))


def _i64(v: ir.Value) -> bool:
    if not isinstance(v.type, ir.RankedTensorType):
        return False
    elem = element_type(v)
    return isinstance(elem, ir.IntegerType) and ir.IntegerType(elem).width == 64


def _range(op, ranges: dict) -> tuple[int, int] | None:
    """The interval of `op`'s i64 result from its operands' intervals, or None."""
    name = op.operation.name
    if name == "tg.iota":
        n = shape_of(op.results[0])[0]
        return (0, n - 1) if n > 0 else None
    if name == "tg.constant":
        attr = ir.DenseElementsAttr(op.attributes["value"])
        if attr.is_splat:
            value = int(from_attr(attr.get_splat_value()))
            return value, value
        values = np.array(attr)  # a static arange, say
        return (int(values.min()), int(values.max())) if values.size else None
    args = [ranges.get(v) for v in op.operands]
    if not args or any(a is None for a in args):
        return None
    if name in _VIEWS:
        return args[0]
    if name == "tg.neg":
        return -args[0][1], -args[0][0]
    if name == "tg.add":
        return args[0][0] + args[1][0], args[0][1] + args[1][1]
    if name == "tg.sub":
        return args[0][0] - args[1][1], args[0][1] - args[1][0]
    return None


def narrow_block(block) -> int:
    """Narrow the qualifying index math of `block`; returns how many comparisons now read
    i32 operands."""
    ranges: dict = {}
    for op in block.operations:
        name = op.operation.name
        if name not in ("tg.iota", "tg.constant", *_VIEWS, *_ARITH):
            continue
        if len(op.results) != 1 or not _i64(op.results[0]):
            continue
        r = _range(op, ranges)
        if r is not None and -LIMIT <= r[0] and r[1] <= LIMIT:
            ranges[op.results[0]] = r
    # Drop values read by anything but comparisons and other members, or computed from a
    # value that is not one, until none is left.
    members = set(ranges)
    changed = True
    while changed:
        changed = False
        for v in list(members):
            owner = v.owner
            if owner.name not in ("tg.iota", "tg.constant") and any(
                    o not in members for o in owner.operands):
                members.discard(v)
                changed = True
                continue
            for use in v.uses:
                user = use.owner
                name = user.operation.name if isinstance(user, ir.OpView) else user.name
                if name in _COMPARES and all(o in members for o in user.operands):
                    continue
                if name in (*_VIEWS, *_ARITH) and user.results[0] in members:
                    continue
                members.discard(v)
                changed = True
                break
    narrowed: dict = {}
    i32 = ir.IntegerType.get_signless(32)
    replaced = []  # the i64 ops, in order: dead once their comparisons are replaced
    for op in list(block.operations):
        name = op.operation.name
        if name in _COMPARES and op.operands and all(o in members for o in op.operands):
            with ir.InsertionPoint(op), op.location:
                new = _clone(op, [narrowed[o] for o in op.operands], op.results[0].type)
            op.results[0].replace_all_uses_with(new)
            replaced.append(op)
            continue
        if len(op.results) != 1 or op.results[0] not in members:
            continue
        replaced.append(op)
        out = op.results[0]
        with op.location:
            if name == "tg.iota":
                with ir.InsertionPoint.after(op):
                    narrowed[out] = tg.convert(out, i32)
            elif name == "tg.constant":
                attr = ir.DenseElementsAttr(op.attributes["value"])
                with ir.InsertionPoint(op):
                    narrowed[out] = (tg.splat(ranges[out][0], tensor_type(shape_of(out), i32))
                                     if attr.is_splat else tg.constant(np.array(attr), i32))
            else:
                with ir.InsertionPoint(op):
                    narrowed[out] = _clone(op, [narrowed[o] for o in op.operands],
                                           tensor_type(shape_of(out), i32))
    count = 0
    for op in reversed(replaced):  # users first; an iota keeps its conversion
        if all(not list(r.uses) for r in op.results):
            count += op.operation.name in _COMPARES
            op.operation.erase()
    return count


def _clone(op, operands: list, result_type: ir.Type) -> ir.Value:
    """`op` again, on `operands`, with one result of `result_type` and its attributes."""
    attrs = {a.name: a.attr for a in op.attributes}
    return ir.Operation.create(op.operation.name, results=[result_type], operands=operands,
                               attributes=attrs).result
