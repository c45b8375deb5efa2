"""Partial graphs: a functionalized ATen graph cut into segments that compile and segments
that run eagerly, so one unsupported op costs its own eager call, not the whole graph.

Note [partial graphs]
~~~~~~~~~~~~~~~~~~~~~
classify() imports every call node once, into one scratch module in which the result of
an op that does not import is a fresh block argument: each op is judged on its own, never
skipped because an input of it did not import. A node's kind is (compiled?, grad mode):
grad mode comes from the graph's `_set_grad_enabled` calls (a `torch.no_grad()` block
inside the traced code), so a segment never straddles a grad-mode switch and runs under
its own mode.

plan() places the nodes in graph order, each into the first segment of its kind at or
after the segment of every input (strictly after, for an input of another kind), opening
a new segment at the end when none fits; then _sink() moves compiled nodes down to the
compiled segment that reads them when that crosses no more values. Segments run in list
order; values that cross them are tensors. getitem follows its tuple producer (a getitem
whose result does not import sends its producer eager, warning with that reason).
Symbolic scalar nodes (SymInt arithmetic, sym_size) belong to no segment: compiled
segments read their fake value, as the importer reads SymInt inputs; eager segments
recompute them from their own real inputs.

Tiny segments: when a graph has eager parts, a compiled segment made only of view and
shape ops (VIEW_OPS) runs eagerly instead, without a warning: compiled, its views would
become copies and it would add a call for no arithmetic. A lone arithmetic op still
compiles (about the cost of its eager call). Forced moves repeat until the plan is stable.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.fx as fx

from .errors import UnsupportedOpError

aten = torch.ops.aten

# Ops that only reshape, view or copy: not worth a compiled segment of their own.
VIEW_OPS = {
    operator.getitem,
    aten.view.default,
    aten.reshape.default,
    aten._unsafe_view.default,
    aten.unsqueeze.default,
    aten.squeeze.dim,
    aten.squeeze.dims,
    aten.squeeze.default,
    aten.flatten.using_ints,
    aten.unflatten.int,
    aten.permute.default,
    aten.transpose.int,
    aten.t.default,
    aten.expand.default,
    aten.slice.Tensor,
    aten.select.int,
    aten.alias.default,
    aten.clone.default,
    aten.contiguous.default,
    aten.detach.default,
    aten.lift_fresh_copy.default,
    aten.split.Tensor,
    aten.split_with_sizes.default,
    aten.chunk.default,
}

_SYM_OPS = {
    op
    for name, overload in [
        ("sym_size", "int"),
        ("sym_numel", "default"),
        ("sym_stride", "int"),
        ("sym_storage_offset", "default"),
    ]
    if (op := getattr(getattr(aten, name, None), overload, None)) is not None
}
_SCALARS = (torch.SymInt, torch.SymFloat, torch.SymBool, int, float, bool)


def is_grad_switch(node: fx.Node) -> bool:
    return node.op == "call_function" and (
        node.target is torch._C._set_grad_enabled
        or str(node.target).startswith("aten._set_grad_enabled")
    )


def is_ignored(node: fx.Node) -> bool:
    """Nodes with no value that no segment runs: metadata asserts and grad-mode switches
    (these set the kinds of the nodes after them instead)."""
    return node.op == "call_function" and (
        node.target is aten._assert_tensor_metadata.default or is_grad_switch(node)
    )


def is_symbolic(node: fx.Node) -> bool:
    """A scalar computed from sizes: SymInt arithmetic (operator.mul...) or sym_size."""
    if node.op != "call_function" or not isinstance(node.meta.get("val"), _SCALARS):
        return False
    return node.target in _SYM_OPS or not isinstance(node.target, torch._ops.OpOverload)


def _free(node: fx.Node) -> bool:
    """Nodes outside every segment."""
    return node.op != "call_function" or is_ignored(node) or is_symbolic(node)


def grad_modes(graph: fx.Graph, initial: bool) -> dict[fx.Node, bool]:
    """The grad mode each call node runs under, from the `_set_grad_enabled` calls before it."""
    mode, modes = initial, {}
    for node in graph.nodes:
        if is_grad_switch(node):
            mode = bool(node.args[0])
        elif node.op == "call_function":
            modes[node] = mode
    return modes


def classify(
    gm: fx.GraphModule, forced: dict | None = None
) -> dict[fx.Node, UnsupportedOpError | None]:
    """The call nodes that must run eagerly: node -> why (None for a forced move that is
    no fallback, e.g. a demoted view segment). See Note [partial graphs]."""
    from torch_mlir import ir
    from torch_mlir.dialects import func

    from ..dialects import compile_context
    from .aten import lower_node
    from .fx_importer import ImportContext, _get_attr, location_of, type_of

    forced = forced or {}
    eager: dict[fx.Node, UnsupportedOpError | None] = {}
    with compile_context(), ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp("classify", ([], []))
        block = fn.add_entry_block()

        def fresh(val):
            """An opaque stand-in for a value computed outside tg."""
            if isinstance(val, torch.Tensor):
                try:
                    return block.add_argument(type_of(val), ir.Location.unknown())
                except UnsupportedOpError:
                    return None  # e.g. a complex tensor: whoever reads it cannot import
            if isinstance(val, (list, tuple)):
                return [fresh(v) for v in val]
            return val

        ctx = ImportContext()
        with ir.InsertionPoint(block):
            for node in gm.graph.nodes:
                val = node.meta.get("val")
                if node.op == "placeholder":
                    ctx.values[node] = fresh(val)
                elif node.op == "get_attr":
                    try:
                        ctx.values[node] = _get_attr(gm, node)
                    except UnsupportedOpError:
                        ctx.values[node] = None
                elif node.op != "call_function":
                    continue
                elif is_ignored(node) or is_symbolic(node):
                    ctx.values[node] = val
                elif node in forced or (node.target is operator.getitem and node.args[0] in eager):
                    eager[node] = forced[node] if node in forced else eager[node.args[0]]
                    ctx.values[node] = fresh(val)
                else:
                    ctx.node = node
                    try:
                        with location_of(node):
                            ctx.values[node] = lower_node(ctx, node)
                    except UnsupportedOpError as e:
                        eager[node] = e
                        ctx.values[node] = fresh(val)
    return eager


@dataclass
class Segment:
    """Consecutive work of one kind. `inputs`: nodes computed before it (or placeholders),
    `outputs`: its nodes read after it; `body`: what its module copies, in graph order
    (its nodes, the get_attr constants they read and, for eager segments, the symbolic
    scalars they recompute)."""

    compiled: bool
    grad: bool
    nodes: list[fx.Node] = field(default_factory=list)
    inputs: list[fx.Node] = field(default_factory=list)
    outputs: list[fx.Node] = field(default_factory=list)
    body: list[fx.Node] = field(default_factory=list)

    @property
    def ops(self) -> list[str]:
        return [str(n.target) for n in self.nodes if isinstance(n.target, torch._ops.OpOverload)]


def _sym_roots(node: fx.Node, seen: dict) -> set[fx.Node]:
    """The segment nodes a symbolic scalar is computed from."""
    if node not in seen:
        roots: set[fx.Node] = set()
        for a in node.all_input_nodes:
            if is_symbolic(a):
                roots |= _sym_roots(a, seen)
            elif not _free(a):
                roots.add(a)
        seen[node] = roots
    return seen[node]


def plan(gm: fx.GraphModule, eager: dict, grad: bool) -> list[Segment]:
    """Segments for `gm` given the eagerly run nodes; see Note [partial graphs]."""
    graph = gm.graph
    modes = grad_modes(graph, grad)
    segments: list[Segment] = []
    where: dict[fx.Node, int] = {}
    roots: dict = {}
    for node in graph.nodes:
        if _free(node):
            continue
        compiled, mode = node not in eager, modes[node]
        low = 0
        for a in node.all_input_nodes:
            deps = [a] if not is_symbolic(a) else (() if compiled else _sym_roots(a, roots))
            for d in deps:
                if d in where:
                    s = segments[where[d]]
                    same = s.compiled == compiled and s.grad == mode
                    low = max(low, where[d] if same else where[d] + 1)
        index = next(
            (
                i
                for i in range(low, len(segments))
                if segments[i].compiled == compiled and segments[i].grad == mode
            ),
            None,
        )
        if index is None:
            segments.append(Segment(compiled, mode))
            index = len(segments) - 1
        segments[index].nodes.append(node)
        where[node] = index
    _sink(graph, segments, where)
    segments = [s for s in segments if s.nodes]
    where = {n: i for i, s in enumerate(segments) for n in s.nodes}
    out_node = next(n for n in graph.nodes if n.op == "output")
    sym_outputs = [a for a in out_node.all_input_nodes if is_symbolic(a)]
    if sym_outputs:
        segments.append(Segment(False, modes.get(sym_outputs[0], grad)))
    order = {n: i for i, n in enumerate(graph.nodes)}
    for seg in segments:
        if sym_outputs and seg is segments[-1]:
            seg.outputs.extend(sym_outputs)
        seg.inputs, seg.body = closure(
            seg.nodes + seg.outputs, order, copy_symbolic=not seg.compiled
        )
        for a in seg.inputs:
            if a in where and a not in segments[where[a]].outputs:
                segments[where[a]].outputs.append(a)
    for a in out_node.all_input_nodes:
        if a in where and a not in segments[where[a]].outputs:
            segments[where[a]].outputs.append(a)
    for seg in segments:
        seg.outputs.sort(key=order.__getitem__)
    return segments


def _sink(graph: fx.Graph, segments: list[Segment], where: dict[fx.Node, int]) -> None:
    """Move a compiled node whose readers all sit in one later compiled segment (same grad
    mode) into that segment, when that does not add values crossing segments: its result
    stops crossing, at most one of its inputs starts. Placing nodes as early as possible
    would otherwise materialize e.g. a weight's transpose as an output of the first
    segment, instead of leaving it to the matmul that reads it."""
    changed = True
    while changed:
        changed = False
        for node in reversed(graph.nodes):
            i = where.get(node)
            users = list(node.users)
            if (
                i is None
                or not segments[i].compiled
                or not isinstance(node.meta.get("val"), torch.Tensor)
                or node.target is operator.getitem
                or not users
                or any(u not in where for u in users)  # the graph output or a symbolic scalar
            ):
                continue
            j = where[users[0]]
            if any(where[u] != j for u in users) or j <= i:
                continue
            if not segments[j].compiled or segments[j].grad != segments[i].grad:
                continue
            newly_crossing = [
                a
                for a in node.all_input_nodes
                if where.get(a) == i and all(where.get(u) == i for u in a.users if u is not node)
            ]
            if len(newly_crossing) > 1:
                continue
            segments[i].nodes.remove(node)
            segments[j].nodes.append(node)
            where[node] = j
            changed = True
    order = {n: k for k, n in enumerate(graph.nodes)}
    for seg in segments:
        seg.nodes.sort(key=order.__getitem__)


def closure(members: list[fx.Node], order: dict, copy_symbolic: bool):
    """(inputs, body) of a segment made of `members`: what it reads from outside, and what
    its module copies, in graph order (the members, the get_attr constants they read and,
    when `copy_symbolic`, the symbolic scalars they read, recomputed)."""
    body, inputs = set(members), set()
    stack = list(members)
    while stack:
        for a in stack.pop().all_input_nodes:
            if a in body or a in inputs:
                continue
            if a.op == "get_attr" or (copy_symbolic and is_symbolic(a)):
                body.add(a)
                stack.append(a)
            else:
                inputs.add(a)
    return sorted(inputs, key=order.__getitem__), sorted(body, key=order.__getitem__)


def _moves(gm: fx.GraphModule, segments: list[Segment], eager: dict) -> dict:
    """Nodes a plan must still move to eager segments, with the reason to warn with (None
    for a view-only segment: no fallback)."""
    from .fx_importer import where_of

    moves: dict = {}
    for seg in segments:
        if not seg.compiled:
            continue
        for n in seg.outputs:  # only tensors cross out of compiled code
            if not isinstance(n.meta.get("val"), torch.Tensor):
                moves[n] = UnsupportedOpError(
                    f"frontend: {n.target} gives a non-tensor value read by eager code",
                    op=str(n.target),
                    where=where_of(n),
                )
        if eager and all(n.target in VIEW_OPS for n in seg.nodes):
            moves.update(dict.fromkeys(seg.nodes))
    for node, error in eager.items():  # a tuple result that does not import
        base = node.args[0] if node.target is operator.getitem else None
        if isinstance(base, fx.Node) and base not in eager:
            moves[base] = error
    return moves


def partition(gm: fx.GraphModule, grad: bool, forced: dict | None = None):
    """(eager nodes with their reasons, segments) for an ATen graph; `grad` is the grad
    mode the graph is called under, `forced` nodes run eagerly (node -> reason or None)."""
    forced = dict(forced or {})
    while True:
        eager = classify(gm, forced)
        segments = plan(gm, eager, grad)
        moves = {n: e for n, e in _moves(gm, segments, eager).items() if n not in forced}
        if not moves:
            return eager, segments
        forced.update(moves)


def segment_module(gm: fx.GraphModule, seg: Segment, as_eager: bool = False) -> fx.GraphModule:
    """A GraphModule of the segment alone: placeholders named (and typed, through their
    meta) like the nodes they stand for (their targets are those names), returning its
    outputs as a tuple. `as_eager`: a compiled segment's eager twin (symbolic scalars
    recomputed from their inputs rather than read as placeholders)."""
    inputs, body = seg.inputs, seg.body
    if as_eager and seg.compiled:
        order = {n: i for i, n in enumerate(gm.graph.nodes)}
        inputs, body = closure(seg.nodes + seg.outputs, order, copy_symbolic=True)
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for a in inputs:
        env[a] = graph.placeholder(a.name)
        env[a].meta = dict(a.meta)
    for n in body:
        env[n] = graph.node_copy(n, env.__getitem__)
    graph.output(tuple(env[o] for o in seg.outputs))
    return fx.GraphModule(gm, graph)
