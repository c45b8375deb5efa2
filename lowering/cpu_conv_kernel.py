"""CPU direct convolution kernel: a bufferized linalg.conv_2d_nchw_fchw becomes a register-
tiled loop nest of vector FMAs that reads the input in place (no im2col copy).

Note [cpu direct conv]
~~~~~~~~~~~~~~~~~~~~~~
With unit stride along the width, out[n, f, oh, ow:ow+VL] is a vector FMA chain over
(c, kh, kw) of broadcast(W[f, c, kh, kw]) * X[n, c, oh*sh + kh*dh, ow + kw*dw : +VL]: the
matmul kernel of lowering/cpu_matmul.py (m = filters, n = output pixels, k = (c, kh, kw))
with B read straight out of the padded input. One register tile is MR filters x TH output
rows x NV vectors along the width (MR x TH x NV accumulators, sized to the register file);
the c loop carries the accumulators and the KH x KW taps are unrolled when small. Row,
column and filter tails are smaller tiles of the same kind (a 1-wide column tile last). The
images form an scf.parallel, which tg-cpu-outline-parallel spreads over threads. The tile
height MR is the one of least modeled cost (loads or FMAs, whichever bound) within the
register budget; among equal costs, one that divides the filters leaves no tail tile: the
small CNN's 16- and 32-filter convs modeled MR 4 and 6 alike, and MR 6 ran 6,6,4 and
6x5,2 tiles. Measured on a Zen 4 EPYC (AVX-512): per kernel 215 -> 171 us and 382 -> 348
us with MR 4, the CNN 6% faster (40 paired rounds of bench/variants.py). Convs
whose output rows are narrower than 4, or strided along the width, are left to
tg-cpu-conv-to-matmul's im2col form (lowering/cpu_conv.py) or to the loops.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import arith, memref, scf, vector

from ..dialects.types import DYN
from .cpu_loop_hints import explicit_loop
from .cpu_matmul import host_vector_bits, tile_shape
from .registry import ops_named, register_pass


def _ints(op, name: str) -> list[int]:
    return (
        [int(v) for v in ir.DenseIntElementsAttr(op.attributes[name])]
        if name in op.attributes
        else [1, 1]
    )


ACC_BUDGET = {512: 24, 256: 12}  # vector accumulators that leave room for operands
# Set to False to break ties of the tile cost by size alone (bench/variants.py A/B runs).
EVEN_FILTER_TILES = True


def _ci(v: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), v)


def _add(v: ir.Value, k: int) -> ir.Value:
    return v if k == 0 else arith.addi(v, _ci(k))


def _loop(lo: int | ir.Value, hi: int | ir.Value, step: int, body, iter_args=()):
    lo = _ci(lo) if isinstance(lo, int) else lo
    hi = _ci(hi) if isinstance(hi, int) else hi
    loop = scf.ForOp(lo, hi, _ci(step), list(iter_args))
    with ir.InsertionPoint(loop.body):
        out = body(loop.induction_variable, *loop.inner_iter_args)
        scf.YieldOp(list(out or []))
    explicit_loop(loop)  # Note [explicit loops], lowering/cpu_loop_hints.py
    return loop


def filter_tile(f: int, vectors: int, cap: int) -> int:
    """MR, the filters of a register tile of `vectors` output vectors per filter, at most
    `cap`: the least modeled cost (load- or FMA-bound cycles of a column block, all
    filters), then no filter tail (Note [cpu direct conv]), then the largest."""

    def cost(mr):
        tile = lambda r: max(r + vectors, r * vectors)
        return (f // mr) * tile(mr) + (tile(f % mr) if f % mr else 0)

    return min(range(1, cap + 1), key=lambda r: (cost(r), EVEN_FILTER_TILES and f % r != 0, -r))


def kernel_plan(op) -> dict | None:
    """The operands and tile of a bufferized linalg.conv_2d_nchw_fchw that the direct kernel
    runs (Note [cpu direct conv]), or None: float, unit stride along the output width,
    static channels, kernel and output image, unit-stride rows, at least 4 output columns."""
    if op.name != "linalg.conv_2d_nchw_fchw":
        return None
    x, w, out = list(op.operands)
    if not all(isinstance(v.type, ir.MemRefType) for v in (x, w, out)):
        return None
    types = [ir.MemRefType(v.type) for v in (x, w, out)]
    elem = types[2].element_type
    if not isinstance(elem, (ir.F32Type, ir.F64Type)) or any(t.element_type != elem for t in types):
        return None
    f, c, kh, kw = types[1].shape
    _, _, oh, ow = types[2].shape
    if DYN in (f, c, kh, kw, oh, ow):
        return None
    stride, dilation = _ints(op, "strides"), _ints(op, "dilations")
    if stride[1] != 1 or any(t.get_strides_and_offset()[0][-1] != 1 for t in (types[0], types[2])):
        return None
    bits = host_vector_bits()
    vl = tile_shape(ir.FloatType(elem).width)[2]
    width = 1 << (min(vl, ow).bit_length() - 1)  # widest power-of-two vector within a row
    if width < 4:
        return None
    target = 4 if bits >= 512 else 2  # output vectors per weight broadcast
    nvw = max(1, min(ow // width, target))
    th = max(1, min(oh, target // nvw))
    cap = max(1, min(f, ACC_BUDGET.get(bits, 8) // (th * nvw)))
    mr = filter_tile(f, th * nvw, cap)
    return {
        "x": x,
        "w": w,
        "out": out,
        "elem": elem,
        "sizes": (f, c, kh, kw, oh, ow),
        "stride": stride,
        "dilation": dilation,
        "width": width,
        "nvw": nvw,
        "th": th,
        "mr": mr,
    }


def emit_conv(p: dict, n: ir.Value) -> None:
    """The output of image `n` at the current insertion point (Note [cpu direct conv])."""
    f, c, kh, kw, oh, ow = p["sizes"]
    (sh, _), (dh, dw) = p["stride"], p["dilation"]
    x, w, out, elem = p["x"], p["w"], p["out"], p["elem"]
    unroll = kh * kw <= 25

    def micro(f0, oh0, ow0, rows: int, th: int, nvw: int, width: int):
        vt = ir.VectorType.get([width], elem)
        frow = [_add(f0, r) for r in range(rows)]
        orow = [_add(oh0, t) for t in range(th)]
        ocol = [_add(ow0, v * width) for v in range(nvw)]
        spots = [(r, t, v) for r in range(rows) for t in range(th) for v in range(nvw)]
        accs = [vector.load(vt, out, [n, frow[r], orow[t], ocol[v]]) for r, t, v in spots]
        irow = [orow[t] if sh == 1 else arith.muli(orow[t], _ci(sh)) for t in range(th)]

        def tap(ci, ki, kj, acc):
            ki_off = ki * dh if isinstance(ki, int) else arith.muli(ki, _ci(dh))
            kj_off = kj * dw if isinstance(kj, int) else arith.muli(kj, _ci(dw))
            rows_at = [
                _add(r0, ki_off) if isinstance(ki_off, int) else arith.addi(r0, ki_off)
                for r0 in irow
            ]
            cols_at = [
                _add(c0, kj_off) if isinstance(kj_off, int) else arith.addi(c0, kj_off)
                for c0 in ocol
            ]
            b = {
                (t, v): vector.load(vt, x, [n, ci, rows_at[t], cols_at[v]])
                for t in range(th)
                for v in range(nvw)
            }
            ki_i = _ci(ki) if isinstance(ki, int) else ki
            kj_i = _ci(kj) if isinstance(kj, int) else kj
            a = [
                vector.broadcast(vt, memref.load(w, [frow[r], ci, ki_i, kj_i])) for r in range(rows)
            ]
            return [vector.fma(a[r], b[(t, v)], acc[i]) for i, (r, t, v) in enumerate(spots)]

        def channel(ci, *acc):
            acc = list(acc)
            if unroll:
                for ki in range(kh):
                    for kj in range(kw):
                        acc = tap(ci, ki, kj, acc)
                return acc
            return _loop(
                0,
                kh,
                1,
                lambda ki, *a1: (
                    _loop(0, kw, 1, lambda kj, *a2: tap(ci, ki, kj, list(a2)), a1).results
                ),
                acc,
            ).results

        loop = _loop(0, c, 1, channel, accs)
        for i, (r, t, v) in enumerate(spots):
            vector.store(loop.results[i], out, [n, frow[r], orow[t], ocol[v]])

    def filters(oh0, ow0, th, nvw, width):
        mr = p["mr"]
        main = f - f % mr
        if main:
            _loop(0, main, mr, lambda f0: micro(f0, oh0, ow0, mr, th, nvw, width))
        if f % mr:
            micro(_ci(main), oh0, ow0, f % mr, th, nvw, width)

    def columns(oh0, th):
        width, nvw = p["width"], p["nvw"]
        wide = ow - ow % (nvw * width)
        vec = ow - ow % width
        for lo, hi, step, nv, wd in (
            (0, wide, nvw * width, nvw, width),
            (wide, vec, width, 1, width),
            (vec, ow, 1, 1, 1),
        ):
            if hi > lo:
                _loop(lo, hi, step, lambda ow0, nv=nv, wd=wd: filters(oh0, ow0, th, nv, wd))

    th = p["th"]
    main = oh - oh % th
    if main:
        _loop(0, main, th, lambda oh0: columns(oh0, th))
    if oh % th:
        columns(_ci(main), oh % th)


def rewrite_conv_kernels(module: ir.Operation) -> int:
    """Replace every kernel-eligible bufferized conv by an scf.parallel over images of the
    direct kernel (tg-cpu-outline-parallel spreads it over threads); returns how many."""
    found = ops_named(module, "linalg.conv_2d_nchw_fchw")
    count = 0
    for op in found:
        p = kernel_plan(op.opview)
        if p is None:
            continue
        with ir.InsertionPoint(op), op.location:
            images = memref.dim(p["out"], _ci(0))
            par = scf.ParallelOp([], [_ci(0)], [images], [_ci(1)], [])
            block = par.region.blocks.append(ir.IndexType.get())
            with ir.InsertionPoint(block):
                emit_conv(p, block.arguments[0])
                scf.ReduceOp([], 0)
        op.erase()
        count += 1
    return count


@register_pass("tg-cpu-conv-kernels")
def conv_kernels(module, pass_):
    """Replace bufferized linalg.conv_2d_nchw_fchw by the direct vector-FMA conv kernel
    (Note [cpu direct conv] in lowering/cpu_conv.py).

    Requires: bufferized IR.  Produces: an scf.parallel over images of scf loops of vector
    loads, FMAs and stores; convs it cannot run are left to convert-linalg-to-loops.
    """
    rewrite_conv_kernels(module)
