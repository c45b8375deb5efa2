"""CPU convolution paths (lowering/cpu_conv.py, lowering/cpu_conv_kernel.py): the direct
vector kernel, the im2col + matmul forms and the per-image weight gradient, each checked
against eager forward values and gradients, with the IR showing which path ran.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from dynamlir.dialects import make_context
from dynamlir.frontend import backend
from dynamlir.lowering import build_pass_manager, cpu_conv_kernel
from dynamlir.lowering.cpu_conv import rewrite_convolutions
from torch_mlir import ir


def _gen(seed):
    return torch.Generator().manual_seed(seed)


CASES = {
    # direct kernel: width tail of 5 single columns, filter and row tails
    "direct_tails": ({"padding": 1}, (3, 5, 11, 37), (7, 5, 3, 3)),
    # direct kernel with a row stride and dilation
    "direct_strided_rows": (
        {"stride": (2, 1), "padding": 2, "dilation": 2},
        (2, 4, 13, 20),
        (6, 4, 3, 3),
    ),
    # strided along the width: im2col + "nn" matmul
    "im2col_wide": ({"stride": 2, "padding": 1}, (2, 3, 16, 16), (5, 3, 3, 3)),
    # 3x3 output, K = 16*9: im2col + dot ("nt") matmul where K is whole vectors
    "im2col_narrow": ({}, (2, 16, 5, 5), (6, 16, 3, 3)),
    # 7x7 taps: kernel loops instead of unrolled taps
    "direct_7x7": ({"padding": 3}, (2, 2, 9, 16), (3, 2, 7, 7)),
    # non-square kernel, no padding, 1x1 output rows
    "kernel_1x5": ({"padding": (0, 2)}, (2, 3, 4, 9), (4, 3, 1, 5)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conv2d_matches_eager(name, dtype):
    kw, xs, ws = CASES[name]
    x = torch.randn(xs, generator=_gen(0), dtype=dtype)
    w = torch.randn(ws, generator=_gen(1), dtype=dtype)
    b = torch.randn(ws[0], generator=_gen(2), dtype=dtype)
    fn = lambda x, w, b: F.relu(F.conv2d(x, w, b, **kw))
    torch._dynamo.reset()
    backend._warned.clear()
    compiled = torch.compile(fn, backend="dynamlir")
    got_in = [t.clone().requires_grad_() for t in (x, w, b)]
    want_in = [t.clone().requires_grad_() for t in (x, w, b)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an eager fallback warns: fail instead
        got = compiled(*got_in)
        want = fn(*want_in)
        tol = (
            {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-9}
        )
        torch.testing.assert_close(got, want, **tol)
        weights = torch.randn(want.shape, generator=_gen(3), dtype=dtype)
        (got * weights).sum().backward()
    (want * weights).sum().backward()
    for a, e in zip(got_in, want_in):
        torch.testing.assert_close(a.grad, e.grad, **tol)


@pytest.mark.parametrize("stride", [1, 2])  # direct kernel, im2col
def test_conv2d_dynamic_batch(stride):
    w = torch.randn(8, 3, 3, 3, generator=_gen(1))
    fn = lambda x: F.conv2d(x, w, padding=1, stride=stride)
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="dynamlir")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (2, 5):
            x = torch.randn(n, 3, 12, 16, generator=_gen(n))
            torch._dynamo.mark_dynamic(x, 0)
            torch.testing.assert_close(compiled(x), fn(x), rtol=1e-4, atol=1e-4)


CONV = """
func.func @f(%x: tensor<2x{c}x{h}x{w}xf32>, %k: tensor<4x{c}x3x3xf32>) -> tensor<2x4x{oh}x{ow}xf32> {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x{oh}x{ow}xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x{oh}x{ow}xf32>) -> tensor<2x4x{oh}x{ow}xf32>
  %0 = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>,
      strides = dense<[1, {sw}]> : tensor<2xi64>}}
    ins(%x, %k : tensor<2x{c}x{h}x{w}xf32>, tensor<4x{c}x3x3xf32>)
    outs(%i : tensor<2x4x{oh}x{ow}xf32>) -> tensor<2x4x{oh}x{ow}xf32>
  return %0 : tensor<2x4x{oh}x{ow}xf32>
}}
"""


@pytest.mark.parametrize(
    "sizes, expect",
    [
        ({"c": 3, "h": 10, "w": 18, "oh": 8, "ow": 16, "sw": 1}, "direct"),
        ({"c": 3, "h": 10, "w": 17, "oh": 8, "ow": 8, "sw": 2}, "im2col"),
        ({"c": 16, "h": 5, "w": 5, "oh": 3, "ow": 3, "sw": 1}, "im2col"),
    ],
)
def test_path_choice(sizes, expect):
    """Wide unit-stride convs stay for the direct kernel, the rest become batch_matmuls; the
    CPU pipeline leaves no linalg.conv in either case."""
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(CONV.format(**sizes))
        changed = rewrite_convolutions(module.operation)
        assert changed == (expect == "im2col")
        text = str(module)
        assert ("linalg.batch_matmul" in text) == (expect == "im2col")
        pm = build_pass_manager(
            "builtin.module(one-shot-bufferize{bufferize-function-boundaries "
            "function-boundary-type-conversion=identity-layout-map},"
            "tg-cpu-matmul-kernels{parallel=0},tg-cpu-conv-kernels)"
        )
        pm.run(module.operation)
        text = str(module)
        assert "linalg.conv_2d" not in text and "linalg.batch_matmul" not in text
        assert "vector.fma" in text


@pytest.mark.parametrize("f, vectors, cap, mr", [
    (16, 4, 6, 4),  # 4 and 6 cost alike; 6 would leave a tail of 4 (the small CNN's conv1)
    (32, 4, 6, 4),  # conv2: 6 would run 6x5 and 2
    (24, 4, 6, 6),  # both divide: the larger
    (16, 4, 3, 2),  # 3 leaves a tail and costs more
    (7, 1, 8, 7),   # one vector per filter: the whole filter count
])
def test_filter_tile_avoids_tails_at_equal_cost(f, vectors, cap, mr):
    assert cpu_conv_kernel.filter_tile(f, vectors, cap) == mr


def test_filter_tile_without_the_tail_rule(monkeypatch):
    monkeypatch.setattr(cpu_conv_kernel, "EVEN_FILTER_TILES", False)
    assert cpu_conv_kernel.filter_tile(16, 4, 6) == 6
