"""Helpers shared by the VJP rules (vjp_*.py): un-broadcasting, zeros, re-expansion.

Rules build under the caller's insertion point and location, like decomposition rules;
`tg-autodiff` tells them which operands need a gradient through `wants(i)`.
"""

from __future__ import annotations

import contextvars
from typing import Sequence

from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects.ops_reduce import normalized_dims
from ..dialects.tg import from_attr
from ..dialects.types import element_type, shape_of

# Operand indices of the op being differentiated whose gradient is used (activity
# analysis); None outside tg-autodiff, where every gradient is wanted.
_WANTED: contextvars.ContextVar[frozenset[int] | None] = contextvars.ContextVar(
    "tg_vjp_wanted", default=None
)


def wants(i: int) -> bool:
    """Whether the driver uses the gradient of operand `i`: rules skip building the rest."""
    wanted = _WANTED.get()
    return wanted is None or i in wanted


def wanting(indices):
    """Context manager for the driver: `with wanting({0}): rule(op, g)`."""

    class _Scope:
        def __enter__(self):
            self.token = _WANTED.set(frozenset(indices))

        def __exit__(self, *exc):
            _WANTED.reset(self.token)

    return _Scope()


def attr(op, name: str):
    """A Python value of attribute `name` of `op`."""
    return from_attr(op.operation.attributes[name])


def operands(op) -> list[ir.Value]:
    return list(op.operation.operands)


def result(op) -> ir.Value:
    return op.operation.results[0]


# Note [dynamic broadcast]
# tg.broadcast_to with a dynamic result dim needs an operand with that dim dynamic at
# the same place, or its lowering cannot know the size. When a rule must broadcast to
# (or build zeros of) a shape whose dynamic size only a forward value knows, it builds a
# tg.dynamic_broadcast_to sized by that value's tg.dim_size (Note [runtime sizes],
# dialects/ops_shape.py): the backward then needs the forward value's sizes only, 0-d
# tensors, where the `where(eq(like, like), a, b)` this replaced had the forward compute
# and save a mask of like's shape.


def broadcast_like(x: ir.Value, like: ir.Value) -> ir.Value:
    """`x` broadcast to the shape of `like` (see Note [dynamic broadcast]; like's sizes
    are built only where x's own dims cannot give them)."""
    if shape_of(x) == shape_of(like):
        return x
    return tg.broadcast_to(x, tg.sizes(like))


def zeros_like(like: ir.Value, elem: ir.Type | None = None) -> ir.Value:
    """Zeros of the shape of `like` (element type `elem`, default like's)."""
    zero = tg.scalar(0, elem or element_type(like))
    return broadcast_like(zero, like) if shape_of(like) else zero


def sum_to_shape(grad: ir.Value, shape: Sequence[int]) -> ir.Value:
    """Undo broadcasting: sum `grad` over the dims that broadcasting added to `shape`.

    Leading extra dims are reduced away; dims that are 1 in `shape` but not in `grad`
    are reduced with keepdim, so no reshape (and no dynamic-reshape limit) is involved.
    """
    gshape = shape_of(grad)
    shape = tuple(shape)
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum a gradient of rank {len(gshape)} to rank {len(shape)}")
    if lead:
        grad = tg.reduce_sum(grad, list(range(lead)), False)
    unit = [i for i, d in enumerate(shape) if d == 1 and shape_of(grad)[i] != 1]
    if unit:
        grad = tg.reduce_sum(grad, unit, True)
    return grad


def unreduce(grad: ir.Value, x: ir.Value, dims: Sequence[int], keepdim: bool) -> ir.Value:
    """Broadcast the gradient of a reduction of `x` over `dims` back to x's shape."""
    rank = len(shape_of(x))
    dims = normalized_dims(dims, rank)
    if not keepdim:
        grad = unsqueeze(grad, dims, rank)
    return broadcast_like(grad, x)


def unsqueeze(x: ir.Value, dims: Sequence[int], rank: int) -> ir.Value:
    """Insert size-1 dims at positions `dims` of a rank-`rank` result. A 0-d `x` is
    returned as is: it broadcasts like the keepdim shape (and 0-d reshapes are avoided)."""
    if not shape_of(x):
        return x
    src = iter(tg.sizes(x))  # dynamic dims keep x's own sizes (Note [runtime sizes])
    return tg.reshape(x, [1 if i in dims else next(src) for i in range(rank)])


def permute(x: ir.Value, perm: Sequence[int]) -> ir.Value:
    """tg.permute that composes with a permute producing `x` (so the transpose of a
    transposed weight is the weight itself, not two copies)."""
    from ..dialects import ops_shape as S

    owner = x.owner
    if isinstance(owner, ir.OpView) and isinstance(owner, S.PermuteOp):
        inner = attr(owner, "perm")
        return tg.permute(operands(owner)[0], [inner[p] for p in perm])
    return tg.permute(x, perm)


def transpose(x: ir.Value, d0: int, d1: int) -> ir.Value:
    perm = list(range(len(shape_of(x))))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return permute(x, perm)


def cast_to(x: ir.Value, target: ir.Type) -> ir.Value:
    """tensor.cast between static and dynamic variants of one shape (free at run time)."""
    from torch_mlir.dialects import tensor

    return x if x.type == target else tensor.cast(target, x)
