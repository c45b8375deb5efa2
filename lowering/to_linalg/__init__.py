"""tg-lower-to-linalg: primitive tg ops to linalg, tensor, arith and math on tensors.

Each family module registers its rules in LOWER; the pass applies them all as rewrite
patterns. A composite op reaching this pass has a fused lowering or is an error.
"""

from __future__ import annotations

from torch_mlir.rewrite import apply_patterns_and_fold_greedily

from ...dialects.registry import LOWER
from ..registry import patterns_from, register_pass, report, walk_ops
from . import contraction, elementwise, reduce, shape  # noqa: F401  (register rules)


@register_pass("tg-lower-to-linalg")
def lower_to_linalg(module, pass_):
    """Lower every tg op to linalg/tensor/arith/math on tensors.

    Requires: tg IR whose composites were decomposed (or have fused lowerings).
    Produces: no tg op.
    """
    errors: list = []
    apply_patterns_and_fold_greedily(module, patterns_from(LOWER, errors).freeze())
    for op in walk_ops(module):
        if op.operation.name.startswith("tg.") and not errors:
            errors.append((op.location, f"'{op.operation.name}' has no lowering to linalg (decompose it first?)"))
    report(errors, pass_, "tg-lower-to-linalg")
