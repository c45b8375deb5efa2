"""ATen -> tg rules for the pointwise math not in aten.py: inverse and hyperbolic
trigonometry, logs and exps in other bases, rounding, float classification, logical and
bitwise ops, and small linear-algebra composites (dot, mv, outer, baddbmm...).

Each is written with tg primitives in a numerically careful form (log1p/expm1 where the
naive formula cancels), so gradients come from the primitives' VJP rules.
"""

from __future__ import annotations

import math

import torch

from ..dialects import builders as tg
from ..dialects import ops_elementwise as E
from ..dialects.tg import build
from ..dialects.types import element_type, is_float, shape_of
from .aten import IMPORT, _binary, as_dtype, binary_dtype, unsupported

aten = torch.ops.aten


def atan2(a, b):
    return build(E.Atan2Op, *tg.coerce(a, b))


def _one_minus_sq(x):
    return tg.mul(tg.sub(1.0, x), tg.add(1.0, x))  # (1 - x)(1 + x): no cancellation at |x| ~ 1


def _asinh(x):
    a = tg.abs(x)
    # log1p(a + a^2 / (1 + sqrt(1 + a^2))) is accurate for small and large a
    inner = tg.add(a, tg.div(tg.mul(a, a), tg.add(1.0, tg.sqrt(tg.add(tg.mul(a, a), 1.0)))))
    out = tg.log1p(inner)
    return tg.where(tg.lt(x, 0.0), tg.neg(out), out)


def _acosh(x):
    t = tg.sub(x, 1.0)
    return tg.log1p(tg.add(t, tg.sqrt(tg.mul(t, tg.add(x, 1.0)))))


UNARY = {
    aten.log10.default: lambda x: tg.div(tg.log(x), math.log(10.0)),
    aten.log2.default: lambda x: tg.div(tg.log(x), math.log(2.0)),
    aten.exp2.default: lambda x: tg.exp(tg.mul(x, math.log(2.0))),
    aten.tan.default: lambda x: tg.div(tg.sin(x), tg.cos(x)),
    aten.sinh.default: lambda x: tg.mul(tg.sub(tg.expm1(x), tg.expm1(tg.neg(x))), 0.5),
    aten.cosh.default: lambda x: tg.mul(tg.add(tg.exp(x), tg.exp(tg.neg(x))), 0.5),
    aten.atan.default: lambda x: atan2(x, 1.0),
    aten.asin.default: lambda x: atan2(x, tg.sqrt(_one_minus_sq(x))),
    aten.acos.default: lambda x: atan2(tg.sqrt(_one_minus_sq(x)), x),
    aten.asinh.default: _asinh,
    aten.acosh.default: _acosh,
    aten.atanh.default: lambda x: tg.mul(tg.log1p(tg.div(tg.mul(x, 2.0), tg.sub(1.0, x))), 0.5),
    aten.square.default: lambda x: tg.mul(x, x),
    aten.deg2rad.default: lambda x: tg.mul(x, math.pi / 180.0),
    aten.rad2deg.default: lambda x: tg.mul(x, 180.0 / math.pi),
    aten.sgn.default: tg.sign,
    aten.positive.default: lambda x: x,
    aten.sinc.default: lambda x: tg.where(
        tg.eq(x, 0.0), tg.scalar(1.0, x), tg.div(tg.sin(tg.mul(x, math.pi)), tg.mul(x, math.pi))
    ),
}


def _trunc(x):
    return x if not is_float(element_type(x)) else tg.mul(tg.sign(x), tg.floor(tg.abs(x)))


UNARY[aten.trunc.default] = _trunc
UNARY[aten.fix.default] = _trunc
UNARY[aten.frac.default] = lambda x: tg.sub(x, _trunc(x))


def _unary_rule(fn):
    return lambda ctx, x: fn(as_dtype(x, ctx.out_dtype()))


for _op, _fn in UNARY.items():
    IMPORT.register(_op)(_unary_rule(_fn))


@IMPORT.register(aten.round.decimals)
def import_round_decimals(ctx, x, decimals=0):
    scale = 10.0**decimals
    return tg.div(tg.round(tg.mul(x, scale)), scale)


# --- classification -----------------------------------------------------------------


def _bool_like(x, value: bool):
    t = tg.eq(x, x) if not is_float(element_type(x)) else tg.logical_or(tg.eq(x, x), tg.isnan(x))
    return t if value else tg.logical_not(t)


@IMPORT.register(aten.isfinite.default)
def import_isfinite(ctx, x):
    if not is_float(element_type(x)):
        return _bool_like(x, True)
    return tg.logical_not(tg.logical_or(tg.isnan(x), tg.isinf(x)))


@IMPORT.register(aten.isposinf.default, aten.isneginf.default)
def import_isposinf(ctx, x):
    if not is_float(element_type(x)):
        return _bool_like(x, False)
    sign = tg.gt(x, 0.0) if ctx.node.target is aten.isposinf.default else tg.lt(x, 0.0)
    return tg.logical_and(tg.isinf(x), sign)


@IMPORT.register(aten.isreal.default)
def import_isreal(ctx, x):
    return _bool_like(x, True)


@IMPORT.register(aten.signbit.default)
def import_signbit(ctx, x):
    if not is_float(element_type(x)):
        return tg.lt(x, 0)
    # -0.0 has the sign bit: 1 / -0.0 = -inf
    return tg.logical_or(tg.lt(x, 0.0), tg.logical_and(tg.eq(x, 0.0), tg.lt(tg.reciprocal(x), 0.0)))


@IMPORT.register(aten.nan_to_num.default)
def import_nan_to_num(ctx, x, nan=None, posinf=None, neginf=None):
    if not is_float(element_type(x)):
        return x
    info = torch.finfo(ctx.out_dtype())
    nan = 0.0 if nan is None else nan
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = tg.where(tg.isnan(x), tg.scalar(nan, x), x)
    inf = tg.isinf(x)
    out = tg.where(tg.logical_and(inf, tg.gt(x, 0.0)), tg.scalar(posinf, x), out)
    return tg.where(tg.logical_and(inf, tg.lt(x, 0.0)), tg.scalar(neginf, x), out)


# --- binary -------------------------------------------------------------------------


IMPORT.register(aten.atan2.default)(_binary(atan2, float_result=True))
IMPORT.register(aten.true_divide.Tensor)(_binary(tg.div, float_result=True))
IMPORT.register(aten.max.other)(_binary(tg.maximum))
IMPORT.register(aten.min.other)(_binary(tg.minimum))
IMPORT.register(aten.clamp_min.Tensor)(_binary(tg.maximum))
IMPORT.register(aten.clamp_max.Tensor)(_binary(tg.minimum))


def _bitwise(cls):
    return _binary(lambda a, b: build(cls, *tg.coerce(a, b)))


for _ops, _cls in (
    (
        (
            aten.bitwise_and.Tensor,
            aten.bitwise_and.Scalar,
            aten.__and__.Tensor,
            aten.__and__.Scalar,
        ),
        E.BitwiseAndOp,
    ),
    (
        (aten.bitwise_or.Tensor, aten.bitwise_or.Scalar, aten.__or__.Tensor, aten.__or__.Scalar),
        E.BitwiseOrOp,
    ),
    (
        (
            aten.bitwise_xor.Tensor,
            aten.bitwise_xor.Scalar,
            aten.__xor__.Tensor,
            aten.__xor__.Scalar,
        ),
        E.BitwiseXorOp,
    ),
):
    IMPORT.register(*_ops)(_bitwise(_cls))


@IMPORT.register(aten.logical_and.default, aten.logical_or.default, aten.logical_xor.default)
def import_logical(ctx, a, b):
    a, b = (tg.ne(as_dtype(v, binary_dtype(ctx)), 0) for v in (a, b))
    t = ctx.node.target
    if t is aten.logical_and.default:
        return tg.logical_and(a, b)
    return tg.logical_or(a, b) if t is aten.logical_or.default else tg.ne(a, b)


@IMPORT.register(aten.fmax.default, aten.fmin.default)
def import_fmax(ctx, a, b):
    dtype = binary_dtype(ctx)
    a, b = as_dtype(a, dtype), as_dtype(b, dtype)
    best = (tg.maximum if ctx.node.target is aten.fmax.default else tg.minimum)(a, b)
    if not is_float(element_type(a)):
        return best
    return tg.where(tg.isnan(a), b, tg.where(tg.isnan(b), a, best))


@IMPORT.register(aten.copysign.Tensor, aten.copysign.Scalar)
def import_copysign(ctx, a, b):
    dtype = ctx.out_dtype()
    a, b = as_dtype(a, dtype), as_dtype(b, dtype)
    neg = import_signbit(ctx, b)
    mag = tg.abs(a)
    return tg.where(neg, tg.neg(mag), mag)


@IMPORT.register(aten.heaviside.default)
def import_heaviside(ctx, x, values):
    dtype = binary_dtype(ctx)
    x, values = as_dtype(x, dtype), as_dtype(values, dtype)
    step = tg.where(tg.gt(x, 0), tg.scalar(1, x), tg.scalar(0, x))
    return tg.where(tg.eq(x, 0), values, step)


@IMPORT.register(aten.logaddexp.default, aten.logaddexp2.default)
def import_logaddexp(ctx, a, b):
    dtype = ctx.out_dtype()
    a, b = as_dtype(a, dtype), as_dtype(b, dtype)
    base2 = ctx.node.target is aten.logaddexp2.default
    if base2:
        a, b = tg.mul(a, math.log(2.0)), tg.mul(b, math.log(2.0))
    m = tg.maximum(a, b)
    out = tg.add(m, tg.log1p(tg.exp(tg.neg(tg.abs(tg.sub(a, b))))))
    out = tg.where(tg.logical_and(tg.isinf(a), tg.eq(a, b)), a, out)  # inf - inf
    return tg.div(out, math.log(2.0)) if base2 else out


@IMPORT.register(aten.hypot.default)
def import_hypot(ctx, a, b):
    return tg.sqrt(tg.add(tg.mul(a, a), tg.mul(b, b)))


@IMPORT.register(aten.xlogy.Tensor, aten.xlogy.Scalar_Other, aten.xlogy.Scalar_Self)
def import_xlogy(ctx, x, y):
    dtype = ctx.out_dtype()
    x, y = as_dtype(x, dtype), as_dtype(y, dtype)
    out = tg.where(tg.eq(x, 0.0), tg.scalar(0.0, x), tg.mul(x, tg.log(y)))
    return (
        tg.where(tg.isnan(y), y, out)
        if shape_of(y) == shape_of(out)
        else tg.where(tg.isnan(y), tg.add(y, tg.mul(out, 0.0)), out)
    )


@IMPORT.register(
    aten.float_power.Tensor_Tensor, aten.float_power.Tensor_Scalar, aten.float_power.Scalar
)
def import_float_power(ctx, a, b):
    return tg.pow(as_dtype(a, torch.float64), as_dtype(b, torch.float64))


@IMPORT.register(aten.lerp.Scalar, aten.lerp.Tensor)
def import_lerp(ctx, start, end, weight):
    dtype = ctx.out_dtype()
    start, end, w = (as_dtype(v, dtype) for v in (start, end, weight))
    diff = tg.sub(end, start)
    # ATen's two-sided form: exact at weight 0 and 1
    low = tg.add(start, tg.mul(w, diff))
    high = tg.sub(end, tg.mul(diff, tg.sub(1.0, w)))
    return tg.where(tg.lt(tg.abs(w), 0.5), low, high)


@IMPORT.register(aten.threshold.default)
def import_threshold(ctx, x, threshold, value):
    return tg.where(
        tg.gt(x, as_dtype(threshold, ctx.out_dtype())), x, as_dtype(value, ctx.out_dtype())
    )


# --- small linear algebra -----------------------------------------------------------


IMPORT.register(aten.dot.default, aten.vdot.default, aten.mv.default, aten.inner.default)(
    lambda ctx, a, b: (
        tg.matmul(a, b)
        if len(shape_of(b)) < 2 or ctx.node.target is not aten.inner.default
        else tg.matmul(a, tg.transpose(b, -1, -2))
    )
)


@IMPORT.register(aten.outer.default, aten.ger.default)
def import_outer(ctx, a, b):
    return tg.mul(tg.reshape(a, (shape_of(a)[0], 1)), b)


def _scaled_sum(ctx, base, prod, beta, alpha):
    dtype = ctx.out_dtype()
    if alpha != 1:
        prod = tg.mul(prod, as_dtype(alpha, dtype))
    if beta == 0:
        return tg.broadcast_to(prod, shape_of(prod))
    if beta != 1:
        base = tg.mul(base, as_dtype(beta, dtype))
    return tg.add(base, prod)


@IMPORT.register(aten.addmv.default)
def import_addmv(ctx, x, m, v, beta=1, alpha=1):
    return _scaled_sum(ctx, x, tg.matmul(m, v), beta, alpha)


@IMPORT.register(aten.addr.default)
def import_addr(ctx, x, a, b, beta=1, alpha=1):
    return _scaled_sum(ctx, x, import_outer(ctx, a, b), beta, alpha)


@IMPORT.register(aten.baddbmm.default)
def import_baddbmm(ctx, x, a, b, beta=1, alpha=1):
    return _scaled_sum(ctx, x, tg.bmm(a, b), beta, alpha)


@IMPORT.register(aten.addbmm.default)
def import_addbmm(ctx, x, a, b, beta=1, alpha=1):
    return _scaled_sum(ctx, x, tg.reduce_sum(tg.bmm(a, b), [0], False), beta, alpha)


@IMPORT.register(aten.cross.default, aten.linalg_cross.default)
def import_cross(ctx, a, b, dim=-1):
    shape = [int(s) for s in ctx.meta().shape]
    a, b = tg.broadcast_to(a, shape), tg.broadcast_to(b, shape)
    d = (dim if dim is not None else next(i for i, s in enumerate(shape) if s == 3)) % len(shape)
    if shape[d] != 3:
        unsupported("cross product along a dim of size != 3")
    part = lambda t, i: tg.slice(t, d, i, i + 1)  # noqa: E731
    comps = [
        tg.sub(tg.mul(part(a, i), part(b, j)), tg.mul(part(a, j), part(b, i)))
        for i, j in ((1, 2), (2, 0), (0, 1))
    ]
    return tg.cat(comps, d)
