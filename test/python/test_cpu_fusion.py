"""Row fusion (tg-cpu-fuse-parallel-loops) and the loops around it, end to end: chains of
reductions and broadcasts over rows, columns and middle dims that fuse, partly fuse or must
not, compared with eager on shapes with odd sizes, unit dims and threads."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import counting


def _compiled(fn):
    torch._dynamo.reset()
    return torch.compile(fn, backend="dynamlir", fullgraph=True)


def _assert_grads_match(f, params, rtol=1e-4, atol=1e-5) -> None:
    """Gradients of f(x) (params[0] is x) through dynamlir against eager's."""
    got = torch.autograd.grad(torch.compile(f, backend="dynamlir")(params[0]), params)
    want = torch.autograd.grad(f(params[0]), params)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=rtol, atol=atol)


CASES = {
    # one nest over rows: max, shifted exp, sum, divide
    "softmax_last": (lambda x: torch.softmax(x * 0.5, dim=-1), (6, 33, 47)),
    # the reduction runs over a middle dim: rows are not the leading dims of every nest
    "softmax_middle": (lambda x: torch.softmax(x, dim=1), (5, 37, 9)),
    "softmax_first": (lambda x: torch.softmax(x, dim=0), (37, 20)),
    "layer_norm": (lambda x: F.layer_norm(x, (x.shape[-1],)) * 1.5 + 0.25, (4, 31, 65)),
    # a column reduction feeding a row-wise use: iterations depend across rows
    "center_columns": (lambda x: (x - x.mean(0)) / (x.std(0) + 1), (64, 48)),
    "row_then_column": (lambda x: (x / x.sum(1, keepdim=True)).sum(0), (40, 56)),
    "unit_dims": (lambda x: torch.softmax(x, dim=-1) * x.amax(-1, keepdim=True), (1, 7, 1, 130)),
    "two_softmaxes": (lambda x: torch.softmax(x, -1) + torch.softmax(x.transpose(-1, -2), -1), (3, 40, 40)),
    "log_softmax_nll": (lambda x: -F.log_softmax(x, -1)[..., 0].mean(), (256, 1000)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fused_rows_match_eager(name):
    fn, shape = CASES[name]
    torch.manual_seed(0)
    x = torch.randn(shape)
    with torch.no_grad():
        got = _compiled(fn)(x)
    torch.testing.assert_close(got, fn(x), rtol=2e-5, atol=2e-5)


def test_fused_rows_gradients_match_eager():
    torch.manual_seed(0)

    def fn(x, w):
        h = F.layer_norm(x, (x.shape[-1],), w)
        return (torch.softmax(h @ h.transpose(-1, -2), -1) @ h).pow(2).mean()

    x, w = torch.randn(3, 50, 24, requires_grad=True), torch.randn(24, requires_grad=True)
    got = torch.autograd.grad(_compiled(fn)(x, w), (x, w))
    want = torch.autograd.grad(fn(x, w), (x, w))
    for g, r in zip(got, want):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", [lambda x: torch.softmax(x * 2, -1), lambda x: F.log_softmax(x, -1),
                                lambda x: torch.softmax(x, 0), lambda x: F.cross_entropy(x, x.argmin(-1))],
                         ids=["softmax", "log_softmax", "softmax_dim0", "cross_entropy"])
def test_softmax_rows_with_nan_and_inf_match_eager(fn):
    # Note [shift-only max]: the shifting max ignores NaNs, and the rows holding a NaN or an
    # inf (or only -inf) come out NaN all the same, through exp and the row's sum.
    nan, inf = float("nan"), float("inf")
    torch.manual_seed(0)
    x = torch.randn(9, 37)
    x[1, 3] = nan
    x[2, 5] = inf
    x[3, :] = -inf
    x[4, 7] = -inf
    x[5, 0], x[5, 1] = nan, inf
    x[6, 9], x[6, 10] = -inf, inf
    x[7, 36] = nan
    with torch.no_grad():
        got = _compiled(fn)(x)
    want = fn(x)
    assert torch.isnan(want).any()
    torch.testing.assert_close(got, want, equal_nan=True, rtol=2e-5, atol=2e-5)


def test_long_row_sums_are_vectorized_partial_sums():
    # Row sums are reassociated into per-lane partial sums: on 100k elements of ~1e3 the
    # error against float64 is ~1.3e-6 relative, where one sequential float32 chain is off by
    # 4.2e-4 (measured). Eager's cascade summation is closer still (1.1e-7): long rows are
    # not yet summed blockwise.
    torch.manual_seed(0)
    x = torch.rand(8, 100_003) + 1e3
    with torch.no_grad():
        got = _compiled(lambda t: t.sum(-1))(x)
    exact = x.double().sum(-1)
    assert ((got.double() - exact).abs() / exact).max() < 1e-5


def _row_buffer_ir(fn, shape) -> str:
    """The IR of `fn` on `shape` down to tg-cpu-row-buffers."""
    import dynamlir
    from dynamlir.dialects import make_context
    from dynamlir.lowering.cpu import CPU_LOWER_LINALG
    from dynamlir.lowering.pipeline import build_pass_manager
    from torch_mlir import ir

    class M(torch.nn.Module):
        def forward(self, x):
            return fn(x)

    text = dynamlir.export_mlir(M(), torch.randn(shape))
    steps = CPU_LOWER_LINALG.split(",")
    upto = ",".join(steps[: steps.index("tg-cpu-row-buffers") + 1])
    with make_context():
        module = ir.Module.parse(text)
        build_pass_manager(f"tg-decompose{{targets=cpu}},tg-simplify,canonicalize,cse,tg-lower-to-linalg,{upto}").run(
            module.operation)
        return str(module)


@pytest.mark.parametrize("width, private", [(65, True), (9000, False)])
def test_softmax_temporaries_become_row_buffers_up_to_a_size(width, private):
    # Note [row-local buffers]: softmax's exponentials and row statistics live in one nest
    # over rows, so each becomes a slice of one row on the stack; a row of exponentials
    # over MAX_ROW_BYTES (9000 floats, 36 KB) keeps its whole-tensor buffer. Both match
    # eager. (layer_norm's centred row, read only by elementwise ops, is recomputed in each
    # instead: Note [recomputed elementwise producers].)
    fn = lambda x: torch.softmax(x, dim=-1) * 1.5 + 0.25  # noqa: E731
    shape = (3, 7, width)
    text = _row_buffer_ir(fn, shape)
    assert "dynamlir.row_buffer" in text  # the row statistics, one float each, in both
    assert (f"memref<{width}xf32>" in text) == private  # the row of exponentials
    # the output, and unless private the exponentials; the statistics' buffers are gone
    assert text.count("memref.alloc()") == (1 if private else 2)
    torch.manual_seed(0)
    x = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(_compiled(fn)(x), fn(x), rtol=2e-5, atol=2e-5)


def test_row_buffers_in_training_nests_match_eager_gradients():
    # The backward's layer_norm and softmax nests get row buffers too (tg-cpu-row-buffers
    # runs on both modules of a training graph): gradients against eager.
    torch.manual_seed(0)
    ln = torch.nn.LayerNorm(48)
    x = torch.randn(4, 9, 48, requires_grad=True)

    def f(ln, x):
        return (torch.softmax(ln(x) * 2.0, dim=-1) * x).sum()

    torch._dynamo.reset()
    compiled = torch.compile(f, backend="dynamlir")
    got = torch.autograd.grad(compiled(ln, x), [x, ln.weight, ln.bias])
    want = torch.autograd.grad(f(ln, x), [x, ln.weight, ln.bias])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_concatenated_head_transposes_match_eager():
    # Note [results into their slices]: heads transposed back and concatenated (forward),
    # and the gradient of a q/k/v split (backward), each transpose writing into its slice.
    torch.manual_seed(0)
    q, k = torch.randn(2, 4, 8, 16, requires_grad=True), torch.randn(2, 4, 8, 16, requires_grad=True)
    w = torch.randn(2, 8, 128)

    def f(q, k):
        heads = [z.transpose(1, 2).reshape(2, 8, 64) for z in (q, k)]
        both = torch.cat(heads, dim=-1) * w
        a, b = both.split(64, dim=-1)
        return both, (a.reshape(2, 8, 4, 16).transpose(1, 2) * b.reshape(2, 8, 4, 16).transpose(1, 2)).sum()

    torch._dynamo.reset()
    got = torch.compile(f, backend="dynamlir")(q, k)
    want = f(q, k)
    torch.testing.assert_close(got[0], want[0])
    grads = [torch.autograd.grad(r[1], [q, k]) for r in (got, want)]
    for g, e in zip(*grads):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("width", [100, 1000])
def test_column_sums_run_in_column_blocks(fresh_cache, monkeypatch, width):
    # Note [reductions over leading dims]: the gradients of a Linear's bias and a
    # LayerNorm's weight and bias are sums over the leading dims; each becomes a parallel
    # nest over blocks of columns (of 32 at width 100, the last one partial; of 128 at 1000), against eager.
    from dynamlir.lowering import cpu_reductions

    rewritten = counting(monkeypatch, cpu_reductions, "rewrite_reductions")
    torch.manual_seed(0)
    lin, ln = torch.nn.Linear(48, width), torch.nn.LayerNorm(width)
    x = torch.randn(3, 50, 48, requires_grad=True)

    def f(x):
        return (torch.tanh(ln(lin(x))) * 1.5).sum()

    _assert_grads_match(f, [x, lin.weight, lin.bias, ln.weight, ln.bias], atol=1e-4)
    assert sum(rewritten) >= 3, rewritten  # the bias's and both LayerNorm parameters' sums


def test_transposes_between_swapped_linears_fold(fresh_cache, monkeypatch):
    # Note [elementwise ops between transposes]: Linears with weights much bigger than the
    # batch lower swapped, (w @ x^T)^T; the bias and relu between two of them run on the
    # transposed product, and the two transposes around them go (two per pair of layers).
    # Forward without grad, and a training step's gradients, against eager.
    from dynamlir.lowering import cpu_transpose_chains

    folded = counting(monkeypatch, cpu_transpose_chains, "rewrite_transpose_chains")
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(96, 512), torch.nn.ReLU(), torch.nn.Linear(512, 384),
                              torch.nn.ReLU(), torch.nn.Linear(384, 80))
    x = torch.randn(32, 96)
    compiled = torch.compile(mlp, backend="dynamlir")
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), mlp(x), rtol=1e-5, atol=1e-5)
    assert folded == [2], folded
    got = torch.autograd.grad(compiled(x).square().sum(), list(mlp.parameters()))
    want = torch.autograd.grad(mlp(x).square().sum(), list(mlp.parameters()))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def _ffn():
    """A GELU MLP's two Linears on a 3-D input that requires grad, and the parameters whose
    gradients the tests compare (the input first)."""
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(32, 96), torch.nn.Linear(96, 32)
    x = torch.randn(3, 40, 32, requires_grad=True)
    return fc1, fc2, [x, fc1.weight, fc1.bias, fc2.weight, fc2.bias]


def test_gelu_backward_recomputes_its_shared_values(fresh_cache, monkeypatch):
    # Note [recomputed elementwise producers]: the backward recomputes GELU(x) for fc2's
    # weight gradient and reads x/sqrt(2), erf(x/sqrt(2)) and x/2 again in GELU's own
    # gradient; each of those is copied into both consumers instead of stored. Gradients
    # against eager.
    from dynamlir.lowering import cpu_recompute

    copied = counting(monkeypatch, cpu_recompute, "duplicate_producers")
    fc1, fc2, params = _ffn()
    _assert_grads_match(lambda x: (x + fc2(F.gelu(fc1(x)))).pow(2).mean(), params)
    assert sum(copied) >= 3, copied


def test_reshaped_saved_activations_are_written_in_place(fresh_cache, monkeypatch):
    # Note [reshaped results into their buffers]: a training forward saves Linear outputs
    # on 3-D inputs (2-D products expanded back) and a GELU collapsed for the next product;
    # each is materialized in a view of its output buffer, so the forward copies none.
    # Gradients against eager.
    from dynamlir.lowering import cpu_slices

    moved = counting(monkeypatch, cpu_slices, "rewrite_reshaped_results")
    fc1, fc2, params = _ffn()

    def f(x):
        h = fc1(x)
        return (fc2(F.gelu(h)) * h[..., :32]).pow(2).mean()

    _assert_grads_match(f, params)
    assert moved and moved[0] >= 1, moved


def test_attention_products_read_heads_in_place(fresh_cache, monkeypatch):
    # Note [products with several batch dims]: q k^T and p v read the heads of a fused q/k/v
    # projection without transposing them, p v writes the heads merged; forward without
    # grad and gradients (whose products may fold too) against eager.
    from dynamlir.lowering import cpu_batch_products

    folded = counting(monkeypatch, cpu_batch_products, "rewrite_batch_products")
    torch.manual_seed(0)
    qkv = torch.nn.Linear(48, 3 * 48)
    x = torch.randn(3, 20, 48, requires_grad=True)

    def f(x):
        b, t, c = x.shape
        q, k, v = (z.view(b, t, 4, 12).transpose(1, 2) for z in qkv(x).split(c, dim=2))
        att = torch.softmax((q @ k.transpose(-2, -1)) * 12 ** -0.5, dim=-1)
        return (att @ v).transpose(1, 2).reshape(b, t, c)

    with torch.no_grad():
        torch.testing.assert_close(torch.compile(f, backend="dynamlir")(x), f(x), rtol=1e-5, atol=1e-5)
    assert folded[0] == 2, folded  # both products of the forward
    _assert_grads_match(lambda x: f(x).pow(2).mean(), [x, qkv.weight, qkv.bias])


@pytest.mark.parametrize("grad", [False, True])
def test_causal_attention_products_skip_masked_terms(fresh_cache, monkeypatch, grad):
    # Note [triangular zeros]: causal attention's P (and in the backward dS) is zero above
    # the diagonal; the products reading them are marked and their kernels skip those
    # terms. scaled_dot_product_attention(is_causal=True) and the GPT-2 block's tril mask,
    # forward and gradients, against eager; a mask that depends on an input marks nothing.
    from dynamlir.demo import Block
    from dynamlir.lowering import triangular_zeros

    from dynamlir.lowering import cpu_matmul

    marked = counting(monkeypatch, triangular_zeros, "mark_products")
    kernels = []  # the marks each compiled product's kernel read
    real_marks = cpu_matmul.zero_marks
    monkeypatch.setattr(cpu_matmul, "zero_marks", lambda op: kernels.append(real_marks(op)) or kernels[-1])
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 37, 16, requires_grad=grad) for _ in range(3))

    def sdpa(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    got = _compiled(sdpa)(q, k, v)
    torch.testing.assert_close(got, sdpa(q, k, v), rtol=1e-5, atol=1e-5)
    if grad:
        dq, dk, dv = torch.autograd.grad(got.sum(), (q, k, v))
        want = torch.autograd.grad(sdpa(q, k, v).sum(), (q, k, v))
        for g, w in zip((dq, dk, dv), want):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)
    # Q K^T (its masked scores unread) and P @ V; in training also dO V^T (unread where P
    # is zero), P^T dO, dS K and Q^T dS (marked in the joint graph), each reaching its kernel.
    assert max(marked) >= (6 if grad else 2), marked
    assert sum(bool(m) for m in kernels) == (6 if grad else 2), kernels

    marked.clear()
    block = Block(d=32, heads=2)
    x = torch.randn(2, 24, 32)
    if grad:
        _assert_grads_match(lambda x: block(x).pow(2).sum(), [x.requires_grad_(), *block.parameters()],
                            atol=1e-4)
    else:
        with torch.no_grad():
            torch.testing.assert_close(_compiled(block)(x), block(x), rtol=1e-5, atol=1e-5)
    assert max(marked) >= (6 if grad else 2), marked

    marked.clear()
    mask = torch.rand(37, 37) > 0.5
    mask[:, 0] = True  # every query keeps a key

    def masked(q, k, v, mask):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    out = _compiled(masked)(q.detach(), k.detach(), v.detach(), mask)
    torch.testing.assert_close(out, masked(q.detach(), k.detach(), v.detach(), mask), rtol=1e-5, atol=1e-5)
    assert sum(marked) == 0, marked


@pytest.mark.parametrize("grad", [False, True])
def test_causal_block_under_dynamic_shapes_marks_products(fresh_cache, monkeypatch, grad):
    # The same marks with a dynamic batch and sequence length: the tril mask is evaluated
    # at two sample sizes (Note [triangular zeros]). One compile serves every length.
    from dynamlir.demo import Block
    from dynamlir.lowering import triangular_zeros

    marked = counting(monkeypatch, triangular_zeros, "mark_products")
    torch.manual_seed(0)
    block = Block(d=32, heads=2)
    compiled = torch.compile(block, backend="dynamlir", dynamic=True)
    for b, t in ((2, 24), (3, 17), (2, 40)):
        x = torch.randn(b, t, 32, requires_grad=grad)
        if grad:
            got = torch.autograd.grad(compiled(x).pow(2).sum(), [x, *block.parameters()])
            want = torch.autograd.grad(block(x).pow(2).sum(), [x, *block.parameters()])
            for g, w in zip(got, want):
                torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
        else:
            with torch.no_grad():
                torch.testing.assert_close(compiled(x), block(x), rtol=1e-5, atol=1e-5)
    assert max(marked) >= (5 if grad else 2), marked


def test_a_mask_whose_boundary_depends_on_the_size_marks_nothing(fresh_cache, monkeypatch):
    # Causal for the first 20 queries, everything after: evaluated at one sample size the
    # mask has a region above the diagonal (offset 236 at 257), which a length of 320
    # contradicts; the two sample sizes disagree, so no product is marked.
    from dynamlir.lowering import triangular_zeros

    marked = counting(monkeypatch, triangular_zeros, "mark_products")

    def attend(q, k, v):
        n = q.shape[-2]
        keep = q.new_ones(n, n, dtype=torch.bool).tril()
        keep = torch.logical_or(keep, torch.arange(n)[:, None] >= 20)
        att = (q @ k.transpose(-2, -1)).masked_fill(keep.logical_not(), float("-inf"))
        return att.softmax(-1) @ v

    compiled = torch.compile(attend, backend="dynamlir", dynamic=True)
    for t in (8, 320):  # longer than a sample size: a region found at one would be wrong
        q, k, v = (torch.randn(2, 2, t, 16) for _ in range(3))
        torch.testing.assert_close(compiled(q, k, v), attend(q, k, v), rtol=1e-5, atol=1e-5)
    assert sum(marked) == 0, marked


def _causal_softmax(x):
    n = x.shape[-1]
    return x.masked_fill(x.new_ones(n, n, dtype=torch.bool).tril().logical_not(), float("-inf")).softmax(-1)


POSITION_MASKS = {
    # name: (function, input shape, comparisons narrowed to i32)
    "tril": (lambda x: x.tril(-2) + x.tril(3), (3, 9, 9), 2),
    "triu": (lambda x: x.triu(1) * 2, (9, 7), 1),
    "arange": (lambda x: torch.where(torch.arange(9)[:, None] >= torch.arange(9) + 2, x, -x), (9, 9), 1),
    "causal_softmax": (_causal_softmax, (2, 3, 17, 17), 1),
    # the positions are also added to x: they stay i64, and so does their comparison
    "position_values": (lambda x: _positions_as_values(x, torch.arange(x.shape[-1])), (2, 9), 0),
}


def _positions_as_values(x, p):
    return torch.where(p > 4, x + p, x)


@pytest.mark.parametrize("name", sorted(POSITION_MASKS))
def test_position_masks_compare_in_i32(fresh_cache, monkeypatch, name):
    # Note [narrow index math]: position arithmetic that only feeds comparisons runs in
    # i32; values match eager, forward and (for the softmax) gradients.
    from dynamlir.lowering import narrow_index_math

    fn, shape, expected = POSITION_MASKS[name]
    narrowed = counting(monkeypatch, narrow_index_math, "narrow_module")
    torch.manual_seed(0)
    x = torch.randn(*shape)
    with torch.no_grad():
        torch.testing.assert_close(_compiled(fn)(x), fn(x), rtol=1e-5, atol=1e-6)
    assert sum(narrowed) == expected, narrowed
    if name == "causal_softmax":
        _assert_grads_match(lambda x: fn(x).pow(2).sum(), [x.requires_grad_()])
