"""Shape and dtype helpers shared by the tg verifiers, builders and lowerings.

Shapes are tuples of ints with `DYN` (-1 here, MLIR's kDynamic there) for `?`.
"""

from __future__ import annotations

from typing import Sequence

from torch_mlir import ir

DYN = -1


def shape_of(value_or_type) -> tuple[int, ...]:
    t = value_or_type.type if isinstance(value_or_type, ir.Value) else value_or_type
    t = ir.RankedTensorType(t)
    return tuple(DYN if t.is_dynamic_dim(i) else t.get_dim_size(i) for i in range(t.rank))


def element_type(value_or_type) -> ir.Type:
    t = value_or_type.type if isinstance(value_or_type, ir.Value) else value_or_type
    return ir.RankedTensorType(t).element_type


def tensor_type(shape: Sequence[int], elem: ir.Type) -> ir.RankedTensorType:
    dyn = ir.ShapedType.get_dynamic_size()
    # A dynamic dim makes `get` check the type and demand a location; verifiers run without one.
    loc = ir.Location.unknown(elem.context)
    return ir.RankedTensorType.get([dyn if d == DYN else d for d in shape], elem, loc=loc)


def is_float(elem: ir.Type) -> bool:
    return isinstance(elem, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))


def is_bool(elem: ir.Type) -> bool:
    return isinstance(elem, ir.IntegerType) and ir.IntegerType(elem).width == 1


def is_int(elem: ir.Type) -> bool:
    return isinstance(elem, ir.IntegerType) and not is_bool(elem)


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """PyTorch broadcasting; a dynamic dim is assumed not to be 1 (Dynamo specializes 0/1)."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        sizes = {d for d in dims if d != 1}
        static = {d for d in sizes if d != DYN}
        if len(static) > 1:
            raise ValueError(f"shapes {' and '.join(_fmt(s) for s in shapes)} are not broadcastable")
        out.append(static.pop() if static else (DYN if DYN in sizes else 1))
    return tuple(out)


def sizes_from_input(src: Sequence[int], dst: Sequence[int]) -> bool:
    """Each `?` of broadcast target `dst` is a `?` of `src` at the same place (aligned from
    the right): tg.broadcast_to can take every dynamic size from its input."""
    off = len(dst) - len(src)
    return all(d != DYN or (i >= off and src[i - off] == DYN) for i, d in enumerate(dst))


def normalize_dim(dim: int, rank: int) -> int:
    if not -max(rank, 1) <= dim < max(rank, 1):
        raise ValueError(f"dim {dim} out of range for rank {rank}")
    return dim % max(rank, 1)


def dims_compatible(a: Sequence[int], b: Sequence[int]) -> bool:
    """Same rank, and equal wherever both are static."""
    return len(a) == len(b) and all(x == y or DYN in (x, y) for x, y in zip(a, b))


def _fmt(shape: Sequence[int]) -> str:
    return "x".join("?" if d == DYN else str(d) for d in shape) or "scalar"


def fmt_type(t: ir.Type) -> str:
    return str(t)
