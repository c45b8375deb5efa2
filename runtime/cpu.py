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
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch_mlir import ir
from torch_mlir.execution_engine import ExecutionEngine

from ..dialects import compile_context
from ..dialects.types import DYN, shape_of
from . import cache, debug, llvm_jit
from .memref import MLIR_TO_TORCH, PreparedBlock, argument_block, mlir_element
from .stages import CompileError, run_stages

ENTRY = "dynamlir_entry"
DEFAULT_PIPELINE = "tg-cpu-pipeline"
# The inner function is inlined before bufferization so that inputs keep their layouts.
_PRE = "inline,symbol-dce"


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@functools.lru_cache(maxsize=None)
def tune_malloc() -> bool:
    """Keep freed large blocks in the heap instead of unmapping them (glibc).

    Compiled functions allocate their temporaries with malloc on every call, and so does
    torch for their outputs; glibc serves blocks above its mmap threshold (at most 32 MB,
    adjusted dynamically) with fresh mmaps and trims the heap top back to the kernel, so
    each call page-faults its buffers in again: a third of a GPT-2 block training step
    (mean 41-65 ms vs 27 ms with this, 1 thread). Up to 64 MB comes from the heap and up
    to 256 MB of free heap is retained, as a caching allocator would. Process-wide: eager
    code in the same process gets it too. DYNAMLIR_MALLOC_TUNING=0 turns it off.
    """
    if os.environ.get("DYNAMLIR_MALLOC_TUNING", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, 64 << 20) == 1
    return mallopt(_M_TRIM_THRESHOLD, 256 << 20) == 1 and ok


@functools.lru_cache(maxsize=None)
def openmp_libs() -> tuple[str, ...]:
    """The libgomp torch runs its own threads on: GOMP_parallel launches our parallel loops
    on the same team (Note [cpu parallel loops] in lowering/cpu_parallel.py)."""
    lib_dir = os.path.join(os.path.dirname(torch.__file__), "lib")
    candidates = [
        os.path.join(lib_dir, n) for n in sorted(os.listdir(lib_dir)) if n.startswith("libgomp")
    ]
    if not candidates and (found := ctypes.util.find_library("gomp")):
        candidates = [found]
    return tuple(candidates[:1])


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
            raise RuntimeError(
                f"runtime: output shape {self.shape} is dynamic and has no shape function"
            )
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
    text, _, ins, outs = wrap_entry_texts(module_text, entry, contiguous)
    return text, ins, outs


def wrap_entry_texts(module_text: str, entry: str, contiguous: Sequence[bool]):
    """(text, key text, input types, result types) of the wrapped module.

    The text keeps the module's locations (the importer's file:line), so that compile
    errors and IR dumps point at the user's code; the key text has none (Note [cpu
    compile cache]).
    """
    with debug.COMPILE_LOCK, compile_context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        func = next(
            (
                op
                for op in module.body.operations
                if op.operation.name == "func.func" and op.sym_name.value == entry
            ),
            None,
        )
        if func is None:
            raise CompileError(f"runtime: no function '@{entry}' in the module")
        fn_type = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        ins, outs = list(fn_type.inputs), list(fn_type.results)
        if len(contiguous) != len(ins):  # before anything is wrapped or cached for them
            raise ValueError(f"runtime: '@{entry}' takes {len(ins)} inputs, got {len(contiguous)}")
        func.attributes["sym_visibility"] = ir.StringAttr.get("private")
        body = module.operation.get_asm(enable_debug_info=True)
        plain = str(module)
    args = [f"%a{i}: {memref_type(t, c)}" for i, (t, c) in enumerate(zip(ins, contiguous))]
    args += [f"%o{i}: {memref_type(t, True)}" for i, t in enumerate(outs)]
    lines = [f"  func.func @{ENTRY}({', '.join(args)}) attributes {{llvm.emit_c_interface}} {{"]
    for i, (t, c) in enumerate(zip(ins, contiguous)):
        lines.append(
            f"    %t{i} = bufferization.to_tensor %a{i} restrict : {memref_type(t, c)} to {t}"
        )
    call = f"func.call @{entry}({', '.join(f'%t{i}' for i in range(len(ins)))}) : ({', '.join(map(str, ins))}) -> ({', '.join(map(str, outs))})"
    lines.append(
        f"    {'%r' + (':' + str(len(outs)) if len(outs) > 1 else '') + ' = ' if outs else ''}{call}"
    )
    for i, t in enumerate(outs):
        r = f"%r#{i}" if len(outs) > 1 else "%r"
        lines.append(
            f"    bufferization.materialize_in_destination {r} in restrict writable %o{i} : ({t}, {memref_type(t, True)}) -> ()"
        )
    lines += ["    return", "  }"]
    # With locations the module's closing brace is followed by ` loc(...)` and the
    # location aliases (#loc1 = ...): the wrapper goes before the last line opening with '}'.
    wrapper = "\n".join(lines)

    def insert(text: str) -> str:
        close = text.rfind("\n}")
        assert close >= 0, "module text must have a closing brace"
        return text[: close + 1] + wrapper + text[close:]

    return insert(body), insert(plain), ins, outs


def run_pipeline(module: ir.Module, pipeline: str, what: str = "") -> None:
    """Run `pipeline` on `module`, turning failures into a CompileError that names the
    failing pass, op and source line, with a repro (Note [compile stages])."""
    run_stages(module, pipeline, what or "compile")


class CpuFunction:
    """A tg function compiled for the CPU, specialised on its inputs' contiguity.

    Args:
        module_text: a tg module holding `@entry` (with locations, as the importer prints it).
        outputs: dtype and shape of each result.
        entry: the function to compile.
        pipeline: the CPU pipeline (default tg-cpu-pipeline).
        name: the graph name for logs and IR dumps (Note [graph names and IR dumps],
            runtime/debug.py); by default a new imported module gets the next `g<n>`.
    Calls are thread-safe: compiles take the compile lock, calls run concurrently.
    """

    def __init__(
        self,
        module_text: str,
        outputs: Sequence[OutputSpec],
        entry: str = "main",
        pipeline: str = DEFAULT_PIPELINE,
        name: str | None = None,
    ):
        self.module_text = module_text
        self.outputs = list(outputs)
        self.entry = entry
        self.pipeline = pipeline
        self.name = function_name(module_text, entry, name)
        self._variants: dict[tuple[bool, ...], tuple] = {}
        self._dtypes: list[torch.dtype | None] = []
        self._local = threading.local()  # this thread's prepared calls (Note [prepared calls])
        # Dynamic output sizes may depend on the values of 0-d integer inputs (an @f_bwd's
        # size operands, Note [runtime sizes]): then those values are part of a call's
        # signature.
        self._sized_outputs = any(DYN in o.shape for o in self.outputs)
        tune_malloc()

    # Note [variant records]
    # ~~~~~~~~~~~~~~~~~~~~~~
    # The cache key hashes the wrapped module without locations, which takes parsing the
    # module in an MLIR context: 35 ms of the 0.3 s a warm-cache process spends on a GPT-2
    # block, most of it loading the tg dialect into the process's first context. A small
    # record keyed by the exact text (locations included), the entry and the layouts names
    # that key and the input shapes and element types, so a warm process loads the shared
    # object without touching MLIR. Moving the model in its file changes the exact text;
    # that process wraps the module and finds the entry by its key, as before.

    def _from_record(self, exact: str, name: str):
        """The compiled variant a variant record names, if the record and the shared object
        it names are on disk (Note [variant records])."""
        record = cache.load_record(exact, "variant")
        if record is None:
            return None
        try:
            key, elems = str(record["entry"]), [str(e) for e in record["elements"]]
            shapes = [tuple(int(d) for d in s) for s in record["shapes"]]
        except (KeyError, TypeError, ValueError):
            return None
        if (hit := _cached(key, name)) is None:
            return None
        self._dtypes = [MLIR_TO_TORCH.get(e) for e in elems]
        return (*hit, shapes)

    def variant(self, key: tuple[bool, ...]):
        if (hit := self._variants.get(key)) is not None:
            return hit
        with debug.COMPILE_LOCK:
            if key not in self._variants:
                self._variants[key] = self._compile(key)
        return self._variants[key]

    def _compile(self, contiguous: tuple[bool, ...]):
        """Compile (or fetch from Note [cpu compile cache], runtime/cache.py) one variant."""
        t0 = time.perf_counter()
        name = (
            self.name
            if all(contiguous)
            else f"{self.name}-v{''.join('cs'[not c] for c in contiguous)}"
        )
        dumping = debug.dump_dir() is not None  # a dump must show a real pipeline run
        # Note [variant records]: the exact text's record skips parsing and wrapping it.
        exact = cache.key_of(f"{self.entry}\n{contiguous}\n{self.module_text}", self.pipeline)
        if not dumping and (found := self._from_record(exact, name)) is not None:
            return found
        text, key_text, ins, _ = wrap_entry_texts(self.module_text, self.entry, contiguous)
        shapes = [shape_of(t) for t in ins]
        elems = [str(ir.RankedTensorType(t).element_type) for t in ins]
        self._dtypes = [MLIR_TO_TORCH.get(e) for e in elems]
        key = cache.key_of(key_text, self.pipeline)
        cache.store_record(exact, "variant", {"entry": key, "shapes": shapes, "elements": elems})
        if not dumping and (hit := _cached(key, name)) is not None:
            return (*hit, shapes)
        ctx = compile_context()
        with ctx, ir.Location.unknown():
            if not dumping and (llvm_text := cache.load_llvm_text(key)) is not None:
                debug.count("disk_hits")
                debug.log.info("cpu compile %s: disk cache hit (LLVM text, key %s)", name, key)
                module = ir.Module.parse(llvm_text)
                times = {}
            else:
                debug.count("cpu_compiles")
                module = ir.Module.parse(text)
                times = run_stages(module, f"{_PRE},{self.pipeline}", "cpu compile", name, "llvm")
                # printed only if no C compiler links a shared object (cache.store)
                llvm_text = None if cache.cache_dir() is None else (lambda m=module: str(m))
            t1 = time.perf_counter()
            try:
                lib, fn = cache.build_shared(key, functools.partial(_build, module))
            except llvm_jit.JitUnavailable as e:
                debug.count("engine_compiles")
                debug.log.info("cpu compile %s: %s; using MLIR's ExecutionEngine", name, e)
            else:
                times["jit"] = time.perf_counter() - t1
                cache.memory_put(key, (None, lib, fn))
                _log_compile(name, t0, times)
                return None, lib, fn, shapes
            t1 = time.perf_counter()
            try:
                engine = ExecutionEngine(module, opt_level=3, shared_libs=list(openmp_libs()))
                fn = engine.lookup(ENTRY)
            except Exception as e:  # noqa: BLE001 - LLVM translation or JIT failure
                raise CompileError(
                    f"runtime: cpu compile of '{name}' failed in the LLVM JIT: {e}"
                ) from None
            times["jit"] = time.perf_counter() - t1
        if llvm_text is not None:
            cache.store(key, engine, llvm_text, openmp_libs())
        cache.memory_put(key, (ctx, engine, fn))
        _log_compile(name, t0, times)
        return ctx, engine, fn, shapes

    def _entry(self, inputs: Sequence[torch.Tensor]):
        """The compiled entry for these inputs (checked against it) and the output
        buffers, newly allocated."""
        fn = self._check(inputs)
        outs = [torch.empty(tuple(o.sizes(inputs)), dtype=o.dtype) for o in self.outputs]
        return fn, outs

    def _check(self, inputs: Sequence[torch.Tensor]):
        """The compiled entry for these inputs' layouts, after checking their count, dtypes
        and shapes against it."""
        key = tuple(layout_key(t) for t in inputs)
        _, _, fn, in_shapes = self.variant(key)
        if len(inputs) != len(in_shapes):
            raise ValueError(
                f"runtime: '{self.name}' takes {len(in_shapes)} inputs, got {len(inputs)}"
            )
        for t, shape, dtype in zip(inputs, in_shapes, self._dtypes):
            if t.dtype != dtype:
                raise ValueError(
                    f"runtime: input of dtype {t.dtype} does not match compiled dtype {dtype}"
                )
            if t.dim() != len(shape) or any(s != DYN and s != d for s, d in zip(shape, t.shape)):
                raise ValueError(
                    f"runtime: input of shape {tuple(t.shape)} does not match compiled shape {shape}"
                )
        return fn

    # Note [prepared calls]
    # ~~~~~~~~~~~~~~~~~~~~~
    # A call after a big kernel runs its Python on cold caches: checking a GPT-2 block's 13
    # inputs and packing its argument block took 84-190 us per call (a 5-6 ms kernel), about
    # 2-3% of the call. Inputs of one (dtype, shape, strides) signature always take the same
    # entry, output sizes and descriptors, so the first call with a signature checks the
    # inputs and prepares those (PreparedBlock: the descriptors with their sizes and strides
    # filled in); later calls read three attributes per input to find the signature, and
    # write its data pointers. Each thread has its own prepared calls: a block is filled and
    # then read by the compiled code, so two threads must not share one.

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        calls = getattr(self._local, "calls", None)
        if calls is None:
            calls = self._local.calls = {}
        if self._sized_outputs:
            sig = tuple([(t.dtype, t.shape, t.stride(), _size_value(t)) for t in inputs])
        else:
            sig = tuple([(t.dtype, t.shape, t.stride()) for t in inputs])
        if (call := calls.get(sig)) is None:
            fn, outs = self._entry(inputs)  # checks the inputs
            block = PreparedBlock((*inputs, *outs))
            if len(calls) < 64:  # dynamic shapes: a bounded memory of them
                calls[sig] = (fn, [(tuple(o.shape), o.dtype) for o in outs], block)
        else:
            fn, out_specs, block = call
            outs = [torch.empty(shape, dtype=dtype) for shape, dtype in out_specs]
        fn(block.fill((*inputs, *outs)))
        debug.count("calls")
        return outs

    def bound(self, *inputs: torch.Tensor) -> tuple[Callable[[], None], list[torch.Tensor]]:
        """A call on fixed buffers: `(run, outputs)` where each `run()` computes from the
        current contents of `inputs` into the same `outputs`, with the checks, the output
        allocation and the argument block done once here. It times the compiled code alone
        (bench/matmul.py): a normal call adds about 10 us of Python for those, and 20-40 us
        after a kernel big enough to flush the interpreter's data from the caches. `run`
        holds the inputs and outputs alive; resizing one in place (which may move its
        storage) is not allowed while `run` is used."""
        fn, outs = self._entry(inputs)
        args = argument_block((*inputs, *outs))

        def run() -> None:
            fn(args)

        run.buffers = (inputs, outs)  # the block points into their storage
        return run, outs


def _size_value(t: torch.Tensor) -> int | None:
    """The value of a 0-d integer tensor (a possible size operand), else None."""
    if t.dim() == 0 and not t.is_floating_point() and t.dtype != torch.bool:
        return int(t)
    return None


def _build(module: ir.Module, build_dir: str) -> str:
    """The shared object of an LLVM-dialect `module` (Note [cpu code generation])."""
    return llvm_jit.shared_object(module, build_dir, openmp_libs())


def _cached(key: str, name: str) -> tuple | None:
    """(context, engine or library, entry) of `key` from the in-memory cache, or from a
    shared object in the disk cache (then kept in memory too); None if neither has it."""
    if (hit := cache.memory_get(key)) is not None:
        debug.count("memory_hits")
        debug.log.debug("cpu compile %s: in-memory cache hit (key %s)", name, key)
        return hit
    if (loaded := cache.load_shared(key)) is None:
        return None
    debug.count("disk_hits")
    debug.log.info("cpu compile %s: disk cache hit, no code generation (key %s)", name, key)
    cache.memory_put(key, (None, *loaded))
    return (None, *loaded)


def _log_compile(name: str, t0: float, times: dict[str, float]) -> None:
    debug.log.info(
        "cpu compile %s: %.3f s (%s)",
        name,
        time.perf_counter() - t0,
        ", ".join(f"{k} {v:.3f} s" for k, v in times.items()),
    )


def function_name(module_text: str, entry: str, name: str | None = None) -> str:
    """`name`, or `<graph>-<entry>` for a graph from the importer, which is logged (and its tg
    dumped) the first time (Note [graph names and IR dumps], runtime/debug.py)."""
    if name is not None:
        return name
    graph, new = debug.graph_name(module_text)
    captured(graph, module_text, new)
    return f"{graph}-{entry}"


def captured(name: str, module_text: str, new: bool, log: bool = True) -> None:
    """Log an imported graph; dump its tg the first time (Note [graph names and IR dumps])."""
    if log:
        n_ops = len(re.findall(r'^\s*(?:%\S+ = )?"tg\.', module_text, re.M))
        inputs = re.search(r"func\.func @\w+\((.*?)\)\s*->", module_text, re.S)
        types = re.findall(r"tensor<[^>]*>", inputs.group(1)) if inputs else []
        debug.log_graph_captured(name, n_ops, types)
    if new:
        debug.dump(name, 0, "tg", module_text, "the importer", "tg-decompose{targets=cpu}")


def torch_dtype(elem: ir.Type) -> torch.dtype:
    return MLIR_TO_TORCH[str(elem)]


__all__ = ["CpuFunction", "OutputSpec", "CompileError", "mlir_element", "torch_dtype"]
