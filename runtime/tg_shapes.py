"""Concrete result shapes of a tg function for concrete input shapes.

The CPU runtime preallocates every output, so a function with dynamic result dims needs
their sizes before the call. For functions the importer did not see (autodiff's
@f_fwd/@f_bwd, whose saved values and gradients have no FX node) we replay the ops' own
type inference (`TGOp.infer`) on static types: the verifier's rules are the shape rules.
"""

from __future__ import annotations

import math
from typing import Sequence

from torch_mlir import ir
from torch_mlir.dialects import func

from ..dialects import ops_elementwise as E
from ..dialects import ops_shape as S
from ..dialects.tg import TGOp
from ..dialects.types import DYN, element_type, shape_of, tensor_type

Shape = tuple[int, ...]


def result_shapes(
    f: func.FuncOp,
    input_shapes: Sequence[Sequence[int]],
    input_sizes: Sequence[int | None] = (),
) -> list[Shape]:
    """Shapes of `f`'s results when its arguments have `input_shapes` (static ints).

    `input_sizes` gives the values of 0-d integer arguments (None for the others): an
    @f_bwd receives the size operands of its dynamic_ ops from @f_fwd that way."""
    args = list(f.arguments)
    if len(args) != len(input_shapes):
        name, n = f.sym_name.value, len(input_shapes)
        raise ValueError(f"runtime: '@{name}' takes {len(args)} inputs, got {n}")
    env: dict[ir.Value, Shape] = {a: tuple(s) for a, s in zip(args, input_shapes)}
    # values of 0-d integer results computed from sizes, and of such arguments
    sizes: dict[ir.Value, int] = {a: v for a, v in zip(args, input_sizes) if v is not None}
    with f.context:
        for op in f.entry_block.operations:
            if isinstance(op, func.ReturnOp):
                return [env[v] for v in op.operands]
            ins = [env[v] for v in op.operands]
            for r, shape in zip(op.results, _op_shapes(op, ins, sizes)):
                env[r] = shape
            if (value := _size_value(op, ins, sizes)) is not None:
                sizes[op.results[0]] = value
    raise ValueError("runtime: function has no return")


_SIZE_ARITHMETIC = {E.AddOp: int.__add__, E.SubOp: int.__sub__, E.MulOp: int.__mul__,
                    E.DivOp: lambda a, b: int(a / b) if b else 0,
                    E.MaximumOp: max, E.MinimumOp: min}


def _size_value(op, ins: list[Shape], sizes: dict[ir.Value, int]) -> int | None:
    """The value of a 0-d integer result that sizes determine (tg.dim_size and integer
    arithmetic on such, constants): the size operands of the dynamic_ ops (Note [runtime
    sizes], dialects/ops_shape.py). Division truncates, as the lowering's divsi does."""
    if len(op.results) != 1 or shape_of(op.results[0]) != ():
        return None
    if not isinstance(element_type(op.results[0]), ir.IntegerType):
        return None
    if isinstance(op, S.DimSizeOp):
        return ins[0][op.py_attrs()["dim"] % len(ins[0])]
    if isinstance(op, E.ConstantOp):
        return int(ir.DenseIntElementsAttr(op.attributes["value"])[0])
    if isinstance(op, E.ConvertOp) and op.operands[0] in sizes:
        return sizes[op.operands[0]]
    arithmetic = _SIZE_ARITHMETIC.get(type(op))
    if arithmetic is not None and all(v in sizes for v in op.operands):
        return arithmetic(*(sizes[v] for v in op.operands))
    return None


def _op_shapes(op, ins: list[Shape], sizes: dict[ir.Value, int]) -> list[Shape]:
    results = list(op.results)
    if isinstance(op, S.SliceOp):
        return [_slice(op, ins[0])]
    if isinstance(op, (S.DynamicReshapeOp, S.DynamicBroadcastToOp)):
        return [_from_size_operands(op, sizes)]
    if isinstance(op, TGOp):
        types = [tensor_type(s, element_type(v)) for s, v in zip(ins, op.operands)]
        attrs = {k: v for k, v in op.py_attrs().items() if not k.endswith("SegmentSizes")}
        inferred = type(op).infer(types, **attrs)
        inferred = list(inferred) if isinstance(inferred, (list, tuple)) else [inferred]
        shapes = [
            shape_of(t) if t is not None else _declared(op, ins, r)
            for t, r in zip(inferred, results)
        ]
        if any(DYN in s for s in shapes):
            raise ValueError(f"runtime: no static result shape for '{op.operation.name}'")
        return shapes
    if op.operation.name == "tensor.cast":
        return [ins[0]]
    return [_static(op, r) for r in results]


def _slice(op, shape: Shape) -> Shape:
    """Run-time slice size: `end` is clamped to the dim, -1 means to the end (as lowered)."""
    a = {k: v for k, v in op.py_attrs().items()}
    d = a["dim"] % len(shape)
    end = shape[d] if a["end"] < 0 else min(a["end"], shape[d])
    size = max(0, -(-(end - a["start"]) // a["step"]))
    return shape[:d] + (size,) + shape[d + 1 :]


def _from_size_operands(op, sizes: dict[ir.Value, int]) -> Shape:
    """A dynamic_ op's result shape: each `?` is the value of its size operand."""
    operands = list(op.operands)[1:]
    if not all(v in sizes for v in operands):
        name = op.operation.name
        raise ValueError(f"runtime: cannot compute the size operands of '{name}'")
    it = iter(sizes[v] for v in operands)
    return tuple(next(it) if d == DYN else d for d in shape_of(op.results[0]))


def _declared(op, ins: list[Shape], result: ir.Value) -> Shape:
    """Ops whose result type is their own choice (reshape, broadcast_to, convert)."""
    dst = shape_of(result)
    if isinstance(op, E.ConvertOp):
        return ins[0]
    if isinstance(op, S.ReshapeOp):
        if DYN in dst:
            rest = math.prod(d for d in dst if d != DYN)
            size = math.prod(ins[0]) // rest if rest else 0
            return tuple(size if d == DYN else d for d in dst)
        return dst
    if isinstance(op, S.BroadcastToOp):
        src, off = ins[0], len(dst) - len(ins[0])
        return tuple(src[i - off] if d == DYN else d for i, d in enumerate(dst))
    return _static(op, result)


def _static(op, result: ir.Value) -> Shape:
    shape = shape_of(result)
    if DYN in shape:
        name = op.operation.name
        raise ValueError(f"runtime: cannot compute the dynamic result shape of '{name}'")
    return shape
