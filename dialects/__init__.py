"""The tg dialect and the rule tables keyed by its ops."""

from __future__ import annotations

import threading

from torch_mlir import ir

from . import ops_elementwise, ops_linalg, ops_reduce, ops_shape  # noqa: F401  (define ops)
from . import ops_nn  # noqa: F401  (nn composites and their primitives)
from . import ops_index  # noqa: F401  (gather, scatter_add, insert_slice)
from .tg import TG, TGOp, build, forget_verified


def make_context() -> ir.Context:
    """A fresh MLIR context with the tg dialect loaded (upstream dialects are registered)."""
    ctx = ir.Context()
    with ctx:
        TG.load()
    return ctx


_SHARED = threading.local()
CONTEXT_REUSES = 64


def compile_context() -> ir.Context:
    """This thread's MLIR context for compiling, reused by up to CONTEXT_REUSES callers.

    Loading the Python-defined tg dialect into a new context takes ~20 ms, and one graph's
    compile parsed its IR in four contexts. A context keeps every type and attribute it
    ever uniqued, so a long-lived process gets a new one now and then; modules built in
    an old one keep it alive as long as they need it. Tools that attach diagnostic
    handlers use make_context()."""
    uses = getattr(_SHARED, "uses", CONTEXT_REUSES)
    if uses >= CONTEXT_REUSES:
        forget_verified()  # its types would keep the old context alive
        _SHARED.context, uses = make_context(), 0
    _SHARED.uses = uses + 1
    return _SHARED.context


def op_classes() -> list[type]:
    return list(TG.operations)


__all__ = ["TG", "TGOp", "build", "compile_context", "make_context", "op_classes"]
