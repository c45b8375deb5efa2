"""VJP rules for the indexing primitives (dialects/ops_index.py).

gather and scatter_add are each other's transposes; insert_slice splits the cotangent
into the written window (src's gradient) and the rest (dest's gradient).
Contract: `<op>_vjp(op, grad) -> tuple[Value | None, ...]`, one entry per operand.
"""

from __future__ import annotations

from ..dialects import builders as tg
from ..dialects import builders_index as ix
from ..dialects import ops_index as I
from ..dialects.registry import VJP
from ..dialects.types import DYN, shape_of
from .vjp_common import attr, operands, wants, zeros_like


@VJP.register(I.GatherOp)
def gather_vjp(op, g):
    x, index = operands(op)
    d = attr(op, "dim")
    return (ix.scatter_add(zeros_like(x), index, g, d) if wants(0) else None, None)


@VJP.register(I.ScatterAddOp)
def scatter_add_vjp(op, g):
    _, index, _ = operands(op)
    d = attr(op, "dim")
    return (g if wants(0) else None, None, ix.gather(g, index, d) if wants(2) else None)


@VJP.register(I.InsertSliceOp)
def insert_slice_vjp(op, g):
    _, src = operands(op)
    d = attr(op, "dim") % len(shape_of(src))
    start, step = attr(op, "start"), attr(op, "step")
    n = shape_of(src)[d]
    if n == DYN:
        raise ValueError("insert_slice of a dynamic size has no gradient rule")
    d_dest = ix.insert_slice(g, zeros_like(src), d, start, step) if wants(0) else None
    d_src = tg.slice(g, d, start, start + step * (n - 1) + 1, step) if wants(1) and n else None
    if wants(1) and not n:
        d_src = zeros_like(src)
    return (d_dest, d_src)


@VJP.register(I.StopGradientOp)
def stop_gradient_vjp(op, g):
    return (None,)
