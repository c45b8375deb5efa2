"""dynamlir.explain: what torch.compile(backend="dynamlir") would do with a model, per graph.

Like torch._dynamo.explain, plus dynamlir's view of each captured graph: which ATen ops
import to tg, which do not (and why, with the source line), the segments the backend cuts
the graph into (compiled, or eager around the ops that do not import) and whether the CPU
pipeline compiles each compiled segment. The model runs eagerly (the analysis backend returns the
graphs' own forward), twice: once for Dynamo's explain (graph breaks, guards) and once to
capture the graphs with their example inputs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.fx as fx

from .errors import UnsupportedOpError
from .per_shape import has_symbolic_inputs, refusal


@dataclass
class Fallback:
    op: str
    where: str
    reason: str


@dataclass
class SegmentReport:
    """One segment of a graph (Note [partial graphs] in frontend/partition.py)."""

    compiled: bool
    ops: Counter = field(default_factory=Counter)  # ATen op -> count
    compile_error: str = ""  # a CPU pipeline failure (the segment would run eagerly)


@dataclass
class GraphReport:
    """One Dynamo graph as dynamlir sees it: its segments, compiled or eager, in run order."""

    index: int
    compiled_ops: Counter = field(default_factory=Counter)  # ATen op -> count in compiled segments
    fallbacks: list[Fallback] = field(default_factory=list)  # ops with no tg import
    segments: list[SegmentReport] = field(default_factory=list)
    compile_error: str = ""  # the first compile error of a compiled segment
    # why a dynamic graph is compiled once per input shape (Note [per-shape specialization])
    per_shape: str = ""

    @property
    def compiles(self) -> bool:
        """The whole graph compiles (one compiled segment, no eager part)."""
        return (
            not self.fallbacks and not self.compile_error and all(s.compiled for s in self.segments)
        )

    @property
    def eager_ops(self) -> Counter:
        return sum((s.ops for s in self.segments if not s.compiled), Counter())


@dataclass
class ExplainReport:
    graphs: list[GraphReport]
    graph_breaks: list[str]
    guards: list[str]

    @property
    def fallback_count(self) -> int:
        """Graphs with an eager part."""
        return sum(not g.compiles for g in self.graphs)

    def __str__(self) -> str:
        lines = [
            f"dynamlir.explain: {len(self.graphs)} graph(s), {len(self.graph_breaks)} "
            f"graph break(s), {self.fallback_count} graph(s) with eager parts"
        ]
        for g in self.graphs:
            n_compiled = sum(s.compiled for s in g.segments)
            how = "compiled" if g.compiles else "partly eager"
            how = "compiled per input shape" if g.per_shape else how
            lines.append(
                f"graph {g.index}: {how}, "
                f"{sum(g.compiled_ops.values())} ops compile, {n_compiled} of "
                f"{len(g.segments)} segment(s) compiled"
            )
            for i, s in enumerate(g.segments):
                ops = ", ".join(f"{op} x{n}" for op, n in sorted(s.ops.items()))
                lines.append(f"  segment {i}: {'compiled' if s.compiled else 'eager'}: {ops}")
                if s.compile_error:
                    lines.append(f"    COMPILE ERROR {s.compile_error}")
            if g.per_shape:
                lines.append(f"  compiled once per input shape (up to 8), not shape-generically "
                             f"(the segments below are its shape-generic plan): {g.per_shape}")
            for f in g.fallbacks:
                lines.append(f"  FALLBACK {f.op} at {f.where}: {f.reason}")
        for i, reason in enumerate(self.graph_breaks):
            lines.append(f"graph break {i}: {reason}")
        lines.append(f"guards ({len(self.guards)}):")
        lines += [f"  {g}" for g in self.guards]
        return "\n".join(lines)


def analyze_graph(
    gm: fx.GraphModule, example_inputs, index: int = 0, compile: bool = True
) -> GraphReport:  # noqa: A002
    """Partition `gm` as the backend does (every op that does not import is listed, not
    only the first), then compile each compiled segment if `compile`."""
    from .backend import export_aten
    from .fx_importer import where_of
    from .partition import partition, segment_module

    from . import float_inputs

    report = GraphReport(index)
    try:
        gm, _ = float_inputs.specialize(gm, example_inputs)  # as the backend does
        graph, _ = export_aten(gm, example_inputs)
        eager, segments = partition(graph, torch.is_grad_enabled())
    except Exception as e:  # noqa: BLE001 - reported, never raised
        report.fallbacks.append(Fallback("export", "", f"{type(e).__name__}: {e}"[:300]))
        return report
    seen: set[str] = set()
    for node, e in eager.items():
        if e is not None and (e.op, e.where) not in seen:
            seen.add((e.op, e.where))
            report.fallbacks.append(
                Fallback(e.op or str(node.target), e.where or where_of(node), str(e))
            )
    for seg in segments:
        s = SegmentReport(seg.compiled, Counter(seg.ops))
        if seg.compiled:
            report.compiled_ops.update(s.ops)
            if compile:
                s.compile_error = _compile_error(segment_module(graph, seg))
                report.compile_error = report.compile_error or s.compile_error
        report.segments.append(s)
    if has_symbolic_inputs(gm, example_inputs):  # as compile_graph decides
        refused = refusal(eager)
        report.per_shape = str(refused) if refused is not None else report.compile_error
    return report


def _compile_error(module: fx.GraphModule) -> str:
    from ..runtime.cpu import CompileError, CpuFunction, OutputSpec
    from .fx_importer import import_graph

    try:
        imported = import_graph(module)
        specs = [OutputSpec(v.dtype, tuple(-1 for _ in v.shape)) for v in imported.outputs]
        fake = [
            n.meta["val"]
            for n in module.graph.nodes
            if n.op == "placeholder" and n.name in imported.arg_nodes
        ]
        CpuFunction(imported.module_text, specs).variant(tuple(t.is_contiguous() for t in fake))
    except (UnsupportedOpError, CompileError) as e:
        return str(e).splitlines()[0][:300]
    return ""


def _guard_text(g) -> str:
    name = g.name or ""
    kind = g.create_fn_name()
    code = "; ".join(g.code_list or [])
    code = code if len(code) <= 120 else code[:117] + "..."
    return (
        f"{name}: {kind}" + (f" ({code})" if code else "")
        if name
        else f"{kind}" + (f" ({code})" if code else "")
    )


def explain(
    model: Callable, *inputs: Any, compile: bool = True, dynamic: bool = False, **kwargs: Any  # noqa: A002
) -> ExplainReport:
    """Report, per graph Dynamo captures from `model(*inputs, **kwargs)`: the ops dynamlir
    compiles, those that would fall back to eager and why, graph breaks and guards.

    Args:
        model: an nn.Module or a function.
        inputs, kwargs: example arguments (the model runs on them, eagerly, twice).
        compile: also run the CPU pipeline on graphs that import fully (slower, exact).
        dynamic: capture with symbolic sizes, as torch.compile(dynamic=True) does; a graph
            compiled once per input shape says why (Note [per-shape specialization]).
    Returns:
        An ExplainReport; `print(report)` shows it as text.
    """
    torch._dynamo.reset()
    try:
        with torch._dynamo.config.patch(assume_static_by_default=not dynamic):
            dynamo = torch._dynamo.explain(model)(*inputs, **kwargs)
            torch._dynamo.reset()
            reports: list[GraphReport] = []

            def capture(gm, example_inputs):
                reports.append(analyze_graph(gm, example_inputs, len(reports), compile))
                return gm.forward

            torch.compile(model, backend=capture, dynamic=dynamic or None)(*inputs, **kwargs)
    finally:
        torch._dynamo.reset()
    breaks = []
    for r in dynamo.break_reasons:
        where = r.user_stack[-1] if r.user_stack else None
        loc = f" at {where.filename}:{where.lineno}" if where is not None else ""
        breaks.append(f"{r.reason.splitlines()[0]}{loc}")
    guards = sorted({_guard_text(g) for g in dynamo.out_guards})
    return ExplainReport(reports, breaks, guards)


__all__ = ["explain", "analyze_graph", "ExplainReport", "GraphReport", "SegmentReport", "Fallback"]
