"""tg-autodiff + tg-partition + runtime.autograd: gradients of every differentiable primitive
(and of every composite after tg-decompose) match torch.autograd, static and with a dynamic
batch, under both partition policies; the passes diagnose what they cannot differentiate."""

from __future__ import annotations

import pytest
import torch
from case_modules import ELEM, module_text
from decompose_cases import CASES as COMPOSITE_CASES
from torch_mlir import ir
from torch_mlir.dialects import func
from vjp_cases import CASES

import dynamlir.lowering  # noqa: F401  (registers the passes)
from dynamlir.dialects import make_context
from dynamlir.dialects.types import DYN, tensor_type
from dynamlir.lowering.partition import saved_bytes_by_policy
from dynamlir.lowering.pipeline import build_pass_manager
from dynamlir.runtime.autograd import CompiledAutograd





def as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


# Float inputs that are not differentiable in PyTorch either (running statistics).
NO_GRAD = {
    "batch_norm_eval": (1, 2),
    "batch_norm_train": (1, 2),
    "nll_loss_weight": (2,),
    "cross_entropy_smooth_weight": (2,),
}


def check_grads(case, dynamic: bool, policy: str = "min-cut", batches=(None,)):
    torch.manual_seed(0)
    samples = [[spec.sample(b) for spec in case.inputs] for b in batches]
    frozen = NO_GRAD.get(case.name, ())
    wants = [t.is_floating_point() and i not in frozen for i, t in enumerate(samples[0])]
    compiled = CompiledAutograd(module_text(case, dynamic), wants, policy=policy)
    for inputs in samples:
        leaves = [t.clone().requires_grad_(w) for t, w in zip(inputs, wants)]
        eager_leaves = [t.clone().requires_grad_(w) for t, w in zip(inputs, wants)]
        outs = as_tuple(compiled(*leaves))
        expected = as_tuple(case.ref(*eager_leaves))
        # outputs eager connects to the inputs (not e.g. batch_norm's running statistics)
        float_outs = [i for i, o in enumerate(expected) if o.requires_grad]
        cts = [torch.randn_like(expected[i]) for i in float_outs]
        for got, want in zip(outs, expected):
            torch.testing.assert_close(got, want.detach(), rtol=1e-4, atol=case.atol)
        diff = [leaf for leaf, w in zip(leaves, wants) if w]
        eager_diff = [leaf for leaf, w in zip(eager_leaves, wants) if w]
        got = torch.autograd.grad([outs[i] for i in float_outs], diff, cts, allow_unused=True)
        want = torch.autograd.grad([expected[i] for i in float_outs], eager_diff, cts,
                                   allow_unused=True)
        for g, w in zip(got, want):
            w = torch.zeros_like(g) if w is None else w
            torch.testing.assert_close(g, w, rtol=1e-4, atol=case.atol, equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_primitive_grad_matches_eager(case):
    check_grads(case, dynamic=False)


DYNAMIC = [c for c in CASES if any(s.dyn for s in c.inputs)]


@pytest.mark.parametrize("case", DYNAMIC, ids=[c.name for c in DYNAMIC])
def test_primitive_grad_dynamic_batch_matches_eager(case):
    check_grads(case, dynamic=True, batches=(3, 5))


# Composites are differentiated through their decomposition; skip those with no float input.
DIFFERENTIABLE_COMPOSITES = [
    c for c in COMPOSITE_CASES if any(s.dtype.is_floating_point for s in c.inputs)
]


@pytest.mark.parametrize(
    "case", DIFFERENTIABLE_COMPOSITES, ids=[c.name for c in DIFFERENTIABLE_COMPOSITES]
)
def test_composite_grad_matches_eager(case):
    check_grads(case, dynamic=False, policy="save-all")


def test_mlp_training_step_dynamic_batch_both_policies():
    from decompose_cases import Case, In, fixed

    from dynamlir.dialects import builders as tg
    from dynamlir.dialects import builders_nn as nn

    def build(x, w1, b1, w2):
        return nn.linear(tg.relu(nn.linear(x, w1, b1)), w2)

    def ref(x, w1, b1, w2):
        return torch.nn.functional.linear(torch.relu(torch.nn.functional.linear(x, w1, b1)), w2)

    case = Case("mlp", "", build, ref, [In((4, 6)), fixed((8, 6)), fixed((8,)), fixed((3, 8))])
    for policy in ("save-all", "min-cut"):
        check_grads(case, dynamic=True, policy=policy, batches=(2, 7))


# --- pass behaviour (no compilation) ------------------------------------------------


def run(text: str, pipeline: str) -> ir.Module:
    ctx = make_context()
    with ctx:
        module = ir.Module.parse(text)
        build_pass_manager(pipeline, context=ctx).run(module.operation)
    return module


SWISH = """
func.func @swish(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = "tg.tanh"(%x) : (tensor<16xf32>) -> tensor<16xf32>
  %1 = "tg.sigmoid"(%x) : (tensor<16xf32>) -> tensor<16xf32>
  %2 = "tg.mul"(%0, %1) : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %2 : tensor<16xf32>
}
"""


def test_saved_bytes_by_policy():
    module = run(SWISH, "tg-autodiff,cse")
    assert saved_bytes_by_policy(module) == {"swish_joint": {"save-all": 128, "min-cut": 64}}


ALL_CASES = CASES + DIFFERENTIABLE_COMPOSITES


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_min_cut_never_saves_more_than_save_all(case):
    module = run(module_text(case, False), "tg-decompose{targets=autodiff},tg-autodiff,cse")
    for name, by_policy in saved_bytes_by_policy(module).items():
        assert by_policy["min-cut"] <= by_policy["save-all"], (name, by_policy)


@pytest.mark.parametrize("pipeline, message", [
    ("tg-autodiff", r"no vjp rule for 'tg.gelu'; it is composite: run tg-decompose"),
    ("tg-autodiff{wrt=3}", r"'@f' has 1 args, got wrt index 3"),
    ("tg-autodiff{wrt=x}", r"option 'wrt' expects comma-separated indices, got 'x'"),
    ("tg-autodiff,tg-partition{policy=greedy}", r"unknown policy 'greedy'"),
])
def test_pass_errors_are_diagnosed(pipeline, message):
    text = """
    func.func @f(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
      %0 = "tg.gelu"(%x) {approximate = "none"} : (tensor<2x8xf32>) -> tensor<2x8xf32>
      return %0 : tensor<2x8xf32>
    }"""
    if "policy" in pipeline:
        text = SWISH
    with pytest.raises(ir.MLIRError, match=message):
        run(text, pipeline)


def test_runtime_requires_a_float_grad_input():
    with pytest.raises(ValueError, match="no floating-point input of '@main' requires grad"):
        CompiledAutograd(SWISH.replace("@swish", "@main"), [False])


def test_runtime_calls_under_a_functorch_transform_go_through_function_apply():
    # Note [compiled autograd calls]: the direct C++ apply is only for calls outside a
    # functorch transform; inside one, torch's own Function.apply reports what is missing
    # instead of the transform silently seeing an unbatched result.
    compiled = CompiledAutograd(SWISH.replace("@swish", "@main"), [True])
    x = torch.randn(16, requires_grad=True)
    (y,) = compiled(x)
    y.sum().backward()
    expected = torch.autograd.functional.vjp(lambda t: torch.tanh(t) * torch.sigmoid(t), x.detach(),
                                             torch.ones(16))[1]
    torch.testing.assert_close(x.grad, expected)
    with pytest.raises(RuntimeError, match="must override the setup_context staticmethod"):
        torch.func.vmap(lambda t: compiled(t)[0])(torch.randn(2, 16))
