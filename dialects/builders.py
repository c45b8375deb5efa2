"""Lowercase builders for every tg op: `tg.add(a, b)` infers its result type, so rules
never spell out types. Import as `from dynamlir.dialects import builders as tg`.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from torch_mlir import ir

from . import ops_elementwise as E
from . import ops_linalg as L
from . import ops_reduce as R
from . import ops_shape as S
from .tg import build
from .types import DYN, element_type, is_float, shape_of, sizes_from_input, tensor_type


def _unary(cls):
    return lambda x: build(cls, x)


def _binary(cls):
    return lambda a, b: build(cls, *coerce(a, b))


neg, abs, sign, relu = map(_unary, (E.NegOp, E.AbsOp, E.SignOp, E.ReluOp))  # noqa: A001
exp, expm1, log, log1p = map(_unary, (E.ExpOp, E.Expm1Op, E.LogOp, E.Log1pOp))
tanh, sigmoid, sqrt, rsqrt = map(_unary, (E.TanhOp, E.SigmoidOp, E.SqrtOp, E.RsqrtOp))
reciprocal, erf, sin, cos = map(_unary, (E.ReciprocalOp, E.ErfOp, E.SinOp, E.CosOp))
floor, ceil, round = map(_unary, (E.FloorOp, E.CeilOp, E.RoundOp))  # noqa: A001
isnan, isinf, logical_not, bitwise_not = map(
    _unary, (E.IsNanOp, E.IsInfOp, E.LogicalNotOp, E.BitwiseNotOp)
)
add, sub, mul, div, pow = map(_binary, (E.AddOp, E.SubOp, E.MulOp, E.DivOp, E.PowOp))  # noqa: A001
maximum, minimum, remainder, fmod = map(
    _binary, (E.MaximumOp, E.MinimumOp, E.RemainderOp, E.FmodOp)
)
logical_and = _binary(E.LogicalAndOp)
logical_or = _binary(E.LogicalOrOp)
eq, ne, lt, le, gt, ge = map(_binary, (E.EqOp, E.NeOp, E.LtOp, E.LeOp, E.GtOp, E.GeOp))
mm, bmm, matmul = map(_binary, (L.MmOp, L.BmmOp, L.MatmulOp))


def gelu(x, approximate: str = "none"):
    return build(E.GeluOp, x, approximate=approximate)


def where(cond, a, b):
    a, b = coerce(a, b)
    return build(E.WhereOp, cond, a, b)


def convert(x, elem: ir.Type):
    if element_type(x) == elem:
        return x
    return build(E.ConvertOp, x, result_types=[tensor_type(shape_of(x), elem)])


def constant(array, elem: ir.Type):
    """A tg.constant of numpy-convertible `array` with element type `elem`."""
    arr = np.asarray(array, dtype=_np_dtype(elem))
    ttype = tensor_type(arr.shape, elem)
    if arr.dtype == np.bool_:
        attr = ir.DenseElementsAttr.get(np.packbits(arr.reshape(-1), bitorder="little"), type=ttype)
    else:
        attr = ir.DenseElementsAttr.get(arr, type=ttype) if arr.ndim else ir.DenseElementsAttr.get_splat(
            ttype, _scalar_attr(arr.item(), elem)
        )
    return build(E.ConstantOp, value=attr)


def splat(value, ttype: ir.RankedTensorType) -> ir.Value:
    """A tg.constant of type `ttype` with every element `value` (a splat attribute)."""
    attr = ir.DenseElementsAttr.get_splat(ttype, _scalar_attr(value, element_type(ttype)))
    return build(E.ConstantOp, value=attr)


def scalar(value, like) -> ir.Value:
    """A 0-d constant with the element type of `like` (a Value or an element type)."""
    elem = like if isinstance(like, ir.Type) and not isinstance(like, ir.RankedTensorType) else element_type(like)
    return constant(value, elem)


def coerce(a, b):
    """Turn a Python number operand into a 0-d constant of the other operand's type."""
    if not isinstance(a, ir.Value):
        a = scalar(a, b)
    if not isinstance(b, ir.Value):
        b = scalar(b, a)
    return a, b


def _scalar_attr(value, elem: ir.Type) -> ir.Attribute:
    if is_float(elem):
        return ir.FloatAttr.get(elem, float(value))
    return ir.IntegerAttr.get(elem, int(value))


def _np_dtype(elem: ir.Type):
    if is_float(elem):
        return {16: np.float16, 32: np.float32, 64: np.float64}[ir.FloatType(elem).width] if not isinstance(
            elem, ir.BF16Type
        ) else np.float32
    width = ir.IntegerType(elem).width
    return {1: np.bool_, 8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}[width]


def reduce_sum(x, dims: Sequence[int] = (), keepdim: bool = False):
    return build(R.ReduceSumOp, x, dims=list(dims), keepdim=keepdim)


def reduce_max(x, dims: Sequence[int] = (), keepdim: bool = False):
    return build(R.ReduceMaxOp, x, dims=list(dims), keepdim=keepdim)


def reduce_min(x, dims: Sequence[int] = (), keepdim: bool = False):
    return build(R.ReduceMinOp, x, dims=list(dims), keepdim=keepdim)


def reduce_prod(x, dims: Sequence[int] = (), keepdim: bool = False):
    return build(R.ReduceProdOp, x, dims=list(dims), keepdim=keepdim)


def reduce_mean(x, dims: Sequence[int] = (), keepdim: bool = False):
    return build(R.ReduceMeanOp, x, dims=list(dims), keepdim=keepdim)


def softmax(x, dim: int):
    return build(R.SoftmaxOp, x, dim=dim)


def log_softmax(x, dim: int):
    return build(R.LogSoftmaxOp, x, dim=dim)


class DimOf(NamedTuple):
    """Dim `d` of `x`, a dynamic one: a run-time size built (as tg.dim_size) only if a
    reshape or broadcast needs it (see `reshape`), so rules can pass shapes freely."""

    x: ir.Value
    d: int


class SizeProduct(NamedTuple):
    """A product of sizes, at least one of them a run-time one; built only if needed."""

    parts: tuple


# A size in a reshape or broadcast target: static, or a run-time one: a 0-d i64 tensor, or
# one built on demand (DimOf, SizeProduct).
Size = int | ir.Value | DimOf | SizeProduct


def _split_sizes(shape) -> tuple[list[int], list]:
    """A mixed shape's static form (`?` for each run-time size) and its run-time sizes."""
    static = [DYN if _runtime(d) else d for d in shape]
    return static, [d for d in shape if _runtime(d)]


def _runtime(s) -> bool:
    return isinstance(s, (ir.Value, DimOf, SizeProduct))


def materialize(s: Size) -> int | ir.Value:
    """A size as an int or a 0-d i64 tensor, building the ops a lazy one stands for."""
    if isinstance(s, DimOf):
        return dim_size(s.x, s.d)
    if isinstance(s, SizeProduct):
        values = [materialize(p) for p in s.parts]
        static = 1
        out = None
        for v in values:
            if isinstance(v, ir.Value):
                out = v if out is None else mul(out, v)
            else:
                static *= v
        return out if static == 1 else mul(out, scalar(static, out))
    return s


def reshape(x, shape: Sequence[Size]):
    """Reshape to `shape`, whose entries are ints (DYN: derived from the element count, at
    most one) or run-time sizes (see `Size`). Runtime sizes make a tg.dynamic_reshape only
    when the result has more than one dynamic dim (Note [runtime sizes],
    dialects/ops_shape.py); else tg.reshape derives its `?` itself.

    A target equal to x's own shape tuple is taken as the identity, and one whose non-unit
    dims are x's, in order, as unit dims inserted or dropped (each `?` then has x's size
    there). With two or more `?` dims that is only right when the caller derived the
    target from x itself (as rules do); the importer compares symbolic sizes first (see
    aten_view.py).
    """
    static, sizes = _split_sizes(shape)
    if tuple(static) == shape_of(x) and (len(sizes) <= 1 or _sizes_of_self(x, shape)):
        return x
    rtype = tensor_type(static, element_type(x))
    if static.count(DYN) <= 1:
        return build(S.ReshapeOp, x, result_types=[rtype])
    if not sizes and (kept := _unit_dims_only(shape_of(x), static)) is not None:
        shape = [DimOf(x, kept[i]) if d == DYN else d for i, d in enumerate(static)]
        static, sizes = _split_sizes(shape)
    if len(sizes) != static.count(DYN):
        raise ValueError(f"reshape to {static} needs a run-time size for each dynamic dim")
    return build(S.DynamicReshapeOp, x, [materialize(s) for s in sizes], result_types=[rtype])


def _unit_dims_only(src, dst) -> dict[int, int] | None:
    """When `dst` is `src` with unit dims inserted or dropped: each non-unit dim of dst's
    position -> its dim in src. None otherwise."""
    src_dims = [i for i, d in enumerate(src) if d != 1]
    dst_dims = [i for i, d in enumerate(dst) if d != 1]
    if [src[i] for i in src_dims] != [dst[i] for i in dst_dims]:
        return None
    return dict(zip(dst_dims, src_dims))


def _sizes_of_self(x, shape) -> bool:
    """Each run-time size in `shape` is x's own size of that dim."""
    for d, s in enumerate(shape):
        if not _runtime(s):
            continue
        if isinstance(s, DimOf) and s.x == x and s.d == d:
            continue
        owner = s.owner if isinstance(s, ir.Value) else None
        if not (isinstance(owner, ir.OpView) and isinstance(owner, S.DimSizeOp)
                and owner.operands[0] == x
                and ir.IntegerAttr(owner.attributes["dim"]).value == d):
            return False
    return True


def size(x, d: int) -> Size:
    """Dim `d` of x: its static size, or a DimOf when it is dynamic."""
    n = shape_of(x)[d]
    return DimOf(x, d % len(shape_of(x))) if n == DYN else n


def sizes(x) -> list[Size]:
    """Every dim of x as `size` gives it: x's shape for reshape/broadcast_to targets."""
    return [size(x, d) for d in range(len(shape_of(x)))]


def size_product(parts: Sequence[Size]) -> Size:
    """The product of sizes: an int when all are static, else a SizeProduct."""
    if not any(_runtime(p) for p in parts):
        return math.prod(parts)
    flat = []
    for p in parts:
        flat += list(p.parts) if isinstance(p, SizeProduct) else [p]
    return SizeProduct(tuple(flat))


def permute(x, perm: Sequence[int]):
    if list(perm) == list(range(len(perm))):
        return x
    return build(S.PermuteOp, x, perm=list(perm))


def transpose(x, d0: int, d1: int):
    rank = len(shape_of(x))
    perm = list(range(rank))
    perm[d0 % rank], perm[d1 % rank] = perm[d1 % rank], perm[d0 % rank]
    return permute(x, perm)


def broadcast_to(x, shape: Sequence[Size]):
    """Broadcast to `shape` (ints, DYN taken from x's same dim, or run-time sizes as for
    `reshape`). A `?` that x's same dim cannot give makes a tg.dynamic_broadcast_to (Note
    [runtime sizes]), which takes a run-time size for every `?`."""
    static, sizes = _split_sizes(shape)
    if tuple(static) == shape_of(x) and (not sizes or _sizes_of_self(x, shape)):
        return x  # same convention as reshape
    rtype = tensor_type(static, element_type(x))
    if sizes_from_input(shape_of(x), static) or not sizes:
        return build(S.BroadcastToOp, x, result_types=[rtype])
    if len(sizes) != static.count(DYN):
        raise ValueError(f"broadcast to {static} needs a run-time size for each dynamic dim")
    return build(S.DynamicBroadcastToOp, x, [materialize(s) for s in sizes], result_types=[rtype])


def slice(x, dim: int, start: int, end: int, step: int = 1):  # noqa: A001
    return build(S.SliceOp, x, dim=dim, start=start, end=end, step=step)


def cat(xs: Sequence[ir.Value], dim: int):
    """n-ary concatenation as a left-deep chain of binary tg.cat (see CatOp)."""
    xs = list(xs)
    if not xs:
        raise ValueError("cat expects at least one input")
    out = xs[0]
    for x in xs[1:]:
        out = build(S.CatOp, out, x, dim=dim)
    return out


__all__ = [n for n in dir() if not n.startswith("_")] + ["DYN"]


def dim_size(x, dim: int):
    return build(S.DimSizeOp, x, dim=dim)


def numel(x, dims: Sequence[int]) -> ir.Value:
    """Product of the sizes of `dims` as a 0-d tensor of x's element type (static folds)."""
    shape = shape_of(x)
    static = 1
    dynamic = []
    for d in dims:
        if shape[d] == DYN:
            dynamic.append(d)
        else:
            static *= shape[d]
    count = scalar(static, x)
    for d in dynamic:
        count = mul(count, convert(dim_size(x, d), element_type(x)))
    return count
