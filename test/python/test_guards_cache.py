"""Guards and caching: a compiled model called with a new shape, dtype, requires_grad or
grad mode recompiles or reuses a dynamic artifact and never returns a stale result;
Dynamo's recompile limit falls back to eager with one warning; compiled code is cached
in memory and on disk under a key covering IR, pipeline, host and versions; corrupt disk
entries are rebuilt, never loaded."""

from __future__ import annotations

import json
import logging
import os
import textwrap

import pytest
import torch
from conftest import run_python
from dynamlir.frontend.backend import dynamlir_backend
from dynamlir.runtime import cache, debug
from dynamlir.runtime.cpu import CpuFunction, OutputSpec


def counting_backend(calls: list):
    def backend(gm, example_inputs):
        calls.append([tuple(t.shape) for t in example_inputs if isinstance(t, torch.Tensor)])
        return dynamlir_backend(gm, example_inputs)

    return backend


def f(x):
    return torch.softmax(x * 2, dim=-1) + x.sum(0)


def variants() -> int:
    """CPU variants built so far (compiled, or taken from a cache)."""
    c = debug.COUNTERS
    return c["cpu_compiles"] + c["memory_hits"] + c["disk_hits"]


def test_new_shape_recompiles_when_static(fresh_cache):
    calls = []
    cf = torch.compile(f, backend=counting_backend(calls), dynamic=False)
    for shape in [(2, 3), (4, 3), (2, 3), (4, 5)]:
        x = torch.randn(shape)
        torch.testing.assert_close(cf(x), f(x))
    assert calls == [[(2, 3)], [(4, 3)], [(4, 5)]]


def test_automatic_dynamic_reuses_one_artifact(fresh_cache):
    calls = []
    cf = torch.compile(f, backend=counting_backend(calls))
    for n in [2, 4, 6, 9, 4]:
        x = torch.randn(n, 3)
        torch.testing.assert_close(cf(x), f(x))
    assert len(calls) == 2, calls  # static for n=2, then one dynamic graph for the rest
    assert variants() == 2


def test_dtype_change_recompiles(fresh_cache):
    def g(x):
        return x * 3 + 1

    cf = torch.compile(g, backend="dynamlir", dynamic=False)
    for dtype in [torch.float32, torch.float64, torch.int64, torch.int32, torch.float32]:
        x = torch.arange(6, dtype=dtype).reshape(2, 3)
        out = cf(x)
        assert out.dtype == dtype
        assert torch.equal(out, g(x))


def test_requires_grad_change_is_not_stale(fresh_cache):
    cf = torch.compile(f, backend="dynamlir")
    x = torch.randn(3, 4)
    out = cf(x)
    assert not out.requires_grad
    xg = x.clone().requires_grad_()
    out = cf(xg)
    assert out.requires_grad
    out.pow(2).sum().backward()
    ref = x.clone().requires_grad_()
    f(ref).pow(2).sum().backward()
    torch.testing.assert_close(xg.grad, ref.grad)
    assert not cf(x).requires_grad


def test_grad_mode_change_is_not_stale(fresh_cache):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    cm = torch.compile(model, backend="dynamlir")
    x = torch.randn(5, 4)
    with torch.no_grad():
        out = cm(x)
    assert not out.requires_grad
    torch.testing.assert_close(out, model(x).detach())
    out = cm(x)
    assert out.requires_grad
    out.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(x).sum().backward()
    for g, p in zip(grads, model.parameters()):
        torch.testing.assert_close(g, p.grad)


def test_parameter_updates_are_seen(fresh_cache):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    cm = torch.compile(model, backend="dynamlir")
    x = torch.randn(2, 4)
    with torch.no_grad():
        first = cm(x)
        model.weight.mul_(-2)
        model.bias.add_(1)
        second = cm(x)
    torch.testing.assert_close(second, model(x).detach())
    assert not torch.allclose(first, second)


def test_captured_constants_are_not_shared(fresh_cache):
    # The same graph with different constant values: different IR, different cache keys.
    outs = []
    for value in (1.0, 2.0):
        const = torch.full((3,), value)
        cf = torch.compile(lambda x, c=const: x * c, backend="dynamlir")
        outs.append(cf(torch.ones(3)))
    torch.testing.assert_close(outs[0], torch.full((3,), 1.0))
    torch.testing.assert_close(outs[1], torch.full((3,), 2.0))


def test_recompile_limit_falls_back_to_eager_with_one_warning(fresh_cache, caplog):
    def g(x):
        return torch.relu(x) * 2

    cf = torch.compile(g, backend="dynamlir", dynamic=False)
    dynamo_log = logging.getLogger("torch._dynamo")  # does not propagate to the root logger
    dynamo_log.addHandler(caplog.handler)
    try:
        with torch._dynamo.config.patch(recompile_limit=2):
            for dtype in [torch.float32, torch.float64, torch.int64, torch.int32, torch.int16]:
                x = torch.arange(-3, 3).to(dtype)
                assert torch.equal(cf(x), g(x))
    finally:
        dynamo_log.removeHandler(caplog.handler)
    hits = [r.getMessage() for r in caplog.records if "recompile_limit" in r.getMessage()]
    assert len(hits) == 1, hits
    assert "tensor 'x' dtype mismatch" in hits[0]


def test_cache_key_covers_ir_pipeline_host_and_versions(monkeypatch):
    parts = cache.fingerprint_parts()
    # dynamlir's own code enters through "sources" (the hash of its code generator's files)
    for name in ("torch-mlir", "torch", "machine", "cpu", "vector_bits", "sources"):
        assert parts[name], name
    assert parts["torch-mlir"] not in ("", "unknown")
    base = cache.key_of("module {}", "tg-cpu-pipeline")
    assert cache.key_of("module { }", "tg-cpu-pipeline") != base
    assert cache.key_of("module {}", "tg-cpu-pipeline,cse") != base
    for name in ("torch-mlir", "sources", "cpu"):
        monkeypatch.setattr(cache, "fingerprint_parts", lambda n=name: {**parts, n: "other"})
        assert cache.key_of("module {}", "tg-cpu-pipeline") != base, name


PROBE = textwrap.dedent("""
    import json, torch
    from dynamlir.runtime import debug
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.randn(3, 8)
    with torch.no_grad():
        y = torch.compile(m, backend="dynamlir")(x)
        assert torch.allclose(y, m(x), atol=1e-5)
    print(json.dumps(dict(debug.COUNTERS)))
""")


def test_second_process_skips_code_generation(tmp_path):
    env = {**os.environ, "DYNAMLIR_CACHE_DIR": str(tmp_path), "DYNAMLIR_LOG": "info"}
    env.pop("DYNAMLIR_DUMP_IR", None)
    runs = []
    for _ in range(2):
        proc = run_python(PROBE, env)
        assert proc.returncode == 0, proc.stderr
        runs.append((json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr))
    (first, _), (second, log) = runs
    assert first["pipeline_runs"] >= 1 and first["disk_stores"] >= 1
    assert second.get("pipeline_runs", 0) == 0 and second.get("cpu_compiles", 0) == 0
    assert second["disk_hits"] == first["disk_stores"]
    assert "disk cache hit, no code generation" in log


def compile_probe():
    text = """
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %0 = "tg.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }"""
    x = torch.tensor([0.0, 1.0, -1.0, 2.0])
    (out,) = CpuFunction(text, [OutputSpec(torch.float32, (4,))])(x)
    torch.testing.assert_close(out, x.exp())


def corrupt(path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip":
        mid = len(data) // 2
        path.write_bytes(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1 :])
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("kind", ["so", "llvm"])
@pytest.mark.parametrize(
    "target, how",
    [
        ("payload", "truncate"),
        ("payload", "flip"),
        ("payload", "empty"),
        ("json", "truncate"),
        ("json", "flip"),
        ("payload", "delete"),
    ],
)
def test_corrupt_cache_entry_is_rebuilt_not_loaded(fresh_cache, monkeypatch, kind, target, how):
    if kind == "llvm":  # no C compiler: the entry is the LLVM-dialect text
        monkeypatch.setattr(cache.llvm_jit, "c_compiler", lambda: None)
    compile_probe()
    (meta_path,) = [p for p in fresh_cache.glob("*.json") if p.suffixes == [".json"]]  # not records
    meta = json.loads(meta_path.read_text())
    assert meta["kind"] == kind
    payload = fresh_cache / meta["file"]
    victim = payload if target == "payload" else meta_path
    if how == "delete":
        victim.unlink()
    else:
        corrupt(victim, how)
    cache._MEMORY.clear()
    debug.reset_counters()
    compile_probe()  # must rebuild, not load the damaged entry
    assert debug.COUNTERS["disk_hits"] == 0
    assert debug.COUNTERS["disk_corrupt"] == 1
    assert debug.COUNTERS["cpu_compiles"] == 1
    cache._MEMORY.clear()
    debug.reset_counters()
    compile_probe()  # the rebuilt entry is whole again
    assert debug.COUNTERS["disk_hits"] == 1 and debug.COUNTERS["cpu_compiles"] == 0


def test_warm_process_loads_a_variant_without_parsing_it(fresh_cache, monkeypatch):
    """Note [variant records] (runtime/cpu.py): the exact text's record names the entry."""
    from dynamlir.runtime import cpu

    compile_probe()
    assert len(list(fresh_cache.glob("*.variant.json"))) == 1
    cache._MEMORY.clear()
    debug.reset_counters()

    def no_parse(*args, **kwargs):
        raise AssertionError("a recorded variant was parsed")

    monkeypatch.setattr(cpu, "wrap_entry_texts", no_parse)
    compile_probe()
    assert debug.COUNTERS["disk_hits"] == 1 and debug.COUNTERS["cpu_compiles"] == 0


def test_damaged_variant_record_falls_back_to_the_entry_key(fresh_cache):
    compile_probe()
    (record,) = fresh_cache.glob("*.variant.json")
    corrupt(record, "flip")
    cache._MEMORY.clear()
    debug.reset_counters()
    compile_probe()  # the record is dropped; the module is wrapped and its entry found
    assert debug.COUNTERS["disk_corrupt"] == 1
    assert debug.COUNTERS["disk_hits"] == 1 and debug.COUNTERS["cpu_compiles"] == 0


def test_variant_record_without_its_entry_compiles_again(fresh_cache):
    compile_probe()
    for meta in (p for p in fresh_cache.glob("*.json") if p.suffixes == [".json"]):
        meta.unlink()
    cache._MEMORY.clear()
    debug.reset_counters()
    compile_probe()
    assert debug.COUNTERS["cpu_compiles"] == 1 and debug.COUNTERS["disk_hits"] == 0
