"""CPU code generation through llvmlite (runtime/llvm_jit.py): the LLVM IR text rewrite for
llvmlite's parser, splitting a module across helper processes, and the ExecutionEngine
fallback. Every compiled result is checked against eager PyTorch."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys

import llvmlite.binding as llvm
import pytest
import torch
from dynamlir.runtime import debug, llvm_jit, llvm_units, llvm_worker
from dynamlir.runtime.cpu import CpuFunction, OutputSpec
from dynamlir.runtime.llvm_text import legacy_float_syntax


@pytest.mark.parametrize(
    "new, old",
    [
        ("fadd float %a, f0x3727C5AC", "fadd float %a, 0x3EE4F8B580000000"),
        ("fadd double %a, f0x3FF8000000000000", "fadd double %a, 0x3FF8000000000000"),
        ("call float @llvm.fma.f32(float %a, float %b, float -2.954600e-03)",
         "call float @llvm.fma.f32(float %a, float %b, float 0xBF68343EC0000000)"),
        ("fmul double %a, 1.000000e-01", "fmul double %a, 1.000000e-01"),
        ("<2 x half> <half f0x3C00, half f0xBC00>", "<2 x half> <half 0xH3C00, half 0xHBC00>"),
        ("select i1 %c, bfloat f0x3F80, bfloat %x", "select i1 %c, bfloat 0xR3F80, bfloat %x"),
        ("fcmp olt float %a, -inf", "fcmp olt float %a, 0xFFF0000000000000"),
        ("store float 1.5e+00, ptr %p", "store float 0x3FF8000000000000, ptr %p"),
        ("%f0x1 = fadd float %v1.0e+00, 2.5e-01", "%f0x1 = fadd float %v1.0e+00, 0x3FD0000000000000"),
    ],
)  # fmt: skip
def test_float_constants_are_respelled_for_llvmlite(new, old):
    assert legacy_float_syntax(new) == old


def test_respelled_float_constants_keep_their_values():
    # -2.9546e-3 is not a float; newer LLVM prints the shortest decimal of the nearest float.
    nearest = struct.unpack("<f", struct.pack("<f", -2.9546e-3))[0]
    text = f"""
define float @f(float %a) {{
  %b = fadd float %a, {nearest!r}e+00
  %c = fmul float %b, f0x40000000
  ret float %c
}}"""
    text = text.replace(f"{nearest!r}e+00", "-2.954600e-03")
    mod = llvm.parse_assembly(legacy_float_syntax(text))
    mod.verify()
    body = str(mod.get_function("f"))
    assert f"0x{struct.unpack('<Q', struct.pack('<d', nearest))[0]:016X}" in body
    assert "2.000000e+00" in body  # f0x40000000 is 2.0f


def module_with(functions: int) -> str:
    defs = []
    for i in range(functions):
        defs.append(
            f"define void @dynamlir_par_{i}(ptr %0, i64 %1) {{\n"
            f"  %v = sitofp i64 %1 to float\n  store float %v, ptr %0\n  ret void\n}}"
        )
        defs.append(
            f"define void @dynamlir_par_{i}_launch(ptr %0) {{\n"
            f"  call void @dynamlir_par_{i}(ptr %0, i64 {i})\n  ret void\n}}"
        )
    calls = "\n".join(f"  call void @dynamlir_par_{i}_launch(ptr %0)" for i in range(functions))
    entry = f"define void @dynamlir_entry(ptr %0) {{\n{calls}\n  ret void\n}}"
    return "\n\n".join(["declare ptr @malloc(i64)", *defs, entry, "attributes #0 = { nounwind }"])


def defined_names(text: str) -> set[str]:
    return {ln.split("@")[1].split("(")[0] for ln in text.splitlines() if ln.startswith("define")}


def key(text: str) -> str:
    return "key of " + text


def test_kernel_units_keep_families_together_and_declare_the_rest():
    home, *kernels = llvm_units.kernel_units(module_with(4), key)
    assert home.key is None and all(u.key == key(u.text) for u in kernels)
    defined = [defined_names(u.text) for u in (home, *kernels)]
    assert defined[0] == {"dynamlir_entry"}
    for names in defined[1:]:  # a kernel and its launcher, renamed after their content
        (kernel,) = [n for n in names if not n.endswith("_launch")]
        assert re.fullmatch(r"dynamlir_k[0-9a-f]{16}", kernel) and names == {kernel, kernel + "_launch"}
        assert f"declare void @{kernel}_launch(ptr)" in home.text  # the entry calls it
    assert not set.intersection(*defined)
    for unit in (home, *kernels):
        llvm.parse_assembly(unit.text).verify()
    assert "dynamlir_par_" not in "".join(u.text for u in (home, *kernels))


def test_a_kernel_has_the_same_unit_in_any_module():
    one = llvm_units.kernel_units(module_with(2), key)
    # the same two families under other numbers, in another order, beside a third
    other = module_with(3).replace("dynamlir_par_1", "dynamlir_par_9")
    other = other.replace("dynamlir_par_0", "dynamlir_par_1").replace("dynamlir_par_9", "dynamlir_par_0")
    two = llvm_units.kernel_units(other, key)
    assert {u.text for u in one[1:]} < {u.text for u in two[1:]}
    changed = llvm_units.kernel_units(module_with(2).replace("sitofp", "uitofp"), key)
    assert not {u.text for u in one[1:]} & {u.text for u in changed[1:]}


def test_the_same_kernel_twice_in_a_module_is_compiled_once_apart():
    text = module_with(2).replace("i64 1)", "i64 0)")  # par_1 is now par_0 under another name
    home, *kernels = llvm_units.kernel_units(text, key)
    assert len(kernels) == 1
    assert {"dynamlir_entry", "dynamlir_par_1", "dynamlir_par_1_launch"} == defined_names(home.text)
    llvm.parse_assembly(home.text).verify()


def test_a_global_two_kernels_read_keeps_both_at_home():
    text = module_with(3).replace("store float %v, ptr %0", "store float %v, ptr @count")
    text = "@count = internal global float 0.0\n" + text.replace(
        "define void @dynamlir_par_2(ptr %0, i64 %1) {\n  %v = sitofp i64 %1 to float\n  store float %v, ptr @count",
        "define void @dynamlir_par_2(ptr %0, i64 %1) {\n  %v = sitofp i64 %1 to float\n  store float %v, ptr %0")
    home, *kernels = llvm_units.kernel_units(text, key)
    assert len(kernels) == 1 and "@count" not in kernels[0].text  # par_2 alone
    assert {"dynamlir_par_0", "dynamlir_par_1"} <= defined_names(home.text)
    llvm.parse_assembly(home.text).verify()


@pytest.mark.parametrize(
    "line",
    [
        "@table = global [2 x float] zeroinitializer",
        "define internal void @helper() {\n  ret void\n}",
    ],
)
def test_modules_with_shared_symbols_stay_whole(line):
    assert llvm_units.kernel_units(module_with(3) + "\n\n" + line, key) is None


TEXT = """
func.func @main(%x: tensor<256x384xf32>, %w: tensor<384x320xf32>) -> (tensor<256x320xf32>, tensor<384x256xf32>) {
  %0 = "tg.matmul"(%x, %w) : (tensor<256x384xf32>, tensor<384x320xf32>) -> tensor<256x320xf32>
  %1 = "tg.tanh"(%0) : (tensor<256x320xf32>) -> tensor<256x320xf32>
  %2 = "tg.exp"(%x) : (tensor<256x384xf32>) -> tensor<256x384xf32>
  %3 = "tg.permute"(%2) {perm = [1, 0]} : (tensor<256x384xf32>) -> tensor<384x256xf32>
  return %1, %3 : tensor<256x320xf32>, tensor<384x256xf32>
}"""


def run_text(text=TEXT, activation=torch.tanh):
    """Compile and run `text` (TEXT, or TEXT with another activation) against eager."""
    torch.manual_seed(0)
    x, w = torch.randn(256, 384), torch.randn(384, 320)
    fn = CpuFunction(text, [OutputSpec(torch.float32, (256, 320)), OutputSpec(torch.float32, (384, 256))])
    y, t = fn(x, w)
    # against float64: two float32 orders of a 384-term sum differ by up to ~2e-5 here
    torch.testing.assert_close(y, activation(x.double() @ w.double()).float(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(t, x.exp().t())


@pytest.fixture
def no_helpers():
    """No idle helper processes before the test, none left after it."""
    llvm_jit.close_helpers()
    yield
    llvm_jit.close_helpers()


def helper_pids() -> list[int]:
    return sorted(h.proc.pid for h in llvm_jit._POOL)


def test_module_split_across_helper_processes_runs_correctly(fresh_cache, monkeypatch, no_helpers):
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "2")
    monkeypatch.setattr(llvm_jit, "SPLIT_MIN_CHARS", 0)
    run_text()
    assert debug.COUNTERS["jit_parts"] == 3
    assert debug.COUNTERS["engine_compiles"] == 0


def test_helper_processes_serve_later_compiles(fresh_cache, monkeypatch, no_helpers):
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "1")
    monkeypatch.setattr(llvm_jit, "SPLIT_MIN_CHARS", 0)
    run_text()
    first = helper_pids()
    assert len(first) == 1
    fresh_cache_again(monkeypatch)
    run_text()
    assert debug.COUNTERS["jit_parts"] == 2
    assert helper_pids() == first  # the same process, not a new start


def fresh_cache_again(monkeypatch):
    from dynamlir.runtime import cache

    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    cache._MEMORY.clear()
    debug.reset_counters()


def test_helper_that_died_is_replaced(fresh_cache, monkeypatch, no_helpers):
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "1")
    monkeypatch.setattr(llvm_jit, "SPLIT_MIN_CHARS", 0)
    llvm_jit.start_helpers()
    [helper] = llvm_jit._POOL
    helper.proc.kill()
    helper.proc.wait()
    run_text()
    assert debug.COUNTERS["jit_parts"] == 2
    assert helper_pids() != [helper.proc.pid]


def test_helper_that_dies_mid_compile_is_compiled_in_process(fresh_cache, monkeypatch, no_helpers):
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "1")
    monkeypatch.setattr(llvm_jit, "SPLIT_MIN_CHARS", 0)
    submit = llvm_jit.Helper.submit

    def submit_then_die(self, src, obj):
        ok = submit(self, src, obj)
        self.proc.kill()
        return ok

    monkeypatch.setattr(llvm_jit.Helper, "submit", submit_then_die)
    run_text()
    assert debug.COUNTERS["jit_parts"] == 2
    assert debug.COUNTERS["engine_compiles"] == 0
    assert helper_pids() == []  # not given back


def test_failed_helper_process_is_compiled_in_process(fresh_cache, monkeypatch, no_helpers):
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "1")
    monkeypatch.setattr(llvm_jit, "SPLIT_MIN_CHARS", 0)
    monkeypatch.setattr(llvm_jit.llvm_worker, "__file__", "/nonexistent/llvm_worker.py")
    run_text()
    assert debug.COUNTERS["jit_parts"] == 2
    assert debug.COUNTERS["engine_compiles"] == 0


def test_helper_reports_llvm_errors_and_keeps_serving(tmp_path):
    import io

    bad, good = tmp_path / "bad.ll", tmp_path / "good.ll"
    bad.write_text("this is not LLVM IR")
    good.write_text("define i32 @f(i32 %x) {\n  ret i32 %x\n}\n")
    requests = io.StringIO(f"{bad}\t{tmp_path / 'bad.o'}\n{good}\t{tmp_path / 'good.o'}\n")
    replies = io.StringIO()
    llvm_worker.serve(requests, replies)
    assert replies.getvalue() == "1\n0\n"
    assert "error" in (tmp_path / "bad.o.err").read_text()
    assert (tmp_path / "good.o").read_bytes()[:4] == b"\x7fELF"


def test_text_llvmlite_rejects_falls_back_to_the_execution_engine(fresh_cache, monkeypatch):
    def reject(text):
        raise RuntimeError("LLVM IR parsing error\n<string>:1:1: error: expected top-level entity")

    monkeypatch.setattr(llvm_worker, "compile_object", reject)
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "0")
    run_text()
    assert debug.COUNTERS["engine_compiles"] == 1


def test_wide_loops_follow_the_host_and_the_vector_bits(monkeypatch):
    """Note [512-bit loops]: AVX-512 hosts vectorize loops at 512 bits unless
    DYNAMLIR_VECTOR_BITS asks for less."""
    monkeypatch.delenv("DYNAMLIR_VECTOR_BITS", raising=False)
    monkeypatch.setattr(llvm_worker, "_host_features", lambda: "+avx2,+avx512f,+fma")
    assert llvm_worker.wide_loops()
    monkeypatch.setenv("DYNAMLIR_VECTOR_BITS", "256")
    assert not llvm_worker.wide_loops()
    monkeypatch.delenv("DYNAMLIR_VECTOR_BITS")
    monkeypatch.setattr(llvm_worker, "_host_features", lambda: "+avx2,-avx512f,+fma")
    assert not llvm_worker.wide_loops()


LOOP = """
define void @scale(ptr noalias %x, ptr noalias %y, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %px = getelementptr float, ptr %x, i64 %i
  %v = load float, ptr %px
  %w = fmul float %v, 3.0
  %py = getelementptr float, ptr %y, i64 %i
  store float %w, ptr %py
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
"""


@pytest.mark.skipif("+avx512f" not in llvm_worker._host_features().split(","),
                    reason="needs an AVX-512 host")
@pytest.mark.parametrize("wide,register", [(True, "zmm"), (False, "ymm")])
def test_loops_are_vectorized_at_the_chosen_width(wide, register):
    tm = llvm_worker._target_machine(wide)
    asm = tm.emit_assembly(llvm_worker.optimized(LOOP, tm))
    muls = re.findall(r"vmulps\s[^\n]*", asm)
    assert muls and f"%{register}" in muls[0], muls  # the main body; a tail may be narrower
    assert any("%zmm" in m for m in muls) == wide, muls


CAT = """module {
func.func @main(%x: tensor<256x384xf32>, %y: tensor<256x384xf32>) -> tensor<512x384xf32> {
  %0 = "tg.cat"(%x, %y) {dim = 0 : i64} : (tensor<256x384xf32>, tensor<256x384xf32>) -> tensor<512x384xf32>
  return %0 : tensor<512x384xf32>
}
}"""


@pytest.mark.parametrize("linker", ["gold", "cc"])
def test_shared_object_calls_versioned_libc_symbols(fresh_cache, monkeypatch, linker):
    # The concatenation's copy loops become memcpy calls (LLVM's loop idioms). Linked
    # without libc, those bind to glibc's oldest memcpy, the SSE2 memmove (Note [linking
    # the shared object]).
    import shutil

    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm to list the shared object's symbols")
    if linker == "gold" and llvm_jit._gold_and_libgcc(llvm_jit.c_compiler() or "cc")[0] is None:
        pytest.skip("no ld.gold")
    monkeypatch.setenv("DYNAMLIR_JIT_HELPERS", "0")
    monkeypatch.setenv("DYNAMLIR_LINKER", linker)
    commands = llvm_jit.link_commands(["a.o"], "a.so", ())
    assert commands[0][0] == (shutil.which("ld.gold") if linker == "gold" else llvm_jit.c_compiler())
    x, y = torch.randn(256, 384), torch.randn(256, 384)
    (got,) = CpuFunction(CAT, [OutputSpec(torch.float32, (512, 384))])(x, y)
    torch.testing.assert_close(got, torch.cat([x, y]))
    assert debug.COUNTERS["engine_compiles"] == 0
    (so,) = fresh_cache.glob("*.so")
    undefined = subprocess.run([nm, "-D", "--undefined-only", str(so)], capture_output=True, text=True).stdout
    assert "memcpy@" in undefined, undefined
    assert not re.search(r"\bU mem(cpy|set|move)\s*$", undefined, re.M), undefined


DIV128 = """define i64 @div128(i64 %a, i64 %b) {
  %wa = zext i64 %a to i128
  %wide = shl i128 %wa, 64
  %wb = zext i64 %b to i128
  %q = udiv i128 %wide, %wb
  %r = trunc i128 %q to i64
  ret i64 %r
}
"""


@pytest.mark.parametrize("linker", ["gold", "cc"])
def test_linked_object_resolves_compiler_runtime_helpers(tmp_path, monkeypatch, linker):
    # A 128-bit division is a call to libgcc's __udivti3, which libgcc has only as a
    # static library: the gold link names libgcc.a itself (Note [linking the shared object]).
    import ctypes

    if llvm_jit.c_compiler() is None:
        pytest.skip("no C compiler")
    if linker == "gold" and llvm_jit._gold_and_libgcc(llvm_jit.c_compiler())[0] is None:
        pytest.skip("no ld.gold")
    monkeypatch.setenv("DYNAMLIR_LINKER", linker)
    so = llvm_jit.link_shared([llvm_worker.compile_object(DIV128)], str(tmp_path), ())
    fn = ctypes.CDLL(so).div128
    fn.restype, fn.argtypes = ctypes.c_uint64, [ctypes.c_uint64, ctypes.c_uint64]
    assert fn(3, 7) == (3 << 64) // 7 % (1 << 64)


# Note [kernel object cache]: the same matmul and exp kernels in another module.
TEXT_AGAIN = TEXT.replace('"tg.tanh"', '"tg.sigmoid"')


def run_text_again():
    run_text(TEXT_AGAIN, torch.sigmoid)


def test_kernel_objects_serve_another_module(fresh_cache):
    run_text()
    stored = debug.COUNTERS["kernel_stores"]
    assert stored >= 3 and debug.COUNTERS["kernel_hits"] == 0
    assert len(list(fresh_cache.glob("*.o"))) == stored
    run_text_again()
    assert debug.COUNTERS["kernel_hits"] >= 2  # not the tanh/sigmoid epilogue's kernel
    assert debug.COUNTERS["kernel_stores"] < 2 * stored


def test_kernel_objects_on_disk_serve_a_new_process(fresh_cache, monkeypatch):
    run_text()
    code = (
        "from dynamlir.runtime import debug\n"
        "import test_cpu_jit as t\n"
        "t.run_text_again()\n"
        "print(debug.COUNTERS['kernel_hits'], debug.COUNTERS['kernel_stores'])\n"
    )
    env = {**os.environ, "DYNAMLIR_CACHE_DIR": str(fresh_cache),
           "PYTHONPATH": os.path.dirname(__file__) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    hits, stores = map(int, proc.stdout.split()[-2:])
    assert hits >= 2 and stores >= 1


def test_corrupt_kernel_object_is_compiled_again(fresh_cache):
    from dynamlir.runtime import cache

    run_text()
    for path in fresh_cache.glob("*.o"):
        path.write_bytes(b"not an object file")
    cache._MEMORY.clear()
    run_text_again()  # checks the results
    assert debug.COUNTERS["disk_corrupt"] >= 2  # each kernel it shares with the first
    assert debug.COUNTERS["kernel_hits"] == 0
