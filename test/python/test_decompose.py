"""tg-decompose: each composite decomposes to the documented primitive set, the keep and
targets policies hold, rule failures and cycles are diagnosed, and every composite compiled
for the CPU (static and with dynamic dims) matches eager PyTorch."""

from __future__ import annotations

import pytest
import torch
from case_modules import ELEM, module_text
from decompose_cases import CASES, Case, In
from torch_mlir import ir
from torch_mlir.dialects import func

import dynamlir.lowering  # noqa: F401  (registers the passes)
from dynamlir.dialects import TG, builders_nn, make_context
from dynamlir.dialects import ops_nn as N
from dynamlir.dialects.registry import DECOMPOSE, LOWER, VJP
from dynamlir.dialects.types import DYN, shape_of, tensor_type
from dynamlir.lowering.decompose import composite_names, documented_primitives, policy_keep
from dynamlir.lowering.pipeline import build_pass_manager
from dynamlir.runtime.cpu import CpuFunction, OutputSpec

IDS = [c.name for c in CASES]




def run_pipeline(text: str, pipeline: str) -> ir.Module:
    ctx = make_context()
    with ctx:
        module = ir.Module.parse(text)
        build_pass_manager(pipeline, context=ctx).run(module.operation)
    return module


def tg_op_names(module: ir.Module) -> set[str]:
    names = set()

    def visit(op):
        if op.name.startswith("tg."):
            names.add(op.name.removeprefix("tg."))
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return names


# --- structure ----------------------------------------------------------------------


def test_documented_primitive_set_is_the_dialects_non_composites():
    ops = {cls.OPERATION_NAME.removeprefix("tg."): cls for cls in TG.operations}
    primitives = {name for name, cls in ops.items() if not cls.COMPOSITE}
    assert documented_primitives() == primitives
    assert not documented_primitives() & set(composite_names())


def test_every_composite_has_a_rule_and_a_numeric_case():
    composites = {cls for cls in TG.operations if cls.COMPOSITE}
    assert {c for c in composites if c not in DECOMPOSE} == set()
    tested = {c.op.removeprefix("tg.") for c in CASES}
    assert set(composite_names()) - tested == set()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_decomposes_to_documented_primitives(case):
    for dynamic in (False, True):
        text = module_text(case, dynamic)
        assert case.op in text
        names = tg_op_names(run_pipeline(text, "builtin.module(tg-decompose)"))
        assert names <= documented_primitives(), names - documented_primitives()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_autodiff_policy_leaves_only_ops_with_vjp_rules(case):
    # kept composites must have their own VJP rule; everything else is a primitive
    names = tg_op_names(run_pipeline(module_text(case, True), "tg-decompose{targets=autodiff}"))
    with_vjp = {cls.OPERATION_NAME.removeprefix("tg.") for cls in TG.operations if cls in VJP}
    assert names <= documented_primitives() | (with_vjp & set(composite_names()))


def test_target_policies_follow_the_rule_tables():
    composites = {c for c in TG.operations if c.COMPOSITE}
    lowered = {c.OPERATION_NAME.removeprefix("tg.") for c in composites if c in LOWER}
    assert policy_keep("cpu") == policy_keep("gpu") == lowered
    assert policy_keep("autodiff") == {c.OPERATION_NAME.removeprefix("tg.") for c in composites if c in VJP}
    assert policy_keep("none") == frozenset()


def test_keep_option_keeps_named_composites_and_decomposes_the_rest():
    case = next(c for c in CASES if c.name == "cross_entropy_smooth_weight")
    text = module_text(case, True)
    kept = tg_op_names(run_pipeline(text, "builtin.module(tg-decompose{keep=log_softmax,nll_loss})"))
    assert {"log_softmax", "nll_loss"} <= kept and "cross_entropy" not in kept
    kept = tg_op_names(run_pipeline(text, "tg-decompose{keep=tg.cross_entropy}"))
    assert "cross_entropy" in kept


@pytest.mark.parametrize(
    "options, message",
    [
        ("targets=tpu", r"tg-decompose: unknown targets 'tpu' \(allowed: none, cpu, gpu, autodiff\)"),
        ("keep=softmax,exp", r"tg-decompose: cannot keep 'exp': not a composite op"),
        ("keep=nosuchop", r"cannot keep 'nosuchop'"),
    ],
)
def test_bad_options_are_diagnosed(options, message):
    text = module_text(CASES[0], False)
    with pytest.raises(ir.MLIRError, match=message):
        run_pipeline(text, f"tg-decompose{{{options}}}")


def _swap_rule(monkeypatch, op_cls, rule):
    monkeypatch.setitem(DECOMPOSE, op_cls, rule)


def test_rule_that_recreates_its_op_is_reported_as_a_cycle(monkeypatch):
    _swap_rule(monkeypatch, N.SiluOp, lambda op: builders_nn.silu(op.input))
    text = module_text(next(c for c in CASES if c.name == "silu"), False)
    with pytest.raises(ir.MLIRError, match=r"'tg.silu' remains after 32 rounds: .*cycle through 'tg.silu'"):
        run_pipeline(text, "tg-decompose")


def test_two_rules_in_a_cycle_are_reported(monkeypatch):
    _swap_rule(monkeypatch, N.SiluOp, lambda op: builders_nn.mish(op.input))
    _swap_rule(monkeypatch, N.MishOp, lambda op: builders_nn.silu(op.input))
    text = module_text(next(c for c in CASES if c.name == "silu"), False)
    with pytest.raises(ir.MLIRError, match=r"'tg.(silu|mish)' remains after 32 rounds"):
        run_pipeline(text, "tg-decompose")


def test_declined_rule_is_reported_with_the_op_name(monkeypatch):
    _swap_rule(monkeypatch, N.MishOp, lambda op: None)
    text = module_text(next(c for c in CASES if c.name == "mish"), False)
    with pytest.raises(ir.MLIRError, match=r"tg-decompose: 'tg.mish' remains: its decomposition rule declined"):
        run_pipeline(text, "tg-decompose")


def test_rule_errors_become_diagnostics():
    # an unsupported instance (two dynamic dims that a group reshape cannot express)
    case = Case("gn", "tg.group_norm", lambda x: builders_nn.group_norm(x, 2), None,
                [In((2, 4, 3, 3), dyn=(0, 2))])
    with pytest.raises(ir.MLIRError, match=r"'tg.group_norm': expects at most one dynamic dim"):
        run_pipeline(module_text(case, True), "tg-decompose")


# --- numerics against eager -----------------------------------------------------------


LOWER_TAIL = "canonicalize,cse,tg-lower-to-linalg,tg-cpu-linalg-to-llvm"


def _pipelines(case: Case) -> list[str]:
    """Fully decomposed, and kept whole where the op has a lowering of its own."""
    out = [f"tg-decompose,{LOWER_TAIL}"]
    if any(c.OPERATION_NAME == case.op and c in LOWER for c in TG.operations):
        out.append(f"tg-decompose{{keep={case.op.removeprefix('tg.')}}},{LOWER_TAIL}")
    return out


def _outputs(text: str, ref_outs) -> list[OutputSpec]:
    specs = []
    with make_context():
        module = ir.Module.parse(text)
        fn = module.body.operations[0]
        results = ir.FunctionType(ir.TypeAttr(fn.attributes["function_type"]).value).results
        for i, (t, r) in enumerate(zip(results, ref_outs)):
            specs.append(OutputSpec(r.dtype, shape_of(t), lambda _ins, i=i, r=r: tuple(r.shape)))
    return specs


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_eager(case, dynamic):
    torch.manual_seed(0)
    text = module_text(case, dynamic)
    batches = [None, case.inputs[0].shape[0] + 2] if dynamic and case.inputs[0].shape else [None]
    for pipeline in _pipelines(case):
        compiled = None
        for batch in batches:
            inputs = [spec.sample(batch) for spec in case.inputs]
            ref = case.ref(*inputs)
            ref = list(ref) if isinstance(ref, (list, tuple)) else [ref]
            compiled = compiled or CpuFunction(text, _outputs(text, ref), pipeline=pipeline)
            compiled.outputs = _outputs(text, ref)  # shapes for this batch
            got = compiled(*inputs)
            for g, r in zip(got, ref):
                torch.testing.assert_close(g, r, atol=case.atol, rtol=case.rtol, equal_nan=True)
