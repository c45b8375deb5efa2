"""Benchmark: dynamlir's matmul kernels against eager (MKL) on the products a GPT-2 block's
training step runs, one compiled function per product.

    python -m dynamlir.bench.matmul                  # the block's 12 linear-layer products
    python -m dynamlir.bench.matmul --threads 1      # the micro-kernel alone, no threading
    python -m dynamlir.bench.matmul --shape 1024x1024x1024 --form nn

The training step is matmul-bound (bench/run.py's block train row): this table says which
product forms (nn: a @ b, nt: a @ b.T as in a Linear's forward, tn: a.T @ b as in its
weight gradient) and shapes fall behind eager, and by how much. Times are medians of
alternating rounds (bench/run.py's interleaved_medians), so a slow phase of a shared machine
hits both backends alike. A benchmark, not a test: it asserts only that the results match.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import torch

from .run import interleaved_medians

FORMS = {
    "nn": lambda a, b: a @ b,
    "nt": lambda a, b: a @ b.t(),
    "tn": lambda a, b: a.t() @ b,
}


def operands(m: int, k: int, n: int, form: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs whose product in `form` is m x n over k, laid out as the step has them."""
    a = torch.randn(k, m) if form == "tn" else torch.randn(m, k)
    b = torch.randn(n, k) if form == "nt" else torch.randn(k, n)
    return a, b


def block_products(tokens: int = 512, d: int = 256) -> list[tuple[str, int, int, int, str]]:
    """(label, m, k, n, form) of the block's Linear products: forward, input gradient and
    weight gradient of qkv, proj, fc1 and fc2 (bench/run.py's block: batch 4 x seq 128)."""
    out = []
    for name, i, o in (("qkv", d, 3 * d), ("proj", d, d), ("fc1", d, 4 * d), ("fc2", 4 * d, d)):
        out += [
            (f"{name} forward", tokens, i, o, "nt"),
            (f"{name} input grad", tokens, o, i, "nn"),
            (f"{name} weight grad", o, tokens, i, "tn"),
        ]
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shape", default="", help="MxKxN: time this product only")
    parser.add_argument("--form", default="nn", choices=sorted(FORMS))
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ["DYNAMLIR_CACHE_DIR"] = tempfile.mkdtemp(prefix="dynamlir-bench-matmul-")
    if args.shape:
        m, k, n = (int(x) for x in args.shape.split("x"))
        cases = [(f"{args.form} product", m, k, n, args.form)]
    else:
        cases = block_products()
    steps, flops = {}, {}
    for label, m, k, n, form in cases:
        f = FORMS[form]
        a, b = operands(m, k, n, form)
        torch._dynamo.reset()
        compiled = torch.compile(f, backend="dynamlir")
        torch.testing.assert_close(compiled(a, b), f(a, b), rtol=1e-4, atol=1e-3)
        steps[(label, "dynamlir")] = lambda c=compiled, a=a, b=b: c(a, b)
        steps[(label, "eager")] = lambda f=f, a=a, b=b: f(a, b)
        flops[label] = 2.0 * m * k * n
    med = interleaved_medians(steps, args.repeat, rounds=10)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeat}\n")
    print(f"{'product':20s} {'MxKxN':>15s} {'form':>4s} {'eager us':>9s} {'GF/s':>5s} "
          f"{'dynamlir us':>11s} {'GF/s':>5s} {'vs eager':>8s}")
    total = {"eager": 0.0, "dynamlir": 0.0}
    for label, m, k, n, form in cases:
        e, d = med[(label, "eager")], med[(label, "dynamlir")]
        total["eager"] += e
        total["dynamlir"] += d
        print(f"{label:20s} {f'{m}x{k}x{n}':>15s} {form:>4s} {e * 1e6:9.1f} {flops[label] / e / 1e9:5.0f} "
              f"{d * 1e6:11.1f} {flops[label] / d / 1e9:5.0f} {e / d:7.2f}x")
    if len(cases) > 1:
        print(f"{'total':20s} {'':>15s} {'':>4s} {total['eager'] * 1e6:9.1f} {'':>5s} "
              f"{total['dynamlir'] * 1e6:11.1f} {'':>5s} {total['eager'] / total['dynamlir']:7.2f}x")


if __name__ == "__main__":
    main()
