"""Contraction tg ops: mm and bmm are primitive; matmul, linear and addmm are composites
that `tg-decompose` rewrites into them (PyTorch's CompositeImplicitAutograd kernels).
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

from typing import Sequence

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .ops_elementwise import _same_elem
from .tg import PURE, TGOp
from .types import DYN, broadcast_shapes, shape_of, tensor_type


def _join(a: int, b: int, what: str) -> int:
    if a != DYN and b != DYN and a != b:
        raise ValueError(f"{what} mismatch: {a} vs {b}")
    return b if a == DYN else a


class MmOp(TGOp, name="mm", traits=PURE):
    lhs: Operand[ir.RankedTensorType]
    rhs: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        (a, b), elem = map(shape_of, types), _same_elem(types)
        if len(a) != 2 or len(b) != 2:
            raise ValueError(f"expects rank-2 operands, got rank {len(a)} and {len(b)}")
        _join(a[1], b[0], "contraction dim")
        return tensor_type((a[0], b[1]), elem)


class BmmOp(TGOp, name="bmm", traits=PURE):
    lhs: Operand[ir.RankedTensorType]
    rhs: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        (a, b), elem = map(shape_of, types), _same_elem(types)
        if len(a) != 3 or len(b) != 3:
            raise ValueError(f"expects rank-3 operands, got rank {len(a)} and {len(b)}")
        batch = _join(a[0], b[0], "batch dim")
        _join(a[2], b[1], "contraction dim")
        return tensor_type((batch, a[1], b[2]), elem)


def matmul_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """torch.matmul's result shape: 1-d operands are promoted then squeezed, batch dims broadcast."""
    if not a or not b:
        raise ValueError("expects operands of rank >= 1")
    a2 = (1, *a) if len(a) == 1 else tuple(a)
    b2 = (*b, 1) if len(b) == 1 else tuple(b)
    _join(a2[-1], b2[-2], "contraction dim")
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


class MatmulOp(TGOp, name="matmul", traits=PURE):
    """torch.matmul with its rank dispatch (dot, mv, mm, bmm, broadcast batch); composite."""

    lhs: Operand[ir.RankedTensorType]
    rhs: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        elem = _same_elem(types)
        return tensor_type(matmul_shape(shape_of(types[0]), shape_of(types[1])), elem)


class LinearOp(TGOp, name="linear", traits=PURE):
    """x @ w.T (+ bias); `bias` holds zero or one value; composite."""

    input: Operand[ir.RankedTensorType]
    weight: Operand[ir.RankedTensorType]
    bias: Sequence[Operand[ir.RankedTensorType]]
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        elem = _same_elem(types)
        x, w = shape_of(types[0]), shape_of(types[1])
        if len(w) != 2 or not x:
            raise ValueError(f"expects a rank-2 weight and rank >= 1 input, got {len(w)} and {len(x)}")
        _join(x[-1], w[1], "in_features")
        out = (*x[:-1], w[0])
        if len(types) > 3:
            raise ValueError("expects at most one bias")
        if len(types) == 3:
            broadcast_shapes(shape_of(types[2]), out)
        return tensor_type(out, elem)


class AddmmOp(TGOp, name="addmm", traits=PURE):
    """beta * input + alpha * (mat1 @ mat2); composite."""

    input: Operand[ir.RankedTensorType]
    mat1: Operand[ir.RankedTensorType]
    mat2: Operand[ir.RankedTensorType]
    beta: ir.FloatAttr
    alpha: ir.FloatAttr
    result: Result[ir.RankedTensorType]
    COMPOSITE = True

    @classmethod
    def infer(cls, types, **attrs):
        mm = MmOp.infer(types[1:])
        return tensor_type(broadcast_shapes(shape_of(types[0]), shape_of(mm)), _same_elem(types))
