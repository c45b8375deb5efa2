"""CPU convolution: linalg.conv_2d_nchw_fchw on tensors becomes an im2col gather and a
linalg.batch_matmul that the matmul kernel runs (see Note [cpu conv as matmul]).

Note [cpu conv as matmul]
~~~~~~~~~~~~~~~~~~~~~~~~~
A convolution is out[n, f, p] = sum_{c, r} W[f, c, r] * X[n, c, p (+) r] where p runs over
output positions (oh, ow), r over kernel offsets (kh, kw) and p (+) r is the input position
(oh*s + kh*d, ow*s + kw*d). Copying the windows of X into a column tensor makes it a
matmul per image, with the weight [F, C*KH*KW] (a free collapse of the contiguous weight)
shared by every image (a broadcast A operand):

  wide output (P = OH*OW >= one vector):
      col[n, (c, kh, kw), (oh, ow)]   out[n] = W @ col[n]           the "nn" kernel form,
                                      vectorized along p; out is NCHW as it stands
  narrow output, K = C*KH*KW a multiple of the vector length (e.g. a weight gradient, whose
  "kernel" is the whole output image and whose output is KH x KW):
      col[n, (oh, ow), (c, kh, kw)]   out[n] = W @ col[n]^T         the "nt" (dot) form,
                                      vectorized along k, both rows contiguous

The gather is a linalg.generic with affine indexing maps only (the input map is
(n, c, kh, kw, oh, ow) -> (n, c, oh*s + kh*d, ow*s + kw*d)), so it lowers to plain loops,
and the column tensor is a contiguous row-major buffer that collapse_shape reshapes for
free. It costs one copy of KH*KW times the input; the matmul kernel then runs at FMA
speed instead of the scalar 7-deep loop nest convert-linalg-to-loops makes of the conv.
Convolutions with unit width stride and outputs at least DIRECT_MIN_WIDTH wide are left to
the direct kernel (lowering/cpu_conv_kernel.py), which needs no copy. Grouped convolutions
(linalg.conv_2d_ngchw_gfchw) keep the loop nest.

Note [cpu conv weight gradient]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
lowering/vjp_nn.py writes dW as a convolution of x^T (channels as batch) with g^T (batch as
channels): its "kernel" is the whole output image, its output KH x KW, and its sum runs
over N*OH*OW. As one matmul that sum streams megabytes per output tile. Instead, seeing
through the two transposes, the rewrite computes one small matmul per image in the
tensors' own layouts, partial[n] = g[n] (F x OH*OW) @ col[n] (OH*OW x C*KH*KW), in
parallel over images, then sums the partials over n (a reduction over N*F*C*KH*KW, small)
and transposes the F x C x KH x KW result (tiny) to the convolution's C x F x KH x KW.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, linalg, tensor

from ..dialects.types import DYN, element_type, shape_of
from .cpu_matmul import tile_shape
from .registry import ops_named, register_pass
from .to_linalg.common import (
    collapse_to,
    dim,
    empty,
    expand_to,
    generic,
    identity_map,
    sizes_of,
)

DIRECT_MIN_WIDTH = 8  # output columns from which the direct kernel beats im2col + matmul


def _ints(op, name: str) -> list[int]:
    if name not in op.attributes:
        return [1, 1]
    return [int(v) for v in ir.DenseIntElementsAttr(op.attributes[name])]


def _tensor(shape: list[int], elem: ir.Type) -> ir.RankedTensorType:
    """A tensor type from dialects/types.py sizes (DYN for a dynamic dim)."""
    kdyn = ir.ShapedType.get_dynamic_size()
    return ir.RankedTensorType.get([kdyn if s == DYN else s for s in shape], elem)


def _affine(rank: int, exprs) -> ir.AffineMap:
    return ir.AffineMap.get(rank, 0, list(exprs))


def im2col(x: ir.Value, kernel: list[int], out_sp: list[int], stride, dilation, wide: bool):
    """The window copy of Note [cpu conv as matmul]: [N, C*KH*KW, OH*OW] when `wide`, else
    [N, OH*OW, C*KH*KW], from the (already padded) NCHW input `x`."""
    n, c = dim(x, 0), shape_of(x)[1]
    (kh, kw), (oh, ow) = kernel, out_sp
    d = [ir.AffineDimExpr.get(i) for i in range(6)]
    # loop order = column tensor layout; name the six loops by role
    if wide:
        ln, lc, lkh, lkw, loh, low = d
        sizes = [n, c, kh, kw, oh, ow]
        groups = [[0], [1, 2, 3], [4, 5]]
        shape = [shape_of(x)[0], c * kh * kw, oh * ow]
    else:
        ln, loh, low, lc, lkh, lkw = d
        sizes = [n, oh, ow, c, kh, kw]
        groups = [[0], [1, 2], [3, 4, 5]]
        shape = [shape_of(x)[0], oh * ow, c * kh * kw]
    row = loh * stride[0] + lkh * dilation[0]
    col = low * stride[1] + lkw * dilation[1]
    read = _affine(6, [ln, lc, row, col])
    elem = element_type(x)
    init = empty(sizes, elem)
    cols = generic([x], [init], [read, identity_map(6)], ["parallel"] * 6, lambda v, _o: v)[0]
    return collapse_to(cols, groups, _tensor(shape, elem))


def _producer(v: ir.Value, name: str):
    owner = v.owner
    if isinstance(owner, ir.OpView) and owner.operation.name == name:
        return owner.operation
    return None


def _swapped(v: ir.Value) -> ir.Value | None:
    """The source of `v` when `v` is a linalg.transpose swapping dims 0 and 1 of a 4-d tensor."""
    t = _producer(v, "linalg.transpose")
    if t is None or list(ir.DenseI64ArrayAttr(t.attributes["permutation"])) != [1, 0, 2, 3]:
        return None
    return t.operands[0]


def _zero_padded(v: ir.Value) -> tuple[ir.Value, list[int]]:
    """(source, low spatial pads) when `v` is a zero-filled tensor with a source inserted at
    static offsets (how lower_convolution pads), else (v, [0, 0])."""
    ins = _producer(v, "tensor.insert_slice")
    if ins is None or len(ins.operands) != 2:
        return v, [0, 0]
    fill = _producer(ins.operands[1], "linalg.fill")
    zero = fill.operands[0].owner if fill is not None else None
    if not (isinstance(zero, ir.OpView) and zero.operation.name == "arith.constant"):
        return v, [0, 0]
    if ir.FloatAttr(zero.attributes["value"]).value != 0.0:
        return v, [0, 0]
    offsets = list(ir.DenseI64ArrayAttr(ins.attributes["static_offsets"]))
    strides = list(ir.DenseI64ArrayAttr(ins.attributes["static_strides"]))
    if offsets[:2] != [0, 0] or any(s != 1 for s in strides):
        return v, [0, 0]
    return ins.operands[0], offsets[2:]


def _pad(x: ir.Value, lo: list[int], spatial: list[int]) -> ir.Value:
    """x (N, C, H, W) zero-padded to `spatial` with `lo` rows/columns before."""
    if not any(lo) and list(shape_of(x)[2:]) == list(spatial):
        return x
    elem = element_type(x)
    sizes = [dim(x, 0), dim(x, 1), *spatial]
    dest = linalg.fill(arith.constant(elem, 0.0), outs=[empty(sizes, elem)])
    dyn = [s for s in sizes_of(x) if not isinstance(s, int)]
    static = [s if isinstance(s, int) else ir.ShapedType.get_dynamic_size() for s in sizes_of(x)]
    return tensor.insert_slice(x, dest, [], dyn, [], [0, 0, *lo], static, [1] * 4)


def weight_grad_as_matmul(op) -> ir.Value | None:
    """Note [cpu conv weight gradient]: conv(pad(x^T), g^T) with dims 0 and 1 swapped in both
    (lowering/vjp_nn.py's weight gradient) as one small matmul per image of x and g in their
    own layout, summed over images; None when `op` is not of that form."""
    src, lo = _zero_padded(op.operands[0])
    x, g = _swapped(src), _swapped(op.operands[1])
    init = op.operands[2]
    if x is None or g is None:
        return None
    elem = element_type(init)
    c, f, kh, kw = shape_of(init)
    _, _, uh, uw = shape_of(op.operands[1])
    if DYN in (c, f, kh, kw, uh, uw) or DYN in shape_of(op.operands[0])[2:]:
        return None
    stride, dilation = _ints(op, "strides"), _ints(op, "dilations")
    xp = _pad(x, lo, shape_of(op.operands[0])[2:])
    p, q = uh * uw, c * kh * kw
    vl = tile_shape(ir.FloatType(elem).width)[2]
    # the "nn" kernel vectorizes along C*KH*KW; when that leaves a scalar tail and the sum
    # (UH*UW) is whole vectors, the dot kernel over rows contiguous along the sum wins
    dot = q % vl != 0 and p % vl == 0
    d = [ir.AffineDimExpr.get(i) for i in range(6)]
    if dot:  # loops (n, c, i, j, u, v): columns [N, C*KH*KW, UH*UW]
        ln, lc, li, lj, lu, lv = d
        sizes, groups, shape = [dim(x, 0), c, kh, kw, uh, uw], [[0], [1, 2, 3], [4, 5]], [q, p]
    else:  # loops (n, u, v, c, i, j): columns [N, UH*UW, C*KH*KW]
        ln, lu, lv, lc, li, lj = d
        sizes, groups, shape = [dim(x, 0), uh, uw, c, kh, kw], [[0], [1, 2], [3, 4, 5]], [p, q]
    read = _affine(
        6, [ln, lc, li * stride[0] + lu * dilation[0], lj * stride[1] + lv * dilation[1]]
    )
    cols = generic(
        [xp], [empty(sizes, elem)], [read, identity_map(6)], ["parallel"] * 6, lambda v, _o: v
    )[0]
    n_ = shape_of(x)[0]
    cols = collapse_to(cols, groups, _tensor([n_, *shape], elem))
    g3 = collapse_to(g, [[0], [1], [2, 3]], _tensor([n_, f, p], elem))
    zero = arith.constant(elem, 0.0)
    part = linalg.fill(zero, outs=[empty([dim(x, 0), f, q], elem)])
    b, m, nn, kk = (ir.AffineDimExpr.get(i) for i in range(4))
    maps = [
        _affine(4, [b, m, kk]),
        _affine(4, [b, nn, kk] if dot else [b, kk, nn]),
        _affine(4, [b, m, nn]),
    ]
    part = linalg.batch_matmul(g3, cols, outs=[part], indexing_maps=maps)
    total = linalg.fill(zero, outs=[empty([f, q], elem)])
    e = [ir.AffineDimExpr.get(i) for i in range(3)]
    total = generic(
        [part],
        [total],
        [_affine(3, e), _affine(3, e[1:])],
        ["reduction", "parallel", "parallel"],
        lambda a, acc: arith.addf(a, acc),
    )[0]
    fchw = expand_to(total, [[0], [1, 2, 3]], _tensor([f, c, kh, kw], elem), [f, c, kh, kw])
    out = linalg.transpose(fchw, outs=[empty([c, f, kh, kw], elem)], permutation=[1, 0, 2, 3])
    return out.results[0] if hasattr(out, "results") else out


def conv_as_matmul(op) -> ir.Value | None:
    """The batch_matmul form of one linalg.conv_2d_nchw_fchw on tensors, built before it;
    None when it does not apply (dynamic channel, kernel or output sizes, non-float)."""
    x, w = op.operands[0], op.operands[1]
    x, w, init = op.operands[0], op.operands[1], op.operands[2]
    if not all(isinstance(v.type, ir.RankedTensorType) for v in (x, w, init)):
        return None
    elem = element_type(init)
    if not isinstance(elem, (ir.F32Type, ir.F64Type)):
        return None
    if any(element_type(v) != elem for v in (x, w)):
        return None
    if (grad := weight_grad_as_matmul(op)) is not None:
        return grad
    f, c, kh, kw = shape_of(w)
    out = shape_of(init)
    if DYN in (f, c, kh, kw, *out[1:], shape_of(x)[1]):
        return None
    stride, dilation = _ints(op, "strides"), _ints(op, "dilations")
    p, k = out[2] * out[3], c * kh * kw
    vl = tile_shape(ir.FloatType(elem).width)[2]
    wide = p >= vl or k % vl != 0
    if wide and stride[1] == 1 and out[3] >= DIRECT_MIN_WIDTH:
        return None  # tg-cpu-conv-kernels runs it in place (Note [cpu direct conv])
    cols = im2col(x, [kh, kw], out[2:], stride, dilation, wide)
    w2 = collapse_to(w, [[0], [1, 2, 3]], _tensor([f, k], elem))
    c3 = collapse_to(init, [[0], [1], [2, 3]], _tensor([out[0], f, p], elem))
    b, m, nn, kk = (ir.AffineDimExpr.get(i) for i in range(4))
    maps = [
        _affine(4, [m, kk]),
        _affine(4, [b, kk, nn] if wide else [b, nn, kk]),
        _affine(4, [b, m, nn]),
    ]
    mm = linalg.batch_matmul(w2, cols, outs=[c3], indexing_maps=maps)
    sizes = [dim(init, 0), f, out[2], out[3]]
    return expand_to(mm, [[0], [1], [2, 3]], init.type, sizes)


def rewrite_convolutions(module: ir.Operation) -> int:
    """Replace every eligible linalg.conv_2d_nchw_fchw in `module`; returns how many."""
    found = ops_named(module, "linalg.conv_2d_nchw_fchw")
    count = 0
    for op in found:
        with ir.InsertionPoint(op), op.location:
            new = conv_as_matmul(op)
        if new is None:
            continue
        op.results[0].replace_all_uses_with(new)
        op.erase()
        count += 1
    return count


@register_pass("tg-cpu-conv-to-matmul")
def conv_to_matmul(module, pass_):
    """Rewrite linalg.conv_2d_nchw_fchw on tensors as im2col + linalg.batch_matmul
    (Note [cpu conv as matmul] in lowering/cpu_conv.py).

    Requires: linalg on tensors.  Produces: a linalg.generic window copy, a batch_matmul
    with a broadcast weight operand that tg-cpu-matmul-kernels runs, and reshapes.
    """
    rewrite_convolutions(module)
