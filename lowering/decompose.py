"""tg-decompose: dispatch-style decomposition of composite tg ops into primitives.

Like PyTorch's CompositeImplicitAutograd kernels: each composite op has a rule that
rebuilds it from simpler tg ops; a target's policy names the composites it keeps whole
(`keep=softmax,layer_norm`, or `targets=cpu|gpu|autodiff`). Rules may emit other
composites: the driver applies rules round by round until only primitives and kept ops
remain, and reports any composite a rule declined or kept re-creating (a cycle).

Primitive set: what `tg-decompose` leaves when nothing is kept. Like PyTorch's core ATen
opset, it is small and closed: each op has a linalg lowering and, where differentiable, a
VJP rule, so autodiff and every backend only ever meet these.
    elementwise: neg abs sign relu bitwise_not exp expm1 log log1p tanh sigmoid sqrt rsqrt
        reciprocal erf sin cos floor ceil round isnan isinf logical_not add sub mul div pow
        maximum minimum remainder fmod atan2 bitwise_and bitwise_or bitwise_xor eq ne lt le
        gt ge logical_and logical_or where convert constant
    contraction: mm bmm convolution
    reduction: reduce_sum reduce_prod reduce_max reduce_min reduce_any argmax argmin
    shape: reshape dynamic_reshape permute broadcast_to dynamic_broadcast_to slice cat dim_size
    indexing: index_select iota gather scatter_add insert_slice stop_gradient
"""

from __future__ import annotations

import math

from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import ops_elementwise as E
from ..dialects import ops_linalg as L
from ..dialects import ops_reduce as R
from ..dialects.ops_reduce import normalized_dims
from ..dialects.registry import DECOMPOSE, LOWER, VJP
from ..dialects.tg import TG, from_attr
from ..dialects.types import DYN, shape_of
from .registry import as_values, register_pass, report, walk_ops

TARGETS = ("none", "cpu", "gpu", "autodiff")
# A composite that keeps re-appearing after this many rounds is on a rule cycle: real
# decompositions nest a few levels deep (cross_entropy -> log_softmax -> reduce_max).
MAX_ROUNDS = 32


def composite_names() -> list[str]:
    return sorted(_short(cls) for cls in TG.operations if cls.COMPOSITE)


def documented_primitives() -> frozenset[str]:
    """The primitive set as listed in this module's docstring (tests hold the dialect to it)."""
    text = __doc__.split("Primitive set", 1)[1]
    names = set()
    for line in text.splitlines()[1:]:
        if line.startswith("    "):  # the indented family lists; prose is not indented
            names.update(w for w in line.split(":")[-1].split() if w.isidentifier())
    return frozenset(names)


def policy_keep(targets: str) -> frozenset[str]:
    """Composites a target keeps whole.

    cpu and gpu keep the composites that have a fused lowering of their own (a LOWER rule);
    autodiff keeps those with their own VJP rule, so it sees only ops it can differentiate.
    """
    if targets not in TARGETS:
        raise ValueError(f"tg-decompose: unknown targets '{targets}' (allowed: {', '.join(TARGETS)})")
    table = {"cpu": LOWER, "gpu": LOWER, "autodiff": VJP}.get(targets)
    if table is None:
        return frozenset()
    return frozenset(_short(cls) for cls in TG.operations if cls.COMPOSITE and cls in table)


def resolve_keep(keep: str, targets: str) -> frozenset[str]:
    names = {k.strip().removeprefix("tg.") for k in keep.split(",") if k.strip()}
    unknown = names - set(composite_names())
    if unknown:
        raise ValueError(
            f"tg-decompose: cannot keep '{sorted(unknown)[0]}': not a composite op "
            f"(composites: {', '.join(composite_names())})"
        )
    return frozenset(names) | policy_keep(targets)


@register_pass(
    "tg-decompose",
    keep="comma-separated composite ops to keep whole (e.g. softmax,layer_norm)",
    targets="named keep policy: none, cpu, gpu (keep ops with fused lowerings) or autodiff "
    "(keep ops with VJP rules)",
)
def decompose(module, pass_, keep: str = "", targets: str = "none"):
    """Rewrite composite tg ops into primitive tg ops, keeping the target's fused ones.

    Requires: verified tg IR.  Produces: no composite op outside the keep set.
    """
    try:
        kept = resolve_keep(keep, targets)
    except ValueError as e:
        module.location.emit_error(str(e))
        pass_.signal_pass_failure()
        return
    report(decompose_ops(module, kept), pass_, "tg-decompose")


def decompose_ops(root, kept: frozenset[str]) -> list:
    """Apply DECOMPOSE rules to every composite under `root` not in `kept`, round by round
    until none is left; returns (location, message) errors instead of raising."""
    errors: list = []
    for _ in range(MAX_ROUNDS):
        todo = [op for op in walk_ops(root) if _is_target(op, kept)]
        if not todo:
            return errors
        for op in todo:
            err = _apply(op)
            if err is not None:
                errors.append((op.location, err))
        if errors:  # a failed rule leaves its op: report now rather than retry it
            return errors
    for op in walk_ops(root):
        if _is_target(op, kept):
            name = op.operation.name
            errors.append(
                (op.location, f"'{name}' remains after {MAX_ROUNDS} rounds: its rules "
                 f"re-create it (a decomposition cycle through '{name}')")
            )
            break
    return errors


def _apply(op) -> str | None:
    name = op.operation.name
    try:
        rule = DECOMPOSE.lookup(op)
        with ir.InsertionPoint(op), op.location:
            new = rule(op)
        if new is None:
            return f"'{name}' remains: its decomposition rule declined this instance"
        new = as_values(new)
        old = list(op.operation.results)
        if len(new) != len(old):
            return f"'{name}' rule returned {len(new)} values, expected {len(old)}"
        for o, n in zip(old, new):
            if o.type != n.type:
                return f"'{name}' rule built {n.type}, expected {o.type}"
    except Exception as e:  # noqa: BLE001 - reported as a diagnostic
        return f"'{name}': {e}"
    for o, n in zip(old, new):
        o.replace_all_uses_with(n)
    op.operation.erase()
    return None


def _is_target(op, kept: frozenset[str]) -> bool:
    return getattr(type(op), "COMPOSITE", False) and _short(type(op)) not in kept


def _short(cls) -> str:
    return cls.OPERATION_NAME.removeprefix("tg.")


def tg_attr(op, name: str):
    return from_attr(op.attributes[name])


@DECOMPOSE.register(L.MatmulOp)
def decompose_matmul(op):
    a, b = op.lhs, op.rhs
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 1 and len(sb) == 1:  # dot
        return tg.reduce_sum(tg.mul(a, b), [0])
    if len(sa) == 2 and len(sb) == 2:
        return tg.mm(a, b)
    if len(sa) == 1:  # (K) @ (..., K, N): treat as (1, K), drop the 1
        out = tg.matmul(tg.reshape(a, (1, sa[0])), b)
        so = shape_of(out)
        return tg.reshape(out, so[:-2] + so[-1:])
    if len(sb) == 1:  # (..., M, K) @ (K): treat as (K, 1), drop the 1
        out = tg.matmul(a, tg.reshape(b, (sb[0], 1)))
        return tg.reshape(out, shape_of(out)[:-1])
    if len(sb) == 2:
        # Fold the batch into rows: one big mm, the best shape for the CPU kernels. Each
        # dynamic batch dim takes its size back from a's (Note [runtime sizes]).
        rows = DYN if DYN in sa[:-1] else math.prod(sa[:-1])
        out = tg.mm(tg.reshape(a, (rows, sa[-1])), b)
        return tg.reshape(out, (*tg.sizes(a)[:-1], sb[-1]))
    return _batched_matmul(a, b, shape_of(op.result))


def _batched_matmul(a, b, result_shape):
    # One bmm over the batch dims both operands have; a batch dim only one operand has is
    # folded into its rows (a) or columns (b), so nothing is broadcast to a size that may
    # be dynamic. Dynamic sizes are the operands' own (Note [runtime sizes]).
    sa, sb = shape_of(a), shape_of(b)
    nb = len(result_shape) - 2
    ab = (1,) * (nb - len(sa) + 2) + tuple(tg.sizes(a))[:-2]
    bb = (1,) * (nb - len(sb) + 2) + tuple(tg.sizes(b))[:-2]
    both = [i for i in range(nb) if ab[i] != 1 and bb[i] != 1]
    a_only = [i for i in range(nb) if ab[i] != 1 and bb[i] == 1]
    b_only = [i for i in range(nb) if bb[i] != 1 and ab[i] == 1]
    units = [i for i in range(nb) if ab[i] == 1 and bb[i] == 1]
    (m, k), n = tg.sizes(a)[-2:], tg.sizes(b)[-1]
    a_full = tg.reshape(a, (*ab, m, k))
    b_full = tg.reshape(b, (*bb, k, n))
    rest_a = [i for i in range(nb) if i not in both and i not in a_only]
    rest_b = [i for i in range(nb) if i not in both and i not in b_only]
    a3 = tg.permute(a_full, [*both, *a_only, nb, nb + 1, *rest_a])
    b3 = tg.permute(b_full, [*both, nb, *b_only, nb + 1, *rest_b])
    batch = tg.size_product([ab[i] for i in both])
    a3 = tg.reshape(a3, (batch, tg.size_product([*(ab[i] for i in a_only), m]), k))
    b3 = tg.reshape(b3, (batch, k, tg.size_product([*(bb[i] for i in b_only), n])))
    out = tg.bmm(a3, b3)
    # (both, a_only, M, b_only, N, units) -> (batch in order, M, N)
    order = [*both, *a_only, nb, *b_only, nb + 1, *units]
    batch_sizes = [bb[i] if i in b_only else ab[i] for i in range(nb)]
    out = tg.reshape(out, [batch_sizes[i] if i < nb else (m if i == nb else n) for i in order])
    return tg.permute(out, [order.index(i) for i in range(nb + 2)])


@DECOMPOSE.register(L.LinearOp)
def decompose_linear(op):
    out = tg.matmul(op.input, tg.transpose(op.weight, 0, 1))
    bias = list(op.bias)
    return tg.add(out, bias[0]) if bias else out


@DECOMPOSE.register(L.AddmmOp)
def decompose_addmm(op):
    beta, alpha = op.beta.value, op.alpha.value
    prod = tg.mm(op.mat1, op.mat2)
    if alpha != 1.0:
        prod = tg.mul(prod, alpha)
    if beta == 0.0:  # as in PyTorch, beta=0 ignores input (even NaN)
        return tg.broadcast_to(prod, shape_of(op.result))
    bias = op.input if beta == 1.0 else tg.mul(op.input, beta)
    return tg.add(bias, prod)


@DECOMPOSE.register(R.ReduceMeanOp)
def decompose_reduce_mean(op):
    x = op.input
    dims = normalized_dims(tg_attr(op, "dims"), len(shape_of(x)))
    total = tg.reduce_sum(x, dims, tg_attr(op, "keepdim"))
    return tg.div(total, tg.numel(x, dims))


# Softmax scales its exponentials by the reciprocal of their sum, one division per row, as
# ATen's CPU kernel does (x * (1 / sum)); a division per element kept the divider busy: a
# causal softmax over 16 x 128 x 128 took 351 vs 305 us alone (1 thread) and 236 vs 218
# us in the GPT-2 block's training step.
SOFTMAX_RECIPROCAL = True


def shift_max(x: ir.Value, dim: int) -> ir.Value:
    """The row max that softmax and log_softmax subtract before exp, marked `shift_only`
    (Note [shift-only max], lowering/to_linalg/reduce.py)."""
    m = tg.reduce_max(x, [dim], True)
    m.owner.attributes[R.SHIFT_ONLY] = ir.UnitAttr.get()
    return m


@DECOMPOSE.register(R.SoftmaxOp)
def decompose_softmax(op):
    # exp(x - max) keeps exp's argument <= 0: finite for any finite input.
    dim = op.dim.value
    shifted = tg.sub(op.input, shift_max(op.input, dim))
    e = tg.exp(shifted)
    if SOFTMAX_RECIPROCAL:
        return tg.mul(e, tg.reciprocal(tg.reduce_sum(e, [dim], True)))
    return tg.div(e, tg.reduce_sum(e, [dim], True))


@DECOMPOSE.register(R.LogSoftmaxOp)
def decompose_log_softmax(op):
    # x - max - log(sum(exp(x - max))): the log-sum-exp trick.
    dim = op.dim.value
    shifted = tg.sub(op.input, shift_max(op.input, dim))
    return tg.sub(shifted, tg.log(tg.reduce_sum(tg.exp(shifted), [dim], True)))


@DECOMPOSE.register(R.LayerNormOp)
def decompose_layer_norm(op):
    x = op.input
    rank = len(shape_of(x))
    dims = list(range(rank - len(tg_attr(op, "normalized_shape")), rank))
    mean = tg.reduce_mean(x, dims, True)
    centered = tg.sub(x, mean)
    var = tg.reduce_mean(tg.mul(centered, centered), dims, True)  # biased, as PyTorch
    out = tg.mul(centered, tg.rsqrt(tg.add(var, op.eps.value)))
    params = list(op.params)
    if params:
        out = tg.mul(out, params[0])
    if len(params) > 1:
        out = tg.add(out, params[1])
    return out


@DECOMPOSE.register(E.GeluOp)
def decompose_gelu(op):
    x = op.input
    half_x = tg.mul(x, 0.5)
    if op.approximate.value == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        inner = tg.mul(tg.add(x, tg.mul(tg.mul(tg.mul(x, x), x), 0.044715)), math.sqrt(2 / math.pi))
        return tg.mul(half_x, tg.add(tg.tanh(inner), 1.0))
    # 0.5 x (1 + erf(x / sqrt 2))
    return tg.mul(half_x, tg.add(tg.erf(tg.mul(x, 1 / math.sqrt(2))), 1.0))


from . import decompose_layers, decompose_nn  # noqa: E402,F401  (register the nn rules)
