"""tg-fold-affine-gradients through torch.compile: a norm's affine map in front of a linear
layer, its input without gradient, gets the gradients of its scale and shift from the
weight gradient's product (Note [affine gradients before a product]); every parameter's
gradient still matches eager, and the fold stays off where the input needs a gradient."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import counting

from dynamlir.demo import Block
from dynamlir.lowering import affine_gradients


class RMSNorm(torch.nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(d) + 0.5)

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


def norm_linear(norm: torch.nn.Module, d: int = 32, out: int = 48) -> torch.nn.Module:
    return torch.nn.Sequential(norm, torch.nn.Linear(d, out))


class TwoHeads(torch.nn.Module):
    """One norm read by two linear layers: its gradient is their sum, not a fold."""

    def __init__(self, d: int = 32):
        super().__init__()
        self.norm, self.a, self.b = torch.nn.LayerNorm(d), torch.nn.Linear(d, 16), torch.nn.Linear(d, 8)

    def forward(self, x):
        y = self.norm(x)
        return torch.cat([self.a(y), self.b(y)], -1)


def frozen_scale() -> torch.nn.Module:
    model = norm_linear(torch.nn.LayerNorm(32))
    model[0].weight.requires_grad_(False)
    with torch.no_grad():
        model[0].weight.uniform_(0.5, 1.5)
    return model


CASES = {
    # name: (model, input shape, input requires grad, folds expected)
    "layer_norm": (lambda: norm_linear(torch.nn.LayerNorm(32)), (4, 8, 32), False, 1),
    "rms_norm": (lambda: norm_linear(RMSNorm(32)), (4, 8, 32), False, 1),
    "layer_norm_no_bias": (lambda: norm_linear(torch.nn.LayerNorm(32, bias=False)), (16, 32), False, 1),
    "layer_norm_frozen_scale": (frozen_scale, (16, 32), False, 1),
    "batch_norm": (lambda: norm_linear(torch.nn.BatchNorm1d(32)), (16, 32), False, 1),
    "gpt2_block": (lambda: Block(d=32, heads=2), (2, 8, 32), False, 1),
    "input_needs_grad": (lambda: norm_linear(torch.nn.LayerNorm(32)), (4, 8, 32), True, 0),
    "no_affine": (lambda: norm_linear(torch.nn.LayerNorm(32, elementwise_affine=False)), (16, 32), False, 0),
    "two_heads": (TwoHeads, (4, 8, 32), False, 0),
}


@pytest.fixture
def folds(monkeypatch):
    """The folds each run of tg-fold-affine-gradients made, in order."""
    return counting(monkeypatch, affine_gradients, "fold_module")


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_eager(name, fresh_cache, folds):
    make, shape, input_grad, expected_folds = CASES[name]
    torch.manual_seed(0)
    model = make()
    model.train()
    with torch.no_grad():  # norms start at gamma 1, beta 0, which would hide either term
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    eager = copy.deepcopy(model)
    x = torch.randn(*shape)
    xs = [x.clone().requires_grad_(input_grad) for _ in range(2)]
    target = torch.randn_like(copy.deepcopy(model)(x))  # a copy: batch norm's stats move
    compiled = torch.compile(model, backend="dynamlir")
    F.mse_loss(compiled(xs[0]), target).backward()
    F.mse_loss(eager(xs[1]), target).backward()
    assert folds == [expected_folds]
    for (n, got), (_, want) in zip(model.named_parameters(), eager.named_parameters()):
        if want.grad is None:
            assert got.grad is None, n
            continue
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-4, atol=1e-5, msg=lambda m: f"{n}: {m}")
    if input_grad:
        torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=1e-4, atol=1e-5)
    for got, want in zip(model.buffers(), eager.buffers()):  # batch norm's running stats
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("sizes, dynamic", [
    (((4, 8), (6, 8)), None),  # the batch marked dynamic
    (((4, 8), (6, 5)), True),  # batch and sequence: (B, T, C) comes back by a dynamic_reshape
])
def test_dynamic_rows_fold_and_match_eager(fresh_cache, folds, sizes, dynamic):
    """Rows of a dynamic size fold as well, through the reshapes (static or dynamic_) that
    give them back their (B, T) form; one compile serves every size."""
    torch.manual_seed(0)
    model = norm_linear(torch.nn.LayerNorm(32))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    eager = copy.deepcopy(model)
    compiled = torch.compile(model, backend="dynamlir", dynamic=dynamic)
    for batch, seq in sizes:
        x = torch.randn(batch, seq, 32)
        if dynamic is None:
            torch._dynamo.mark_dynamic(x, 0)
        target = torch.randn(batch, seq, 48)
        for p in [*model.parameters(), *eager.parameters()]:
            p.grad = None
        F.mse_loss(compiled(x), target).backward()
        F.mse_loss(eager(x), target).backward()
        for (n, got), (_, want) in zip(model.named_parameters(), eager.named_parameters()):
            torch.testing.assert_close(got.grad, want.grad, rtol=1e-4, atol=1e-5, msg=lambda m: f"{n}: {m}")
    assert folds == [1]
