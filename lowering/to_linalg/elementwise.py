"""Lowering of elementwise tg ops to linalg.generic with arith/math scalar bodies.

Each op maps to a scalar builder `(elem_type, *scalars) -> scalar`; broadcasting is in
the indexing maps (see common.broadcast_map), so bodies never see shapes.
"""

from __future__ import annotations

import math as pymath

from torch_mlir import ir
from torch_mlir.dialects import arith, math

from ...dialects import ops_elementwise as E
from ...dialects.registry import LOWER
from ...dialects.types import element_type, is_bool, is_float
from .common import elementwise, scalar_const


def _c(elem, v):
    return scalar_const(v, elem)


def _f_or_i(fop, iop):
    return lambda t, a, b: fop(a, b) if is_float(t) else iop(a, b)


def _cmp(fpred: str, ipred: str, upred: str):
    def body(t, a, b):
        if is_float(t):
            return arith.cmpf(getattr(arith.CmpFPredicate, fpred.upper()), a, b)
        pred = upred if is_bool(t) else ipred
        return arith.cmpi(getattr(arith.CmpIPredicate, pred), a, b)

    return body


def _truthy(t, a):
    return arith.cmpf(arith.CmpFPredicate.UNE, a, _c(t, 0.0)) if is_float(t) else arith.cmpi(
        arith.CmpIPredicate.ne, a, _c(t, 0)
    )


def _remainder(t, a, b):
    # Python-style modulo: the result takes the sign of the divisor.
    r = arith.remf(a, b) if is_float(t) else arith.remsi(a, b)
    zero = _c(t, 0)
    if is_float(t):
        nonzero = arith.cmpf(arith.CmpFPredicate.UNE, r, zero)
        signs_differ = arith.xori(
            arith.cmpf(arith.CmpFPredicate.OLT, r, zero), arith.cmpf(arith.CmpFPredicate.OLT, b, zero)
        )
        return arith.select(arith.andi(nonzero, signs_differ), arith.addf(r, b), r)
    nonzero = arith.cmpi(arith.CmpIPredicate.ne, r, zero)
    signs_differ = arith.xori(
        arith.cmpi(arith.CmpIPredicate.slt, r, zero), arith.cmpi(arith.CmpIPredicate.slt, b, zero)
    )
    return arith.select(arith.andi(nonzero, signs_differ), arith.addi(r, b), r)


def _pow(t, a, b):
    if is_float(t):
        return math.powf(a, b)
    return math.ipowi(a, b)


def _sign(t, a):
    zero, one = _c(t, 0), _c(t, 1)
    if is_float(t):
        pos = arith.cmpf(arith.CmpFPredicate.OGT, a, zero)
        neg = arith.cmpf(arith.CmpFPredicate.OLT, a, zero)
        mag = arith.select(pos, one, arith.select(neg, _c(t, -1), zero))
        return arith.select(arith.cmpf(arith.CmpFPredicate.UNO, a, a), a, mag)  # sign(nan) = nan
    pos = arith.extui(t, arith.cmpi(arith.CmpIPredicate.sgt, a, zero))
    neg = arith.extui(t, arith.cmpi(arith.CmpIPredicate.slt, a, zero))
    return arith.subi(pos, neg)


def _sigmoid(t, a):
    # 1 / (1 + exp(-x)); exp overflows to inf for x << 0, giving exactly 0 as PyTorch.
    one = _c(t, 1.0)
    return arith.divf(one, arith.addf(one, math.exp(arith.negf(a))))


def _relu(t, a):
    # maximumf propagates NaN as torch.relu does.
    return arith.maximumf(a, _c(t, 0.0)) if is_float(t) else arith.maxsi(a, _c(t, 0))


def _isinf(t, a):
    return arith.cmpf(arith.CmpFPredicate.OEQ, math.absf(a), _c(t, pymath.inf))


UNARY = {
    E.NegOp: lambda t, a: arith.negf(a) if is_float(t) else arith.subi(_c(t, 0), a),
    E.AbsOp: lambda t, a: math.absf(a) if is_float(t) else math.absi(a),
    E.SignOp: _sign,
    E.ReluOp: _relu,
    E.BitwiseNotOp: lambda t, a: arith.xori(a, _c(t, -1) if not is_bool(t) else _c(t, 1)),
    E.ExpOp: lambda t, a: math.exp(a),
    E.Expm1Op: lambda t, a: math.expm1(a),
    E.LogOp: lambda t, a: math.log(a),
    E.Log1pOp: lambda t, a: math.log1p(a),
    E.TanhOp: lambda t, a: math.tanh(a),
    E.SigmoidOp: _sigmoid,
    E.SqrtOp: lambda t, a: math.sqrt(a),
    E.RsqrtOp: lambda t, a: math.rsqrt(a),
    E.ReciprocalOp: lambda t, a: arith.divf(_c(t, 1.0), a),
    E.ErfOp: lambda t, a: math.erf(a),
    E.SinOp: lambda t, a: math.sin(a),
    E.CosOp: lambda t, a: math.cos(a),
    E.FloorOp: lambda t, a: math.floor(a),
    E.CeilOp: lambda t, a: math.ceil(a),
    E.RoundOp: lambda t, a: math.roundeven(a),  # torch.round rounds half to even
    E.IsNanOp: lambda t, a: arith.cmpf(arith.CmpFPredicate.UNO, a, a)
    if is_float(t)
    else arith.constant(ir.IntegerType.get_signless(1), 0),
    E.IsInfOp: lambda t, a: _isinf(t, a) if is_float(t) else arith.constant(ir.IntegerType.get_signless(1), 0),
    E.LogicalNotOp: lambda t, a: arith.xori(_truthy(t, a), arith.constant(ir.IntegerType.get_signless(1), 1)),
}

BINARY = {
    # bool + bool is logical or in PyTorch (addi on i1 would wrap True + True to False).
    E.AddOp: lambda t, a, b: arith.ori(a, b) if is_bool(t) else _f_or_i(arith.addf, arith.addi)(t, a, b),
    E.SubOp: _f_or_i(arith.subf, arith.subi),
    E.MulOp: _f_or_i(arith.mulf, arith.muli),
    E.DivOp: _f_or_i(arith.divf, arith.divsi),
    E.PowOp: _pow,
    E.MaximumOp: lambda t, a, b: arith.maximumf(a, b) if is_float(t) else (arith.maxui if is_bool(t) else arith.maxsi)(a, b),
    E.MinimumOp: lambda t, a, b: arith.minimumf(a, b) if is_float(t) else (arith.minui if is_bool(t) else arith.minsi)(a, b),
    E.RemainderOp: _remainder,
    E.FmodOp: _f_or_i(arith.remf, arith.remsi),
    E.Atan2Op: lambda t, a, b: math.atan2(a, b),
    E.BitwiseAndOp: lambda t, a, b: arith.andi(a, b),
    E.BitwiseOrOp: lambda t, a, b: arith.ori(a, b),
    E.BitwiseXorOp: lambda t, a, b: arith.xori(a, b),
    # `ne` is unordered so that nan != nan is true, as in PyTorch.
    E.EqOp: _cmp("oeq", "eq", "eq"),
    E.NeOp: _cmp("une", "ne", "ne"),
    E.LtOp: _cmp("olt", "slt", "ult"),
    E.LeOp: _cmp("ole", "sle", "ule"),
    E.GtOp: _cmp("ogt", "sgt", "ugt"),
    E.GeOp: _cmp("oge", "sge", "uge"),
    E.LogicalAndOp: lambda t, a, b: arith.andi(_truthy(t, a), _truthy(t, b)),
    E.LogicalOrOp: lambda t, a, b: arith.ori(_truthy(t, a), _truthy(t, b)),
}


def _register_unary(cls, fn):
    @LOWER.register(cls)
    def lower_unary(op):
        t = element_type(op.input)
        return elementwise([op.input], op.result.type, lambda a: fn(t, a))


def _register_binary(cls, fn):
    @LOWER.register(cls)
    def lower_binary(op):
        t = element_type(op.lhs)
        return elementwise([op.lhs, op.rhs], op.result.type, lambda a, b: fn(t, a, b))


for _cls, _fn in UNARY.items():
    _register_unary(_cls, _fn)
for _cls, _fn in BINARY.items():
    _register_binary(_cls, _fn)


@LOWER.register(E.WhereOp)
def lower_where(op):
    return elementwise(
        [op.condition, op.lhs, op.rhs], op.result.type, lambda c, a, b: arith.select(c, a, b)
    )


def convert_scalar(a: ir.Value, src: ir.Type, dst: ir.Type) -> ir.Value:
    """PyTorch cast semantics for one scalar: float->int truncates, x->bool is x != 0,
    bool->x is 0/1."""
    if src == dst:
        return a
    if is_bool(dst):
        return _truthy(src, a)
    if is_float(src) and is_float(dst):
        return arith.extf(dst, a) if _width(dst) > _width(src) else arith.truncf(dst, a)
    if is_float(src):
        return arith.fptosi(dst, a)
    if is_float(dst):
        return arith.uitofp(dst, a) if is_bool(src) else arith.sitofp(dst, a)
    if _width(dst) > _width(src):
        return arith.extui(dst, a) if is_bool(src) else arith.extsi(dst, a)
    return arith.trunci(dst, a)


def _width(t: ir.Type) -> int:
    if isinstance(t, ir.BF16Type):
        return 16.5  # bf16 <-> f16 is neither ext nor trunc; both go through extf/truncf
    return ir.FloatType(t).width if is_float(t) else ir.IntegerType(t).width


@LOWER.register(E.ConvertOp)
def lower_convert(op):
    src, dst = element_type(op.input), element_type(op.result)
    return elementwise([op.input], op.result.type, lambda a: convert_scalar(a, src, dst))


@LOWER.register(E.ConstantOp)
def lower_constant(op):
    return arith.constant(op.result.type, op.attributes["value"])


@LOWER.register(E.GeluOp)
def lower_gelu(op):
    # A fused lowering for targets that keep gelu whole (see tg-decompose policies).
    t = element_type(op.input)
    tanh_form = op.approximate.value == "tanh"

    def body(x):
        half_x = arith.mulf(x, _c(t, 0.5))
        if tanh_form:
            x3 = arith.mulf(arith.mulf(x, x), x)
            inner = arith.mulf(arith.addf(x, arith.mulf(x3, _c(t, 0.044715))), _c(t, pymath.sqrt(2 / pymath.pi)))
            return arith.mulf(half_x, arith.addf(math.tanh(inner), _c(t, 1.0)))
        return arith.mulf(half_x, arith.addf(math.erf(arith.mulf(x, _c(t, 1 / pymath.sqrt(2)))), _c(t, 1.0)))

    return elementwise([op.input], op.result.type, body)
