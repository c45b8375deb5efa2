"""The per-primitive table for test_autodiff.py: how to build each differentiable primitive
with the tg builders, and the eager PyTorch function whose gradients it must match."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from decompose_cases import Case, In, fixed, ints

from torch_mlir import ir

from dynamlir.dialects import builders as tg
from dynamlir.dialects import builders_nn as nn
from dynamlir.dialects import ops_elementwise as E
from dynamlir.dialects.tg import build
from dynamlir.dialects.types import DYN, shape_of


def pos(shape):
    return torch.rand(shape) + 0.5


def ties(shape):
    # small integers: many exact ties for max/min/maximum
    return torch.randint(-2, 3, shape).float()


def with_zeros(shape):
    # row 0: no zero; row 1: one zero; row 2: two zeros (prod's three gradient regimes)
    x = torch.rand(shape) + 0.5
    x[1, 1] = 0.0
    x[2, 0] = x[2, 2] = 0.0
    return x


def _c(name, build, ref, inputs, **kw):
    return Case(name, "", build, ref, inputs, **kw)


CASES = [
    # unary
    _c("neg", tg.neg, torch.neg, [In((3, 4))]),
    _c("abs", tg.abs, torch.abs, [In((3, 4))]),
    _c("relu", tg.relu, torch.relu, [In((3, 4))]),
    _c("exp", tg.exp, torch.exp, [In((3, 4))]),
    _c("expm1", tg.expm1, torch.expm1, [In((3, 4))]),
    _c("log", tg.log, torch.log, [In((3, 4), make=pos)]),
    _c("log1p", tg.log1p, torch.log1p, [In((3, 4), make=pos)]),
    _c("tanh", tg.tanh, torch.tanh, [In((3, 4))]),
    _c("sigmoid", tg.sigmoid, torch.sigmoid, [In((3, 4))]),
    _c("sqrt", tg.sqrt, torch.sqrt, [In((3, 4), make=pos)]),
    _c("rsqrt", tg.rsqrt, torch.rsqrt, [In((3, 4), make=pos)]),
    _c("reciprocal", tg.reciprocal, torch.reciprocal, [In((3, 4), make=pos)]),
    _c("erf", tg.erf, torch.erf, [In((3, 4))]),
    _c("sin", tg.sin, torch.sin, [In((3, 4))]),
    _c("cos", tg.cos, torch.cos, [In((3, 4))]),
    _c("floor_zero_grad", lambda x: tg.mul(tg.floor(x), x), lambda x: x.floor() * x, [In((3, 4))]),
    # binary, with broadcasting on both sides
    _c("add_broadcast", tg.add, torch.add, [In((4, 8)), fixed((8,))]),
    _c("sub_outer", tg.sub, torch.sub, [In((4, 1)), fixed((1, 8))]),
    _c("mul_rank_mismatch", tg.mul, torch.mul, [In((2, 3, 4)), fixed((3, 1))]),
    _c("div", tg.div, torch.div, [In((4, 5)), fixed((5,), make=pos)]),
    _c("pow_tensor", tg.pow, torch.pow, [In((3, 4), make=pos), In((3, 4))]),
    _c("pow_scalar", lambda x: tg.pow(x, 3.0), lambda x: x**3.0, [In((3, 4))]),
    _c("maximum_ties", tg.maximum, torch.maximum, [In((4, 5), make=ties), fixed((5,), make=ties)]),
    _c("minimum_ties", tg.minimum, torch.minimum, [In((4, 5), make=ties), fixed((5,), make=ties)]),
    _c("remainder", tg.remainder, torch.remainder, [In((3, 4)), In((3, 4), make=pos)]),
    _c("fmod", tg.fmod, torch.fmod, [In((3, 4)), In((3, 4), make=pos)]),
    _c("atan2", lambda a, b: build(E.Atan2Op, a, b), torch.atan2, [In((3, 4)), In((3, 4))]),
    _c("where", lambda a, b: tg.where(tg.gt(a, b), a, tg.mul(b, 2.0)),
       lambda a, b: torch.where(a > b, a, b * 2.0), [In((4, 5)), fixed((5,))]),
    _c("convert_f64",
       lambda x: tg.convert(tg.mul(tg.convert(x, ir.F64Type.get()), 3.0), ir.F32Type.get()),
       lambda x: (x.double() * 3.0).float(), [In((3, 4))]),
    # contractions
    _c("mm", tg.mm, torch.mm, [In((3, 5)), fixed((5, 4))]),
    _c("bmm", tg.bmm, torch.bmm, [In((2, 3, 5)), In((2, 5, 4))]),
    # reductions
    _c("reduce_sum_keepdim", lambda x: tg.reduce_sum(x, [1], True),
       lambda x: x.sum(1, keepdim=True), [In((3, 4, 2))]),
    _c("reduce_sum_all", tg.reduce_sum, torch.sum, [In((3, 4))]),
    _c("reduce_sum_batch", lambda x: tg.reduce_sum(x, [0, 2]), lambda x: x.sum((0, 2)),
       [In((3, 4, 2))]),
    _c("reduce_prod_zeros", lambda x: tg.reduce_prod(x, [1]), lambda x: x.prod(1),
       [fixed((3, 3), make=with_zeros)]),
    _c("reduce_max_ties", lambda x: tg.reduce_max(x, [1]), lambda x: x.amax(1),
       [In((4, 6), make=ties)]),
    _c("reduce_min_ties_keepdim", lambda x: tg.reduce_min(x, [0, 1], True),
       lambda x: x.amin((0, 1), keepdim=True), [In((4, 6), make=ties)]),
    # shape ops
    _c("reshape", lambda x: tg.reshape(x, (shape_of(x)[0], 6)), lambda x: x.reshape(x.shape[0], 6),
       [In((3, 2, 3))]),
    _c("permute", lambda x: tg.permute(x, [2, 0, 1]), lambda x: x.permute(2, 0, 1),
       [In((3, 4, 2))]),
    _c("broadcast_to", lambda x: tg.broadcast_to(x, (3, 4, 5)), lambda x: x.expand(3, 4, 5),
       [fixed((4, 1))]),
    _c("slice", lambda x: tg.slice(x, 1, 1, 4), lambda x: x[:, 1:4], [In((3, 6))]),
    _c("slice_step", lambda x: tg.slice(x, 1, 1, 6, 2), lambda x: x[:, 1:6:2], [In((3, 7))]),
    _c("slice_batch", lambda x: tg.slice(x, 0, 1, 3), lambda x: x[1:3], [fixed((5, 2))]),
    # along a dynamic dim: "to the end" (end -1) and a static prefix of unknown remainder
    _c("slice_dynamic_to_end", lambda x: tg.slice(x, 0, 1, -1 if shape_of(x)[0] == DYN else 4),
       lambda x: x[1:], [In((4, 2))]),
    _c("slice_dynamic_prefix", lambda x: tg.slice(x, 0, 1, 3), lambda x: x[1:3], [In((4, 2))]),
    _c("cat", lambda a, b: tg.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1),
       [In((3, 2)), In((3, 4))]),
    # nn primitives
    _c("index_select", lambda w, i: nn.index_select(w, i, 0),
       lambda w, i: w.index_select(0, i.flatten()).reshape(*i.shape, w.shape[1]),
       [fixed((7, 3)), In((4, 2), torch.int64, make=ints(7))]),
    _c("index_select_middle", lambda w, i: nn.index_select(w, i, 1),
       lambda w, i: w.index_select(1, i), [In((2, 5, 3)), fixed((4,), torch.int64, ints(5))]),
    _c("convolution", lambda x, w: nn.convolution(x, w, [2, 1], [1, 0], [1, 2], 1),
       lambda x, w: F.conv2d(x, w, None, (2, 1), (1, 0), (1, 2)),
       [In((2, 3, 7, 8)), fixed((4, 3, 3, 2))], atol=1e-4),
    _c("convolution_groups", lambda x, w: nn.convolution(x, w, [1, 2], [2, 1], [1, 1], 2),
       lambda x, w: F.conv2d(x, w, None, (1, 2), (2, 1), 1, 2),
       [In((2, 4, 5, 6)), fixed((6, 2, 3, 3))], atol=1e-4),
]
