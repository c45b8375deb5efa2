"""tg-cpu-recompute-elementwise: an elementwise op read by several elementwise consumers is
copied into each, so that fusion recomputes it instead of storing it (Note [recomputed
elementwise producers]), linalg on tensors.

Note [recomputed elementwise producers]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
linalg-fuse-elementwise-ops fuses a producer into its consumer only when the consumer is
its single use: one with two uses stays an op of its own, and its result a whole tensor
written to memory and read back by each consumer. A training step's backward has such
producers wherever the forward's cheap values are recomputed rather than saved: a GPT-2
block's backward recomputes GELU(x) for fc2's weight gradient and needs x/sqrt(2),
erf(x/sqrt(2)) and x/2 again for the GELU's own gradient, so it wrote those three
512x1024 tensors (2 MB each, beyond L2) and read each back twice: two nests that took 4%
of the step (perf), memory-bound at about 1 ns an element, for about 40 flops an element.

Here a producer whose every use is an input of an elementwise consumer that fusion will
take (a linalg.generic with all loops parallel, reading it through the identity map) is
cloned once per use, each clone with that one use; fusion then puts one into each
consumer, and the tensor is never written. The arithmetic runs once per consumer
instead of once: a few extra vector ops an element against a pass over memory.

Limits keep the copies cheap and bounded: the producer is a linalg.generic with all loops
parallel, one result written through the identity map and not read by its body, at most
MAX_BODY_OPS ops in its body (math.erf counts as one, before tg-cpu-expand-math), and at
most MAX_USES uses. Producers are visited last to first, so a producer's own producers
see the uses its copies add (and are copied in turn only within the same limits). A
producer read by a reduction (softmax's exp, read by its row sum and its division) is
left alone: row fusion keeps that one in a row buffer in L1 (Note [row-local buffers]).

Measured with bench/variants.py (on vs off, alternating rounds, one process), the GPT-2
block's training step: 16.05/16.78 vs 16.78/16.90 ms, 16.53/16.67 vs 16.64/16.92 ms, 21.04/
19.82 vs 21.33/20.57 ms (a slow phase): about 1% faster; perf put the two GELU nests at 1.6%
of the step instead of 4.1%, the GELU gradient now reading x alone and so applied in fc2's
input-gradient kernel as its epilogue (Note [matmul epilogues]). Two 2 MB temporaries fewer
also lower the backward's peak memory. Inference gains more: layer_norm's centred row,
read by the variance's square and by the normalization, is recomputed in both instead of
stored; the block's inference 4.765/4.799 vs 5.027/5.015 ms, layer_norm(softmax(x @ w))
2.958/2.904 vs 2.991/2.998 ms.
"""

from __future__ import annotations

from torch_mlir import ir

from .registry import ops_named, register_pass

# Set to False to store such producers (bench/variants.py A/B runs).
RECOMPUTE_ELEMENTWISE = True
MAX_USES = 4
MAX_BODY_OPS = 16


@register_pass("tg-cpu-recompute-elementwise")
def recompute_elementwise(module, pass_):
    """Copy each cheap elementwise producer into each of its elementwise consumers (Note
    [recomputed elementwise producers], lowering/cpu_recompute.py).

    Requires: linalg on tensors, before linalg-fuse-elementwise-ops.  Produces: producers
    with one use each."""
    if RECOMPUTE_ELEMENTWISE:
        duplicate_producers(module)


def _all_parallel(op) -> bool:
    return all("parallel" in str(t) for t in ir.ArrayAttr(op.attributes["iterator_types"]))


def maps_of(op) -> list[ir.AffineMap]:
    """A linalg op's indexing maps."""
    return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]


def _inputs(op) -> int:
    return len(op.operands) - len(op.results)


def plain_elementwise(op) -> bool:
    """`op` is a linalg.generic with one result, all loops parallel, a body that does not
    read its output and no linalg.index: its result at a point depends only on its inputs
    there (also Note [elementwise ops between transposes])."""
    if op.name != "linalg.generic" or len(op.results) != 1 or not _all_parallel(op):
        return False
    if any(True for _ in list(op.regions[0].blocks[0].arguments)[-1].uses):
        return False  # the body reads its output
    found = []
    op.walk(lambda o: (found.append(o) if o.name == "linalg.index" else None) or ir.WalkResult.ADVANCE)
    return not found


def _cheap_producer(op) -> bool:
    if not plain_elementwise(op) or not isinstance(op.results[0].type, ir.RankedTensorType):
        return False
    rank = ir.RankedTensorType(op.results[0].type).rank
    if maps_of(op)[-1] != ir.AffineMap.get_identity(rank):
        return False
    return len(op.regions[0].blocks[0].operations) <= MAX_BODY_OPS


def _fusable_use(use, rank: int) -> bool:
    """The use is an input of an all-parallel generic that reads it through the identity."""
    consumer = use.owner
    if not isinstance(consumer, ir.OpView) or consumer.operation.name != "linalg.generic":
        return False
    consumer = consumer.operation
    if use.operand_number >= _inputs(consumer) or not _all_parallel(consumer):
        return False
    return maps_of(consumer)[use.operand_number] == ir.AffineMap.get_identity(rank)


def duplicate_producers(module: ir.Operation) -> int:
    """Apply the Note's rewrite to every qualifying producer; returns how many were copied."""
    count = 0
    for op in reversed(ops_named(module, "linalg.generic")):
        op = op.operation
        if not _cheap_producer(op):
            continue
        result = op.results[0]
        uses = list(result.uses)
        rank = ir.RankedTensorType(result.type).rank
        if not 2 <= len(uses) <= MAX_USES or not all(_fusable_use(u, rank) for u in uses):
            continue
        for use in uses:
            consumer = use.owner.operation
            with ir.InsertionPoint(consumer):
                copy = op.clone()
            consumer.operands[use.operand_number] = copy.results[0]
        op.erase()
        count += 1
    return count
