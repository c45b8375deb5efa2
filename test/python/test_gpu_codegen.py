"""The GPU pipeline compiles every op family, an MLP and a transformer block to PTX that
ptxas assembles for sm_90; kernels use the expected schemes; host plans replay the IR."""

from __future__ import annotations

import pytest
from gpu_cases import CASES, linalg_module
from torch_mlir import ir

from dynamlir.lowering.gpu_host import HostPlan, HostPlanError, build_host_plan
from dynamlir.lowering.gpu_kernels import TILE
from dynamlir.lowering.pipeline import build_pass_manager
from dynamlir.runtime import ptx
from dynamlir.runtime.cuda import compile_module

PTXAS = ptx.find_ptxas()


@pytest.fixture(scope="module")
def compiled():
    """Each case compiled once: {name: (GpuFunction, lowered module text)}."""
    out = {}
    for case in CASES:
        ctx, module = linalg_module(case)
        with ctx:
            fns = compile_module(module, "sm_90")
            out[case.name] = (fns[case.name], str(module))
    return out


@pytest.mark.parametrize("case", CASES, ids=str)
def test_case_compiles_to_sm90_cubin(case, compiled):
    fn, _ = compiled[case.name]
    for binary in fn.binaries.values():
        assert ".target sm_90" in binary.ptx
        for kernel in binary.kernels:
            assert f".entry {kernel}(" in binary.ptx
        assert "__nv_" not in binary.ptx, "libdevice calls must be linked and inlined"
        if PTXAS is None:
            pytest.skip("no ptxas (install PyPI nvidia-cuda-nvcc or a CUDA toolkit)")
        assert binary.cubin is not None and binary.cubin[:4] == b"\x7fELF"


@pytest.mark.parametrize(
    "name, schemes",
    [
        ("softmax", {"shared", "barrier"}),
        ("sum_rows", {"shared", "barrier"}),
        ("matmul", {"shared", "barrier"}),
        ("add_broadcast", set()),
    ],
)
def test_kernel_memory_scheme(name, schemes, compiled):
    fn, text = compiled[name]
    ptx_text = "".join(b.ptx for b in fn.binaries.values())
    found = {"shared"} if ".shared" in ptx_text else set()
    found |= {"barrier"} if "bar.sync" in ptx_text or "barrier.sync" in ptx_text else set()
    assert found == schemes
    assert "%tid.x" in ptx_text and "%ctaid.x" in ptx_text


def test_matmul_plan_grid_follows_dynamic_shape_formula(compiled):
    fn, _ = compiled["matmul"]
    kinds = [s.attrs["args"] for s in fn.plan.launches()]
    assert any(k.count("memref:2") == 3 for k in kinds)  # A, B, C of the tiled kernel
    assert HostPlan.from_json(fn.plan.to_json()) == fn.plan


@pytest.mark.parametrize(
    "name, tiled", [("matmul", 1), ("bmm", 1), ("mlp", 2), ("transformer_block", 6)]
)
def test_every_matmul_keeps_the_tiled_kernel(name, tiled, compiled):
    """Elementwise producers (gelu, bias, the softmax scale) are not fused into matmuls, so
    each keeps the TILE x TILE thread-block kernel (the only scheme with 2-d blocks)."""
    fn, _ = compiled[name]
    consts = {s.results[0]: s.attrs["value"] for s in fn.plan.steps if s.op == "const"}
    blocks = [tuple(consts.get(i) for i in s.operands[3:6]) for s in fn.plan.launches()]
    assert blocks.count((TILE, TILE, 1)) == tiled, blocks


def test_slice_cat_is_host_copies_only(compiled):
    fn, _ = compiled["slice_cat"]
    assert [s.op for s in fn.plan.steps if s.op in ("copy", "launch")] == ["copy", "copy"]


DYNAMIC = """
func.func @dyn(%a: tensor<?x?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %z = arith.constant 0.0 : f32
  %n = tensor.dim %a, %c0 : tensor<?x?xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]} ins(%a : tensor<?x?xf32>) outs(%f : tensor<?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.maximumf %x, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}
"""


def test_dynamic_reduction_grid_is_computed_from_input_dim():
    from dynamlir.dialects import make_context

    with make_context() as ctx, ir.Location.unknown():
        module = ir.Module.parse(DYNAMIC)
        fns = compile_module(module)
    plan = fns["dyn"].plan
    reduce = plan.launches()[-1]
    grid_x = reduce.operands[0]
    dims = [s for s in plan.steps if s.op == "dim"]
    assert grid_x in {d.results[0] for d in dims}, "one block per row: grid.x = dim(a, 0)"
    assert plan.inputs == [(0, "f32", [-1, -1])]
    del ctx


def test_ptxas_failure_names_kernel():
    if PTXAS is None:
        pytest.skip("no ptxas (install PyPI nvidia-cuda-nvcc or a CUDA toolkit)")
    bad = ".version 8.0\n.target sm_90\n.address_size 64\n.visible .entry k_bad() { bogus; }\n"
    expected = r"ptxas: failed for kernels \['k_bad'\] \(arch sm_90\)"
    with pytest.raises(ptx.PtxError, match=expected):
        ptx.assemble(bad, "sm_90", ["k_bad"], PTXAS)


def test_unknown_host_op_is_reported():
    from dynamlir.dialects import make_context

    text = (
        "func.func @h(%a: memref<4xf32>) -> f32 {\n %c = arith.constant 1 : index\n"
        " %v = memref.load %a[%c] : memref<4xf32>\n return %v : f32\n}"
    )
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        with pytest.raises(HostPlanError, match=r"unsupported host op 'memref.load'"):
            build_host_plan(module.body.operations[0])


def test_pipeline_rejects_unknown_chip():
    from dynamlir.dialects import make_context

    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(DYNAMIC)
        pm = build_pass_manager("builtin.module(tg-gpu-pipeline{chip=sm_1})")
        with pytest.raises(Exception, match="unknown chip 'sm_1'"):
            pm.run(module.operation)


IN_PLACE = """
func.func @double(%a: tensor<16xf32>) -> tensor<16xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      outs(%a : tensor<16xf32>) {
  ^bb0(%x: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<16xf32>
  return %r : tensor<16xf32>
}
"""


@pytest.mark.parametrize("writable", [False, True])
def test_compile_module_never_writes_inputs_unless_asked(writable):
    """A result computed in place of an argument goes to a copy of it by default."""
    from dynamlir.dialects import make_context

    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(IN_PLACE)
        plan = compile_module(module, writable_args=writable)["double"].plan
    ops = [s.op for s in plan.steps if s.op != "const"]
    (launch,) = plan.launches()
    if writable:
        assert ops == ["launch"] and plan.outputs == [0] and 0 in launch.operands
    else:
        (alloc,) = [s for s in plan.steps if s.op == "alloc"]
        out = alloc.results[0]
        assert ops == ["alloc", "copy", "launch"] and plan.outputs == [out]
        assert 0 not in launch.operands and out in launch.operands


def test_pipeline_error_carries_the_nested_message():
    from dynamlir.dialects import make_context

    text = (
        "func.func @main(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {\n"
        "  %e = tensor.empty() : tensor<4x8xf32>\n"
        "  %r = linalg.softmax dimension(1) ins(%a : tensor<4x8xf32>)"
        " outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>\n"
        "  return %r : tensor<4x8xf32>\n}"
    )
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(text)
        pm = build_pass_manager("builtin.module(tg-gpu-pipeline{chip=sm_90})")
        with pytest.raises(ir.MLIRError) as info:
            pm.run(module.operation)
    (diag,) = info.value.error_diagnostics
    assert str(diag.location) == 'loc("-":3:8)'
    assert diag.message == (
        "tg-gpu-pipeline: lowering failed: tg-gpu-map-linalg: expected 'linalg.generic', "
        "got 'linalg.softmax' (run linalg-generalize-named-ops first)"
    )
