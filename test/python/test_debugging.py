"""Debugging: per-stage IR dumps (DYNAMLIR_DUMP_IR) that dynamlir-opt runs, the "dynamlir"
logger (DYNAMLIR_LOG), and compile errors naming the pass, the op and the source line."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import dynamlir
import pytest
import torch
from dynamlir.lowering import register_pass
from dynamlir.runtime import cache, debug
from conftest import run_python
from dynamlir.runtime.cpu import CompileError, CpuFunction, OutputSpec
from torch_mlir import ir


@register_pass("tg-test-reject-mul")
def reject_mul(module, pass_):
    """Test pass: rejects every tg.mul with a diagnostic at its location."""

    def visit(op):
        if op.name == "tg.mul":
            op.location.emit_error("tg-test-reject-mul: refusing this op")
            pass_.signal_pass_failure()
        return ir.WalkResult.ADVANCE

    module.walk(visit)


@register_pass("tg-test-raise")
def raise_error(module, pass_):
    """Test pass: a bug in a Python pass (an exception escaping it)."""
    raise RuntimeError("the pass has a bug")


@register_pass("tg-test-break-ir")
def break_ir(module, pass_):
    """Test pass: a bug that leaves invalid IR (a tg.mul moved above its operands)."""
    found = []

    def visit(op):
        if op.name == "tg.mul" and not found:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    op = found[0].operation
    op.move_before(op.block.operations[0])


def fn(x, y):
    z = x + y
    return z * 2  # MUL


MUL_LINE = next(
    i for i, line in enumerate(Path(__file__).read_text().splitlines(), 1) if line.endswith("# MUL")
)


@pytest.fixture
def no_cache(monkeypatch):
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    saved = dict(cache._MEMORY)
    cache._MEMORY.clear()
    torch._dynamo.reset()
    yield
    cache._MEMORY.update(saved)
    torch._dynamo.reset()


def opt(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dynamlir.tools.opt", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def next_stage(path) -> str | None:
    m = re.search(r"// next stage: dynamlir-opt --pass-pipeline='([^']*)'", path.read_text())
    return m.group(1) if m else None


def test_dump_ir_writes_every_stage_runnable_with_opt(tmp_path, monkeypatch, no_cache):
    monkeypatch.setenv("DYNAMLIR_DUMP_IR", str(tmp_path))
    x, y = torch.randn(3, 4), torch.randn(3, 4)
    torch.testing.assert_close(torch.compile(fn, backend="dynamlir")(x, y), fn(x, y))
    files = sorted(p.name for p in tmp_path.glob("*.mlir"))
    graph = next(n for n in files if n.endswith(".0-tg.mlir")).split(".")[0]
    assert files == [
        f"{graph}-main.1-decomposed.mlir",
        f"{graph}-main.2-linalg.mlir",
        f"{graph}-main.3-llvm.mlir",
        f"{graph}.0-tg.mlir",
    ], files
    tg = (tmp_path / f"{graph}.0-tg.mlir").read_text()
    assert f'{__file__}":{MUL_LINE}' in tg  # dumps keep the user's file:line
    assert "linalg.generic" in (tmp_path / f"{graph}-main.2-linalg.mlir").read_text()
    assert "llvm.func" in (tmp_path / f"{graph}-main.3-llvm.mlir").read_text()
    for name in files:  # every dump parses and verifies
        proc = opt(str(tmp_path / name))
        assert proc.returncode == 0, (name, proc.stderr)
    # The decomposed dump, run through its header's next stage, gives the linalg stage.
    decomposed = tmp_path / f"{graph}-main.1-decomposed.mlir"
    proc = opt(str(decomposed), f"--pass-pipeline={next_stage(decomposed)}")
    assert proc.returncode == 0, proc.stderr
    assert "linalg.generic" in proc.stdout and '"tg.' not in proc.stdout


def test_dump_ir_for_training_has_joint_and_fwd_bwd(tmp_path, monkeypatch, no_cache):
    monkeypatch.setenv("DYNAMLIR_DUMP_IR", str(tmp_path))
    x = torch.randn(3, 4, requires_grad=True)
    out = torch.compile(lambda a: torch.tanh(a) * a, backend="dynamlir")(x)
    out.sum().backward()
    names = sorted(p.name for p in tmp_path.glob("*.mlir"))
    for pattern in (
        r"g\d+\.0-tg",
        r"g\d+\.1-decomposed",
        r"g\d+\.2-joint",
        r"g\d+\.3-fwd-bwd",
        r"g\d+-main_fwd\.3-llvm",
        r"g\d+-main_bwd(-v[cs]+)?\.2-linalg",
    ):
        assert any(re.fullmatch(pattern + r"\.mlir", n) for n in names), (pattern, names)
    joint = next(tmp_path.glob("*.2-joint.mlir"))
    assert "@main_joint" in joint.read_text()
    proc = opt(str(joint), f"--pass-pipeline={next_stage(joint)}")
    assert proc.returncode == 0, proc.stderr
    assert "@main_fwd" in proc.stdout and "@main_bwd" in proc.stdout


def test_logging_reports_capture_recompile_and_stage_times(caplog, no_cache):
    caplog.set_level(logging.DEBUG, logger="dynamlir")
    cf = torch.compile(lambda a: a.exp() + 1, backend="dynamlir", dynamic=False)
    cf(torch.randn(2, 3))
    cf(torch.randn(2, 3, dtype=torch.float64))
    messages = [r.getMessage() for r in caplog.records if r.name == "dynamlir"]
    captured = [m for m in messages if m.startswith("graph captured:")]
    assert len(captured) == 2 and "tensor<2x3xf32>" in captured[0]
    assert "tensor<2x3xf64>" in captured[1]
    assert any("recompile of" in m and "dtype mismatch" in m for m in messages), messages
    timing = [m for m in messages if re.match(r"cpu compile g\d+-main: \d", m)]
    assert len(timing) == 2, messages
    stages = r"\(decomposed \d+\.\d+ s, linalg \d+\.\d+ s, llvm \d+\.\d+ s, jit \d+\.\d+ s\)"
    assert all(re.search(stages, m) for m in timing), timing


def test_log_fallback_records_every_fallback(caplog):
    caplog.set_level(logging.INFO, logger="dynamlir")
    before = debug.COUNTERS["fallbacks"]
    debug.log_fallback("aten.fft_fft.default", "model.py:3", "no tg mapping")
    debug.log_fallback("aten.fft_fft.default", "model.py:3", "no tg mapping")
    assert debug.COUNTERS["fallbacks"] == before + 2
    assert (
        "fallback to eager: aten.fft_fft.default at model.py:3" in caplog.records[-1].getMessage()
    )


def test_dynamlir_log_environment_variable():
    code = (
        "import torch, dynamlir\n"
        "f = torch.compile(lambda a: a * 2, backend='dynamlir')\n"
        "f(torch.ones(3))\n"
    )
    env = {**os.environ, "DYNAMLIR_LOG": "info", "DYNAMLIR_CACHE_DIR": "0"}
    proc = run_python(code, env)
    assert proc.returncode == 0, proc.stderr
    assert "[dynamlir INFO] graph captured: g0" in proc.stderr
    assert "[dynamlir INFO] cpu compile g0-main:" in proc.stderr
    env["DYNAMLIR_LOG"] = "loud"
    proc = run_python(code, env)
    assert proc.returncode == 0, proc.stderr
    assert "DYNAMLIR_LOG='loud' is not a log level (allowed: debug, info, warning, error)" in (
        proc.stderr
    )


def exported() -> str:
    return dynamlir.export_mlir(fn, torch.randn(3), torch.randn(3))


def test_compile_error_names_pass_op_and_source_line(no_cache, capsys):
    text = exported()
    pipeline = "tg-decompose,tg-test-reject-mul,tg-cpu-pipeline"
    with pytest.raises(CompileError) as info:
        CpuFunction(text, [OutputSpec(torch.float32, (3,))], pipeline=pipeline).variant((True,) * 2)
    message = str(info.value)
    first = message.splitlines()[0]
    assert first.startswith("runtime: cpu compile failed in pass 'tg-test-reject-mul': ")
    assert f"on 'tg.mul' at {__file__}:{MUL_LINE} (node 'mul')" in first
    assert first.endswith("tg-test-reject-mul: refusing this op")
    # The repro runs the one failing pass on the IR it failed on, with the same diagnostic.
    repro = re.search(r"reproduce with: dynamlir-opt --pass-pipeline='([^']*)' (\S+)", message)
    from dynamlir.tools.opt import main  # in process: the test pass is registered here

    capsys.readouterr()
    assert main([repro.group(2), f"--pass-pipeline={repro.group(1)}"]) == 1
    err = capsys.readouterr().err
    assert f"{__file__}:{MUL_LINE}:0: error: tg-test-reject-mul: refusing this op" in err


def test_compile_error_from_a_raising_pass_names_it(no_cache):
    with pytest.raises(
        CompileError,
        match=r"in pass 'tg-test-raise': RuntimeError: the pass "
        r"has a bug",
    ):
        CpuFunction(
            exported(), [OutputSpec(torch.float32, (3,))], pipeline="tg-test-raise,tg-cpu-pipeline"
        ).variant((True, True))


def test_invalid_ir_from_a_pass_is_caught_and_named(no_cache, monkeypatch):
    """The verifier runs once per stage (Note [verification]); a pass that breaks the IR
    is still named: the failing stage is re-run pass by pass with the verifier on."""
    from dynamlir.dialects import compile_context
    from dynamlir.runtime.stages import run_stages

    text = exported()
    for each in ("0", "1"):
        monkeypatch.setenv("DYNAMLIR_VERIFY_EACH", each)
        with compile_context(), ir.Location.unknown():
            module = ir.Module.parse(text)
            with pytest.raises(CompileError) as info:
                run_stages(module, "tg-decompose,tg-test-break-ir,cse", "cpu compile")
        first = str(info.value).splitlines()[0]
        assert first.startswith("runtime: cpu compile failed in pass 'tg-test-break-ir': ")
        assert "does not dominate this use" in str(info.value)


def test_compile_error_reaches_the_fallback_warning(no_cache):
    cf = dynamlir.compile(fn, pipeline="tg-decompose,tg-test-reject-mul,tg-cpu-pipeline")
    x, y = torch.randn(3), torch.randn(3)
    with pytest.warns(UserWarning) as record:
        torch.testing.assert_close(cf(x, y), fn(x, y))
    text = " ".join(str(w.message) for w in record)
    assert "in pass 'tg-test-reject-mul'" in text
    assert f"'tg.mul' at {__file__}:{MUL_LINE}" in text


def test_tool_pipeline_errors_name_the_option():
    proc = opt(
        "-",
        "--pass-pipeline=builtin.module(tg-decompose{bogus=1})",
        stdin="func.func @f() { return }",
    )
    assert proc.returncode == 1
    assert "pass 'tg-decompose' has no option 'bogus' (allowed: keep, targets)" in proc.stderr
