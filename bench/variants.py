"""Benchmark: one bench/run.py workload compiled under several settings of dynamlir's
lowering, timed side by side in one process against eager.

    python -m dynamlir.bench.variants "GPT-2 block train" base: \\
        kc128:lowering.cpu_matmul.KC=128 nt_off:lowering.cpu_matmul.STREAM_MIN_BYTES=1<<40

A variant is `name:module.ATTR=value,...`: each module attribute (under dynamlir) is set to
the Python value while that variant compiles, then restored. Each variant gets a backend of
its own, and so a Dynamo cache entry of its own. With torch._dynamo.reset() between
compiles instead, an earlier function would recompile on its next call and pick up the last
variant's code from the in-memory cache, and copies of one model would share one Dynamo
entry: every variant would run the same code (Note [matmul kernel gap],
lowering/cpu_matmul.py). A benchmark, not a test: it asserts nothing.

    python -m dynamlir.bench.variants "GPT-2 block train" --paired 100 \\
        on: off:lowering.cpu_slices.RESHAPED_RESULTS_IN_PLACE=False

--paired R compares each variant with the first one round by round instead: R rounds, each
timing every variant for a few steps (rotating which goes first), and reports the median
and quartiles of the per-round time ratios and how many rounds the variant was slower.
This machine's speed changes by 10-40% within minutes; a ratio taken within one round
sees the same phase on both sides. Medians over a whole run did not: two copies of the
same code differed by up to 3%, and two runs of one A/B pair gave +2.7% and -1.6%.
"""

from __future__ import annotations

import argparse
import copy
import functools
import importlib
import os
import statistics
import types

import torch
import torch._dynamo.config as dynamo_config

from ..frontend.backend import dynamlir_backend
from ..runtime import cache
from .run import WORKLOADS, infer_step, interleaved_medians, round_times, train_step


def settings(spec: str) -> tuple[str, list[tuple[object, str, object]]]:
    """(name, [(module, attribute, value)]) of a `name:module.ATTR=value,...` spec."""
    name, _, assignments = spec.partition(":")
    out = []
    for item in filter(None, assignments.split(",")):
        target, _, value = item.partition("=")
        module_name, _, attr = target.rpartition(".")
        module = importlib.import_module(f"{__package__.rsplit('.', 1)[0]}.{module_name}")
        if not hasattr(module, attr):
            raise SystemExit(f"variants: {module_name} has no attribute {attr}")
        out.append((module, attr, eval(value, {})))  # noqa: S307 - a developer's command line
    return name, out


def own_code(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with a forward of its own code object. Dynamo keeps its compiled entries on
    the code object, so copies of one model share one list of entries, each call checks
    the guards of the variants compiled after its own first, and identical variants
    measured 1-6% apart by their order (the first one slowest)."""
    fn = type(model).forward
    code = fn.__code__.replace()  # equal, but not the same object
    forward = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    model.forward = types.MethodType(forward, model)
    return model


def paired_ratios(steps: dict, rounds: int, per_round: int = 6,
                  warmup: int = 10) -> dict[str, tuple[float, list[float]]]:
    """{variant: (median seconds, per-round ratios to the first variant)}: each round times
    `per_round` steps of every variant (the order rotating), and each variant's ratio is
    its median step in the round over the first variant's."""
    per = {name: [sorted(ts)[per_round // 2] for ts in by_round]
           for name, by_round in round_times(steps, rounds, per_round, warmup).items()}
    first = per[next(iter(steps))]
    return {name: (statistics.median(ts), [t / f for t, f in zip(ts, first)])
            for name, ts in per.items()}


def print_paired(results: dict[str, tuple[float, list[float]]]) -> None:
    for name, (seconds, ratios) in results.items():
        ratios = sorted(ratios)
        q = [ratios[int(p * (len(ratios) - 1))] for p in (0.25, 0.5, 0.75)]
        slower = sum(x > 1 for x in ratios)
        print(f"{name:12s} {seconds * 1e3:8.3f} ms  ratio {q[1]:.4f} "
              f"(quartiles {q[0]:.4f}..{q[2]:.4f}), slower in {slower}/{len(ratios)} rounds")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", help="a bench/run.py workload whose name contains this")
    parser.add_argument("variants", nargs="+", help="name:module.ATTR=value,... ('base:' for none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--paired", type=int, default=0, metavar="R",
                        help="R rounds of per-round ratios against the first variant")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    # No disk cache: its keys do not know the settings, so a variant would load another's code.
    os.environ["DYNAMLIR_CACHE_DIR"] = "0"
    dynamo_config.cache_size_limit = max(dynamo_config.cache_size_limit, 8 * len(args.variants))
    if hasattr(dynamo_config, "recompile_limit"):
        dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 8 * len(args.variants))
    workload = next((w for w in WORKLOADS if args.workload in w.name), None)
    if workload is None:
        raise SystemExit(f"variants: no workload matches '{args.workload}'")
    torch.manual_seed(0)
    base, inputs = workload.make()
    if isinstance(base, torch.nn.Module):
        base.train(workload.train)
    steps = {}
    for spec in [*args.variants, "eager:"]:
        name, assignments = settings(spec)
        model = own_code(copy.deepcopy(base))
        opt = torch.optim.SGD(model.parameters(), lr=1e-3) if workload.train else None
        fn = model
        if name != "eager":
            saved = [(m, a, getattr(m, a)) for m, a, _ in assignments]
            for module, attr, value in assignments:
                setattr(module, attr, value)
            try:
                cache._MEMORY.clear()  # compile this variant's code, not a cached one
                fn = torch.compile(model, backend=lambda gm, ex: dynamlir_backend(gm, ex))
                train_step(model, fn, inputs, opt) if workload.train else infer_step(fn, inputs)
            finally:
                for module, attr, value in saved:
                    setattr(module, attr, value)
        steps[name] = (functools.partial(train_step, model, fn, inputs, opt) if workload.train
                       else functools.partial(infer_step, fn, inputs))
    if args.paired:
        print(f"{workload.name}: {args.threads} threads, {args.paired} paired rounds\n")
        print_paired(paired_ratios(steps, args.paired))
        return
    medians = interleaved_medians(steps, args.repeat, rounds=15)
    print(f"{workload.name}: {args.threads} threads, median of {args.repeat}\n")
    for name, seconds in medians.items():
        print(f"{name:12s} {seconds * 1e3:8.3f} ms  {medians['eager'] / seconds:6.3f}x eager")


if __name__ == "__main__":
    main()
