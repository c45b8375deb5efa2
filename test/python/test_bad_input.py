"""Bad input: invalid pass and compile options are ValueErrors naming the option and its
allowed values; NaN and Inf propagate as in eager; size-0 dims and 0-d tensors compile."""

from __future__ import annotations

import dynamlir
import pytest
import torch
import torch.nn.functional as F
from dynamlir.dialects import make_context
from dynamlir.frontend.options import check_option_values
from dynamlir.lowering.pipeline import PipelineError, build_pass_manager, validate_pipeline


@pytest.mark.parametrize(
    "pipeline, message",
    [
        (
            "tg-decompose{targets=tpu}",
            r"tg-decompose: unknown targets 'tpu' \(allowed: none, cpu, gpu, autodiff\)",
        ),
        ("tg-decompose{keep=exp}", r"cannot keep 'exp': not a composite op \(composites: addcdiv"),
        ("tg-partition{policy=greedy}", r"unknown policy 'greedy' \(allowed: save-all, min-cut\)"),
        (
            "tg-partition{keep-joint=maybe}",
            r"option 'keep-joint' expects true or false, got 'maybe'",
        ),
        ("tg-autodiff{wrt=x}", r"option 'wrt' expects comma-separated indices, got 'x'"),
        ("tg-gpu-pipeline{chip=sm_1}", r"unknown chip 'sm_1' \(allowed: sm_70, "),
        (
            "tg-decompose{bogus=1}",
            r"pass 'tg-decompose' has no option 'bogus' \(allowed: keep, targets\)",
        ),
        (
            "tg-cpu-matmul-kernels{parallel=maybe}",
            r"option 'parallel' expects true or false, got 'maybe'",
        ),
        ("tg-no-such-pass", r"unknown pass 'tg-no-such-pass'"),
        ("canonicalize{bogus=1}", r"invalid upstream pipeline 'canonicalize\{bogus=1\}'.*bogus"),
    ],
)
def test_invalid_pass_options_raise_value_error(pipeline, message):
    with pytest.raises(PipelineError, match=message) as info:
        validate_pipeline(pipeline)
    assert isinstance(info.value, ValueError)


def test_valid_pipelines_validate():
    for text in (
        "tg-cpu-pipeline",
        (
            "tg-decompose{targets=autodiff},tg-autodiff{wrt=0,1},"
            "tg-partition{policy=save-all keep-joint=true}"
        ),
        "func.func(cse)",
    ):
        validate_pipeline(text)
        with make_context():
            build_pass_manager(text)


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "tg-bogus",
            (
                r"option 'pipeline' is not a valid pipeline: unknown pass 'tg-bogus' "
                r"\(allowed: a named pipeline \(tg-cpu-linalg-to-llvm, tg-cpu-pipeline\)"
            ),
        ),
        ("tg-decompose{targets=x},tg-cpu-pipeline", r"option 'pipeline' .*unknown targets 'x'"),
        (3, r"option 'pipeline' expects a pass pipeline string, got 3"),
        ("", r"option 'pipeline' expects a pass pipeline string, got ''"),
    ],
)
def test_invalid_compile_option_values_raise_value_error(value, message):
    with pytest.raises(ValueError, match=message):
        check_option_values({"pipeline": value})


def test_unknown_compile_option_names_the_allowed_ones():
    with pytest.raises(ValueError, match=r"unknown option 'pipe' \(allowed: .*pipeline"):
        dynamlir.compile(lambda x: x, pipe="tg-cpu-pipeline")


def with_specials(shape=(4, 8)) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(shape)
    x[0, 1], x[1, 2], x[2, 3] = float("nan"), float("inf"), -float("inf")
    x[3, :] = float("nan")
    return x


W = torch.randn(8, 5)
W[2, 1] = float("inf")

NAN_CASES = {
    "softmax": lambda a: torch.softmax(a, -1),
    "log_softmax": lambda a: torch.log_softmax(a, -1),
    "max": lambda a: a.max(-1).values,
    "max_all": lambda a: a.max(),
    "amax": lambda a: a.amax(0),
    "min": lambda a: a.min(-1).values,
    "argmax": lambda a: a.argmax(-1),
    "relu": torch.relu,
    "matmul": lambda a: a @ W,
    "linear": lambda a: F.linear(a, W.t()),
    "maximum": lambda a: torch.maximum(a, torch.zeros_like(a)),
    "clamp": lambda a: a.clamp(-1, 1),
    "sum": lambda a: a.sum(-1),
    "mean": lambda a: a.mean(0),
    "exp_tanh": lambda a: a.exp() + a.tanh(),
    "sigmoid": torch.sigmoid,
    "layer_norm": lambda a: F.layer_norm(a, (8,)),
    "where": lambda a: torch.where(a > 0, a, -a),
    "isnan_mask": lambda a: torch.isnan(a) | (a > 1),
}


@pytest.mark.parametrize("name", sorted(NAN_CASES))
def test_nan_and_inf_propagate_as_in_eager(name):
    fn = NAN_CASES[name]
    x = with_specials()
    torch._dynamo.reset()
    got = torch.compile(fn, backend="dynamlir")(x)
    expected = fn(x)
    assert got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, equal_nan=True)


EMPTY_CASES = {
    "add": (lambda a, b: a + b, [(0, 4), (0, 4)]),
    "relu_mul": (lambda a: torch.relu(a) * 2, [(3, 0)]),
    "sum_dim": (lambda a: a.sum(0), [(0, 4)]),
    "sum_all": (lambda a: a.sum(), [(0, 4)]),
    "mean": (lambda a: a.mean(0), [(0, 4)]),
    "prod": (lambda a: a.prod(0), [(0, 4)]),
    "matmul_k0": (lambda a, b: a @ b, [(3, 0), (0, 5)]),
    "matmul_m0": (lambda a, b: a @ b, [(0, 4), (4, 5)]),
    "bmm": (torch.bmm, [(0, 3, 4), (0, 4, 5)]),
    "linear": (F.linear, [(0, 4), (5, 4)]),
    "softmax": (lambda a: torch.softmax(a, -1), [(0, 4)]),
    "layer_norm": (lambda a: F.layer_norm(a, (4,)), [(0, 4)]),
    "cat": (lambda a, b: torch.cat([a, b]), [(0, 4), (2, 4)]),
    "reshape": (lambda a: a.reshape(4, 0), [(0, 4)]),
    "transposed": (lambda a: a.t() + 1, [(0, 3)]),
    "scalar_ops": (lambda a, b: a * b + 1, [(), ()]),
    "scalar_math": (lambda a: a.exp().sin(), [()]),
    "scalar_broadcast": (lambda a, b: a * b, [(), (3, 4)]),
    "scalar_sum": (lambda a: a.sum(), [()]),
    "to_scalar": (lambda a: (a * a).sum() / 2, [(5,)]),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
def test_empty_and_scalar_tensors_compile(name):
    fn, shapes = EMPTY_CASES[name]
    torch.manual_seed(0)
    xs = [torch.randn(s) for s in shapes]
    torch._dynamo.reset()
    got = torch.compile(fn, backend="dynamlir")(*xs)
    expected = fn(*xs)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, equal_nan=True)


def test_size_zero_after_a_dynamic_compile():
    def fn(a):
        return torch.softmax(a, -1).sum(-1) + 1

    torch._dynamo.reset()
    cf = torch.compile(fn, backend="dynamlir", dynamic=True)
    for n in (3, 5, 0, 1, 0, 4):
        x = torch.randn(n, 6)
        torch.testing.assert_close(cf(x), fn(x))


@pytest.mark.parametrize("shape", [(0, 4), ()])
def test_gradients_of_empty_and_scalar_inputs(shape):
    def fn(a):
        return (torch.tanh(a) * a).sum()

    torch._dynamo.reset()
    x = torch.randn(shape, requires_grad=True)
    ref = x.detach().clone().requires_grad_()
    torch.compile(fn, backend="dynamlir")(x).backward()
    fn(ref).backward()
    torch.testing.assert_close(x.grad, ref.grad)
