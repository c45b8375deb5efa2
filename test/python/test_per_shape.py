"""Note [per-shape specialization]: a dynamic graph whose symbolic sizes the importer
refuses (here a split of a dynamic dim) compiles one static specialization per input shape
instead of running those ops eagerly. (A GPT-style block is shape-generic now:
test_dynamic_shapes.py.)"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

from dynamlir.frontend import per_shape
from dynamlir.runtime import debug

SHAPES = [(2, 16, 32), (3, 12, 32), (1, 20, 32)]


class TimeGate(torch.nn.Module):
    """Gates the first half of the (dynamic) time dim with the second: a split of a
    dynamic dim, which has no shape-generic form."""

    def __init__(self, d: int = 32):
        super().__init__()
        self.lin = torch.nn.Linear(d, d)

    def forward(self, x):
        a, b = torch.tanh(self.lin(x)).chunk(2, dim=1)
        return a * torch.sigmoid(b)


def _no_warnings():
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("error")  # no fallback of ours, no Dynamo graph break
    return context


def test_dynamic_true_compiles_each_shape(fresh_cache):
    torch.manual_seed(0)
    model = TimeGate().eval()
    compiled = torch.compile(model, backend="dynamlir", dynamic=True)
    context = _no_warnings()
    try:
        for shape in SHAPES + SHAPES[:1]:
            x = torch.randn(*shape)
            with torch.no_grad():
                torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-5)
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["shape_specializations"] == 3  # the repeated shape reuses its own
    assert debug.COUNTERS["calls"] == 4  # compiled code ran every time
    assert debug.COUNTERS["fallbacks"] == 0


def test_training_after_automatic_dynamic_recompile(fresh_cache):
    """The default mode: the second shape makes Dynamo recompile with symbolic sizes;
    before, that graph ran its split eagerly."""
    torch.manual_seed(0)
    model = TimeGate()
    reference = copy.deepcopy(model)
    compiled = torch.compile(model, backend="dynamlir")
    context = _no_warnings()
    try:
        for shape in SHAPES:
            x = torch.randn(*shape)
            compiled(x).pow(2).mean().backward()
            reference(x).pow(2).mean().backward()
            for (name, got), (_, want) in zip(model.named_parameters(),
                                              reference.named_parameters()):
                torch.testing.assert_close(got.grad, want.grad, rtol=1e-4, atol=1e-5,
                                           msg=lambda m, n=name: f"{shape} {n}: {m}")
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["shape_specializations"] == 2  # the first shape: a static graph
    assert debug.COUNTERS["calls"] == 6  # forward and backward per step, all compiled
    assert debug.COUNTERS["fallbacks"] == 0


def _halves(x):
    a, b = x.tanh().chunk(2, dim=1)
    return a * b


def test_shapes_past_the_limit_run_eagerly_with_one_warning(fresh_cache, monkeypatch):
    monkeypatch.setattr(per_shape, "LIMIT", 2)
    compiled = torch.compile(_halves, backend="dynamlir", dynamic=True)
    inputs = [torch.randn(b, t, 8) for b, t in ((2, 4), (3, 6), (4, 10), (5, 8))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x in inputs + inputs[:1]:
            torch.testing.assert_close(compiled(x), _halves(x))
    ours = [str(w.message) for w in caught if "dynamlir" in str(w.message)]
    assert len(ours) == 1
    assert "met more than 2 shapes; new shapes run it eagerly" in ours[0]
    assert "split of a dynamic dim" in ours[0]
    assert debug.COUNTERS["shape_specializations"] == 2
    assert debug.COUNTERS["calls"] == 3  # the first two shapes, and the first again


def test_an_op_with_no_mapping_keeps_one_shape_generic_plan(fresh_cache):
    def f(x):
        return torch.special.bessel_j0(x.tanh()) * 2

    compiled = torch.compile(f, backend="dynamlir", dynamic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the op's one warning may have been given already
        for rows in (3, 5, 7):
            x = torch.randn(rows, 4)
            torch.testing.assert_close(compiled(x), f(x))
    assert debug.COUNTERS["shape_specializations"] == 0
    assert debug.COUNTERS["fallbacks"] >= 1


def test_static_copy_describes_inputs_by_their_concrete_shapes():
    gm = torch.fx.symbolic_trace(lambda x, n: x.reshape(n, -1))
    args = [torch.randn(4, 6), 2]
    copy_ = per_shape.static_copy(gm, args)
    metas = [n.meta["val"] for n in copy_.graph.nodes if n.op == "placeholder"]
    assert tuple(metas[0].shape) == (4, 6) and metas[1] == 2
    assert not per_shape.has_symbolic_inputs(copy_, args)
    torch.testing.assert_close(copy_(torch.ones(4, 6), 3), torch.ones(3, 8))


@pytest.mark.parametrize("args, same", [
    ((torch.zeros(2, 3), 4), (torch.ones(2, 3), 4)),
    ((torch.zeros(2, 3),), (torch.zeros(2, 3, dtype=torch.float64),)),
])
def test_shape_key(args, same):
    equal = per_shape.shape_key(args) == per_shape.shape_key(same)
    assert equal == (args[0].dtype == same[0].dtype)


def test_a_later_process_skips_the_shape_generic_attempt(fresh_cache, monkeypatch):
    """The decision is recorded on disk: a new compile (as in a new process) of the same
    dynamic graph goes to per-shape compiles without exporting it on symbolic shapes."""
    from dynamlir.frontend import backend
    from dynamlir.runtime import cache

    torch.manual_seed(0)
    model = TimeGate().eval()
    x = torch.randn(2, 8, 32)
    with torch.no_grad():
        torch.compile(model, backend="dynamlir", dynamic=True)(x)
    assert len(list(fresh_cache.glob("*.per-shape.json"))) == 1
    torch._dynamo.reset()
    cache._MEMORY.clear()
    symbolic = []
    real = backend.export_aten
    monkeypatch.setattr(backend, "export_aten", lambda gm, ex: symbolic.append(
        per_shape.has_symbolic_inputs(gm, ex)) or real(gm, ex))
    with torch.no_grad():
        got = torch.compile(model, backend="dynamlir", dynamic=True)(x)
    torch.testing.assert_close(got, model(x), rtol=1e-4, atol=1e-5)
    assert debug.COUNTERS["per_shape_hits"] == 1
    assert True not in symbolic  # only the static specialization was exported (or cached)
