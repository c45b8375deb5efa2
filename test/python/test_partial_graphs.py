"""Partial graphs (Note [partial graphs] in frontend/partition.py): an op without a tg import
runs eagerly between compiled segments, with one warning per op kind naming it and its
line; forward values, gradients and written-back state match eager."""

from __future__ import annotations

import copy
import inspect
import warnings

import dynamlir
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from dynamlir.frontend import backend
from dynamlir.frontend.backend import CompiledSegment

HERE = __file__.rsplit("/", 1)[-1]


class Recording:
    """The dynamlir backend, keeping what it returns for each graph."""

    def __init__(self):
        self.runners = []

    def __call__(self, gm, example_inputs):
        runner = backend.dynamlir_backend(gm, example_inputs)
        self.runners.append(runner)
        return runner


def compiled(model, dynamic=False):
    torch._dynamo.reset()
    backend._warned.clear()
    rec = Recording()
    return torch.compile(model, backend=rec, dynamic=dynamic), rec


def kinds(runner) -> list[str]:
    return ["compiled" if isinstance(s, CompiledSegment) else "eager" for s in runner.steps]


def dynamlir_warnings(record) -> list[str]:
    return [str(w.message) for w in record if str(w.message).startswith("dynamlir:")]


def line_of(fn, text: str) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


class Sandwich(nn.Module):
    """Linear layers around an op dynamlir has no import for."""

    def __init__(self, special=torch.special.i0):
        super().__init__()
        self.a, self.b = nn.Linear(8, 16), nn.Linear(16, 4)
        self.special = special

    def forward(self, x):
        h = torch.tanh(self.a(x))
        h = self.special(h)  # the unsupported op
        return F.relu(self.b(h)) * 2


def test_inference_splits_around_the_unsupported_op():
    torch.manual_seed(0)
    model = Sandwich(torch.special.bessel_j0).eval()
    x = torch.randn(3, 8)
    fn, rec = compiled(model)
    with warnings.catch_warnings(record=True) as record, torch.no_grad():
        warnings.simplefilter("always")
        got = [fn(x), fn(x + 1)]
    with torch.no_grad():
        torch.testing.assert_close(got[0], model(x))
        torch.testing.assert_close(got[1], model(x + 1))
    (runner,) = rec.runners
    assert kinds(runner) == ["compiled", "eager", "compiled"]
    assert runner.compiled_segments == 2
    (message,) = dynamlir_warnings(record)
    line = line_of(Sandwich.forward, "the unsupported op")
    assert "aten.special_bessel_j0.default" in message and f"{HERE}:{line}" in message
    # the eager segment holds just that op; linear, tanh, relu and mul compile
    eager = runner.steps[1]
    assert [n.target for n in eager.module.graph.nodes if n.op == "call_function"] == [
        torch.ops.aten.special_bessel_j0.default
    ]
    assert '"tg.tanh"' in runner.steps[0].module_text
    assert '"tg.maximum"' in runner.steps[2].module_text or "relu" in runner.steps[2].module_text


def test_training_gradients_flow_through_eager_and_compiled_segments():
    torch.manual_seed(0)
    model = Sandwich()  # special.i0 has a derivative (i1)
    reference = copy.deepcopy(model)
    fn, rec = compiled(model)
    x = torch.randn(5, 8, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    with pytest.warns(UserWarning, match=rf"aten\.special_i0\.default eagerly at .*{HERE}:\d+"):
        out = fn(x)
    out.pow(2).sum().backward()
    reference(x_ref).pow(2).sum().backward()
    torch.testing.assert_close(out, reference(x_ref))
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-5)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)
    (runner,) = rec.runners
    assert kinds(runner) == ["compiled", "eager", "compiled"]
    # both compiled segments ran their AOT forward/backward (CompiledAutograd)
    assert all(s._autograd for s in runner.steps if isinstance(s, CompiledSegment))


def test_one_warning_per_op_kind_over_steps():
    def fn(x):
        a = torch.special.i0(x.sin())
        b = torch.special.i0(a.cos())  # i0 again: no second warning
        c = torch.special.polygamma(1, b + 1)
        return (c * x).sum()

    compiled_fn, rec = compiled(fn)
    x = torch.rand(6, requires_grad=True)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for _ in range(3):
            compiled_fn(x).backward()
    grad = x.grad.clone()
    x.grad = None
    for _ in range(3):
        fn(x).backward()
    torch.testing.assert_close(grad, x.grad, rtol=1e-4, atol=1e-5)
    messages = dynamlir_warnings(record)
    assert len(messages) == 2, messages
    assert (
        "special_i0" in messages[0]
        and f"{HERE}:{line_of(fn, 'torch.special.i0(x.sin())')}" in messages[0]
    )
    assert "polygamma" in messages[1] and f"{HERE}:{line_of(fn, 'polygamma')}" in messages[1]
    # sin | i0 | cos | i0 | add | polygamma | mul, sum: a chain, so seven segments
    assert kinds(rec.runners[0]) == ["compiled", "eager"] * 3 + ["compiled"]


def test_mutations_are_written_back_around_eager_segments():
    class Stats(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("total", torch.zeros(4))

        def forward(self, x, y):
            self.total.add_(x.sum(0))
            h = torch.special.i0(x * 0.5)
            y.mul_(2)
            return h.exp() + y

    eager, ours = Stats(), Stats()
    x = torch.randn(3, 4)
    y_ref = torch.randn(4)
    y = y_ref.clone()
    fn, rec = compiled(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fn(x, y)
    torch.testing.assert_close(got, eager(x, y_ref))
    torch.testing.assert_close(ours.total, eager.total)
    torch.testing.assert_close(y, y_ref)
    # the buffer update, x * 0.5 and y * 2 compile before i0; exp and the add after it
    assert kinds(rec.runners[0]) == ["compiled", "eager", "compiled"]


def test_training_dropout_runs_eagerly_between_compiled_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 12), nn.GELU(), nn.Dropout(0.5), nn.Linear(12, 3))
    reference = copy.deepcopy(model)
    fn, rec = compiled(model)
    x = torch.randn(4, 6)
    torch.manual_seed(1)
    with pytest.warns(UserWarning, match="dropout with 0 < p < 1 in training mode"):
        out = fn(x)
    torch.manual_seed(1)  # the eager dropout draws the same mask
    expected = reference(x)
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    expected.sum().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)
    assert kinds(rec.runners[0]) == ["compiled", "eager", "compiled"]


def test_no_grad_block_inside_a_training_graph_compiles_per_grad_mode():
    def fn(x):
        y = x.sin()
        with torch.no_grad():
            z = y * 2  # no gradient flows through z
        return (y + z).sum()

    compiled_fn, rec = compiled(fn)
    x = torch.randn(5, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing falls back
        compiled_fn(x).backward()
    torch.testing.assert_close(x.grad, x.detach().cos())
    runner = rec.runners[0]
    assert kinds(runner) == ["compiled", "compiled", "compiled"]
    assert [s.grad for s in runner.steps] == [True, False, True]


def test_view_only_segments_run_eagerly_without_a_warning_of_their_own():
    def fn(x):
        return torch.special.i0(x).t().reshape(-1)

    compiled_fn, rec = compiled(fn)
    x = torch.randn(3, 4)
    with warnings.catch_warnings(record=True) as record, torch.no_grad():
        warnings.simplefilter("always")
        torch.testing.assert_close(compiled_fn(x), fn(x))
    assert len(dynamlir_warnings(record)) == 1  # i0 only
    runner = rec.runners[0]
    assert kinds(runner) == ["eager"] and runner.compiled_segments == 0


def test_dynamic_sizes_cross_segments():
    def fn(x):
        h = torch.special.i0(x.tanh())
        return (h * x).sum(-1) + x.shape[0]

    compiled_fn, rec = compiled(fn, dynamic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in (3, 5, 8):
            x = torch.randn(n, 4)
            torch.testing.assert_close(compiled_fn(x), fn(x))
    assert len(rec.runners) == 1 and rec.runners[0].compiled_segments == 2


def test_explain_reports_the_segments():
    report = dynamlir.explain(Sandwich(torch.special.bessel_j0).eval(), torch.randn(2, 8))
    (graph,) = report.graphs
    assert [s.compiled for s in graph.segments] == [True, False, True]
    assert graph.segments[1].ops == {"aten.special_bessel_j0.default": 1}
    assert graph.segments[0].ops["aten.tanh.default"] == 1
    assert [f.op for f in graph.fallbacks] == ["aten.special_bessel_j0.default"]
    assert not any(s.compile_error for s in graph.segments)
    assert "2 of 3 segment(s) compiled" in str(report)


def test_values_used_only_after_an_eager_op_are_computed_there():
    def fn(x, w):
        h = torch.special.i0(x.sin())
        return h @ w.t() + w.sum()

    compiled_fn, rec = compiled(fn)
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.testing.assert_close(compiled_fn(x, w), fn(x, w))
    first, _, last = rec.runners[0].steps
    # w.t() and w.sum() move down to the matmul's segment: only sin crosses the eager op
    assert first.outputs == ["sin"] and "tg.matmul" in last.module_text
    assert set(last.args) == {"special_i0", "arg1_1"}


def test_a_tuple_result_that_does_not_import_sends_its_op_eager_with_a_warning():
    def fn(x, w, b):
        out, mean, rstd = torch.native_layer_norm(x, [4], w, b, 1e-5)
        return out.tanh(), mean  # the mean (result #1) has no tg import

    compiled_fn, rec = compiled(fn)
    x, w, b = torch.randn(3, 4), torch.randn(4), torch.randn(4)
    with warnings.catch_warnings(record=True) as record, torch.no_grad():
        warnings.simplefilter("always")
        for g, e in zip(compiled_fn(x, w, b), fn(x, w, b)):
            torch.testing.assert_close(g, e)
    (message,) = dynamlir_warnings(record)
    assert "aten.native_layer_norm.default" in message and "result #1" in message
    assert kinds(rec.runners[0]) == ["eager", "compiled"]


def test_buffers_saved_by_eager_ops_survive_the_write_back():
    class RawBatchNorm(nn.Module):
        """An op with no tg import that updates running stats and saves them for backward."""

        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(5))
            self.register_buffer("var", torch.ones(5))
            self.w, self.b = nn.Parameter(torch.rand(5) + 0.5), nn.Parameter(torch.randn(5))

        def forward(self, x):
            y = torch.ops.aten._batch_norm_with_update(
                x.tanh(), self.w, self.b, self.mean, self.var, 0.1, 1e-5
            )[0]
            return y.exp()

    torch.manual_seed(0)
    model = RawBatchNorm()
    reference = copy.deepcopy(model)
    fn, rec = compiled(model)
    x = torch.randn(4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(x)
    out.sum().backward()  # the write-back must not invalidate what backward saved
    expected = reference(x)
    expected.sum().backward()
    torch.testing.assert_close(out, expected)
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model.mean, reference.mean)
    torch.testing.assert_close(model.var, reference.var)
    assert kinds(rec.runners[0]) == ["compiled", "eager", "compiled"]


def test_a_graph_of_one_compiled_segment_is_called_directly(monkeypatch):
    # Note [direct graph calls]: the runner hands the graph's inputs to its only segment
    # without building an environment; a failure still reaches the eager twin, which does.
    torch.manual_seed(0)
    model, x = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4)), torch.randn(3, 8)
    ref = copy.deepcopy(model)
    fn, rec = compiled(model)
    fn(x).sum().backward()
    ref(x).sum().backward()
    (runner,) = rec.runners
    assert runner.direct is not None and kinds(runner) == ["compiled"]
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad)

    from dynamlir.runtime import autograd

    def broken(*args, **kwargs):
        raise ValueError("runtime: injected")

    monkeypatch.setattr(autograd.CompiledAutograd, "__init__", broken)
    model.zero_grad(), ref.zero_grad()
    fn, rec = compiled(model)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn(x)
    assert rec.runners[0].direct is not None
    assert any("injected" in m for m in dynamlir_warnings(w))
    out.sum().backward()
    torch.testing.assert_close(out, ref(x))
    ref(x).sum().backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_graphs_with_eager_segments_or_write_backs_take_the_general_path():
    fn, rec = compiled(Sandwich())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(torch.randn(2, 8))
    assert kinds(rec.runners[0]) == ["compiled", "eager", "compiled"]
    assert rec.runners[0].direct is None
    bn = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8)).train()
    fn, rec = compiled(bn)
    fn(torch.randn(4, 8))
    assert rec.runners[0].mutations and rec.runners[0].direct is None
