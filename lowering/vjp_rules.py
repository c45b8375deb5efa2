"""The VJP table's contents: importing this module registers a rule for every
differentiable primitive tg op and lists the rest in NON_DIFFERENTIABLE.

Rules live by family in vjp_elementwise.py, vjp_tensor.py and vjp_nn.py; shared helpers
(sum_to_shape, zeros_like) are in vjp_common.py.
Contract: `<op>_vjp(op, grad) -> tuple[Value | None, ...]`, one entry per operand.
"""

from __future__ import annotations

from ..dialects import ops_nn as N
from ..dialects.registry import NON_DIFFERENTIABLE, VJP
from . import vjp_elementwise, vjp_nn, vjp_tensor  # noqa: F401  (register rules)
from .vjp_common import sum_to_shape, zeros_like

# Like JAX's defjvp_zero: ops whose outputs carry no gradient (comparisons, predicates,
# integer/bool ops, indices, sizes) or whose derivative is zero almost everywhere
# (sign, floor, ceil, round: PyTorch returns zeros for these too).
NON_DIFFERENTIABLE.update(vjp_elementwise.NON_DIFFERENTIABLE_ELEMENTWISE)
NON_DIFFERENTIABLE.update(vjp_tensor.NON_DIFFERENTIABLE_TENSOR)
NON_DIFFERENTIABLE.add(N.IotaOp)  # integer positions

__all__ = ["VJP", "NON_DIFFERENTIABLE", "sum_to_shape", "zeros_like"]
