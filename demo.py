"""The demo: compile an MLP and a GPT-style transformer block with dynamlir, print the
max error against eager and the speedup.  Run: `python -m dynamlir.demo`."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    """A pre-norm GPT-2 style block: causal self-attention and a GELU MLP."""

    def __init__(self, d: int = 256, heads: int = 4):
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
        causal = x.new_ones(t, t, dtype=torch.bool).tril()  # on the input's device
        att = att.masked_fill(causal.logical_not(), float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


def median_seconds(fn, *args, repeat: int = 20) -> float:
    for _ in range(3):
        fn(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def run(name: str, model: torch.nn.Module, x: torch.Tensor) -> None:
    model.eval()
    compiled = torch.compile(model, backend="dynamlir")
    with torch.no_grad():
        start = time.perf_counter()
        out = compiled(x)
        compile_s = time.perf_counter() - start
        err = (out - model(x)).abs().max().item()
        eager = median_seconds(model, x)
        ours = median_seconds(compiled, x)
    print(f"{name:<18} out {tuple(out.shape)}  max|err| {err:.2e}  compile {compile_s:5.2f}s  "
          f"eager {eager * 1e3:7.3f} ms  dynamlir {ours * 1e3:7.3f} ms  speedup {eager / ours:5.2f}x")


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)
    mlp = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 256))
    run("MLP 512-1024-256", mlp, torch.randn(64, 512))
    run("transformer block", Block(), torch.randn(2, 64, 256))


if __name__ == "__main__":
    main()
