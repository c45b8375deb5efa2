"""tg-fold-affine-gradients: when the gradient reaching an affine map in front of a product
is only summed (its input needs no gradient), fold those sums into the weight gradient's
product instead of computing the gradient (Note [affine gradients before a product]).

Note [affine gradients before a product]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A linear layer after a layer norm, an RMS norm or a bias add, `y = A @ V^T` with
`A = X * gamma + beta` (X: R x C rows, gamma and beta per column), has in the joint graph

    P  = G @ V                  R x C   the gradient reaching A   (G = dy: R x K, V: K x C)
    Q  = A^T @ G                C x K   the weight gradient (transposed)
    dbeta  = sum_rows(P)
    dgamma = sum_rows(P * X)

and when X needs no gradient (the block's input is data, say) those two sums are P's only
readers. Then, with s = sum_rows(G) (the layer's own bias gradient) and N = G^T @ X,

    Q^T    = N * gamma + s (x) beta               sum_r G[r,k] (X[r,c] gamma[c] + beta[c])
    dgamma = sum_k (N * V)[k, c]                  sum_r sum_k G[r,k] V[k,c] X[r,c]
    dbeta  = sum_k s[k] V[k, c]                   sum_r sum_k G[r,k] V[k,c]

so P, a product of R*K*C multiply-adds, is never formed: N takes Q's place (the same cost
as Q) and the rest is O(K*C). With beta alone (gamma frozen, or a plain bias add) Q keeps
its form and only the sum is moved; with gamma and no beta the outer product drops out.
The backward then reads X instead of A, one saved tensor fewer. A gradient that needs P
for anything else (X's own gradient) leaves it alone, and so does a weighted sum with no
weight-gradient product to share N with (it would cost as much as P).

It runs on the joint graph (runtime/autograd.py's AUTODIFF_PIPELINE), before tg-partition
decides what the forward saves. Measured on bench/run.py's GPT-2 block training step (its
input is data, without grad: the first block of a model): the qkv layer's 512x768x256
product is gone, and the step's kernels took 12.43 instead of 13.35 ms (per-kernel OpenMP
regions, both variants alternating in one process); whole steps, 40 paired rounds of
bench/variants.py, were 5.0% faster (quartiles 3.0-6.6%), and faster in 36 of the 40.
"""

from __future__ import annotations

from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import ops_elementwise as E
from ..dialects import ops_linalg as L
from ..dialects import ops_reduce as R
from ..dialects import ops_shape as S
from ..dialects.tg import from_attr
from ..dialects.types import DYN, element_type, is_float, normalize_dim, shape_of
from .registry import function_blocks, register_pass

FOLD = True  # bench/variants.py switches it off to measure it
# Reshapes, with the dynamic form (several dynamic dims: a batch and a sequence length).
RESHAPES = (S.ReshapeOp, S.DynamicReshapeOp)


@register_pass("tg-fold-affine-gradients")
def fold_affine_gradients(module, pass_):
    """Sum the gradient of an affine map in front of a product through the product's weight
    gradient when nothing else reads it (Note [affine gradients before a product],
    lowering/affine_gradients.py).

    Requires: tg ops (the joint graph of tg-autodiff).  Produces: the same gradients, one
    product fewer per folded layer."""
    if FOLD:
        fold_module(module)


def fold_module(module: ir.Operation) -> int:
    """Fold every qualifying product of `module`'s functions; returns how many were."""
    count = 0
    for block in function_blocks(module):
        # A fold erases products further down: walk again from the top after one.
        while any(isinstance(op, L.MmOp) and _fold(op, block) for op in block.operations):
            count += 1
    return count


def _is(v: ir.Value, cls) -> bool:
    return isinstance(v.owner, ir.OpView) and isinstance(v.owner, cls)


def _rows(v: ir.Value) -> ir.Value:
    """`v` with the reshapes that keep its last dim (and so its rows) looked through."""
    while _is(v, RESHAPES) and shape_of(v.owner.operands[0])[-1:] == shape_of(v)[-1:]:
        v = v.owner.operands[0]
    return v


def _column_sum(op) -> bool:
    """`op` sums its operand over every dim but the last."""
    if not isinstance(op, R.ReduceSumOp):
        return False
    rank = len(shape_of(op.operands[0]))
    dims = {normalize_dim(d, rank) for d in from_attr(op.attributes["dims"])}
    return rank >= 1 and dims == set(range(rank - 1))


class _Readers:
    """P's readers, when all of them are column sums, plain or weighted by one X:
    `sums` and `weighted` (the reductions), `dead` (what computes P and its views,
    reshapes and products on the way, erased users first at the end), `weight`."""

    def __init__(self, product: ir.Value):
        self.sums: list = []
        self.weighted: list = []
        self.dead: list = [product.owner]
        self.weight: ir.Value | None = None
        self.ok = self._visit(product)

    def _visit(self, v: ir.Value) -> bool:
        for use in v.uses:
            user = use.owner
            if isinstance(user, RESHAPES) and shape_of(user.results[0])[-1:] == shape_of(v)[-1:]:
                self.dead.append(user)
                if not self._visit(user.results[0]):
                    return False
            elif _column_sum(user):
                self.sums.append(user)
            elif not (isinstance(user, E.MulOp) and self._weighted(user, v)):
                return False
        return True

    def _weighted(self, mul, v: ir.Value) -> bool:
        a, b = mul.operands[0], mul.operands[1]
        x = b if a == v else a
        if x == v or shape_of(x) != shape_of(v) or not all(_column_sum(u.owner) for u in mul.results[0].uses):
            return False
        if self.weight is not None and _rows(x) != self.weight:
            return False
        self.weight = _rows(x)
        self.dead.append(mul)
        self.weighted += [u.owner for u in mul.results[0].uses]
        return True


def _affine(a: ir.Value, columns: int):
    """(X, gamma, beta) when `a` is X * gamma + beta, X * gamma, X + beta (gamma and beta
    1-D per column, either None when absent) or X itself."""
    gamma = beta = None

    def split(op):
        x, p = op.operands[0], op.operands[1]
        if shape_of(x) == (columns,) and shape_of(p) != (columns,):
            x, p = p, x
        return (x, p) if shape_of(p) == (columns,) and shape_of(x) == shape_of(a) else (None, None)

    if _is(a, E.AddOp):
        x, beta = split(a.owner)
        if x is not None:
            a = x
    if _is(a, E.MulOp):
        x, gamma = split(a.owner)
        if x is not None:
            a = x
    return _rows(a), gamma, beta


def _weight_product(g: ir.Value, columns: int):
    """The users Q = mm(permute(A, [1, 0]), G) of `g`, as (Q, X, gamma, beta) for A's affine
    form (_affine), or None."""
    for use in g.uses:
        q = use.owner
        if not (isinstance(q, L.MmOp) and q.operands[1] == g and _is(q.operands[0], S.PermuteOp)):
            continue
        t = q.operands[0].owner
        if list(from_attr(t.attributes["perm"])) != [1, 0]:
            continue
        a = _rows(t.operands[0])
        if shape_of(a)[-1:] != (columns,):
            continue
        return (q, *_affine(a, columns))
    return None


def _fold(p_op, block) -> bool:
    g, v = p_op.operands[0], p_op.operands[1]
    product = p_op.results[0]
    # rows may be dynamic (a batch size); the layer's sizes may not
    if not is_float(element_type(product)) or DYN in shape_of(g)[1:] + shape_of(v):
        return False
    (rows, k), (_, columns) = shape_of(g), shape_of(v)
    readers = _Readers(product)
    if not readers.ok or not (readers.sums or readers.weighted):
        return False
    share = None
    if readers.weighted:
        share = _weight_product(g, columns)
        if share is None or share[1] != readers.weight:
            return False
    # The new ops go right after the last definition they read. Every op they replace
    # reads one of those values, so comes later, unless Q is earlier than V's definition.
    ops = list(block.operations)
    index = {op.operation: i for i, op in enumerate(ops)}
    reads = [g, v, *(share[1:] if share else ())]
    last = max(index.get(x.owner.operation, -1) if isinstance(x, ir.OpResult) else -1
               for x in reads if x is not None)
    replaced = readers.sums + readers.weighted + ([share[0]] if share else [])
    if any(index.get(op.operation, -1) <= last for op in replaced):
        return False
    stale: list = []  # bias gradients after the insertion point, which s replaces
    with ir.InsertionPoint(ops[last + 1]), p_op.location:
        if readers.sums or (share and share[3] is not None):
            s = tg.reshape(_bias_gradient(g, index, last, stale), [k, 1])
        if readers.sums:
            dbeta = tg.reduce_sum(tg.mul(v, s), [0])
        if share is not None:
            q, x, gamma, beta = share
            n = tg.mm(tg.permute(g, [1, 0]), tg.reshape(x, [rows, columns]))  # K x C
            dgamma = tg.reduce_sum(tg.mul(n, v), [0])
            weight_grad = n if gamma is None else tg.mul(n, gamma)
            if beta is not None:
                weight_grad = tg.add(weight_grad, tg.mul(s, beta))
            q_new = tg.permute(weight_grad, [1, 0])
            for use in list(q.results[0].uses):  # Q^T (the weight's own layout) is weight_grad
                user = use.owner
                if isinstance(user, S.PermuteOp) and list(from_attr(user.attributes["perm"])) == [1, 0]:
                    user.results[0].replace_all_uses_with(weight_grad)
                    readers.dead.append(user)
        for op in replaced:
            out = op.results[0]
            new = q_new if share and op == share[0] else dgamma if op in readers.weighted else dbeta
            out.replace_all_uses_with(tg.reshape(new, list(shape_of(out))))
    for op in stale + readers.sums + readers.weighted + readers.dead[::-1]:
        op.operation.erase()
    if share is not None:  # Q, then the views only it read (A's transpose), and Q's new one
        views = [share[0].operands[0].owner]
        share[0].operation.erase()
        _erase_dead_views(views + [q_new.owner])
    return True


def _erase_dead_views(ops: list) -> None:
    """Erase the reshapes and permutes in `ops` that nothing reads, then their sources."""
    while ops:
        op = ops.pop()
        if isinstance(op, (*RESHAPES, S.PermuteOp)) and not list(op.results[0].uses):
            source = op.operands[0].owner
            op.operation.erase()
            if isinstance(source, ir.OpView):
                ops.append(source)


def _bias_gradient(g: ir.Value, index: dict, last: int, stale: list) -> ir.Value:
    """sum_rows(G) as [K], built at the insertion point: the layer's bias gradient when it
    has one, which is used if it comes before that point, and replaced if after (its op
    goes to `stale`, erased by the caller: it may be the op the insertion point is at)."""
    rows = _rows(g)
    sums = [u.owner for u in rows.uses
            if _column_sum(u.owner) and not from_attr(u.owner.attributes["keepdim"])]
    earlier = [op for op in sums if index.get(op.operation, last + 1) <= last]
    if earlier:
        return earlier[0].results[0]
    s = tg.reduce_sum(rows, list(range(len(shape_of(rows)) - 1)))
    for op in sums:
        op.results[0].replace_all_uses_with(s)
        stale.append(op)
    return s
