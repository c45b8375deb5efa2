"""Models shared by the GPU backend tests: an MLP and the demo's GPT-style block (its causal
mask is made on the input's device, so it runs on CUDA in eager mode too), and fake CUDA
copies of them for compiling without a device."""

from __future__ import annotations

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from dynamlir.demo import Block as DemoBlock


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 16))


def Block(d: int = 32, heads: int = 2) -> torch.nn.Module:  # noqa: N802 - a model factory
    """The demo's GPT-2 style block (its causal mask is made on the input's device), small."""
    return DemoBlock(d, heads)


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
