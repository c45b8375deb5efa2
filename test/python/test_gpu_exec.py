"""GPU execution: compiled kernels on torch CUDA tensors match torch CUDA eager.

Skipped (see conftest.py) where no CUDA device, CUDA torch or cuda-bindings is present.
"""

from __future__ import annotations

import pytest
import torch
from gpu_cases import CASES, linalg_module

from dynamlir.runtime.cuda import compile_module

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case_matches_torch_cuda_eager(case):
    ctx, module = linalg_module(case)
    with ctx:
        fn = compile_module(module, "sm_90")[case.name]
    gen = torch.Generator().manual_seed(0)
    args = [torch.randn(s, generator=gen).cuda() for s in case.shapes]
    (got,) = fn(*args)
    want = case.torch(*args)
    torch.cuda.synchronize()
    torch.testing.assert_close(got, want, rtol=2e-4, atol=2e-4)


def test_outputs_use_torch_caching_allocator_and_stream():
    case = next(c for c in CASES if c.name == "softmax")
    ctx, module = linalg_module(case)
    with ctx:
        fn = compile_module(module)[case.name]
    x = torch.randn(case.shapes[0], device="cuda")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        (y,) = fn(x)
    stream.synchronize()
    assert y.is_cuda and y.shape == x.shape
    torch.testing.assert_close(y, torch.softmax(x, 1))
