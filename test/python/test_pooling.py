"""max_pool2d without indices (the running-maximum import, frontend/aten_pool.py): values and
gradients match eager, including ties (after a relu most windows tie at 0: eager gives the
gradient to the first maximum) and NaN (an element that is NaN wins, as in ATen's kernel)."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F


@pytest.mark.parametrize(
    "shape, kernel, stride, padding, dilation",
    [((2, 3, 8, 8), 2, 2, 0, 1), ((2, 3, 9, 7), 3, 2, 1, 1), ((1, 2, 10, 10), 3, 1, 1, 2)],
)
def test_max_pool_ties_and_nan_match_eager(shape, kernel, stride, padding, dilation):
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen)
    x[0, 0, 0, 0] = float("nan")
    x[0, 0, 1, 1] = 0.0

    def f(t):
        return F.max_pool2d(F.relu(t), kernel, stride, padding, dilation)

    compiled = torch.compile(f, backend="dynamlir")
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        want, got = f(a), compiled(b)
    assert not [w for w in caught if "eagerly" in str(w.message)], "max_pool2d fell back"
    torch.testing.assert_close(got, want, equal_nan=True)
    cot = torch.randn(want.shape, generator=gen)
    want.backward(cot)
    got.backward(cot)
    torch.testing.assert_close(b.grad, a.grad, equal_nan=True)
