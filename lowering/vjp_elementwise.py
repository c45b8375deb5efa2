"""VJP rules for elementwise tg ops: unary math, broadcasting binary arithmetic, where, convert.

Contract: `<op>_vjp(op, grad) -> tuple[Value | None, ...]`, one entry per operand. Binary
rules sum each gradient back to its operand's shape (see vjp_common.sum_to_shape);
formulas follow PyTorch's derivatives.yaml, including its choices at kinks (relu at 0,
abs at 0, maximum at ties).
"""

from __future__ import annotations

import math

from ..dialects import builders as tg
from ..dialects import ops_elementwise as E
from ..dialects.registry import VJP
from ..dialects.types import element_type, is_float, shape_of
from .vjp_common import operands, result, sum_to_shape, wants


def _unary(op):
    return operands(op)[0], result(op)


@VJP.register(E.NegOp)
def neg_vjp(op, g):
    return (tg.neg(g),)


@VJP.register(E.AbsOp)
def abs_vjp(op, g):
    # d|x| = sign(x), 0 at 0
    x, _ = _unary(op)
    return (tg.mul(g, tg.sign(x)),)


@VJP.register(E.ReluOp)
def relu_vjp(op, g):
    # threshold_backward on the output: no gradient where y <= 0
    _, y = _unary(op)
    return (tg.where(tg.le(y, 0), 0, g),)


@VJP.register(E.ExpOp)
def exp_vjp(op, g):
    # d/dx e^x = e^x
    return (tg.mul(g, result(op)),)


@VJP.register(E.Expm1Op)
def expm1_vjp(op, g):
    # d/dx (e^x - 1) = y + 1
    return (tg.mul(g, tg.add(result(op), 1)),)


@VJP.register(E.LogOp)
def log_vjp(op, g):
    # d/dx log x = 1 / x
    return (tg.div(g, operands(op)[0]),)


@VJP.register(E.Log1pOp)
def log1p_vjp(op, g):
    # d/dx log(1 + x) = 1 / (1 + x)
    return (tg.div(g, tg.add(operands(op)[0], 1)),)


@VJP.register(E.TanhOp)
def tanh_vjp(op, g):
    # d/dx tanh = 1 - tanh^2
    y = result(op)
    return (tg.mul(g, tg.sub(1, tg.mul(y, y))),)


@VJP.register(E.SigmoidOp)
def sigmoid_vjp(op, g):
    # d/dx sigmoid = y (1 - y)
    y = result(op)
    return (tg.mul(g, tg.mul(y, tg.sub(1, y))),)


@VJP.register(E.SqrtOp)
def sqrt_vjp(op, g):
    # d/dx sqrt x = 1 / (2 y)
    return (tg.div(g, tg.mul(result(op), 2)),)


@VJP.register(E.RsqrtOp)
def rsqrt_vjp(op, g):
    # d/dx x^-1/2 = -1/2 y^3
    y = result(op)
    return (tg.mul(tg.mul(g, -0.5), tg.mul(tg.mul(y, y), y)),)


@VJP.register(E.ReciprocalOp)
def reciprocal_vjp(op, g):
    # d/dx 1/x = -y^2
    y = result(op)
    return (tg.mul(tg.neg(g), tg.mul(y, y)),)


@VJP.register(E.ErfOp)
def erf_vjp(op, g):
    # d/dx erf x = 2/sqrt(pi) e^(-x^2)
    x = operands(op)[0]
    return (tg.mul(g, tg.mul(tg.exp(tg.neg(tg.mul(x, x))), 2 / math.sqrt(math.pi))),)


@VJP.register(E.SinOp)
def sin_vjp(op, g):
    return (tg.mul(g, tg.cos(operands(op)[0])),)


@VJP.register(E.CosOp)
def cos_vjp(op, g):
    return (tg.mul(g, tg.neg(tg.sin(operands(op)[0]))),)


# --- binary ops: each gradient is summed back to its operand's shape -------------------


def _binary(op, ga, gb):
    a, b = operands(op)
    return (
        sum_to_shape(ga(), shape_of(a)) if wants(0) else None,
        sum_to_shape(gb(), shape_of(b)) if wants(1) else None,
    )


@VJP.register(E.AddOp)
def add_vjp(op, g):
    return _binary(op, lambda: g, lambda: g)


@VJP.register(E.SubOp)
def sub_vjp(op, g):
    return _binary(op, lambda: g, lambda: tg.neg(g))


@VJP.register(E.MulOp)
def mul_vjp(op, g):
    a, b = operands(op)
    return _binary(op, lambda: tg.mul(g, b), lambda: tg.mul(g, a))


@VJP.register(E.DivOp)
def div_vjp(op, g):
    # d/da = 1/b, d/db = -a/b^2 = -(a/b)/b (PyTorch reuses the quotient)
    _, b = operands(op)
    return _binary(op, lambda: tg.div(g, b), lambda: tg.div(tg.mul(tg.neg(g), result(op)), b))


@VJP.register(E.PowOp)
def pow_vjp(op, g):
    # d/da = b a^(b-1), zero where b == 0; d/db = y log a, zero where a == 0 and b >= 0
    a, b = operands(op)
    y = result(op)

    def grad_base():
        da = tg.mul(tg.mul(g, b), tg.pow(a, tg.sub(b, 1)))
        return tg.where(tg.eq(b, 0), 0, da)

    def grad_exponent():
        db = tg.mul(g, tg.mul(y, tg.log(a)))
        at_zero = build_and(tg.eq(a, 0), tg.ge(b, 0))
        return tg.where(at_zero, 0, db)

    return _binary(op, grad_base, grad_exponent)


def build_and(p, q):
    from ..dialects.tg import build

    return build(E.LogicalAndOp, p, q)


def _select_extremum(op, g, better):
    # PyTorch's maximum/minimum backward: the winner gets g, a tie splits it in half
    a, b = operands(op)
    half = tg.mul(g, 0.5)
    tie = tg.eq(a, b)
    return _binary(
        op,
        lambda: tg.where(tie, half, tg.where(better(a, b), g, 0)),
        lambda: tg.where(tie, half, tg.where(better(b, a), g, 0)),
    )


@VJP.register(E.MaximumOp)
def maximum_vjp(op, g):
    return _select_extremum(op, g, tg.gt)


@VJP.register(E.MinimumOp)
def minimum_vjp(op, g):
    return _select_extremum(op, g, tg.lt)


@VJP.register(E.RemainderOp)
def remainder_vjp(op, g):
    # a - floor(a/b) b: d/da = 1, d/db = -floor(a/b)
    a, b = operands(op)
    return _binary(op, lambda: g, lambda: tg.mul(tg.neg(g), tg.floor(tg.div(a, b))))


@VJP.register(E.FmodOp)
def fmod_vjp(op, g):
    # a - trunc(a/b) b: d/da = 1, d/db = -trunc(a/b), trunc(q) = sign(q) floor(|q|)
    a, b = operands(op)
    q = lambda: tg.div(a, b)  # noqa: E731
    trunc = lambda: tg.mul(tg.sign(q()), tg.floor(tg.abs(q())))  # noqa: E731
    return _binary(op, lambda: g, lambda: tg.mul(tg.neg(g), trunc()))


@VJP.register(E.Atan2Op)
def atan2_vjp(op, g):
    # d/da atan2(a, b) = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
    a, b = operands(op)
    scaled = lambda: tg.div(g, tg.add(tg.mul(a, a), tg.mul(b, b)))  # noqa: E731
    return _binary(op, lambda: tg.mul(scaled(), b), lambda: tg.mul(scaled(), tg.neg(a)))


@VJP.register(E.WhereOp)
def where_vjp(op, g):
    cond, a, b = operands(op)
    ga = sum_to_shape(tg.where(cond, g, 0), shape_of(a)) if wants(1) else None
    gb = sum_to_shape(tg.where(cond, 0, g), shape_of(b)) if wants(2) else None
    return (None, ga, gb)


@VJP.register(E.ConvertOp)
def convert_vjp(op, g):
    # float -> float casts pass the gradient back in the source precision
    src = element_type(operands(op)[0])
    return (tg.convert(g, src) if is_float(src) else None,)


# Zero almost everywhere (PyTorch returns zeros) or not real-valued: no gradient flows.
NON_DIFFERENTIABLE_ELEMENTWISE = [
    E.SignOp, E.FloorOp, E.CeilOp, E.RoundOp,
    E.BitwiseNotOp, E.BitwiseAndOp, E.BitwiseOrOp, E.BitwiseXorOp,
    E.IsNanOp, E.IsInfOp, E.LogicalNotOp, E.LogicalAndOp, E.LogicalOrOp,
    E.EqOp, E.NeOp, E.LtOp, E.LeOp, E.GtOp, E.GeOp,
    E.ConstantOp,
]  # fmt: skip
