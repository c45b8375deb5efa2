"""Real models through torch.compile(backend="dynamlir"): Hugging Face GPT-2 and BERT (small
random-init configs, no downloads) and a ResNet-style CNN, for inference and one training
step. Each must compile with no eager fallback and match eager logits and gradients.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dynamlir.frontend import backend

RTOL, ATOL = 1e-4, 1e-5


class Counting:
    """The dynamlir backend, counting the graphs Dynamo hands it."""

    def __init__(self):
        self.graphs = 0

    def __call__(self, gm, example_inputs):
        self.graphs += 1
        return backend.dynamlir_backend(gm, example_inputs)


def compiled(model):
    counter = Counting()
    torch._dynamo.reset()
    return torch.compile(model, backend=counter), counter


class NoFallback:
    """Fails the test when dynamlir runs any graph eagerly."""

    def __enter__(self):
        backend._warned.clear()
        self._ctx = warnings.catch_warnings(record=True)
        self.caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        fallbacks = [str(w.message) for w in self.caught if "dynamlir" in str(w.message)]
        assert not fallbacks, f"eager fallbacks: {fallbacks}"


def assert_grads_match(model, reference):
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        assert (p.grad is None) == (q.grad is None), f"gradient presence differs for {name}"
        if p.grad is not None:
            torch.testing.assert_close(
                p.grad, q.grad, rtol=RTOL, atol=ATOL, msg=lambda m: f"{name}: {m}"
            )


def train_step_matches(model, loss_fn, *inputs):
    """One SGD step compiled and eager from the same weights: equal loss, grads, weights."""
    reference = copy.deepcopy(model)
    fast, counter = compiled(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    with NoFallback():
        loss = loss_fn(fast, *inputs)
        loss.backward()
    ref_loss = loss_fn(reference, *inputs)
    ref_loss.backward()
    assert counter.graphs >= 1
    torch.testing.assert_close(loss, ref_loss, rtol=RTOL, atol=ATOL)
    assert_grads_match(model, reference)
    opt.step()
    ref_opt.step()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=RTOL, atol=ATOL)


def inference_matches(model, fn, *inputs):
    fast, counter = compiled(model)
    with torch.no_grad(), NoFallback():
        got = fn(fast, *inputs)
    with torch.no_grad():
        expected = fn(model, *inputs)
    assert counter.graphs >= 1
    torch.testing.assert_close(got, expected, rtol=RTOL, atol=ATOL)


# --- Hugging Face transformers ------------------------------------------------------


def gpt2():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        n_layer=2,
        n_embd=128,
        n_head=4,
        vocab_size=512,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
        attn_pdrop=0.0,
        embd_pdrop=0.0,
        resid_pdrop=0.0,
    )
    return transformers.GPT2LMHeadModel(cfg)


def bert():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        num_hidden_layers=2,
        hidden_size=128,
        num_attention_heads=4,
        intermediate_size=512,
        vocab_size=512,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return transformers.BertModel(cfg)


def token_ids(batch=2, length=16, seed=1):
    return torch.randint(0, 512, (batch, length), generator=torch.Generator().manual_seed(seed))


@pytest.mark.slow
def test_gpt2_inference_matches_eager():
    inference_matches(gpt2().eval(), lambda m, ids: m(ids).logits, token_ids())


@pytest.mark.slow
def test_gpt2_training_step_matches_eager():
    ids = token_ids()
    train_step_matches(gpt2().train(), lambda m, ids: m(ids, labels=ids).loss, ids)


@pytest.mark.slow
def test_bert_inference_matches_eager():
    mask = torch.ones(2, 16, dtype=torch.long)
    mask[1, 12:] = 0  # padding in the second sequence
    inference_matches(
        bert().eval(),
        lambda m, ids, mask: m(ids, attention_mask=mask).last_hidden_state,
        token_ids(),
        mask,
    )


@pytest.mark.slow
def test_bert_training_step_matches_eager():
    def loss(m, ids):
        out = m(ids)
        return out.last_hidden_state.pow(2).mean() + out.pooler_output.sum()

    train_step_matches(bert().train(), loss, token_ids())


# --- a ResNet-style CNN -------------------------------------------------------------


class Block(nn.Module):
    def __init__(self, cin, cout, stride, stats=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, track_running_stats=stats)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, track_running_stats=stats)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                nn.BatchNorm2d(cout, track_running_stats=stats),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class ResNet(nn.Module):
    def __init__(self, classes=10, stats=True):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, 1, 1, bias=False),
            nn.BatchNorm2d(8, track_running_stats=stats),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )
        self.layers = nn.Sequential(Block(8, 8, 1, stats), Block(8, 16, 2, stats))
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def images(seed=2):
    return torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


def _resnet(stats=True):
    torch.manual_seed(0)
    model = ResNet(stats=stats)
    for m in model.modules():  # non-trivial running statistics for eval mode
        if isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def test_resnet_inference_matches_eager():
    inference_matches(_resnet().eval(), lambda m, x: m(x), images())


def test_resnet_training_step_matches_eager():
    # batch statistics without running-stat buffers: the graph mutates nothing
    labels = torch.tensor([1, 0, 3, 9])
    train_step_matches(
        _resnet(stats=False).train(), lambda m, x: F.cross_entropy(m(x), labels), images()
    )


def test_resnet_training_step_with_running_stats_compiles():
    labels = torch.tensor([1, 0, 3, 9])
    train_step_matches(_resnet().train(), lambda m, x: F.cross_entropy(m(x), labels), images())


@pytest.mark.slow
@pytest.mark.parametrize("make", [gpt2, bert], ids=["gpt2", "bert"])
def test_changing_sequence_length_compiles_a_dynamic_graph(make):
    # the second length recompiles with a symbolic sequence dim (arange, slices of the
    # position buffers and causal attention all import dynamically); later lengths reuse it
    model = make().eval()
    fast, counter = compiled(model)
    with torch.no_grad(), NoFallback():
        for length in (16, 12, 9, 5):
            ids = token_ids(2, length)
            torch.testing.assert_close(fast(ids)[0], model(ids)[0], rtol=RTOL, atol=ATOL)
    assert counter.graphs == 2


@pytest.mark.slow
def test_gpt2_training_with_changing_sequence_length():
    model = gpt2().train()
    reference = copy.deepcopy(model)
    fast, _ = compiled(model)
    for length in (16, 11):
        ids = token_ids(2, length)
        with NoFallback():
            fast(ids, labels=ids).loss.backward()
        reference(ids, labels=ids).loss.backward()
    assert_grads_match(model, reference)
