"""The tg ("tensor graph") dialect: value-semantic tensor ops imported from ATen.

Ops are defined by family in `ops_*.py`; this file holds the dialect, the base class that
gives every op the same verifier (result types must equal what `infer` computes from the
operands and attributes), and `build`, the one builder every rule uses.
"""

from __future__ import annotations

from typing import Any, Sequence

from torch_mlir import ir
from torch_mlir.dialects.ext import Dialect, Pure

from .types import DYN, dims_compatible, element_type, shape_of, tensor_type


class TG(Dialect, name="tg"):
    """Value-semantic tensor ops imported from ATen."""


class TGOp(TG.Operation):
    """Base of every tg op.

    Subclasses define `infer(types, **attrs) -> type | list[type | None]` from operand
    types and Python attribute values; `None` marks a result whose type is the op's own
    choice (reshape, convert) and is then checked by `check(types, results, **attrs)`.
    """

    #: composite ops have a decomposition rule and are allowed to be kept by a target.
    COMPOSITE = False

    def __init_subclass__(cls, **kwargs):
        # A class body without annotations would otherwise inherit its base's through
        # `cls.__annotations__` and declare the family's fields twice.
        if "__annotations__" not in cls.__dict__:
            cls.__annotations__ = {}
        super().__init_subclass__(**kwargs)

    @classmethod
    def infer(cls, types: list[ir.Type], **attrs) -> Any:
        raise NotImplementedError(f"'{cls.OPERATION_NAME}' has no type inference")

    @classmethod
    def check(cls, types: list[ir.Type], results: list[ir.Type], **attrs) -> None:
        pass

    def py_attrs(self) -> dict[str, Any]:
        attrs = self.operation.attributes
        return {attrs[i].name: from_attr(attrs[i].attr) for i in range(len(attrs))}

    def verify_invariants(self) -> bool:
        name = self.operation.name
        op = self.operation
        # MLIR verifies every tg op after every pass; an op kind with the same operand and
        # result types and attributes as one verified before passes again (Note [verified
        # signatures]).
        attrs = op.attributes
        signature = (name, *(v.type for v in op.operands), None, *(r.type for r in op.results),
                     *((attrs[i].name, attrs[i].attr) for i in range(len(attrs))))
        if signature in _VERIFIED:
            return True
        try:
            types = [o.type for o in self.operation.operands]
            _check_arity(type(self), len(types), len(self.operation.results))
            for t in types:
                if not isinstance(t, ir.RankedTensorType):
                    raise ValueError(f"expects ranked tensor operands, got {t}")
            attrs = {k: v for k, v in self.py_attrs().items() if not k.startswith("operandSegment")}
            results = [r.type for r in self.operation.results]
            expected = _as_list(type(self).infer(types, **attrs))
            if len(expected) != len(results):
                raise ValueError(f"expects {len(expected)} results, got {len(results)}")
            for i, (want, got) in enumerate(zip(expected, results)):
                if want is not None and not types_compatible(want, got):
                    raise ValueError(f"result #{i} type {got} does not match inferred {want}")
            type(self).check(types, results, **attrs)
        except Exception as e:  # noqa: BLE001 - a verifier must report, never raise
            self.location.emit_error(f"'{name}' op {e}")
            return False
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED.add(signature)
        return True


# Note [verified signatures]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~
# A tg op's verifier (type inference and checks in Python) depends only on its kind, its
# operand and result types and its attributes, all uniqued by MLIR and hashable, so a
# signature that passed once passes again. Verification after each pass had cost 0.26 s
# of a GPT-2 block training step's first call (3715 calls). Failures are not remembered:
# each reports its own location. The types keep their context alive, so the set is
# cleared when the compile context is replaced (dialects.compile_context) and when it
# grows large.
_VERIFIED: set = set()
_VERIFIED_MAX = 1 << 14


def forget_verified() -> None:
    """Drop the remembered signatures (Note [verified signatures])."""
    _VERIFIED.clear()


def _check_arity(cls, n_operands: int, n_results: int) -> None:
    """Operand and result counts, before any rule indexes into them."""
    from torch_mlir.dialects.ext import OperandDef, ResultDef, Variadicity

    operands = [f for f in cls._fields if isinstance(f, OperandDef)]
    single = [f for f in operands if f.variadicity == Variadicity.single]
    if len(single) == len(operands) and n_operands != len(operands):
        raise ValueError(f"expects {len(operands)} operands, got {n_operands}")
    if n_operands < len(single):
        raise ValueError(f"expects at least {len(single)} operands, got {n_operands}")
    results = [f for f in cls._fields if isinstance(f, ResultDef)]
    if all(f.variadicity == Variadicity.single for f in results) and n_results != len(results):
        raise ValueError(f"expects {len(results)} results, got {n_results}")


def types_compatible(want: ir.Type, got: ir.Type) -> bool:
    if not isinstance(got, ir.RankedTensorType):
        return False
    return element_type(want) == element_type(got) and dims_compatible(
        shape_of(want), shape_of(got)
    )


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]



# --- attribute conversion -----------------------------------------------------------


def to_attr(value: Any) -> ir.Attribute:
    if isinstance(value, ir.Attribute):
        return value
    if isinstance(value, bool):
        return ir.BoolAttr.get(value)
    if isinstance(value, int):
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
    if isinstance(value, float):
        return ir.FloatAttr.get(ir.F64Type.get(), value)
    if isinstance(value, str):
        return ir.StringAttr.get(value)
    if isinstance(value, ir.Type):
        return ir.TypeAttr.get(value)
    if isinstance(value, (list, tuple)):
        return ir.ArrayAttr.get([to_attr(v) for v in value])
    raise TypeError(f"cannot convert {value!r} to an attribute")


def from_attr(attr: ir.Attribute) -> Any:
    if isinstance(attr, ir.BoolAttr):
        return attr.value
    if isinstance(attr, ir.IntegerAttr):
        if ir.IntegerType(attr.type).width == 1:
            return bool(attr.value)
        return attr.value
    if isinstance(attr, ir.FloatAttr):
        return attr.value
    if isinstance(attr, ir.StringAttr):
        return attr.value
    if isinstance(attr, ir.TypeAttr):
        return attr.value
    if isinstance(attr, ir.ArrayAttr):
        return [from_attr(a) for a in attr]
    return attr


# --- the builder every rule uses ----------------------------------------------------


def build(op_cls: type, *operands, result_types: Sequence[ir.Type] | None = None, **attrs):
    """Create `op_cls` at the current insertion point, inferring result types.

    Operands fill the op's operand fields in order; a `Sequence` field takes a list.
    Returns the single result Value, or the op's results when there are several.
    """
    from torch_mlir.dialects.ext import OperandDef, ResultDef

    operand_fields = [f for f in op_cls._fields if isinstance(f, OperandDef)]
    result_fields = [f for f in op_cls._fields if isinstance(f, ResultDef)]
    if len(operands) != len(operand_fields):
        raise TypeError(
            f"'{op_cls.OPERATION_NAME}' takes {len(operand_fields)} operand groups, got {len(operands)}"
        )
    flat_types = []
    for f, v in zip(operand_fields, operands):
        flat_types += [x.type for x in v] if isinstance(v, (list, tuple)) else [v.type]
    if result_types is None:
        result_types = _as_list(op_cls.infer(flat_types, **attrs))
        if any(t is None for t in result_types):
            raise TypeError(f"'{op_cls.OPERATION_NAME}' needs explicit result types")
    kwargs = {f.name: (list(v) if isinstance(v, (list, tuple)) else v) for f, v in zip(operand_fields, operands)}
    # A variadic result field (last, at most one) takes every remaining inferred type.
    for i, f in enumerate(result_fields):
        variadic = f.variadicity.name == "variadic"
        kwargs[f.name] = list(result_types[i:]) if variadic else result_types[i]
    attr_values = {k: to_attr(v) for k, v in attrs.items()}
    # ext drops falsy attributes (BoolAttr false, empty ArrayAttr) as if absent: build with a
    # placeholder and set the real value on the created op.
    falsy = {k: a for k, a in attr_values.items() if not a}
    kwargs.update({k: (ir.UnitAttr.get() if k in falsy else a) for k, a in attr_values.items()})
    new = op_cls(**kwargs)
    for k, a in falsy.items():
        new.operation.attributes[k] = a
    results = list(new.operation.results)
    return results[0] if len(results) == 1 else results


PURE = [Pure]

__all__ = ["TG", "TGOp", "build", "to_attr", "from_attr", "PURE", "DYN", "tensor_type", "shape_of", "element_type"]
