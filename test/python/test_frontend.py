"""The torch.compile backend and the public API: end-to-end models, fallbacks, options,
source locations."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

import dynamlir
from dynamlir.demo import Block


def compiled_no_fallback(model, *inputs):
    torch._dynamo.reset()
    compiled = torch.compile(model, backend="dynamlir")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            return compiled(*inputs)


def test_mlp_matches_eager():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    x = torch.randn(8, 32)
    with torch.no_grad():
        torch.testing.assert_close(compiled_no_fallback(mlp, x), mlp(x))


def test_transformer_block_matches_eager():
    torch.manual_seed(0)
    block = Block(d=64, heads=4).eval()
    x = torch.randn(2, 16, 64)
    with torch.no_grad():
        torch.testing.assert_close(compiled_no_fallback(block, x), block(x), rtol=1e-5, atol=1e-5)


def test_buffer_mutation_is_written_back():
    torch.manual_seed(0)

    class Counter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("total", torch.zeros(4))

        def forward(self, x):
            self.total.add_(x.sum(0))
            return x * 2

    eager, ours = Counter(), Counter()
    x = torch.randn(3, 4)
    expected = eager(x)
    torch.testing.assert_close(compiled_no_fallback(ours, x), expected)
    torch.testing.assert_close(ours.total, eager.total)


def test_unsupported_op_falls_back_with_one_warning(monkeypatch):
    from dynamlir.frontend import backend

    monkeypatch.setattr(backend, "_warned", set())  # another test may have warned for the op
    torch._dynamo.reset()

    def fn(x):
        return torch.special.bessel_j0(x) + 1

    x = torch.randn(5)
    compiled = torch.compile(fn, backend="dynamlir")
    with pytest.warns(UserWarning, match=r"aten\.special_bessel_j0.*test_frontend\.py:\d+") as record:
        out = compiled(x)
        compiled(x)
    torch.testing.assert_close(out, fn(x))
    assert sum("dynamlir" in str(w.message) for w in record) == 1


def test_compile_rejects_unknown_options():
    with pytest.raises(ValueError, match=r"unknown option 'vectorise' \(allowed: chip, pipeline\)"):
        dynamlir.compile(torch.nn.Linear(2, 2), vectorise=True)


def test_torch_compile_options_dict_reaches_the_backend():
    # torch.compile(..., options={...}) passes one `options` dict: its keys are checked and used.
    torch._dynamo.reset()
    model = torch.nn.Linear(3, 2)
    compiled = torch.compile(model, backend="dynamlir", options={"pipeline": "tg-cpu-pipeline"})
    x = torch.randn(4, 3)
    torch.testing.assert_close(compiled(x), model(x))
    torch._dynamo.reset()
    bad = torch.compile(model, backend="dynamlir", options={"vectorise": True})
    with pytest.raises(Exception, match=r"unknown option 'vectorise'"):
        bad(x)


def test_export_mlir_carries_source_locations():
    def fn(x, w):
        return F.softmax(x @ w, dim=-1)

    text = dynamlir.export_mlir(fn, torch.randn(2, 3), torch.randn(3, 4))
    assert '"tg.matmul"' in text and '"tg.softmax"' in text
    torch_mlir_ir = pytest.importorskip("torch_mlir.ir")
    from dynamlir.dialects import make_context

    with make_context():
        module = torch_mlir_ir.Module.parse(text)
        locs = [str(op.location) for op in module.body.operations[0].regions[0].blocks[0].operations]
    assert any("test_frontend.py" in loc for loc in locs), locs
