"""Per-op numerics: each case compiles through torch.compile(backend="dynamlir") and must
match eager with no eager fallback."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
import torch.nn.functional as F


@dataclass
class OpCase:
    fn: Callable
    shapes: list
    name: str = ""
    dtype: torch.dtype = torch.float32
    make: Callable | None = None  # custom input factory (shape, dtype) -> tensor
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.name = self.name or getattr(self.fn, "__name__", "fn")

    def inputs(self):
        g = torch.Generator().manual_seed(0)
        make = self.make or (lambda s, d: torch.randn(s, generator=g, dtype=d))
        return [make(s, self.dtype) for s in self.shapes]


def positive(s, d):
    return torch.rand(s, dtype=d) + 0.1


def ints(s, d):
    return torch.randint(-5, 6, s, dtype=torch.int64)


CASES = [
    OpCase(torch.add, [(4, 8), (8,)], "add_broadcast"),
    OpCase(lambda a, b: a - 2 * b, [(4, 1), (1, 8)], "sub_scalar_broadcast"),
    OpCase(torch.mul, [(2, 3, 4), (3, 1)], "mul"),
    OpCase(torch.div, [(4, 8), (4, 8)], "div", make=positive),
    OpCase(lambda a: a / 3, [(5,)], "div_int_to_float", make=ints),
    OpCase(lambda a: a // torch.tensor([2, 2, -2, -2, 3, 5]), [(6,)], "floor_divide_int",
           make=lambda s, d: torch.tensor([7, -7, 7, -7, 0, 9])),
    OpCase(torch.neg, [(3, 3)]),
    OpCase(lambda a: a ** 3, [(3, 3)], "pow_scalar"),
    OpCase(torch.pow, [(3, 3), (3, 3)], "pow_tensor", make=positive),
    OpCase(torch.maximum, [(4, 4), (4,)]),
    OpCase(torch.minimum, [(4, 4), (4,)]),
    OpCase(torch.exp, [(4, 8)]),
    OpCase(torch.log, [(4, 8)], make=positive),
    OpCase(torch.tanh, [(4, 8)]),
    OpCase(torch.sigmoid, [(4, 8)]),
    OpCase(torch.relu, [(4, 8)]),
    OpCase(F.gelu, [(4, 8)]),
    OpCase(lambda x: F.gelu(x, approximate="tanh"), [(4, 8)], "gelu_tanh"),
    OpCase(torch.sqrt, [(4, 8)], make=positive),
    OpCase(torch.rsqrt, [(4, 8)], make=positive),
    OpCase(torch.abs, [(4, 8)]),
    OpCase(torch.erf, [(4, 8)]),
    OpCase(lambda a, b: (a > b).float() + (a <= b).float() * 2 + (a == a).float(), [(4, 8), (8,)], "compare"),
    OpCase(lambda a, b: torch.where(a > 0, a, b), [(4, 8), (4, 8)], "where"),
    OpCase(lambda a: a.masked_fill(a < 0, -1.0), [(4, 8)], "masked_fill"),
    OpCase(torch.mm, [(8, 16), (16, 4)]),
    OpCase(torch.bmm, [(2, 8, 16), (2, 16, 4)]),
    OpCase(torch.matmul, [(2, 3, 8, 16), (16, 4)], "matmul_batch_fold"),
    OpCase(torch.matmul, [(2, 1, 8, 16), (3, 16, 4)], "matmul_broadcast_batch"),
    OpCase(torch.matmul, [(16,), (16, 4)], "matmul_vec"),
    OpCase(F.linear, [(4, 16), (8, 16), (8,)], "linear"),
    OpCase(lambda b, x, y: torch.addmm(b, x, y, beta=0.5, alpha=2.0), [(4,), (3, 5), (5, 4)], "addmm"),
    OpCase(lambda x: x.sum(), [(4, 8)], "sum_all"),
    OpCase(lambda x: x.sum(dim=(0, 2), keepdim=True), [(3, 4, 5)], "sum_keepdim"),
    OpCase(lambda x: x.mean(-1), [(3, 4, 5)], "mean"),
    OpCase(lambda x: x.amax(1), [(3, 4, 5)], "amax"),
    OpCase(lambda x: x.max(1).values + x.max(1).indices, [(3, 4, 5)], "max_dim"),
    OpCase(lambda x: x.argmax(-1), [(3, 7)], "argmax"),
    OpCase(lambda x: x.sum(1), [(3, 4)], "sum_int", make=ints),
    OpCase(lambda x: torch.softmax(x, -1), [(4, 8)], "softmax"),
    OpCase(lambda x: torch.log_softmax(x, 0), [(4, 8)], "log_softmax"),
    OpCase(lambda x, w, b: F.layer_norm(x, (8,), w, b), [(2, 4, 8), (8,), (8,)], "layer_norm"),
    OpCase(lambda x: x.view(4, 2, 4).reshape(8, 4), [(4, 8)], "reshape"),
    OpCase(lambda x: x.permute(2, 0, 1) * 1, [(2, 3, 4)], "permute"),
    OpCase(lambda x: x.transpose(0, 1) + 1, [(3, 5)], "transpose"),
    OpCase(lambda x: x.expand(3, 4, 5) + 0, [(4, 1)], "expand"),
    OpCase(lambda x: x[1:3, ::2] * 2, [(4, 8)], "slice"),
    OpCase(lambda x: x[:, 2] + x[-1], [(5, 5)], "select"),
    OpCase(lambda a, b: torch.cat([a, b, a], 1), [(2, 3), (2, 5)], "cat"),
    OpCase(lambda x: x.unsqueeze(1).squeeze(1).flatten() + 0, [(2, 3)], "squeeze_unsqueeze"),
    OpCase(lambda x: x.to(torch.int32).to(torch.float32), [(4, 8)], "casts"),
    OpCase(lambda x: x + torch.tensor([1.0, 2.0, 3.0]), [(2, 3)], "constant"),
    OpCase(lambda x: x.double() * 2, [(4,)], "float64"),
    OpCase(lambda a, b: a + b, [(3,), (3,)], "add_bool",
           make=lambda s, d: torch.tensor([True, True, False])),
]


def run_compiled(fn, inputs):
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend="dynamlir")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an eager fallback warns: fail the test instead
        return compiled(*inputs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_matches_eager(case):
    inputs = case.inputs()
    expected = case.fn(*inputs)
    actual = run_compiled(case.fn, inputs)
    assert actual.dtype == expected.dtype
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_non_contiguous_inputs_are_not_copied_wrongly():
    a = torch.randn(16, 8).t()  # transposed view
    b = torch.randn(16, 16)[:, ::2]  # strided view
    c = torch.randn(1, 8).expand(8, 8)  # zero stride
    fn = lambda a, b, c: a @ b + c  # noqa: E731
    torch.testing.assert_close(run_compiled(fn, [a, b, c]), fn(a, b, c))


def test_dynamic_batch_serves_all_sizes():
    torch._dynamo.reset()
    fn = lambda x, w: torch.softmax(x @ w, -1).sum(-1, keepdim=True) * x.mean(0)  # noqa: E731
    compiled = torch.compile(fn, backend="dynamlir", dynamic=True)
    w = torch.randn(8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (3, 5, 17):
            x = torch.randn(n, 8)
            torch.testing.assert_close(compiled(x, w), fn(x, w))


def test_reshape_between_dynamic_shapes_is_never_dropped():
    # (?, ?) -> (?, ?) is not a no-op: the importer must not fold it away. Two dynamic
    # result dims are not compiled yet, so this may run eagerly with a warning, but the
    # answer must be eager's.
    torch._dynamo.reset()
    fn = lambda x: (x.reshape(x.shape[0] * 2, -1) + 1).sum(1)  # noqa: E731
    compiled = torch.compile(fn, backend="dynamlir", dynamic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in (4, 6):
            x = torch.arange(n * 8.0).reshape(n, 8)
            torch.testing.assert_close(compiled(x), fn(x))
