"""The torch.compile backend: Dynamo FX graph -> functionalized pre-dispatch ATen on fake
tensors -> segments (frontend/partition.py) -> tg -> CPU executables, or GPU ones when the
graph's tensors are on a CUDA device (runtime/gpu.py), run in order by a callable with
Dynamo's calling convention.

An op the importer does not know runs eagerly between compiled segments (Note [partial
graphs]), with one warning per op kind naming it and its source line.
"""

from __future__ import annotations

import logging
import warnings
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import torch
import torch.fx as fx
from torch._functorch.aot_autograd import aot_export_module
from torch._guards import detect_fake_mode

from ..runtime.cpu import CompileError, CpuFunction, OutputSpec
from ..runtime import cache, debug, llvm_jit
from . import float_inputs
from .errors import UnsupportedOpError
from .options import check_option_values
from .fx_importer import import_graph
from .graph_cache import compile_cached
from .partition import Segment, partition, segment_module
from .per_shape import NeedsStaticShapes, PerShape, decision_key, has_symbolic_inputs, refusal
from .shapes import output_shape_fn

log = logging.getLogger("dynamlir")

OPTIONS = {
    "pipeline": "the CPU pipeline run on the imported tg module (default: tg-cpu-pipeline)",
    "chip": "the GPU architecture for CUDA tensors, e.g. sm_80 (default: the device's own)",
}

_warned: set[str] = set()


def warn_fallback(error: UnsupportedOpError, what: str = "") -> None:
    """One warning per op kind, naming the op and the source line (every fallback is logged)."""
    debug.log_fallback(what or error.op or "an op", error.where, str(error))
    key = error.op or str(error)
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(
        f"dynamlir: running {what or error.op or 'an op'} eagerly at "
        f"{error.where or 'unknown location'}: not supported ({error})",
        stacklevel=2,
    )


def check_options(options: dict[str, Any]) -> None:
    for key in options:
        if key not in OPTIONS:
            raise ValueError(
                f"dynamlir: unknown option '{key}' (allowed: {', '.join(sorted(OPTIONS))})"
            )
    check_option_values(options)


def export_aten(gm: fx.GraphModule, example_inputs: Sequence[Any]):
    """Functionalized, pre-dispatch ATen graph (composites like aten.linear kept whole)."""
    fake = [
        n.meta.get("example_value", n.meta.get("val"))
        for n in gm.graph.nodes
        if n.op == "placeholder"
    ]
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


class EagerSegment:
    """ATen ops run on the real tensors (autograd records them as in eager mode)."""

    compiled = False
    failed = False

    def __init__(self, module: fx.GraphModule, seg: Segment):
        self.module = module
        self.inputs = _input_names(module)
        self.outputs = [n.name for n in seg.outputs]
        self.grad = seg.grad

    def __call__(self, env: dict) -> Sequence:
        return self.module(*[env[n] for n in self.inputs])


def device_of(values: Sequence[Any], what: str) -> torch.device:
    """The one device of the tensors among `values` (cpu when there are none).

    Raises:
        UnsupportedOpError: tensors on several devices, or on one that is neither cpu nor
            cuda (the graph or segment then runs eagerly).
    """
    devices = {v.device for v in values if isinstance(v, torch.Tensor)}
    if len(devices) > 1:
        got = ", ".join(sorted(map(str, devices)))
        raise UnsupportedOpError(f"frontend: {what} on mixed devices ({got})", op="mixed devices")
    device = devices.pop() if devices else torch.device("cpu")
    if device.type not in ("cpu", "cuda"):
        raise UnsupportedOpError(
            f"frontend: {what} on device '{device}' (expected cpu or cuda)",
            op=f"device {device.type}",
        )
    return device


class CompiledSegment:
    """A segment's tg import compiled for the device its tensors are on (the CPU, or a
    CUDA GPU through runtime/gpu.py); under autograd, its AOT forward and backward
    (CompiledAutograd, built per requires_grad pattern on first use). If the pipeline fails
    on it, it runs eagerly from then on, with a warning."""

    compiled = True

    def __init__(
        self,
        module: fx.GraphModule,
        seg: Segment,
        differentiable: Sequence[bool],
        pipeline: str,
        training: bool,
        eager: EagerSegment | None,
        chip: str | None = None,
    ):
        imported = import_graph(module)
        self.eager = eager  # the eager twin, if what it reads is at hand
        self.outputs, self.grad = [n.name for n in seg.outputs], seg.grad
        placeholders = {p.name: p for p in module.graph.nodes if p.op == "placeholder"}
        self.args = [placeholders[n].target for n in imported.arg_nodes]  # tensor inputs
        # what it reads at run time (symbolic scalars it reads as constants of the import)
        self.inputs = list(dict.fromkeys(self.args + (eager.inputs if eager else [])))
        fake = [placeholders[n].meta["val"] for n in imported.arg_nodes]
        try:
            specs = [
                OutputSpec(
                    v.dtype,
                    tuple(s if isinstance(s, int) else -1 for s in v.shape),
                    output_shape_fn(v, fake),
                )
                for v in imported.outputs
            ]
            _check_sizes(specs, imported.outputs, fake)
        except Exception as e:  # a size no input size determines, or a bug
            raise UnsupportedOpError(f"frontend: output sizes: {e}", op="output shape") from e
        self.device = device_of([*fake, *imported.outputs], "segment tensors")
        self.chip = None
        if self.device.type == "cuda":
            from ..runtime.gpu import GpuGraphFunction, chip_for

            try:
                self.chip = chip_for(self.device, chip)
            except ValueError as e:
                raise UnsupportedOpError(str(e), op="gpu chip") from None
            self.function = GpuGraphFunction(imported.module_text, specs, chip=self.chip)
        else:
            self.function = CpuFunction(imported.module_text, specs, pipeline=pipeline)
        self.pipeline = pipeline
        self.module_text = imported.module_text
        # With no float output read as a value (mutated buffers are written back under
        # no_grad), the no-grad path is exact.
        self.differentiable = any(
            d and o.is_floating_point() for d, o in zip(differentiable, imported.outputs)
        )
        self._autograd: dict[tuple[bool, ...], Any] = {}
        self.failed = False
        self.where = next((w for n in seg.nodes if (w := _where(n))), "")
        # Compile now for the example inputs' layouts, so failures surface at compile time;
        # a graph captured for training compiles its fwd/bwd on the first call instead.
        if not training and self.chip is not None:
            self.function.compile()  # GPU inputs are made contiguous: one variant
        elif not training:
            self.function.variant(tuple(t.is_contiguous() for t in fake))

    def _fail(self, error: Exception, op: str, env: dict) -> Sequence:
        """Run eagerly from now on (its twin), or re-raise if it has none."""
        if self.eager is None:
            raise error
        warn_fallback(
            UnsupportedOpError(str(error).splitlines()[0], op=op, where=self.where),
            what="a compiled segment",
        )
        self.failed = True
        return self.eager(env)

    def __call__(self, env: dict) -> Sequence:
        return self.run([env[n] for n in self.args], lambda: env)

    def run(self, inputs: list, env_of: Callable[[], dict]) -> Sequence:
        """The segment on its tensor inputs (in the order of self.args); `env_of()` gives
        the values by name for the eager twin, built only when it runs."""
        if self.failed:
            return self.eager(env_of())
        if not torch.is_grad_enabled():
            try:
                return self.function(*inputs)  # reads storage only: nothing to detach
            except CompileError as e:  # a new input layout that does not compile
                return self._fail(e, "compile", env_of())
        if self.differentiable and any(t.requires_grad for t in inputs):
            key = tuple(t.requires_grad for t in inputs)
            if (fn := self._autograd.get(key)) is None:
                from ..runtime.autograd import CompiledAutograd

                try:
                    fn = CompiledAutograd(
                        self.module_text,
                        key,
                        entry="main",
                        policy="min-cut",
                        pipeline=self.pipeline,
                        chip=self.chip,
                    )
                except (CompileError, ValueError) as e:
                    return self._fail(e, "autograd", env_of())
                self._autograd[key] = fn
            try:
                return fn(*inputs)
            except CompileError as e:  # its forward compiles at the first call
                return self._fail(e, "compile", env_of())
        try:
            with torch.no_grad():
                return self.function(*inputs)
        except CompileError as e:  # a new input layout that does not compile
            return self._fail(e, "compile", env_of())


def _input_names(module: fx.GraphModule) -> list[str]:
    """The names of the nodes a segment module's placeholders stand for."""
    return [p.target for p in module.graph.nodes if p.op == "placeholder"]


class SegmentError(Exception):
    """A compiled segment that cannot be built: the backend plans again, with it eager."""

    def __init__(self, segment: Segment, error: Exception):
        super().__init__(str(error))
        self.segment, self.error = segment, error


def _hint(size) -> int:
    if isinstance(size, int):
        return size
    if (hint := size.node.hint) is None:
        raise NotImplementedError(f"size {size} has no example value")
    return int(hint)


def _check_sizes(specs: Sequence[OutputSpec], outputs: Sequence[torch.Tensor], fake) -> None:
    """The output size functions must give the example's sizes for the example inputs (the
    segment runs eagerly otherwise, rather than failing at call time)."""
    examples = [SimpleNamespace(shape=[_hint(s) for s in t.shape]) for t in fake]
    for spec, out in zip(specs, outputs):
        if spec.shape_fn is not None:
            got, want = list(spec.shape_fn(examples)), [_hint(s) for s in out.shape]
            if got != want:
                raise NotImplementedError(f"sizes {got} for the example, expected {want}")


def _attr(module: torch.nn.Module, target: str):
    for part in target.split("."):
        module = getattr(module, part)
    return module


def _where(node: fx.Node) -> str:
    from .fx_importer import source_location

    src = source_location(node)
    return f"{src[0]}:{src[1]}" if src else ""


class PartialGraph:
    """Runs a graph's segments in order with Dynamo's convention: the graph's inputs in
    order, returning its outputs; lifted parameters and buffers are read from the module
    at call time, and mutated inputs and buffers are written back after the last segment.
    A fully supported graph is one compiled segment."""

    def __init__(
        self,
        gm: fx.GraphModule,
        graph: fx.GraphModule,
        sig,
        segments: list[Segment],
        pipeline: str,
        training: bool,
        chip: str | None = None,
    ):
        self.gm = gm
        user_index = {name: i for i, name in enumerate(sig.user_inputs)}
        self.sources: list[tuple[str, str, Any]] = []
        self.constants: dict[str, Any] = {}
        for n in graph.graph.nodes:
            if n.name in sig.inputs_to_parameters:
                self.sources.append((n.name, "param", sig.inputs_to_parameters[n.name]))
            elif n.name in sig.inputs_to_buffers:
                self.sources.append((n.name, "buffer", sig.inputs_to_buffers[n.name]))
            elif n.op == "placeholder":
                if n.name not in user_index:
                    raise UnsupportedOpError(
                        f"frontend: graph input '{n.name}' is not supported", op="input"
                    )
                self.sources.append((n.name, "input", user_index[n.name]))
            elif n.op == "get_attr":
                self.constants[n.name] = _attr(graph, n.target)
        out_args = list(next(n for n in graph.graph.nodes if n.op == "output").args[0])
        self.out = [(a.name, None) if isinstance(a, fx.Node) else (None, a) for a in out_args]
        self.mutations: list[tuple[int, str, Any]] = []
        for i, (name, _) in enumerate(self.out):
            if name in sig.buffers_to_mutate:
                self.mutations.append((i, "buffer", sig.buffers_to_mutate[name]))
            elif name in sig.user_inputs_to_mutate:
                self.mutations.append((i, "input", user_index[sig.user_inputs_to_mutate[name]]))
        self.n_mutations = len(self.mutations)
        # A value is read as a value unless its only reader is a mutation write-back.
        values = {a.name for a in out_args[self.n_mutations :] if isinstance(a, fx.Node)}
        readers = {a.name for s in segments for a in s.inputs}
        self.steps: list[EagerSegment | CompiledSegment] = []
        available = set(self.constants) | {name for name, _, _ in self.sources}
        for seg in segments:
            module = segment_module(graph, seg)
            if not seg.compiled:
                self.steps.append(EagerSegment(module, seg))
            else:
                twin = EagerSegment(segment_module(graph, seg, as_eager=True), seg)
                twin = twin if set(twin.inputs) <= available else None
                read = [o.name in values or o.name in readers for o in seg.outputs]
                try:
                    self.steps.append(
                        CompiledSegment(module, seg, read, pipeline, training, twin, chip)
                    )
                except (UnsupportedOpError, CompileError) as e:
                    raise SegmentError(seg, e) from e
            available.update(self.steps[-1].outputs)
        # Intermediate values are dropped after their last reader, as eager frees them.
        last: dict[str, int] = {}
        for i, s in enumerate(self.steps):
            for name in s.inputs:
                last[name] = i
        kept = {name for name, _ in self.out}
        self.release = [
            [n for n, j in last.items() if j == i and n not in kept] for i in range(len(self.steps))
        ]
        # Inputs and buffers written back at the end are copied before eager code reads
        # them under autograd: an op saving one for its backward (e.g. running stats) would
        # otherwise see the write-back bump its version.
        mutated = {("buffer", r) for r in sig.buffers_to_mutate.values()}
        mutated |= {("input", user_index[r]) for r in sig.user_inputs_to_mutate.values()}
        eager_reads = {n for s in self.steps if not s.compiled for n in s.inputs}
        self.protect = [
            name
            for name, kind, ref in self.sources
            if (kind, ref) in mutated and name in eager_reads
        ]
        self.direct = self._direct_call()

    def _direct_call(self) -> tuple[list[int], list[int]] | None:
        """Note [direct graph calls]: for a graph that is one compiled segment reading only
        the graph's inputs, with no write-backs, (the graph input each segment argument
        is, the segment output each graph output is); else None.

        A training step calls its graph once, after kernels that have flushed the
        interpreter's data from the caches, so each dict and list built per call costs
        cache misses: the general path builds the environment of every source, then
        picks the segment's arguments and the graph's outputs out of it by name. Measured
        on a small block's training step (d 16, so that Python dominates; both paths
        alternating in one process): 324 -> 314 and 497 -> 480 us per step, and 761 -> 722
        and 898 -> 872 us with a 1024^3 matmul flushing the caches before each step."""
        if len(self.steps) != 1 or not self.steps[0].compiled or self.constants:
            return None
        if self.mutations or self.protect or any(kind != "input" for _, kind, _ in self.sources):
            return None
        step = self.steps[0]
        position = {name: ref for name, _, ref in self.sources}
        if any(name is None or name not in step.outputs for name, _ in self.out):
            return None
        return [position[n] for n in step.args], [step.outputs.index(name) for name, _ in self.out]

    def _env(self, args) -> dict:
        env = dict(self.constants)
        for name, kind, ref in self.sources:
            env[name] = self._tensor(kind, ref, args)
        return env

    @property
    def compiled_segments(self) -> int:
        return sum(s.compiled and not s.failed for s in self.steps)

    def _tensor(self, kind: str, ref, args):
        if kind == "param":
            return self.gm.get_parameter(ref)
        if kind == "buffer":
            return self.gm.get_buffer(ref)
        return args[ref]

    def __call__(self, *args):
        grad = torch.is_grad_enabled()
        if self.direct is not None and self.steps[0].grad == grad:  # Note [direct graph calls]
            order, picks = self.direct
            outs = self.steps[0].run([args[i] for i in order], lambda: self._env(args))
            return tuple([outs[i] for i in picks])
        env = self._env(args)
        if grad and self.protect:
            for name in self.protect:
                env[name] = env[name].clone()
        for step, release in zip(self.steps, self.release):
            if step.grad == grad:
                outs = step(env)
            else:
                with torch.set_grad_enabled(step.grad):
                    outs = step(env)
            env.update(zip(step.outputs, outs))
            for name in release:
                del env[name]
        outs = [env[name] if name is not None else value for name, value in self.out]
        # Mutated buffers (e.g. BatchNorm running stats) and inputs are written back outside
        # autograd, as functionalization's epilogue does.
        if self.mutations:
            with torch.no_grad():
                for i, kind, ref in self.mutations:
                    self._tensor(kind, ref, args).copy_(outs[i])
        return tuple(outs[self.n_mutations :])


def compile_graph(
    gm: fx.GraphModule,
    example_inputs,
    pipeline: str = "tg-cpu-pipeline",
    chip: str | None = None,
) -> Callable:
    if not any(isinstance(t, torch.Tensor) and t.device.type != "cpu" for t in example_inputs):
        # The JIT's helpers get ready while this graph is exported and lowered; started
        # here, on a graph cache miss, not for a graph the disk cache has: a second
        # process would pay their start-up (Python and llvmlite, 0.35 s of CPU) on the
        # core its first call runs on.
        llvm_jit.start_helpers()
    graph, sig = export_aten(gm, example_inputs)
    inputs = [n.meta.get("val") for n in graph.graph.nodes if n.op == "placeholder"]
    device_of(inputs, "graph inputs")  # mixed devices: the whole graph runs eagerly
    grad = torch.is_grad_enabled()
    training = grad and any(getattr(t, "requires_grad", False) for t in example_inputs)
    dynamic = has_symbolic_inputs(gm, example_inputs)
    forced: dict = {}
    while True:
        eager, segments = partition(graph, grad, forced)
        if dynamic and (refused := refusal(eager)) is not None:  # Note [per-shape specialization]
            raise NeedsStaticShapes(refused)
        try:
            runner = PartialGraph(gm, graph, sig, segments, pipeline, training, chip)
            break
        except SegmentError as e:  # plan again with the segment's nodes eager
            seg, error = e.segment, e.error
            if dynamic:
                raise NeedsStaticShapes(error) from None
            where = next((w for n in seg.nodes if (w := _where(n))), "")
            op = getattr(error, "op", "") or "compile"
            warn_fallback(
                UnsupportedOpError(str(error).splitlines()[0], op=op, where=where),
                what="a compiled segment",
            )
            forced.update(dict.fromkeys(seg.nodes))
    for error in eager.values():
        if error is not None:
            warn_fallback(error)
    if log.isEnabledFor(logging.DEBUG):
        for i, s in enumerate(segments):
            log.debug("segment %d (%s): %s", i, "compiled" if s.compiled else "eager", s.ops)
    return runner


def _compile_maybe_per_shape(graph: fx.GraphModule, example_inputs, options: dict) -> Callable:
    """The graph's runner (Note [graph cache]), or, for a dynamic graph that needs static
    shapes, its PerShape runner (Note [per-shape specialization]), the decision recorded on
    disk so that a later process skips the shape-generic attempt."""
    per_shape = lambda reason: PerShape(  # noqa: E731
        graph,
        lambda g, ex: _or_eager(lambda: compile_cached(g, ex, options, compile_graph), g.forward),
        reason,
    )
    key = decision_key(graph, options) if has_symbolic_inputs(graph, example_inputs) else None
    if key is not None and (record := cache.load_record(key, "per-shape")) is not None:
        debug.count("per_shape_hits")
        return per_shape(str(record.get("reason", "recorded")))
    try:
        return compile_cached(graph, example_inputs, options, compile_graph)
    except NeedsStaticShapes as e:
        debug.log.info("dynamic graph compiled per input shape: %s", e.error)
        if key is not None:
            cache.store_record(key, "per-shape", {"reason": str(e.error)})
        return per_shape(e.error)


def dynamlir_backend(gm: fx.GraphModule, example_inputs, **options) -> Callable:
    """The `torch.compile(backend="dynamlir")` entry point.

    Args:
        gm: Dynamo's captured graph.
        example_inputs: its example inputs (real or fake).
        options: see OPTIONS; `torch.compile(..., options={...})` hands them over as one
            `options` dict, which is merged in.
    Returns:
        A callable with the graph's signature: compiled segments with eager ones between
        them; the graph's own forward if even that cannot be built.
    """
    if isinstance(options.get("options"), dict):
        options = {**options.pop("options"), **options}
    check_options(options)

    def build() -> Callable:
        graph, floats = float_inputs.specialize(gm, example_inputs)  # Note [dynamic float inputs]
        runner = _compile_maybe_per_shape(graph, example_inputs, options)
        return float_inputs.CheckedFloats(runner, gm.forward, floats) if floats else runner

    return _or_eager(build, gm.forward)


def _or_eager(build: Callable[[], Callable], forward: Callable) -> Callable:
    """`build()`, or the graph's own `forward` with one warning when it cannot be compiled
    (the backend's first call, and each shape of Note [per-shape specialization])."""
    try:
        with debug.gc_paused():  # Dynamo's capture is done; export and import are ours
            return build()
    except UnsupportedOpError as e:
        warn_fallback(e, what="a graph")
    except CompileError as e:
        warn_fallback(UnsupportedOpError(str(e).splitlines()[0], op="compile"), what="a graph")
    return forward
