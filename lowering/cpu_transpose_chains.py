"""tg-cpu-fold-transposes: an elementwise op between two transposes that cancel runs in the
layout of its inputs (Note [elementwise ops between transposes]), linalg on tensors.

Note [elementwise ops between transposes]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A Linear whose weight is much bigger than its activations lowers swapped, as (w @ x^T)^T
(Note [contraction as named ops] and `_swapped` in lowering/to_linalg/contraction.py), so
two such layers in a row, with the bias and the activation between them, become

    %c1 = call @contraction(%w1, %xt)                    C1^T, 2048x64
    %t1 = linalg.transpose ins(%c1) permutation = [1, 0]       64x2048
    %h  = linalg.generic ins(%t1, %b1) { relu(t1 + b1) }       64x2048, b1 along columns
    %t2 = linalg.transpose ins(%h) permutation = [1, 0]        2048x64
    %c2 = call @contraction(%w2, %t2)

and each transpose is a pass over memory. The generic that only feeds a transpose computes
the transposed result directly: its loops are permuted, every input map with them. An
input that is itself a transpose's result is then read from the transpose's source, where
that makes its map a contiguous one; the two transposes go:

    %h2 = linalg.generic ins(%c1, %b1) { relu(c1 + b1) }       2048x64, b1 along rows
    %c2 = call @contraction(%w2, %h2)

Applies to a linalg.generic with all loops parallel, one result (used only by the
transpose) written through the identity map and not read by the body, no linalg.index,
and input maps that are projected permutations (broadcasts included). The rewritten op
must read every input contiguously: the innermost loop is absent from a map or is its last
result; otherwise the generic and its transpose stay as they were (a strided read costs
more than the transpose saves). Transposes left without uses are erased.

Measured with bench/variants.py (on vs off, alternating rounds, one process): the MLP
512-2048-2048-512 at batch 64 3.771/3.845 vs 3.991/4.103 ms (four of its six transposes
go); its training step 15.86/15.68 vs 15.69/15.95 ms, unchanged: the forward keeps each
ReLU's output in its own layout for the backward, so those transposes stay.
"""

from __future__ import annotations

from torch_mlir import ir

from .cpu_conv import _producer
from .cpu_recompute import maps_of, plain_elementwise
from .registry import ops_named, register_pass

# Set to False to keep the transposes (bench/variants.py A/B runs).
FOLD_TRANSPOSES = True


@register_pass("tg-cpu-fold-transposes")
def fold_transposes(module, pass_):
    """Compute an elementwise op that feeds a transpose in the transposed layout, reading
    the sources of transposed inputs directly (Note [elementwise ops between transposes],
    lowering/cpu_transpose_chains.py).

    Requires: linalg on tensors, after elementwise fusion.  Produces: fewer linalg.transpose."""
    if FOLD_TRANSPOSES:
        rewrite_transpose_chains(module)


def _perm(op) -> list[int]:
    return list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))


def _uses(v: ir.Value) -> int:
    return sum(1 for _ in v.uses)


def _dims_of(amap: ir.AffineMap) -> list[int | None] | None:
    """Each result's dim position (None for a constant), or None when a result is neither."""
    out = []
    for e in amap.results:
        e = e.maybe_downcast()
        if isinstance(e, ir.AffineDimExpr):
            out.append(e.position)
        elif isinstance(e, ir.AffineConstantExpr):
            out.append(None)
        else:
            return None
    return out


def _map(n: int, dims: list[int | None], constants: list) -> ir.AffineMap:
    exprs = [ir.AffineDimExpr.get(d) if d is not None else c for d, c in zip(dims, constants)]
    return ir.AffineMap.get(n, 0, exprs)


def _streams(dims: list[int | None], n: int) -> bool:
    """A map reads contiguously along the innermost loop: it does not use it, or uses it
    in its last result only."""
    inner = n - 1
    return inner not in dims or (dims[-1] == inner and dims.count(inner) == 1)


def rewrite_transpose_chains(module: ir.Operation) -> int:
    """Apply the Note's rewrite to every transpose that qualifies; returns how many."""
    count, erased = 0, set()  # hashes of the transposes erased as inputs
    for t in ops_named(module, "linalg.transpose"):
        t = t.operation
        if hash(t) in erased or not all(isinstance(v.type, ir.RankedTensorType) for v in t.operands):
            continue
        src = t.operands[0]
        g = _producer(src, "linalg.generic")
        if g is None or not plain_elementwise(g) or _uses(src) != 1:
            continue
        if _rewrite(t, g, erased):
            count += 1
    return count


def _rewrite(t, g, erased: set) -> bool:
    """The Note's rewrite of transpose `t` of generic `g`'s result; False if it does not apply."""
    perm, init = _perm(t), t.operands[1]
    n = len(perm)
    maps = maps_of(g)
    n_in = len(g.operands) - 1
    if maps[-1] != ir.AffineMap.get_identity(n) or any(m.n_dims != n for m in maps):
        return False
    inv = [0] * n
    for j, p in enumerate(perm):
        inv[p] = j  # old loop p is new loop j
    inputs, new_maps, dead = [], [], []
    for v, m in zip(list(g.operands)[:n_in], maps[:n_in]):
        dims = _dims_of(m)
        if dims is None:
            return False
        consts = list(m.results)
        moved = [inv[d] if d is not None else None for d in dims]
        src = _producer(v, "linalg.transpose")
        if src is not None and all(isinstance(x.type, ir.RankedTensorType) for x in src.operands):
            p1 = _perm(src)
            through = [None] * len(p1)
            through_consts = [None] * len(p1)
            for k, q in enumerate(p1):  # v's dim k is the source's dim p1[k]
                through[q], through_consts[q] = moved[k], consts[k]
            if _streams(through, n):
                inputs.append(src.operands[0])
                new_maps.append(_map(n, through, through_consts))
                dead.append(src)
                continue
        if not _streams(moved, n):
            return False
        inputs.append(v)
        new_maps.append(_map(n, moved, consts))
    with ir.InsertionPoint(t), t.location:
        new = g.clone()
    for i, v in enumerate(inputs):
        new.operands[i] = v
    new.operands[n_in] = init
    new.attributes["indexing_maps"] = ir.ArrayAttr.get(
        [ir.AffineMapAttr.get(m) for m in new_maps] + [ir.AffineMapAttr.get(ir.AffineMap.get_identity(n))]
    )
    new.results[0].set_type(t.results[0].type)
    t.results[0].replace_all_uses_with(new.results[0])
    t.erase()
    g.erase()
    for op in dead:
        if hash(op) not in erased and not _uses(op.results[0]):
            erased.add(hash(op))  # the address of a live op: never an erased one's
            op.erase()
    return True
