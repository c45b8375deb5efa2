"""Training through torch.compile(backend="dynamlir"): compiled forward and backward
(tg-autodiff + tg-partition) must track eager parameter by parameter."""

from __future__ import annotations

import copy
import warnings

import torch

from dynamlir.demo import Block
from dynamlir.runtime import debug


def train(model, x, target, steps, compile_it):
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    fn = torch.compile(model, backend="dynamlir") if compile_it else model
    for _ in range(steps):
        opt.zero_grad()
        loss = ((fn(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
    return model


def check_training(model, x, target, steps=20):
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no eager fallback allowed
        ours = train(model, x, target, steps, compile_it=True)
    eager = train(model, x, target, steps, compile_it=False)
    for (name, a), (_, b) in zip(ours.named_parameters(), eager.named_parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=lambda m: f"{name}: {m}")


def test_mlp_sgd_steps_match_eager():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4))
    check_training(mlp, torch.randn(8, 16), torch.randn(8, 4))


def test_transformer_block_sgd_steps_match_eager():
    torch.manual_seed(0)
    block = Block(d=32, heads=2)
    check_training(block, torch.randn(2, 8, 32), torch.randn(2, 8, 32), steps=20)


def test_small_cnn_sgd_steps_match_eager():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 3 * 3, 5),
    )
    check_training(cnn, torch.randn(2, 3, 16, 16), torch.randn(2, 5))


def test_batchnorm_training_updates_running_stats_like_eager():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x, target = torch.randn(10, 6), torch.randn(10, 2)
    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = train(net, x, target, 5, compile_it=True)
    eager = train(net, x, target, 5, compile_it=False)
    for (name, a), (_, b) in zip(ours.state_dict().items(), eager.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=lambda m: f"{name}: {m}")


def test_gradient_accumulation_and_no_grad_inference():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    ref = copy.deepcopy(mlp)
    torch._dynamo.reset()
    compiled = torch.compile(mlp, backend="dynamlir")
    xs = [torch.randn(3, 4) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in xs:  # three backward calls accumulate into .grad
            compiled(x).sum().backward()
        with torch.no_grad():
            inference = compiled(xs[0])
    for x in xs:
        ref(x).sum().backward()
    for a, b in zip(mlp.parameters(), ref.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(inference, ref(xs[0]).detach())
    assert not inference.requires_grad


def test_zero_size_slices_train_like_eager(fresh_cache):
    """glu and split_with_sizes on a zero-size dim: their slices start at the end of the dim,
    which MLIR's tensor.extract_slice verifier rejects; before, the forward's compile error
    escaped from the call."""

    def f(x, y):
        a, b = torch.split_with_sizes(x, [5, 0], 0)
        return a * 2, b + 1, torch.cat([x, b], 0).sum(0), torch.nn.functional.glu(y, -1)

    compiled = torch.compile(f, backend="dynamlir")
    x, y = torch.randn(5, 3, requires_grad=True), torch.randn(0, 4, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = compiled(x, y)
        sum(o.sum() for o in outs).backward()
    got = x.grad, y.grad
    x.grad = y.grad = None
    want = f(x, y)
    sum(o.sum() for o in want).backward()
    for o, w in zip(outs, want):
        torch.testing.assert_close(o, w)
    torch.testing.assert_close(got[0], x.grad)
    assert got[1].shape == (0, 4)
    assert debug.COUNTERS["calls"] == 2  # the compiled forward and backward ran


def test_forward_that_fails_to_compile_in_training_runs_eagerly(fresh_cache, monkeypatch):
    """The AOT forward compiles at its first call; a failure there runs the segment's eager
    twin with the usual warning instead of escaping from the call."""
    from dynamlir.frontend import backend
    from dynamlir.runtime import cpu
    from dynamlir.runtime.stages import CompileError

    real = cpu.CpuFunction._compile

    def broken(self, contiguous):
        if self.entry.endswith("_fwd"):
            raise CompileError("runtime: cpu compile failed: injected")
        return real(self, contiguous)

    monkeypatch.setattr(cpu.CpuFunction, "_compile", broken)
    monkeypatch.setattr(backend, "_warned", set())
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))
    reference = copy.deepcopy(model)
    x = torch.randn(3, 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.compile(model, backend="dynamlir")(x).sum().backward()
    assert any("injected" in str(w.message) for w in caught)
    reference(x).sum().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad)
