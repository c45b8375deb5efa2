"""Shape-generic compiles (Note [runtime sizes], dialects/ops_shape.py): a graph whose
reshapes have several dynamic dims or whose fills have a dynamic shape compiles once and
serves every input shape, forward and backward, with each size computed at run time."""

from __future__ import annotations

import copy
import warnings

import torch

from dynamlir.demo import Block
from dynamlir.dialects.types import DYN
from dynamlir.runtime import debug
from dynamlir.runtime.cpu import CpuFunction, OutputSpec

SHAPES = [(2, 16, 32), (3, 12, 32), (1, 20, 32), (4, 7, 32)]


def _no_warnings():
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("error")  # no fallback of ours, no Dynamo graph break
    return context


def test_block_under_dynamic_true_compiles_once_for_every_shape(fresh_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("DYNAMLIR_DUMP_IR", str(tmp_path / "ir"))
    torch.manual_seed(0)
    model = Block(d=32, heads=4).eval()
    compiled = torch.compile(model, backend="dynamlir", dynamic=True)
    context = _no_warnings()
    try:
        for shape in SHAPES:
            x = torch.randn(*shape)
            with torch.no_grad():
                torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-5)
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["shape_specializations"] == 0
    assert debug.COUNTERS["calls"] == len(SHAPES)  # one plan's compiled code ran every time
    assert debug.COUNTERS["fallbacks"] == 0
    text = "".join(p.read_text() for p in (tmp_path / "ir").glob("*.0-tg.mlir"))
    # The head split: (B, T, C) -> (B, T, h, C/h) with B and T symbolic; the causal mask:
    # new_ones(T, T). (Batch 1 is a graph of its own: Dynamo specializes sizes 0 and 1.)
    assert '"tg.dynamic_reshape"' in text and "-> tensor<?x?x4x8xf32>" in text
    assert '"tg.dynamic_broadcast_to"' in text and "-> tensor<?x?xi1>" in text


def test_block_training_after_automatic_dynamic_recompile(fresh_cache):
    """The default mode: the second shape makes Dynamo recompile with symbolic sizes, and
    that one compile serves the later shapes; gradients as eager's."""
    torch.manual_seed(0)
    model = Block(d=32, heads=4)
    reference = copy.deepcopy(model)
    compiled = torch.compile(model, backend="dynamlir")
    context = _no_warnings()
    try:
        for shape in SHAPES:
            x = torch.randn(*shape, requires_grad=True)
            x_ref = x.detach().clone().requires_grad_()
            compiled(x).pow(2).mean().backward()
            reference(x_ref).pow(2).mean().backward()
            torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-6)
            for (name, got), (_, want) in zip(model.named_parameters(),
                                              reference.named_parameters()):
                torch.testing.assert_close(got.grad, want.grad, rtol=1e-4, atol=1e-5,
                                           msg=lambda m, n=name: f"{shape} {n}: {m}")
                got.grad = want.grad = None
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["shape_specializations"] == 0
    assert debug.COUNTERS["calls"] == 2 * len(SHAPES)  # forward and backward, all compiled
    assert debug.COUNTERS["fallbacks"] == 0


def test_backward_reshape_takes_batch_and_time_from_saved_sizes(fresh_cache):
    # The gradient of x.reshape(b * t, c) is reshaped back to (b, t, c): (2, 64) and
    # (4, 32) give the backward inputs of one shape, and only the saved sizes differ.
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 8)

    def f(x):
        b, t, c = x.shape
        return lin(x.reshape(b * t, c)).relu().view(b, t, 8)

    compiled = torch.compile(f, backend="dynamlir", dynamic=True)
    for b, t in ((2, 64), (4, 32), (8, 16), (3, 5)):
        x = torch.randn(b, t, 16, requires_grad=True)
        compiled(x).sum().backward()
        got, x.grad = x.grad, None
        f(x).sum().backward()
        assert got.shape == (b, t, 16)
        torch.testing.assert_close(got, x.grad)
    assert debug.COUNTERS["shape_specializations"] == 0


def test_output_sizes_read_from_size_inputs_are_part_of_a_calls_signature():
    # Two calls with inputs of the same shapes but other size values: the second must not
    # reuse the first's prepared output sizes.
    text = """module {
  func.func @main(%g: tensor<?x8xf32>, %b: tensor<i64>, %t: tensor<i64>) -> tensor<?x?x8xf32> {
    %0 = "tg.dynamic_reshape"(%g, %b, %t) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x8xf32>, tensor<i64>, tensor<i64>) -> tensor<?x?x8xf32>
    return %0 : tensor<?x?x8xf32>
  }
}
"""
    f = CpuFunction(text, [OutputSpec(torch.float32, (DYN, DYN, 8),
                                      lambda ins: (int(ins[1]), int(ins[2]), 8))])
    g = torch.randn(128, 8)
    for b, t in ((2, 64), (4, 32), (2, 64)):
        (out,) = f(g, torch.tensor(b), torch.tensor(t))
        torch.testing.assert_close(out, g.view(b, t, 8))


def test_last_token_of_a_dynamic_sequence(fresh_cache):
    # x[:, -1] on a dynamic dim: the index is the dim's run-time size minus one; its
    # gradient (index_select's) goes back to a shape with two dynamic dims.
    torch.manual_seed(0)
    block, head = Block(d=32, heads=4), torch.nn.Linear(32, 10)

    def f(x):
        return head(block(x)[:, -1])

    compiled = torch.compile(f, backend="dynamlir", dynamic=True)
    context = _no_warnings()
    try:
        for b, t in ((2, 16), (3, 9), (4, 33)):
            x = torch.randn(b, t, 32, requires_grad=True)
            compiled(x).sum().backward()
            got, x.grad = x.grad, None
            want = f(x)
            want.sum().backward()
            torch.testing.assert_close(compiled(x), want, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(got, x.grad, rtol=1e-4, atol=1e-6)
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["fallbacks"] == 0 and debug.COUNTERS["shape_specializations"] == 0


def test_slices_counted_from_the_end_of_a_dynamic_dim(fresh_cache):
    # A language model's shifted loss, logits[:, :-1] against targets[:, 1:], and the last
    # two positions x[:, -2:]: positions taken at run time; their gradient (index_select's)
    # reshapes with two dynamic dims.
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 10)

    def f(x, y):
        logits = lin(x)
        shifted = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 10), y[:, 1:].reshape(-1))
        return shifted + x[:, -2:].pow(2).sum()

    compiled = torch.compile(f, backend="dynamlir", dynamic=True)
    context = _no_warnings()
    try:
        for b, t in ((2, 9), (3, 17)):
            x = torch.randn(b, t, 16, requires_grad=True)
            y = torch.randint(0, 10, (b, t))
            loss = compiled(x, y)
            (got,) = torch.autograd.grad(loss, [x])
            want = f(x, y)
            torch.testing.assert_close(loss, want)
            torch.testing.assert_close(got, torch.autograd.grad(want, [x])[0])
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["fallbacks"] == 0 and debug.COUNTERS["shape_specializations"] == 0


def _output_and_input_grad_match(f, shapes) -> None:
    """f's output and the gradient of its squares' sum with respect to its input, through
    one dynamic compile, against eager's at each shape; no warning, fallback or per-shape
    compile."""
    compiled = torch.compile(f, backend="dynamlir", dynamic=True)
    context = _no_warnings()
    try:
        for shape in shapes:
            x = torch.randn(*shape, requires_grad=True)
            got = compiled(x)
            (dx,) = torch.autograd.grad(got.pow(2).sum(), [x])
            want = f(x)
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(dx, torch.autograd.grad(want.pow(2).sum(), [x])[0],
                                       rtol=1e-4, atol=1e-5)
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["fallbacks"] == 0 and debug.COUNTERS["shape_specializations"] == 0


def test_torch_encoder_layer_and_attention_compile_once(fresh_cache):
    # torch.nn's own layers select along a static dim of a tensor with two dynamic dims
    # (the packed q, k, v): the result's reshape takes its sizes at run time.
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    attention = torch.nn.MultiheadAttention(32, 4, batch_first=True)

    def f(x):
        t = x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        y = layer(x)
        return attention(y, y, y, attn_mask=mask, need_weights=False)[0]

    _output_and_input_grad_match(f, [(3, 9, 32), (5, 17, 32), (4, 12, 32)])


def test_unit_dims_inserted_into_two_dynamic_dims(fresh_cache):
    # torch.stack (a unit dim inserted into (B, T, C)), a float causal mask of ones, a
    # flatten and its view back, F.pad along T: each reshape keeps x's own sizes, and the
    # pad's cat, whose first input has a dynamic size, gives its gradients at run-time
    # offsets.
    torch.manual_seed(0)
    lin = torch.nn.Linear(16, 16)

    def f(x):
        b, t, c = x.shape
        mask = torch.tril(torch.ones(t, t))
        y = (mask @ lin(x)) / mask.sum(-1, keepdim=True)
        z = y.reshape(b, -1).softmax(-1).view(b, t, c)
        return torch.stack([z, y], 0).sum(0) + torch.nn.functional.pad(x, (0, 0, 1, 0))[:, :-1]

    _output_and_input_grad_match(f, [(3, 9, 16), (5, 17, 16)])


def _rotary(x):
    """Rotary position embedding over the last dim of (B, h, T, d)."""
    t, d = x.shape[-2], x.shape[-1]
    angles = torch.arange(t).float()[:, None] / (10000 ** (torch.arange(0, d, 2).float() / d))
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class LlamaStyleBlock(torch.nn.Module):
    """RMS norms, rotary q and k, causal scaled_dot_product_attention, a SwiGLU MLP."""

    def __init__(self, d: int = 32, heads: int = 4):
        super().__init__()
        self.n1, self.n2 = torch.nn.RMSNorm(d), torch.nn.RMSNorm(d)
        self.qkv, self.out = torch.nn.Linear(d, 3 * d, bias=False), torch.nn.Linear(d, d, bias=False)
        self.up, self.down = torch.nn.Linear(d, 4 * d, bias=False), torch.nn.Linear(2 * d, d, bias=False)
        self.heads = heads

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.n1(x)).split(c, -1)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = torch.nn.functional.scaled_dot_product_attention(_rotary(q), _rotary(k), v, is_causal=True)
        x = x + self.out(y.transpose(1, 2).reshape(b, t, c))
        a, gate = self.up(self.n2(x)).chunk(2, -1)
        return x + self.down(torch.nn.functional.silu(gate) * a)


def _train_matches_eager(model, batches) -> None:
    """Each batch's loss (model(*inputs), a scalar) and parameter gradients through one
    dynamic compile of `model` against eager's, with no warning; one graph, no fallback
    and no per-shape compile."""
    reference = copy.deepcopy(model)
    compiled = torch.compile(model, backend="dynamlir", dynamic=True)
    context = _no_warnings()
    try:
        for inputs in batches:
            loss, want = compiled(*inputs), reference(*inputs)
            loss.backward()
            want.backward()
            torch.testing.assert_close(loss, want, rtol=1e-5, atol=1e-5)
            for (name, got), (_, ref) in zip(model.named_parameters(), reference.named_parameters()):
                torch.testing.assert_close(got.grad, ref.grad, rtol=1e-4, atol=1e-6,
                                           msg=lambda m, n=name: f"{n}: {m}")
                got.grad = ref.grad = None
    finally:
        context.__exit__(None, None, None)
    assert debug.COUNTERS["graphs"] == 1 and debug.COUNTERS["calls"] == 2 * len(batches)
    assert debug.COUNTERS["fallbacks"] == 0 and debug.COUNTERS["shape_specializations"] == 0


class _MeanSquare(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x).pow(2).mean()


def test_llama_style_block_training_compiles_once(fresh_cache):
    torch.manual_seed(0)
    _train_matches_eager(_MeanSquare(LlamaStyleBlock()),
                         [(torch.randn(b, t, 32),) for b, t in ((3, 9), (5, 17), (4, 12))])


class TinyGPT(torch.nn.Module):
    """Token and learned position embeddings, two blocks, an LM head, cross entropy."""

    def __init__(self, vocab: int = 100, d: int = 64, layers: int = 2, max_len: int = 128):
        super().__init__()
        self.tok, self.pos = torch.nn.Embedding(vocab, d), torch.nn.Embedding(max_len, d)
        self.blocks = torch.nn.ModuleList([Block(d=d, heads=4) for _ in range(layers)])
        self.ln, self.head = torch.nn.LayerNorm(d), torch.nn.Linear(d, vocab, bias=False)

    def forward(self, idx, targets):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln(x))
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def test_language_model_training_compiles_once_for_every_batch_and_length(fresh_cache):
    torch.manual_seed(0)
    _train_matches_eager(TinyGPT(), [(torch.randint(0, 100, (b, t)), torch.randint(0, 100, (b, t)))
                                     for b, t in ((2, 16), (3, 40), (2, 64))])
