"""Benchmark: dynamlir's matmul kernels against eager (MKL) on the products a GPT-2 block's
training step runs, one compiled function per product.

    python -m dynamlir.bench.matmul                  # the block's 12 linear-layer products
    python -m dynamlir.bench.matmul --threads 1      # the micro-kernel alone, no threading
    python -m dynamlir.bench.matmul --shape 1024x1024x1024 --form nn

The training step is matmul-bound (bench/run.py's block train row): this table says which
product forms (nn: a @ b, nt: a @ b.T as in a Linear's forward, tn: a.T @ b as in its
weight gradient) and shapes fall behind eager, and by how much. Two comparisons per product:
"call" is a whole call (torch.compile'd function against `a @ b`: guards, output allocation,
Python), "kernel" the compiled code alone on fixed buffers (CpuFunction.bound against
torch.mm(..., out=)). Times are medians of alternating rounds (bench/run.py's
interleaved_medians), so a slow phase of a shared machine hits both alike. A benchmark,
not a test: it asserts only that the results match.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import torch

from ..runtime.cpu import CpuFunction, OutputSpec
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


def product_module(form: str, a: torch.Tensor, b: torch.Tensor) -> str:
    """The tg module of the product as the importer writes it (a transposed operand is a
    tg.permute feeding tg.matmul), taking (a, b) in this order; Dynamo would order the
    arguments by first use."""
    t = lambda shape: f"tensor<{'x'.join(map(str, shape))}xf32>"  # noqa: E731
    lhs, rhs, body = "%a", "%b", ""
    if form == "tn":
        body, lhs = f'    %at = "tg.permute"(%a) {{perm = [1, 0]}} : ({t(a.shape)}) -> {t(a.t().shape)}\n', "%at"
    if form == "nt":
        body, rhs = f'    %bt = "tg.permute"(%b) {{perm = [1, 0]}} : ({t(b.shape)}) -> {t(b.t().shape)}\n', "%bt"
    x, y = (a.t() if form == "tn" else a), (b.t() if form == "nt" else b)
    out = t((x.shape[0], y.shape[1]))
    return (f"module {{\n  func.func @main(%a: {t(a.shape)}, %b: {t(b.shape)}) -> {out} {{\n{body}"
            f'    %0 = "tg.matmul"({lhs}, {rhs}) : ({t(x.shape)}, {t(y.shape)}) -> {out}\n'
            f"    return %0 : {out}\n  }}\n}}\n")


def bound_kernel(form: str, a: torch.Tensor, b: torch.Tensor):
    """(run, eager_run): the product's compiled code on fixed buffers, and eager's torch.mm
    into a fixed output; neither has per-call Python beyond the call itself."""
    want = FORMS[form](a, b)
    function = CpuFunction(product_module(form, a, b), [OutputSpec(want.dtype, tuple(want.shape))])
    run, (out,) = function.bound(a, b)
    run()
    torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-3)
    lhs, rhs = (a.t(), b) if form == "tn" else (a, b.t()) if form == "nt" else (a, b)
    eager_out = torch.empty_like(want)
    return run, lambda: torch.mm(lhs, rhs, out=eager_out)


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
        steps[(label, "dynamlir kernel")], steps[(label, "eager kernel")] = bound_kernel(form, a, b)
        flops[label] = 2.0 * m * k * n
    med = interleaved_medians(steps, args.repeat, rounds=10)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeat}; "
          "GFLOP/s of eager / dynamlir\n")
    print(f"{'product':20s} {'MxKxN':>15s} {'form':>4s} | {'call: eager us':>14s} {'dynamlir us':>11s} "
          f"{'GFLOP/s':>9s} {'ratio':>6s} | {'kernel: eager us':>16s} {'dynamlir us':>11s} "
          f"{'GFLOP/s':>9s} {'ratio':>6s}")
    total: dict[str, float] = {}
    for label, m, k, n, form in cases:
        row = f"{label:20s} {f'{m}x{k}x{n}':>15s} {form:>4s}"
        for kind in ("", " kernel"):
            e, d = med[(label, "eager" + kind)], med[(label, "dynamlir" + kind)]
            total["eager" + kind] = total.get("eager" + kind, 0.0) + e
            total["dynamlir" + kind] = total.get("dynamlir" + kind, 0.0) + d
            rate = f"{flops[label] / e / 1e9:.0f}/{flops[label] / d / 1e9:.0f}"
            width = 14 if not kind else 16
            row += f" | {e * 1e6:{width}.1f} {d * 1e6:11.1f} {rate:>9s} {e / d:5.2f}x"
        print(row)
    if len(cases) > 1:
        row = f"{'total':20s} {'':>15s} {'':>4s}"
        for kind in ("", " kernel"):
            e, d = total["eager" + kind], total["dynamlir" + kind]
            width = 14 if not kind else 16
            row += f" | {e * 1e6:{width}.1f} {d * 1e6:11.1f} {'':>9s} {e / d:5.2f}x"
        print(row)


if __name__ == "__main__":
    main()
