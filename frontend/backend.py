"""The torch.compile backend: Dynamo FX graph -> functionalized pre-dispatch ATen on fake
tensors -> tg -> CPU executable, wrapped in a callable with Dynamo's calling convention.

An op the importer does not know makes its graph run eagerly, with one warning per op.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable, Sequence

import torch
import torch.fx as fx
from torch._functorch.aot_autograd import aot_export_module
from torch._guards import detect_fake_mode

from ..runtime.cpu import CompileError, CpuFunction, OutputSpec
from .errors import UnsupportedOpError
from .fx_importer import ImportedGraph, import_graph
from .shapes import output_shape_fn

log = logging.getLogger("dynamlir")

OPTIONS = {
    "pipeline": "the CPU pipeline run on the imported tg module (default: tg-cpu-pipeline)",
}

_warned: set[str] = set()


def warn_fallback(error: UnsupportedOpError) -> None:
    """One warning per op kind, naming the op and the source line."""
    key = error.op or str(error)
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(
        f"dynamlir: running a graph eagerly: {error.op or 'an op'} at {error.where or 'unknown location'} "
        f"is not supported ({error})",
        stacklevel=2,
    )


def check_options(options: dict[str, Any]) -> None:
    for key in options:
        if key not in OPTIONS:
            raise ValueError(
                f"dynamlir: unknown option '{key}' (allowed: {', '.join(sorted(OPTIONS))})"
            )


def export_aten(gm: fx.GraphModule, example_inputs: Sequence[Any]):
    """Functionalized, pre-dispatch ATen graph (composites like aten.linear kept whole)."""
    fake = [n.meta.get("example_value", n.meta.get("val")) for n in gm.graph.nodes if n.op == "placeholder"]
    if any(f is None for f in fake):
        fake = list(example_inputs)
    mode = detect_fake_mode(fake)
    if mode is None:
        from torch._subclasses.fake_tensor import FakeTensorMode

        mode = FakeTensorMode(allow_non_fake_inputs=True)
        fake = [mode.from_tensor(t) if isinstance(t, torch.Tensor) else t for t in fake]
    with mode, torch.no_grad():
        graph, sig = aot_export_module(gm, fake, trace_joint=False, pre_dispatch=True)
    return graph, sig


class CompiledGraph:
    """Calls the compiled function with Dynamo's convention: the graph's inputs in order,
    returning its outputs; lifted parameters are read from the module at call time."""

    def __init__(self, gm: fx.GraphModule, graph: fx.GraphModule, sig, imported: ImportedGraph,
                 pipeline: str, training: bool = False):
        self.gm = gm
        placeholders = [n for n in graph.graph.nodes if n.op == "placeholder"]
        user_index = {name: i for i, name in enumerate(sig.user_inputs)}
        self.sources: list[tuple[str, Any]] = []
        fake_inputs = []
        for n in placeholders:
            if n.name not in imported.arg_nodes:
                continue
            if n.name in sig.inputs_to_parameters:
                self.sources.append(("param", sig.inputs_to_parameters[n.name]))
            elif n.name in sig.inputs_to_buffers:
                self.sources.append(("buffer", sig.inputs_to_buffers[n.name]))
            else:
                self.sources.append(("input", user_index[n.name]))
            fake_inputs.append(n.meta["val"])
        out_names = [getattr(a, "name", None) for a in next(
            n for n in graph.graph.nodes if n.op == "output").args[0]]
        self.mutations: list[tuple[int, str, Any]] = []
        for i, name in enumerate(out_names):
            if name in sig.buffers_to_mutate:
                self.mutations.append((i, "buffer", sig.buffers_to_mutate[name]))
            elif name in sig.user_inputs_to_mutate:
                self.mutations.append((i, "input", user_index[sig.user_inputs_to_mutate[name]]))
        self.n_mutations = len(self.mutations)
        specs = [
            OutputSpec(v.dtype, tuple(s if isinstance(s, int) else -1 for s in v.shape),
                       output_shape_fn(v, fake_inputs))
            for v in imported.outputs
        ]
        self.function = CpuFunction(imported.module_text, specs, pipeline=pipeline)
        self.pipeline = pipeline
        # Outputs that can carry a gradient; with none, the no-grad path is exact.
        self.user_outputs = imported.outputs[self.n_mutations:]
        self._autograd: dict[tuple[bool, ...], Any] = {}
        self.module_text = imported.module_text
        # Compile now for the example inputs' layouts, so failures surface at compile time;
        # a graph captured for training (Dynamo guards on grad mode and requires_grad)
        # compiles its fwd/bwd on the first call instead.
        if not training:
            self.function.variant(tuple(t.is_contiguous() for t in fake_inputs))

    def _tensor(self, kind: str, ref, args):
        if kind == "param":
            return self.gm.get_parameter(ref)
        if kind == "buffer":
            return self.gm.get_buffer(ref)
        return args[ref]

    def __call__(self, *args):
        inputs = [self._tensor(kind, ref, args) for kind, ref in self.sources]
        if (torch.is_grad_enabled() and any(t.requires_grad for t in inputs)
                and any(o.is_floating_point() for o in self.user_outputs)):
            key = tuple(t.requires_grad for t in inputs)
            if (fn := self._autograd.get(key)) is None:
                from ..runtime.autograd import CompiledAutograd

                try:
                    fn = CompiledAutograd(self.module_text, key, entry="main", policy="min-cut",
                                          pipeline=self.pipeline)
                except (CompileError, ValueError) as e:
                    warn_fallback(UnsupportedOpError(str(e), op="autograd"))
                    fn = self.gm
                self._autograd[key] = fn
            if fn is self.gm:
                return self.gm(*args)
            outs = fn(*inputs)
            # Mutated buffers (e.g. BatchNorm running stats) are outputs of the forward:
            # written back outside autograd, as functionalization's epilogue does.
            with torch.no_grad():
                for i, kind, ref in self.mutations:
                    self._tensor(kind, ref, args).copy_(outs[i])
            return tuple(outs[self.n_mutations:])
        with torch.no_grad():
            outs = self.function(*[t.detach() for t in inputs])
            for i, kind, ref in self.mutations:
                self._tensor(kind, ref, args).copy_(outs[i])
        return tuple(outs[self.n_mutations:])


def compile_graph(gm: fx.GraphModule, example_inputs, pipeline: str = "tg-cpu-pipeline") -> Callable:
    graph, sig = export_aten(gm, example_inputs)
    imported = import_graph(graph)
    log.debug("imported graph:\n%s", imported.module_text)
    training = torch.is_grad_enabled() and any(
        getattr(t, "requires_grad", False) for t in example_inputs
    )
    return CompiledGraph(gm, graph, sig, imported, pipeline, training)


def dynamlir_backend(gm: fx.GraphModule, example_inputs, **options) -> Callable:
    """The `torch.compile(backend="dynamlir")` entry point.

    Args:
        gm: Dynamo's captured graph.
        example_inputs: its example inputs (real or fake).
        options: see OPTIONS.
    Returns:
        A callable with the graph's signature; the graph's own forward if it cannot compile.
    """
    check_options(options)
    try:
        return compile_graph(gm, example_inputs, **options)
    except UnsupportedOpError as e:
        warn_fallback(e)
        return gm.forward
    except CompileError as e:
        warn_fallback(UnsupportedOpError(str(e), op="compile", where=""))
        return gm.forward
