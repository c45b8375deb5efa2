"""Fuzz the importer and the compile path with random small torch programs
(import_fuzz_cases.py): random op chains on random shapes (size 0 and 1 included), dtypes
(int, bool, half precision), layouts, NaN/Inf values and `dynamic` settings, mutated from
one another.

The contract, per program: torch.compile(backend="dynamlir") returns eager's result (NaN
where eager has NaN), with at most a dynamlir fallback warning, and never raises; every
fifth program also goes through dynamlir.export_mlir, which gives tg text dynamlir-opt
accepts, or raises UnsupportedOpError for an op it cannot import.

Cases run in a spawned worker process, so a hang or a crash is a failed case, not a dead
test run. DYNAMLIR_IMPORT_FUZZ_COUNT sets the number of programs (default 500),
DYNAMLIR_IMPORT_FUZZ_SEED the seed.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from import_fuzz_cases import make_programs

COUNT = int(os.environ.get("DYNAMLIR_IMPORT_FUZZ_COUNT", "500"))
SEED = int(os.environ.get("DYNAMLIR_IMPORT_FUZZ_SEED", "0"))
TIMEOUT_S = 120
EXPORT_EVERY = 5


@functools.lru_cache(maxsize=1)
def programs(count: int, seed: int):
    return make_programs(count, seed)


def run_case(count: int, seed: int, index: int) -> tuple[str, str]:
    """In the worker: ('ok' | 'fallback' | 'mismatch' | 'error', detail) for one program."""
    import warnings

    import torch

    p = programs(count, seed)[index]
    xs = p.inputs(index)
    expected = p.fn()(*xs)
    torch._dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = torch.compile(p.fn(), backend="dynamlir", dynamic=p.dynamic)(*xs)
        except Exception as e:  # noqa: BLE001 - any escape breaks the contract
            return "error", f"{p.describe()}: {type(e).__name__}: {e}"
    fallbacks = [str(w.message) for w in caught if str(w.message).startswith("dynamlir:")]
    half = (torch.float16, torch.bfloat16)
    tol = {"rtol": 2e-2, "atol": 2e-2} if p.dtype in half else {"rtol": 1e-4, "atol": 1e-4}
    try:
        assert isinstance(got, torch.Tensor) and got.dtype == expected.dtype, type(got)
        torch.testing.assert_close(got, expected, equal_nan=True, **tol)
    except AssertionError as e:
        return "mismatch", f"{p.describe()}: {e}"
    if index % EXPORT_EVERY == 0 and (problem := check_export(p, xs)):
        return "error", f"{p.describe()}: export_mlir: {problem}"
    return ("fallback", fallbacks[0]) if fallbacks else ("ok", "")


def check_export(p, xs) -> str:
    """'' when export_mlir gives text dynamlir-opt accepts or rejects the program cleanly."""
    import io
    from contextlib import redirect_stderr

    import dynamlir
    from dynamlir.frontend.errors import UnsupportedOpError
    from dynamlir.tools.opt import main

    try:
        text = dynamlir.export_mlir(p.fn(), *xs)
    except Exception as e:  # noqa: BLE001 - classified below
        inner = getattr(e, "inner_exception", e)
        if isinstance(inner, UnsupportedOpError) or "expected one graph" in str(e):
            return ""
        return f"{type(inner).__name__}: {inner}"
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".mlir") as f:
        f.write(text)
        f.flush()
        err = io.StringIO()
        with redirect_stderr(err), open(os.devnull, "w") as null:
            saved, sys.stdout = sys.stdout, null
            try:
                rc = main([f.name])
            finally:
                sys.stdout = saved
    return "" if rc == 0 else f"dynamlir-opt rejects the exported text: {err.getvalue()}"


@pytest.fixture(scope="module")
def pool():
    # spawn, not fork: the pytest process runs torch and MLIR threads (see test_opt_fuzz.py).
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
        yield ex


def test_fuzz_programs_are_varied():
    progs = programs(COUNT, SEED)
    assert len(progs) == COUNT
    ops = {name for p in progs for name, _ in p.ops}
    assert len(ops) >= 30, sorted(ops)
    assert {str(p.dtype) for p in progs} >= {
        "torch.float32",
        "torch.int64",
        "torch.bool",
        "torch.float16",
    }
    assert any(0 in p.shape for p in progs) and any(p.shape == () for p in progs)
    assert any(p.transposed for p in progs) and any(p.nan for p in progs)


@pytest.mark.parametrize("index", range(COUNT))
def test_compile_matches_eager_or_falls_back(pool, index):
    future = pool.submit(run_case, COUNT, SEED, index)
    try:
        status, detail = future.result(timeout=TIMEOUT_S)
    except cf.TimeoutError:
        pytest.fail(
            f"program {index} hung for {TIMEOUT_S}s: {programs(COUNT, SEED)[index].describe()}"
        )
    except cf.process.BrokenProcessPool:
        pytest.fail(
            f"program {index} crashed the worker: {programs(COUNT, SEED)[index].describe()}"
        )
    assert status in ("ok", "fallback"), f"program {index}: {status}: {detail}"
