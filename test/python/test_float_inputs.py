"""Note [dynamic float inputs]: under torch.compile(dynamic=True) a float that reaches the
graph as a 0-d tensor read with .item() (LayerNorm's eps) is compiled as a constant behind
a value check, instead of failing ATen export and running the whole graph eagerly."""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F

from dynamlir.frontend.float_inputs import CheckedFloats
from dynamlir.runtime import debug


def test_layer_norm_model_compiles_under_dynamic_true(fresh_cache):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.LayerNorm(32), torch.nn.Linear(32, 48), torch.nn.GELU())
    eager = copy.deepcopy(model)
    compiled = torch.compile(model, backend="dynamlir", dynamic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no eager fallback of ours, no Dynamo graph break
        for rows in (21, 35):
            x, target = torch.randn(rows, 32), torch.randn(rows, 48)
            F.mse_loss(compiled(x), target).backward()
            F.mse_loss(eager(x), target).backward()
            for (n, got), (_, want) in zip(model.named_parameters(), eager.named_parameters()):
                torch.testing.assert_close(got.grad, want.grad, rtol=1e-4, atol=1e-5,
                                           msg=lambda m: f"{n}: {m}")
    assert debug.COUNTERS["calls"] == 4  # forward and backward, twice: compiled code ran
    assert debug.COUNTERS["fallbacks"] == 0


def test_changed_float_argument_gives_the_new_result(fresh_cache):
    def f(x, eps):
        return F.layer_norm(x, (32,), eps=eps) * 2

    compiled = torch.compile(f, backend="dynamlir", dynamic=True)
    for rows, eps in ((3, 1e-5), (5, 1e-5), (4, 0.5), (6, 0.5)):
        x = torch.randn(rows, 32)
        torch.testing.assert_close(compiled(x, eps), f(x, eps))
    assert debug.COUNTERS["calls"] == 4


def test_checked_floats_runs_eagerly_with_one_warning_when_the_value_changed():
    ran = []
    checked = CheckedFloats(lambda *a: ran.append("compiled"), lambda *a: ran.append("eager"),
                            [(1, 1e-5)])
    x = torch.zeros(2)
    checked(x, torch.tensor(1e-5, dtype=torch.float64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checked(x, torch.tensor(0.5))
        checked(x, torch.tensor(0.25))
    assert ran == ["compiled", "eager", "eager"]
    assert len(caught) == 1
    assert "changed from 1e-05 (compiled as a constant) to 0.5" in str(caught[0].message)
