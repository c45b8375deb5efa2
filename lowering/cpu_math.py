"""f32 exp, erf and tanh as arith polynomials, so loops that use them vectorize.

LLVM turns math.exp into a call of libm's expf, one element at a time: a softmax or a GELU
then runs scalar calls in its hot loop. These expansions are plain arith (fma-friendly
polynomials, clamps and a bit-level 2^n), valid for scalars and vectors alike, within a
few ulp of libm (Cephes' expf reduction; the rational erf and tanh approximations that
Eigen and XLA use for f32). NaN passes through; exp returns exactly 0 below the normal
range and +inf above it, as torch does.
"""

from __future__ import annotations

import math as pymath

from torch_mlir import ir
from torch_mlir.dialects import arith, math
from torch_mlir.rewrite import RewritePatternSet, apply_patterns_and_fold_greedily

LOG2E = 1.44269504088896341
EXP_C1, EXP_C2 = 0.693359375, -2.12194440e-4
EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
         1.6666665459e-1, 5.0000001201e-1]
EXP_HI, EXP_LO = 88.72283935546875, -87.3365447505531  # log(FLT_MAX), log(FLT_MIN)

ERF_ALPHA = [-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
             -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
             -1.60960333262415e-02]
ERF_BETA = [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
            -7.37332916720468e-03, -1.42647390514189e-02]

TANH_ALPHA = [-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
              5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
              4.89352455891786e-03]
TANH_BETA = [1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
             4.89352518554385e-03]
TANH_CLAMP = 7.90531110763549805


def _splat(t: ir.Type, v: float) -> ir.Value:
    if isinstance(t, ir.VectorType):
        return arith.constant(t, ir.DenseElementsAttr.get_splat(t, ir.FloatAttr.get(t.element_type, v)))
    return arith.constant(t, v)


def _int_type(t: ir.Type) -> ir.Type:
    i32 = ir.IntegerType.get_signless(32)
    return ir.VectorType.get(t.shape, i32) if isinstance(t, ir.VectorType) else i32


def _isplat(t: ir.Type, v: int) -> ir.Value:
    it = _int_type(t)
    if isinstance(it, ir.VectorType):
        return arith.constant(it, ir.DenseElementsAttr.get_splat(it, ir.IntegerAttr.get(it.element_type, v)))
    return arith.constant(it, v)


def _horner(x, coeffs, t):
    acc = _splat(t, coeffs[0])
    for c in coeffs[1:]:
        acc = math.fma(acc, x, _splat(t, c))
    return acc


def _clamp(x, lo, hi, t):
    return arith.minimumf(arith.maximumf(x, _splat(t, lo)), _splat(t, hi))


def _cmp(pred, a, b):
    return arith.cmpf(getattr(arith.CmpFPredicate, pred), a, b)


def expand_exp(x, t):
    xc = _clamp(x, EXP_LO, EXP_HI, t)
    fx = math.floor(math.fma(xc, _splat(t, LOG2E), _splat(t, 0.5)))
    r = math.fma(fx, _splat(t, -EXP_C1), xc)
    r = math.fma(fx, _splat(t, -EXP_C2), r)
    r2 = arith.mulf(r, r)
    y = math.fma(_horner(r, EXP_P, t), r2, arith.addf(r, _splat(t, 1.0)))
    n = arith.fptosi(_int_type(t), fx)
    # y * 2^n as (y * 2^(n-1)) * 2, so that n = 128 near FLT_MAX does not overflow the exponent
    scale = arith.bitcast(t, arith.shli(arith.addi(n, _isplat(t, 126)), _isplat(t, 23)))
    out = arith.mulf(arith.mulf(y, scale), _splat(t, 2.0))
    out = arith.select(_cmp("OLT", x, _splat(t, EXP_LO)), _splat(t, 0.0), out)
    out = arith.select(_cmp("OGT", x, _splat(t, EXP_HI)), _splat(t, pymath.inf), out)
    return arith.select(_cmp("UNO", x, x), x, out)


def expand_erf(x, t):
    xc = _clamp(x, -4.0, 4.0, t)
    x2 = arith.mulf(xc, xc)
    p = arith.mulf(_horner(x2, ERF_ALPHA, t), xc)
    q = _horner(x2, ERF_BETA, t)
    return arith.select(_cmp("UNO", x, x), x, arith.divf(p, q))


def expand_tanh(x, t):
    xc = _clamp(x, -TANH_CLAMP, TANH_CLAMP, t)
    x2 = arith.mulf(xc, xc)
    p = arith.mulf(_horner(x2, TANH_ALPHA, t), xc)
    q = _horner(x2, TANH_BETA, t)
    out = arith.divf(p, q)
    tiny = _cmp("OLT", math.absf(x), _splat(t, 0.0004))
    return arith.select(tiny, x, out)


EXPANSIONS = {"math.exp": expand_exp, "math.erf": expand_erf, "math.tanh": expand_tanh}


def _is_f32(t: ir.Type) -> bool:
    elem = t.element_type if isinstance(t, ir.VectorType) else t
    return isinstance(elem, ir.F32Type)


def expand_math(module: ir.Operation) -> None:
    def make(fn):
        def rewrite(op, rewriter):
            x = op.operands[0]
            if not _is_f32(x.type):
                return True  # no match: leave f64 and others to libm
            try:
                with rewriter.ip, op.location:
                    out = fn(x, x.type)
            except Exception:  # noqa: BLE001 - keep the libm call rather than fail the pass
                return True
            rewriter.replace_op(op, [out])
            return False

        return rewrite

    patterns = RewritePatternSet()
    for name, fn in EXPANSIONS.items():
        patterns.add(name, make(fn))
    apply_patterns_and_fold_greedily(module, patterns.freeze())
