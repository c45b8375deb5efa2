"""torch.compile(model.cuda(), backend="dynamlir") against torch CUDA eager: inference,
training steps, dynamic batch sizes, strided inputs and the mixed-device fallback run on
the GPU path (runtime/gpu.py). Skipped (see conftest.py) without a usable CUDA device."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from gpu_models import Block, mlp

import dynamlir
from dynamlir.runtime import debug, gpu
from dynamlir.runtime.cpu import OutputSpec
from dynamlir.runtime.gpu import GpuGraphFunction

pytestmark = pytest.mark.gpu

MODELS = {"mlp": (mlp, (8, 32)), "block": (Block, (2, 8, 32))}


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """Each test compiles for itself (no Dynamo cache, no GPU compile cache) and sees its
    own fallback warnings (printed once per op kind)."""
    from dynamlir.frontend import backend

    monkeypatch.setattr(backend, "_warned", set())
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    torch._dynamo.reset()
    gpu._MEMORY.clear()
    yield
    torch._dynamo.reset()


class OnGpu:
    """Asserts that the block compiled on the GPU path: no dynamlir fallback warning, and
    GPU compiles and compiled calls happened."""

    def __enter__(self):
        self.compiles = debug.COUNTERS["gpu_compiles"]
        self.calls = debug.COUNTERS["calls"]
        self.record = warnings.catch_warnings(record=True)
        self.warnings = self.record.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self.record.__exit__(*exc)
        if exc[0] is None:
            ours = [str(w.message) for w in self.warnings if "dynamlir" in str(w.message)]
            assert not ours, ours
            assert debug.COUNTERS["gpu_compiles"] > self.compiles, "nothing compiled for the GPU"
            assert debug.COUNTERS["calls"] > self.calls, "no compiled function ran"


@pytest.mark.parametrize("name", MODELS)
def test_inference_matches_cuda_eager(name):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make().cuda().eval()
    x = torch.randn(shape, device="cuda")
    compiled = torch.compile(model, backend="dynamlir")
    with torch.no_grad(), OnGpu():
        got = compiled(x)
        torch.cuda.synchronize()
    with torch.no_grad():
        want = model(x)
    assert got.is_cuda and got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def train(model, x, target, steps, compile_it):
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    fn = torch.compile(model, backend="dynamlir") if compile_it else model
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(fn(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


@pytest.mark.parametrize("name", MODELS)
def test_training_steps_match_cuda_eager(name):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make().cuda()
    x = torch.randn(shape, device="cuda")
    target = torch.randn_like(model(x))
    with OnGpu():
        ours, our_losses = train(model, x, target, 3, compile_it=True)
    eager, eager_losses = train(model, x, target, 3, compile_it=False)
    torch.testing.assert_close(our_losses, eager_losses, rtol=1e-4, atol=1e-5)
    for (n, a), (_, b) in zip(ours.named_parameters(), eager.named_parameters()):
        assert a.is_cuda
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=lambda m, n=n: f"{n}: {m}")


def test_changing_batch_size_recompiles_with_dynamic_sizes():
    torch.manual_seed(0)
    model = mlp().cuda().eval()
    compiled = torch.compile(model, backend="dynamlir")
    with torch.no_grad(), OnGpu():
        for batch in (8, 5, 13):
            x = torch.randn(batch, 32, device="cuda")
            torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-4)


def test_strided_inputs_and_several_outputs():
    def fn(a, b):
        s = a @ b
        return s.relu(), s.sum(0), a.reshape(-1) * 2

    a = torch.randn(24, 16, device="cuda").t()  # transposed
    b = torch.randn(24, 24, device="cuda")[:, ::2]  # strided
    compiled = torch.compile(fn, backend="dynamlir")
    with torch.no_grad(), OnGpu():
        got = compiled(a, b)
    for g, w in zip(got, fn(a, b)):
        assert g.is_cuda and g.is_contiguous()
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def test_inputs_are_not_written():
    def fn(x):
        return (x.exp() + 1,)

    x = torch.randn(64, 33, device="cuda")
    saved = x.clone()
    (y,) = torch.compile(fn, backend="dynamlir")(x)
    torch.testing.assert_close(y, x.exp() + 1)
    assert torch.equal(x, saved)
    assert y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


def test_cpu_scalar_with_cuda_tensor_runs_eagerly_with_a_warning():
    def fn(x, s):
        return x * s + 1

    x, s = torch.randn(4, 8, device="cuda"), torch.tensor(3.0)
    with pytest.warns(UserWarning, match=r"mixed devices"):
        got = torch.compile(fn, backend="dynamlir")(x, s)
    torch.testing.assert_close(got, fn(x, s))


def test_graph_function_on_cuda_tensors_matches_the_model():
    torch.manual_seed(0)
    model = mlp()
    x = torch.randn(8, 32)
    text = dynamlir.export_mlir(model, x)
    fn = GpuGraphFunction(text, [OutputSpec(torch.float32, (8, 16))])
    # the arguments in the importer's order (the shapes here are distinct)
    by_shape = {tuple(t.shape): t.detach().cuda() for t in [*model.parameters(), x]}
    (got,) = fn(*[by_shape[tuple(shape)] for _, _, shape in fn.plan.inputs])
    torch.testing.assert_close(got, model.cuda()(x.cuda()).detach(), rtol=1e-4, atol=1e-4)
