"""Compile-time caches and shortcuts: the graph cache (frontend/graph_cache.py) rebuilds a
Dynamo graph from its recorded plan without aot_export or import and behaves as the full
path (results, training, mutations, fallbacks); its key changes with everything the plan
depends on; the stage cache (runtime/stages.py) skips autodiff's passes; stages print no
IR unless they fail; tg ops are wrapped without failed module imports."""

from __future__ import annotations

import logging
import re
import sys
import warnings

import pytest
import torch
from dynamlir.dialects import make_context
from dynamlir.frontend import backend, graph_cache
from dynamlir.lowering.registry import register_pass
from dynamlir.runtime import cache, debug, stages
from dynamlir.runtime.cpu import CompileError
from torch import fx
from torch_mlir import ir


def compiled(fn, **kwargs):
    """A new torch.compile of `fn`, as in a new process (no Dynamo or in-memory cache)."""
    torch._dynamo.reset()
    cache._MEMORY.clear()
    return torch.compile(fn, backend="dynamlir", **kwargs)


def forbid_frontend(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("aot_export ran on a graph cache hit")

    monkeypatch.setattr(backend, "export_aten", fail)


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Linear(16, 4))


def test_second_compile_skips_the_frontend(fresh_cache, monkeypatch):
    model, x = mlp().eval(), torch.randn(3, 8)
    with torch.no_grad():
        first = compiled(model)(x)
    assert debug.COUNTERS["graph_stores"] == 1
    assert len(list(fresh_cache.glob("*.graph.json"))) == 1
    forbid_frontend(monkeypatch)
    with torch.no_grad():
        second = compiled(model)(x)
        torch.testing.assert_close(second, model(x))
    assert debug.COUNTERS["graph_hits"] == 1
    torch.testing.assert_close(first, second)


def test_graph_cache_hit_starts_no_jit_helpers(fresh_cache, monkeypatch):
    # A hit needs no LLVM: the helper processes (Python and llvmlite starting up on the
    # other core) would slow a warm process's first call. A miss starts them.
    from dynamlir.runtime import llvm_jit

    model, x = mlp().eval(), torch.randn(3, 8)
    with torch.no_grad():
        compiled(model)(x)
    started = []
    monkeypatch.setattr(llvm_jit, "start_helpers", lambda: started.append(True))
    with torch.no_grad():
        compiled(model)(x)
    assert debug.COUNTERS["graph_hits"] == 1 and started == []
    with torch.no_grad():
        compiled(lambda x: torch.tanh(x) * 3)(x)
    assert started == [True]


def test_hit_trains_like_the_full_path_and_skips_autodiff_passes(fresh_cache, monkeypatch):
    model, x = mlp(), torch.randn(3, 8)
    compiled(model)(x).pow(2).sum().backward()
    full = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    runs = debug.COUNTERS["pipeline_runs"]
    forbid_frontend(monkeypatch)
    compiled(model)(x).pow(2).sum().backward()
    assert debug.COUNTERS["graph_hits"] == 1 and debug.COUNTERS["stage_hits"] == 1
    assert debug.COUNTERS["pipeline_runs"] == runs  # fwd/bwd code came from the disk cache
    for g, p in zip(full, model.parameters()):
        torch.testing.assert_close(p.grad, g)


def test_hit_writes_back_mutated_inputs(fresh_cache, monkeypatch):
    def g(x, acc):
        acc.add_(x.sum(0))
        return x * 2 + acc

    outs = []
    for i in range(2):
        if i:
            forbid_frontend(monkeypatch)
        x, acc = torch.randn(4, 3), torch.ones(3)
        want_acc = acc + x.sum(0)
        outs.append(compiled(g)(x, acc))
        torch.testing.assert_close(acc, want_acc)
        torch.testing.assert_close(outs[-1], x * 2 + want_acc)
    assert debug.COUNTERS["graph_hits"] == 1


def captured(fn, *args, **kwargs):
    """(gm, example_inputs) of the one graph Dynamo captures from fn(*args)."""
    graphs = []

    def backend_fn(gm, example_inputs):
        graphs.append((gm, example_inputs))
        return gm.forward

    torch._dynamo.reset()
    torch.compile(fn, backend=backend_fn, **kwargs)(*args)
    torch._dynamo.reset()
    assert len(graphs) == 1
    return graphs[0]


def key(fn, *args, options=None, **kwargs):
    gm, example_inputs = captured(fn, *args, **kwargs)
    return graph_cache.graph_key(gm, example_inputs, options or {})


def test_key_covers_graph_inputs_state_and_options(fresh_cache, monkeypatch):
    def f(x):
        return torch.softmax(x * 2, dim=-1)

    x = torch.randn(2, 3)
    base = key(f, x, dynamic=False)
    assert base is not None and key(f, x.clone(), dynamic=False) == base
    assert key(f, torch.randn(2, 4), dynamic=False) != base
    assert key(f, x.double(), dynamic=False) != base
    assert key(f, x.clone().requires_grad_(), dynamic=False) != base
    assert key(f, x.t().contiguous().t(), dynamic=False) != base  # other strides
    with torch.no_grad():
        assert key(f, x, dynamic=False) != base
    assert key(f, x, options={"pipeline": "tg-cpu-pipeline"}, dynamic=False) != base
    assert key(lambda x: torch.softmax(x * 3, dim=-1), x, dynamic=False) != base
    literals = [key(lambda x, v=v: x * torch.tensor([v, v, v]), x, dynamic=False) for v in (1, 2)]
    assert None not in literals and literals[0] != literals[1]
    # not cacheable: dynamic shapes, a GPU option, the cache turned off, IR dumps
    assert key(f, x, dynamic=True) is None
    assert key(f, x, options={"chip": "sm_90"}, dynamic=False) is None
    monkeypatch.setenv("DYNAMLIR_DUMP_IR", str(fresh_cache / "dumps"))
    assert key(f, x, dynamic=False) is None
    monkeypatch.delenv("DYNAMLIR_DUMP_IR")
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", "0")
    assert key(f, x, dynamic=False) is None


def constant_graph(value: float, as_buffer: bool = False) -> fx.GraphModule:
    """x * c with c a get_attr tensor: a plain constant, or a buffer."""
    graph = fx.Graph()
    x, c = graph.placeholder("x"), graph.get_attr("c")
    graph.output((graph.call_function(torch.mul, (x, c)),))
    root = torch.nn.Module()
    root.register_buffer("c", torch.full((3,), value))
    gm = fx.GraphModule(root, graph)
    if not as_buffer:  # a plain tensor attribute (GraphModule makes tensors buffers)
        del gm._buffers["c"]
        gm.__dict__["c"] = torch.full((3,), value)
    return gm


def test_key_covers_constant_values_not_buffer_values(fresh_cache):
    x = [torch.ones(3)]
    consts = [graph_cache.graph_key(constant_graph(v), x, {}) for v in (1.0, 2.0)]
    assert None not in consts and consts[0] != consts[1]  # imported as tg constants
    buffers = [graph_cache.graph_key(constant_graph(v, True), x, {}) for v in (1.0, 2.0)]
    assert None not in buffers and buffers[0] == buffers[1]  # read at call time
    assert buffers[0] != consts[0]


def test_cached_runner_is_built_like_the_full_one(fresh_cache):
    model, x = mlp(), torch.randn(3, 8)
    gm, example_inputs = captured(model, x)
    full = backend.dynamlir_backend(gm, example_inputs)
    fast = backend.dynamlir_backend(gm, example_inputs)
    assert debug.COUNTERS["graph_hits"] == 1
    assert isinstance(fast, backend.PartialGraph) and type(fast) is not backend.PartialGraph
    for name in ("sources", "out", "mutations", "n_mutations", "release", "protect"):
        assert getattr(fast, name) == getattr(full, name), name
    assert set(vars(full)) <= set(vars(fast))
    for a, b in zip(full.steps, fast.steps, strict=True):
        assert set(vars(a)) <= set(vars(b)), set(vars(a)) - set(vars(b))
        for name in ("outputs", "grad", "args", "inputs", "module_text", "differentiable"):
            assert getattr(a, name) == getattr(b, name), name
        assert a.function.outputs == b.function.outputs
    torch.testing.assert_close(fast(*example_inputs)[0], model(x))


def test_failing_cached_segment_falls_back_like_the_full_path(fresh_cache, monkeypatch, caplog):
    model, x = mlp(), torch.randn(3, 8)
    compiled(model)(x)  # stores the plan (training: fwd/bwd are built at the first call)
    from dynamlir.runtime import autograd

    def broken(*args, **kwargs):
        raise CompileError("runtime: cpu compile failed: injected")

    monkeypatch.setattr(autograd.CompiledAutograd, "__init__", broken)
    monkeypatch.setattr(backend, "_warned", set())
    with (
        caplog.at_level(logging.INFO, logger="dynamlir"),
        warnings.catch_warnings(record=True) as w,
    ):
        warnings.simplefilter("always")
        out = compiled(model)(x)
    assert debug.COUNTERS["graph_hits"] == 1
    assert any("a cached segment failed" in r.getMessage() for r in caplog.records)
    assert [str(m.message) for m in w if "eagerly" in str(m.message)], "no fallback warning"
    out.sum().backward()  # the eager twin of the full path ran, under autograd
    ref = mlp()
    ref(x).sum().backward()
    torch.testing.assert_close(out, ref(x))
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


@pytest.mark.parametrize("how", ["flip", "truncate"])
def test_corrupt_graph_record_is_rebuilt(fresh_cache, how):
    model, x = mlp().eval(), torch.randn(3, 8)
    with torch.no_grad():
        compiled(model)(x)
        (path,) = fresh_cache.glob("*.graph.json")
        data = path.read_bytes()
        mid = len(data) // 2
        bad = data[:mid] if how == "truncate" else data[:mid] + b"#" + data[mid + 1 :]
        path.write_bytes(bad)
        debug.reset_counters()
        torch.testing.assert_close(compiled(model)(x), model(x))
    assert debug.COUNTERS["disk_corrupt"] == 1 and debug.COUNTERS["graph_hits"] == 0
    assert debug.COUNTERS["graph_stores"] == 1  # stored again, whole
    assert path.read_bytes() == data


TEXT = """
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "tg.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = "tg.neg"(%0) : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}"""


@register_pass("tg-test-cache-raise")
def raising_pass(module, pass_):
    """Fails, for the tests of failure messages."""
    raise RuntimeError("injected failure")


def test_stages_print_nothing_unless_they_fail(monkeypatch):
    printed = []
    real = stages.asm
    monkeypatch.setattr(stages, "asm", lambda m: printed.append(1) or real(m))
    monkeypatch.delenv("DYNAMLIR_DUMP_IR", raising=False)
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(TEXT)
        stages.run_stages(module, "tg-decompose,tg-lower-to-linalg,cse", "test", "g")
        assert printed == []
        module = ir.Module.parse(TEXT)
        with pytest.raises(CompileError, match="in pass 'tg-test-cache-raise'") as info:
            stages.run_stages(module, "tg-decompose,cse,tg-test-cache-raise", "test", "g")
    assert printed  # the failing stage's input, from its clone
    repro = re.search(r"reproduce with: .* (\S+)$", str(info.value)).group(1)
    with open(repro) as f:
        assert '"tg.exp"' in f.read()  # the IR the failing pass ran on


def test_tg_ops_wrap_without_import_attempts():
    import dynamlir.lowering  # noqa: F401  (registers the dialect module)

    attempts = []

    class Finder:
        def find_spec(self, name, path, target=None):
            if name.endswith(".tg"):
                attempts.append(name)

    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(TEXT)
        body = module.body.operations[0].regions[0].blocks[0]
        first = list(body.operations)  # the first lookup may import once
        sys.meta_path.insert(0, finder := Finder())
        try:
            for _ in range(50):
                ops = list(body.operations)
        finally:
            sys.meta_path.remove(finder)
    assert attempts == []
    assert [type(op).__name__ for op in ops] == [type(op).__name__ for op in first]
    assert type(ops[0]).__name__ == "ExpOp"
