"""The GPU backend without a GPU: the backend picks runtime/gpu.py for fake CUDA inputs,
and GpuGraphFunction compiles imported graphs (inference and AOT fwd/bwd) to cubins that
ptxas validates, with the host launches expected; call-time checks on plain tensors."""

from __future__ import annotations

import re
import warnings

import pytest
import torch
from gpu_models import Block, mlp
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx.experimental.proxy_tensor import make_fx
from torch_mlir import ir

import dynamlir
from dynamlir.dialects import make_context
from dynamlir.frontend.backend import check_options, compile_graph, dynamlir_backend
from dynamlir.lowering.gpu_kernels import TILE
from dynamlir.runtime import debug, gpu, ptx
from dynamlir.runtime.autograd import CompiledAutograd
from dynamlir.runtime.cpu import CpuFunction, OutputSpec
from dynamlir.runtime.cuda import arith
from dynamlir.runtime.gpu import GpuGraphFunction, chip_for, chip_of_capability, fresh_outputs
from dynamlir.runtime.stages import CompileError

PTXAS = ptx.find_ptxas()
MODELS = {"mlp": (mlp, (8, 32)), "block": (Block, (2, 8, 32))}


@pytest.fixture(scope="module", autouse=True)
def no_disk_cache():
    """Compiles here are real (counted) and leave nothing in the user's cache directory."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DYNAMLIR_CACHE_DIR", "0")
        yield


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Fallback warnings are printed once per op kind: each test sees its own."""
    from dynamlir.frontend import backend

    monkeypatch.setattr(backend, "_warned", set())


def fake_graph(model: torch.nn.Module, shape, device="cuda"):
    """(FX graph, fake inputs) of `model` on fake `device` tensors, parameters as inputs
    (the graph returns a tuple, as Dynamo's do)."""
    mode = FakeTensorMode()
    names = [n for n, _ in model.named_parameters()]
    with mode:
        params = [torch.empty(p.shape, device=device) for p in model.parameters()]
        x = torch.empty(shape, device=device)

    def f(*args):
        return (torch.func.functional_call(model, dict(zip(names, args[:-1])), (args[-1],)),)

    with mode:
        gm = make_fx(f)(*params, x)
    return gm, [*params, x]


def fake_graph_of(fn, shapes, device="cuda"):
    """(FX graph, fake inputs) of `fn` on fake `device` tensors of `shapes`."""
    mode = FakeTensorMode()
    with mode:
        inputs = [torch.empty(s, device=device) for s in shapes]
        gm = make_fx(fn)(*inputs)
    return gm, inputs


def compiled_functions(runner):
    return [s.function for s in runner.steps if s.compiled]


def launch_dims(plan) -> list[tuple[tuple, tuple]]:
    """(grid, block) of each launch, replaying the plan's host arithmetic (static shapes)."""
    regs: dict[int, int] = {}
    out = []
    for s in plan.steps:
        if s.op == "const":
            regs[s.results[0]] = s.attrs["value"]
        elif s.op == "arith":
            regs[s.results[0]] = arith(s.attrs["name"], s.attrs, *[regs[i] for i in s.operands])
        elif s.op == "launch":
            dims = [regs[i] for i in s.operands[:6]]
            out.append((tuple(dims[:3]), tuple(dims[3:])))
    return out


def check_cubins(fn: GpuGraphFunction, chip: str) -> None:
    """Every launched kernel is an entry of PTX for `chip` that ptxas assembled."""
    for step in fn.plan.launches():
        binary = fn.function.binaries[step.attrs["module"]]
        assert f".target {chip}" in binary.ptx
        assert f".entry {step.attrs['kernel']}(" in binary.ptx
        if PTXAS is not None:
            assert binary.cubin is not None and binary.cubin[:4] == b"\x7fELF"


# --- device selection in the backend --------------------------------------------------


@pytest.mark.parametrize("name", MODELS)
def test_cuda_inputs_compile_for_the_gpu(name):
    make, shape = MODELS[name]
    gm, inputs = fake_graph(make(), shape)
    with torch.no_grad():
        runner = compile_graph(gm, inputs)
    (fn,) = compiled_functions(runner)
    assert [s.compiled for s in runner.steps] == [True]
    assert isinstance(fn, GpuGraphFunction)
    assert runner.steps[0].device == torch.device("cuda", 0)
    # torch's CPU build cannot ask the device: the default chip, compiled at once
    assert fn.chip == "sm_90" and fn.function is not None
    check_cubins(fn, "sm_90")


def test_cpu_inputs_keep_the_cpu_function():
    gm, inputs = fake_graph(mlp(), (8, 32), device="cpu")
    with torch.no_grad():
        runner = compile_graph(gm, inputs)
    (fn,) = compiled_functions(runner)
    assert isinstance(fn, CpuFunction) and runner.steps[0].chip is None


def test_chip_option_overrides_the_device():
    gm, inputs = fake_graph(mlp(), (8, 32))
    with torch.no_grad():
        (fn,) = compiled_functions(compile_graph(gm, inputs, chip="sm_80"))
    assert fn.chip == "sm_80"
    check_cubins(fn, "sm_80")


def test_chip_follows_the_device_capability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 6))
    gm, inputs = fake_graph(mlp(), (8, 32))
    with torch.no_grad():
        (fn,) = compiled_functions(compile_graph(gm, inputs))
    assert fn.chip == "sm_86"
    check_cubins(fn, "sm_86")


def test_device_without_a_chip_runs_eagerly_with_a_warning(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (6, 1))
    gm, inputs = fake_graph(mlp(), (8, 32))
    with torch.no_grad(), pytest.warns(UserWarning, match=r"compute capability 6\.1"):
        runner = compile_graph(gm, inputs)
    assert not any(s.compiled for s in runner.steps)


def test_mixed_input_devices_fall_back_to_eager():
    mode = FakeTensorMode()
    with mode:  # a CPU scalar tensor with a CUDA tensor is valid in eager mode
        x, scale = torch.empty(4, 8, device="cuda"), torch.empty(())
        gm = make_fx(lambda x, s: (x * s,))(x, scale)
    with torch.no_grad(), pytest.warns(UserWarning, match=r"mixed devices \(cpu, cuda:0\)"):
        fn = dynamlir_backend(gm, [x, scale])
    assert fn == gm.forward


def test_segment_moving_values_between_devices_runs_eagerly():
    mode = FakeTensorMode()
    with mode:
        x = torch.empty(4, 8, device="cuda")
        gm = make_fx(lambda x: ((x * 2).cpu() + 1,))(x)
    with torch.no_grad(), pytest.warns(UserWarning, match=r"mixed devices"):
        runner = compile_graph(gm, [x])
    assert not any(s.compiled for s in runner.steps)


def test_chip_option_is_validated():
    check_options({"chip": "sm_80"})
    with pytest.raises(ValueError, match=r"option 'chip' expects a GPU architecture, got 'sm_1'"):
        check_options({"chip": "sm_1"})
    with pytest.raises(ValueError, match=r"option 'chip'"):
        dynamlir.compile(torch.relu, chip=90)


@pytest.mark.parametrize(
    "capability, chip",
    [((7, 0), "sm_70"), ((7, 2), "sm_70"), ((8, 0), "sm_80"), ((8, 7), "sm_86"),
     ((8, 9), "sm_89"), ((9, 0), "sm_90"), ((10, 0), "sm_100"), ((12, 1), "sm_120"),
     ((6, 1), None), ((13, 0), None)],
)  # fmt: skip
def test_chip_of_capability(capability, chip):
    assert chip_of_capability(*capability) == chip


def test_chip_for_defaults_without_a_device_and_honours_the_override():
    assert chip_for(torch.device("cuda", 0)) == "sm_90"  # CPU torch: no capability query
    assert chip_for(None, "sm_75") == "sm_75"


# --- GpuGraphFunction on exported graphs ----------------------------------------------


@pytest.fixture(scope="module")
def exported():
    """{name: (tg module text, torch output)} of each model, exported on CPU tensors."""
    out = {}
    for name, (make, shape) in MODELS.items():
        torch.manual_seed(0)
        model, x = make(), torch.randn(shape)
        out[name] = (dynamlir.export_mlir(model, x), model(x))
    return out


@pytest.fixture(scope="module")
def functions(exported):
    out = {}
    for name, (text, y) in exported.items():
        fn = GpuGraphFunction(text, [OutputSpec(y.dtype, tuple(y.shape))], chip="sm_90")
        fn.compile()
        out[name] = fn
    return out


def signature(text: str) -> list[tuple[str, list[int]]]:
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        fn_type = ir.FunctionType(
            ir.TypeAttr(module.body.operations[0].attributes["function_type"]).value
        )
        return [
            (str(t.element_type), list(t.shape)) for t in map(ir.RankedTensorType, fn_type.inputs)
        ]


# every matmul keeps the tiled kernel: 2 Linear in the MLP; qkv, q@k^T, att@v, proj, fc1 and
# fc2 in the block (elementwise producers are not fused into them)
@pytest.mark.parametrize("name, contractions", [("mlp", 2), ("block", 6)])
def test_graph_compiles_to_cubins_with_expected_launches(name, contractions, exported, functions):
    fn, (text, _) = functions[name], exported[name]
    check_cubins(fn, "sm_90")
    plan = fn.plan
    assert [(d, s) for _, d, s in plan.inputs] == signature(text)
    # every parameter and the input are read on the device, the result is a new buffer
    read = {i for s in plan.steps if s.op in ("launch", "copy", "view", "meta") for i in s.operands}
    assert {slot for slot, _, _ in plan.inputs} <= read
    (out,) = plan.outputs
    allocs = {r for s in plan.steps if s.op in ("alloc", "view", "alias") for r in s.results}
    assert out in allocs and out not in {slot for slot, _, _ in plan.inputs}
    dims = launch_dims(plan)
    assert len(dims) == len(plan.launches()) > 0
    for grid, block in dims:
        assert all(g > 0 for g in grid) and 0 < block[0] * block[1] * block[2] <= 1024
    tiles = [b for _, b in dims if b == (TILE, TILE, 1)]
    assert len(tiles) == contractions, "matmuls use the shared-memory tiled kernel"


def test_dynamic_batch_compiles_with_sizes_read_at_run_time():
    from dynamlir.frontend.backend import export_aten
    from dynamlir.frontend.fx_importer import import_graph

    texts = []

    def capture(gm, inputs):
        texts.append(import_graph(export_aten(gm, inputs)[0]).module_text)
        return gm.forward

    torch._dynamo.reset()
    torch.compile(mlp(), backend=capture, dynamic=True)(torch.randn(8, 32))
    torch._dynamo.reset()
    (text,) = texts
    fn = GpuGraphFunction(text, [OutputSpec(torch.float32, (-1, 16), lambda ins: None)])
    check_cubins(fn, "sm_90")
    assert ("f32", [-1, 32]) in [(d, s) for _, d, s in fn.plan.inputs]
    dims = [s for s in fn.plan.steps if s.op == "dim"]
    assert dims, "the batch size is read from the input at run time"
    launched = {i for s in fn.plan.launches() for i in s.operands}
    sizes = {r for s in fn.plan.steps if s.op == "arith" for r in s.results}
    assert launched & (sizes | {d.results[0] for d in dims}), "launches use the run-time size"


def test_block_softmax_and_layer_norm_reduce_in_shared_memory(functions):
    ptx_text = "".join(b.ptx for b in functions["block"].function.binaries.values())
    assert ".shared" in ptx_text and ("bar.sync" in ptx_text or "barrier.sync" in ptx_text)


def test_compiled_functions_are_cached_by_text_without_locations_and_chip(exported):
    text, y = exported["mlp"]
    specs = [OutputSpec(y.dtype, tuple(y.shape))]
    first = GpuGraphFunction(text, specs, chip="sm_75")
    moved = re.sub(r'loc\("(\w+)"\)', r'loc("elsewhere.py":1:0)', text)
    assert moved != text
    before = debug.COUNTERS["gpu_compiles"]
    first.compile()
    assert GpuGraphFunction(moved, specs, chip="sm_75").compile() is first.function
    assert debug.COUNTERS["gpu_compiles"] == before + 1
    other = GpuGraphFunction(text, specs, chip="sm_80").compile()
    assert other is not first.function and debug.COUNTERS["gpu_compiles"] == before + 2


def test_disk_cache_restores_plans_and_cubins(tmp_path, monkeypatch, exported):
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(gpu, "_MEMORY", {})
    text, y = exported["mlp"]
    specs = [OutputSpec(y.dtype, tuple(y.shape))]
    first = GpuGraphFunction(text, specs, chip="sm_89").compile()
    (entry,) = tmp_path.glob("gpu-*.json")
    monkeypatch.setattr(gpu, "_MEMORY", {})  # a new process: only the disk remembers
    counts = dict(debug.COUNTERS)
    second = GpuGraphFunction(text, specs, chip="sm_89").compile()
    assert second is not first and second.plan == first.plan
    assert {n: b.cubin for n, b in second.binaries.items()} == {
        n: b.cubin for n, b in first.binaries.items()
    }
    assert debug.COUNTERS["disk_hits"] == counts.get("disk_hits", 0) + 1
    assert debug.COUNTERS["gpu_compiles"] == counts.get("gpu_compiles", 0)
    # a damaged entry is dropped and rebuilt, never loaded
    monkeypatch.setattr(gpu, "_MEMORY", {})
    entry.write_text(entry.read_text().replace('"ptx": "', '"ptx": "x', 1))
    third = GpuGraphFunction(text, specs, chip="sm_89").compile()
    assert third.plan == first.plan
    assert debug.COUNTERS["disk_corrupt"] == counts.get("disk_corrupt", 0) + 1
    assert debug.COUNTERS["gpu_compiles"] == counts.get("gpu_compiles", 0) + 1
    assert '"ptx": "x' not in entry.read_text()


def test_dump_ir_writes_gpu_stages(tmp_path, monkeypatch, exported):
    monkeypatch.setenv("DYNAMLIR_DUMP_IR", str(tmp_path))
    text, y = exported["mlp"]
    GpuGraphFunction(text, [OutputSpec(y.dtype, tuple(y.shape))], name="gmlp").compile()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["gmlp.1-decomposed.mlir", "gmlp.2-linalg.mlir", "gmlp.3-gpu.mlir"]
    lowered = (tmp_path / "gmlp.3-gpu.mlir").read_text()
    assert "gpu.launch_func" in lowered and "nvvm." in lowered
    assert "// produced by: tg-gpu-pipeline{chip=sm_90}" in lowered


UNMAPPABLE = """
func.func @main(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %r = linalg.softmax dimension(1) ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
"""


def test_gpu_pass_failure_is_a_compile_error_with_a_repro(capsys):
    fn = GpuGraphFunction(UNMAPPABLE, [OutputSpec(torch.float32, (4, 8))], name="gbad")
    with pytest.raises(CompileError) as info:
        fn.compile()
    message = str(info.value)
    first = message.splitlines()[0]
    assert first.startswith("runtime: gpu compile failed in pass 'tg-gpu-map-linalg': ")
    assert "on 'linalg.softmax'" in first
    assert first.endswith(
        "tg-gpu-map-linalg: expected 'linalg.generic', got 'linalg.softmax' "
        "(run linalg-generalize-named-ops first)"
    )
    assert "(pipeline: tg-gpu-pipeline{chip=sm_90})" in message
    # the repro runs the failing pass alone on the bufferized IR it failed on
    repro = re.search(r"reproduce with: dynamlir-opt --pass-pipeline='([^']*)' (\S+)", message)
    assert repro.group(1) == "builtin.module(tg-gpu-map-linalg)"
    from dynamlir.tools.opt import main

    capsys.readouterr()
    assert main([repro.group(2), f"--pass-pipeline={repro.group(1)}"]) == 1
    assert "error: tg-gpu-map-linalg: expected 'linalg.generic'" in capsys.readouterr().err


def test_arguments_are_read_only_for_bufferization(exported):
    text, _ = exported["mlp"]
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        gpu.read_only_arguments(module.body.operations[0].operation)
        assert str(module).count("bufferization.writable = false") == 5


# --- training: AOT forward and backward for the GPU --------------------------------------


# tiled matmuls (forward, backward): the backward has two per Linear (input and weight
# gradients) and two per attention product
@pytest.mark.parametrize("name, contractions", [("mlp", (2, 4)), ("block", (6, 12))])
def test_autograd_compiles_forward_and_backward_for_the_gpu(name, contractions, exported):
    text, _ = exported[name]
    n = len(signature(text))
    runner = CompiledAutograd(text, [True] * n, chip="sm_90")
    assert isinstance(runner.fwd, GpuGraphFunction) and isinstance(runner.bwd, GpuGraphFunction)
    assert runner.grad_args == list(range(n))
    for fn, tiled in zip((runner.fwd, runner.bwd), contractions):
        fn.compile()
        check_cubins(fn, "sm_90")
        assert len(fn.plan.outputs) == len(fn.outputs)
        assert [b for _, b in launch_dims(fn.plan)].count((TILE, TILE, 1)) == tiled
    assert len(runner.bwd.plan.outputs) == n  # one gradient per input


# --- call-time checks (plain tensors: no device needed) ----------------------------------


def test_call_rejects_cpu_tensors(functions):
    fn = functions["mlp"]
    args = [torch.zeros(d) for _, _, d in fn.plan.inputs]
    with pytest.raises(ValueError, match=r"expects tensors on one CUDA device, got cpu"):
        fn(*args)
    with pytest.raises(ValueError, match=r"takes 5 inputs, got 1"):
        fn(args[0])


def test_outputs_aliasing_inputs_or_each_other_are_copied():
    x, other = torch.randn(2, 3), torch.randn(3)
    specs = [OutputSpec(torch.float32, (2, 3))] * 2 + [OutputSpec(torch.float32, (3, 2))]
    outs = fresh_outputs([x, x, other.expand(2, 3).t()], [x], specs, "g")
    assert all(o.is_contiguous() for o in outs)
    ptrs = {o.untyped_storage().data_ptr() for o in outs}
    assert len(ptrs) == 3 and x.untyped_storage().data_ptr() not in ptrs
    torch.testing.assert_close(outs[0], x)
    torch.testing.assert_close(outs[1], x)
    torch.testing.assert_close(outs[2], other.expand(2, 3).t())
    unique = torch.randn(2, 3)
    (kept,) = fresh_outputs([unique], [x], specs[:1], "g")
    assert kept is unique  # a new contiguous buffer is returned as is


def test_outputs_are_checked_against_the_specs():
    specs = [OutputSpec(torch.float32, (2, 3))]
    with pytest.raises(RuntimeError, match=r"'g' output 0 is torch.float64 \(2, 3\), expected"):
        fresh_outputs([torch.zeros(2, 3, dtype=torch.float64)], [], specs, "g")
    with pytest.raises(RuntimeError, match=r"returned 2 outputs, expected 1"):
        fresh_outputs([torch.zeros(2, 3)] * 2, [], specs, "g")


def test_unparsable_module_is_a_compile_error():
    fn = GpuGraphFunction("func.func @main(", [], name="gbroken")
    with pytest.raises(
        CompileError, match=r"runtime: gpu compile of 'gbroken': the module does not parse"
    ):
        fn.compile()


def test_unknown_chip_is_rejected():
    with pytest.raises(ValueError, match=r"runtime: unknown chip 'sm_1'"):
        GpuGraphFunction(UNMAPPABLE, [], chip="sm_1")


def test_no_warning_for_a_supported_cuda_graph():
    gm, inputs = fake_graph(mlp(), (8, 32))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_graph(gm, inputs)
