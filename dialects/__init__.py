"""The tg dialect and the rule tables keyed by its ops."""

from __future__ import annotations

from torch_mlir import ir

from . import ops_elementwise, ops_linalg, ops_reduce, ops_shape  # noqa: F401  (define ops)
from . import ops_nn  # noqa: F401  (nn composites and their primitives)
from . import ops_index  # noqa: F401  (gather, scatter_add, insert_slice)
from .tg import TG, TGOp, build


def make_context() -> ir.Context:
    """A fresh MLIR context with the tg dialect loaded (upstream dialects are registered)."""
    ctx = ir.Context()
    with ctx:
        TG.load()
    return ctx


def op_classes() -> list[type]:
    return list(TG.operations)


__all__ = ["TG", "TGOp", "build", "make_context", "op_classes"]
