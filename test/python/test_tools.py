"""In-process tests of the shell tools' pieces: pipeline flattening and typed options,
--split-input-file padding, --verify-diagnostics matching, the no-traceback contract, and
that the tg dialect lit tests cover every op.
"""

from __future__ import annotations

import pathlib

import pytest

from dynamlir.dialects import TG
from dynamlir.lowering import PASSES, PipelineError
from dynamlir.lowering.pipeline import pipeline_steps
from dynamlir.lowering.registry import PassInfo
from dynamlir.tools.diagnostics import Diag, Sources, parse_expectations, verify
from dynamlir.tools.opt import main
from dynamlir.tools.source import split_input

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIALECT_TESTS = ROOT / "test" / "lit" / "dialects" / "tg"


def test_every_tg_op_has_a_round_trip_case():
    text = "".join(p.read_text() for p in DIALECT_TESTS.glob("*.mlir") if "invalid" not in p.name)
    missing = [op.OPERATION_NAME for op in TG.operations if f'"{op.OPERATION_NAME}"(' not in text]
    assert not missing, f"ops without a round-trip case in {DIALECT_TESTS}: {missing}"


def test_pipeline_steps_flatten_nested_upstream_pipelines():
    steps = pipeline_steps(
        "builtin.module(tg-decompose{targets=cpu}, func.func(canonicalize, cse))"
    )
    assert [s.argument for s in steps] == ["tg-decompose", "canonicalize", "cse"]
    assert [s.text for s in steps[1:]] == ["func.func(canonicalize)", "func.func(cse)"]
    assert steps[0].fn.keywords == {"targets": "cpu"}


def _fake_pass(op, pass_, count: int = 1, strict: bool = False, scale: float = 1.0):
    """A pass with typed options, for option conversion."""


@pytest.fixture
def typed_pass(monkeypatch):
    info = PassInfo("tg-test-typed", _fake_pass, "typed", {"count": "", "strict": "", "scale": ""})
    monkeypatch.setitem(PASSES, "tg-test-typed", info)


def test_pass_options_take_the_type_of_their_default(typed_pass):
    (step,) = pipeline_steps("tg-test-typed{count=3 strict=false scale=0.5}")
    assert step.fn.keywords == {"count": 3, "strict": False, "scale": 0.5}


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "tg-test-typed{count=many}",
            "pass 'tg-test-typed' option 'count' expects an integer, got 'many'",
        ),
        (
            "tg-test-typed{strict=maybe}",
            "pass 'tg-test-typed' option 'strict' expects true or false, got 'maybe'",
        ),
        (
            "tg-test-typed{size=1}",
            "pass 'tg-test-typed' has no option 'size' (allowed: count, scale, strict)",
        ),
    ],
)
def test_bad_pass_options_are_rejected(typed_pass, text, message):
    with pytest.raises(PipelineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pipeline_steps(text)


def test_split_input_keeps_line_numbers_of_the_whole_file():
    chunks = split_input("a\n// -----\nb\nc\n  // -----  \nd\n", "// -----")
    assert [c.first_line for c in chunks] == [1, 3, 6]
    assert [c.text.splitlines()[c.first_line - 1] for c in chunks] == ["a", "b", "d"]
    assert split_input("a\n// -----\nb", None)[0].text == "a\n// -----\nb"


def _diag(severity, line, message, file="t.mlir"):
    return Diag(severity, message, file, line, 3)


def test_verify_matches_every_severity_and_designator():
    text = "\n".join(
        [
            "op1",  # 1
            "// expected-warning @above {{slow}}",  # 2 -> 1
            "// expected-remark @below {{fused}}",  # 3 -> 5 (skips the designator on 4)
            "// expected-note @+2 {{here}}",  # 4 -> 6
            "op2",  # 5
            "op3 // expected-error {{bad op3}}",  # 6
            "// expected-error @unknown {{somewhere}}",  # 7 -> unknown location
        ]
    )
    expected, problems = parse_expectations(text)
    assert problems == []
    assert [(e.severity, e.line) for e in expected] == [
        ("warning", 1), ("remark", 5), ("note", 6), ("error", 6), ("error", 0)
    ]  # fmt: skip
    sources = Sources()
    sources.add("t.mlir", text)
    diags = [
        _diag("warning", 1, "op1 is slow"),
        _diag("remark", 5, "fused 2 ops"),
        Diag("error", "bad op3 here", "t.mlir", 6, 1, notes=[_diag("note", 6, "defined here")]),
        Diag("error", "somewhere else"),
    ]
    assert verify(diags, expected, sources, "t.mlir") == []


def test_verify_reports_wrong_severity_and_unmet_expectations():
    text = "op1 // expected-error {{slow}}\n"
    expected, _ = parse_expectations(text)
    sources = Sources()
    sources.add("t.mlir", text)
    complaints = verify([_diag("warning", 1, "op1 is slow")], expected, sources, "t.mlir")
    assert complaints[0].startswith("t.mlir:1:3: error: unexpected warning: op1 is slow")
    assert complaints[1].startswith('t.mlir:1:8: error: expected error "slow" was not produced')


def _raising_pass(op, pass_):
    """Raises, as a buggy pass would."""
    raise RuntimeError("boom")


def test_a_raising_pass_is_an_internal_error_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(PASSES, "tg-test-raise", PassInfo("tg-test-raise", _raising_pass, "", {}))
    path = tmp_path / "in.mlir"
    path.write_text("func.func @f() {\n  return\n}\n")
    assert main([str(path), "-tg-test-raise"]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == "dynamlir-opt: internal error: pass 'tg-test-raise' raised RuntimeError: boom"
    )


def test_output_file_is_written_only_on_success(tmp_path, capsys):
    good, bad, out = tmp_path / "good.mlir", tmp_path / "bad.mlir", tmp_path / "out.mlir"
    good.write_text("func.func @f() {\n  return\n}\n")
    bad.write_text("func.func @f( {\n")
    assert main([str(bad), "-o", str(out)]) == 1
    assert not out.exists()
    assert main([str(good), "-o", str(out)]) == 0
    assert "func.func @f()" in out.read_text()
    assert capsys.readouterr().out == ""
