"""Compiled training: a tg function's AOT forward and backward (tg-autodiff + tg-partition)
compiled for the CPU or a CUDA GPU (runtime/gpu.py) and wrapped in a torch.autograd.Function,
so `loss.backward()` and torch optimizers work on compiled graphs.

Saved values that are plain inputs are not copied out of the forward: the autograd.Function
keeps the caller's tensor (and torch's version counter catches in-place changes to it).
"""

from __future__ import annotations

import functools
from typing import Sequence

import torch
from torch_mlir import ir
from torch_mlir.dialects import func

from ..dialects import compile_context
from ..dialects.types import element_type, is_float, shape_of
from ..lowering.autodiff import COTANGENTS, GRAD_ARGS
from ..lowering.partition import NUM_SAVED, SAVED_BYTES
from . import debug
from .cpu import DEFAULT_PIPELINE, CpuFunction, OutputSpec, captured, torch_dtype
from .stages import run_stages_cached
from .tg_shapes import result_shapes

AUTODIFF_PIPELINE = (
    "tg-decompose{{targets=autodiff}},tg-autodiff{{wrt={wrt}}},tg-resolve-dims,canonicalize,cse,"
    "tg-fold-affine-gradients,tg-mark-triangular-zeros,tg-partition{{policy={policy}}}"
)


class CompiledAutograd:
    """`entry` of a tg module compiled as a differentiable torch function.

    Args:
        module_text: a tg module holding `@entry` (e.g. the importer's `@main`).
        requires_grad: per input, whether a gradient is wanted (non-float inputs never get one).
        entry: the function to differentiate.
        policy: tg-partition's policy ("min-cut" or "save-all").
        pipeline: the CPU pipeline for the forward and backward functions.
        chip: when given (e.g. 'sm_90'), the forward and backward are compiled for that GPU
            instead (runtime/gpu.py; `pipeline` is then unused) and called on CUDA tensors.
    Call it like the function; outputs are tensors connected to the autograd graph.
    """

    def __init__(
        self,
        module_text: str,
        requires_grad: Sequence[bool],
        entry: str = "main",
        policy: str = "min-cut",
        pipeline: str = DEFAULT_PIPELINE,
        chip: str | None = None,
    ):
        self.entry = entry
        self.n_inputs = len(requires_grad)
        graph, new = debug.graph_name(module_text)
        captured(graph, module_text, new, log=False)
        with debug.COMPILE_LOCK, compile_context(), ir.Location.unknown():
            module = ir.Module.parse(module_text)
            f = _func(module, entry)
            wrt = [
                i
                for i, (a, r) in enumerate(zip(f.arguments, requires_grad))
                if r and is_float(element_type(a.type))
            ]
            if not wrt:
                raise ValueError(f"runtime: no floating-point input of '@{entry}' requires grad")
            text = AUTODIFF_PIPELINE.format(wrt=",".join(map(str, wrt)), policy=policy)
            debug.count("autodiff_runs")
            module, times = run_stages_cached(  # Note [stage cache]
                module, module_text, text, "autodiff", graph, "fwd-bwd"
            )
            debug.log.info(
                "autodiff %s: %s", graph, ", ".join(f"{k} {v:.3f} s" for k, v in times.items())
            )
            fwd, bwd = _func(module, f"{entry}_fwd"), _func(module, f"{entry}_bwd")
            self.grad_args = list(ir.DenseI64ArrayAttr(bwd.attributes[GRAD_ARGS]))
            self.cotangents = list(ir.DenseI64ArrayAttr(bwd.attributes[COTANGENTS]))
            self.saved_bytes = ir.IntegerAttr(fwd.attributes[SAVED_BYTES]).value
            n_saved = ir.IntegerAttr(fwd.attributes[NUM_SAVED]).value
            self.n_results = len(fwd.type.results) - n_saved
            self.saved_inputs = _drop_returned_args(fwd, self.n_results)
            self.fwd, self.bwd = (_compiled(f, graph, pipeline, chip) for f in (fwd, bwd))
            results = fwd.type.results[: self.n_results]
            self.float_results = [is_float(element_type(t)) for t in results]

    def __call__(self, *inputs: torch.Tensor):
        if torch._C._are_functorch_transforms_active():
            return _CompiledFunction.apply(self, *inputs)
        return _apply(self, *inputs)  # Note [compiled autograd calls]


class _CompiledFunction(torch.autograd.Function):
    # Note [compiled autograd calls]
    # ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    # A training step calls the forward and the backward once each, after kernels that
    # have flushed the interpreter's data from the caches, so every Python object a call
    # touches costs a cache miss: a GPT-2 block's call spent about 250 us outside its
    # kernels, most of it in per-tensor work. Function.apply's Python wrapper only unwraps
    # functorch's dead wrappers (one generator step per argument) before the C++ apply,
    # so outside a functorch transform the C++ apply is called directly (_apply). The
    # compiled functions read storage only, so neither direction detaches its tensors:
    # autograd records nothing inside forward and backward. Measured on a small block's
    # training step (d 16, so that Python dominates; both versions alternating in one
    # process): 324 -> 298 us and 337 -> 315 us per step, and 640 -> 603 us and 696 -> 655
    # us with a 1024^3 matmul flushing the caches before each step.

    @staticmethod
    def forward(ctx, runner: CompiledAutograd, *inputs):
        outs = runner.fwd(*inputs)
        results, computed = outs[: runner.n_results], iter(outs[runner.n_results :])
        # saved_inputs: per saved value, the input index it aliases, or None if computed.
        saved = [inputs[i] if i is not None else next(computed) for i in runner.saved_inputs]
        ctx.runner = runner
        ctx.save_for_backward(*saved)
        ctx.mark_non_differentiable(*[r for r, f in zip(results, runner.float_results) if not f])
        return tuple(results)

    @staticmethod
    def backward(ctx, *grads):
        runner: CompiledAutograd = ctx.runner
        cts = [grads[i] for i in runner.cotangents]
        arg_grads = runner.bwd(*ctx.saved_tensors, *cts)
        out = [None] * runner.n_inputs
        for i, g in zip(runner.grad_args, arg_grads):
            out[i] = g
        return (None, *out)


_apply = super(torch.autograd.Function, _CompiledFunction).apply  # the C++ apply


def _compiled(f: func.FuncOp, graph: str, pipeline: str, chip: str | None):
    """`f` as a CpuFunction, or a GpuGraphFunction when a GPU chip is given."""
    name = f"{graph}-{f.sym_name.value}"
    if chip is None:
        return CpuFunction(
            _only(f), _specs(f), entry=f.sym_name.value, pipeline=pipeline, name=name
        )
    from .gpu import GpuGraphFunction

    return GpuGraphFunction(_only(f), _specs(f), chip=chip, entry=f.sym_name.value, name=name)


def _func(module: ir.Module, name: str) -> func.FuncOp:
    for op in module.body.operations:
        if isinstance(op, func.FuncOp) and op.sym_name.value == name:
            return op
    raise ValueError(f"runtime: no function '@{name}' in the module")


def _only(f: func.FuncOp) -> str:
    """A module holding just `f` (the others need no compiling), with its locations.
    Printed without verifying: the pipeline verified it, and the text is verified when
    parsed (verifying the tg ops in Python costs more than printing them)."""
    text = f.operation.get_asm(enable_debug_info=True, assume_verified=True)
    return f"module {{\n{text}\n}}\n"


def _drop_returned_args(fwd: func.FuncOp, n_results: int) -> list[int | None]:
    """Stop @f_fwd returning saved values that are its own arguments (the caller keeps
    the input tensor instead of a copy); report, per saved value, the input it is."""
    ret = list(fwd.entry_block.operations)[-1]
    values = list(ret.operands)
    args = list(fwd.arguments)
    sources: list[int | None] = []
    kept = values[:n_results]
    for v in values[n_results:]:
        idx = next((i for i, a in enumerate(args) if a == v), None)
        sources.append(idx)
        if idx is None:
            kept.append(v)
    with ir.InsertionPoint(ret), ret.location:
        func.ReturnOp(kept)
    ret.erase()
    fwd.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in args], [v.type for v in kept])
    )
    return sources


def _specs(f: func.FuncOp) -> list[OutputSpec]:
    """Output specs whose dynamic sizes come from replaying the function's shape rules."""
    text = _only(f)
    name = f.sym_name.value

    # 0-d integer arguments may be the size operands of dynamic_ ops (Note [runtime
    # sizes]): their values are part of the key.
    int_scalars = [
        i for i, t in enumerate(f.type.inputs)
        if shape_of(t) == () and isinstance(element_type(t), ir.IntegerType)
    ]

    @functools.lru_cache(maxsize=64)
    def shapes(key, values):
        with debug.COMPILE_LOCK, compile_context():  # Note [compile lock] (runtime/debug.py)
            module = ir.Module.parse(text)  # keep alive while its ops are read
            sizes = [None] * len(key)
            for i, v in zip(int_scalars, values):
                sizes[i] = v
            return result_shapes(_func(module, name), key, sizes)

    def shape_fn(i):
        return lambda inputs: shapes(
            tuple(tuple(t.shape) for t in inputs), tuple(int(inputs[j]) for j in int_scalars)
        )[i]

    return [
        OutputSpec(torch_dtype(element_type(t)), shape_of(t), shape_fn(i))
        for i, t in enumerate(f.type.results)
    ]
