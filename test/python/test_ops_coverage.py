"""Importer coverage beyond test_ops.py: nn layers, pooling, indexing, in-place writes,
sorting, padding, half precision and dynamic batch sizes. Each case compiles with no eager
fallback and matches eager forward values and (for float inputs) gradients.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

from dynamlir.frontend import backend


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def randn(*shape):
    return torch.randn(shape, generator=_gen(len(shape)))


def compile_no_fallback(fn, dynamic=False):
    torch._dynamo.reset()
    backend._warned.clear()
    return torch.compile(fn, backend="dynamlir", dynamic=dynamic)


def run(fn, *inputs, frozen=(), rtol=1e-4, atol=1e-5):
    """Compiled vs eager: outputs, then gradients of a fixed weighted sum of float outputs
    with respect to every float input but those at the `frozen` positions."""
    compiled = compile_no_fallback(fn)
    grad = [t.is_floating_point() and i not in frozen for i, t in enumerate(inputs)]
    want = [t.clone().requires_grad_(g) for t, g in zip(inputs, grad)]
    got_in = [t.clone().requires_grad_(g) for t, g in zip(inputs, grad)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback warns: fail instead
        got = compiled(*got_in)
        outs = _flat(got)
        expected = _flat(fn(*want))
        for o, e in zip(outs, expected):
            assert o.dtype == e.dtype and o.shape == e.shape
            torch.testing.assert_close(o, e, rtol=rtol, atol=atol, equal_nan=True)
        pairs = [(o, e) for o, e in zip(outs, expected) if e.requires_grad]
        if not pairs:
            return
        weights = [torch.randn(e.shape, generator=_gen(9)) for _, e in pairs]
        sum(((o * w).sum() for (o, _), w in zip(pairs, weights))).backward()
    sum(((e * w).sum() for (_, e), w in zip(pairs, weights))).backward()
    for a, b in zip(got_in, want):
        if b.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, rtol=rtol, atol=atol)


def _flat(x):
    if isinstance(x, torch.Tensor):
        return [x]
    return [t for v in x for t in _flat(v)]


def setitem_slice(x, y):
    x = x.clone()
    x[:, 1:4:2] = y
    x[0] = 0.5
    return x


def index_put(x, i, v):
    x = x.clone()
    x[i] = v
    return x


def index_put_acc(x, i, v):
    return x.index_put((i,), v, accumulate=True)


def mask_fill_put(x):
    x = x.clone()
    x[x < 0] = 0.0
    return x


def inplace_chain(x):
    y = x.clone()
    y.mul_(2).add_(1).relu_()
    return y


CASES = {
    "conv2d_stride_groups": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
        [randn(2, 4, 9, 9), randn(6, 2, 3, 3), randn(6)],
    ),
    "conv1d_dilated": (
        lambda x, w: F.conv1d(x, w, padding=2, dilation=2),
        [randn(2, 3, 10), randn(4, 3, 3)],
    ),
    "batch_norm_eval": (
        lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, False),
        [randn(4, 3, 5, 5), randn(3), torch.rand(3) + 0.5, randn(3), randn(3)],
        (1, 2),
    ),
    "batch_norm_train_no_stats": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
        [randn(4, 3, 5, 5), randn(3), randn(3)],
    ),
    "group_norm": (
        lambda x, w, b: F.group_norm(x, 2, w, b),
        [randn(2, 4, 3, 3), randn(4), randn(4)],
    ),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), [randn(2, 3, 9, 9)]),
    "max_pool2d_indices_ceil": (
        lambda x: F.max_pool2d(x, 2, 2, 0, ceil_mode=True, return_indices=True),
        [randn(1, 2, 7, 7)],
    ),
    "avg_pool2d_no_pad_count": (
        lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
        [randn(2, 3, 8, 8)],
    ),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [randn(2, 3, 7, 5)]),
    "embedding_padding_idx": (
        lambda w, i: F.embedding(i, w, padding_idx=1),
        [randn(6, 4), torch.tensor([[1, 2], [5, 1]])],
    ),
    "cross_entropy_smoothing": (
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
        [randn(5, 4), torch.tensor([0, 3, 1, 2, 3])],
    ),
    "mse_l1_bce": (
        lambda a, b: (
            F.mse_loss(a, b),
            F.l1_loss(a, b),
            F.binary_cross_entropy_with_logits(a, b.sigmoid()),
        ),
        [randn(3, 4), randn(4, 3).t()],
    ),
    "sdpa_bool_mask": (
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
        [randn(2, 5, 4), randn(2, 6, 4), randn(2, 6, 3), torch.rand(5, 6, generator=_gen(3)) > 0.3],
    ),
    "activations": (
        lambda x: (
            F.silu(x),
            F.mish(x),
            F.hardswish(x),
            F.elu(x),
            F.leaky_relu(x),
            F.softplus(x),
            F.hardsigmoid(x),
            F.logsigmoid(x),
        ),
        [randn(4, 5)],
    ),
    "statistics": (
        lambda x: (
            x.var(1),
            x.std(0, correction=0),
            torch.var_mean(x, 1),
            x.norm(dim=1),
            torch.logsumexp(x, 1),
        ),
        [randn(4, 5)],
    ),
    "gather_scatter_add": (
        lambda x, i, s: (torch.gather(x, 1, i), x.scatter_add(1, i, s)),
        [randn(3, 5), torch.tensor([[0, 4], [2, 2], [3, 1]]), randn(3, 2)],
    ),
    "index_tensor": (
        lambda x, i, j: (x[i], x[:, j], x[i, j], x[i, :, j]),
        [randn(4, 4, 4), torch.tensor([0, -1, 2, 2]), torch.tensor([3, 1, 1, 0])],
    ),
    "index_put": (index_put, [randn(4, 3), torch.tensor([0, 2]), randn(2, 3)]),
    "index_put_accumulate": (index_put_acc, [randn(4, 3), torch.tensor([0, 2, 0]), randn(3, 3)]),
    "mask_fill_put": (mask_fill_put, [randn(4, 3)]),
    "setitem_slice": (setitem_slice, [randn(3, 5), randn(3, 2)]),
    "inplace_chain": (inplace_chain, [randn(3, 5)]),
    "sort_topk": (
        lambda x: (torch.sort(x, 1, descending=True), torch.topk(x, 2, 0), torch.argsort(x, 0)),
        [randn(5, 6)],
    ),
    "cumsum_cumprod": (lambda x: (x.cumsum(1), x.cumprod(0)), [randn(3, 4)]),
    "flip_roll_pad": (
        lambda x: (
            x.flip(0, 2),
            x.roll((1, -2), (1, 2)),
            F.pad(x, (1, 2), value=3.0),
            F.pad(x, (2, 1, 1, 1), mode="reflect"),
            F.pad(x, (1, 1), mode="replicate"),
        ),
        [randn(2, 3, 4)],
    ),
    "split_unbind_stack": (
        lambda x: (*x.chunk(2, 1), *x.unbind(0), torch.stack([x, x], 1)),
        [randn(2, 4)],
    ),
    # an integer-only graph of a float input: compiled without autograd (nothing to frozen)
    "one_hot_argmax": (lambda x: F.one_hot(x.argmax(1), 5) * 2, [randn(3, 5)], (0,)),
    "elementwise_math": (
        lambda x: (
            torch.asin(x.tanh()),
            torch.atan(x),
            torch.sinh(x),
            torch.log10(x.abs() + 1),
            torch.trunc(x * 3),
            torch.nan_to_num(x.log()),
            torch.lerp(x, x * 2, 0.3),
        ),
        [randn(3, 4)],
    ),
    "int_and_bool": (
        lambda a, b: (
            (a & b) | (a ^ 3),
            torch.remainder(a, 3),
            a.sign(),
            torch.logical_xor(a > 0, b > 0),
        ),
        [torch.tensor([5, -3, 0, 7]), torch.tensor([1, 2, -4, 7])],
    ),
    "detach_stops_gradient": (lambda x: x * x.detach(), [randn(3, 4)]),
    "upsample_nearest": (lambda x: F.interpolate(x, scale_factor=2), [randn(1, 2, 3, 3)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_case_matches_eager(name):
    fn, inputs, *frozen = CASES[name]
    run(fn, *inputs, frozen=frozen[0] if frozen else ())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_ops_compute_in_float32_as_eager(dtype):
    # PyTorch's CPU kernels accumulate reductions, norms and matmuls in float32: so does the
    # import, and the results agree to the bit
    x = randn(4, 8).to(dtype)
    w = randn(8).to(dtype)

    def fn(x, w):
        return (x.softmax(-1), F.layer_norm(x, (8,), w), x.sum(0), x @ x.t(), F.gelu(x), x + w)

    compiled = compile_no_fallback(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compiled(x, w)
    for g, e in zip(got, fn(x, w)):
        assert g.dtype == dtype
        assert torch.equal(g, e)


def test_dynamic_batch_indexing_and_pooling():
    def fn(x, i):
        y = F.max_pool2d(x, 2) + F.avg_pool2d(x, 2)
        return torch.gather(y.flatten(1), 1, i.expand(x.shape[0], -1)), y.flip(0)

    i = torch.tensor([[0, 5, 7]])
    compiled = compile_no_fallback(fn)  # automatic dynamic: the batch becomes symbolic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n in (2, 3, 5, 7):
            x = torch.randn(n, 2, 4, 4)
            for g, e in zip(compiled(x, i), fn(x, i)):
                torch.testing.assert_close(g, e)


def test_training_dropout_falls_back_with_a_reason():
    torch._dynamo.reset()
    backend._warned.clear()
    fn = torch.compile(lambda x: F.dropout(x, 0.5, training=True) * 2, backend="dynamlir")
    with pytest.warns(UserWarning, match="dropout with 0 < p < 1 in training mode"):
        fn(torch.randn(4, 4))
