"""Lowering of shape tg ops to tensor/linalg ops: reshape (collapse + expand), permute
(linalg.transpose), broadcast_to (linalg.generic), slice/cat (tensor slices), dim_size.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from ...dialects import ops_shape as S
from ...dialects.registry import LOWER
from ...dialects.tg import from_attr
from ...dialects.types import DYN, element_type, shape_of, tensor_type
from .common import (
    Size,
    as_index,
    broadcast_map,
    collapse_to,
    dim,
    empty,
    expand_to,
    generic,
    identity_map,
    index,
    insert_slice,
    mixed,
    product,
    sizes_of,
)


def _static_groups(src: tuple, dst: tuple) -> list[list[int]] | None:
    """Reassociation from the lower-rank shape into the higher-rank one, when consecutive
    dims of the latter multiply to each dim of the former (static shapes only)."""
    small, big = (src, dst) if len(src) <= len(dst) else (dst, src)
    if DYN in small or DYN in big or not small or 0 in big:
        return None
    groups, j = [], 0
    for s in small:
        if j >= len(big):
            return None
        group, prod = [j], big[j]
        j += 1
        while prod < s and j < len(big):
            group.append(j)
            prod *= big[j]
            j += 1
        if prod != s:
            return None
        groups.append(group)
    if any(d != 1 for d in big[j:]):
        return None
    groups[-1] += list(range(j, len(big)))
    return groups


def runtime_sizes(rtype: ir.Type, sizes) -> list[Size]:
    """The result sizes of a dynamic_ op (Note [runtime sizes], dialects/ops_shape.py): its
    static dims, and each `?` read from its 0-d i64 size operand."""
    it = iter(list(sizes))
    return [
        d if d != DYN else arith.index_cast(ir.IndexType.get(), tensor.extract(next(it), []))
        for d in shape_of(rtype)
    ]


@LOWER.register(S.ReshapeOp)
def lower_reshape(op):
    return _reshape(op.input, op.result.type)


@LOWER.register(S.DynamicReshapeOp)
def lower_dynamic_reshape(op):
    return _reshape(op.input, op.result.type, runtime_sizes(op.result.type, op.sizes))


def _reshape(x, rtype, known: list[Size] | None = None):
    """x reshaped to `rtype`; `known` gives every result size (else the one `?` is the
    element count over the static dims)."""
    src, dst = shape_of(x), shape_of(rtype)
    groups = _static_groups(src, dst)
    if groups is not None:
        if len(src) > len(dst):
            return collapse_to(x, groups, rtype)
        return expand_to(x, groups, rtype, list(dst))
    if not src:  # a scalar into all-ones dims: expand with no reassociation groups
        return expand_to(x, [], rtype, [1] * len(dst))
    # General case: flatten, then expand; the one dynamic result dim is numel / the rest.
    elem = element_type(x)
    flat = x
    if len(src) != 1:
        flat_size = DYN if DYN in src else product(src)
        flat = collapse_to(x, [list(range(len(src)))] if src else [], tensor_type((flat_size,), elem))
    if not dst:
        return collapse_to(flat, [], rtype)
    sizes: list[Size] = list(dst) if known is None else known
    if DYN in dst and known is None:
        total = product(sizes_of(flat))
        rest = product([d for d in dst if d != DYN])
        known = as_index(rest)
        sizes[dst.index(DYN)] = arith.divui(as_index(total), known)
    return expand_to(flat, [list(range(len(dst)))], rtype, sizes)


@LOWER.register(S.PermuteOp)
def lower_permute(op):
    perm = from_attr(op.attributes["perm"])
    src = sizes_of(op.input)
    init = empty([src[p] for p in perm], element_type(op.input))
    return linalg.transpose(op.input, outs=[init], permutation=perm)


@LOWER.register(S.BroadcastToOp)
def lower_broadcast_to(op):
    x, rtype = op.input, op.result.type
    dst = shape_of(rtype)
    src = shape_of(x)
    off = len(dst) - len(src)
    sizes: list[Size] = []
    for i, d in enumerate(dst):
        if d != DYN:
            sizes.append(d)
        elif i >= off and src[i - off] == DYN:
            sizes.append(dim(x, i - off))
        else:
            raise ValueError(f"cannot broadcast {x.type} to {rtype}: unknown dynamic size")
    return _broadcast(x, rtype, sizes)


@LOWER.register(S.DynamicBroadcastToOp)
def lower_dynamic_broadcast_to(op):
    return _broadcast(op.input, op.result.type, runtime_sizes(op.result.type, op.sizes))


def _broadcast(x, rtype, sizes: list[Size]):
    src, dst = shape_of(x), shape_of(rtype)
    init = empty(sizes, element_type(x))
    rank = len(dst)
    return generic([x], [init], [broadcast_map(src, dst), identity_map(rank)], ["parallel"] * rank, lambda a, b: a)[0]


@LOWER.register(S.SliceOp)
def lower_slice(op):
    x = op.input
    a = {k: from_attr(op.attributes[k]) for k in ("dim", "start", "end", "step")}
    rank = len(shape_of(x))
    d = a["dim"] % rank
    sizes = sizes_of(x)
    out_shape = shape_of(op.result)
    offsets: list[Size] = [0] * rank
    strides: list[Size] = [1] * rank
    out_sizes: list[Size] = list(sizes)
    offsets[d], strides[d] = a["start"], a["step"]
    if out_shape[d] != DYN:
        out_sizes[d] = out_shape[d]
    else:
        # size = max(0, ceil((min(end, n) - start) / step)), computed at run time.
        n = as_index(sizes[d])
        end = n if a["end"] < 0 else arith.minsi(n, index(a["end"]))
        span = arith.maxsi(arith.subi(end, index(a["start"])), index(0))
        out_sizes[d] = arith.ceildivsi(span, index(a["step"]))
    return _extract(x, op.result.type, offsets, out_sizes, strides)


def _extract(x, rtype, offsets, sizes, strides):
    if 0 in shape_of(rtype):  # nothing to read; MLIR rejects an offset at the end of a dim
        return empty([s if s != DYN else sizes[i] for i, s in enumerate(shape_of(rtype))],
                     element_type(x))
    do, so = mixed(offsets)
    ds, ss = mixed(sizes)
    dt, st = mixed(strides)
    return tensor.extract_slice(rtype, x, do, ds, dt, so, ss, st)


def _is_chain_link(value, d: int) -> bool:
    """A cat result whose only use is another cat along the same dim."""
    owner = value.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "tg.cat":
        return False
    uses = list(value.uses)
    if len(uses) != 1:
        return False
    user = uses[0].owner
    return user.name == "tg.cat" and from_attr(user.attributes["dim"]) % len(shape_of(value)) == d


def _cat_leaves(value, d: int) -> list:
    owner = value.owner.opview if hasattr(value.owner, "opview") else value.owner
    if isinstance(owner, ir.OpView) and owner.operation.name == "tg.cat" and (
        from_attr(owner.attributes["dim"]) % len(shape_of(value)) == d
    ) and len(list(value.uses)) == 1:
        return _cat_leaves(owner.operands[0], d) + _cat_leaves(owner.operands[1], d)
    return [value]


@LOWER.register(S.CatOp)
def lower_cat(op):
    rank = len(shape_of(op.result))
    d = from_attr(op.attributes["dim"]) % rank
    if _is_chain_link(op.result, d):
        return None  # the outermost cat of the chain writes every leaf
    inputs = _cat_leaves(op.operands[0], d) + _cat_leaves(op.operands[1], d)
    out_shape = shape_of(op.result)
    sizes: list[Size | None] = [s if s != DYN else None for s in out_shape]
    for i, s in enumerate(out_shape):
        if s != DYN:
            continue
        if i == d:
            total: Size = 0
            for x in inputs:
                xs = dim(x, d)
                total = xs + total if isinstance(xs, int) and isinstance(total, int) else arith.addi(as_index(total), as_index(xs))
            sizes[i] = total
        else:
            sizes[i] = next(dim(x, i) for x in inputs if shape_of(x)[i] == DYN)
    out = empty(sizes, element_type(op.result))
    offset: Size = 0
    for x in inputs:
        xs = sizes_of(x)
        offs: list[Size] = [0] * rank
        offs[d] = offset
        out = insert_slice(x, out, offs)
        offset = offset + xs[d] if isinstance(offset, int) and isinstance(xs[d], int) else arith.addi(as_index(offset), as_index(xs[d]))
    return out


@LOWER.register(S.DimSizeOp)
def lower_dim_size(op):
    i64 = ir.IntegerType.get_signless(64)
    size = as_index(dim(op.input, from_attr(op.attributes["dim"])))
    return tensor.from_elements(op.result.type, [arith.index_cast(i64, size)])
