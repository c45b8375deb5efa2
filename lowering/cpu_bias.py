"""A bias added to a matmul's result becomes the matmul's accumulator start (linalg on tensors).

Note [matmul accumulator init]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
`linear` lowers to C = fill(0); C += A B; out = C + bias (broadcast along rows): a memset of
C, the matmul, then a pass that reads C and the bias and writes another buffer. Here the
bias moves into the start value:

    %b = linalg.generic ins(%bias) outs(tensor.empty)      bias broadcast along C's rows
    %c = linalg.matmul ins(%a, %w) outs(%b)                C = bias + A B

and the CPU matmul kernel (lowering/cpu_matmul.py) recognizes both start values on buffers
(a zero fill, a bias broadcast written just before it into C): the writer is erased and the
register accumulators of the first k block start from zeros or the bias row instead of
loading C. What eager's addmm computes in one call, in one pass over C.
Only an add whose other operand is a 1-D row vector along the last dim, and a matmul whose
result has no other use, are rewritten; a reshape (tensor.expand_shape) of the result in
between is kept.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import linalg

from .cpu_matmul import _dims, is_zero_fill
from .registry import ops_named


def _single_use(v: ir.Value) -> bool:
    uses = list(v.uses)
    return len(uses) == 1


def _matmul_of(v: ir.Value):
    """(matmul op, expand_shape op or None) when `v` is a zero-initialized matmul's result,
    possibly reshaped with its last dim kept, used only on the way to `v`."""
    owner = v.owner
    expand = None
    if isinstance(owner, ir.OpView) and owner.operation.name == "tensor.expand_shape":
        reassoc = [list(ir.ArrayAttr(g)) for g in ir.ArrayAttr(owner.attributes["reassociation"])]
        if not reassoc or len(reassoc[-1]) != 1 or not _single_use(owner.operands[0]):
            return None
        expand, owner = owner, owner.operands[0].owner
    if not isinstance(owner, ir.OpView) or owner.operation.name not in ("linalg.matmul", "linalg.batch_matmul"):
        return None
    init = owner.operands[2].owner
    if not isinstance(init, ir.OpView) or not is_zero_fill(init.operation):
        return None
    if not _single_use(owner.results[0]):
        return None
    return owner, expand


def _bias_add(op):
    """(matmul result operand, bias) of an elementwise out = x + bias[last dim]; else None."""
    if len(op.operands) != 3 or len(op.results) != 1:
        return None
    iters = [str(a) for a in ir.ArrayAttr(op.attributes["iterator_types"])]
    if any("parallel" not in it for it in iters):
        return None
    maps = [_dims(ir.AffineMapAttr(a).value) for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    rank = len(iters)
    body = op.regions[0].blocks[0]
    ops = list(body.operations)
    if len(ops) != 2 or ops[0].operation.name != "arith.addf" or ops[1].operands[0] != ops[0].results[0]:
        return None
    args = list(body.arguments)
    if {ops[0].operands[0], ops[0].operands[1]} != {args[0], args[1]} or maps[2] != list(range(rank)):
        return None
    for x, b in ((0, 1), (1, 0)):
        if maps[x] == list(range(rank)) and maps[b] == [rank - 1]:
            return op.operands[x], op.operands[b]
    return None


def fold_bias(module: ir.Operation) -> int:
    """Rewrite every matmul + row-bias add of Note [matmul accumulator init]; returns how many."""
    count = 0
    for op in ops_named(module, "linalg.generic"):
        found = _bias_add(op)
        if found is None:
            continue
        x, bias = found
        mm = _matmul_of(x)
        if mm is None or ir.RankedTensorType(bias.type).element_type != ir.RankedTensorType(x.type).element_type:
            continue
        matmul, expand = mm
        init_type = ir.RankedTensorType(matmul.results[0].type)
        rank = init_type.rank
        with ir.InsertionPoint(matmul), op.location:
            d = [ir.AffineDimExpr.get(i) for i in range(rank)]
            maps = [ir.AffineMap.get(rank, 0, [d[-1]]), ir.AffineMap.get_identity(rank)]
            empty = matmul.operands[2].owner.operands[1]  # the zero fill's tensor.empty
            bcast = linalg.GenericOp(
                [init_type], [bias], [empty],
                ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
                ir.ArrayAttr.get([ir.Attribute.parse("#linalg.iterator_type<parallel>")] * rank),
            )
            elem = init_type.element_type
            block = bcast.regions[0].blocks.append(elem, elem)
            with ir.InsertionPoint(block):
                linalg.YieldOp([block.arguments[0]])
        matmul.operands[2] = bcast.results[0]
        op.results[0].replace_all_uses_with(x)
        op.erase()
        count += 1
    return count
