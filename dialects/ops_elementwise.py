"""Elementwise tg ops: binary arithmetic with PyTorch broadcasting, comparisons, where,
unary math, dtype casts and constants.

Operands of a binary op share one element type: the importer applies PyTorch's type
promotion and inserts `tg.convert`, so lowerings never guess dtypes.
"""

# No `from __future__ import annotations`: ext reads the field annotations as objects.

from typing import Any

from torch_mlir import ir
from torch_mlir.dialects.ext import Operand, Result

from .tg import PURE, TGOp
from .types import broadcast_shapes, element_type, is_bool, is_float, shape_of, tensor_type


def _same_elem(types, what="operands"):
    elems = {str(element_type(t)) for t in types}
    if len(elems) > 1:
        raise ValueError(f"expects {what} of one element type, got {', '.join(sorted(elems))}")
    return element_type(types[0])


class UnaryOp(TGOp):
    input: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]
    FLOAT_ONLY = False

    @classmethod
    def infer(cls, types, **attrs):
        if cls.FLOAT_ONLY and not is_float(element_type(types[0])):
            raise ValueError(f"expects a floating-point operand, got {element_type(types[0])}")
        return types[0]


class FloatUnaryOp(UnaryOp):
    FLOAT_ONLY = True


class NegOp(UnaryOp, name="neg", traits=PURE): ...
class AbsOp(UnaryOp, name="abs", traits=PURE): ...
class SignOp(UnaryOp, name="sign", traits=PURE): ...
class ReluOp(UnaryOp, name="relu", traits=PURE): ...
class BitwiseNotOp(UnaryOp, name="bitwise_not", traits=PURE): ...
class ExpOp(FloatUnaryOp, name="exp", traits=PURE): ...
class Expm1Op(FloatUnaryOp, name="expm1", traits=PURE): ...
class LogOp(FloatUnaryOp, name="log", traits=PURE): ...
class Log1pOp(FloatUnaryOp, name="log1p", traits=PURE): ...
class TanhOp(FloatUnaryOp, name="tanh", traits=PURE): ...
class SigmoidOp(FloatUnaryOp, name="sigmoid", traits=PURE): ...
class SqrtOp(FloatUnaryOp, name="sqrt", traits=PURE): ...
class RsqrtOp(FloatUnaryOp, name="rsqrt", traits=PURE): ...
class ReciprocalOp(FloatUnaryOp, name="reciprocal", traits=PURE): ...
class ErfOp(FloatUnaryOp, name="erf", traits=PURE): ...
class SinOp(FloatUnaryOp, name="sin", traits=PURE): ...
class CosOp(FloatUnaryOp, name="cos", traits=PURE): ...
class FloorOp(FloatUnaryOp, name="floor", traits=PURE): ...
class CeilOp(FloatUnaryOp, name="ceil", traits=PURE): ...
class RoundOp(FloatUnaryOp, name="round", traits=PURE): ...


class GeluOp(FloatUnaryOp, name="gelu", traits=PURE):
    """GELU, `approximate` = "none" (erf) or "tanh"; composite."""

    approximate: ir.StringAttr
    COMPOSITE = True

    @classmethod
    def infer(cls, types, approximate="none", **attrs):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got '{approximate}'")
        return super().infer(types)


class UnaryPredicateOp(TGOp):
    input: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        return tensor_type(shape_of(types[0]), ir.IntegerType.get_signless(1))


class IsNanOp(UnaryPredicateOp, name="isnan", traits=PURE): ...
class IsInfOp(UnaryPredicateOp, name="isinf", traits=PURE): ...
class LogicalNotOp(UnaryPredicateOp, name="logical_not", traits=PURE): ...


class BinaryOp(TGOp):
    lhs: Operand[ir.RankedTensorType]
    rhs: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        elem = _same_elem(types)
        return tensor_type(broadcast_shapes(shape_of(types[0]), shape_of(types[1])), elem)


class AddOp(BinaryOp, name="add", traits=PURE): ...
class SubOp(BinaryOp, name="sub", traits=PURE): ...
class MulOp(BinaryOp, name="mul", traits=PURE): ...
class DivOp(BinaryOp, name="div", traits=PURE): ...
class PowOp(BinaryOp, name="pow", traits=PURE): ...
class MaximumOp(BinaryOp, name="maximum", traits=PURE): ...
class MinimumOp(BinaryOp, name="minimum", traits=PURE): ...
class RemainderOp(BinaryOp, name="remainder", traits=PURE): ...
class FmodOp(BinaryOp, name="fmod", traits=PURE): ...
class Atan2Op(BinaryOp, name="atan2", traits=PURE): ...
class BitwiseAndOp(BinaryOp, name="bitwise_and", traits=PURE): ...
class BitwiseOrOp(BinaryOp, name="bitwise_or", traits=PURE): ...
class BitwiseXorOp(BinaryOp, name="bitwise_xor", traits=PURE): ...


class CompareOp(BinaryOp):
    @classmethod
    def infer(cls, types, **attrs):
        shape = shape_of(super().infer(types))
        return tensor_type(shape, ir.IntegerType.get_signless(1))


class EqOp(CompareOp, name="eq", traits=PURE): ...
class NeOp(CompareOp, name="ne", traits=PURE): ...
class LtOp(CompareOp, name="lt", traits=PURE): ...
class LeOp(CompareOp, name="le", traits=PURE): ...
class GtOp(CompareOp, name="gt", traits=PURE): ...
class GeOp(CompareOp, name="ge", traits=PURE): ...
class LogicalAndOp(CompareOp, name="logical_and", traits=PURE): ...
class LogicalOrOp(CompareOp, name="logical_or", traits=PURE): ...


class WhereOp(TGOp, name="where", traits=PURE):
    condition: Operand[ir.RankedTensorType]
    lhs: Operand[ir.RankedTensorType]
    rhs: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        if not is_bool(element_type(types[0])):
            raise ValueError(f"expects an i1 condition, got {element_type(types[0])}")
        elem = _same_elem(types[1:], "values")
        return tensor_type(broadcast_shapes(*map(shape_of, types)), elem)


class ConvertOp(TGOp, name="convert", traits=PURE):
    """Element type cast with PyTorch semantics (float->int truncates, x->bool is x != 0)."""

    input: Operand[ir.RankedTensorType]
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, **attrs):
        return None

    @classmethod
    def check(cls, types, results, **attrs):
        if shape_of(types[0]) != shape_of(results[0]):
            raise ValueError(f"expects the result shape of the input, got {results[0]}")


class ConstantOp(TGOp, name="constant", traits=PURE):
    """A dense tensor literal; scalars are 0-d."""

    value: Any
    result: Result[ir.RankedTensorType]

    @classmethod
    def infer(cls, types, value=None, **attrs):
        if not isinstance(value, ir.DenseElementsAttr):
            raise ValueError(f"expects a dense elements 'value', got {value}")
        return value.type
