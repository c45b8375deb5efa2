"""CPU execution: JIT-compile a tg module with MLIR's ExecutionEngine and call it on
torch tensors without copying them.

Note [calling convention]
~~~~~~~~~~~~~~~~~~~~~~~~~
The tg entry `@main(tensors...) -> tensors...` is wrapped in `@dynamlir_entry(inputs...,
outputs...)` taking memrefs: inputs alias the callers' tensors (a contiguous input gets an
identity layout, any other a fully dynamic strided layout, so transposed or expanded
inputs need no copy), outputs are preallocated by the caller with torch.empty and
written in place (destination-passing style). The wrapper is the only function with
`llvm.emit_c_interface`; `@main` is inlined into it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import threading
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch_mlir import ir
from torch_mlir.execution_engine import ExecutionEngine

from ..dialects import make_context
from ..dialects.types import DYN, shape_of
from ..lowering.pipeline import build_pass_manager
from . import cache
from .memref import MLIR_TO_TORCH, descriptor, mlir_element

ENTRY = "dynamlir_entry"
DEFAULT_PIPELINE = "tg-cpu-pipeline"
# The inner function is inlined before bufferization so that inputs keep their layouts.
_PRE = "inline,symbol-dce"


@functools.lru_cache(maxsize=None)
def openmp_libs() -> tuple[str, ...]:
    """The libgomp torch runs its own threads on: GOMP_parallel launches our parallel loops
    on the same team (Note [cpu parallel loops] in lowering/cpu_parallel.py)."""
    lib_dir = os.path.join(os.path.dirname(torch.__file__), "lib")
    candidates = [os.path.join(lib_dir, n) for n in sorted(os.listdir(lib_dir)) if n.startswith("libgomp")]
    if not candidates and (found := ctypes.util.find_library("gomp")):
        candidates = [found]
    return tuple(candidates[:1])


class CompileError(RuntimeError):
    """A pipeline failed; the message carries the diagnostics and a repro command."""


@dataclass(frozen=True)
class OutputSpec:
    """An output's dtype and shape; `shape_fn(inputs)` gives the sizes when any is dynamic."""

    dtype: torch.dtype
    shape: tuple[int, ...]
    shape_fn: Callable[[Sequence[torch.Tensor]], Sequence[int]] | None = None

    def sizes(self, inputs: Sequence[torch.Tensor]) -> Sequence[int]:
        if DYN not in self.shape:
            return self.shape
        if self.shape_fn is None:
            raise RuntimeError(f"runtime: output shape {self.shape} is dynamic and has no shape function")
        return self.shape_fn(inputs)


def layout_key(t: torch.Tensor) -> bool:
    """True when `t` is laid out row-major contiguous (identity memref layout)."""
    return t.is_contiguous()


def memref_type(tensor_type: ir.RankedTensorType, contiguous: bool) -> str:
    text = str(tensor_type).replace("tensor<", "memref<", 1)
    if contiguous or tensor_type.rank == 0:
        return text
    strides = ", ".join("?" * tensor_type.rank)
    return text[:-1] + f", strided<[{strides}], offset: ?>>"


def wrap_entry(module_text: str, entry: str, contiguous: Sequence[bool]) -> tuple[str, list, list]:
    """Return the module text with the DPS wrapper added, and the tg input/result types."""
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        func = next(
            (op for op in module.body.operations if op.operation.name == "func.func" and op.sym_name.value == entry),
            None,
        )
        if func is None:
            raise CompileError(f"runtime: no function '@{entry}' in the module")
        fn_type = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        ins, outs = list(fn_type.inputs), list(fn_type.results)
        func.attributes["sym_visibility"] = ir.StringAttr.get("private")
        body = str(module).rstrip()
    assert body.endswith("}"), "module text must end with its closing brace"
    args = [f"%a{i}: {memref_type(t, c)}" for i, (t, c) in enumerate(zip(ins, contiguous))]
    args += [f"%o{i}: {memref_type(t, True)}" for i, t in enumerate(outs)]
    lines = [f"  func.func @{ENTRY}({', '.join(args)}) attributes {{llvm.emit_c_interface}} {{"]
    for i, (t, c) in enumerate(zip(ins, contiguous)):
        lines.append(f"    %t{i} = bufferization.to_tensor %a{i} restrict : {memref_type(t, c)} to {t}")
    results = ", ".join(f"%r#{i}" for i in range(len(outs))) if len(outs) > 1 else "%r"
    call = f"func.call @{entry}({', '.join(f'%t{i}' for i in range(len(ins)))}) : ({', '.join(map(str, ins))}) -> ({', '.join(map(str, outs))})"
    lines.append(f"    {'%r' + (':' + str(len(outs)) if len(outs) > 1 else '') + ' = ' if outs else ''}{call}")
    for i, t in enumerate(outs):
        r = f"%r#{i}" if len(outs) > 1 else "%r"
        lines.append(
            f"    bufferization.materialize_in_destination {r} in restrict writable %o{i} : ({t}, {memref_type(t, True)}) -> ()"
        )
    lines += ["    return", "  }"]
    del results
    return body[:-1] + "\n".join(lines) + "\n}\n", ins, outs


def run_pipeline(module: ir.Module, pipeline: str, what: str = "") -> None:
    """Run `pipeline` on `module`, turning failures into a CompileError with a repro."""
    text = str(module)
    try:
        build_pass_manager(pipeline).run(module.operation)
    except Exception as e:  # noqa: BLE001 - MLIRError or a PipelineError
        raise CompileError(repro_message(what, pipeline, text, e)) from None


def repro_message(what: str, pipeline: str, text: str, error: Exception) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".mlir", prefix="dynamlir-repro-", delete=False) as f:
        f.write(text)
    return (
        f"{what or 'compile'} failed: {error}\n"
        f"reproduce with: dynamlir-opt --pass-pipeline='builtin.module({pipeline})' {f.name}"
    )


class CpuFunction:
    """A tg function compiled for the CPU, specialised on its inputs' contiguity."""

    def __init__(self, module_text: str, outputs: Sequence[OutputSpec], entry: str = "main",
                 pipeline: str = DEFAULT_PIPELINE):
        self.module_text = module_text
        self.outputs = list(outputs)
        self.entry = entry
        self.pipeline = pipeline
        self._variants: dict[tuple[bool, ...], tuple] = {}
        self._lock = threading.Lock()

    def variant(self, key: tuple[bool, ...]):
        if (hit := self._variants.get(key)) is not None:
            return hit
        with self._lock:
            if key not in self._variants:
                self._variants[key] = self._compile(key)
        return self._variants[key]

    def _compile(self, contiguous: tuple[bool, ...]):
        """Compile (or fetch from Note [cpu compile cache], runtime/cache.py) one variant."""
        text, ins, _ = wrap_entry(self.module_text, self.entry, contiguous)
        shapes = [shape_of(t) for t in ins]
        key = cache.key_of(text, self.pipeline)
        if (hit := cache.memory_get(key)) is not None:
            return (*hit, shapes)
        if (loaded := cache.load_shared(key)) is not None:
            cache.memory_put(key, (None, *loaded))
            return (None, *loaded, shapes)
        ctx = make_context()
        with ctx, ir.Location.unknown():
            if (llvm_text := cache.load_llvm_text(key)) is not None:
                module = ir.Module.parse(llvm_text)
            else:
                module = ir.Module.parse(text)
                run_pipeline(module, f"{_PRE},{self.pipeline}", "cpu compile")
                llvm_text = None if cache.cache_dir() is None else str(module)
            engine = ExecutionEngine(module, opt_level=3, shared_libs=list(openmp_libs()))
        fn = engine.lookup(ENTRY)
        if llvm_text is not None:
            cache.store(key, engine, llvm_text, openmp_libs())
        cache.memory_put(key, (ctx, engine, fn))
        return ctx, engine, fn, shapes

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        key = tuple(layout_key(t) for t in inputs)
        _, _, fn, in_shapes = self.variant(key)
        for t, shape in zip(inputs, in_shapes):
            if t.dim() != len(shape) or any(s != DYN and s != d for s, d in zip(shape, t.shape)):
                raise ValueError(f"runtime: input of shape {tuple(t.shape)} does not match compiled shape {shape}")
        outs = [torch.empty(tuple(o.sizes(inputs)), dtype=o.dtype) for o in self.outputs]
        descs = [descriptor(t) for t in (*inputs, *outs)]
        packed = (ctypes.c_void_p * len(descs))(*[ctypes.addressof(d) for d in descs])
        ptrs = (ctypes.c_void_p * len(descs))(*[ctypes.addressof(p) for p in _pointer_cells(packed)])
        fn(ptrs)
        return outs


def _pointer_cells(packed) -> list:
    """One c_void_p cell per descriptor pointer: the C interface takes `desc*` by address."""
    return [ctypes.c_void_p.from_buffer(packed, i * ctypes.sizeof(ctypes.c_void_p)) for i in range(len(packed))]


def torch_dtype(elem: ir.Type) -> torch.dtype:
    return MLIR_TO_TORCH[str(elem)]


__all__ = ["CpuFunction", "OutputSpec", "CompileError", "mlir_element", "torch_dtype"]
