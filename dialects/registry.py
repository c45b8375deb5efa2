"""Rule tables keyed by tg op class: one place to look up everything about an op.

Each concern file (lowering/decompose.py, lowering/autodiff.py, lowering/to_linalg/*)
fills its table with a decorator; consumers only ever call `lookup`.
"""

from __future__ import annotations

from typing import Callable


class RuleTable(dict):
    """A dict from op class (or ATen overload) to a rule, with uniform error wording."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, *ops) -> Callable:
        def deco(fn):
            for op in ops:
                if op in self:
                    raise ValueError(f"duplicate {self.kind} rule for '{_name(op)}'")
                self[op] = fn
            return fn

        return deco

    def lookup(self, op):
        key = op if op in self else type(op)
        if (rule := self.get(key)) is None:
            raise NotImplementedError(f"no {self.kind} rule for '{_name(op)}'")
        return rule


def _name(op) -> str:
    for attr in ("OPERATION_NAME", "name"):
        value = getattr(op, attr, None)
        if isinstance(value, str):
            return value
    return str(op)


DECOMPOSE = RuleTable("decomposition")
VJP = RuleTable("vjp")
LOWER = RuleTable("lowering")
# Ops with no gradient anywhere (comparisons, integer-only ops), like JAX's defjvp_zero.
NON_DIFFERENTIABLE: set[type] = set()
