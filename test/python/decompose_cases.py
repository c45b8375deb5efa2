"""The per-composite table for test_decompose.py: how to build each composite with the tg
builders, and the eager PyTorch function it must match."""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
import torch.nn.functional as F

from dynamlir.dialects import builders as tg
from dynamlir.dialects import builders_nn as nn


@dataclasses.dataclass
class In:
    """An input: shape, dtype, how to fill it; `dyn` lists the dims compiled as `?`."""

    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    make: Callable[[tuple[int, ...]], torch.Tensor] | None = None
    dyn: tuple[int, ...] = (0,)

    def sample(self, batch: int | None = None) -> torch.Tensor:
        shape = self.shape if batch is None or 0 not in self.dyn else (batch, *self.shape[1:])
        if self.make is not None:
            return self.make(shape)
        return torch.randn(shape, dtype=self.dtype)


@dataclasses.dataclass
class Case:
    name: str
    op: str  # the composite under test ('tg.softmax')
    build: Callable  # (*ir.Value) -> Value | list[Value]
    ref: Callable  # (*torch.Tensor) -> Tensor | tuple
    inputs: list[In]
    atol: float = 1e-5
    rtol: float = 1e-5


def ints(high: int, low: int = 0):
    return lambda shape: torch.randint(low, high, shape)


def big(shape):
    return torch.randn(shape) * 1e4


def const(value: torch.Tensor):
    return lambda shape: value.clone()


def fixed(shape, dtype=torch.float32, make=None):
    return In(shape, dtype, make, dyn=())


def _bn_train(x, rm, rv, w, b):
    rm, rv = rm.clone(), rv.clone()
    out = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-3)
    return out, rm, rv


def _targets_with_ignored(c):
    def make(shape):
        t = torch.randint(0, c, shape)
        t.view(-1)[::3] = -100
        return t

    return make


def _positive(shape):
    return torch.rand(shape) + 0.5


def _var_rows(shape):  # a running_var must be positive
    return torch.rand(shape) + 0.5


CASES = [
    Case("linear", "tg.linear", nn.linear, F.linear,
         [In((3, 5, 8)), fixed((4, 8)), fixed((4,))]),
    Case("addmm", "tg.addmm", lambda a, m1, m2: nn.addmm(a, m1, m2, 0.5, 2.0),
         lambda a, m1, m2: torch.addmm(a, m1, m2, beta=0.5, alpha=2.0),
         [fixed((4,)), In((3, 5)), fixed((5, 4))]),
    Case("matmul_batch_mm", "tg.matmul", tg.matmul, torch.matmul, [In((2, 3, 4, 5)), fixed((5, 2))]),
    Case("matmul_broadcast_bmm", "tg.matmul", tg.matmul, torch.matmul,
         [In((3, 2, 4, 5)), fixed((2, 5, 3))]),
    Case("matmul_vec_mat", "tg.matmul", tg.matmul, torch.matmul, [fixed((5,)), In((3, 5, 2))]),
    Case("matmul_dot", "tg.matmul", tg.matmul, torch.matmul, [In((6,)), In((6,))]),
    Case("reduce_mean", "tg.reduce_mean", lambda x: tg.reduce_mean(x, [0, 2]),
         lambda x: x.mean((0, 2)), [In((3, 4, 5))]),
    Case("softmax_1e4", "tg.softmax", lambda x: tg.softmax(x, 1), lambda x: x.softmax(1),
         [In((3, 7), make=big)]),
    Case("log_softmax_1e4", "tg.log_softmax", lambda x: tg.log_softmax(x, -1),
         lambda x: x.log_softmax(-1), [In((3, 7), make=big)], rtol=1e-5, atol=1e-2),
    Case("layer_norm", "tg.layer_norm", lambda x, w, b: nn.layer_norm(x, [4, 5], w, b),
         lambda x, w, b: F.layer_norm(x, (4, 5), w, b), [In((2, 4, 5)), fixed((4, 5)), fixed((4, 5))],
         atol=1e-4),
    Case("gelu", "tg.gelu", tg.gelu, F.gelu, [In((3, 8))]),
    Case("gelu_tanh", "tg.gelu", lambda x: tg.gelu(x, "tanh"),
         lambda x: F.gelu(x, approximate="tanh"), [In((3, 8))]),
    Case("group_norm", "tg.group_norm", lambda x, w, b: nn.group_norm(x, 3, w, b, 1e-5),
         lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5), [In((2, 6, 3, 3)), fixed((6,)), fixed((6,))],
         atol=1e-4),
    Case("batch_norm_eval", "tg.batch_norm",
         lambda x, rm, rv, w, b: nn.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5),
         lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5),
         [In((3, 4, 2, 2)), fixed((4,)), fixed((4,), make=_var_rows), fixed((4,)), fixed((4,))]),
    Case("batch_norm_train", "tg.batch_norm",
         lambda x, rm, rv, w, b: nn.batch_norm(x, rm, rv, w, b, True, 0.2, 1e-3), _bn_train,
         [In((3, 4, 2, 2)), fixed((4,)), fixed((4,), make=_var_rows), fixed((4,)), fixed((4,))],
         atol=1e-4),
    Case("silu", "tg.silu", nn.silu, F.silu, [In((3, 8))]),
    Case("mish", "tg.mish", nn.mish, F.mish, [In((3, 8), make=lambda s: torch.randn(s) * 30)]),
    Case("hardswish", "tg.hardswish", nn.hardswish, F.hardswish,
         [In((3, 8), make=lambda s: torch.randn(s) * 4)]),
    Case("dropout_train", "tg.dropout", lambda x, m: nn.dropout(x, 0.25, True, m),
         lambda x, m: x * m / 0.75, [In((4, 6)), In((4, 6), torch.bool, lambda s: torch.rand(s) > 0.25)]),
    Case("dropout_eval", "tg.dropout", lambda x: nn.dropout(x, 0.25, False),
         lambda x: F.dropout(x, 0.25, training=False), [In((4, 6))]),
    Case("mse_loss_none", "tg.mse_loss", lambda a, b: nn.mse_loss(a, b, "none"),
         lambda a, b: F.mse_loss(a, b, reduction="none"), [In((3, 5)), In((3, 5))]),
    Case("mse_loss_mean", "tg.mse_loss", nn.mse_loss, F.mse_loss, [In((3, 5)), In((3, 5))]),
    Case("mse_loss_sum", "tg.mse_loss", lambda a, b: nn.mse_loss(a, b, "sum"),
         lambda a, b: F.mse_loss(a, b, reduction="sum"), [In((3, 5)), In((3, 5))], atol=1e-4),
    Case("nll_loss_weight", "tg.nll_loss", lambda x, t, w: nn.nll_loss(x, t, w),
         lambda x, t, w: F.nll_loss(x, t, w), [In((6, 5)), In((6,), torch.int64, _targets_with_ignored(5)),
                                               fixed((5,), make=_positive)]),
    Case("cross_entropy_1e4", "tg.cross_entropy", nn.cross_entropy, F.cross_entropy,
         [In((4, 7), make=big), In((4,), torch.int64, ints(7))], atol=1e-1),
    Case("cross_entropy_smooth_weight", "tg.cross_entropy",
         lambda x, t, w: nn.cross_entropy(x, t, w, "mean", -100, 0.1),
         lambda x, t, w: F.cross_entropy(x, t, w, ignore_index=-100, label_smoothing=0.1),
         [In((6, 5)), In((6,), torch.int64, _targets_with_ignored(5)), fixed((5,), make=_positive)]),
    Case("cross_entropy_spatial_none", "tg.cross_entropy",
         lambda x, t: nn.cross_entropy(x, t, None, "none", 2, 0.2),
         lambda x, t: F.cross_entropy(x, t, reduction="none", ignore_index=2, label_smoothing=0.2),
         [In((2, 4, 3, 3)), In((2, 3, 3), torch.int64, ints(4))]),
    Case("cross_entropy_sum_unbatched", "tg.cross_entropy",
         lambda x, t: nn.cross_entropy(x, t, None, "sum", -100, 0.3),
         lambda x, t: F.cross_entropy(x, t, reduction="sum", label_smoothing=0.3),
         [fixed((5,)), fixed((), torch.int64, ints(5))]),
    Case("sdpa_causal", "tg.scaled_dot_product_attention",
         lambda q, k, v: nn.scaled_dot_product_attention(q, k, v, is_causal=True),
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         [In((2, 3, 5, 4)), In((2, 3, 5, 4)), In((2, 3, 5, 6))], atol=1e-5),
    Case("sdpa_bool_mask_scale", "tg.scaled_dot_product_attention",
         lambda q, k, v, m: nn.scaled_dot_product_attention(q, k, v, m, scale=0.3),
         lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, scale=0.3),
         [In((2, 4, 3)), In((2, 5, 3)), In((2, 5, 2)),
          fixed((4, 5), torch.bool, const(torch.tensor([[1, 0, 1, 0, 0], [0, 0, 0, 0, 0],
                                                         [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]]).bool()))]),
    Case("sdpa_float_mask", "tg.scaled_dot_product_attention",
         lambda q, k, v, m: nn.scaled_dot_product_attention(q, k, v, m),
         lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
         [In((2, 4, 3)), In((2, 5, 3)), In((2, 5, 2)), fixed((4, 5))]),
    Case("embedding", "tg.embedding", nn.embedding, lambda w, i: F.embedding(i, w),
         [fixed((10, 4)), In((3, 5), torch.int64, ints(10))]),
    Case("conv2d", "tg.conv2d",
         lambda x, w, b: nn.conv2d(x, w, b, (2, 1), (1, 2), (1, 2), 2),
         lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 2), (1, 2), 2),
         [In((2, 4, 7, 8)), fixed((6, 2, 3, 3)), fixed((6,))], atol=1e-4),
    Case("var_mean", "tg.var_mean", lambda x: nn.var_mean(x, [1], 0.0, True),
         lambda x: torch.var_mean(x, 1, correction=0, keepdim=True), [In((3, 6, 2))]),
    Case("var", "tg.var", lambda x: nn.var(x, [0, 2]), lambda x: x.var((0, 2)), [In((3, 6, 2))]),
    Case("std", "tg.std", lambda x: nn.std(x, [], 1.0), lambda x: x.std(), [In((3, 6, 2))]),
]


def _norm_case(p, dims=(1,)):
    return Case(f"norm_p{p}", "tg.norm", lambda x: nn.norm(x, p, dims),
                lambda x: torch.linalg.vector_norm(x, p, dims), [In((3, 6, 2))], atol=1e-4)


CASES += [_norm_case(p) for p in (2.0, 1.0, math.inf, -math.inf, 0.0, 3.0)]
CASES += [
    Case("logsumexp_1e4", "tg.logsumexp", lambda x: nn.logsumexp(x, [1]),
         lambda x: torch.logsumexp(x, 1), [In((3, 6), make=big)], atol=1e-2),
    Case("logsumexp_neg_inf_row", "tg.logsumexp", lambda x: nn.logsumexp(x, [1], True),
         lambda x: torch.logsumexp(x, 1, keepdim=True),
         [In((3, 4), make=lambda s: torch.cat([torch.full((1, 4), -math.inf), torch.randn(s[0] - 1, 4)]))]),
    Case("addcmul", "tg.addcmul", lambda a, b, c: nn.addcmul(a, b, c, 0.5),
         lambda a, b, c: torch.addcmul(a, b, c, value=0.5), [In((3, 4)), In((3, 4)), fixed((4,))]),
    Case("addcdiv", "tg.addcdiv", lambda a, b, c: nn.addcdiv(a, b, c, -2.0),
         lambda a, b, c: torch.addcdiv(a, b, c, value=-2.0),
         [In((3, 4)), In((3, 4)), fixed((4,), make=_positive)]),
    Case("clamp", "tg.clamp", lambda x: nn.clamp(x, -0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), [In((3, 8))]),
    Case("clamp_int_min", "tg.clamp", lambda x: nn.clamp(x, 3), lambda x: x.clamp(min=3),
         [In((3, 8), torch.int64, ints(10))]),
    Case("hardtanh", "tg.hardtanh", lambda x: nn.hardtanh(x, -2.0, 1.5),
         lambda x: F.hardtanh(x, -2.0, 1.5), [In((3, 8), make=lambda s: torch.randn(s) * 3)]),
    Case("upsample_size", "tg.upsample_nearest2d", lambda x: nn.upsample_nearest2d(x, (16, 12)),
         lambda x: F.interpolate(x, size=(16, 12), mode="nearest"), [In((2, 3, 8, 8))]),
    Case("upsample_scale", "tg.upsample_nearest2d",
         lambda x: nn.upsample_nearest2d(x, (7, 10), (1.5, 2.0)),
         lambda x: F.interpolate(x, scale_factor=(1.5, 2.0), mode="nearest"), [In((2, 3, 5, 5))]),
    Case("upsample_dynamic_spatial", "tg.upsample_nearest2d",
         lambda x: nn.upsample_nearest2d(x, (9, 6)),
         lambda x: F.interpolate(x, size=(9, 6), mode="nearest"), [In((2, 3, 5, 4), dyn=(0, 2, 3))]),
]
CASES += [
    Case("matmul_a_batch_b_batch_broadcast", "tg.matmul", tg.matmul, torch.matmul,
         [In((3, 1, 4, 5), dyn=(0,)), fixed((2, 5, 3))]),
    Case("matmul_mat_vec", "tg.matmul", tg.matmul, torch.matmul, [In((4, 2, 5)), fixed((5,))]),
    Case("matmul_both_batch", "tg.matmul", tg.matmul, torch.matmul, [In((3, 2, 4, 5)), In((3, 2, 5, 2))]),
]
