"""The CPU pipeline: tg -> linalg -> bufferized loops -> LLVM dialect, ready for the JIT.

The entry function is rewritten to destination-passing style by runtime/cpu.py before
this runs (see Note [calling convention]).
"""

from __future__ import annotations

from .registry import register_pipeline

# Upstream passes after linalg on tensors; every step is an mlir-opt pass name.
CPU_LOWER_LINALG = ",".join(
    [
        "canonicalize",
        "cse",
        "func.func(linalg-fuse-elementwise-ops)",
        "one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}",
        "canonicalize",
        "func.func(buffer-hoisting,convert-linalg-to-loops)",
        "buffer-deallocation-pipeline",
        "convert-bufferization-to-memref",
        "expand-strided-metadata",
        "lower-affine",
        "convert-scf-to-cf",
        "convert-math-to-llvm",
        "convert-math-to-libm",
        "finalize-memref-to-llvm",
        "convert-arith-to-llvm",
        "convert-cf-to-llvm",
        "convert-func-to-llvm",
        "convert-index-to-llvm",
        "reconcile-unrealized-casts",
    ]
)

register_pipeline(
    "tg-cpu-linalg-to-llvm",
    CPU_LOWER_LINALG,
    "bufferize linalg on tensors and lower it to the LLVM dialect for the CPU JIT",
)
register_pipeline(
    "tg-cpu-pipeline",
    "tg-decompose{targets=cpu},canonicalize,cse,tg-lower-to-linalg,tg-cpu-linalg-to-llvm",
    "the whole CPU flow: tg -> decomposed tg -> linalg -> LLVM dialect",
)
