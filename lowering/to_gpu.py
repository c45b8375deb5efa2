"""The GPU pipeline: linalg on tensors -> bufferized kernels in gpu.launch -> outlined
gpu.module lowered to NVVM (LLVM dialect), with a straight-line host function around the
gpu.launch_func calls that lowering/gpu_host.py turns into a host plan.
"""

from __future__ import annotations

from torch_mlir import ir

from . import cpu as _cpu  # noqa: F401  (registers tg-cpu-outline-contractions, used in PREPARE)
from .gpu_kernels import (
    Generic,
    KernelError,
    combiner_of,
    elementwise_kernel,
    reduction_tree_kernel,
    serial_reduction_kernel,
)
from .gpu_matmul import contraction_dims, contraction_kernel
from .registry import register_pass, register_pipeline, walk_ops

CHIPS = ("sm_70", "sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "sm_100", "sm_120")
CHIP_ATTR = "dynamlir.chip"

# Tensor-level cleanup and fusion, then one-shot bufferization with plain (identity-layout)
# function boundaries so the host plan sees ordinary buffers. Matmuls sit in private
# functions while elementwise ops fuse (lowering/cpu.py's tg-cpu-outline-contractions):
# fused into a matmul, an elementwise producer would turn it into a generic that the tiled
# contraction kernel does not match (one block per output element instead). `inline`
# puts them back, as plain `out += a * b` generics.
PREPARE = (
    "canonicalize,tg-cpu-outline-contractions,func.func(linalg-generalize-named-ops),"
    "func.func(linalg-fuse-elementwise-ops),inline,symbol-dce,canonicalize,cse,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map "
    "unknown-type-conversion=identity-layout-map},"
    "canonicalize,cse"
)
# After tg-gpu-map-linalg: outline, lower kernels to NVVM, leave host functions straight-line
# (views as memref.reinterpret_cast/extract_strided_metadata, sizes as arith on index).
LOWER = (
    "gpu-kernel-outlining,lower-affine,convert-scf-to-cf,"
    "gpu.module(expand-strided-metadata,lower-affine,convert-gpu-to-nvvm),"
    "reconcile-unrealized-casts,"
    "func.func(expand-strided-metadata),lower-affine,canonicalize,cse"
)


def map_generic(op: ir.OpView) -> str:
    """Replace one bufferized linalg.generic by a gpu.launch; returns the scheme used."""
    g = Generic(op)
    if all(g.parallel):
        elementwise_kernel(g)
        scheme = "elementwise"
    elif (mnk := contraction_dims(g)) is not None:
        contraction_kernel(g, *mnk)
        scheme = "contraction"
    elif (comb := combiner_of(g)) is not None:
        reduction_tree_kernel(g, comb)
        scheme = "tree-reduction"
    else:
        serial_reduction_kernel(g)
        scheme = "serial-reduction"
    op.operation.erase()
    return scheme


def host_functions(module: ir.Operation) -> list[ir.Operation]:
    ops = module.regions[0].blocks[0].operations
    return [op.operation for op in ops if op.operation.name == "func.func"]


@register_pass("tg-gpu-map-linalg")
def gpu_map_linalg(module, pass_):
    """Turn every linalg.generic on memrefs in host functions into a gpu.launch kernel.

    Requires: bufferized IR whose linalg ops are all linalg.generic (run
    linalg-generalize-named-ops first).  Produces: gpu.launch ops, no linalg.
    """
    failed = False
    for fn in host_functions(module):
        for op in walk_ops(fn):
            if not op.operation.name.startswith("linalg."):
                continue
            if op.operation.name in ("linalg.yield", "linalg.index"):
                continue
            if op.operation.name != "linalg.generic":
                op.location.emit_error(
                    f"tg-gpu-map-linalg: expected 'linalg.generic', got '{op.operation.name}'"
                    " (run linalg-generalize-named-ops first)"
                )
                failed = True
                continue
            try:
                with ir.InsertionPoint(op.operation), op.location:
                    map_generic(op)
            except KernelError as e:
                op.location.emit_error(f"tg-gpu-map-linalg: {e}")
                failed = True
    if failed:
        pass_.signal_pass_failure()


def lower_to_gpu(module: ir.Operation, chip: str = "sm_90") -> None:
    """Run the whole GPU lowering on `module` in place (raises PipelineError-style
    RuntimeError from the pass manager on failure)."""
    from .pipeline import build_pass_manager

    pm = build_pass_manager(f"builtin.module({PREPARE},tg-gpu-map-linalg,{LOWER})", module.context)
    pm.run(module)
    for op in module.regions[0].blocks[0].operations:
        if op.operation.name == "gpu.module":
            op.attributes[CHIP_ATTR] = ir.StringAttr.get(chip)


@register_pass("tg-gpu-pipeline", chip="target GPU architecture, e.g. sm_90")
def gpu_pipeline(module, pass_, chip: str = "sm_90"):
    """Lower linalg-on-tensors functions to NVVM kernels plus straight-line host functions.

    Requires: func.func ops on tensors with linalg, tensor, arith and math ops.
    Produces: gpu.module ops in the LLVM/NVVM dialects tagged with 'dynamlir.chip', and
    host func.func ops holding only memref alloc/view/copy, index arith and gpu.launch_func.
    """
    if chip not in CHIPS:
        module.location.emit_error(
            f"tg-gpu-pipeline: unknown chip '{chip}' (allowed: {', '.join(CHIPS)})"
        )
        pass_.signal_pass_failure()
        return
    try:
        lower_to_gpu(module, chip)
    except ir.MLIRError as e:
        # the nested run captures its diagnostics into `e` (unless a handler of the caller,
        # such as dynamlir-opt's, took them first): re-emit them, or they are lost
        errors = [d for d in e.error_diagnostics if d.severity == ir.DiagnosticSeverity.ERROR]
        for d in errors or e.error_diagnostics:
            d.location.emit_error(f"tg-gpu-pipeline: lowering failed: {d.message}")
        if not e.error_diagnostics:
            module.location.emit_error(
                "tg-gpu-pipeline: lowering failed (the nested pass's errors are reported above)"
            )
        pass_.signal_pass_failure()
    except Exception as e:  # noqa: BLE001 - a Python error outside a nested pass
        module.location.emit_error(
            f"tg-gpu-pipeline: lowering failed: {type(e).__name__}: {str(e).splitlines()[0]}"
        )
        pass_.signal_pass_failure()


register_pipeline(
    "tg-gpu",
    "tg-decompose{targets=gpu},canonicalize,cse,tg-lower-to-linalg,tg-gpu-pipeline",
    "the whole GPU flow: tg -> decomposed tg -> linalg -> NVVM kernels + host functions (sm_90)",
)
