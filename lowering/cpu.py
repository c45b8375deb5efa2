"""The CPU pipeline: tg -> linalg -> bufferized loops -> LLVM dialect, ready for the JIT.

The entry function is rewritten to destination-passing style by runtime/cpu.py before
this runs (see Note [calling convention]).
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func, linalg
from torch_mlir.rewrite import RewritePatternSet, apply_patterns_and_fold_greedily

from .cpu_batch_products import fold_batch_transposes  # noqa: F401  (registers tg-cpu-fold-batch-transposes)
from .cpu_bias import fold_bias
from .cpu_fuse_loops import fuse_parallel_loops
from .cpu_loop_hints import loop_hints  # noqa: F401  (registers tg-cpu-loop-hints)
from .cpu_row_buffers import row_buffers  # noqa: F401  (registers tg-cpu-row-buffers)
from .cpu_recompute import recompute_elementwise  # noqa: F401  (registers tg-cpu-recompute-elementwise)
from .cpu_reductions import parallel_columns  # noqa: F401  (registers tg-cpu-parallel-columns)
from .cpu_slices import slices_in_place  # noqa: F401  (registers tg-cpu-slices-in-place)
from .cpu_transpose_chains import fold_transposes  # noqa: F401  (registers tg-cpu-fold-transposes)
from .cpu_memref_dims import resolve_memref_dims  # noqa: F401  (registers tg-cpu-resolve-memref-dims)
from .cpu_math import expand_math
from .cpu_matmul import rewrite_matmuls
from .cpu_parallel import dispatch_parallel_calls, outline_parallel_loops
from .cpu_transpose import rewrite_transposes
from .registry import ops_named, register_pass, register_pipeline
from .narrow_index_math import narrow_index_math  # noqa: F401  (registers tg-narrow-index-math)
from .triangular_zeros import mark_triangular_zeros  # noqa: F401  (registers tg-mark-triangular-zeros)


@register_pass("tg-cpu-matmul-kernels", parallel="outline big matmuls for tg-cpu-omp-dispatch")
def matmul_kernels(module, pass_, parallel: bool = True):
    """Replace bufferized linalg.matmul/batch_matmul by register-tiled vector FMA loop nests.

    Requires: bufferized IR.  Produces: scf loops of vector loads, FMAs and stores for every
    float matmul whose B and C are unit-stride along n (others are left as they are).
    """
    rewrite_matmuls(module, parallel)


@register_pass("tg-cpu-transpose-kernels")
def transpose_kernels(module, pass_):
    """Replace bufferized linalg.transpose ops that move the innermost dim by cache-blocked
    loop nests (Note [cpu transpose kernel], lowering/cpu_transpose.py).

    Requires: bufferized IR.  Produces: scf.parallel tiles of loads and stores.
    """
    rewrite_transposes(module)


@register_pass("tg-cpu-expand-math")
def cpu_expand_math(module, pass_):
    """Expand f32 math.exp/erf/tanh into arith polynomials (lowering/cpu_math.py).

    Requires: anything with math ops.  Produces: no f32 math.exp/erf/tanh; loops that used
    them no longer call libm and vectorize.
    """
    expand_math(module)


@register_pass("tg-cpu-fuse-parallel-loops")
def fuse_parallel(module, pass_):
    """Fuse consecutive scf.parallel nests over their common outer dims when each iteration
    only depends on itself (Note [row fusion], lowering/cpu_fuse_loops.py): softmax and
    layer_norm become one nest over rows.

    Requires: bufferized loops.  Produces: fewer, fused top-level scf.parallel nests.
    """
    fuse_parallel_loops(module)


@register_pass("tg-cpu-outline-parallel")
def outline_parallel(module, pass_):
    """Outline each big top-level scf.parallel into a @dynamlir_par_<n>(lo, hi, step, ...)
    function called over the full range (Note [cpu parallel loops], lowering/cpu_parallel.py).

    Requires: bufferized loops (after buffer deallocation).  Produces: func.call of the
    outlined functions.
    """
    outline_parallel_loops(module)


@register_pass("tg-cpu-omp-dispatch")
def omp_dispatch(module, pass_):
    """Run the @dynamlir_par_<n> calls on libgomp's threads via GOMP_parallel launchers.

    Requires: the LLVM dialect.  Produces: calls of GOMP_parallel, omp_get_thread_num and
    omp_get_num_threads (torch's libgomp provides them at JIT time).
    """
    dispatch_parallel_calls(module)


@register_pass("tg-copy-to-linalg")
def copy_to_linalg(module, pass_):
    """Rewrite memref.copy into linalg.generic copies so they lower to plain loops.

    The JIT has no libmlir_c_runner_utils, whose `memrefCopy` upstream calls for
    strided copies (e.g. a transposed input copied into an output buffer).
    Requires: bufferized IR.  Produces: no memref.copy.
    """

    def rewrite(op, rewriter):
        src, dst = op.operands[0], op.operands[1]
        rank = ir.MemRefType(src.type).rank
        identity = ir.AffineMapAttr.get(ir.AffineMap.get_identity(rank))
        with rewriter.ip, op.location:
            copy = linalg.GenericOp(
                [], [src], [dst], ir.ArrayAttr.get([identity, identity]),
                ir.ArrayAttr.get([ir.Attribute.parse("#linalg.iterator_type<parallel>")] * rank),
            )
            elem = ir.MemRefType(src.type).element_type
            block = copy.regions[0].blocks.append(elem, elem)
            with ir.InsertionPoint(block):
                linalg.YieldOp([block.arguments[0]])
        rewriter.erase_op(op)

    patterns = RewritePatternSet()
    patterns.add("memref.copy", rewrite)
    apply_patterns_and_fold_greedily(module, patterns.freeze())

@register_pass("tg-cpu-unshare-inits")
def unshare_inits(module, pass_):
    """Give every user of a tensor.empty (or of a linalg.fill of one) its own copy.

    CSE merges identical empty/filled init tensors of different ops; eliminate-empty-tensors
    would then build two results in one caller buffer (a wrong gradient, e.g. addmm's with
    square operands). Unshared, each chain ends in its own destination.
    Requires: linalg on tensors.  Produces: single-use tensor.empty and linalg.fill inits.
    """
    found = ops_named(module, "tensor.empty", "linalg.fill")
    for op in reversed(found):  # fills first: their clones then share the empty, unshared next
        uses = list(op.results[0].uses)
        for use in uses[1:]:
            clone = op.clone(ir.InsertionPoint(op))
            use.owner.operands[use.operand_number] = clone.results[0]


@register_pass("tg-cpu-fold-bias")
def cpu_fold_bias(module, pass_):
    """Start a zero-initialized matmul from the bias that is added to its result
    (Note [matmul accumulator init], lowering/cpu_bias.py).

    Requires: linalg on tensors.  Produces: linalg.matmul whose init is the broadcast bias;
    the add is gone.
    """
    fold_bias(module)


@register_pass("tg-cpu-outline-contractions")
def outline_contractions(module, pass_):
    """Move each linalg.matmul/batch_matmul on tensors into its own private function.

    linalg-fuse-elementwise-ops would otherwise fuse elementwise producers into the matmul
    (recomputing them once per output column) and turn it into a generic that the matmul
    kernel no longer recognizes; calls are opaque to it. `inline` puts them back.
    Requires: linalg on tensors.  Produces: func.call @dynamlir_contraction_<n>.
    """
    found = [
        op
        for op in ops_named(module, "linalg.matmul", "linalg.batch_matmul")
        if all(isinstance(v.type, ir.RankedTensorType) for v in op.operands)
    ]
    body = module.regions[0].blocks[0]
    for n, op in enumerate(found):
        types = [v.type for v in op.operands]
        name = f"dynamlir_contraction_{n}"
        with ir.InsertionPoint(body), op.location:
            fn = func.FuncOp(name, (types, [op.results[0].type]), visibility="private")
            block = fn.add_entry_block()
            with ir.InsertionPoint(block):
                clone = op.clone()
                for i, arg in enumerate(block.arguments):
                    clone.operands[i] = arg
                func.ReturnOp([clone.results[0]])
        with ir.InsertionPoint(op), op.location:
            call = func.CallOp([op.results[0].type], ir.FlatSymbolRefAttr.get(name), list(op.operands))
        op.results[0].replace_all_uses_with(call.result)
        op.erase()


# Upstream passes after linalg on tensors; every step is an mlir-opt pass name.
CPU_LOWER_LINALG = ",".join(
    [
        "canonicalize",
        "cse",
        "tg-cpu-conv-to-matmul",
        "tg-cpu-fold-bias",
        "tg-cpu-outline-contractions",
        "tg-cpu-recompute-elementwise",
        "func.func(linalg-fuse-elementwise-ops)",
        "tg-cpu-fold-transposes",
        "inline",
        "symbol-dce",
        "tg-cpu-fold-batch-transposes",
        "tg-cpu-expand-math",
        # outputs are computed in the caller's buffers (no temporary and copy per output)
        "tg-cpu-unshare-inits",
        "tg-cpu-slices-in-place",
        "eliminate-empty-tensors",
        "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
        "cse",  # the self-copies of Note [results into their slices] then fold
        "canonicalize",
        "tg-copy-to-linalg",
        "func.func(buffer-hoisting)",
        "buffer-deallocation-pipeline",
        "convert-bufferization-to-memref",
        "tg-cpu-matmul-kernels",
        "tg-cpu-transpose-kernels",
        "tg-cpu-conv-kernels",
        "func.func(convert-linalg-to-parallel-loops)",
        "tg-cpu-resolve-memref-dims",
        "tg-cpu-parallel-columns",
        "tg-cpu-fuse-parallel-loops",
        "tg-cpu-row-buffers",
        "tg-cpu-outline-parallel",
        "tg-cpu-hoist-row-buffers",
        "canonicalize",
        "expand-strided-metadata",
        "lower-affine",
        "convert-scf-to-cf",
        "convert-vector-to-llvm{vector-transpose-lowering=shuffle1d}",
        "convert-math-to-llvm",
        "convert-math-to-libm",
        "finalize-memref-to-llvm",
        "convert-arith-to-llvm",
        "convert-cf-to-llvm",
        "convert-func-to-llvm",
        "convert-index-to-llvm",
        "reconcile-unrealized-casts",
        "tg-cpu-loop-hints",
        "tg-cpu-omp-dispatch",
    ]
)

register_pipeline(
    "tg-cpu-linalg-to-llvm",
    CPU_LOWER_LINALG,
    "bufferize linalg on tensors and lower it to the LLVM dialect for the CPU JIT",
)
register_pipeline(
    "tg-cpu-pipeline",
    "tg-decompose{targets=cpu},tg-resolve-dims,tg-mark-triangular-zeros,tg-simplify,"
    "tg-narrow-index-math,canonicalize,cse,"
    "tg-lower-to-linalg,tg-cpu-linalg-to-llvm",
    "the whole CPU flow: tg -> decomposed tg -> linalg -> LLVM dialect",
)
