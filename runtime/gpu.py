"""GPU execution of imported graphs: a tg module -> linalg (staged, as on the CPU) ->
tg-gpu-pipeline kernels + host plan (runtime/cuda.py) -> called on torch CUDA tensors.

Note [gpu graph functions]
~~~~~~~~~~~~~~~~~~~~~~~~~~
The importer's `@main` is compiled as is: its arguments are marked
`bufferization.writable = false` first, so bufferization copies rather than writes into a
caller's tensor. Inputs are made contiguous (the host plan's buffers are identity-layout);
outputs come back as fresh contiguous tensors checked against the specs, and an output
that shares storage with an input or an earlier output is cloned, so callers see the
CPU path's contract (every output is a new tensor). Compiled functions are cached in
memory by the location-free module text, entry and chip, and on disk with their host plans
and cubins (Note [gpu compile cache], runtime/gpu_cache.py); runtime/ptx.py also reuses the
binary of identical kernel modules within a process.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Sequence

import torch
from torch_mlir import ir

from ..dialects import compile_context
from ..dialects.types import DYN, shape_of
from ..lowering.to_gpu import CHIPS, LOWER, PREPARE
from . import debug, gpu_cache
from .cpu import OutputSpec, function_name
from .cuda import read_only_arguments
from .memref import MLIR_TO_TORCH
from .stages import CompileError, Stage, asm, failure_message, run_stages

#: tg -> linalg on tensors for the GPU; tg-gpu-pipeline (via cuda.compile_module) follows.
GPU_PIPELINE = "tg-decompose{targets=gpu},canonicalize,cse,tg-lower-to-linalg"
DEFAULT_CHIP = "sm_90"  # when the device cannot be asked (no CUDA build, fake tensors)

_MEMORY: dict[str, dict] = {}  # key -> {function name: cuda.GpuFunction}
_PRIMARY: dict[int, object] = {}  # device index -> retained primary CUcontext
_PRIMARY_LOCK = threading.Lock()


def chip_of_capability(major: int, minor: int) -> str | None:
    """The newest known chip whose cubins run on compute capability major.minor (a cubin
    runs on later minor versions of its major), or None when none does."""
    fits = [
        c
        for c in CHIPS
        if c[3:].isdigit() and int(c[3:]) // 10 == major and int(c[3:]) % 10 <= minor
    ]
    return max(fits, key=lambda c: int(c[3:])) if fits else None


def chip_for(device: torch.device | str | int | None, override: str | None = None) -> str:
    """The SM architecture to compile for on `device`.

    Args:
        device: a CUDA device (or None for the current one).
        override: the user's `chip=` option; used as is when given.
    Returns:
        'sm_XY' from torch.cuda.get_device_capability, or DEFAULT_CHIP when torch cannot
        query the device (a CPU build of torch, as when compiling for fake CUDA tensors).
    Raises:
        ValueError: the device's capability has no chip in lowering/to_gpu.CHIPS.
    """
    if override is not None:
        return override
    try:
        major, minor = torch.cuda.get_device_capability(device)
    except (AssertionError, RuntimeError):  # torch without CUDA, or no driver
        return DEFAULT_CHIP
    chip = chip_of_capability(major, minor)
    if chip is None:
        raise ValueError(
            f"runtime: no GPU code generation for compute capability {major}.{minor} "
            f"(supported chips: {', '.join(CHIPS)})"
        )
    return chip


def ensure_context(index: int) -> None:
    """Make device `index`'s primary context (the one torch uses) current on this thread:
    kernel modules load into the current context, and threads torch starts (autograd's
    device threads) may have none yet."""
    from .cuda import check, driver

    drv = driver()
    with _PRIMARY_LOCK:
        if index not in _PRIMARY:
            check(drv.cuInit(0))  # a no-op once torch has initialized CUDA
            _PRIMARY[index] = check(drv.cuDevicePrimaryCtxRetain(check(drv.cuDeviceGet(index))))
        want = _PRIMARY[index]
    if int(check(drv.cuCtxGetCurrent())) != int(want):
        check(drv.cuCtxSetCurrent(want))


class GpuGraphFunction:
    """A tg function compiled for an NVIDIA GPU and called on torch CUDA tensors.

    Args:
        module_text: a tg module holding `@entry` (with locations, as the importer prints it).
        outputs: dtype and shape of each result (checked on every call).
        chip: the SM architecture, e.g. 'sm_90' (see chip_for).
        entry: the function to compile.
        name: the graph name for logs and IR dumps (Note [graph names and IR dumps]).
    Compiling (on construction with compile(), or on the first call) needs no GPU: it ends
    in ptxas-validated cubins. Calls take CUDA tensors on one device and return new
    contiguous CUDA tensors.
    """

    def __init__(
        self,
        module_text: str,
        outputs: Sequence[OutputSpec],
        chip: str = DEFAULT_CHIP,
        entry: str = "main",
        name: str | None = None,
    ):
        if chip not in CHIPS:
            raise ValueError(f"runtime: unknown chip '{chip}' (allowed: {', '.join(CHIPS)})")
        self.module_text = module_text
        self.outputs = list(outputs)
        self.chip = chip
        self.entry = entry
        self.name = function_name(module_text, entry, name)
        self.function = None  # the cuda.GpuFunction, once compiled
        self._inputs: list[tuple[torch.dtype | None, tuple[int, ...]]] = []

    @property
    def plan(self):
        return self.compile().plan

    def compile(self):
        """Compile (or fetch from the in-memory cache) and return the cuda.GpuFunction."""
        if self.function is None:
            with debug.COMPILE_LOCK:
                if self.function is None:
                    self.function = self._compile()
        return self.function

    def _compile(self):
        t0 = time.perf_counter()
        with compile_context(), ir.Location.unknown():
            try:
                module = ir.Module.parse(self.module_text)
            except ir.MLIRError as e:
                raise CompileError(
                    f"runtime: gpu compile of '{self.name}': the module does not parse: {e}"
                ) from None
            func_op = next(
                (
                    op.operation
                    for op in module.body.operations
                    if op.operation.name == "func.func"
                    and ir.StringAttr(op.operation.attributes["sym_name"]).value == self.entry
                ),
                None,
            )
            if func_op is None:
                raise CompileError(f"runtime: no function '@{self.entry}' in the module")
            fn_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
            self._inputs = [
                (MLIR_TO_TORCH.get(str(ir.RankedTensorType(t).element_type)), shape_of(t))
                for t in fn_type.inputs
            ]
            if len(fn_type.results) != len(self.outputs):
                raise CompileError(
                    f"runtime: '{self.name}' has {len(fn_type.results)} results, "
                    f"expected {len(self.outputs)} output specs"
                )
            read_only_arguments(func_op)
            key = hashlib.sha256(
                f"{self.chip}\0{self.entry}\0{GPU_PIPELINE}\0{module}".encode()
            ).hexdigest()[:40]
            dumping = debug.dump_dir() is not None  # a dump must show a real pipeline run
            if not dumping and (hit := _MEMORY.get(key)) is not None:
                debug.count("memory_hits")
                debug.log.debug("gpu compile %s: in-memory cache hit (key %s)", self.name, key)
                return hit[self.entry]
            if not dumping and (loaded := gpu_cache.load(key)) and self.entry in loaded:
                debug.count("disk_hits")
                debug.log.info("gpu compile %s: disk cache hit (key %s)", self.name, key)
                _MEMORY[key] = loaded
                return loaded[self.entry]
            debug.count("gpu_compiles")
            times = run_stages(module, GPU_PIPELINE, "gpu compile", self.name, "linalg")
            functions = self._lower(module, times)
        _MEMORY[key] = functions
        gpu_cache.store(key, functions)
        debug.log.info(
            "gpu compile %s (%s): %.3f s (%s)",
            self.name,
            self.chip,
            time.perf_counter() - t0,
            ", ".join(f"{k} {v:.3f} s" for k, v in times.items()),
        )
        return functions[self.entry]

    def _lower(self, module: ir.Module, times: dict[str, float]) -> dict:
        """tg-gpu-pipeline, PTX and cubins (runtime/cuda.compile_module), with the CPU
        path's error reporting for a failing pass."""
        from .cuda import compile_module

        gpu_pass = f"tg-gpu-pipeline{{chip={self.chip}}}"
        before = module.operation.clone()  # printed only if a pass fails
        t1 = time.perf_counter()
        try:
            functions = compile_module(module, self.chip)
        except ir.MLIRError as e:  # a pass of tg-gpu-pipeline failed: find which one
            stage = Stage("gpu", [PREPARE, "tg-gpu-map-linalg", LOWER])
            message = failure_message("gpu compile", gpu_pass, stage, asm(before), e)
            raise CompileError(message) from None
        except Exception as e:  # noqa: BLE001 - PtxError, HostPlanError, a kernel-scheme bug
            raise CompileError(
                f"runtime: gpu compile of '{self.name}' failed ({self.chip}): "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            ) from None
        times["gpu"] = time.perf_counter() - t1
        if debug.dump_dir() is not None:
            debug.dump(self.name, 3, "gpu", asm(module), gpu_pass)
        if self.entry not in functions:
            raise CompileError(f"runtime: no host function '@{self.entry}' after gpu lowering")
        return functions

    def check_inputs(self, inputs: Sequence[torch.Tensor]) -> torch.device:
        """The common CUDA device of `inputs`; ValueError for a count, device, dtype or
        static size that does not match what was compiled."""
        if len(inputs) != len(self._inputs):
            raise ValueError(
                f"runtime: '{self.name}' takes {len(self._inputs)} inputs, got {len(inputs)}"
            )
        devices = {t.device for t in inputs}
        if len(devices) > 1 or any(d.type != "cuda" for d in devices):
            got = ", ".join(sorted(map(str, devices)))
            raise ValueError(
                f"runtime: '{self.name}' expects tensors on one CUDA device, got {got}"
            )
        for t, (dtype, shape) in zip(inputs, self._inputs):
            if t.dtype != dtype:
                raise ValueError(
                    f"runtime: input of dtype {t.dtype} does not match compiled dtype {dtype}"
                )
            if t.dim() != len(shape) or any(s != DYN and s != d for s, d in zip(shape, t.shape)):
                raise ValueError(
                    f"runtime: input of shape {tuple(t.shape)} does not match compiled shape {shape}"
                )
        if devices:
            return devices.pop()
        return torch.device("cuda", torch.cuda.current_device())

    def __call__(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        function = self.compile()
        device = self.check_inputs(inputs)
        inputs = tuple(t.contiguous() for t in inputs)
        ensure_context(device.index if device.index is not None else 0)
        with torch.cuda.device(device):
            raw = function(*inputs)
        debug.count("calls")
        return fresh_outputs(raw, inputs, self.outputs, self.name)


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr() if t.numel() else 0


def fresh_outputs(
    raw: Sequence[torch.Tensor],
    inputs: Sequence[torch.Tensor],
    specs: Sequence[OutputSpec],
    name: str,
) -> list[torch.Tensor]:
    """Check `raw` against the specs and make each a new contiguous tensor of its own
    (Note [gpu graph functions]).

    Raises:
        RuntimeError: an output's dtype or sizes differ from its spec (a compiler bug).
    """
    if len(raw) != len(specs):
        raise RuntimeError(f"runtime: '{name}' returned {len(raw)} outputs, expected {len(specs)}")
    taken = {_storage(t) for t in inputs} - {0}
    outs = []
    for i, (t, spec) in enumerate(zip(raw, specs)):
        want = tuple(spec.sizes(inputs))
        if t.dtype != spec.dtype or tuple(t.shape) != want:
            raise RuntimeError(
                f"runtime: '{name}' output {i} is {t.dtype} {tuple(t.shape)}, "
                f"expected {spec.dtype} {want}"
            )
        storage = _storage(t)
        if storage in taken:  # an input, or an output already handed out
            t = t.clone(memory_format=torch.contiguous_format)
        else:
            t = t.contiguous()
        taken.add(_storage(t))
        outs.append(t)
    return outs
