"""CPU matmul micro-kernels: bufferized linalg.matmul / linalg.batch_matmul (and generic
products with several batch dims, Note [products with several batch dims] in
lowering/cpu_batch_products.py) become register-tiled, cache-blocked loop nests of vector
FMAs (see Note [cpu matmul kernel]).

Note [cpu matmul kernel]
~~~~~~~~~~~~~~~~~~~~~~~~
For C[m, n] += A[m, k] * B[k, n] where B and C have unit stride along n:

    for k0 in 0..K step KC:
      for j in 0..N step NR (then VL, then 1):   column tiles, tails narrower
        P = B[k0:k0+KC, j:j+NR]                  packed (full-width tiles only)
        for i in 0..M step MR (then 1):          row tiles, tail one row at a time
          acc[r][v] = C[i+r, j+v*VL : +VL]       MR x NV vector accumulators
          for k in k0..min(k0+KC, K):            accumulators live in registers
            b[v] = P[k-k0, v*VL : +VL]
            acc[r][v] = fma(broadcast(A[i+r, k]), b[v], acc[r][v])
          C[i+r, j+v*VL : +VL] = acc[r][v]

Packing copies the KC x NR panel into a contiguous stack buffer once per (k0, j) and reuses
it for every row tile: the micro-kernel then streams 64 KB from L1/L2 instead of touching
KC rows of B, each on its own page when B is wide (TLB misses). Measured 1-thread on the
1024^3 and 64x2048x2048 matmuls: 0.67x -> 0.73x and 0.90x -> 1.04x of eager.
A may have any layout (its elements are loaded one at a time), so A^T costs nothing.
Threads share out column tiles when there are enough of them (each then packs only its own
panels), else row tiles (every thread packs the whole of B). MR x NV
is sized to the vector register file (24 of AVX-512's 32 zmm, 12 of AVX2's 16 ymm). Ops
whose B or C is not unit-stride along n, or whose element type is not a float, are left to
convert-linalg-to-loops.

Note [static tails]
~~~~~~~~~~~~~~~~~~~
Row tails (M % MR), column tails (one vector, then single lanes) and the k tail of a B^T
panel are micro-kernels of their own, and each costs LLVM time to compile (the six
variants of a kernel were 0.1-0.15 s). When a static size rules a tail out it is not
emitted: a thread's share of rows or column tiles is a multiple of the step it is
handed, so N % (NV * VL) == 0 leaves only wide column tiles, M % MR == 0 only full row
tiles and K % VL == 0 only full transposed blocks. LLVM cannot see this itself, because
the thread's range arrives as runtime arguments.

Note [narrow B^T products]
~~~~~~~~~~~~~~~~~~~~~~~~~~
A product with B^T and fewer columns than a vector (a classifier's x @ W^T with 10
classes) has no full column vector: the broadcast kernel ran all of them as its one-lane
column tail, scalar FMAs. The dot kernel (`emit_dot`) takes it instead, whatever its row
count, with lanes along k and one horizontal sum per output. Measured on the small CNN's
32x2048 @ (10x2048)^T: the CNN went from 0.955 to 0.825 ms per step (30 paired rounds of
bench/variants.py, NARROW_BT_DOT on and off; slower in 1 of 30).

Note [streaming stores]
~~~~~~~~~~~~~~~~~~~~~~~
A product whose C is bigger than a core's L2 and written exactly once (its accumulators
start from zeros or a bias, and K fits one KC block) gains nothing from C's lines being
read into the cache before they are overwritten, and those reads are half its memory
traffic: an MLP's weight gradient (2048x64x2048, 16 MB of C) spent about 10% of its time
on them. Its micro-kernels store C with non-temporal stores instead (vmovntps): measured
on the kernel alone (bench/matmul.py), 1887 -> 1726 us on 2048x64x2048 and 433 -> 413 us
on 2048x64x512, and the MLP's training step from 11.42 to 11.00 ms (each variant with its
own backend). They fault on an address not aligned to the vector, so they are used only
when C's row length is a multiple of the vector and a run-time check finds C's buffer
64-byte aligned (torch's allocations are); otherwise the same stores are ordinary ones.
Non-temporal stores are weakly ordered, so each thread fences (seq_cst: mfence) before it
returns. Smaller products keep ordinary stores: the next op reads their C from the cache.
A C that an epilogue's consumer reads but that is also kept for later (Note [matmul
epilogues]: a training step's fc1 output, saved for the GELU backward, beside GELU's D,
which fc2 reads next) is not read again soon whatever its size, so in one k block it is
streamed too (STREAM_KEPT_C); the consumer then reads the tile from a stack copy stored
with it instead of from C's lines, which the non-temporal stores leave out of the cache.
Measured on the GPT-2 block's fc1 (512x256x1024 with GELU, C kept): alone 1195 -> 1149 us
and 1200 -> 1151 us (2 threads, variants alternating); in the training step (per-kernel
OpenMP regions, one process alternating) 1241 -> 1172 us, the other kernels unchanged.

Note [shape-general kernels]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Each micro-kernel costs 50-100 ms of LLVM time, and products of one form differ mostly in
their sizes: an MLP's three layers are the same row-split kernel on three shapes. A product
that the threads share out by rows (split "m") and that reads B as it is (no B^T packing)
therefore calls a kernel that takes its operands with dynamic sizes and strides (Note
[shared kernels], lowering/cpu_parallel.py), keyed by its form and by the static facts the
tails depend on (static_facts: whole row tiles, only wide column tiles, whole k blocks,
streamed C), which the caller computes from its static types, so a general kernel carries
no more tails than a static one. Measured: the MLP's module went from 225 to 156 KB of
LLVM IR and from 1.49 to 1.07 G instructions of LLVM (callgrind, deterministic; one kernel
instead of three), with its latency unchanged (bench/variants.py: 5.181 vs 5.190 ms).
Products split by columns that read B as it is are general too (GENERAL_COLUMN_SPLITS),
unless an epilogue gives them a kernel of their own: an MLP's training step has five such
products of three shapes, and its backward's module went from five kernels to two, its
compile from 0.49-0.52 to 0.35-0.40 s (the first step 1.18-1.36 -> 1.03-1.21 s), with the
step unchanged (bench/variants.py --paired 60, against a second copy of each: 1.000 and
1.000 vs 0.995 and 0.984), and the GPT-2 block's training step as well (1.000, 1.000 vs
0.999, 0.996). The B^T kernels stay static, by measurement (bench/variants.py with
private code objects and rotating rounds): general B^T-packing row-split kernels (a GPT-2
block's proj and fc2) made the block's inference 1.5%, 1.8% and 2.1% slower, general
column-split ones (its qkv and fc1) 0.8% and 3.3% slower.

Note [packed A^T]
~~~~~~~~~~~~~~~~~
A weight gradient X^T dY reads A = X^T, stored k-major: the MR elements a micro-kernel
broadcasts at each k are contiguous, but each k is another row of X, M floats further on.
For fc1's 1024x512x256 that is 4 KB: every k of a row tile touches a new page and the same
L1 set, so the KC lines of a strip evict each other and the next row tile (which shares
most of those lines) fetches them again. Such an A's MR-row strips are now copied, once
per thread and k block, into one buffer laid out [strip][k][MR], from which the micro-
kernel broadcasts; the row tail (fewer than MR rows) still reads A. The copy reads A once
per k block, about 1/N of the FMAs' work. Measured with bench/variants.py (two pairs
each): the GPT-2 block's training step 19.73 -> 19.53 ms (19.63/19.44 vs 19.79/19.66), the
MLP's unchanged (15.27 vs 15.31 ms: its K = 64 keeps a strip's lines few); on the kernel
alone (bench/matmul.py, tn, noisy) 1024x512x256 went from 0.77-0.84x to 0.85-0.92x of MKL,
the other shapes within noise. A strip pays only when several column tiles read it: with
one (N <= NR, attention's P^T dO and dS^T Q, 16 x 128x128x64) the copy is a second pass
over A for a single use: that product alone took 140 and 168 us packed against 106 and 139
us reading A in place (2 threads, two phases; MKL 108 and 146 us), and in the GPT-2 block's
training step the two took 144 + 152 us against 177 + 165 us (per-kernel timing, one
process alternating). So A is read in place when N fits one column tile (A_T_MIN_TILES);
the decision is a static fact, since the batched kernels are shape-general. A product the
threads split by columns (fc2's weight gradient, 16 column tiles) reads A in place too:
there every thread copied every strip, and the copy made each thread's share one call
(Note [stolen tails]); reading A in place, its threads' finishing times went from 277 to
95 us apart and the kernel from 2078 to 2049 us (per kernel, in a slow phase of the
machine; on the kernel alone 0.99x).

Note [stolen rows read B in place]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
A product split by rows packs every panel of B in every call, so its threads used to run
their shares in one call each (Note [stolen tails], lowering/cpu_omp_launch.py): a stolen
chunk would pack all of B again for a tenth of the rows. Without stealing, these kernels
were the least balanced of a GPT-2 block's training step: its six row-split backward
products' threads finished 10-15% of the kernel apart in slow phases of the machine, the
stealing ones 4-7%. Where B's rows are contiguous along n (B as it is, and a weight
gradient's dY), the micro-kernel can load B where it is, so a call of fewer than
PACK_MIN_ROWS rows (a stolen chunk, or the tail chunks of a thread's own share) reads it
in place and only bigger calls pack; both feed the same micro-kernel through one
dynamically strided view (a run-time row stride: one more add per k step), so the kernel
has no second copy to compile. These kernels now steal. Their A^T strips (Note [packed
A^T]) are the call's rows only, so chunks copy no strip twice. B^T must be packed
(transposed) to be read at all: those products (the forward's proj and fc2) keep whole
shares.
Measured in the block's training step (per-kernel GOMP regions, four variants alternating
in one process, two runs in slow phases): the threads' finishing gaps summed over the step
2175 -> 1540 us and 2368 -> 1564 us, the kernels' total time 0.9-1.5% lower. On the kernels
alone, called back to back with the threads alike, the six were 2% slower (chunk calls,
the in-place tails); reading B in place for every call costs 3% against packing.
Products of a single column tile keep whole shares (STEAL_MIN_TILES): an MLP's swapped
layers (2048 or 512 rows of 64 columns, one shape-general kernel) made its inference
3.6-5% slower stealing (bench/variants.py --paired, two pairs), with 48 or 200 rows as the
threshold alike; unchanged since (1.000 and 1.004 vs 1.004 and 0.993).

Note [matmul kernel gap]
~~~~~~~~~~~~~~~~~~~~~~~~
Measured on a GPT-2 block's 12 Linear products with bench/matmul.py (2 threads), the
compiled code alone runs at 0.96x of eager's MKL sgemm overall: 0.86-0.95x on the weight
gradients (A^T), 0.92-1.05x elsewhere. A whole call is slower, 0.71-0.83x, because the
Python of a call through Dynamo, our runner and CpuFunction costs 25 us after a tiny
product but 50-150 us after one of these, most likely because the product's data has
flushed the interpreter's from the caches (eager's call path is C++). Dynamo's own share
is 40-80 us of that.

Whole-step A/B runs made with bench/variants.py before 2026-12-06 (the KC and streaming
results below and in Note [streaming stores]) carry an order bias: its variants shared one
Dynamo code object, and identical variants measured 1-6% apart, the first slowest; they
now get private code objects and rotating rounds (residual bias under 0.6%).

Kernel experiments must compare compiled code, not calls. Variants compiled with
torch.compile in one process do not each keep their own code: after torch._dynamo.reset()
an earlier function recompiles on its next call and finds the last variant's code in the
in-memory cache, and copies of one model share one Dynamo entry. Every variant then runs
the same code, which hid whatever earlier A/B runs varied (tiles, KC, B packing, A
packing, unrolling, prefetching, the split). Timed on the kernel alone
(CpuFunction.bound) instead:
- Register tiles 8x3 and 12x2 are 4-6% and 13-17% slower than 6x4 on the weight gradients.
- KC = 128 is 3-10% faster on the block's products (bench/matmul.py's kernel total went
  from 0.96x to 1.02x of MKL), KC = 64 up to 22% on 1024x512x256 (but 4%
  slower on 512x256x1024); 256 is 4% faster on 1024^3. Whole steps measured with the old
  biased A/B did not follow; paired ones later did, per form (Note [k blocks]).
- Packing A^T per k block: +3% on 1024x512x256, -2% and -6% on the other two A^T shapes.

Note [k blocks]
~~~~~~~~~~~~~~~
The k block sets how much of the packed operands one pass keeps close. B's packed panel is
KC x NR floats, 64 KB at KC = 256 and NR = 64: more than this core's 48 KB L1d, so every row
tile streamed it from L2. With A k-major (a weight gradient) the thread's packed A^T strips,
rows x KC, come on top (512 KB for 512 rows at 256). Smaller blocks cost a pass over C per
block, so they pay only while C stays in L2. Each form therefore has its own block:
- A k-major (tn) with C up to SMALL_C_BYTES: KC_TN = 64. The kernels alone (2 threads, on
  fixed buffers, rounds alternating with MKL; time / MKL's): the block's four weight
  gradients went from 1.005 / 0.928 / 1.029 / 0.949 at 256 to 0.809 / 0.798 / 0.883 / 0.822
  at 64; 96 was within 2% of 64, 128 and 32 about 6% slower.
- B as it is (nn) with C up to SMALL_C_BYTES: KC_NN = 128. The four input gradients went from
  1.019 / 0.958 / 1.024 / 1.042 to 0.923 / 0.914 / 0.928 / 0.979; 64 was 0-4% slower.
- A product with an epilogue (Note [matmul epilogues]) and K <= KC keeps one block: fc2's
  input gradient (K = 256, the GELU backward its epilogue) took 7% longer in two blocks
  (1890 vs 1771 us per step), its C stored and read back between them.
- B^T (bt) and big C: KC = 256. The forward products' kernels were within 2% at 64, 128 and
  256, and 128 for B^T products with a small C was within noise on the block's steps and the
  MLP's inference (paired, against a second copy of the same code: the MLP's runs carry a
  first-variant bias of about 4%); the 1024^3 matmul (4 MB of C) was 6% slower with 128.
Paired runs (bench/variants.py --paired, against KC 256 everywhere): the GPT-2 block's
training step 2.5% and 2.7% faster (70 and 56 of 100 and 80 rounds), layer_norm(softmax(x @
w)) 1.5% and 5%, the MLP's training step and the CNN within noise.
"""

from __future__ import annotations

import functools
import os

from torch_mlir import ir
from torch_mlir.dialects import arith, func, llvm, memref, scf, vector

from .cpu_loop_hints import explicit_loop
from .registry import ops_named
from .triangular_zeros import ATTRS as ZERO_ATTRS

# k blocks (Note [k blocks]): products with B^T or a C over SMALL_C_BYTES; with B as it
# is; with A k-major.
KC = int(os.environ.get("DYNAMLIR_MM_KC", 256))
KC_NN = 128
KC_TN = 64
SMALL_C_BYTES = 2 << 20
# Below these row counts a product with B^T runs the dot kernel (B^T read in place, lanes
# along k); from them on, the broadcast kernel packs B^T transposed (Note [cpu matmul kernel]).
DOT_MAX_ROWS = 16
DOT_MAX_ROWS_BATCHED = 128
NARROW_BT_DOT = True  # and for fewer columns than a vector (Note [narrow B^T products])
# C at least this big, written once, is stored with non-temporal stores (Note [streaming stores]).
STREAM_MIN_BYTES = 4 << 20
STREAM_KEPT_C = True  # a C kept for later beside an epilogue's D is streamed (Note [streaming stores])
# Row-split kernels take their operands with dynamic sizes and strides, so that products of
# one form share one kernel whatever their shapes (Note [shape-general kernels]).
SHAPE_GENERAL = True
GENERAL_COLUMN_SPLITS = True  # and column-split ones without B^T or an epilogue
# Apply a matmul's elementwise consumer in its kernel (Note [matmul epilogues]).
EPILOGUES = True
# Copy a k-major A's row strips into a contiguous buffer per k block (Note [packed A^T]).
PACK_A_T = True
A_T_MIN_TILES = 2  # column tiles of C that must read a strip for the copy to pay
A_T_COLUMN_SPLITS = False  # column splits read A in place (Note [packed A^T])
# Note [stolen rows read B in place]: row-split calls of fewer rows read B unpacked.
STOLEN_ROWS_IN_PLACE = True
PACK_MIN_ROWS = 48
STEAL_MIN_TILES = 2  # one column tile (an MLP's swapped layers) keeps whole shares


@functools.lru_cache(maxsize=None)
def host_vector_bits() -> int:
    """512 with AVX-512F, 256 with AVX2 (or DYNAMLIR_VECTOR_BITS); 128 otherwise."""
    if (env := os.environ.get("DYNAMLIR_VECTOR_BITS")) is not None:
        return int(env)
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        flags = []
    if "avx512f" in flags:
        return 512
    return 256 if "avx2" in flags else 128


def tile_shape(elem_bits: int) -> tuple[int, int, int]:
    """(MR, NV, VL): rows, vectors per row and lanes of the register tile."""
    bits = host_vector_bits()
    vl = max(bits // elem_bits, 1)
    if (env := os.environ.get("DYNAMLIR_MM_TILE")) is not None:
        mr, nv = (int(x) for x in env.split(",")[:2])
        return mr, nv, vl
    return (6, 4, vl) if bits >= 512 else (6, 2, vl)


def _c(v: int) -> ir.Value:
    return arith.constant(ir.IndexType.get(), v)


def _dims(amap: ir.AffineMap) -> list[int] | None:
    out = []
    for e in amap.results:
        if not isinstance(e, ir.AffineDimExpr):
            return None
        out.append(e.position)
    return out


def _inner_stride(t: ir.MemRefType) -> int | None:
    strides, _ = t.get_strides_and_offset()
    return strides[-1] if strides else None


def contraction_batch_dims(op) -> int | None:
    """How many batch loops a linalg.generic that is a product has (Note [products with
    several batch dims]), or None if it is not one: loops (batch..., m, n, k), the last
    the only reduction, two inputs and one init, and a body that adds the inputs' product
    to the init."""
    if op.operation.name != "linalg.generic":
        return None
    iters = [str(a) for a in ir.ArrayAttr(op.operation.attributes["iterator_types"])]
    if len(iters) < 3 or iters[-1] != "#linalg.iterator_type<reduction>" or any(
            it != "#linalg.iterator_type<parallel>" for it in iters[:-1]):
        return None
    if len(list(op.opview.inputs)) != 2 or len(list(op.opview.outputs)) != 1:
        return None
    body = op.operation.regions[0].blocks[0]
    a, b, acc = body.arguments
    ops = [o.operation for o in body.operations]
    if len(ops) != 3 or [o.name for o in ops] != ["arith.mulf", "arith.addf", "linalg.yield"]:
        return None
    mul, add, done = ops
    if ({mul.operands[0], mul.operands[1]} != {a, b} or {add.operands[0], add.operands[1]}
            != {acc, mul.results[0]} or done.operands[0] != add.results[0]):
        return None
    return len(iters) - 3


def contraction_maps(op, n_batch: int) -> list[ir.AffineMap]:
    """The A, B and C maps of a (batch_)matmul or product generic with `n_batch` batch
    loops: its indexing_maps, or the named op's default (batch..., m, k), (batch..., k, n),
    (batch..., m, n)."""
    if "indexing_maps" in op.operation.attributes:
        return [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.operation.attributes["indexing_maps"])]
    n_loops = 3 + n_batch
    d = [ir.AffineDimExpr.get(i) for i in range(n_loops)]
    bd = d[:n_batch]
    m_, n_, k_ = d[-3:]
    return [ir.AffineMap.get(n_loops, 0, e) for e in ([*bd, m_, k_], [*bd, k_, n_], [*bd, m_, n_])]


def plan(op) -> dict | None:
    """The operand roles of a matmul-like op on memrefs, or None if the kernel cannot run it;
    p["batch"] is its number of batch loops (the first ones)."""
    name = op.operation.name
    if name == "linalg.generic":
        n_batch = contraction_batch_dims(op)
        if n_batch is None:
            return None
    elif name in ("linalg.matmul", "linalg.batch_matmul"):
        n_batch = int(name == "linalg.batch_matmul")
    else:
        return None
    operands = list(op.operation.operands)
    if len(operands) != 3 or not all(isinstance(v.type, ir.MemRefType) for v in operands):
        return None
    a, b, c = operands
    elem = ir.MemRefType(c.type).element_type
    if not isinstance(elem, (ir.F32Type, ir.F64Type)):
        return None
    if any(ir.MemRefType(v.type).element_type != elem for v in operands):
        return None
    n_loops = 3 + n_batch
    dims = [_dims(m) for m in contraction_maps(op, n_batch)]
    if any(x is None for x in dims):
        return None
    m, n, k = n_loops - 3, n_loops - 2, n_loops - 1
    da, db, dc = dims
    if not ({m, k} <= set(da) and {k, n} <= set(db) and {m, n} <= set(dc)) or k in dc:
        return None
    if n in da or m in db:
        return None  # a generic's elementwise product and row sum, not a matrix product
    if not set(range(n_batch)) <= set(dc):
        return None  # batches summed into one C: a reduction, not batches of products
    p = {"a": a, "b": b, "c": c, "da": da, "db": db, "dc": dc, "batch": n_batch,
         "m": m, "n": n, "k": k, "elem": elem, "form": "nn", "bt": False, "init": None}
    unit = [_inner_stride(ir.MemRefType(v.type)) == 1 for v in (a, b, c)]
    if dc[-1] != n or not unit[2]:
        return None
    if db[-1] == n and unit[1]:
        return p
    if db[-1] != k or not unit[1]:
        return None
    # B^T (rows of B contiguous along k): the dot kernel, vectorized along k, for few rows
    # or for fewer columns than a vector (the broadcast kernel would run them lane by lane,
    # Note [narrow B^T products]); otherwise the broadcast kernel with B^T transposed while
    # it is packed.
    vl = tile_shape(ir.FloatType(elem).width)[2]
    k_size = ir.MemRefType(a.type).shape[da.index(k)]
    rows = ir.MemRefType(a.type).shape[da.index(m)]
    cols = ir.MemRefType(b.type).shape[db.index(n)]
    few = 0 <= rows < (DOT_MAX_ROWS_BATCHED if n_batch else DOT_MAX_ROWS)
    few = few or (NARROW_BT_DOT and 0 < cols < vl)
    if few and da[-1] == k and unit[0] and k_size > 0 and (
        k_size != ir.ShapedType.get_dynamic_size() and k_size % vl == 0
    ):
        return {**p, "form": "nt"}
    return {**p, "bt": True}


def _operand_dim(p: dict, loop: int) -> tuple[ir.Value, int]:
    """An operand that `loop` indexes, and which of its dims it indexes."""
    for key, dkey in (("c", "dc"), ("a", "da"), ("b", "db")):
        if loop in p[dkey]:
            return p[key], p[dkey].index(loop)
    raise AssertionError("every loop indexes some operand")


def _static_size(p: dict, loop: int) -> int | None:
    """The static size of `loop`, or None if it is dynamic."""
    v, pos = _operand_dim(p, loop)
    s = ir.MemRefType(v.type).shape[pos]
    return None if s == ir.ShapedType.get_dynamic_size() else s


def _size(p: dict, loop: int) -> ir.Value:
    if (s := _static_size(p, loop)) is not None:
        return _c(s)
    v, pos = _operand_dim(p, loop)
    return memref.dim(v, _c(pos))


def _split(hi: ir.Value, step: int) -> ir.Value:
    """hi rounded down to a multiple of step."""
    if step == 1:
        return hi
    return arith.subi(hi, arith.remui(hi, _c(step)))


def _for(lo, hi, step: int, body, iter_args=()):
    """An scf.for of a kernel: vectorized by us, or a remainder LLVM should leave alone
    (Note [explicit loops], lowering/cpu_loop_hints.py)."""
    loop = scf.ForOp(lo, hi, _c(step), list(iter_args))
    with ir.InsertionPoint(loop.body):
        out = body(loop.induction_variable, *loop.inner_iter_args)
        scf.YieldOp(list(out or []))
    explicit_loop(loop)
    return loop


def static_facts(p: dict) -> dict[str, bool]:
    """What the operands' static types tell the kernel (Note [static tails], Note [shape-
    general kernels]): whole row tiles (M % MR == 0), only wide column tiles (N % (NV * VL)
    == 0), whole VL blocks along k (K % VL == 0), C streamed (Note [streaming stores]) and
    A^T's strips packed (Note [packed A^T])."""
    mr, nv, vl = tile_shape(ir.FloatType(p["elem"]).width)
    m, n, k = (_static_size(p, d) for d in (p["m"], p["n"], p["k"]))
    return {
        "full_rows": m is not None and m % mr == 0,
        "wide_only": n is not None and n % (nv * vl) == 0,
        "k_blocks": k is not None and k % vl == 0,
        "stream": streams_c(p),
        "a_strips": a_k_major(p),
    }


def a_k_major(p: dict) -> bool:
    """A stored k-major (a weight gradient's X^T), in a kernel that is not split by columns
    and has more than one column tile of C to read it: its row strips are packed (Note
    [packed A^T])."""
    if not (PACK_A_T and p["da"][-1] == p["m"] and _inner_stride(ir.MemRefType(p["a"].type)) == 1):
        return False
    if not A_T_COLUMN_SPLITS and p.get("split") == "n":
        return False
    _, nv, vl = tile_shape(ir.FloatType(p["elem"]).width)
    n = _static_size(p, p["n"])
    return n is None or n >= A_T_MIN_TILES * nv * vl


def block_k(p: dict) -> int:
    """The k block of the product's kernel (Note [k blocks]): the caller's choice for a
    shape-general kernel (whose operands have dynamic sizes), else from C's static size."""
    if "kc" in p:
        return p["kc"]
    c = ir.MemRefType(p["c"].type)
    rows, cols = (c.shape[p["dc"].index(d)] for d in (p["m"], p["n"]))
    dynamic = ir.ShapedType.get_dynamic_size()
    if p["bt"] or dynamic in (rows, cols):
        return KC
    k_static = _static_size(p, p["k"])
    if p.get("epilogue") is not None and k_static is not None and k_static <= KC:
        return KC  # one block: the epilogue follows the only pass instead of a second one
    if rows * cols * ir.FloatType(p["elem"]).width // 8 > SMALL_C_BYTES:
        return KC
    return KC_TN if a_k_major(p) else KC_NN


def streams_c(p: dict) -> bool:
    """The static half of Note [streaming stores]: C is big, written once, in whole vectors."""
    if p["init"] is None or p["batch"]:
        return False
    k_static, (_, _, vl) = _static_size(p, p["k"]), tile_shape(ir.FloatType(p["elem"]).width)
    if k_static is None or k_static > block_k(p) or not _plain_rows(p["c"], vl):
        return False
    rows, cols = ir.MemRefType(p["c"].type).shape
    return rows * cols * ir.FloatType(p["elem"]).width // 8 >= STREAM_MIN_BYTES


def _plain_rows(c: ir.Value, vl: int) -> bool:
    """C is a static, row-major, contiguous matrix of whole vectors per row."""
    t = ir.MemRefType(c.type)
    if not t.has_static_shape or t.rank != 2:
        return False
    strides, offset = t.get_strides_and_offset()
    return offset == 0 and strides == [t.shape[1], 1] and t.shape[1] % vl == 0


def emit(p: dict, outer: tuple[ir.Value, ir.Value] | None = None) -> None:
    """The loop nest of Note [cpu matmul kernel] at the current insertion point; `outer`
    restricts the batch dim (batch_matmul) or the rows (matmul) to [lo, hi)."""
    if p["form"] == "nt":
        return emit_dot(p, outer)
    elem = p["elem"]
    mr, nv, vl = tile_shape(ir.FloatType(elem).width)
    facts = p.get("facts") or static_facts(p)  # the caller's, for a shape-general kernel
    sizes = {d: _size(p, d) for d in range(3 + p["batch"])}
    m, n, k = p["m"], p["n"], p["k"]
    M, N, K = sizes[m], sizes[n], sizes[k]
    split_cols = outer is not None and not p["batch"] and p.get("split") == "n"
    epilogue = p.get("epilogue")  # a BoundEpilogue (lowering/cpu_epilogue.py) or None
    k_static = _static_size(p, k)
    kc = block_k(p)
    last_block = k_static is not None and k_static <= kc  # every k block is the last one
    row_lo, row_hi = (_c(0), M) if outer is None or p["batch"] or split_cols else outer
    col_lo, col_hi = outer if split_cols else (_c(0), N)

    def index(dmap, env):
        return [env[d] for d in dmap]

    def initial(env, vt, rows_i, cols_j, k0) -> list[ir.Value]:
        """The accumulators' start: C as it is, or (Note [matmul accumulator init]) zeros or
        the bias row in the first k block."""

        def from_c():
            return [vector.load(vt, p["c"], index(p["dc"], {**env, m: ri, n: cj}))
                    for ri in rows_i for cj in cols_j]

        if p["init"] is None:
            return from_c()
        kind, bias = p["init"]
        first = arith.cmpi(arith.CmpIPredicate.eq, k0, _c(0))
        branch = scf.IfOp(first, [vt] * (len(rows_i) * len(cols_j)), has_else=True)
        with ir.InsertionPoint(branch.then_block):
            if kind == "zero":
                zero = arith.constant(vt, ir.DenseElementsAttr.get_splat(vt, ir.FloatAttr.get(elem, 0.0)))
                start = [zero] * len(cols_j)
            else:
                start = [vector.load(vt, bias, [cj]) for cj in cols_j]
            scf.YieldOp(start * len(rows_i))
        with ir.InsertionPoint(branch.else_block):
            scf.YieldOp(from_c())
        return list(branch.results)

    def apply_epilogue(env, rows: int, cols: int, width: int, source=None):
        """Note [matmul epilogues]: the consumer's values of the tile just stored, read back
        from L1 and written to D (in place when D is the kernel's C). A loop, not unrolled
        per accumulator: a GELU body is 25 vector ops, and 24 copies of it per micro-kernel
        cost more LLVM time than the reloads cost at run time."""
        vt = ir.VectorType.get([width], elem)
        target = epilogue.out if epilogue.out is not None else p["c"]

        def row(r):
            ri = arith.addi(env[m], r)

            def column(c):
                cj = arith.addi(env[n], c)
                x = (vector.load(vt, p["c"], index(p["dc"], {**env, m: ri, n: cj})) if source is None
                     else vector.load(vt, source, [r, c]))
                vector.store(epilogue.apply(x, ri, cj), target, [ri, cj])

            _for(_c(0), _c(cols), width, column)

        _for(_c(0), _c(rows), 1, row)
        if epilogue.colsum is not None:  # Note [column sums in the epilogue]
            def column_sum(c):
                cj = arith.addi(env[n], c)
                total = vector.load(vt, epilogue.colsum, [cj])
                for r in range(rows):
                    ri = env[m] if r == 0 else arith.addi(env[m], _c(r))
                    total = arith.addf(total, vector.load(vt, target, [ri, cj]))
                vector.store(total, epilogue.colsum, [cj])

            _for(_c(0), _c(cols), width, column_sum)

    def nonzero_k(i, rows: int, j, cols: int, k0, k1):
        """The part of [k0, k1) where the tile's rows of A and columns of B can both be
        nonzero, empty for a tile of C that no result reads (Note [triangular zeros],
        lowering/triangular_zeros.py)."""
        lo, hi = k0, k1
        for (side, kind), c in sorted(p.get("zeros", {}).items()):
            if side == "c":  # a tile no result reads: zeros, with no k loop
                if p["init"] is not None and p["init"][0] == "zero":
                    near, far = (j, arith.addi(i, _c(rows + c))) if kind == "above" else (i, arith.addi(j, _c(cols + c)))
                    unread = arith.cmpi(arith.CmpIPredicate.sge, near, far)
                    hi = arith.select(unread, lo, hi)
                continue
            first, size = (i, rows) if side == "a" else (j, cols)
            if (side, kind) in (("a", "above"), ("b", "below")):  # k <= last row/column + c
                hi = arith.minsi(hi, arith.addi(first, _c(size + c)))
            else:  # k >= first row/column - c
                lo = arith.maxsi(lo, arith.subi(first, _c(c)))
        return lo, hi

    def micro(env, rows: int, nvec: int, width: int, k0, k1, packed=None):
        """One row tile's k loop; `packed` is None (B read through its indexing map) or
        (buffer, its row of k0, its column of the tile's first column): the tile's packed
        panel, or B itself (Note [stolen rows read B in place])."""
        vt = ir.VectorType.get([width], elem)
        i, j = env[m], env[n]
        rows_i = [i if r == 0 else arith.addi(i, _c(r)) for r in range(rows)]
        cols_j = [j if v == 0 else arith.addi(j, _c(v * width)) for v in range(nvec)]
        accs = initial(env, vt, rows_i, cols_j, k0)

        strip = None
        if a_strips is not None and rows == mr:
            # Note [packed A^T]: this row tile's strip, (kk - k0) * MR + r within it.
            strip = arith.subi(arith.muli(arith.subi(i, row_lo), strip_k), arith.muli(k0, _c(mr)))

        def kbody(kk, *acc):
            e = {**env, k: kk}
            if packed is None:
                bs = [vector.load(vt, p["b"], index(p["db"], {**e, n: cols_j[v]}))
                      for v in range(nvec)]
            else:
                row = arith.addi(kk, shift)
                bs = [vector.load(vt, packed[0], [row, arith.addi(packed[2], _c(v * width))])
                      for v in range(nvec)]
            out = []
            at = None if strip is None else arith.addi(strip, arith.muli(kk, _c(mr)))
            for r in range(rows):
                if at is None:
                    a = memref.load(p["a"], index(p["da"], {**e, m: rows_i[r]}))
                else:
                    a = memref.load(a_strips, [at if r == 0 else arith.addi(at, _c(r))])
                ab = vector.broadcast(vt, a)
                out += [vector.fma(ab, bs[v], acc[r * nvec + v]) for v in range(nvec)]
            return out

        if epilogue is not None and last_block:
            epilogue.prefetch(rows_i, cols_j)  # read after this k loop (Note [epilogue prefetches])
        elif epilogue is not None:
            last = scf.IfOp(arith.cmpi(arith.CmpIPredicate.eq, k1, K), [], has_else=False)
            with ir.InsertionPoint(last.then_block):
                epilogue.prefetch(rows_i, cols_j)
                scf.YieldOp([])
        lo_k, hi_k = nonzero_k(i, rows, j, nvec * width, k0, k1)
        shift = None if packed is None else arith.subi(packed[1], k0)  # buffer row of kk, - kk
        loop = _for(lo_k, hi_k, 1, kbody, accs)

        def store(final: bool, **how):
            # A streamed C kept beside D: the epilogue reads the tile from the stack, not
            # from C's lines, which the non-temporal stores leave out of the cache.
            staged = final and bool(how) and tile is not None
            for r in range(rows):
                for v in range(nvec):
                    vector.store(loop.results[r * nvec + v], p["c"],
                                 index(p["dc"], {**env, m: rows_i[r], n: cols_j[v]}), **how)
                    if staged:
                        vector.store(loop.results[r * nvec + v], tile, [_c(r), _c(v * width)])
            if final:
                apply_epilogue(env, rows, nvec * width, width, tile if staged else None)

        def stores(**how):
            if epilogue is None or last_block:
                store(epilogue is not None, **how)
                return
            branch = scf.IfOp(arith.cmpi(arith.CmpIPredicate.eq, k1, K), [], has_else=True)
            for block, final in ((branch.then_block, True), (branch.else_block, False)):
                with ir.InsertionPoint(block):
                    store(final, **how)
                    scf.YieldOp([])

        if streaming is None or width == 1:
            stores()
            return
        branch = scf.IfOp(streaming, [], has_else=True)
        with ir.InsertionPoint(branch.then_block):
            stores(nontemporal=True, alignment=width * ir.FloatType(elem).width // 8)
            scf.YieldOp([])
        with ir.InsertionPoint(branch.else_block):
            stores()
            scf.YieldOp([])

    # The KC x NR panel of B the wide column tiles read, packed contiguously so that the
    # micro-kernel streams it from L1 instead of touching KC rows (and pages) of B.
    panel = memref.alloca(ir.MemRefType.get([kc, nv * vl], elem), [], [],
                          alignment=ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 64))

    def pack(env, k0, k1, nvec):
        vt = ir.VectorType.get([vl], elem)

        def row(kk):
            e = {**env, k: kk}
            r = arith.subi(kk, k0)
            j = env[n]
            for v in range(nvec):
                col = j if v == 0 else arith.addi(j, _c(v * vl))
                x = vector.load(vt, p["b"], index(p["db"], {**e, n: col}))
                vector.store(x, panel, [r, _c(v * vl)])

        _for(k0, k1, 1, row)

    def pack_transposed(env, k0, k1, nvec):
        """The panel from B^T: VL x VL blocks of B^T rows (contiguous along k) transposed in
        registers (lowering/cpu_transpose.py); the k tail element by element. The panel's
        `nvec` blocks side by side are a loop, not unrolled: one block's loads, butterfly
        and stores are 300 LLVM instructions that cost 40 ms each to compile."""
        from .cpu_transpose import transpose_rows

        vt = ir.VectorType.get([vl], elem)
        j = env[n]
        k_full = arith.addi(k0, _split(arith.subi(k1, k0), vl))

        def block(kk):
            r0 = arith.subi(kk, k0)

            def one(col0):
                at = arith.addi(j, col0)
                rows = [vector.load(vt, p["b"], index(p["db"], {**env, k: kk, n: arith.addi(at, _c(c))}))
                        for c in range(vl)]
                for r, vec in enumerate(transpose_rows(rows)):
                    vector.store(vec, panel, [r0 if r == 0 else arith.addi(r0, _c(r)), col0])

            _for(_c(0), _c(nvec * vl), vl, one)

        def tail(kk):
            r = arith.subi(kk, k0)

            def column(c):
                x = memref.load(p["b"], index(p["db"], {**env, k: kk, n: arith.addi(j, c)}))
                memref.store(x, panel, [r, c])

            _for(_c(0), _c(nvec * vl), 1, column)

        _for(k0, k_full, vl, block)
        if not facts["k_blocks"]:
            _for(k_full, k1, 1, tail)

    # Note [streaming stores]: the run-time half of the check (C's buffer aligned). With
    # an epilogue only a C kept for later beside D, in one k block: the epilogue then
    # reads the tile from a stack copy.
    streaming = tile = None
    kept_c = (STREAM_KEPT_C and epilogue is not None and epilogue.out is not None and last_block
              and _plain_rows(p["c"], vl))
    if (facts["stream"] and epilogue is None) or kept_c:
        base = memref.extract_aligned_pointer_as_index(p["c"])
        streaming = arith.cmpi(arith.CmpIPredicate.eq, arith.remui(base, _c(64)), _c(0))
    if kept_c:
        tile = memref.alloca(ir.MemRefType.get([mr, nv * vl], elem), [], [],
                             alignment=ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 64))

    full_rows = facts["full_rows"]
    m_main = row_hi if full_rows else arith.addi(row_lo, _split(arith.subi(row_hi, row_lo), mr))

    # Note [packed A^T]: when A is stored k-major (a weight gradient's X^T), each k block's
    # MR-row strips of A are copied once per thread into one contiguous buffer.
    a_strips = strip_k = None
    if facts["a_strips"]:
        strip_k = arith.minsi(K, _c(kc))  # each strip holds MR x min(K, kc) elements
        length = arith.muli(arith.subi(m_main, row_lo), strip_k)
        a_strips = memref.alloc(ir.MemRefType.get([ir.ShapedType.get_dynamic_size()], elem), [length], [],
                                alignment=ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 64))

    def pack_strips(env, k0, k1):
        vt = ir.VectorType.get([mr], elem)

        def row(kk):
            def tile(i):
                x = vector.load(vt, p["a"], index(p["da"], {**env, k: kk, m: i}))
                at = arith.addi(arith.muli(arith.subi(i, row_lo), strip_k), arith.muli(arith.subi(kk, k0), _c(mr)))
                vector.store(x, a_strips, [at])

            _for(row_lo, m_main, mr, tile)

        _for(k0, k1, 1, row)

    def rows_loops(env, nvec, width, k0, k1):
        packed = None
        if p["bt"] and width > 1:
            pack_transposed(env, k0, k1, nvec)
            packed = (panel, _c(0), _c(0))
        elif nvec == nv and in_place is not None:
            packed = packed_or_in_place(env, k0, k1)
        elif nvec == nv:
            pack(env, k0, k1, nvec)
            packed = (panel, _c(0), _c(0))
        for lo, hi, rows in ((row_lo, m_main, mr), (m_main, row_hi, 1))[: 1 if full_rows else 2]:
            _for(lo, hi, rows, lambda i, rows=rows:
                 micro({**env, m: i}, rows, nvec, width, k0, k1, packed))

    # Note [stolen rows read B in place]: a row-split call of few rows (a stolen chunk)
    # reads B where it is; one of many packs each panel. Both feed the same micro-kernel,
    # through one dynamically strided view.
    in_place = None
    if outer is not None and p.get("steal_rows"):
        dyn = ir.ShapedType.get_dynamic_stride_or_offset()
        view = ir.MemRefType.get([ir.ShapedType.get_dynamic_size()] * 2, elem,
                                 ir.StridedLayoutAttr.get(dyn, [dyn, 1]))
        few = arith.cmpi(arith.CmpIPredicate.slt, arith.subi(row_hi, row_lo), _c(PACK_MIN_ROWS))
        in_place = (few, view, memref.cast(view, panel),
                    p["b"] if p["b"].type == view else memref.cast(view, p["b"]))

    def packed_or_in_place(env, k0, k1):
        few, view, panel_view, b_view = in_place
        idx = ir.IndexType.get()
        branch = scf.IfOp(few, [view, idx, idx], has_else=True)
        with ir.InsertionPoint(branch.then_block):
            scf.YieldOp([b_view, k0, env[n]])
        with ir.InsertionPoint(branch.else_block):
            pack(env, k0, k1, nv)
            scf.YieldOp([panel_view, _c(0), _c(0)])
        return tuple(branch.results)

    # Tails a static size rules out are not emitted: LLVM cannot drop them when a thread's
    # range is a runtime argument, and each is a micro-kernel to compile (Note [static tails]).
    wide_only = facts["wide_only"]

    def k_block(env, k0):
        k1 = arith.minsi(arith.addi(k0, _c(kc)), K)
        if a_strips is not None:
            pack_strips(env, k0, k1)
        if wide_only:
            _for(col_lo, col_hi, nv * vl, lambda j: rows_loops({**env, n: j}, nv, vl, k0, k1))
            return
        n_wide = arith.addi(col_lo, _split(arith.subi(col_hi, col_lo), nv * vl))
        n_vec = arith.addi(n_wide, _split(arith.subi(col_hi, n_wide), vl))
        for lo, hi, step, nvec, width in (
            (col_lo, n_wide, nv * vl, nv, vl),
            (n_wide, n_vec, vl, 1, vl),
            (n_vec, col_hi, 1, 1, 1),
        ):
            _for(lo, hi, step, lambda j, nvec=nvec, width=width:
                 rows_loops({**env, n: j}, nvec, width, k0, k1))

    def all_k(env):
        _for(_c(0), K, kc, lambda k0: k_block(env, k0))

    if p["batch"]:
        over_batches(p, sizes, outer, all_k)
    else:
        all_k({})
    if a_strips is not None:
        memref.dealloc(a_strips)
    if streaming is not None:
        llvm.fence(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 7))  # seq_cst: mfence on x86


def reads_b_in_place(p: dict) -> bool:
    """Whether the row-split kernel of `p` reads B unpacked in calls of few rows, and so may
    have its rows stolen (Note [stolen rows read B in place]): B's rows are contiguous
    along n, as the micro-kernel loads them (B^T must be packed to be read at all), and
    indexed (k, n); and B has STEAL_MIN_TILES column tiles or more (from its static type:
    the caller decides, a shape-general kernel's own types are dynamic)."""
    _, nv, vl = tile_shape(ir.FloatType(p["elem"]).width)
    n = _static_size(p, p["n"])
    return (STOLEN_ROWS_IN_PLACE and not p["batch"] and p.get("split") == "m" and not p["bt"]
            and list(p["db"]) == [p["k"], p["n"]] and n is not None and n >= STEAL_MIN_TILES * nv * vl)


def batch_count(p: dict) -> ir.Value:
    """How many products a batched op runs: the product of its batch loops' sizes."""
    count = _size(p, 0)
    for d in range(1, p["batch"]):
        count = arith.muli(count, _size(p, d))
    return count


def over_batches(p: dict, sizes: dict, outer, body) -> None:
    """`body(env)` for each batch in [lo, hi) of the batch loops linearized, row-major
    (Note [products with several batch dims]), env mapping each batch loop to its index."""
    lo, hi = (_c(0), batch_count(p)) if outer is None else outer

    def one(linear):
        env, rest = {}, linear
        for d in reversed(range(1, p["batch"])):
            env[d] = arith.remui(rest, sizes[d])
            rest = arith.divui(rest, sizes[d])
        env[0] = rest
        body(env)

    _for(lo, hi, 1, one)


def emit_dot(p: dict, outer) -> None:
    """C[m, n] += sum_k A[m, k] B^T[n, k] with both rows contiguous along k: an MR x NC tile
    of vector accumulators along k, reduced across lanes once per tile (K % VL == 0)."""
    elem = p["elem"]
    _, _, vl = tile_shape(ir.FloatType(elem).width)
    mr, nc = (4, 4) if host_vector_bits() >= 512 else (3, 3)
    sizes = {d: _size(p, d) for d in range(3 + p["batch"])}
    m, n, k = p["m"], p["n"], p["k"]
    M, N, K = sizes[m], sizes[n], sizes[k]
    row_lo, row_hi = (_c(0), M) if outer is None or p["batch"] else outer
    vt = ir.VectorType.get([vl], elem)
    zero = arith.constant(vt, ir.DenseElementsAttr.get_splat(vt, ir.FloatAttr.get(elem, 0.0)))

    def index(dmap, env):
        return [env[d] for d in dmap]

    def tile(env, rows: int, cols: int):
        i, j = env[m], env[n]
        rows_i = [i if r == 0 else arith.addi(i, _c(r)) for r in range(rows)]
        cols_j = [j if c == 0 else arith.addi(j, _c(c)) for c in range(cols)]

        def kbody(kk, *acc):
            e = {**env, k: kk}
            a = [vector.load(vt, p["a"], index(p["da"], {**e, m: rows_i[r]})) for r in range(rows)]
            b = [vector.load(vt, p["b"], index(p["db"], {**e, n: cols_j[c]})) for c in range(cols)]
            return [vector.fma(a[r], b[c], acc[r * cols + c]) for r in range(rows) for c in range(cols)]

        loop = _for(_c(0), K, vl, kbody, [zero] * (rows * cols))
        for r in range(rows):
            for c in range(cols):
                at = index(p["dc"], {**env, m: rows_i[r], n: cols_j[c]})
                if p["init"] is None:
                    old = memref.load(p["c"], at)
                elif p["init"][0] == "zero":
                    old = arith.constant(elem, ir.FloatAttr.get(elem, 0.0))
                else:
                    old = memref.load(p["init"][1], [cols_j[c]])
                total = vector.reduction(elem, vector.CombiningKind.ADD, loop.results[r * cols + c], acc=old)
                memref.store(total, p["c"], at)

    def body(env):
        n_main = _split(N, nc)
        m_main = arith.addi(row_lo, _split(arith.subi(row_hi, row_lo), mr))
        for jlo, jhi, cols in ((_c(0), n_main, nc), (n_main, N, 1)):
            def jbody(j, cols=cols):
                for ilo, ihi, rows in ((row_lo, m_main, mr), (m_main, row_hi, 1)):
                    _for(ilo, ihi, rows, lambda i, rows=rows: tile({**env, m: i, n: j}, rows, cols))
            _for(jlo, jhi, cols, jbody)

    if p["batch"]:
        over_batches(p, sizes, outer, body)
    else:
        body({})


def is_zero_fill(op) -> bool:
    """`op` is a linalg.fill of the float constant 0.0 (on tensors or buffers)."""
    if op.name != "linalg.fill":
        return False
    cst = op.operands[0].owner
    if not isinstance(cst, ir.OpView) or cst.operation.name != "arith.constant":
        return False
    value = cst.attributes["value"]
    return isinstance(value, ir.FloatAttr) and ir.FloatAttr(value).value == 0.0


def _init_kind(op) -> tuple[str, ir.Value | None] | None:
    """("zero", None) for a linalg.fill of 0.0, ("bias", b) for a linalg.generic that
    broadcasts the 1-D unit-stride b along C's rows; None for anything else."""
    name = op.name
    if name == "linalg.fill":
        return ("zero", None) if is_zero_fill(op) else None
    if name != "linalg.generic" or len(op.operands) != 2:
        return None
    src, out = op.operands
    maps = [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    rank = ir.MemRefType(out.type).rank
    body = op.regions[0].blocks[0]
    ops = list(body.operations)
    if not (isinstance(src.type, ir.MemRefType) and ir.MemRefType(src.type).rank == 1
            and _inner_stride(ir.MemRefType(src.type)) == 1
            and _dims(maps[0]) == [rank - 1] and _dims(maps[1]) == list(range(rank))
            and len(ops) == 1 and ops[0].operands[0] == body.arguments[0]):
        return None
    return "bias", src


def _operands_within(op) -> list[ir.Value]:
    """The operands of `op` and of every op nested in its regions (a loop reads buffers
    from its body, not through its own operands)."""
    found = []

    def visit(inner):
        found.extend(inner.operands)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def find_init(op, c: ir.Value):
    """The op that last wrote C before `op` when it only sets C's start value (a zero fill
    or a bias broadcast, Note [matmul accumulator init]), with its kind; else None.

    Scans back through op's block; any other use of C's buffer (or a view of it) in between
    keeps C as it is."""
    from .cpu_fuse_loops import ALIASES, buffer_of

    root = buffer_of(c)
    block_ops = list(op.block.operations)
    at = next(i for i, o in enumerate(block_ops) if o.operation == op)
    for prev in reversed(block_ops[:at]):
        prev = prev.operation
        if prev.name in ALIASES:
            continue
        touches = [v for v in _operands_within(prev)
                   if isinstance(v.type, ir.MemRefType) and buffer_of(v) == root]
        if not touches:
            continue
        if prev.name in ("linalg.fill", "linalg.generic") and list(prev.operands)[-1] == c and (
            len(touches) == 1 and (kind := _init_kind(prev)) is not None
        ):
            return prev, kind
        return None
    return None


def _split_dim(p: dict) -> str:
    """Which dim of a (non-batched) matmul the threads share out: "n" (column tiles, each
    thread packing only its own panels of B) when there are enough wide column tiles,
    else "m" (row tiles; every thread packs all of B: with few rows per thread, packing
    costs as much as the FMAs, e.g. 64 rows x 2048^2)."""
    if p["batch"] or p["form"] != "nn":
        return "m"
    _, nv, vl = tile_shape(ir.FloatType(p["elem"]).width)
    rows = ir.MemRefType(p["a"].type).shape[p["da"].index(p["m"])]
    cols = ir.MemRefType(p["b"].type).shape[p["db"].index(p["n"])]
    dyn = ir.ShapedType.get_dynamic_size()
    tiles = cols // (nv * vl) if cols != dyn else 0
    few_rows = rows != dyn and rows < 32 * 8
    return "n" if tiles >= 8 or (few_rows and tiles >= 2) else "m"


def zero_marks(op) -> dict[tuple[str, str], int]:
    """Note [triangular zeros]'s marks on a contraction: (operand, side) -> offset."""
    attrs = op.operation.attributes
    return {key: ir.IntegerAttr(attrs[name]).value for key, name in ZERO_ATTRS.items() if name in attrs}


def _static_work(p: dict) -> int:
    work = 1
    for key in ("a", "b", "c"):
        for s in ir.MemRefType(p[key].type).shape:
            work *= 64 if s == ir.ShapedType.get_dynamic_size() else s
    return int(work ** 0.5)  # |A||B||C| = (MNK)^2 for matmul


def rewrite_matmuls(module: ir.Operation, parallel: bool = True) -> int:
    """Replace every kernel-eligible matmul in `module`; returns how many were replaced.

    With `parallel`, a big enough one becomes a call of a @dynamlir_par_<n>(lo, hi, step,
    a, b, c) function over its batches (or rows, or column tiles), which tg-cpu-omp-dispatch
    spreads over threads (see Note [cpu parallel loops] in lowering/cpu_parallel.py); calls
    that differ only in their shapes share that function (Note [shared kernels]).
    """
    from .cpu_epilogue import find_epilogue
    from .cpu_parallel import MIN_WORK, SharedKernels

    # Generics that are products, picked before any rewrite: an epilogue erases its generic.
    found = [op for op in ops_named(module, "linalg.matmul", "linalg.batch_matmul",
                                    "linalg.generic")
             if op.operation.name != "linalg.generic" or contraction_batch_dims(op) is not None]
    kernels = SharedKernels(module)
    count = 0
    for op in found:
        p = plan(op.opview)
        if p is None:
            continue
        # How the threads share an outlined product out; a product the calling thread runs
        # alone has no split.
        outlined = parallel and _static_work(p) >= MIN_WORK * 64
        p["split"] = _split_dim(p) if outlined else None
        p["zeros"] = zero_marks(op)
        k_size = ir.MemRefType(p["a"].type).shape[p["da"].index(p["k"])]
        found_init = find_init(op, p["c"]) if k_size > 0 else None  # K = 0 keeps C's writer
        if found_init is not None:
            writer, p["init"] = found_init
            writer.erase()
        # A shape-general kernel serves several products; an epilogue would give each its
        # own (Note [matmul epilogues]: an MLP's ReLUs gained nothing for a second kernel).
        general = SHAPE_GENERAL and p["form"] == "nn" and p["split"] == "m" and not p["bt"]
        epilogue = find_epilogue(op, p) if EPILOGUES and not (outlined and general) else None
        # Column splits too, when no epilogue gives them a kernel of their own.
        general = general or (GENERAL_COLUMN_SPLITS and SHAPE_GENERAL and epilogue is None
                              and p["form"] == "nn" and p["split"] == "n" and not p["bt"])
        if epilogue is not None and epilogue.colsum is not None:
            epilogue.zero_colsum_first()
        # With an epilogue the product runs where its consumer was (Note [matmul epilogues]).
        with op.location, ir.InsertionPoint(op if epilogue is None else epilogue.generic):
            extra = []
            if epilogue is not None:
                rows, cols = ir.MemRefType(p["c"].type).shape
                extra = epilogue.operands(rows, cols)
                if not epilogue.keep_c:
                    p["c"] = epilogue.target(rows, cols)
            if outlined:
                operands = [p["a"], p["b"], p["c"]]
                if p["init"] is not None and p["init"][1] is not None:
                    operands.append(p["init"][1])
                n_fixed = len(operands)
                operands += extra
                mr, nv, vl = tile_shape(ir.FloatType(p["elem"]).width)
                if p["batch"]:
                    outer, step = batch_count(p), 1
                elif p["split"] == "n":
                    outer, step = _size(p, p["n"]), nv * vl
                else:
                    outer = _size(p, p["m"])
                    step = mr if p["form"] == "nn" else (4 if host_vector_bits() >= 512 else 3)

                p["kc"] = block_k({**p, "epilogue": epilogue})
                p["facts"] = static_facts(p)
                p["steal_rows"] = reads_b_in_place(p)

                def build(lo, hi, *args, p=p, n_fixed=n_fixed, epilogue=epilogue):
                    a, b, c, *bias = args[:n_fixed]
                    inner = {**p, "a": a, "b": b, "c": c}
                    if bias:
                        inner["init"] = (p["init"][0], bias[0])
                    if epilogue is not None:
                        inner["epilogue"] = epilogue.bind(args[n_fixed:])
                    emit(inner, (lo, hi))

                key = ("matmul", p["form"], p["bt"], p["batch"], p["split"], p["kc"],
                       p["init"] and p["init"][0], tuple(p["da"]), tuple(p["db"]), tuple(p["dc"]),
                       tuple(sorted(p["facts"].items())) if general else None,
                       epilogue and epilogue.signature, tuple(sorted(p["zeros"].items())),
                       p["steal_rows"])
                # Calls that pack all of B (row splits) or A^T's strips (Note [packed A^T])
                # would pack them again for every stolen chunk (Note [stolen tails]); row
                # splits whose small calls read B in place do not (Note [stolen rows read B
                # in place]), and their A^T strips are the call's rows only.
                whole = not p["batch"] and (
                    (p["split"] == "m" and not p["steal_rows"])
                    or (p["split"] != "m" and a_k_major(p)))
                kernels.call(key, (_c(0), outer, _c(step)), operands, build, general=general,
                             whole_shares=whole)
            else:
                emit({**p, "epilogue": epilogue and epilogue.bind(extra)})
        op.erase()
        if epilogue is not None:
            if epilogue.colsum is not None:
                epilogue.drop_colsum_loop()
            epilogue.generic.erase()
        count += 1
    return count
