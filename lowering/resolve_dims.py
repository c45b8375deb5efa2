"""tg-resolve-dims: each tg.dim_size reads its size where it comes from (Note [resolved
dims]).

Note [resolved dims]
~~~~~~~~~~~~~~~~~~~~
Under dynamic shapes the rules ask many values for their sizes (tg.dim_size, Note
[runtime sizes] in dialects/ops_shape.py): a head split asks the qkv product's slice, a
gradient asks the forward value it mirrors. At run time they are all the batch or the
sequence length, but as IR they are sizes of different values, which CSE cannot merge;
partitioning a training graph then saved one 0-d tensor per question (18 for a GPT-2
block, where 2 are different), and each is an output the forward allocates and writes.

This pass follows a dynamic dim back through the ops that pass it on unchanged (the same
dim of an elementwise operand, a permuted or broadcast dim, a dim a slice, cat or
reduction leaves alone, a product's row and column, a size operand of a dynamic_ op) to
the first value that does not, usually a function argument, and asks that one. CSE then
merges the questions.

Applies to every tg.dim_size; a dim whose origin it cannot follow is left as it is.
"""

from __future__ import annotations

from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import ops_elementwise as E
from ..dialects import ops_linalg as L
from ..dialects import ops_nn as N
from ..dialects import ops_reduce as R
from ..dialects import ops_shape as S
from ..dialects.tg import from_attr
from ..dialects.types import DYN, normalize_dim, shape_of
from .registry import ops_named, register_pass

# Ops whose result has operand 0's shape.
SAME_SHAPE: tuple[type, ...] = (
    E.UnaryOp, E.UnaryPredicateOp, E.ConvertOp, N.ClampOp, N.HardtanhOp, N.DropoutOp,
    R.SoftmaxFamilyOp,
)
# Ops whose result broadcasts all their operands.
BROADCASTING: tuple[type, ...] = (E.BinaryOp, E.WhereOp)


@register_pass("tg-resolve-dims")
def resolve_dims(module, pass_):
    """Make each tg.dim_size read the value its size comes from (Note [resolved dims],
    lowering/resolve_dims.py), so that CSE merges equal sizes.

    Requires: tg IR.  Produces: tg.dim_size of function arguments where it can."""
    for op in ops_named(module, "tg.dim_size"):
        x, d = op.operands[0], from_attr(op.attributes["dim"])
        source = resolve(x, d % len(shape_of(x)))
        if source == (x, d % len(shape_of(x))):
            continue
        with ir.InsertionPoint(op), op.location:
            new = source if isinstance(source, ir.Value) else tg.dim_size(*source)
        op.results[0].replace_all_uses_with(new)
        op.erase()


def resolve(x: ir.Value, d: int) -> tuple[ir.Value, int] | ir.Value:
    """Where dynamic dim `d` of `x` comes from: (value, dim), or a 0-d size value."""
    while True:
        step = _step(x, d)
        if step is None:
            return x, d
        if isinstance(step, ir.Value):
            return step
        x, d = step


def origin(x: ir.Value, d: int):
    """A key that two dynamic dims share when `resolve` finds them one size: a size value
    that is itself a tg.dim_size (not yet merged by CSE) is followed to its own origin."""
    found = resolve(x, d)
    if isinstance(found, ir.Value):
        owner = found.owner
        if isinstance(owner, ir.OpView) and isinstance(owner, S.DimSizeOp):
            v = owner.operands[0]
            return origin(v, from_attr(owner.attributes["dim"]) % len(shape_of(v)))
    return found


def _step(x: ir.Value, d: int):
    owner = x.owner
    if not isinstance(owner, ir.OpView) or len(owner.operation.results) != 1:
        return None
    operands = list(owner.operation.operands)
    if isinstance(owner, SAME_SHAPE):
        return _if_dynamic(operands[0], d)
    if isinstance(owner, BROADCASTING):
        rank = len(shape_of(x))
        for v in operands:
            i = d - (rank - len(shape_of(v)))
            if i >= 0 and shape_of(v)[i] == DYN:
                return v, i
        return None
    if isinstance(owner, S.PermuteOp):
        return _if_dynamic(operands[0], from_attr(owner.attributes["perm"])[d])
    if isinstance(owner, S.BroadcastToOp):
        i = d - (len(shape_of(x)) - len(shape_of(operands[0])))
        return _if_dynamic(operands[0], i) if i >= 0 else None
    if isinstance(owner, (S.DynamicReshapeOp, S.DynamicBroadcastToOp)):
        return operands[1 + shape_of(x)[:d].count(DYN)]
    if isinstance(owner, S.SliceOp):
        if d == from_attr(owner.attributes["dim"]) % len(shape_of(x)):
            return None
        return _if_dynamic(operands[0], d)
    if isinstance(owner, S.CatOp):
        if d == from_attr(owner.attributes["dim"]) % len(shape_of(x)):
            return None
        return next(((v, d) for v in operands if shape_of(v)[d] == DYN), None)
    if isinstance(owner, L.MmOp):
        return _if_dynamic(*((operands[0], 0) if d == 0 else (operands[1], 1)))
    if isinstance(owner, L.BmmOp):
        return _if_dynamic(*((operands[0], d) if d < 2 else (operands[1], 2)))
    if isinstance(owner, R.ReduceOp):
        return _reduced(owner, operands[0], d)
    return None


def _reduced(op, v: ir.Value, d: int):
    """The input dim of result dim `d` of a reduction over its `dims`."""
    rank = len(shape_of(v))
    dims = from_attr(op.attributes["dims"])
    reduced = {normalize_dim(i, rank) for i in dims} if dims else set(range(rank))
    if from_attr(op.attributes["keepdim"]):
        return None if d in reduced else _if_dynamic(v, d)
    kept = [i for i in range(rank) if i not in reduced]
    return _if_dynamic(v, kept[d])


def _if_dynamic(v: ir.Value, d: int):
    return (v, d) if shape_of(v)[d] == DYN else None
