"""tg-cpu-fold-batch-transposes: a batch_matmul whose operands are transposed and collapsed
4-D tensors reads them in place, as a product with two batch dims (Note [products with
several batch dims]), linalg on tensors.

Note [products with several batch dims]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Attention splits a (batch, seq, heads * dim) projection into heads and multiplies them
per (batch, head):

    %x = tensor.expand_shape %q ... into tensor<4x128x4x64xf32>           b, t, h, d
    %t = linalg.transpose ins(%x) outs(%e) permutation = [0, 2, 1, 3]     b, h, t, d
    %c = tensor.collapse_shape %t [[0, 1], [2], [3]] into tensor<16x128x64xf32>
    %s = linalg.batch_matmul ins(%c, %kt) outs(%init)

Each transpose is a pass over memory (a GPT-2 block's q, k and v: 1.5 MB) that exists only
to give the product one batch dim, and the product's result is transposed back to merge
the heads. The product reads the untransposed tensors instead, as a linalg.generic with
loops (b, h, m, n, k) and each operand's map composed with its transpose; an operand that
is only collapsed is read uncollapsed, any other is expanded to two batch dims (views
both). A zero fill of an empty init becomes a fill of a 4-D empty (so the kernel's
find_init still starts its accumulators from zero, with no fill loop; a view of the old
fill kept the fill as a loop of its own and the kernel reading C); when the result's only
use is a transpose of it expanded back, the product writes that layout directly and the
transpose goes too. Otherwise the result is collapsed back for its users.

tg-cpu-matmul-kernels runs such a generic on the matmul kernel (plan in
lowering/cpu_matmul.py accepts a generic whose body adds the inputs' product to the init,
whose last loop is the only reduction, and in which A does not use n nor B m: a row-wise
dot product such as softmax's backward is not a product). Its batch loops are linearized
into the one range the threads share, each batch's (b, h) recovered by division, and each
batch's operands read at their own strides (a head of q is a 128x64 block of rows 768
floats apart). The rewrite applies only where the kernel will run the result: C and B
innermost along n, or B along k (B^T); a product in another layout would be left to
scalar loops, far slower than the transposes (a block's training step took 28 instead of
14 ms before this check). Where C would be innermost along m (the attention backward's
dk^T, transposed back to dk's merged layout), the same product is taken as C^T = B^T A^T:
m and n exchanged and the operands swapped, which writes along n. It needs static shapes
(the new empties and views would need their dynamic sizes: a dynamic sequence length keeps
its transposes), an operand that is a [[0, 1], ...] collapse of a 4-D transpose, and maps
with the batch dim first; otherwise nothing changes. Transposes left without uses are
erased.

Measured on a GPT-2 block (kernels timed per OpenMP region, one process): inference's
three transpose kernels (70 and 18 us) are gone, its two products take 134 + 118 us
instead of 232 us for both (their operands are strided); the training step runs 28 kernels
instead of 34, 12.19 instead of 12.50 ms of them, with no transpose or copy left in its
backward. bench/variants.py --paired, on vs off: inference 1.3% faster (103 of 150
rounds), the training step 2.3% faster (96 of 150 rounds; 1.1% before the exchange of m
and n).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from .cpu_conv import _producer
from .cpu_matmul import _dims, contraction_maps
from .registry import ops_named, register_pass
from .to_linalg.common import _reassoc
from .triangular_zeros import ATTRS as ZERO_ATTRS, mirror

# Set to False to keep the transposes (bench/variants.py A/B runs).
FOLD_BATCH_TRANSPOSES = True

_PARALLEL = "#linalg.iterator_type<parallel>"
_REDUCTION = "#linalg.iterator_type<reduction>"


@register_pass("tg-cpu-fold-batch-transposes")
def fold_batch_transposes(module, pass_):
    """Let a batch_matmul read its transposed operands in place (Note [products with
    several batch dims], lowering/cpu_batch_products.py).

    Requires: linalg on tensors.  Produces: linalg.generic products with two batch loops,
    which tg-cpu-matmul-kernels runs as matmuls."""
    if FOLD_BATCH_TRANSPOSES:
        rewrite_batch_products(module)


_BATCH_GROUPS = [[0, 1], [2], [3]]  # (b0, b1, m, n) <-> (b0 * b1, m, n)


def _groups(reshape: ir.Operation) -> list[list[int]]:
    return [[ir.IntegerAttr(i).value for i in ir.ArrayAttr(g)]
            for g in ir.ArrayAttr(reshape.attributes["reassociation"])]


def _split_batch(value: ir.Value):
    """(4-D tensor, its dim order) that `value` collapses, for an operand collapsed as
    [[0, 1], [2], [3]]: the transpose's source with the inverse of its permutation when
    that tensor is a linalg.transpose's result, else the collapsed tensor itself; None if
    `value` is no such collapse."""
    collapse = _producer(value, "tensor.collapse_shape")
    if collapse is None:
        return None
    if _groups(collapse) != _BATCH_GROUPS:
        return None
    four = collapse.operands[0]
    transpose = _producer(four, "linalg.transpose")
    if transpose is None:
        return four, [0, 1, 2, 3]
    perm = list(ir.DenseI64ArrayAttr(transpose.attributes["permutation"]))
    return transpose.operands[0], perm  # four[j] = source[perm[j]]


def _transposed_use(result: ir.Value, b0: int, b1: int):
    """The linalg.transpose that alone reads `result` expanded back to (b0, b1, m, n), and
    its permutation, when its init is an empty tensor; else None."""
    uses = list(result.uses)
    if len(uses) != 1:
        return None
    expand = uses[0].owner
    if expand.name != "tensor.expand_shape" or len(list(expand.results[0].uses)) != 1:
        return None
    shape = ir.RankedTensorType(expand.results[0].type).shape
    if _groups(expand) != _BATCH_GROUPS or shape[:2] != [b0, b1]:
        return None
    transpose = list(expand.results[0].uses)[0].owner
    if (transpose.name != "linalg.transpose"
            or _producer(transpose.operands[1], "tensor.empty") is None):
        return None
    return expand, transpose, list(ir.DenseI64ArrayAttr(transpose.attributes["permutation"]))


def rewrite_batch_products(module: ir.Operation) -> int:
    """Apply the Note's rewrite to every batch_matmul that qualifies; returns how many."""
    count = 0
    for op in ops_named(module, "linalg.batch_matmul"):
        op = op.operation
        maps = [_dims(m) for m in contraction_maps(op, 1)]
        if any(p is None or len(p) != 3 or p[0] != 0 for p in maps):
            continue
        a, b, init = op.operands[0], op.operands[1], op.operands[2]
        if not all(ir.RankedTensorType(v.type).has_static_shape for v in (a, b, init)):
            continue  # the new empties and views would need their dynamic sizes
        split = [_split_batch(v) for v in (a, b)]
        if not any(s is not None and s[1] != [0, 1, 2, 3] for s in split):
            continue  # no transpose to fold
        source_shape = next(ir.RankedTensorType(s[0].type).shape for s in split if s is not None)
        perm0 = next(s[1] for s in split if s is not None)
        b0, b1 = source_shape[perm0[0]], source_shape[perm0[1]]
        if ir.ShapedType.get_dynamic_size() in (b0, b1):
            continue
        fill = _producer(init, "linalg.fill")
        if fill is not None and _producer(fill.operands[1], "tensor.empty") is None:
            fill = None
        # The product transposed back afterwards (attention's heads merged) is written in
        # that layout instead, when its init is a fill: the transpose goes too.
        back = _transposed_use(op.results[0], b0, b1) if fill is not None else None
        # Loops of the generic: b0 b1 m n k, i.e. old loop i > 0 is i + 1.
        loops = [_source_index([0, 1, old[1] + 1, old[2] + 1],
                               s[1] if s is not None else [0, 1, 2, 3])
                 for s, old in zip(split, maps)]
        out_index = [0, 1, maps[2][1] + 1, maps[2][2] + 1]
        loops.append([out_index[p] for p in back[2]] if back is not None else out_index)
        swap = not _kernel_layout(loops)
        if swap:
            # C^T = B^T A^T: the same product with m and n (loops 2 and 3) exchanged and the
            # operands swapped may be one the kernel runs (dk written merged).
            loops = [[{2: 3, 3: 2}.get(i, i) for i in x] for x in (loops[1], loops[0], loops[2])]
            if not _kernel_layout(loops):
                continue
        with ir.InsertionPoint(op), op.location:
            inputs = [s[0] if s is not None else _expanded(v, b0, b1)
                      for v, s in zip((a, b), split)]
            if swap:
                inputs.reverse()
            t = ir.RankedTensorType(init.type)
            if fill is not None:
                # A fill of an empty init becomes one of a 4-D empty: the kernel then starts
                # its accumulators from the value (find_init), with no fill loop.
                shape = [b0, b1, *t.shape[1:]]
                if back is not None:
                    shape = [shape[p] for p in back[2]]
                empty = tensor.EmptyOp(shape, t.element_type).result
                inputs.append(linalg.fill(fill.operands[0], outs=[empty]))
            else:
                inputs.append(_expanded(init, b0, b1))
            generic = linalg.GenericOp(
                [inputs[2].type], inputs[:2], [inputs[2]],
                ir.ArrayAttr.get([ir.AffineMapAttr.get(_map(x)) for x in loops]),
                ir.ArrayAttr.get([ir.Attribute.parse(_PARALLEL)] * 4
                                 + [ir.Attribute.parse(_REDUCTION)]),
            )
            _keep_zero_marks(op, generic.operation, swap)
            block = generic.regions[0].blocks.append(t.element_type, t.element_type, t.element_type)
            with ir.InsertionPoint(block):
                x, y, acc = block.arguments
                linalg.YieldOp([arith.addf(acc, arith.mulf(x, y))])
            if back is None:
                result = tensor.CollapseShapeOp(op.results[0].type, generic.results[0],
                                                _reassoc(_BATCH_GROUPS)).result
        if back is None:
            op.results[0].replace_all_uses_with(result)
        else:
            expand, transpose, _ = back
            transpose.results[0].replace_all_uses_with(generic.results[0])
            transpose.erase()
            expand.erase()
        op.erase()
        for value in (a, b):
            _erase_if_dead(value)
        count += 1
    return count


def _keep_zero_marks(old: ir.Operation, new: ir.Operation, swap: bool) -> None:
    """Carry Note [triangular zeros]'s marks (lowering/triangular_zeros.py) to the generic.
    Exchanging the operands makes B^T the new A and C^T the new C, so each mark mirrors and
    an operand's moves to the other one: B[k, n] == 0 for n - k > c is A'[m', k] == 0 for
    m' - k > c."""
    for (side, kind), name in ZERO_ATTRS.items():
        if name in old.attributes:
            if swap:
                side, kind = {"a": "b", "b": "a", "c": "c"}[side], mirror(kind)
            new.attributes[ZERO_ATTRS[(side, kind)]] = old.attributes[name]


def _kernel_layout(loops: list[list[int]]) -> bool:
    """Whether the matmul kernel runs a product whose A, B and C are indexed by these loops
    (plan in lowering/cpu_matmul.py): C and B innermost along n, or B along k (B^T); a
    product in another layout would be left to scalar loops, far slower than the
    transposes."""
    _, b, c = loops
    return c[-1] == 3 and b[-1] in (3, 4)


def _source_index(four_index: list[int], perm: list[int]) -> list[int]:
    """The loops indexing a transpose's source, from those indexing its result
    (result[j] = source[perm[j]])."""
    index = [0] * len(perm)
    for j, p in enumerate(perm):
        index[p] = four_index[j]
    return index


def _map(loops: list[int]) -> ir.AffineMap:
    return ir.AffineMap.get(5, 0, [ir.AffineDimExpr.get(i) for i in loops])


def _expanded(value: ir.Value, b0: int, b1: int) -> ir.Value:
    """`value` (batch, m, n) viewed as (b0, b1, m, n)."""
    t = ir.RankedTensorType(value.type)
    shape = [b0, b1, *t.shape[1:]]
    return tensor.ExpandShapeOp(ir.RankedTensorType.get(shape, t.element_type), value,
                                _reassoc(_BATCH_GROUPS), [], shape).result


def _erase_if_dead(value: ir.Value) -> None:
    """Erase the collapse (and the transpose under it) that computed `value` if unused."""
    while isinstance(value.owner, ir.OpView) and not list(value.uses):
        op = value.owner.operation
        if op.name not in ("tensor.collapse_shape", "linalg.transpose"):
            return
        value = op.operands[0]
        op.erase()
