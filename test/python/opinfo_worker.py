"""Runs OpInfo samples through torch.compile(backend="dynamlir") in a worker process.

test_opinfo.py starts this module as a subprocess and sends it op indices, one per line;
for each it answers one JSON line {"name", "forward", "grad", "why"}. A process per run
(not per op) keeps torch's import cost once; the parent kills and restarts it when an op
exceeds its time limit, so a hang costs one op, never the suite.

forward/grad values: "pass", "fallback" (dynamlir ran something eagerly), "wrong" (numbers
differ from eager), "error" (an exception escaped), "skip" (nothing to test).
"""

from __future__ import annotations

import json
import sys
import warnings

import torch
import torch.utils._pytree as pytree

RTOL, ATOL = 1e-4, 1e-5
SAMPLES = 2
# Ops whose outputs are random or uninitialized: eager and compiled differ by design.
NONDETERMINISTIC = (
    "rand",
    "normal",
    "bernoulli",
    "dropout",
    "multinomial",
    "uniform",
    "empty",
    "new_empty",
    "randn",
    "randint",
    "exponential",
    "geometric",
    "cauchy",
    "log_normal",
    "poisson",
)


def op_list():
    from torch.testing._internal.common_methods_invocations import op_db

    return [o for o in op_db if torch.float32 in o.supported_dtypes("cpu")]


class Counter:
    """A dynamlir backend wrapper that records compiled graphs and fallbacks."""

    def __init__(self):
        self.graphs = 0

    def __call__(self, gm, example_inputs):
        from dynamlir.frontend.backend import dynamlir_backend

        self.graphs += 1
        return dynamlir_backend(gm, example_inputs)


def _split(sample):
    """(function of the sample's tensors, the tensors) for one SampleInput."""
    tree = (sample.input, sample.args, sample.kwargs)
    leaves, spec = pytree.tree_flatten(tree)
    where = [i for i, v in enumerate(leaves) if isinstance(v, torch.Tensor)]
    return leaves, spec, where


def _call(op, leaves, spec, where, tensors):
    leaves = list(leaves)
    for i, t in zip(where, tensors):
        leaves[i] = t
    inp, args, kwargs = pytree.tree_unflatten(leaves, spec)
    return op(inp, *args, **kwargs)


def _close(a, b) -> bool:
    la, lb = pytree.tree_leaves(a), pytree.tree_leaves(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if isinstance(x, torch.Tensor) != isinstance(y, torch.Tensor):
            return False
        if isinstance(x, torch.Tensor):
            if x.shape != y.shape or x.dtype != y.dtype:
                return False
            try:
                torch.testing.assert_close(x, y, rtol=RTOL, atol=ATOL, equal_nan=True)
            except AssertionError:
                return False
        elif x != y and not (x != x and y != y):
            return False
    return True


def _compiled(op, leaves, spec, where, counter):
    fn = lambda *ts: _call(op, leaves, spec, where, ts)  # noqa: E731
    return torch.compile(fn, backend=counter, dynamic=False)


def _fallback(caught) -> bool:
    return any(str(w.message).startswith("dynamlir: running ") for w in caught)


def run_forward(op, sample) -> tuple[str, str]:
    from dynamlir.frontend import backend

    leaves, spec, where = _split(sample)
    tensors = [leaves[i].detach() for i in where]
    with torch.no_grad():
        try:
            expected = _call(op, leaves, spec, where, tensors)
        except Exception as e:  # noqa: BLE001 - eager cannot run it here (CUDA-only...)
            return "skip", f"eager raises {type(e).__name__}"
        counter = Counter()
        backend._warned.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = _compiled(op, leaves, spec, where, counter)(*tensors)
    if _fallback(caught):
        return "fallback", str(next(w.message for w in caught if "dynamlir" in str(w.message)))[
            :300
        ]
    if counter.graphs == 0:
        return "fallback", "no graph captured"
    return ("pass", "") if _close(got, expected) else ("wrong", "forward differs from eager")


def _grads(outs, tensors, cotangent_seed=0):
    outs = [
        o
        for o in pytree.tree_leaves(outs)
        if isinstance(o, torch.Tensor) and o.requires_grad and o.dtype.is_floating_point
    ]
    if not outs:
        return None
    g = torch.Generator().manual_seed(cotangent_seed)
    cts = [torch.randn(o.shape, generator=g, dtype=o.dtype) for o in outs]
    wrt = [t for t in tensors if t.requires_grad]
    return torch.autograd.grad(outs, wrt, cts, allow_unused=True)


def run_grad(op, sample) -> tuple[str, str]:
    from dynamlir.frontend import backend

    leaves, spec, where = _split(sample)
    base = [leaves[i].detach() for i in where]
    wants = [leaves[i].requires_grad for i in where]
    fresh = lambda: [t.clone().requires_grad_(w) for t, w in zip(base, wants)]  # noqa: E731
    if not any(wants):
        return "skip", "no input requires grad"
    ref_in = fresh()
    try:
        expected_out = _call(op, leaves, spec, where, ref_in)
        expected = _grads(expected_out, ref_in)
    except Exception as e:  # noqa: BLE001
        return "skip", f"eager raises {type(e).__name__}"
    if expected is None:
        return "skip", "no differentiable output"
    counter = Counter()
    backend._warned.clear()
    got_in = fresh()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got_out = _compiled(op, leaves, spec, where, counter)(*got_in)
        got = _grads(got_out, got_in)
    if _fallback(caught):
        return "fallback", str(next(w.message for w in caught if "dynamlir" in str(w.message)))[
            :300
        ]
    if counter.graphs == 0:
        return "fallback", "no graph captured"
    if got is None or not _close(got_out, expected_out):
        return "wrong", "forward (under autograd) differs from eager"
    zero = lambda gs, ts: [g if g is not None else torch.zeros_like(t) for g, t in zip(gs, ts)]  # noqa: E731
    wrt = [t for t in got_in if t.requires_grad]
    ok = _close(zero(got, wrt), zero(expected, wrt))
    return ("pass", "") if ok else ("wrong", "gradient differs from eager")


def run_op(op) -> dict:
    result = {
        "name": op.name + (f".{op.variant_test_name}" if op.variant_test_name else ""),
        "forward": "skip",
        "grad": "skip",
        "why": "",
    }
    if any(k in op.name for k in NONDETERMINISTIC):
        result["why"] = "random or uninitialized output"
        return result
    torch.manual_seed(0)
    try:
        samples = list(op.sample_inputs("cpu", torch.float32, requires_grad=op.supports_autograd))
    except Exception as e:  # noqa: BLE001 - a broken sample generator is not dynamlir's
        result["why"] = f"no samples: {e}"[:200]
        return result
    samples = samples[:SAMPLES]
    for kind, fn in (("forward", run_forward), ("grad", run_grad)):
        if kind == "grad" and not op.supports_autograd:
            continue
        verdicts = []
        for s in samples:
            torch._dynamo.reset()
            try:
                verdicts.append(fn(op, s))
            except Exception as e:  # noqa: BLE001 - counted and reported, never fatal
                verdicts.append(("error", f"{type(e).__name__}: {e}"[:300]))
        ranked = sorted(
            verdicts, key=lambda v: ["wrong", "error", "fallback", "pass", "skip"].index(v[0])
        )
        if verdicts:
            result[kind] = ranked[0][0]
            if ranked[0][1]:
                result["why"] += f"{kind}: {ranked[0][1]} "
    return result


def main() -> None:
    warnings.simplefilter("ignore")
    torch._dynamo.config.cache_size_limit = 64
    ops = op_list()
    print(json.dumps({"count": len(ops)}), flush=True)
    for line in sys.stdin:
        i = int(line)
        print(json.dumps(run_op(ops[i])), flush=True)


if __name__ == "__main__":
    main()
