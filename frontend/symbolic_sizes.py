"""Dynamo's symbolic sizes as run-time values: the sizes operands of tg.dynamic_reshape and
tg.dynamic_broadcast_to (Note [runtime sizes], dialects/ops_shape.py).

Under dynamic shapes a fake tensor's size is a SymInt whose expression is in Dynamo's
symbols (`s0`, `s1`, ...) or built from them (`s0*s1`, `(s0//4)`). Each symbol is the size
of some dim of a graph input, so an expression can be computed at run time from tg.dim_size
of that input and i64 arithmetic on 0-d tensors. A dim of a value imported earlier whose
size is the whole expression is used directly, without arithmetic.
"""

from __future__ import annotations

import sympy
import torch
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects.types import DYN, shape_of
from .aten import unsupported
from .fx_importer import ImportContext, static_dims


def runtime_size(ctx: ImportContext, size) -> int | ir.Value:
    """`size` (an int or SymInt) as a static int, or as a 0-d i64 tensor computed at run
    time; refuses (UnsupportedOpError, dynamic) an expression it cannot compute."""
    if isinstance(size, int):
        return size
    if not isinstance(size, torch.SymInt):
        unsupported(f"size {size!r} is not an integer")
    if (static := size.node.maybe_as_int()) is not None:
        return static
    return _evaluate(ctx, size.node.expr)


def runtime_shape(ctx: ImportContext, sizes) -> list[int | ir.Value]:
    """Every size of a fake tensor's shape as `runtime_size` gives it."""
    return [runtime_size(ctx, s) for s in sizes]


def output_shape(ctx: ImportContext) -> list:
    """The node's fake output shape as a reshape target: its static form (`?` for a
    dynamic dim) when at most one dim is dynamic (tg.reshape derives it), else with each
    dynamic size computed at run time."""
    shape = ctx.meta().shape
    static = static_dims(shape)
    return static if static.count(DYN) <= 1 else runtime_shape(ctx, shape)


def _evaluate(ctx: ImportContext, expr) -> int | ir.Value:
    if expr.is_Integer:
        return int(expr)
    if (source := dim_with_size(ctx, expr)) is not None:
        return tg.dim_size(*source)
    if isinstance(expr, sympy.Mul):
        return tg.materialize(tg.size_product([_evaluate(ctx, a) for a in expr.args]))
    if isinstance(expr, sympy.Add):
        terms = [_evaluate(ctx, a) for a in expr.args]
        total = sum(t for t in terms if isinstance(t, int))
        values = [t for t in terms if isinstance(t, ir.Value)]
        out = values[0]
        for v in values[1:]:
            out = tg.add(out, v)
        return tg.add(out, tg.scalar(total, out)) if total else out
    if type(expr).__name__ == "FloorDiv":
        num, den = (_evaluate(ctx, a) for a in expr.args)
        if isinstance(den, int) and den > 0:  # sizes are >= 0: division truncates to floor
            return num // den if isinstance(num, int) else tg.div(num, tg.scalar(den, num))
    unsupported(f"symbolic size {expr} has no run-time form")


def dim_with_size(ctx: ImportContext, expr) -> tuple[ir.Value, int] | None:
    """An imported tensor and a dynamic dim of it whose symbolic size is `expr`; graph
    inputs come first in `ctx.values`, so they are preferred."""
    for node, value in ctx.values.items():
        if not isinstance(value, ir.Value) or not isinstance(node, torch.fx.Node):
            continue
        meta = ctx.meta(node)
        if not isinstance(meta, torch.Tensor):
            continue
        for d, s in enumerate(meta.shape):
            if isinstance(s, torch.SymInt) and s.node.expr == expr and shape_of(value)[d] == DYN:
                return value, d
    return None
