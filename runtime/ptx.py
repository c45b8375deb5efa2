"""GPU binaries: NVVM-dialect gpu.module -> LLVM IR -> PTX (llvmlite's NVPTX) -> cubin (ptxas).

This MLIR build has no NVPTX backend, so translation stops at LLVM IR and llvmlite's LLVM
takes over. Math calls (`__nv_expf`, ...) are resolved by linking CUDA's libdevice. Results
are cached in memory by a hash of the LLVM IR and the chip.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

from torch_mlir import ir

from .llvm_text import legacy_float_syntax

TRIPLE = "nvptx64-nvidia-cuda"
DATA_LAYOUT = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"
# Lowest PTX ISA version that knows each chip.
PTX_FEATURE = {"sm_90": "+ptx80", "sm_90a": "+ptx80", "sm_100": "+ptx86", "sm_120": "+ptx87"}


class PtxError(RuntimeError):
    """PTX generation or assembly failed; the message names the kernels and the tool output."""


@dataclasses.dataclass
class GpuBinary:
    """One compiled gpu.module: `kernels` are the entry names, `cubin` is None when no
    ptxas was found (then `ptxas_skipped` says why)."""

    name: str
    chip: str
    kernels: list[str]
    llvm_ir: str
    ptx: str
    cubin: bytes | None
    ptxas_skipped: str = ""


_CACHE: dict[str, GpuBinary] = {}


def cuda_roots() -> list[str]:
    roots = [os.environ.get(k, "") for k in ("CUDA_HOME", "CUDA_PATH")]
    roots += sorted(glob.glob("/usr/local/cuda*"), reverse=True)
    try:  # PyPI nvidia-cuda-nvcc(-cu12) lays the toolkit out under nvidia/cuda_nvcc
        import nvidia.cuda_nvcc as nvcc  # type: ignore[import-not-found]

        roots += [os.path.dirname(p) for p in getattr(nvcc, "__path__", [])]
        roots += list(getattr(nvcc, "__path__", []))
    except ImportError:
        pass
    return [r for r in roots if r and os.path.isdir(r)]


def find_ptxas() -> str | None:
    """ptxas on PATH, under CUDA_HOME or /usr/local/cuda*, or from PyPI nvidia-cuda-nvcc."""
    if found := shutil.which("ptxas"):
        return found
    for root in cuda_roots():
        for cand in glob.glob(os.path.join(root, "**", "bin", "ptxas"), recursive=True):
            if os.access(cand, os.X_OK):
                return cand
    return None


def find_libdevice() -> str | None:
    for root in cuda_roots():
        found = glob.glob(os.path.join(root, "**", "libdevice*.bc"), recursive=True)
        if found:
            return sorted(found)[-1]
    return None


def kernel_names(gpu_module: ir.Operation) -> list[str]:
    names = []
    for op in gpu_module.regions[0].blocks[0].operations:
        if "gpu.kernel" in op.operation.attributes:
            names.append(ir.StringAttr(op.operation.attributes["sym_name"]).value)
    return names


def llvm_ir_of(gpu_module: ir.Operation) -> str:
    """LLVM IR text of an NVVM-dialect gpu.module (its body moved into a builtin.module)."""
    from torch_mlir.dialects import llvm as llvm_dialect

    with gpu_module.context, ir.Location.unknown():
        holder = ir.Module.create()
        holder.operation.attributes["llvm.target_triple"] = ir.StringAttr.get(TRIPLE)
        holder.operation.attributes["llvm.data_layout"] = ir.StringAttr.get(DATA_LAYOUT)
        ip = ir.InsertionPoint(holder.body)
        for op in gpu_module.regions[0].blocks[0].operations:
            ip.insert(op.operation.clone())
        return str(llvm_dialect.translate_module_to_llvmir(holder.operation))


def ptx_of(llvm_ir: str, chip: str, kernels: list[str]) -> str:
    """PTX for `chip` from LLVM IR, linking libdevice when `__nv_*` math is called."""
    import llvmlite.binding as llvm

    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    mod = llvm.parse_assembly(legacy_float_syntax(llvm_ir))
    if any(f.is_declaration and f.name.startswith("__nv_") for f in mod.functions):
        path = find_libdevice()
        if path is None:
            raise PtxError(
                f"ptx: kernels {kernels} call libdevice math but no libdevice*.bc was found "
                "(install a CUDA toolkit or PyPI nvidia-cuda-nvcc, or set CUDA_HOME)"
            )
        with open(path, "rb") as f:
            lib = llvm.parse_bitcode(f.read())
        lib.triple = TRIPLE
        lib.data_layout = mod.data_layout
        mod.link_in(lib)
    for f in mod.functions:  # only kernels stay visible, so unused libdevice code is dropped
        if not f.is_declaration and f.name not in kernels:
            f.linkage = "internal"
    for g in mod.global_variables:
        if not g.is_declaration:
            g.linkage = "internal"
    target = llvm.Target.from_triple(TRIPLE)
    tm = target.create_target_machine(cpu=chip, features=PTX_FEATURE.get(chip, "+ptx78"), opt=3)
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=3))
    pb.getModulePassManager().run(mod, pb)
    return tm.emit_assembly(mod)


def assemble(ptx: str, chip: str, kernels: list[str], ptxas: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="dynamlir-ptx-") as tmp:
        src, out = os.path.join(tmp, "k.ptx"), os.path.join(tmp, "k.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        proc = subprocess.run(
            [ptxas, f"-arch={chip}", "-O3", src, "-o", out], capture_output=True, text=True
        )
        if proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().replace(src, "<ptx>")
            raise PtxError(f"ptxas: failed for kernels {kernels} (arch {chip}): {msg}")
        with open(out, "rb") as f:
            return f.read()


def compile_gpu_module(gpu_module: ir.Operation, chip: str = "sm_90") -> GpuBinary:
    """Compile one NVVM-dialect gpu.module to PTX and (when ptxas exists) a cubin.

    Args:
        gpu_module: a `gpu.module` lowered by convert-gpu-to-nvvm.
        chip: the SM architecture, e.g. 'sm_90'.
    Returns:
        a GpuBinary; cached by the hash of its LLVM IR and chip.
    """
    name = ir.StringAttr(gpu_module.attributes["sym_name"]).value
    kernels = kernel_names(gpu_module)
    text = llvm_ir_of(gpu_module)
    key = hashlib.sha256(f"{chip}\n{text}".encode()).hexdigest()
    if key in _CACHE:  # identical kernels in differently named modules share one binary
        return dataclasses.replace(_CACHE[key], name=name)
    ptx = ptx_of(text, chip, kernels)
    ptxas = find_ptxas()
    if ptxas is None:
        binary = GpuBinary(name, chip, kernels, text, ptx, None, "no ptxas found")
    else:
        binary = GpuBinary(name, chip, kernels, text, ptx, assemble(ptx, chip, kernels, ptxas))
    _CACHE[key] = binary
    return binary
