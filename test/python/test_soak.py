"""Soak: 10,000 calls of a compiled model with alternating shapes and layouts give eager's
results, and the process's resident memory grows by less than 5% over them.

The calls run in a fresh subprocess, so the measurement sees only this workload (not the
caches and graphs of the tests before it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

CALLS = int(os.environ.get("DYNAMLIR_SOAK_CALLS", "10000"))

WORKLOAD = textwrap.dedent("""
    import gc, json, sys, time
    import torch

    def rss_bytes():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    calls = int(sys.argv[1])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 8), torch.nn.Softmax(-1))
    cm = torch.compile(model, backend="dynamlir")
    sizes = [3, 7, 5, 11]
    inputs = {n: torch.randn(n, 16) for n in sizes}
    strided = {n: torch.randn(16, n).t() for n in sizes}  # non-contiguous views
    expected = {n: model(inputs[n]).detach() for n in sizes}
    expected_t = {n: model(strided[n]).detach() for n in sizes}

    def call(i):
        n = sizes[i % len(sizes)]
        x, ref = (strided[n], expected_t[n]) if i % 3 == 2 else (inputs[n], expected[n])
        with torch.no_grad():
            out = cm(x)
        if not torch.allclose(out, ref, atol=1e-5, rtol=1e-5):
            raise SystemExit(f"call {i}: wrong result for shape {tuple(x.shape)}")

    for i in range(500):  # warm up: every shape and layout compiled, allocator settled
        call(i)
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    for i in range(calls):
        call(i)
    seconds = time.perf_counter() - t0
    gc.collect()
    print(json.dumps({"before": before, "after": rss_bytes(), "seconds": seconds}))
""")


@pytest.mark.slow
def test_soak_alternating_shapes_keeps_results_and_memory():
    env = {**os.environ, "DYNAMLIR_CACHE_DIR": "0"}
    env.pop("DYNAMLIR_DUMP_IR", None)
    proc = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(CALLS)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = (stats["after"] - stats["before"]) / stats["before"]
    assert growth < 0.05, f"RSS grew {growth:.1%} over {CALLS} calls: {stats}"
