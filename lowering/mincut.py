"""The min-cut policy of tg-partition: choose saved values by a max-flow/min-cut over the
joint function's dataflow, weighted by bytes (AOTAutograd's min-cut rematerialization).

Note [min-cut partition]
Every forward value v (one not computed from a cotangent) becomes two nodes v_in -> v_out
joined by an edge of capacity bytes(v); cutting that edge means "save v". Infinite edges:
  - source -> v_in for primal args and for forward-needed results of ops that may not be
    recomputed (mm, bmm, reductions, convolution, anything not in RECOMPUTABLE): those
    exist only in the forward, so the backward can get them only by saving them;
  - u_out -> v_in for every operand u of the op producing v (recomputing v needs u);
  - u_out -> sink for every forward value a backward op reads or a gradient returns.
A minimum cut is then a cheapest set of saved values from which the backward can
recompute everything else it reads using recomputable ops alone. Among equally cheap
cuts we prefer saving inputs (alive anyway), then values that are not a permute's result,
then the cut closest to the sink: the latest values, so the least recompute. A permuted
value saved is a transpose the forward must materialize (a GPT-2 block's forward wrote
y^T, 512 KB, only for the backward's proj weight gradient); its source saved, the
backward reads it through the contraction's indexing map (Note [contraction as named
ops]), or recomputes the permute next to its use. On the block: one transpose fewer in
each of its training modules, whose LLVM took 652 and 1237 ms part by part instead of 700
and 1362; the step's time is unchanged within this machine's noise (bench/variants.py,
on vs off: 18.56/17.37 vs 17.44/18.02 ms).
Constants have no inputs and are recomputed (never saved). Dynamic dims weigh 1.
Unlike AOTAutograd there is no extra penalty on long recompute chains or on fusion
boundaries: at equal bytes we already prefer less recompute.

Note [values a backward contraction reads]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Recomputing a value is free only when it fuses into its backward consumers. A contraction
(mm, bmm, convolution) reads its operands from memory, so an elementwise value it reads in
the backward is recomputed as a loop nest of its own that writes the whole tensor, which
the contraction then reads back. Such a value is not recomputed (AOTAutograd bans the same
"materialized in the backward" values): it is saved like a contraction's result. The
forward has it in memory anyway, as an operand of the forward's own contraction (a GPT-2
block's GELU output, fc2's input; a layer norm's output, the next Linear's input), so
saving it costs memory and no forward work. A value only the backward needs (an embedding
gradient's one-hot of the indices) is still recomputed there: saving it would add a
forward result, bigger than the indices it comes from. Views between the value and the
contraction (reshape, permute, broadcast, slice) do not count: the contraction reads
through them, or they are recomputed next to it, from the saved value. On the block's
training step the backward no longer recomputes GELU(x) (erf over 512K floats, 230 us) and
the two layer norms' outputs for the weight gradients of fc2, fc1 and qkv. Eager autograd
saves the same values (each Linear keeps its input): the block's forward now saves 12.59 MB
(9.44 MB before), against 12.61 MB of distinct storages that eager autograd saves. Paired
runs of the step (bench/variants.py --paired 100, against SAVE_CONTRACTION_OPERANDS off):
1.6% faster (73 of 100 rounds), and 1.3% in another run; saving GELU's output alone
measured 0.8% (65 of 100). The MLP's training step (whose ReLU outputs are now saved) is
unchanged (0.999). An earlier session had measured the rule neutral, when the kernels'
other costs hid it.
"""

from __future__ import annotations

from collections import deque

from ..dialects import ops_elementwise as E
from ..dialects import ops_linalg as L
from ..dialects import ops_nn as N
from ..dialects import ops_shape as S
from ..dialects.tg import from_attr

# Views: a contraction reads through them, or they are recomputed next to it (Note [values
# a backward contraction reads]).
VIEWS: tuple[type, ...] = (S.ReshapeOp, S.PermuteOp, S.BroadcastToOp, S.SliceOp,
                           S.DynamicReshapeOp, S.DynamicBroadcastToOp)
# Cheap, memory-bound ops that the backward may recompute (an allowlist: new ops are
# not recomputable until listed here).
RECOMPUTABLE: tuple[type, ...] = (
    E.UnaryOp,
    E.BinaryOp,  # includes comparisons
    E.UnaryPredicateOp,
    E.WhereOp,
    E.ConvertOp,
    E.ConstantOp,
    *VIEWS,
    S.CatOp,
    S.DimSizeOp,
    N.IotaOp,
)


def recomputable(op) -> bool:
    return isinstance(op, RECOMPUTABLE)


# Contractions: they read their operands from memory, fusing no elementwise producer.
CONTRACTIONS: tuple[type, ...] = (
    L.MmOp, L.BmmOp, L.MatmulOp, L.LinearOp, L.AddmmOp, N.ConvolutionOp,
)

# Set to False to recompute values a backward contraction reads (bench/variants.py A/B runs).
SAVE_CONTRACTION_OPERANDS = True


def contraction_operands(g) -> set:
    """Values the forward computes with recomputable, non-view ops that a backward
    contraction reads, directly or through views (Note [values a backward contraction
    reads])."""
    out = set()
    if not SAVE_CONTRACTION_OPERANDS:
        return out
    for op in g.ops:
        if not isinstance(op, CONTRACTIONS) or not any(r in g.backward for r in op.results):
            continue
        for v in op.operands:
            while v not in g.backward and isinstance(g.producer.get(v), VIEWS):
                v = g.producer[v].operands[0]
            producer = g.producer.get(v)
            if v in g.backward or producer is None or g.is_constant(v):
                continue
            # Only what the forward computes anyway: a backward-only value (an embedding
            # gradient's one-hot of the indices) would be a new forward result to save.
            if recomputable(producer) and producer.operation in g.fwd_ops:
                out.add(v)
    return out


# Set to False to drop the permute tie-break (bench/variants.py A/B runs).
PREFER_PERMUTE_SOURCES = True


def _permuted(g, v) -> int:
    """1 when `v` is the result of a permute that moves data (see the Note's tie-breaks)."""
    op = g.producer.get(v)
    if not PREFER_PERMUTE_SOURCES or not isinstance(op, S.PermuteOp):
        return 0
    perm = list(from_attr(op.operation.attributes["perm"]))
    return int(perm != sorted(perm))


def min_cut_saved(g) -> list:
    """Saved values for the JointGraph `g` (see Note [min-cut partition])."""
    from .partition import value_bytes

    values = [v for v in g.values() if v not in g.backward]
    node = {v: 2 * i + 1 for i, v in enumerate(values)}  # v_in; v_out is v_in + 1
    source, sink = 0, 2 * len(values) + 1
    primals = set(g.primals)
    # Bytes first; among equal bytes, fewer saved values that are not inputs (an input is
    # alive anyway, a saved intermediate is extra memory), then fewer permute results:
    # the tie-breaks sum to less than one byte's worth, so they never outweigh a byte.
    scale = 2 * len(values) + 1
    weight = {v: value_bytes(v) * scale + (v not in primals) + _permuted(g, v) for v in values}
    inf = sum(weight.values()) + 1
    net = FlowNetwork(sink + 1)
    kept = contraction_operands(g)
    for v in values:
        net.add(node[v], node[v] + 1, weight[v])
        op = g.producer.get(v)
        not_recomputable = op is not None and op.operation in g.fwd_ops and not recomputable(op)
        if v in primals or v in kept or not_recomputable:
            net.add(source, node[v], inf)
    for op in g.ops:
        fwd_inputs = [u for u in op.operands if u not in g.backward]
        if any(r in g.backward for r in op.results):
            for u in fwd_inputs:
                net.add(node[u] + 1, sink, inf)
            continue
        for r in op.results:
            for u in fwd_inputs:
                net.add(node[u] + 1, node[r], inf)
    for v in g.grads:
        if v not in g.backward:
            net.add(node[v] + 1, sink, inf)
    flow = net.max_flow(source, sink)
    if flow >= inf:
        raise AssertionError(f"min-cut partition found no finite cut (flow {flow})")
    sink_side = net.reaches(sink)
    return [v for v in values if node[v] not in sink_side and node[v] + 1 in sink_side]


class FlowNetwork:
    """Integer-capacity max flow (Edmonds-Karp); graphs here have a few thousand nodes."""

    def __init__(self, n: int):
        self.adj: list[list[int]] = [[] for _ in range(n)]
        self.cap: dict[tuple[int, int], int] = {}

    def add(self, u: int, v: int, c: int) -> None:
        if (u, v) not in self.cap:
            self.adj[u].append(v)
            self.adj[v].append(u)
            self.cap.setdefault((v, u), 0)
            self.cap[(u, v)] = 0
        self.cap[(u, v)] += c

    def max_flow(self, s: int, t: int) -> int:
        total = 0
        while True:
            parent = {s: s}
            todo = deque([s])
            while todo and t not in parent:
                u = todo.popleft()
                for v in self.adj[u]:
                    if v not in parent and self.cap[(u, v)] > 0:
                        parent[v] = u
                        todo.append(v)
            if t not in parent:
                return total
            push, v = None, t
            while v != s:
                c = self.cap[(parent[v], v)]
                push = c if push is None else min(push, c)
                v = parent[v]
            v = t
            while v != s:
                u = parent[v]
                self.cap[(u, v)] -= push
                self.cap[(v, u)] += push
                v = u
            total += push

    def reaches(self, t: int) -> set[int]:
        """Nodes that can still reach `t` in the residual graph."""
        seen, todo = {t}, deque([t])
        while todo:
            v = todo.popleft()
            for u in self.adj[v]:
                if u not in seen and self.cap[(u, v)] > 0:
                    seen.add(u)
                    todo.append(u)
        return seen
