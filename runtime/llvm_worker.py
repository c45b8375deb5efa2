"""LLVM IR text -> optimized object code for the host CPU, in this process or in a helper.

Imported by runtime/llvm_jit.py, and run as `python llvm_worker.py --serve` in a helper
process that compiles parts of modules while the caller compiles the rest (Note [parallel
code generation], runtime/llvm_jit.py): it reads `IN.ll<TAB>OUT.o` lines on stdin and
answers each with a line `0` (OUT.o written) or `1` (LLVM's message in OUT.o.err), and
exits at the end of its input. It imports nothing but llvmlite: no torch, no dynamlir.
"""

from __future__ import annotations

import functools
import os
import sys

# Note [512-bit loops]
# ~~~~~~~~~~~~~~~~~~~~
# LLVM tunes its loop vectorizer for 256-bit vectors on every AVX-512 CPU it knows
# (prefer-256-bit: on the first such CPUs, 512-bit code lowered the clock). Our matmul,
# transpose and convolution kernels use 512-bit vectors explicitly anyway, and the loops
# LLVM vectorizes itself (elementwise chains, softmax and layer-norm row passes) are then
# the ones left at half width. On AVX-512 hosts the target therefore drops prefer-256-bit.
# Measured on a 2-vCPU Sapphire Rapids with bench/variants.py (one process, compiles in
# it, variants in rotating rounds): the 1M-element elementwise chain 0.949 -> 0.838 ms,
# layer_norm(softmax(x @ w)) 3.06 -> 3.00 ms, a GPT-2 block 5.31 -> 5.24 and 4.95 -> 4.92
# ms, its training step 20.38 -> 19.95 ms; alone, layer_norm(softmax(x)) on 256x1024 went
# from 1.17-1.24x eager's time to 0.76-0.89x.
# DYNAMLIR_VECTOR_BITS below 512 keeps 256-bit loops, as it keeps the kernels
# at that width (lowering/cpu_matmul.py host_vector_bits; both are in the cache key).
WIDE_LOOPS = True


@functools.lru_cache(maxsize=None)
def _llvm():
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


@functools.lru_cache(maxsize=None)
def _host_features() -> str:
    return _llvm().get_host_cpu_features().flatten()


def wide_loops() -> bool:
    """Whether loops LLVM vectorizes get 512-bit vectors (Note [512-bit loops])."""
    bits = os.environ.get("DYNAMLIR_VECTOR_BITS")
    return (WIDE_LOOPS and "+avx512f" in _host_features().split(",")
            and (bits is None or int(bits) >= 512))


@functools.lru_cache(maxsize=None)
def _target_machine(wide: bool):
    llvm = _llvm()
    # Both ways explicit: a CPU whose LLVM model does not prefer 256 bits keeps 256-bit loops
    # when asked to (DYNAMLIR_VECTOR_BITS=256) as well.
    features = _host_features() + (",-prefer-256-bit" if wide else ",+prefer-256-bit")
    return llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=features,
        opt=3,
        reloc="pic",
        codemodel="default",
    )


def compile_object(llvm_ir: str) -> bytes:
    """Parse, optimize (O3 without loop unrolling and interleaving, Note [cpu code
    generation] in runtime/llvm_jit.py) and emit an object file. Raises RuntimeError with
    LLVM's message when the text does not parse."""
    tm = _target_machine(wide_loops())
    return tm.emit_object(optimized(llvm_ir, tm))


def optimized(llvm_ir: str, tm):
    """The module of `llvm_ir` after compile_object's pipeline for target machine `tm`."""
    llvm = _llvm()
    mod = llvm.parse_assembly(llvm_ir)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.loop_unrolling = False
    options.loop_interleaving = False
    builder = llvm.create_pass_builder(tm, options)
    builder.getModulePassManager().run(mod, builder)
    return mod


def serve(requests, replies) -> None:
    """Answer `IN.ll<TAB>OUT.o` request lines until the input ends."""
    _target_machine(wide_loops())  # LLVM's start-up happens before the first request
    for line in requests:
        src, _, obj = line.rstrip("\n").partition("\t")
        try:
            with open(src) as f:
                code = compile_object(f.read())
            with open(obj, "wb") as f:
                f.write(code)
            status = "0"
        except (OSError, RuntimeError) as e:
            with open(obj + ".err", "w") as f:
                f.write(str(e))
            status = "1"
        replies.write(status + "\n")
        replies.flush()


def main(argv: list[str]) -> int:
    if argv != ["--serve"]:
        print("usage: llvm_worker.py --serve  (requests IN.ll<TAB>OUT.o on stdin)", file=sys.stderr)
        return 2
    serve(sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
