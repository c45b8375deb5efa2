"""Helpers shared by the tg -> linalg lowerings: sizes (static or SSA), empty tensors,
broadcasting indexing maps, and linalg.generic construction.
"""

from __future__ import annotations

from typing import Callable, Sequence

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from ...dialects.types import DYN, element_type, is_float, shape_of

Size = int | ir.Value  # a static size or an SSA `index`


def index(v: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), v)


def dim(x: ir.Value, i: int) -> Size:
    """Size of dim `i` of tensor `x`: an int when static, else a `tensor.dim` value."""
    s = shape_of(x)[i]
    return s if s != DYN else tensor.dim(x, index(i))


def sizes_of(x: ir.Value) -> list[Size]:
    return [dim(x, i) for i in range(len(shape_of(x)))]


def as_index(s: Size) -> ir.Value:
    return index(s) if isinstance(s, int) else s


def result_sizes(result_type: ir.Type, operands: Sequence[ir.Value]) -> list[Size]:
    """Sizes of an elementwise result: each dynamic dim is read off an operand that has
    that dim dynamic, right-aligned as in broadcasting."""
    out_shape = shape_of(result_type)
    rank = len(out_shape)
    sizes: list[Size] = []
    for i, d in enumerate(out_shape):
        if d != DYN:
            sizes.append(d)
            continue
        for x in operands:
            xs = shape_of(x)
            j = i - (rank - len(xs))
            if j >= 0 and xs[j] == DYN:
                sizes.append(dim(x, j))
                break
        else:
            raise ValueError(f"cannot find the size of dynamic dim {i} of {result_type}")
    return sizes


def empty(sizes: Sequence[Size], elem: ir.Type) -> ir.Value:
    return tensor.empty([s if isinstance(s, int) else s for s in sizes], elem)


def fill(value: ir.Value, init: ir.Value) -> ir.Value:
    return linalg.fill(value, outs=[init])


def scalar_const(value, elem: ir.Type) -> ir.Value:
    if is_float(elem):
        return arith.constant(elem, float(value))
    return arith.constant(elem, int(value))


def broadcast_map(operand_shape: Sequence[int], result_shape: Sequence[int]) -> ir.AffineMap:
    """Indexing map reading `operand_shape` inside a loop nest over `result_shape`:
    leading dims are dropped and size-1 dims broadcast (read at index 0)."""
    rank = len(result_shape)
    offset = rank - len(operand_shape)
    exprs = []
    for j, d in enumerate(operand_shape):
        if d == 1 and result_shape[j + offset] != 1:
            exprs.append(ir.AffineConstantExpr.get(0))
        else:
            exprs.append(ir.AffineDimExpr.get(j + offset))
    return ir.AffineMap.get(rank, 0, exprs)


def identity_map(rank: int) -> ir.AffineMap:
    return ir.AffineMap.get_identity(rank)


def generic(
    inputs: Sequence[ir.Value],
    inits: Sequence[ir.Value],
    maps: Sequence[ir.AffineMap],
    iterators: Sequence[str],
    body: Callable[..., ir.Value | Sequence[ir.Value]],
) -> list[ir.Value]:
    """A linalg.generic; `body(*input_scalars, *init_scalars)` returns the yielded values."""
    op = linalg.GenericOp(
        [i.type for i in inits],
        list(inputs),
        list(inits),
        ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
        ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{n}>") for n in iterators]),
    )
    elems = [element_type(v) for v in [*inputs, *inits]]
    block = op.regions[0].blocks.append(*elems)
    with ir.InsertionPoint(block):
        out = body(*block.arguments)
        linalg.YieldOp(list(out) if isinstance(out, (list, tuple)) else [out])
    return list(op.results)


def elementwise(
    operands: Sequence[ir.Value], result_type: ir.Type, body: Callable[..., ir.Value]
) -> ir.Value:
    """A parallel linalg.generic over the (broadcast) result shape."""
    out_shape = shape_of(result_type)
    init = empty(result_sizes(result_type, operands), element_type(result_type))
    maps = [broadcast_map(shape_of(x), out_shape) for x in operands] + [identity_map(len(out_shape))]
    return generic(
        operands, [init], maps, ["parallel"] * len(out_shape), lambda *a: body(*a[: len(operands)])
    )[0]


def mixed(sizes: Sequence[Size]) -> tuple[list[ir.Value], list[int]]:
    """Split sizes into (dynamic SSA values, static list with kDynamic placeholders)."""
    kdyn = ir.ShapedType.get_dynamic_size()
    return [s for s in sizes if not isinstance(s, int)], [s if isinstance(s, int) else kdyn for s in sizes]


def insert_slice(src, dest, offsets: Sequence[Size], strides: Sequence[Size] | None = None):
    """`dest` with `src` written at `offsets` (with `strides`, unit by default); `dest` as it
    is when `src` has a zero dim: nothing to write, and MLIR rejects its offset when it is
    the end of a dim."""
    if 0 in shape_of(src):
        return dest
    do, so = mixed(offsets)
    ds, ss = mixed(sizes_of(src))
    dt, st = mixed(strides if strides is not None else [1] * len(offsets))
    return tensor.insert_slice(src, dest, do, ds, dt, so, ss, st)


def product(sizes: Sequence[Size]) -> Size:
    static = 1
    dynamic: ir.Value | None = None
    for s in sizes:
        if isinstance(s, int):
            static *= s
        else:
            dynamic = s if dynamic is None else arith.muli(dynamic, s)
    if dynamic is None:
        return static
    return dynamic if static == 1 else arith.muli(dynamic, index(static))


def expand_to(x: ir.Value, groups: list[list[int]], result_type: ir.Type, sizes: Sequence[Size]) -> ir.Value:
    dyn, static = mixed(sizes)
    return tensor.expand_shape(result_type, x, _reassoc(groups), dyn, static)


def collapse_to(x: ir.Value, groups: list[list[int]], result_type: ir.Type) -> ir.Value:
    return tensor.collapse_shape(result_type, x, _reassoc(groups))


def _reassoc(groups: list[list[int]]) -> ir.ArrayAttr:
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in g]) for g in groups])


def unit_groups(full_rank: int, unit_dims: Sequence[int]) -> list[list[int]]:
    """Reassociation grouping each kept dim with the unit dims inserted around it
    (for expanding a reduced tensor back to keepdim form)."""
    kept = [d for d in range(full_rank) if d not in unit_dims]
    if not kept:
        return []
    groups: list[list[int]] = [[] for _ in kept]
    k = 0
    for d in range(full_rank):
        if d in unit_dims:
            groups[min(k, len(kept) - 1)].append(d)
        else:
            groups[k].append(d)
            k += 1
    return [sorted(g) for g in groups]
