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
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.rewrite import apply_patterns_and_fold_greedily

from ..dialects import builders as tg
from ..dialects import ops_linalg as L
from ..dialects import ops_shape as S
from ..dialects.tg import from_attr
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


RULES = {S.PermuteOp: simplify_permute}


@register_pass("tg-simplify")
def simplify(module, pass_):
    """Fold permutes of permutes and move transposes of contraction results onto their
    operands (Note [transposes around contractions]).

    Requires: tg IR.  Produces: the same computation with fewer materialized transposes.
    """
    errors: list = []
    apply_patterns_and_fold_greedily(module, patterns_from(RULES, errors).freeze())
    report(errors, pass_, "tg-simplify")
