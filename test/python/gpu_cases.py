"""Shared GPU test cases: one tg function and its torch reference per op family.

Each case builds tg IR (lowered by the lead's tg-decompose + tg-lower-to-linalg), so the
GPU tests see exactly the linalg-on-tensors input contract of tg-gpu-pipeline.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import torch
from torch_mlir import ir
from torch_mlir.dialects import func

from dynamlir.dialects import builders as tg
from dynamlir.dialects import make_context
from dynamlir.lowering import build_pass_manager

TO_LINALG = "builtin.module(tg-decompose{targets=gpu},canonicalize,cse,tg-lower-to-linalg)"


@dataclasses.dataclass
class GpuCase:
    name: str
    shapes: list[tuple[int, ...]]
    tg: Callable
    torch: Callable

    def __str__(self):
        return self.name


def layer_norm_tg(x, w, b):
    mean = tg.reduce_mean(x, [1], True)
    xc = tg.sub(x, mean)
    var = tg.reduce_mean(tg.mul(xc, xc), [1], True)
    return tg.add(tg.mul(tg.mul(xc, tg.rsqrt(tg.add(var, 1e-5))), w), b)


def layer_norm_torch(x, w, b):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def mlp_tg(x, w1, b1, w2):
    h = tg.add(tg.mm(x, w1), b1)
    return tg.mm(tg.gelu(h), w2)


def mlp_torch(x, w1, b1, w2):
    return torch.nn.functional.gelu(x @ w1 + b1) @ w2


def block_tg(x, wq, wk, wv, wo, g, b):
    # single-head attention + residual + layer norm, batched over dim 0
    q, k, v = (tg.bmm(x, w) for w in (wq, wk, wv))
    s = tg.mul(tg.bmm(q, tg.transpose(k, 1, 2)), 1.0 / math.sqrt(16))
    p = tg.softmax(s, 2)
    h = tg.add(tg.bmm(tg.bmm(p, v), wo), x)
    flat = tg.reshape(h, [2 * 8, 16])
    return tg.reshape(layer_norm_tg(flat, g, b), [2, 8, 16])


def block_torch(x, wq, wk, wv, wo, g, b):
    q, k, v = (x @ w for w in (wq, wk, wv))
    p = torch.softmax((q @ k.transpose(1, 2)) / math.sqrt(16), 2)
    h = (p @ v) @ wo + x
    return layer_norm_torch(h.reshape(16, 16), g, b).reshape(2, 8, 16)


F = torch.nn.functional
CASES = [
    GpuCase("add_broadcast", [(4, 8), (8,)], tg.add, torch.add),
    GpuCase("mul_broadcast_col", [(5, 7), (5, 1)], tg.mul, torch.mul),
    GpuCase("unary_chain", [(3, 33)],
            lambda x: tg.add(tg.erf(tg.tanh(x)), tg.log(tg.add(tg.exp(x), 1.0))),
            lambda x: torch.erf(torch.tanh(x)) + torch.log(torch.exp(x) + 1.0)),
    GpuCase("compare_select", [(6, 10), (6, 10)], lambda a, b: tg.where(tg.gt(a, b), a, tg.neg(b)),
            lambda a, b: torch.where(a > b, a, -b)),
    GpuCase("matmul", [(19, 33), (33, 21)], tg.mm, torch.mm),
    GpuCase("bmm", [(3, 17, 9), (3, 9, 18)], tg.bmm, torch.bmm),
    GpuCase("sum_rows", [(7, 300)], lambda x: tg.reduce_sum(x, [1]), lambda x: x.sum(1)),
    GpuCase("sum_cols", [(50, 6)], lambda x: tg.reduce_sum(x, [0]), lambda x: x.sum(0)),
    GpuCase("max_rows", [(5, 40)], lambda x: tg.reduce_max(x, [1]), lambda x: x.amax(1)),
    GpuCase("mean_all", [(9, 13)], lambda x: tg.reduce_mean(x, [0, 1]), lambda x: x.mean()),
    GpuCase("softmax", [(4, 100)], lambda x: tg.softmax(x, 1), lambda x: torch.softmax(x, 1)),
    GpuCase("layer_norm", [(6, 32), (32,), (32,)], layer_norm_tg, layer_norm_torch),
    GpuCase("reshape_transpose", [(4, 6)],
            lambda x: tg.transpose(tg.reshape(x, [2, 12]), 0, 1),
            lambda x: x.reshape(2, 12).t()),
    GpuCase("broadcast_to", [(1, 5)], lambda x: tg.broadcast_to(x, [3, 5]),
            lambda x: x.expand(3, 5)),
    GpuCase("slice_cat", [(6, 8), (6, 3)],
            lambda a, b: tg.cat([tg.slice(a, 1, 1, 7, 2), b], 1),
            lambda a, b: torch.cat([a[:, 1:7:2], b], 1)),
    GpuCase("mlp", [(8, 32), (32, 64), (64,), (64, 16)], mlp_tg, mlp_torch),
    GpuCase("transformer_block",
            [(2, 8, 16), (2, 16, 16), (2, 16, 16), (2, 16, 16), (2, 16, 16), (16,), (16,)],
            block_tg, block_torch),
]  # fmt: skip


def linalg_module(case: GpuCase) -> tuple[ir.Context, ir.Module]:
    """The case as a linalg-on-tensors module (tg built, decomposed, lowered to linalg)."""
    ctx = make_context()
    with ctx, ir.Location.unknown():
        module = ir.Module.create()
        types = [ir.RankedTensorType.get(list(s), ir.F32Type.get()) for s in case.shapes]
        with ir.InsertionPoint(module.body):

            def body(*args):
                return case.tg(*args)

            body.__name__ = case.name
            func.FuncOp.from_py_func(*types, name=case.name)(body)
        build_pass_manager(TO_LINALG).run(module.operation)
    return ctx, module
