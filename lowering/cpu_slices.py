"""tg-cpu-slices-in-place: a linalg op whose result is reshaped and inserted into a slice of
a bigger tensor computes straight into that slice (Note [results into their slices]).

Note [results into their slices]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A concatenation of reshaped results, as a GPT-2 block's backward builds the gradient of
its fused q/k/v projection from the three heads' gradients, lowers to

    %t = linalg.transpose ins(%dq_heads) outs(%e : tensor<4x128x4x64xf32>)   // %e empty
    %c = tensor.collapse_shape %t [[0], [1], [2, 3]] : ... into tensor<4x128x256xf32>
    %r = tensor.insert_slice %c into %dest[0, 0, 0] [4, 128, 256] [1, 1, 1]
           : tensor<4x128x256xf32> into tensor<4x128x768xf32>

eliminate-empty-tensors would let the transpose write into %dest's buffer directly, but it
does not look through the collapse_shape, so bufferization copies each part (1.5 MB a
training step for the block's q/k/v gradient, as libc memcpy calls). This pass makes the
slice the op's destination itself, reshaped back to the op's shape:

    %s = tensor.extract_slice %dest[0, 0, 0] [4, 128, 256] [1, 1, 1]
    %v = tensor.expand_shape %s [[0], [1], [2, 3]] : ... into tensor<4x128x4x64xf32>
    %t = linalg.transpose ins(%dq_heads) outs(%v)
    %c = tensor.collapse_shape %t ...
    %r = tensor.insert_slice %c into %dest[...]

after which one-shot bufferization writes the transpose into a view of %dest's buffer, and
the insert's copy is one from that view onto an identical one, which cse and canonicalize
remove. Applies when the op has one result and one init, the init is a tensor.empty used
only there (an op does not read an empty init, so the slice's old values cannot matter),
and the result and the collapsed value each have that one use. The op moves down to just
before the insert (its operands dominate it there; it has no side effects).

Measured on the block's training step (perf, 8 s): libc's memmove went from 1.7-1.9% to
1.1-1.2% of each thread. bench/variants.py, on vs off: 21.04/20.33/20.43 vs
20.38/20.84/20.98 ms, within this machine's noise.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import tensor

from .cpu_conv import _producer
from .registry import ops_named, register_pass

# Set to False to keep the copies (bench/variants.py A/B runs).
SLICES_IN_PLACE = True


@register_pass("tg-cpu-slices-in-place")
def slices_in_place(module, pass_):
    """Let a linalg op whose collapsed result is inserted into a slice compute into that
    slice (Note [results into their slices], lowering/cpu_slices.py).

    Requires: linalg on tensors, before eliminate-empty-tensors.  Produces: the op's init
    is an expand_shape of an extract_slice of the insert's destination."""
    if SLICES_IN_PLACE:
        rewrite_slices(module)


def _single_use(v: ir.Value) -> bool:
    uses = iter(v.uses)
    return next(uses, None) is not None and next(uses, None) is None


def rewrite_slices(module: ir.Operation) -> int:
    """Apply the Note's rewrite to every tensor.insert_slice that qualifies; returns how many."""
    count = 0
    for ins in ops_named(module, "tensor.insert_slice"):
        source, dest = ins.operands[0], ins.operands[1]
        collapse = _producer(source, "tensor.collapse_shape")
        if collapse is None or not _single_use(source) or len(ins.operands) != 2:
            continue  # dynamic offsets, sizes or strides: left alone
        result = collapse.operands[0]
        op = result.owner
        if (not isinstance(op, ir.OpView) or not op.operation.name.startswith("linalg.")
                or len(op.operation.results) != 1 or not _single_use(result)):
            continue
        inits = [v for v in op.operation.operands if v.type == result.type and _producer(v, "tensor.empty")]
        if len(inits) != 1 or not _single_use(inits[0]) or not ir.RankedTensorType(result.type).has_static_shape:
            continue
        empty = inits[0]
        with ir.InsertionPoint(ins), ins.location:
            attrs = ins.attributes
            part = tensor.ExtractSliceOp(source.type, dest, [], [], [], attrs["static_offsets"],
                                         attrs["static_sizes"], attrs["static_strides"])
            view = tensor.ExpandShapeOp(result.type, part.result, collapse.attributes["reassociation"], [],
                                        ir.DenseI64ArrayAttr.get(ir.RankedTensorType(result.type).shape))
        op.operation.move_before(ins.operation)
        collapse.move_before(ins.operation)
        for i, v in enumerate(op.operation.operands):
            if v == empty:
                op.operation.operands[i] = view.result
        empty.owner.operation.erase()
        count += 1
    return count
