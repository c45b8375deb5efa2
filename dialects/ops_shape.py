"""Shape tg ops: reshape, permute, broadcast_to, slice, cat, and the dynamic_ forms of
reshape and broadcast_to.

These move or replicate data without arithmetic; reshape and broadcast_to carry their
result shape in the result type (dynamic dims as `?`).

Note [runtime sizes]
~~~~~~~~~~~~~~~~~~~~
A `?` in a result type needs a size at run time. tg.reshape derives its one `?` from the
element count, and tg.broadcast_to takes each `?` from the same dim of its input; that
covers a dynamic batch, but not a head split (B, T, C) -> (B, T, h, C/h) with B and T both
dynamic, nor a causal mask `new_ones(T, T)`. tg.dynamic_reshape and tg.dynamic_broadcast_to
take one `sizes` operand per `?` of the result, in order: a 0-d i64 tensor, usually a
tg.dim_size of some input or arithmetic on such (the importer evaluates Dynamo's symbolic
sizes that way, frontend/symbolic_sizes.py). They are separate ops, not optional operands
of the static forms, so that the many rewrites matching tg.reshape and tg.broadcast_to
(views, zero marks, batch products) never see a size operand they would drop.
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

import math
from typing import Sequence

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .ops_elementwise import _same_elem
from .tg import PURE, TGOp
from .types import DYN, broadcast_shapes, element_type, normalize_dim, shape_of, tensor_type


class ReshapeOp(TGOp, name="reshape", traits=PURE):
    """Row-major reshape; at most one result dim may be dynamic (it is numel / the rest)."""

    input: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        return None

    @classmethod
    def check(cls, types, results, **attrs):
        src, dst = shape_of(types[0]), shape_of(results[0])
        if element_type(types[0]) != element_type(results[0]):
            raise ValueError("expects the result element type of the input")
        if dst.count(DYN) > 1:
            raise ValueError(f"expects at most one dynamic result dim, got {results[0]}")
        if DYN not in src and DYN not in dst and math.prod(src) != math.prod(dst):
            raise ValueError(f"cannot reshape {types[0]} to {results[0]}")


def _check_sizes(types, result, what: str) -> None:
    """The `sizes` operands of a dynamic_ op (Note [runtime sizes]): 0-d i64, one per `?`."""
    sizes, dst = types[1:], shape_of(result)
    if len(sizes) != dst.count(DYN):
        raise ValueError(
            f"expects one size per dynamic dim of the {what} ({dst.count(DYN)}), got {len(sizes)}"
        )
    i64 = ir.IntegerType.get_signless(64)
    for t in sizes:
        if shape_of(t) != () or element_type(t) != i64:
            raise ValueError(f"expects sizes of type tensor<i64>, got {t}")


class SizedOp(TGOp):
    """The dynamic_ ops' fields: an input and one size operand per `?` of the result type
    (Note [runtime sizes]); the result type is the op's own, checked by `check_result`."""

    input: Operand[ir.RankedTensorType]
    sizes: Sequence[Operand[ir.RankedTensorType]]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        return None

    @classmethod
    def check(cls, types, results, **attrs):
        cls.check_result(types[0], results[0])
        _check_sizes(types, results[0], "result")


class DynamicReshapeOp(SizedOp, name="dynamic_reshape", traits=PURE):
    """Row-major reshape whose dynamic result dims have the `sizes` operands' values
    (Note [runtime sizes]); their product with the static dims must be the input's numel."""

    @classmethod
    def check_result(cls, src, dst):
        if element_type(src) != element_type(dst):
            raise ValueError("expects the result element type of the input")


class PermuteOp(TGOp, name="permute", traits=PURE):
    input: Operand[ir.RankedTensorType]
    perm: ir.ArrayAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, perm=(), **attrs):
        shape = shape_of(types[0])
        if sorted(perm) != list(range(len(shape))):
            raise ValueError(f"perm {list(perm)} is not a permutation of {len(shape)} dims")
        return tensor_type([shape[p] for p in perm], element_type(types[0]))


class BroadcastToOp(TGOp, name="broadcast_to", traits=PURE):
    input: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        return None

    @classmethod
    def check(cls, types, results, **attrs):
        src, dst = shape_of(types[0]), shape_of(results[0])
        if len(src) > len(dst) or broadcast_shapes(src, dst) != dst:
            raise ValueError(f"cannot broadcast {types[0]} to {results[0]}")
        if element_type(types[0]) != element_type(results[0]):
            raise ValueError("expects the result element type of the input")


class DynamicBroadcastToOp(SizedOp, name="dynamic_broadcast_to", traits=PURE):
    """broadcast_to whose dynamic result dims have the `sizes` operands' values (Note
    [runtime sizes]): a fill of a dynamic shape, or a broadcast along a dim the input has
    as 1."""

    @classmethod
    def check_result(cls, src, dst):
        BroadcastToOp.check([src], [dst])


class SliceOp(TGOp, name="slice", traits=PURE):
    """x[start:end:step] along `dim`; start/end already clamped to [0, size] by the importer
    when the size is static; `end` = -1 with a dynamic dim means "to the end"."""

    input: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    start: ir.IntegerAttr
    end: ir.IntegerAttr
    step: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, start=0, end=0, step=1, **attrs):
        shape = list(shape_of(types[0]))
        d = normalize_dim(dim, len(shape))
        if step < 1 or start < 0:
            raise ValueError(f"expects start >= 0 and step >= 1, got start {start} step {step}")
        if shape[d] == DYN or end < 0:
            shape[d] = DYN
        else:
            if end > shape[d]:
                raise ValueError(f"end {end} exceeds dim size {shape[d]}")
            shape[d] = max(0, -(-(end - start) // step))
        return tensor_type(shape, element_type(types[0]))


class CatOp(TGOp, name="cat", traits=PURE):
    """Concatenation of two tensors along `dim`.

    Binary because IRDL binds one type variable per variadic operand group (all inputs
    of a variadic would need one type). n-ary concatenation is a chain of cats; the
    lowering flattens single-use chains into one destination.
    """

    lhs: Operand[ir.RankedTensorType]
    rhs: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        elem = _same_elem(types)
        shapes = [shape_of(t) for t in types]
        rank = len(shapes[0])
        d = normalize_dim(dim, rank)
        if any(len(s) != rank for s in shapes):
            raise ValueError("expects inputs of one rank")
        out = list(shapes[0])
        for i in range(rank):
            if i == d:
                out[i] = DYN if any(s[i] == DYN for s in shapes) else sum(s[i] for s in shapes)
            elif len({s[i] for s in shapes} - {DYN}) > 1:
                raise ValueError(f"expects equal sizes outside dim {d}, got {[list(s) for s in shapes]}")
        return tensor_type(out, elem)


class DimSizeOp(TGOp, name="dim_size", traits=PURE):
    """The runtime size of `dim` as a 0-d i64 tensor: lets rules divide by a dynamic count."""

    input: Operand[ir.RankedTensorType]
    dim: ir.IntegerAttr
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, dim=0, **attrs):
        normalize_dim(dim, len(shape_of(types[0])))
        return tensor_type((), ir.IntegerType.get_signless(64))
