"""Balanced thread shares (Note [balanced thread shares], lowering/cpu_omp_launch.py): a
parallel kernel's launcher hands each OpenMP thread iterations in proportion to weights it
learns from when the threads finish. A hand-written kernel makes thread 0 slow on purpose
and reports which iterations each thread ran."""

from __future__ import annotations

import ctypes

import pytest
import torch
from dynamlir.dialects import make_context
from dynamlir.lowering.cpu_parallel import dispatch_parallel_calls
from dynamlir.runtime import llvm_jit
from dynamlir.runtime.cpu import openmp_libs
from torch_mlir import ir

N = 64  # iterations of the parallel loop
SLOTS = N + 8  # out[i] counts runs of iteration i; out[N + t] thread t's iterations

# @dynamlir_par_0(lo, hi, step, out, spin): out[i] += 1 for its i, out[N + t] += its count
# (a thread may run several ranges: Note [stolen tails]);
# thread 0 also busy-waits `spin` cycles per iteration (the cycle counter, which LLVM cannot
# optimize away). The entry (C interface: pointers to its arguments) runs it over [0, N).
KERNEL = f"""
llvm.func @omp_get_thread_num() -> i32
llvm.func @dynamlir_par_0(%lo: i64, %hi: i64, %step: i64, %out: !llvm.ptr, %spin: i64) {{
  %one = llvm.mlir.constant(1 : i64) : i64
  %zero = llvm.mlir.constant(0 : i64) : i64
  %n = llvm.mlir.constant({N} : i64) : i64
  %t32 = llvm.call @omp_get_thread_num() : () -> i32
  %t = llvm.sext %t32 : i32 to i64
  %slow = llvm.icmp "eq" %t, %zero : i64
  llvm.br ^loop(%lo : i64)
^loop(%i: i64):
  %more = llvm.icmp "slt" %i, %hi : i64
  llvm.cond_br %more, ^body, ^exit
^body:
  %p = llvm.getelementptr %out[%i] : (!llvm.ptr, i64) -> !llvm.ptr, i64
  %v = llvm.load %p : !llvm.ptr -> i64
  %v1 = llvm.add %v, %one : i64
  llvm.store %v1, %p : i64, !llvm.ptr
  %c0 = llvm.call_intrinsic "llvm.readcyclecounter"() : () -> i64
  %limit = llvm.select %slow, %spin, %zero : i1, i64
  llvm.br ^spin
^spin:
  %c = llvm.call_intrinsic "llvm.readcyclecounter"() : () -> i64
  %el = llvm.sub %c, %c0 : i64
  %busy = llvm.icmp "slt" %el, %limit : i64
  llvm.cond_br %busy, ^spin, ^next
^next:
  %i1 = llvm.add %i, %step : i64
  llvm.br ^loop(%i1 : i64)
^exit:
  %count = llvm.sub %hi, %lo : i64
  %slot = llvm.add %n, %t : i64
  %q = llvm.getelementptr %out[%slot] : (!llvm.ptr, i64) -> !llvm.ptr, i64
  %ran = llvm.load %q : !llvm.ptr -> i64
  %ran1 = llvm.add %ran, %count : i64
  llvm.store %ran1, %q : i64, !llvm.ptr
  llvm.return
}}
llvm.func @_mlir_ciface_dynamlir_entry(%out: !llvm.ptr, %spin_p: !llvm.ptr) {{
  %zero = llvm.mlir.constant(0 : i64) : i64
  %one = llvm.mlir.constant(1 : i64) : i64
  %n = llvm.mlir.constant({N} : i64) : i64
  %spin = llvm.load %spin_p : !llvm.ptr -> i64
  llvm.call @dynamlir_par_0(%zero, %n, %one, %out, %spin) : (i64, i64, i64, !llvm.ptr, i64) -> ()
  llvm.return
}}
"""


@pytest.fixture
def two_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def compiled_kernel(tmp_path):
    with make_context():
        module = ir.Module.parse(KERNEL)
        assert dispatch_parallel_calls(module.operation) == 1
        path = llvm_jit.shared_object(module, str(tmp_path), openmp_libs())
    lib, entry = llvm_jit.load_entry(path)
    out = torch.zeros(SLOTS, dtype=torch.int64)
    spin = torch.zeros(1, dtype=torch.int64)
    cells = [ctypes.c_void_p(out.data_ptr()), ctypes.c_void_p(spin.data_ptr())]
    args = (ctypes.c_void_p * 2)(*(ctypes.addressof(c) for c in cells))

    def run(cycles: int) -> list[int]:
        out.zero_()
        spin[0] = cycles
        entry(ctypes.addressof(args))
        assert out[:N].tolist() == [1] * N, "the shares must cover every iteration exactly once"
        return out[N:N + 2].tolist()

    run.keep = (lib, cells, args, out, spin)  # alive as long as the kernel is
    return run


def test_slow_threads_tail_is_stolen(tmp_path, two_threads, monkeypatch):
    """Note [stolen tails]: on the first call (equal weights) thread 0 is slow; thread 1
    runs its own half, then takes chunks off the end of thread 0's (two tenths of it at
    most). Without stealing, the shares stay equal."""
    # Thread 0 takes about 1 ms for its first 26 iterations. A fresh kernel each try (fresh
    # weights); up to three tries, for a vCPU that stalls thread 1 for all of that time.
    for attempt in range(3):
        (tmp_path / str(attempt)).mkdir()
        counts = compiled_kernel(tmp_path / str(attempt))(100_000)
        assert sum(counts) == N and counts[1] <= N // 2 + 2 * (N // 2 // 10), counts
        if counts[1] > N // 2:
            break
    assert counts[1] > N // 2, counts
    from dynamlir.lowering import cpu_omp_launch

    monkeypatch.setattr(cpu_omp_launch, "STEAL", False)
    (tmp_path / "static").mkdir()
    run = compiled_kernel(tmp_path / "static")
    assert run(100_000) == [N // 2, N // 2]


def test_slow_thread_is_given_fewer_iterations(tmp_path, two_threads):
    run = compiled_kernel(tmp_path)
    assert sum(run(0)) == N  # weights start equal (a thread that starts late may lose a tail)
    for _ in range(40):
        counts = run(20_000)  # thread 0: 20k cycles per iteration, thread 1: next to nothing
    assert sum(counts) == N
    # Finishing times pull thread 0's weight down to its floor, a quarter of an equal share:
    # 256 / (256 + 1792) of the iterations.
    assert counts[0] <= N // 8 + 1, counts
    # Once thread 0 is fast again, the shares move back.
    for _ in range(40):
        counts = run(0)
    assert counts[0] > N // 8 + 1, counts


def test_team_of_one_runs_everything(tmp_path, two_threads):
    run = compiled_kernel(tmp_path)
    for _ in range(10):
        run(20_000)
    torch.set_num_threads(1)
    assert run(0)[0] == N
