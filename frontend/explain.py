"""dynamlir.explain: what torch.compile(backend="dynamlir") would do with a model, per graph.

Like torch._dynamo.explain, plus dynamlir's view of each captured graph: which ATen ops
import to tg, which do not (and why, with the source line), and whether the CPU pipeline
compiles the imported module. The model runs eagerly (the analysis backend returns the
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


@dataclass
class Fallback:
    op: str
    where: str
    reason: str


@dataclass
class GraphReport:
    """One Dynamo graph as dynamlir sees it."""

    index: int
    compiled_ops: Counter = field(default_factory=Counter)  # ATen op -> count imported to tg
    fallbacks: list[Fallback] = field(default_factory=list)  # ops with no tg import
    skipped: int = 0  # ops not tried because an input of theirs did not import
    compile_error: str = ""  # a CPU pipeline failure of a fully imported graph

    @property
    def compiles(self) -> bool:
        return not self.fallbacks and not self.compile_error and not self.skipped


@dataclass
class ExplainReport:
    graphs: list[GraphReport]
    graph_breaks: list[str]
    guards: list[str]

    @property
    def fallback_count(self) -> int:
        return sum(not g.compiles for g in self.graphs)

    def __str__(self) -> str:
        lines = [
            f"dynamlir.explain: {len(self.graphs)} graph(s), {len(self.graph_breaks)} "
            f"graph break(s), {self.fallback_count} graph(s) running eagerly"
        ]
        for g in self.graphs:
            state = "compiled" if g.compiles else "runs eagerly"
            lines.append(
                f"graph {g.index}: {state}, {sum(g.compiled_ops.values())} ops import to tg"
            )
            for op, n in sorted(g.compiled_ops.items()):
                lines.append(f"  {op} x{n}")
            for f in g.fallbacks:
                lines.append(f"  FALLBACK {f.op} at {f.where}: {f.reason}")
            if g.skipped:
                lines.append(f"  ({g.skipped} ops after them not tried)")
            if g.compile_error:
                lines.append(f"  COMPILE ERROR {g.compile_error}")
        for i, reason in enumerate(self.graph_breaks):
            lines.append(f"graph break {i}: {reason}")
        lines.append(f"guards ({len(self.guards)}):")
        lines += [f"  {g}" for g in self.guards]
        return "\n".join(lines)


def analyze_graph(
    gm: fx.GraphModule, example_inputs, index: int = 0, compile: bool = True
) -> GraphReport:  # noqa: A002
    """Import `gm` node by node, recording every op that does not import (not only the
    first), then compile the module if everything imported."""
    from torch_mlir import ir
    from torch_mlir.dialects import func

    from ..dialects import make_context
    from .aten import lower_node
    from .backend import export_aten
    from .fx_importer import ImportContext, _get_attr, import_graph, location_of, type_of, where_of

    report = GraphReport(index)
    try:
        graph, _ = export_aten(gm, example_inputs)
    except Exception as e:  # noqa: BLE001 - reported, never raised
        report.fallbacks.append(Fallback("export", "", f"{type(e).__name__}: {e}"[:300]))
        return report
    failed: set[fx.Node] = set()
    with make_context(), ir.Location.unknown():
        module = ir.Module.create()
        args = [
            n
            for n in graph.graph.nodes
            if n.op == "placeholder" and isinstance(n.meta.get("val"), torch.Tensor)
        ]
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp("main", ([type_of(n.meta["val"]) for n in args], []))
        block = fn.add_entry_block()
        ctx = ImportContext()
        for n, a in zip(args, block.arguments):
            ctx.values[n] = a
        for n in graph.graph.nodes:
            if n.op == "placeholder" and n not in ctx.values:
                ctx.values[n] = n.meta.get("val")
        with ir.InsertionPoint(block):
            for node in graph.graph.nodes:
                if node.op == "get_attr":
                    ctx.values[node] = _get_attr(graph, node)
                if node.op != "call_function":
                    continue
                if any(a in failed for a in node.all_input_nodes):
                    failed.add(node)
                    report.skipped += 1
                    continue
                ctx.node = node
                try:
                    with location_of(node):
                        ctx.values[node] = lower_node(ctx, node)
                    if isinstance(node.target, torch._ops.OpOverload):
                        report.compiled_ops[str(node.target)] += 1
                except UnsupportedOpError as e:
                    failed.add(node)
                    report.fallbacks.append(
                        Fallback(e.op or str(node.target), e.where or where_of(node), str(e))
                    )
    if compile and not failed:
        report.compile_error = _compile_error(graph, import_graph)
    return report


def _compile_error(graph, import_graph) -> str:
    from ..runtime.cpu import CompileError, CpuFunction, OutputSpec

    try:
        imported = import_graph(graph)
        specs = [OutputSpec(v.dtype, tuple(-1 for _ in v.shape)) for v in imported.outputs]
        fake = [
            n.meta["val"]
            for n in graph.graph.nodes
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


def explain(model: Callable, *inputs: Any, compile: bool = True, **kwargs: Any) -> ExplainReport:  # noqa: A002
    """Report, per graph Dynamo captures from `model(*inputs, **kwargs)`: the ops dynamlir
    compiles, those that would fall back to eager and why, graph breaks and guards.

    Args:
        model: an nn.Module or a function.
        inputs, kwargs: example arguments (the model runs on them, eagerly, twice).
        compile: also run the CPU pipeline on graphs that import fully (slower, exact).
    Returns:
        An ExplainReport; `print(report)` shows it as text.
    """
    torch._dynamo.reset()
    try:
        dynamo = torch._dynamo.explain(model)(*inputs, **kwargs)
        torch._dynamo.reset()
        reports: list[GraphReport] = []

        def capture(gm, example_inputs):
            reports.append(analyze_graph(gm, example_inputs, len(reports), compile))
            return gm.forward

        torch.compile(model, backend=capture)(*inputs, **kwargs)
    finally:
        torch._dynamo.reset()
    breaks = []
    for r in dynamo.break_reasons:
        where = r.user_stack[-1] if r.user_stack else None
        loc = f" at {where.filename}:{where.lineno}" if where is not None else ""
        breaks.append(f"{r.reason.splitlines()[0]}{loc}")
    guards = sorted({_guard_text(g) for g in dynamo.out_guards})
    return ExplainReport(reports, breaks, guards)


__all__ = ["explain", "analyze_graph", "ExplainReport", "GraphReport", "Fallback"]
