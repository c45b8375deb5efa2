"""tg-cpu-resolve-memref-dims: the bounds of bufferized loops in terms of the function's
arguments (Note [loop bounds of dynamic shapes]), memrefs.

Note [loop bounds of dynamic shapes]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
convert-linalg-to-parallel-loops bounds each loop nest by `memref.dim` of the buffers it
writes. With static shapes those are constants, and two nests over the same rows have
equal bounds; with dynamic ones every buffer has its own `memref.dim`, so row fusion
(Note [row fusion]), which fuses nests whose leading bounds are the same value, left the
layer norms and softmaxes of a GPT-2 block under dynamic shapes as one loop nest (one fork
of the thread team, one pass over memory, one more function to compile) per op.

A size of a buffer is where the buffer got it: an allocation's size operand, an
expand_shape's output size, a collapse_shape's single source dim, a cast's source. This
pass follows each `memref.dim` there, ending at a value computed once (usually a dim of a
function argument, then asked once at the top of the function), so nests over the same
rows have the same bound values.

Only functions with a dynamically shaped argument are touched: with static shapes the few
`memref.dim` left are of kernels' dynamically typed views, and their IR stays as it was.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, func, memref

from .registry import register_pass

# Set to False to keep the bounds as bufferization left them (bench/variants.py A/B runs).
RESOLVE_MEMREF_DIMS = True


@register_pass("tg-cpu-resolve-memref-dims")
def resolve_memref_dims(module, pass_):
    """Rewrite each `memref.dim` of a function with dynamic arguments to the value the
    buffer's size came from (Note [loop bounds of dynamic shapes],
    lowering/cpu_memref_dims.py).

    Requires: bufferized loops.  Produces: loop bounds that compare equal as values."""
    if not RESOLVE_MEMREF_DIMS:
        return
    for op in list(module.regions[0].blocks[0].operations):
        fn = op.opview
        if isinstance(fn, func.FuncOp) and not fn.is_external and _dynamic_args(fn):
            _resolve_function(fn)


def _dynamic_args(fn: func.FuncOp) -> bool:
    for t in fn.type.inputs:
        if isinstance(t, ir.MemRefType):
            mtype = ir.MemRefType(t)
            if any(mtype.is_dynamic_dim(i) for i in range(mtype.rank)):
                return True
    return False


def _resolve_function(fn: func.FuncOp) -> None:
    dims = []

    def visit(op):
        if op.name == "memref.dim":
            dims.append(op)
        return ir.WalkResult.ADVANCE

    fn.operation.walk(visit)
    first = fn.entry_block.operations[0]
    args: dict[tuple[int, int], ir.Value] = {}  # (argument number, dim) -> its dim at the top
    for op in dims:
        index = _constant_index(op.operands[1])
        origin = None if index is None else _origin(op.operands[0], index)
        if origin is None:
            continue
        if isinstance(origin, tuple):
            arg, d = origin
            if (arg.arg_number, d) not in args:
                with ir.InsertionPoint(first), op.location:
                    args[(arg.arg_number, d)] = memref.dim(arg, arith.constant(ir.IndexType.get(), d))
            origin = args[(arg.arg_number, d)]
        if origin != op.results[0]:
            op.results[0].replace_all_uses_with(origin)
            op.erase()


def _constant_index(v: ir.Value) -> int | None:
    owner = v.owner
    if isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant":
        return ir.IntegerAttr(owner.attributes["value"]).value
    return None


def _origin(buf: ir.Value, d: int):
    """Where dim `d` of `buf` comes from: (function argument, dim), an index value, or None."""
    while True:
        if isinstance(buf, ir.BlockArgument):
            return (buf, d) if isinstance(buf.owner.owner.opview, func.FuncOp) else None
        owner = buf.owner
        mtype = ir.MemRefType(buf.type)
        if not mtype.is_dynamic_dim(d):
            return None
        dynamic_before = sum(1 for i in range(d) if mtype.is_dynamic_dim(i))
        name = owner.name
        if name in ("memref.alloc", "memref.alloca"):
            return _resolved_value(owner.operands[dynamic_before])
        if name == "memref.expand_shape":
            return _resolved_value(owner.operands[1 + dynamic_before])
        if name == "memref.collapse_shape":
            src = owner.operands[0]
            stype = ir.MemRefType(src.type)
            group = [ir.IntegerAttr(i).value for i in ir.ArrayAttr(owner.attributes["reassociation"])[d]]
            dynamic = [i for i in group if stype.is_dynamic_dim(i)]
            if len(dynamic) != 1 or any(stype.get_dim_size(i) != 1 for i in group if i not in dynamic):
                return None
            buf, d = src, dynamic[0]
            continue
        if name == "memref.cast":
            buf = owner.operands[0]
            continue
        return None


def _resolved_value(v: ir.Value):
    """A size operand, itself followed when it is a `memref.dim`."""
    owner = v.owner
    if isinstance(owner, ir.OpView) and owner.operation.name == "memref.dim":
        index = _constant_index(owner.operands[1])
        if index is not None and (origin := _origin(owner.operands[0], index)) is not None:
            return origin
    return v
