"""dynamlir.explain: per-graph compiled ops, fallbacks with reasons, graph breaks, guards."""

from __future__ import annotations

import torch

import dynamlir


def with_break(x, y):
    a = torch.sin(x) + 1
    print("graph break here")  # noqa: T201 - Dynamo cannot trace print: a graph break
    return a.cumsum(0) * y, x.nonzero()


def test_explain_reports_graphs_breaks_and_guards(capsys):
    report = dynamlir.explain(with_break, torch.randn(4), torch.randn(4))
    assert len(report.graphs) >= 2
    assert report.graphs[0].compiled_ops["aten.sin.default"] == 1
    assert report.graphs[0].compiles
    assert any("print" in b or "builtin" in b for b in report.graph_breaks)
    assert any("TENSOR_MATCH" in g for g in report.guards)
    text = str(report)
    assert text.startswith("dynamlir.explain:") and "graph break 0:" in text


def test_explain_lists_every_unsupported_op_with_its_line():
    def fn(x):
        a = torch.special.i0(x)  # no tg mapping
        b = torch.special.polygamma(1, x)  # none either; independent of a
        return a + b + x.exp()

    report = dynamlir.explain(fn, torch.rand(3) + 0.5)
    (graph,) = report.graphs
    ops = [f.op for f in graph.fallbacks]
    assert len(ops) == 2 and "i0" in ops[0] and "polygamma" in ops[1]
    assert all("test_explain.py" in f.where for f in graph.fallbacks)
    assert graph.compiled_ops["aten.exp.default"] == 1
    # the two run eagerly in one segment; exp and the adds that read them compile after it
    kinds = [s.compiled for s in graph.segments]
    assert kinds == [False, True], str(report)
    assert graph.segments[0].ops == {
        "aten.special_i0.default": 1,
        "aten.special_polygamma.default": 1,
    }
    assert graph.segments[1].ops == {"aten.add.Tensor": 2, "aten.exp.default": 1}
    assert not graph.compiles and report.fallback_count == 1
    text = str(report)
    assert "segment 0: eager: aten.special_i0.default x1, aten.special_polygamma.default x1" in text


def test_explain_under_dynamic_shapes_says_why_a_graph_is_compiled_per_shape():
    def halves(x):  # a split of a dynamic dim has no shape-generic form
        a, b = x.tanh().chunk(2, dim=1)
        return a * b

    report = dynamlir.explain(halves, torch.randn(2, 8, 32), dynamic=True)
    (graph,) = report.graphs
    assert "split of a dynamic dim" in graph.per_shape
    assert "compiled once per input shape (up to 8)" in str(report)
    static = dynamlir.explain(halves, torch.randn(2, 8, 32))
    assert static.graphs[0].per_shape == "" and static.graphs[0].compiles


def test_explain_under_dynamic_shapes_compiles_a_block_shape_generically():
    # Its head split (two dynamic dims) and causal mask (a fill of a dynamic shape) take
    # their sizes at run time (Note [runtime sizes]).
    from dynamlir.demo import Block

    report = dynamlir.explain(Block(d=32, heads=4).eval(), torch.randn(2, 8, 32), dynamic=True)
    (graph,) = report.graphs
    assert graph.per_shape == "" and graph.compiles and report.fallback_count == 0
