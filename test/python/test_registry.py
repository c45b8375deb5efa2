"""The op table is complete: every tg op has a path to linalg (a lowering, or a decomposition
if composite) and every primitive a VJP rule or an honest place in NON_DIFFERENTIABLE."""

from __future__ import annotations

import pytest
from torch_mlir import ir

import dynamlir.lowering  # noqa: F401  (fills the rule tables)
from dynamlir.dialects import TG, make_context
from dynamlir.dialects.registry import DECOMPOSE, LOWER, NON_DIFFERENTIABLE, VJP
from dynamlir.dialects.types import is_float, tensor_type

OPS = sorted(TG.operations, key=lambda c: c.OPERATION_NAME)
PRIMITIVES = [c for c in OPS if not c.COMPOSITE]
IDS = [c.OPERATION_NAME for c in OPS]

# NON_DIFFERENTIABLE ops that may return floats, each with the reason it has no gradient.
# Every other entry must be shown, by its own type inference, to return no float.
NO_GRADIENT_REASON = {
    "tg.sign": "zero almost everywhere (PyTorch returns zeros)",
    "tg.floor": "zero almost everywhere (PyTorch returns zeros)",
    "tg.ceil": "zero almost everywhere (PyTorch returns zeros)",
    "tg.round": "zero almost everywhere (PyTorch returns zeros)",
    "tg.bitwise_not": "integer/bool operands only",
    "tg.bitwise_and": "integer/bool operands only",
    "tg.bitwise_or": "integer/bool operands only",
    "tg.bitwise_xor": "integer/bool operands only",
    "tg.reduce_any": "bool operands only",
    "tg.constant": "no operands",
}


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_every_op_reaches_linalg(op):
    if op.COMPOSITE:
        assert op in DECOMPOSE, f"composite '{op.OPERATION_NAME}' has no decomposition rule"
    else:
        assert op in LOWER, f"primitive '{op.OPERATION_NAME}' has no lowering rule"


@pytest.mark.parametrize("op", PRIMITIVES, ids=[c.OPERATION_NAME for c in PRIMITIVES])
def test_every_primitive_has_a_vjp_or_is_non_differentiable(op):
    name = op.OPERATION_NAME
    assert (op in VJP) != (op in NON_DIFFERENTIABLE), (
        f"'{name}' must have exactly one of a vjp rule and a NON_DIFFERENTIABLE entry"
    )


NON_DIFF = sorted(NON_DIFFERENTIABLE, key=lambda c: c.OPERATION_NAME)


@pytest.mark.parametrize("op", NON_DIFF, ids=[c.OPERATION_NAME for c in NON_DIFF])
def test_non_differentiable_entries_are_justified(op):
    assert not op.COMPOSITE, f"'{op.OPERATION_NAME}' is composite: it is decomposed, not listed"
    if op.OPERATION_NAME in NO_GRADIENT_REASON:
        return
    from torch_mlir.dialects.ext import OperandDef

    with make_context():
        n = sum(isinstance(f, OperandDef) for f in op._fields)
        f32 = tensor_type((2, 3), ir.F32Type.get())
        results = op.infer([f32] * n)
        results = results if isinstance(results, (list, tuple)) else [results]
        floats = [r for r in results if is_float(ir.RankedTensorType(r).element_type)]
    name = op.OPERATION_NAME
    assert not floats, f"'{name}' returns {floats[0]} for float inputs but has no vjp rule"


def test_vjp_table_holds_only_tg_ops():
    # composites may have a rule of their own (tg-decompose{targets=autodiff} keeps them)
    for op in VJP:
        assert op in TG.operations, f"vjp rule for '{op}' which is not a tg op"


def test_verified_signatures_do_not_hide_a_wrong_op():
    """Note [verified signatures] (dialects/tg.py): a kind verified before still reports a
    mismatch of its own, each time, and a valid repeat of a bad op's signature passes."""
    from dynamlir.dialects import make_context
    from torch_mlir import ir

    good = 'func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n' \
           '  %0 = "tg.neg"(%x) : (tensor<4xf32>) -> tensor<4xf32>\n  return %0 : tensor<4xf32>\n}'
    bad = good.replace("-> tensor<4xf32>\n  return", "-> tensor<5xf32>\n  return").replace(
        ") -> tensor<4xf32> {", ") -> tensor<5xf32> {").replace("return %0 : tensor<4xf32>", "return %0 : tensor<5xf32>")
    with make_context():
        for _ in range(2):
            ir.Module.parse(good)
            with pytest.raises(Exception, match="does not match inferred tensor<4xf32>"):
                ir.Module.parse(bad)
