"""Lowering of tg reductions to linalg.generic with reduction iterators.

The reduction always produces the keepdim=false shape; keepdim re-inserts unit dims with
tensor.expand_shape, so the generic's output map stays a projected permutation (which
tiling and vectorization need).
"""

from __future__ import annotations

import math as pymath

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg

from ...dialects import ops_reduce as R
from ...dialects.ops_reduce import normalized_dims
from ...dialects.registry import LOWER
from ...dialects.tg import from_attr
from ...dialects.types import element_type, is_bool, is_float, shape_of
from .common import empty, expand_to, fill, generic, identity_map, scalar_const, sizes_of, unit_groups


def _int_bounds(t: ir.Type) -> tuple[int, int]:
    w = ir.IntegerType(t).width
    return (0, 1) if w == 1 else (-(2 ** (w - 1)), 2 ** (w - 1) - 1)


def _reassociable(op):
    """`op` marked reassoc: a float sum or product over a row may be computed in vector lanes
    (partial sums added at the end), as eager's reductions are; without the flag LLVM keeps one
    sequential chain of adds, one 4-cycle latency per element."""
    def combine(a, b):
        return op(a, b, fastmath=ir.Attribute.parse("#arith.fastmath<reassoc>"))
    return combine


def _init_and_combine(cls, t: ir.Type):
    f = is_float(t)
    if cls is R.ReduceSumOp:
        return 0, (_reassociable(arith.addf) if f else (arith.ori if is_bool(t) else arith.addi))
    if cls is R.ReduceProdOp:
        return 1, (_reassociable(arith.mulf) if f else (arith.andi if is_bool(t) else arith.muli))
    if cls is R.ReduceMaxOp:  # maximumf propagates NaN, as torch.amax
        return (-pymath.inf if f else _int_bounds(t)[0]), (arith.maximumf if f else (arith.maxui if is_bool(t) else arith.maxsi))
    if cls is R.ReduceMinOp:
        return (pymath.inf if f else _int_bounds(t)[1]), (arith.minimumf if f else (arith.minui if is_bool(t) else arith.minsi))
    if cls is R.ReduceAnyOp:
        return 0, arith.ori
    raise AssertionError(f"no combiner for {cls}")


def reduce_generic(x: ir.Value, dims, init_value, combine) -> ir.Value:
    """Reduce `dims` of `x` (keepdim=false) with `combine(elem, acc)` from `init_value`."""
    shape = shape_of(x)
    rank = len(shape)
    t = element_type(x)
    kept = [d for d in range(rank) if d not in dims]
    sizes = sizes_of(x)
    acc = fill(scalar_const(init_value, t), empty([sizes[d] for d in kept], t))
    out_map = ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(d) for d in kept])
    iters = ["reduction" if d in dims else "parallel" for d in range(rank)]
    return generic([x], [acc], [identity_map(rank), out_map], iters, lambda a, b: combine(a, b))[0]


def keepdim_expand(reduced: ir.Value, full: ir.Value, dims, result_type: ir.Type) -> ir.Value:
    rank = len(shape_of(full))
    sizes = [1 if d in dims else s for d, s in enumerate(sizes_of(full))]
    return expand_to(reduced, unit_groups(rank, dims), result_type, sizes)


# Note [shift-only max]
# ~~~~~~~~~~~~~~~~~~~~~
# Softmax and log_softmax subtract their row's max before exp only to keep exp's argument
# <= 0. Their max with NaN propagation (arith.maximumf, as torch.amax) costs: LLVM's
# vectorized loop blends and tests for NaN at every step and ends in a long scalar chain of
# NaN checks (a 128-wide row: about 60 instructions of reduction against 8). The decomposed
# max is marked R.SHIFT_ONLY and becomes arith.maxnumf with fastmath<nnan, nsz>, which LLVM
# vectorizes as plain vmaxps and a five-step tree. Nothing changes for finite rows, whose
# max is the same value, nor for a row holding a NaN or inf: the output row is NaN either
# way, as eager's is, because exp(NaN - m) or exp(inf - inf) = NaN reaches every output
# through the row's sum (a masked row of all -inf: -inf - -inf = NaN, the same). Measured on
# the kernels alone (1 thread, 2048 x 128): softmax 360 -> 277 us, the GPT-2 block's causal
# softmax 497 -> 387 us; 2 threads 162 -> 123 and 220 -> 178 us.
MAXNUM_FOR_SHIFTS = True


def _shift_max(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.maxnumf(a, b, fastmath=ir.Attribute.parse("#arith.fastmath<nnan,nsz>"))


def _register(cls):
    @LOWER.register(cls)
    def lower_reduce(op):
        x = op.input
        t = element_type(x)
        dims = normalized_dims(from_attr(op.attributes["dims"]), len(shape_of(x)))
        init, combine = _init_and_combine(cls, t)
        if MAXNUM_FOR_SHIFTS and cls is R.ReduceMaxOp and is_float(t) and R.SHIFT_ONLY in op.attributes:
            combine = _shift_max  # Note [shift-only max]
        out = reduce_generic(x, dims, init, combine)
        if from_attr(op.attributes["keepdim"]) and dims:
            out = keepdim_expand(out, x, dims, op.result.type)
        return out


for _cls in (R.ReduceSumOp, R.ReduceProdOp, R.ReduceMaxOp, R.ReduceMinOp, R.ReduceAnyOp):
    _register(_cls)


def _register_arg(cls, better_f: str, better_i: str):
    @LOWER.register(cls)
    def lower_arg_reduce(op):
        # Two accumulators (value, index); a strict comparison keeps the first extremum,
        # and NaN wins over numbers, as torch.argmax does.
        x = op.input
        t = element_type(x)
        i64 = ir.IntegerType.get_signless(64)
        rank = len(shape_of(x))
        d = from_attr(op.attributes["dim"]) % max(rank, 1)
        kept = [i for i in range(rank) if i != d]
        sizes = sizes_of(x)
        start = pymath.inf if better_f == "olt" else -pymath.inf
        if not is_float(t):
            lo, hi = _int_bounds(t)
            start = hi if better_i in ("slt", "ult") else lo
        vals = fill(scalar_const(start, t), empty([sizes[i] for i in kept], t))
        idxs = fill(scalar_const(0, i64), empty([sizes[i] for i in kept], i64))
        out_map = ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(i) for i in kept])
        iters = ["reduction" if i == d else "parallel" for i in range(rank)]

        def body(a, best, best_i):
            i = arith.index_cast(i64, linalg.IndexOp(d).result)
            if is_float(t):
                better = arith.cmpf(getattr(arith.CmpFPredicate, better_f.upper()), a, best)
                a_nan = arith.cmpf(arith.CmpFPredicate.UNO, a, a)
                best_nan = arith.cmpf(arith.CmpFPredicate.UNO, best, best)
                not_best_nan = arith.xori(best_nan, arith.constant(ir.IntegerType.get_signless(1), 1))
                better = arith.andi(arith.ori(better, a_nan), not_best_nan)
            else:
                better = arith.cmpi(getattr(arith.CmpIPredicate, better_i), a, best)
            return [arith.select(better, a, best), arith.select(better, i, best_i)]

        out = generic([x], [vals, idxs], [identity_map(rank), out_map, out_map], iters, body)[1]
        if from_attr(op.attributes["keepdim"]):
            out = keepdim_expand(out, x, [d], op.result.type)
        return out


_register_arg(R.ArgmaxOp, "ogt", "sgt")
_register_arg(R.ArgminOp, "olt", "slt")
