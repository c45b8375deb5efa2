"""Concurrency: threads calling one compiled model at once get correct results, including
when their first calls race to compile (Note [compile lock], runtime/debug.py)."""

from __future__ import annotations

import threading

import torch
from dynamlir.runtime import cache, debug
from dynamlir.runtime.cpu import CpuFunction, OutputSpec

THREADS = 6


def run_threads(work, n: int = THREADS) -> list:
    """Run `work(tid, barrier)` on `n` threads started together; returns their errors."""
    barrier = threading.Barrier(n)
    errors: list = []

    def target(tid):
        try:
            work(tid, barrier)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(f"thread {tid}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=target, args=(t,)) for t in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 4))


def test_threads_hammer_a_compiled_model():
    m = model()
    cm = torch.compile(m, backend="dynamlir", dynamic=False)
    shapes = [(3, 16), (5, 16)]
    with torch.no_grad():
        for s in shapes:  # compiled before the threads start: Dynamo's own races aside
            cm(torch.randn(s))
    calls = debug.COUNTERS["calls"]

    def work(tid, barrier):
        g = torch.Generator().manual_seed(tid)
        barrier.wait()
        for i in range(60):
            x = torch.randn(shapes[(i + tid) % 2], generator=g)
            with torch.no_grad():
                got, expected = cm(x), m(x)
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)

    assert run_threads(work) == []
    # The compiled code ran. Not every call: Dynamo's guards, evaluated on several threads
    # at once, now and then fail spuriously ("Unexpected recompilation: runtime guards
    # failed even though they passed"), and past its recompile limit Dynamo runs the frame
    # eagerly.
    assert debug.COUNTERS["calls"] - calls >= THREADS * 60 // 2


def test_first_calls_race_through_torch_compile():
    m = model()
    torch._dynamo.reset()
    cm = torch.compile(m, backend="dynamlir")

    def work(tid, barrier):
        x = torch.randn(4, 16, generator=torch.Generator().manual_seed(tid))
        barrier.wait()  # every thread's first call at once: one of them compiles
        with torch.no_grad():
            for _ in range(5):
                torch.testing.assert_close(cm(x), m(x), atol=1e-5, rtol=1e-5)

    assert run_threads(work) == []


def test_first_call_of_a_new_layout_compiles_once(monkeypatch):
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    text = """
    func.func @main(%x: tensor<8x8xf32>, %y: tensor<8x8xf32>) -> tensor<8x8xf32> {
      %0 = "tg.matmul"(%x, %y) : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
      %1 = "tg.tanh"(%0) : (tensor<8x8xf32>) -> tensor<8x8xf32>
      return %1 : tensor<8x8xf32>
    }"""
    cache._MEMORY.clear()
    fn = CpuFunction(text, [OutputSpec(torch.float32, (8, 8))])
    before = debug.COUNTERS["cpu_compiles"]

    def work(tid, barrier):
        g = torch.Generator().manual_seed(tid)
        x, y = torch.randn(8, 8, generator=g).t(), torch.randn(8, 8, generator=g)
        barrier.wait()  # all threads need the (strided, contiguous) variant at once
        for _ in range(20):
            (out,) = fn(x, y)
            torch.testing.assert_close(out, torch.tanh(x @ y), atol=1e-5, rtol=1e-5)

    assert run_threads(work) == []
    assert debug.COUNTERS["cpu_compiles"] - before == 1


def test_threads_compile_different_functions_at_once(monkeypatch):
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    ops = ["tg.exp", "tg.tanh", "tg.neg", "tg.abs", "tg.sin", "tg.cos"]
    refs = [torch.exp, torch.tanh, torch.neg, torch.abs, torch.sin, torch.cos]

    def work(tid, barrier):
        text = f"""
        func.func @main(%x: tensor<5xf32>) -> tensor<5xf32> {{
          %0 = "{ops[tid]}"(%x) : (tensor<5xf32>) -> tensor<5xf32>
          %1 = "tg.add"(%0, %x) : (tensor<5xf32>, tensor<5xf32>) -> tensor<5xf32>
          return %1 : tensor<5xf32>
        }}"""
        fn = CpuFunction(text, [OutputSpec(torch.float32, (5,))])
        x = torch.randn(5, generator=torch.Generator().manual_seed(tid))
        barrier.wait()
        (out,) = fn(x)
        torch.testing.assert_close(out, refs[tid](x) + x)

    assert run_threads(work, len(ops)) == []


def test_threads_train_through_one_compiled_model():
    def f(x, w):
        return (torch.tanh(x @ w) * x.sum(-1, keepdim=True)).sum()

    torch._dynamo.reset()
    cf = torch.compile(f, backend="dynamlir")

    def step(seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(4, 8, generator=g)
        w = torch.randn(8, 8, generator=g, requires_grad=True)
        return x, w

    x, w = step(100)
    cf(x, w).backward()  # compiled once; the threads race on its first fwd/bwd use

    def work(tid, barrier):
        barrier.wait()
        for i in range(10):
            x, w = step(tid * 100 + i)
            cf(x, w).backward()
            ref = w.detach().clone().requires_grad_()
            f(x, ref).backward()
            torch.testing.assert_close(w.grad, ref.grad, atol=1e-5, rtol=1e-5)

    assert run_threads(work) == []
