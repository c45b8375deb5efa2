"""Models shared by the GPU backend tests: an MLP and a GPT-style block whose causal mask is
made on the input's device (so it runs on CUDA in eager mode too), and fake CUDA copies of
them for compiling without a device."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensorMode


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 16))


class Block(torch.nn.Module):
    """A pre-norm GPT-2 style block: causal self-attention and a GELU MLP."""

    def __init__(self, d: int = 32, heads: int = 2):
        super().__init__()
        self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        self.fc1, self.fc2 = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)
        self.heads = heads

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        causal = x.new_ones(t, t, dtype=torch.bool).tril()
        att = att.masked_fill(causal.logical_not(), float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class Tupled(torch.nn.Module):
    """Returns a tuple, as the graphs Dynamo hands to a backend do."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *args):
        return (self.model(*args),)


def to_fake(model: torch.nn.Module, mode: FakeTensorMode, device: str = "cuda"):
    """Replace the parameters and buffers of `model` by fake tensors on `device` (torch's
    CPU build can make fake CUDA tensors, not real ones). Parameters do not require grad:
    fake CUDA tensors that do abort a CPU build of torch."""
    for mod in model.modules():
        for name, p in list(mod._parameters.items()):
            with mode:
                fake = torch.empty(p.shape, dtype=p.dtype, device=device)
            mod._parameters[name] = torch.nn.Parameter(fake, requires_grad=False)
        for name, b in list(mod._buffers.items()):
            with mode:
                mod._buffers[name] = torch.empty(b.shape, dtype=b.dtype, device=device)
    return model
