"""Loops our CPU kernels write out themselves, marked so that LLVM leaves them as they are
(Note [explicit loops]), and tg-cpu-loop-hints, which hands the mark to LLVM.

Note [explicit loops]
~~~~~~~~~~~~~~~~~~~~~
LLVM's O3 pipeline (runtime/llvm_worker.py) runs its loop vectorizer on every innermost
loop, and the elementwise loops that convert-linalg-to-parallel-loops leaves need it. The
loops of our own kernels do not: a matmul micro-kernel, a transpose tile or a direct
convolution is vectorized and unrolled when we emit it, and its scalar loops (a transpose's
edge tiles, a matmul's one-lane column tail, the k tail of a packed panel) are remainders
that run a few times per call. The vectorizer still re-expands each of those remainders
into a runtime-checked vector body, an epilogue and a scalar copy, and that is compile
time with nothing to gain: measured on the MLP's shape-general transpose kernel (one part
of the module, compiled alone, best of six), 80 -> 59 ms of LLVM with its two edge loops
marked; the two share helpers with loops (Note [balanced thread shares]) 37 -> 26 ms, and
the MLP's whole module 355 -> 312 ms (each part alone, best of five, in a slow phase of
the machine). The kernels' run time did not move (bench/variants.py, EXPLICIT_LOOPS on
and off, two pairs each: the GPT-2 block 3.611/3.584 vs 3.624/3.581 ms, the MLP
3.213/3.217 vs 3.170/3.205 ms, the CNN 0.987/0.972 vs 0.978/0.991 ms).

Such loops carry `llvm.loop_annotation = #llvm.loop_annotation<disableNonforced = true>`
(`explicit_loop`), LLVM's `llvm.loop.disable_nonforced`: no vectorization, unrolling or
distribution that the loop does not ask for. convert-scf-to-cf copies the attribute to the
loop's back edge, but convert-cf-to-llvm keeps it there under that discardable name, which
the LLVM IR translation ignores; tg-cpu-loop-hints moves it to the branch's own
`loop_annotation`, the one translated into `!llvm.loop` metadata.
"""

from __future__ import annotations

from torch_mlir import ir

from .registry import function_blocks, register_pass

# Set to False to let LLVM vectorize our kernels' loops again (bench/variants.py A/B runs).
EXPLICIT_LOOPS = True
HINT_ATTR = "llvm.loop_annotation"
EXPLICIT = "#llvm.loop_annotation<disableNonforced = true>"


def explicit_loop(loop) -> None:
    """Mark the scf.for `loop` as one LLVM should not vectorize or unroll (Note [explicit
    loops])."""
    if EXPLICIT_LOOPS:
        loop.operation.attributes[HINT_ATTR] = ir.Attribute.parse(EXPLICIT)


@register_pass("tg-cpu-loop-hints")
def loop_hints(module, pass_):
    """Turn the `llvm.loop_annotation` attributes that convert-scf-to-cf left on LLVM-dialect
    branches into the branches' `loop_annotation`, so that they reach LLVM.

    Requires: the LLVM dialect.  Produces: no branch with a discardable loop annotation."""

    # Branches end blocks: looking at each block's last op is much cheaper than a walk that
    # calls back into Python for every op of the module (25 vs 3 ms on a block's backward).
    for block in function_blocks(module):
        ops = block.operations
        if len(ops) == 0:
            continue
        op = ops[len(ops) - 1].operation
        if op.name in ("llvm.br", "llvm.cond_br") and HINT_ATTR in op.attributes:
            hint = op.attributes[HINT_ATTR]
            del op.attributes[HINT_ATTR]
            op.attributes["loop_annotation"] = hint
