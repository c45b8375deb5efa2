"""Ops whose host code needs i1 constants (sort, topk, argmax, max-pool) or constant tensors
(memref.get_global: cumsum's mask, arange, constant indices) compile for the GPU through
the backend without falling back to eager; their host plans hold the expected steps.
The execution tests (marker gpu) compare them with torch CUDA eager."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from test_gpu_backend import check_cubins, fake_graph_of

import dynamlir
from dynamlir.frontend.backend import compile_graph
from dynamlir.lowering.gpu_host import HostPlan
from dynamlir.runtime import gpu
from dynamlir.runtime.cpu import OutputSpec
from dynamlir.runtime.cuda import GpuFunction, global_host_tensor
from dynamlir.runtime.gpu import GpuGraphFunction

IDX = [3, 0, 2]
# name -> (function, input shape, expected host steps): 'i1' a kernel argument fed by a
# bool constant; a tensor: a constant global with that value
OPS = {
    "sort": (lambda x: torch.sort(x, 1), (4, 9), "i1"),
    "topk": (lambda x: torch.topk(x, 3, 1), (4, 9), "i1"),
    "argmax": (lambda x: (torch.argmax(x, 1),), (4, 9), "i1"),
    "max_pool2d": (lambda x: (F.max_pool2d(x, 2),), (2, 3, 8, 8), "i1"),
    "max_pool2d_indices": (lambda x: F.max_pool2d(x, 2, return_indices=True), (2, 3, 8, 8), "i1"),
    "cumsum": (lambda x: (torch.cumsum(x, 1),), (4, 9), torch.ones(9, 9, dtype=torch.int8).tril()),
    "arange": (lambda x: (x * torch.arange(9, device=x.device),), (4, 9), torch.arange(9)),
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """Real compiles (no disk cache) and fresh fallback warnings in each test."""
    from dynamlir.frontend import backend

    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    monkeypatch.setattr(backend, "_warned", set())


def bool_fed_args(plan: HostPlan) -> list[str]:
    """The kinds of kernel arguments that are bool constants."""
    bools = {
        s.results[0] for s in plan.steps if s.op == "const" and isinstance(s.attrs["value"], bool)
    }
    return [
        kind
        for step in plan.launches()
        for kind, slot in zip(step.attrs["args"], step.operands[6:])
        if slot in bools
    ]


def globals_of(plan: HostPlan) -> list[torch.Tensor]:
    return [global_host_tensor(s.attrs) for s in plan.steps if s.op == "global"]


@pytest.mark.parametrize("name", OPS)
def test_op_compiles_for_the_gpu_without_fallback(name):
    fn, shape, expected = OPS[name]
    gm, inputs = fake_graph_of(fn, [shape])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warns
        runner = compile_graph(gm, inputs)
    assert [s.compiled for s in runner.steps] == [True]
    (step,) = runner.steps
    assert isinstance(step.function, GpuGraphFunction)
    check_cubins(step.function, "sm_90")
    plan = step.function.plan
    assert HostPlan.from_json(plan.to_json()) == plan
    if isinstance(expected, str):
        assert bool_fed_args(plan) == [expected]
    else:
        (value,) = globals_of(plan)
        assert value.dtype == expected.dtype and torch.equal(value, expected)


def test_constant_indices_become_a_global():
    class Select(torch.nn.Module):
        def forward(self, x):
            return torch.index_select(x, 1, torch.tensor(IDX))

    text = dynamlir.export_mlir(Select(), torch.randn(4, 9))
    fn = GpuGraphFunction(text, [OutputSpec(torch.float32, (4, 3))], chip="sm_90")
    fn.compile()
    check_cubins(fn, "sm_90")
    (step,) = [s for s in fn.plan.steps if s.op == "global"]
    assert step.attrs["constant"] and step.attrs["shape"] == [3]
    assert torch.equal(global_host_tensor(step.attrs), torch.tensor(IDX))
    assert len(fn.plan.inputs) == 1, "the indices are not an argument"
    launched = {i for s in fn.plan.launches() for i in s.operands}
    assert step.results[0] in launched


@pytest.mark.parametrize(
    "dtype, values",
    [("f32", [[1.5, -2.0], [0.0, 3.25]]), ("i1", [[True, False], [False, True]]),
     ("i64", [[-(2**40), 7], [0, 1]]), ("f16", [[0.5, 1.0], [2.0, -4.0]])],
)  # fmt: skip
def test_global_values_round_trip_through_the_plan(dtype, values):
    """build_host_plan encodes a memref.global's bytes; the runtime decodes them."""
    from torch_mlir import ir

    from dynamlir.dialects import make_context
    from dynamlir.lowering.gpu_host import build_host_plan

    mlir = {"i1": lambda v: "true" if v else "false"}.get(dtype, repr)
    dense = "[" + ", ".join("[" + ", ".join(mlir(v) for v in row) + "]" for row in values) + "]"
    text = (
        f'memref.global "private" constant @g : memref<2x2x{dtype}> = dense<{dense}>\n'
        f'memref.global "private" @s : memref<3x{dtype}> = dense<{mlir(values[0][0])}>\n'
        f"func.func @f() -> (memref<2x2x{dtype}>, memref<3x{dtype}>) {{\n"
        f"  %g = memref.get_global @g : memref<2x2x{dtype}>\n"
        f"  %s = memref.get_global @s : memref<3x{dtype}>\n"
        f"  return %g, %s : memref<2x2x{dtype}>, memref<3x{dtype}>\n}}"
    )
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        plan = build_host_plan(module.body.operations[2])
    plan = HostPlan.from_json(plan.to_json())
    assert [s.op for s in plan.steps] == ["global", "global"]
    assert [s.attrs["constant"] for s in plan.steps] == [True, False]
    assert plan.outputs == [0, 1]
    want_dtype = gpu.MLIR_TO_TORCH[dtype]
    got, splat = globals_of(plan)
    assert torch.equal(got, torch.tensor(values, dtype=want_dtype))
    assert torch.equal(splat, torch.full((3,), values[0][0], dtype=want_dtype))


def test_constant_globals_are_made_once_per_device():
    attrs = {"name": "g", "dtype": "f32", "shape": [2], "data": {"splat": 2.0}}
    fn = GpuFunction(HostPlan("f", [], [], [], 0), {})
    cpu = torch.device("cpu")  # the cache is device-agnostic: no GPU needed here
    first = fn.global_tensor({**attrs, "constant": True}, cpu)
    assert fn.global_tensor({**attrs, "constant": True}, cpu) is first
    assert torch.equal(first, torch.full((2,), 2.0))
    fresh = fn.global_tensor({**attrs, "name": "h", "constant": False}, cpu)
    again = fn.global_tensor({**attrs, "name": "h", "constant": False}, cpu)
    assert fresh is not again and torch.equal(fresh, again)


def test_global_of_an_unsupported_type_is_reported():
    from torch_mlir import ir

    from dynamlir.dialects import make_context
    from dynamlir.lowering.gpu_host import HostPlanError, build_host_plan

    text = (
        'memref.global "private" constant @g : memref<2xbf16> = dense<[1.0, 2.0]>\n'
        "func.func @f() -> memref<2xbf16> {\n"
        "  %g = memref.get_global @g : memref<2xbf16>\n  return %g : memref<2xbf16>\n}"
    )
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with pytest.raises(HostPlanError, match=r"'@g' of element type bf16 is unsupported"):
            build_host_plan(module.body.operations[1])


# --- execution on a GPU -------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("name", OPS)
def test_op_matches_cuda_eager(name):
    from test_gpu_backend_exec import OnGpu

    fn, shape, _ = OPS[name]
    torch._dynamo.reset()
    gpu._MEMORY.clear()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0)).cuda()
    saved = x.clone()
    compiled = torch.compile(fn, backend="dynamlir")
    with torch.no_grad(), OnGpu():
        got = compiled(x)
        got = compiled(x)  # the second call reuses the device copies of constants
        torch.cuda.synchronize()
    want = fn(x)
    assert torch.equal(x, saved)
    for g, w in zip(got, want):
        assert g.is_cuda and g.dtype == w.dtype
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)
    torch._dynamo.reset()


@pytest.mark.gpu
def test_constant_indices_match_cuda_eager():
    class Select(torch.nn.Module):
        def forward(self, x):
            return torch.index_select(x, 1, torch.tensor(IDX, device=x.device))

    x = torch.randn(4, 9, device="cuda")
    text = dynamlir.export_mlir(Select(), x.cpu())
    fn = GpuGraphFunction(text, [OutputSpec(torch.float32, (4, 3))])
    for _ in range(2):
        (got,) = fn(x)
        torch.testing.assert_close(got, Select()(x))
