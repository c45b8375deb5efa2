"""tg-simplify: algebraic clean-ups on primitive tg that make the CPU kernels' job easier.

Note [transposes around contractions]
Autodiff of `x @ w.T` produces `(x^T @ dy)^T` for the weight gradient, and decomposed
attention produces permutes of permutes. A transpose that reaches the CPU pipeline is a
materialized strided copy (for a 2048x2048 weight gradient, the slowest loop of a training
step). Two rewrites remove them:

    permute(permute(x, p), q)      -> permute(x, [p[i] for i in q])   (or x when identity)
    permute(mm(a, b), [1, 0])      -> mm(permute(b, [1, 0]), permute(a, [1, 0]))
    permute(bmm(a, b), [0, 2, 1])  -> bmm(permute(b, [0, 2, 1]), permute(a, [0, 2, 1]))

The contraction rewrite applies only when the product has no other user (else it would be
computed twice). The permutes it leaves on the operands cost nothing: the linalg lowering
reads a transposed A (and, for few rows, a transposed B) in place through indexing maps
(lowering/to_linalg/contraction.py).

Note [sums of padded gradients]
The gradient of a tensor split into slices (`q, k, v = qkv.split(c, dim=2)`) is the sum of
one padding per slice, each the slice's gradient concatenated with zeros:

    add(add(cat(0, dv), cat(cat(0, dk), 0)), cat(dq, 0))   three buffers, two passes of adds

When both sides of an add are concatenations along one dim whose pieces line up, and one
side of each piece is zeros, the add is the concatenation of the other sides:

    add(cat(a1, a2, ...), cat(b1, b2, ...)) -> cat(a1 or b1 or a1 + b1, ...)

A zero piece spanning several of the other side's pieces is split (zeros are free to cut);
a non-zero one never is. Repeated, the example becomes cat(dq, dk, dv): one buffer.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.rewrite import apply_patterns_and_fold_greedily

from ..dialects import builders as tg
from ..dialects import ops_elementwise as E
from ..dialects import ops_linalg as L
from ..dialects import ops_shape as S
from ..dialects.tg import from_attr
from ..dialects.types import DYN, element_type, normalize_dim, shape_of
from .registry import patterns_from, register_pass, report

SWAP = {L.MmOp: [1, 0], L.BmmOp: [0, 2, 1]}


def _single_use(v: ir.Value) -> bool:
    uses = iter(v.uses)
    return next(uses, None) is not None and next(uses, None) is None


def simplify_permute(op):
    """The rewrites of Note [transposes around contractions] rooted at a tg.permute."""
    perm = list(from_attr(op.attributes["perm"]))
    src = op.operands[0]
    owner = src.owner
    if not isinstance(owner, ir.OpView):
        return None
    if isinstance(owner, S.PermuteOp):
        inner = list(from_attr(owner.attributes["perm"]))
        return tg.permute(owner.operands[0], [inner[i] for i in perm])
    for cls, swap in SWAP.items():
        if isinstance(owner, cls) and perm == swap and _single_use(src):
            a, b = owner.operands[0], owner.operands[1]
            build = tg.mm if cls is L.MmOp else tg.bmm
            return build(tg.permute(b, swap), tg.permute(a, swap))
    return None


def _is_zero(v: ir.Value) -> bool:
    """`v` is a tg.constant of zeros, or one broadcast."""
    owner = v.owner
    if isinstance(owner, ir.OpView) and isinstance(owner, S.BroadcastToOp):
        owner = owner.operands[0].owner
    if not (isinstance(owner, ir.OpView) and isinstance(owner, E.ConstantOp)):
        return False
    value = owner.attributes["value"]
    if not (isinstance(value, ir.DenseElementsAttr) and value.is_splat):
        return False
    splat = value.get_splat_value()
    if isinstance(splat, ir.FloatAttr):
        return ir.FloatAttr(splat).value == 0.0
    return isinstance(splat, ir.IntegerAttr) and ir.IntegerAttr(splat).value == 0


def _pieces(v: ir.Value, dim: int) -> list[tuple[int, ir.Value]] | None:
    """(size along dim, value) of `v` flattened through single-use tg.cat chains along dim."""
    size = shape_of(v)[dim]
    if size == DYN:
        return None
    owner = v.owner
    if isinstance(owner, ir.OpView) and isinstance(owner, S.CatOp):
        rank = len(shape_of(v))
        if normalize_dim(from_attr(owner.attributes["dim"]), rank) == dim:
            lhs, rhs = owner.operands[0], owner.operands[1]
            out = []
            for part in (lhs, rhs):
                inner = _pieces(part, dim) if _single_use(part) else None
                if inner is None:
                    if shape_of(part)[dim] == DYN:
                        return None
                    inner = [(shape_of(part)[dim], part)]
                out += inner
            return out
    return [(size, v)]


def _zeros(like: ir.Value, shape: list[int]) -> ir.Value:
    src = like.owner.operands[0] if isinstance(like.owner, S.BroadcastToOp) else like
    if not shape_of(src):  # a 0-d zero broadcasts to any shape
        return tg.broadcast_to(src, shape)
    return tg.broadcast_to(tg.constant(0.0, element_type(like)), shape)


def simplify_add_of_cats(op):
    """The rewrite of Note [sums of padded gradients] rooted at a tg.add."""
    a, b = op.operands[0], op.operands[1]
    if not (a.type == b.type == op.results[0].type):
        return None
    cat = next((v.owner for v in (a, b) if isinstance(v.owner, ir.OpView)
                and isinstance(v.owner, S.CatOp) and _single_use(v)), None)
    if cat is None:
        return None
    shape = list(shape_of(a))
    dim = normalize_dim(from_attr(cat.attributes["dim"]), len(shape))
    sides = [_pieces(v, dim) if _single_use(v) else [(shape[dim], v)] for v in (a, b)]
    if any(s is None for s in sides):
        return None
    cuts = sorted({0} | {sum(n for n, _ in side[: i + 1]) for side in sides for i in range(len(side))})
    plan = []  # (piece shape, the piece of each side); decided before any op is built,
    for lo, hi in zip(cuts, cuts[1:]):  # since a rule that builds and then declines loops
        values = []
        for side in sides:
            start = 0
            for n, v in side:
                if start <= lo and hi <= start + n:
                    if (start, start + n) != (lo, hi) and not _is_zero(v):
                        return None  # a non-zero piece would need a slice
                    values.append(v)
                    break
                start += n
        plan.append((shape[:dim] + [hi - lo] + shape[dim + 1:], values))
    if len(plan) < 2 or all(not _is_zero(a) and not _is_zero(b) for _, (a, b) in plan):
        return None
    merged = []
    for piece_shape, values in plan:
        nonzero = [v for v in values if not _is_zero(v)]
        if not nonzero:
            merged.append(_zeros(values[0], piece_shape))
        elif len(nonzero) == 1:
            merged.append(nonzero[0])
        else:
            merged.append(tg.add(nonzero[0], nonzero[1]))
    return tg.cat(merged, dim)


RULES = {S.PermuteOp: simplify_permute, E.AddOp: simplify_add_of_cats}


@register_pass("tg-simplify")
def simplify(module, pass_):
    """Fold permutes of permutes, move transposes of contraction results onto their
    operands (Note [transposes around contractions]) and turn sums of zero-padded
    concatenations into one concatenation (Note [sums of padded gradients]).

    Requires: tg IR.  Produces: the same computation with fewer materialized transposes.
    """
    errors: list = []
    apply_patterns_and_fold_greedily(module, patterns_from(RULES, errors).freeze())
    report(errors, pass_, "tg-simplify")
