"""LLVM IR text -> optimized object code for the host CPU, in this process or as a script.

Imported by runtime/llvm_jit.py, and run as `python llvm_worker.py IN.ll OUT.o` in a
helper process that compiles part of a module while the caller compiles the rest
(Note [parallel code generation], runtime/llvm_jit.py). As a script it must start fast, so
it imports nothing but llvmlite: no torch, no dynamlir.
"""

from __future__ import annotations

import functools
import sys


@functools.lru_cache(maxsize=None)
def _llvm():
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


@functools.lru_cache(maxsize=None)
def _target_machine():
    llvm = _llvm()
    return llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=3,
        reloc="pic",
        codemodel="default",
    )


def compile_object(llvm_ir: str) -> bytes:
    """Parse, optimize (O3 without loop unrolling and interleaving, Note [cpu code
    generation] in runtime/llvm_jit.py) and emit an object file. Raises RuntimeError with
    LLVM's message when the text does not parse."""
    llvm = _llvm()
    mod = llvm.parse_assembly(llvm_ir)
    tm = _target_machine()
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    options = llvm.create_pipeline_tuning_options(speed_level=3)
    options.loop_unrolling = False
    options.loop_interleaving = False
    builder = llvm.create_pass_builder(tm, options)
    builder.getModulePassManager().run(mod, builder)
    return tm.emit_object(mod)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: llvm_worker.py IN.ll OUT.o", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        text = f.read()
    try:
        obj = compile_object(text)
    except RuntimeError as e:
        print(str(e), file=sys.stderr)
        return 1
    with open(argv[1], "wb") as f:
        f.write(obj)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
