"""LLVM IR text -> optimized object code for the host CPU, in this process or in a helper.

Imported by runtime/llvm_jit.py, and run as `python llvm_worker.py --serve` in a helper
process that compiles parts of modules while the caller compiles the rest (Note [parallel
code generation], runtime/llvm_jit.py): it reads `IN.ll<TAB>OUT.o` lines on stdin and
answers each with a line `0` (OUT.o written) or `1` (LLVM's message in OUT.o.err), and
exits at the end of its input. It imports nothing but llvmlite: no torch, no dynamlir.
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


def serve(requests, replies) -> None:
    """Answer `IN.ll<TAB>OUT.o` request lines until the input ends."""
    _target_machine()  # LLVM's start-up happens before the first request, not during it
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
