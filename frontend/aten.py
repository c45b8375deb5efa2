"""The ATen -> tg import table, keyed by OpOverload.

A rule is `fn(ctx, *args, **kwargs) -> Value | list[Value]`, called with FX node
arguments replaced by their imported values (tensors are `ir.Value`s, SymInts stay
SymInts). Type promotion happens here, from the fake tensors' dtypes, so tg ops always
see operands of one element type.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch_mlir import ir

from ..dialects import builders as tg
from ..dialects import ops_linalg as L
from ..dialects import ops_reduce as R
from ..dialects.registry import RuleTable
from ..dialects.tg import build
from ..dialects.types import DYN, element_type, shape_of
from .errors import UnsupportedOpError
from .fx_importer import ImportContext, element_type_of, where_of

aten = torch.ops.aten
IMPORT = RuleTable("import")

# Ops with no effect on values in a functionalized inference graph.
IDENTITY_OPS = [
    aten.clone.default,
    aten.contiguous.default,
    aten.alias.default,
    aten.lift_fresh_copy.default,
]


def has_symbolic_sizes(node) -> bool:
    """Whether `node`, its tensor inputs or its scalar arguments have sizes that are not
    plain ints (Dynamo's dynamic shapes)."""
    import torch.fx as fx

    def symbolic(v) -> bool:
        if isinstance(v, fx.Node):
            v = v.meta.get("val")
        if isinstance(v, (list, tuple)):
            return any(symbolic(x) for x in v)
        if isinstance(v, torch.Tensor):
            return any(not isinstance(s, int) for s in v.shape)
        return isinstance(v, torch.SymInt | torch.SymFloat | torch.SymBool)

    return symbolic(node) or symbolic(list(node.args)) or symbolic(list(node.kwargs.values()))


def lower_node(ctx: ImportContext, node) -> Any:
    import torch.fx as fx

    if node.target is getattr(__import__("operator"), "getitem"):
        base, idx = node.args
        value = ctx.values[base][idx]
        if value is None:
            raise UnsupportedOpError(
                f"frontend: result #{idx} of {base.target} is not imported (node '{node.name}')",
                op=str(base.target),
                where=where_of(node),
            )
        return value
    if node.target in (torch.ops.aten._assert_tensor_metadata.default,) or str(
        node.target
    ).startswith("aten._set_grad_enabled"):
        return None
    if isinstance(node.target, torch._ops.OpOverload) and node.target not in IMPORT:
        raise UnsupportedOpError(
            f"frontend: no tg mapping for {node.target} (node '{node.name}'); "
            "add it to frontend/aten.py or decompose it",
            op=str(node.target),
            where=where_of(node),
        )
    if node.target not in IMPORT:
        raise UnsupportedOpError(
            f"frontend: no tg mapping for {node.target} (node '{node.name}')",
            op=str(node.target),
            where=where_of(node),
        )
    conv = lambda a: ctx.values[a] if isinstance(a, fx.Node) else a  # noqa: E731
    args = torch.fx.node.map_aggregate(node.args, conv)
    kwargs = torch.fx.node.map_aggregate(node.kwargs, conv)
    try:
        if node.target in UPCAST and _has_half(ctx.meta()):
            return _upcast_call(ctx, IMPORT[node.target], args, kwargs)
        return IMPORT[node.target](ctx, *args, **kwargs)
    except UnsupportedOpError as e:
        e.op, e.where = e.op or str(node.target), e.where or where_of(node)
        if e.dynamic is None:  # a rule refused a form with symbolic sizes, or not
            e.dynamic = has_symbolic_sizes(node)
        raise
    except Exception as e:  # noqa: BLE001 - an importer bug must fall back, never crash
        raise UnsupportedOpError(
            f"frontend: cannot import {node.target} (node '{node.name}'): {e}",
            op=str(node.target),
            where=where_of(node),
        ) from e


# --- half precision -----------------------------------------------------------------

# Ops PyTorch's CPU kernels compute in float32 for float16/bfloat16 tensors (reductions,
# normalizations, contractions, multi-step activations): imported on float32 operands,
# results rounded back once, so they match eager to the last bit far more often.
UPCAST: set = set()
_HALF = (torch.float16, torch.bfloat16)


def _has_half(meta) -> bool:
    metas = meta if isinstance(meta, (list, tuple)) else [meta]
    return any(isinstance(m, torch.Tensor) and m.dtype in _HALF for m in metas)


def _upcast_call(ctx: ImportContext, rule, args, kwargs):
    f32 = ir.F32Type.get()

    def up(v):
        if isinstance(v, ir.Value) and isinstance(element_type(v), (ir.F16Type, ir.BF16Type)):
            return tg.convert(v, f32)
        return v

    args = torch.fx.node.map_aggregate(args, up)
    kwargs = torch.fx.node.map_aggregate(kwargs, up)
    ctx.compute_dtype = torch.float32
    try:
        out = rule(ctx, *args, **kwargs)
    finally:
        ctx.compute_dtype = None
    meta = ctx.meta()
    if not isinstance(out, (list, tuple)):
        return tg.convert(out, element_type_of(meta.dtype)) if isinstance(out, ir.Value) else out
    return [
        tg.convert(v, element_type_of(m.dtype))
        if isinstance(v, ir.Value) and isinstance(m, torch.Tensor)
        else v
        for v, m in zip(out, meta)
    ]


def unsupported(what: str, dynamic: bool | None = None):
    """Refuse the node being imported; `dynamic` as in UnsupportedOpError (None: the node
    has symbolic sizes, so a static specialization may import it)."""
    raise UnsupportedOpError(f"frontend: {what}", dynamic=dynamic)


# --- type promotion -----------------------------------------------------------------


def as_dtype(x, dtype: torch.dtype) -> ir.Value:
    """A tensor Value of `dtype`: converts Values, materializes Python scalars as 0-d."""
    elem = element_type_of(dtype)
    if isinstance(x, ir.Value):
        return tg.convert(x, elem)
    if isinstance(x, torch.SymInt | torch.SymFloat | torch.SymBool):
        # The op runs eagerly with the size's value; cheap, and the plan stays shape-generic.
        unsupported(f"symbolic scalar {x} used as a tensor value", dynamic=False)
    if isinstance(x, bool) and dtype != torch.bool:
        x = int(x)
    return tg.constant(x, elem)


def _node_args(ctx: ImportContext) -> list:
    return list(ctx.node.args)


def binary_dtype(ctx: ImportContext) -> torch.dtype:
    """The dtype PyTorch computes a binary op in: result_type of the two operands."""
    a, b = _node_args(ctx)[:2]
    ma = ctx.meta(a) if isinstance(a, torch.fx.Node) else a
    mb = ctx.meta(b) if isinstance(b, torch.fx.Node) else b
    return torch.result_type(_resultable(ma), _resultable(mb))


def _resultable(m):
    if isinstance(m, torch.Tensor):
        return m
    if isinstance(m, torch.SymInt):
        return 1
    if isinstance(m, torch.SymFloat):
        return 1.0
    return m


def _binary(builder, float_result: bool = False):
    def rule(ctx, a, b, *rest, **kw):
        if rest or kw.get("alpha", 1) != 1:
            alpha = rest[0] if rest else kw["alpha"]
            b = tg.mul(as_dtype(b, binary_dtype(ctx)), as_dtype(alpha, binary_dtype(ctx)))
        dtype = ctx.out_dtype() if float_result else binary_dtype(ctx)
        return builder(as_dtype(a, dtype), as_dtype(b, dtype))

    return rule


for _ops, _builder in [
    ((aten.add.Tensor, aten.add.Scalar), tg.add),
    ((aten.sub.Tensor, aten.sub.Scalar), tg.sub),
    ((aten.mul.Tensor, aten.mul.Scalar), tg.mul),
    ((aten.maximum.default,), tg.maximum),
    ((aten.minimum.default,), tg.minimum),
    ((aten.remainder.Tensor, aten.remainder.Scalar), tg.remainder),
    ((aten.fmod.Tensor, aten.fmod.Scalar), tg.fmod),
    ((aten.eq.Tensor, aten.eq.Scalar), tg.eq),
    ((aten.ne.Tensor, aten.ne.Scalar), tg.ne),
    ((aten.lt.Tensor, aten.lt.Scalar), tg.lt),
    ((aten.le.Tensor, aten.le.Scalar), tg.le),
    ((aten.gt.Tensor, aten.gt.Scalar), tg.gt),
    ((aten.ge.Tensor, aten.ge.Scalar), tg.ge),
]:
    IMPORT.register(*_ops)(_binary(_builder))

# true division computes in the (floating) result dtype, so int / int is a float divide.
IMPORT.register(aten.div.Tensor, aten.div.Scalar)(_binary(tg.div, float_result=True))


@IMPORT.register(aten.div.Tensor_mode, aten.div.Scalar_mode)
def import_div_mode(ctx, a, b, rounding_mode=None):
    dtype = binary_dtype(ctx)
    a, b = as_dtype(a, dtype), as_dtype(b, dtype)
    if rounding_mode is None:
        return tg.div(as_dtype(a, ctx.out_dtype()), as_dtype(b, ctx.out_dtype()))
    if dtype.is_floating_point:
        q = tg.div(a, b)
        return tg.floor(q) if rounding_mode == "floor" else tg.sub(q, tg.fmod(q, 1.0))
    if rounding_mode == "trunc":
        return tg.div(a, b)  # integer division truncates
    # floor division for ints: trunc, minus one where the remainder's sign differs from b's.
    q, r = tg.div(a, b), tg.fmod(a, b)
    fix = tg.logical_and(tg.ne(r, 0), tg.ne(tg.lt(r, 0), tg.lt(b, 0)))
    return tg.sub(q, tg.convert(fix, element_type(q)))


@IMPORT.register(aten.floor_divide.default, aten.floor_divide.Scalar)
def import_floor_divide(ctx, a, b):
    return import_div_mode(ctx, a, b, rounding_mode="floor")


@IMPORT.register(aten.rsub.Scalar, aten.rsub.Tensor)
def import_rsub(ctx, a, b, alpha=1):
    dtype = binary_dtype(ctx)
    a = as_dtype(a, dtype)
    if alpha != 1:
        a = tg.mul(a, as_dtype(alpha, dtype))
    return tg.sub(as_dtype(b, dtype), a)


@IMPORT.register(aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor, aten.pow.Scalar)
def import_pow(ctx, a, b):
    dtype = ctx.out_dtype()
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, ir.Value):
        x = as_dtype(a, dtype)
        if b == 2:  # the common case: keep it a multiply (exact, and cheaper than powf)
            return tg.mul(x, x)
        if b == 1:
            return x
        if b == 0.5:
            return tg.sqrt(x)
    return tg.pow(as_dtype(a, dtype), as_dtype(b, dtype))


def _unary(builder, float_op: bool = False):
    def rule(ctx, x, *rest, **kw):
        dtype = ctx.out_dtype()
        return builder(as_dtype(x, dtype))

    return rule


for _op, _builder in [
    (aten.neg.default, tg.neg),
    (aten.abs.default, tg.abs),
    (aten.sign.default, tg.sign),
    (aten.relu.default, tg.relu),
    (aten.exp.default, tg.exp),
    (aten.expm1.default, tg.expm1),
    (aten.log.default, tg.log),
    (aten.log1p.default, tg.log1p),
    (aten.tanh.default, tg.tanh),
    (aten.sigmoid.default, tg.sigmoid),
    (aten.sqrt.default, tg.sqrt),
    (aten.rsqrt.default, tg.rsqrt),
    (aten.reciprocal.default, tg.reciprocal),
    (aten.erf.default, tg.erf),
    (aten.sin.default, tg.sin),
    (aten.cos.default, tg.cos),
    (aten.floor.default, tg.floor),
    (aten.ceil.default, tg.ceil),
    (aten.round.default, tg.round),
]:
    IMPORT.register(_op)(_unary(_builder))


@IMPORT.register(
    aten.isnan.default, aten.isinf.default, aten.logical_not.default, aten.bitwise_not.default
)
def import_predicate(ctx, x):
    builder = {
        aten.isnan.default: tg.isnan,
        aten.isinf.default: tg.isinf,
        aten.logical_not.default: tg.logical_not,
        aten.bitwise_not.default: tg.bitwise_not,
    }[ctx.node.target]
    return builder(x)


@IMPORT.register(aten.gelu.default)
def import_gelu(ctx, x, approximate="none"):
    return tg.gelu(x, approximate)


@IMPORT.register(aten.where.self, aten.where.ScalarOther, aten.where.ScalarSelf, aten.where.Scalar)
def import_where(ctx, cond, a, b):
    dtype = ctx.out_dtype()
    return tg.where(as_dtype(cond, torch.bool), as_dtype(a, dtype), as_dtype(b, dtype))


@IMPORT.register(aten.masked_fill.Scalar, aten.masked_fill.Tensor)
def import_masked_fill(ctx, x, mask, value):
    dtype = ctx.out_dtype()
    return tg.where(as_dtype(mask, torch.bool), as_dtype(value, dtype), x)


@IMPORT.register(aten.clamp.default, aten.clamp.Tensor)
def import_clamp(ctx, x, min=None, max=None):  # noqa: A002
    dtype = ctx.out_dtype()
    out = as_dtype(x, dtype)
    if min is not None:
        out = tg.maximum(out, as_dtype(min, dtype))
    if max is not None:
        out = tg.minimum(out, as_dtype(max, dtype))
    return out


@IMPORT.register(aten.clamp_min.default, aten.clamp_max.default)
def import_clamp_one(ctx, x, bound):
    dtype = ctx.out_dtype()
    op = tg.maximum if ctx.node.target is aten.clamp_min.default else tg.minimum
    return op(as_dtype(x, dtype), as_dtype(bound, dtype))


@IMPORT.register(aten.hardtanh.default)
def import_hardtanh(ctx, x, min_val=-1.0, max_val=1.0):
    return tg.minimum(tg.maximum(x, min_val), max_val)


# --- casts --------------------------------------------------------------------------


@IMPORT.register(aten._to_copy.default, aten.to.dtype, aten.to.dtype_layout, aten.type_as.default)
def import_to(ctx, x, *args, **kwargs):
    return as_dtype(x, ctx.out_dtype())


for _op in IDENTITY_OPS:
    IMPORT.register(_op)(lambda ctx, x, *a, **k: x)


@IMPORT.register(aten.detach.default)
def import_detach(ctx, x):
    from ..dialects import builders_index as ix

    return ix.stop_gradient(x)


# --- contractions -------------------------------------------------------------------

IMPORT.register(aten.mm.default)(lambda ctx, a, b: tg.mm(a, b))
IMPORT.register(aten.bmm.default)(lambda ctx, a, b: tg.bmm(a, b))
IMPORT.register(aten.matmul.default)(lambda ctx, a, b: tg.matmul(a, b))


@IMPORT.register(aten.linear.default)
def import_linear(ctx, x, w, b=None):
    return build(L.LinearOp, x, w, [] if b is None else [b])


@IMPORT.register(aten.addmm.default)
def import_addmm(ctx, bias, a, b, beta=1, alpha=1):
    return build(L.AddmmOp, bias, a, b, beta=float(beta), alpha=float(alpha))


@IMPORT.register(aten.t.default)
def import_t(ctx, x):
    return tg.transpose(x, 0, 1) if len(shape_of(x)) == 2 else x


# --- reductions ---------------------------------------------------------------------


def _dims(dim) -> list[int]:
    if dim is None:
        return []
    return [dim] if isinstance(dim, int) else list(dim)


dims_arg = _dims  # for the rule files split off this one


def _sum_input(ctx, x, dtype):
    # sum of ints and bools accumulates in int64, as PyTorch.
    return as_dtype(x, dtype if dtype is not None else ctx.out_dtype())


@IMPORT.register(aten.sum.dim_IntList, aten.sum.default)
def import_sum(ctx, x, dim=None, keepdim=False, dtype=None):
    return tg.reduce_sum(_sum_input(ctx, x, dtype), _dims(dim), keepdim)


@IMPORT.register(aten.mean.dim, aten.mean.default)
def import_mean(ctx, x, dim=None, keepdim=False, dtype=None):
    return tg.reduce_mean(as_dtype(x, ctx.out_dtype()), _dims(dim), keepdim)


@IMPORT.register(aten.amax.default, aten.max.default)
def import_amax(ctx, x, dim=(), keepdim=False):
    return tg.reduce_max(x, _dims(dim), keepdim)


@IMPORT.register(aten.amin.default, aten.min.default)
def import_amin(ctx, x, dim=(), keepdim=False):
    return tg.reduce_min(x, _dims(dim), keepdim)


@IMPORT.register(aten.prod.default, aten.prod.dim_int)
def import_prod(ctx, x, dim=None, keepdim=False, dtype=None):
    return tg.reduce_prod(_sum_input(ctx, x, dtype), _dims(dim), keepdim)


@IMPORT.register(aten.max.dim, aten.min.dim)
def import_max_dim(ctx, x, dim, keepdim=False):
    is_max = ctx.node.target is aten.max.dim
    values = (tg.reduce_max if is_max else tg.reduce_min)(x, [dim], keepdim)
    indices = build(R.ArgmaxOp if is_max else R.ArgminOp, x, dim=dim, keepdim=keepdim)
    return [values, indices]


@IMPORT.register(aten.argmax.default, aten.argmin.default)
def import_argmax(ctx, x, dim=None, keepdim=False):
    cls = R.ArgmaxOp if ctx.node.target is aten.argmax.default else R.ArgminOp
    if dim is None:
        return build(
            cls,
            tg.reshape(x, (DYN if DYN in shape_of(x) else math.prod(shape_of(x)),)),
            dim=0,
            keepdim=False,
        )
    return build(cls, x, dim=dim, keepdim=keepdim)


@IMPORT.register(aten.softmax.int, aten._softmax.default)
def import_softmax(ctx, x, dim, half_to_float=None):
    return tg.softmax(as_dtype(x, ctx.out_dtype()), dim)


@IMPORT.register(aten.log_softmax.int, aten._log_softmax.default)
def import_log_softmax(ctx, x, dim, half_to_float=None):
    return tg.log_softmax(as_dtype(x, ctx.out_dtype()), dim)


@IMPORT.register(aten.layer_norm.default)
def import_layer_norm(
    ctx, x, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True
):
    if weight is None and bias is not None:
        weight = tg.broadcast_to(tg.scalar(1.0, x), list(normalized_shape))
    params = [p for p in (weight, bias) if p is not None]
    return build(R.LayerNormOp, x, params, normalized_shape=list(normalized_shape), eps=float(eps))


__all__ = ["IMPORT", "lower_node", "IDENTITY_OPS", "UPCAST"]

# The rule files split off this one (file size); importing them fills IMPORT.
from . import aten_view  # noqa: E402,F401  (first: the files below use its rules)
from . import aten_index, aten_math, aten_nn, aten_pool, aten_shape  # noqa: E402,F401
from . import aten_composite  # noqa: E402,F401  (uses rules of the files above)

UPCAST.update(
    [
        aten.softmax.int,
        aten._softmax.default,
        aten.log_softmax.int,
        aten._log_softmax.default,
        aten.layer_norm.default,
        aten.native_layer_norm.default,
        aten.group_norm.default,
        aten.native_group_norm.default,
        aten._native_batch_norm_legit_no_training.default,
        aten._native_batch_norm_legit_functional.default,
        aten.batch_norm.default,
        aten.sum.dim_IntList,
        aten.sum.default,
        aten.mean.dim,
        aten.mean.default,
        aten.prod.default,
        aten.prod.dim_int,
        aten.cumsum.default,
        aten.logsumexp.default,
        aten.var.dim,
        aten.var.correction,
        aten.std.dim,
        aten.std.correction,
        aten.var_mean.correction,
        aten.linalg_vector_norm.default,
        aten.mm.default,
        aten.bmm.default,
        aten.matmul.default,
        aten.linear.default,
        aten.addmm.default,
        aten.baddbmm.default,
        aten.conv2d.default,
        aten.conv1d.default,
        aten.scaled_dot_product_attention.default,
        aten.gelu.default,
        aten.silu.default,
        aten.mish.default,
        aten.cross_entropy_loss.default,
        aten.mse_loss.default,
        aten.nll_loss.default,
        aten.rms_norm.default,
    ]
)
