"""GPU runtime: replay a HostPlan (see Note [gpu host plan]) on torch CUDA tensors.

Kernels launch through the CUDA driver API (PyPI `cuda-bindings`, imported lazily so CPU
machines never need it) on torch's current stream; buffers come from torch's caching
allocator (`torch.empty` on the device), so outputs are ordinary torch tensors.
"""

from __future__ import annotations

import base64
import ctypes
import dataclasses
import math

import torch
from torch_mlir import ir

from ..lowering.gpu_host import HostPlan, HostStep, build_host_plan
from .ptx import GpuBinary, compile_gpu_module

DTYPES = {
    "f32": torch.float32, "f64": torch.float64, "f16": torch.float16, "bf16": torch.bfloat16,
    "i64": torch.int64, "i32": torch.int32, "i16": torch.int16, "i8": torch.int8,
    "i1": torch.bool, "ui8": torch.uint8,
}  # fmt: skip
CTYPES = {
    "i64": ctypes.c_int64, "i32": ctypes.c_int32, "i16": ctypes.c_int16, "i8": ctypes.c_int8,
    "i1": ctypes.c_bool, "f32": ctypes.c_float, "f64": ctypes.c_double,
}  # fmt: skip


CMP = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "slt": lambda a, b: a < b, "sle": lambda a, b: a <= b,
    "sgt": lambda a, b: a > b, "sge": lambda a, b: a >= b,
    "ult": lambda a, b: a < b, "ule": lambda a, b: a <= b,
    "ugt": lambda a, b: a > b, "uge": lambda a, b: a >= b,
}  # fmt: skip


class CudaError(RuntimeError):
    """A CUDA driver call failed, or no CUDA device is usable."""


def driver():
    """The cuda-bindings driver module (imported on first use)."""
    try:
        from cuda.bindings import driver as drv  # type: ignore[import-not-found]
    except ImportError:
        try:
            from cuda import cuda as drv  # type: ignore[import-not-found]  # cuda-python < 12.6
        except ImportError:
            raise CudaError("cuda: the 'cuda-bindings' package is not installed") from None
    return drv


def check(result):
    """Unwrap a cuda-bindings (err, *values) tuple, raising CudaError on failure."""
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        drv = driver()
        _, msg = drv.cuGetErrorString(err)
        raise CudaError(f"cuda: driver call failed: {msg.decode() if msg else err}")
    return values[0] if len(values) == 1 else values


def cuda_available() -> tuple[bool, str]:
    """(usable, reason): a CUDA device, torch built with CUDA and cuda-bindings installed."""
    if not torch.cuda.is_available():
        return False, "no CUDA device (or torch built without CUDA)"
    try:
        driver()
    except CudaError as e:
        return False, str(e)
    return True, ""


@dataclasses.dataclass
class View:
    """A memref value: `root` is a flat 1-D tensor, the rest are in elements."""

    root: torch.Tensor
    offset: int
    sizes: tuple[int, ...]
    strides: tuple[int, ...]

    def tensor(self) -> torch.Tensor:
        start = self.root.storage_offset() + self.offset
        return torch.as_strided(self.root, self.sizes, self.strides, start)

    def kernel_args(self) -> list:
        ptr = ctypes.c_void_p(self.root.data_ptr())
        return [ptr, ptr, ctypes.c_int64(self.offset)] + [
            ctypes.c_int64(v) for v in (*self.sizes, *self.strides)
        ]


def as_view(t: torch.Tensor) -> View:
    t = t.contiguous()
    return View(t.reshape(-1), 0, tuple(t.shape), tuple(t.stride()))


def global_host_tensor(attrs: dict) -> torch.Tensor:
    """The CPU tensor of a plan's 'global' step (Note [gpu host plan])."""
    dtype, data = DTYPES[attrs["dtype"]], attrs["data"]
    if isinstance(data, dict):
        return torch.full(attrs["shape"], data["splat"], dtype=dtype)
    raw = bytearray(base64.b64decode(data))
    if not raw:  # torch.frombuffer rejects an empty buffer
        return torch.empty(attrs["shape"], dtype=dtype)
    return torch.frombuffer(raw, dtype=dtype).reshape(attrs["shape"]).clone()


def arith(name: str, attrs: dict, a, b=None, c=None):
    if name in ("index_cast", "index_castui"):
        return a
    if name == "select":
        return b if a else c
    if name == "cmpi":  # index values are non-negative sizes here: signedness is moot
        return CMP[attrs["pred"]](a, b)
    ops = {
        "addi": lambda: a + b, "subi": lambda: a - b, "muli": lambda: a * b,
        "divui": lambda: a // b, "divsi": lambda: int(a / b), "remui": lambda: a % b,
        "remsi": lambda: int(math.fmod(a, b)), "ceildivui": lambda: -(-a // b),
        "ceildivsi": lambda: -(-a // b), "floordivsi": lambda: a // b,
        "minsi": lambda: min(a, b), "maxsi": lambda: max(a, b), "minui": lambda: min(a, b),
        "maxui": lambda: max(a, b), "andi": lambda: a & b, "ori": lambda: a | b,
        "xori": lambda: a ^ b, "shli": lambda: a << b, "shrui": lambda: a >> b,
        "shrsi": lambda: a >> b,
    }  # fmt: skip
    return ops[name]()


class GpuFunction:
    """One compiled function: a HostPlan plus the binaries its launches name.

    Call it with torch CUDA tensors (one per memref argument); returns the output tensors.
    """

    def __init__(self, plan: HostPlan, binaries: dict[str, GpuBinary]):
        self.plan = plan
        self.binaries = binaries
        self._functions: dict[tuple[int, str, str], object] = {}
        self._globals: dict[tuple[int, str], torch.Tensor] = {}  # (device, global) -> tensor

    def function(self, device: int, module: str, kernel: str):
        key = (device, module, kernel)
        if key not in self._functions:
            drv = driver()
            binary = self.binaries[module]
            image = binary.cubin if binary.cubin is not None else binary.ptx.encode() + b"\0"
            mod = check(drv.cuModuleLoadData(image))
            self._functions[key] = check(drv.cuModuleGetFunction(mod, kernel.encode()))
        return self._functions[key]

    def __call__(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        plan = self.plan
        if len(tensors) != len(plan.inputs):
            raise TypeError(
                f"cuda: '{plan.name}' expects {len(plan.inputs)} tensors, got {len(tensors)}"
            )
        device = tensors[0].device if tensors else torch.device("cuda", torch.cuda.current_device())
        regs: list = [None] * plan.num_slots
        for (slot, dtype, shape), t in zip(plan.inputs, tensors):
            if t.dtype != DTYPES[dtype] or t.dim() != len(shape) or t.device.type != "cuda":
                raise TypeError(
                    f"cuda: '{plan.name}' expects a {dtype} CUDA tensor of rank {len(shape)}, "
                    f"got {t.dtype} rank {t.dim()} on {t.device}"
                )
            regs[slot] = as_view(t)
        for step in plan.steps:
            self.run_step(step, regs, device)
        return [regs[s].tensor() for s in plan.outputs]

    def run_step(self, step: HostStep, regs: list, device) -> None:
        op, ins = step.op, [regs[i] for i in step.operands]
        if op == "const":
            regs[step.results[0]] = step.attrs["value"]
        elif op == "global":
            regs[step.results[0]] = as_view(self.global_tensor(step.attrs, device))
        elif op == "arith":
            regs[step.results[0]] = arith(step.attrs["name"], step.attrs, *ins)
        elif op == "dim":
            regs[step.results[0]] = ins[0].sizes[ins[1]]
        elif op == "alloc":
            dyn = iter(ins)
            shape = [next(dyn) if d < 0 else d for d in step.attrs["shape"]]
            t = torch.empty(shape, dtype=DTYPES[step.attrs["dtype"]], device=device)
            regs[step.results[0]] = as_view(t)
        elif op == "meta":
            v = ins[0]
            vals = [View(v.root, 0, (), ()), v.offset, *v.sizes, *v.strides]
            for r, x in zip(step.results, vals):
                regs[r] = x
        elif op == "view":
            dyn = iter(ins[1:])
            pick = lambda s: next(dyn) if s is None else s  # noqa: E731
            offset = pick(step.attrs["offset"])
            sizes = tuple(pick(s) for s in step.attrs["sizes"])
            strides = tuple(pick(s) for s in step.attrs["strides"])
            regs[step.results[0]] = View(ins[0].root, offset, sizes, strides)
        elif op == "alias":
            regs[step.results[0]] = ins[0]
        elif op == "copy":
            ins[1].tensor().copy_(ins[0].tensor())
        elif op == "launch":
            self.launch(step, ins, device)
        else:
            raise CudaError(f"cuda: unknown host step '{op}'")

    def global_tensor(self, attrs: dict, device: torch.device) -> torch.Tensor:
        """A memref.global's value on `device`: made once per device when the global is
        constant (kernels never write it), copied afresh on each call otherwise."""
        key = (device.index or 0, attrs["name"])
        cached = self._globals.get(key)
        if cached is None:
            cached = global_host_tensor(attrs).to(device)
            self._globals[key] = cached
        return cached if attrs["constant"] else cached.clone()

    def launch(self, step: HostStep, ins: list, device) -> None:
        grid, block, args = ins[:3], ins[3:6], ins[6:]
        if 0 in grid:  # an empty iteration space: CUDA rejects zero-sized grids
            return
        params = []
        for kind, value in zip(step.attrs["args"], args):
            if kind.startswith("memref:"):
                params += value.kernel_args()
            else:
                params.append(CTYPES[kind](value))
        array = (ctypes.c_void_p * len(params))(*[ctypes.addressof(p) for p in params])
        drv = driver()
        fn = self.function(device.index or 0, step.attrs["module"], step.attrs["kernel"])
        stream = drv.CUstream(torch.cuda.current_stream(device).cuda_stream)
        check(drv.cuLaunchKernel(fn, *grid, *block, 0, stream, ctypes.addressof(array), 0))


def read_only_arguments(func_op: ir.Operation) -> None:
    """Mark every argument of `func_op` `bufferization.writable = false`: bufferization
    then copies instead of writing a result into a caller's tensor."""
    n = len(func_op.regions[0].blocks[0].arguments)
    old = func_op.attributes["arg_attrs"] if "arg_attrs" in func_op.attributes else None
    attrs = []
    for i in range(n):
        entries = {}
        if old is not None:
            d = ir.DictAttr(ir.ArrayAttr(old)[i])
            entries = {d[j].name: d[j].attr for j in range(len(d))}
        entries["bufferization.writable"] = ir.BoolAttr.get(False)
        attrs.append(ir.DictAttr.get(entries))
    func_op.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)


def compile_module(module, chip: str = "sm_90", writable_args: bool = False) -> dict:
    """Lower a linalg-on-tensors module with tg-gpu-pipeline and compile its kernels.

    Args:
        module: an `ir.Module` (modified in place) holding func.func ops on tensors.
        chip: the SM architecture for PTX and ptxas.
        writable_args: let bufferization write results into argument buffers (a caller's
            input tensors); off by default, so every argument is read-only.
    Returns:
        {function name: GpuFunction}; compiling needs no GPU, calling does.
    """
    from ..lowering.to_gpu import lower_to_gpu

    op = module.operation
    if not writable_args:
        for child in op.regions[0].blocks[0].operations:
            if child.operation.name == "func.func" and child.operation.regions[0].blocks:
                read_only_arguments(child.operation)
    lower_to_gpu(op, chip)
    binaries, funcs = {}, []
    for child in op.regions[0].blocks[0].operations:
        child = child.operation
        if child.name == "gpu.module":
            b = compile_gpu_module(child, chip)
            binaries[b.name] = b
        elif child.name == "func.func":
            funcs.append(child)
    out = {}
    for f in funcs:
        plan = build_host_plan(f)
        used = {s.attrs["module"] for s in plan.launches()}
        out[plan.name] = GpuFunction(plan, {name: binaries[name] for name in used})
    return out
