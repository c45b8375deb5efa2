"""tg-cpu-slices-in-place: a linalg op whose result is reshaped and inserted into a slice of
a bigger tensor computes straight into that slice (Note [results into their slices]), and a
reshaped result computes straight into its output buffer (Note [reshaped results into
their buffers]).

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
before the insert (its operands dominate it there; it has no side effects). A zero fill of
an empty tensor, both used only there, counts as an empty init (a product's start: the
attention gradients of tg-cpu-fold-batch-transposes, which write dq and dv merged); the
fill moves down with the op and fills the slice. That removed two 512 KB copies from a
GPT-2 block's backward (bench/variants.py --paired with and without this pass: step within
noise, 0.4%).

Measured on the block's training step (perf, 8 s): libc's memmove went from 1.7-1.9% to
1.1-1.2% of each thread. bench/variants.py, on vs off: 21.04/20.33/20.43 vs
20.38/20.84/20.98 ms, within this machine's noise.

Note [reshaped results into their buffers]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
The entry writes each result into its caller's buffer with

    bufferization.materialize_in_destination %r in restrict writable %out : memref<4x128x768xf32>

and eliminate-empty-tensors then lets the op computing %r write into %out directly. When %r
is a reshape, as a Linear's 2-D product expanded back to batch x seq x features, it does
not look through it, so the product gets a buffer of its own and the result a copy: four
in a GPT-2 block's training forward, 6 MB of saved activations (the q/k/v projection, the
attention output, fc1's output and its GELU) copied each step. The reshape moves to the
buffer instead, as a view, and the value is materialized in that view:

    %v = memref.collapse_shape %out [[0, 1], [2]] : memref<4x128x768xf32> into memref<512x768xf32>
    bufferization.materialize_in_destination %x in restrict writable %v

where %r = tensor.expand_shape %x [[0, 1], [2]]. Writing x into the view is writing r into
the buffer (an identity-layout buffer reshapes to a view), so this holds whatever %x is;
if nothing lets %x's producer write into the view, the copy is the same one as before.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import memref, tensor

from .cpu_conv import _producer
from .cpu_row_buffers import _identity
from .registry import ops_named, register_pass

# Set to False to keep the copies (bench/variants.py A/B runs).
SLICES_IN_PLACE = True
RESHAPED_RESULTS_IN_PLACE = True


@register_pass("tg-cpu-slices-in-place")
def slices_in_place(module, pass_):
    """Let a linalg op whose collapsed result is inserted into a slice compute into that
    slice (Note [results into their slices], lowering/cpu_slices.py).

    Requires: linalg on tensors, before eliminate-empty-tensors.  Produces: the op's init
    is an expand_shape of an extract_slice of the insert's destination; a reshaped value
    materialized in a buffer is materialized unreshaped in a view of the buffer."""
    if SLICES_IN_PLACE:
        rewrite_slices(module)
    if RESHAPED_RESULTS_IN_PLACE:
        rewrite_reshaped_results(module)


def _single_use(v: ir.Value) -> bool:
    uses = iter(v.uses)
    return next(uses, None) is not None and next(uses, None) is None


def _empty_init(v: ir.Value) -> bool:
    """An init whose old values do not matter: an empty tensor, or one filled (used only by
    the fill) with the fill used only here (a product's zero start)."""
    if _producer(v, "tensor.empty") is not None:
        return True
    fill = _producer(v, "linalg.fill")
    return (fill is not None and _producer(fill.operands[1], "tensor.empty") is not None
            and _single_use(fill.operands[1]))


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
        inits = [v for v in op.operation.operands if v.type == result.type and _empty_init(v)]
        if len(inits) != 1 or not _single_use(inits[0]) or not ir.RankedTensorType(result.type).has_static_shape:
            continue
        init = inits[0]
        fill = _producer(init, "linalg.fill")  # a zero-filled init fills the slice instead
        empty = fill.operands[1] if fill is not None else init
        with ir.InsertionPoint(ins), ins.location:
            attrs = ins.attributes
            part = tensor.ExtractSliceOp(source.type, dest, [], [], [], attrs["static_offsets"],
                                         attrs["static_sizes"], attrs["static_strides"])
            view = tensor.ExpandShapeOp(result.type, part.result, collapse.attributes["reassociation"], [],
                                        ir.DenseI64ArrayAttr.get(ir.RankedTensorType(result.type).shape))
        if fill is not None:
            fill.move_before(ins.operation)
        op.operation.move_before(ins.operation)
        collapse.move_before(ins.operation)
        writer = fill if fill is not None else op.operation
        for i, v in enumerate(writer.operands):
            if v == empty:
                writer.operands[i] = view.result
        empty.owner.operation.erase()
        count += 1
    return count


def rewrite_reshaped_results(module: ir.Operation) -> int:
    """Apply Note [reshaped results into their buffers] to every materialize_in_destination
    of a reshape into a memref; returns how many reshapes moved to a buffer."""
    count = 0
    for mat in ops_named(module, "bufferization.materialize_in_destination"):
        while True:
            value, dest = mat.operands[0], mat.operands[1]
            op = value.owner
            if (not isinstance(op, ir.OpView)
                    or op.operation.name not in ("tensor.expand_shape", "tensor.collapse_shape")
                    or not isinstance(dest.type, ir.MemRefType)
                    or not _identity(ir.MemRefType(dest.type))):
                break
            source = op.operation.operands[0]
            source_type = ir.RankedTensorType(source.type)
            if not source_type.has_static_shape:
                break
            reassociation = op.operation.attributes["reassociation"]
            view_type = ir.MemRefType.get(source_type.shape, source_type.element_type)
            with ir.InsertionPoint(mat), mat.location:
                if op.operation.name == "tensor.expand_shape":  # the buffer's view: the inverse
                    view = memref.CollapseShapeOp(view_type, dest, reassociation)
                else:
                    view = memref.ExpandShapeOp(view_type, dest, reassociation, [],
                                                source_type.shape)
            mat.operands[0], mat.operands[1] = source, view.result
            if not list(value.uses):
                op.operation.erase()
            count += 1
    return count
