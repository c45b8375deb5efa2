"""Public API: dynamlir.compile and dynamlir.export_mlir."""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from .backend import check_options, dynamlir_backend, export_aten
from .fx_importer import import_graph

COMPILE_ARGS = {"dynamic", "fullgraph", "mode"}


def compile(model_or_fn: Callable, *, dynamic: bool | None = None, fullgraph: bool = False,
            **options: Any) -> Callable:  # noqa: A001
    """Compile a module or function with dynamlir through torch.compile.

    Args:
        model_or_fn: an nn.Module or a function of tensors.
        dynamic: as torch.compile's `dynamic` (None: automatic dynamic shapes).
        fullgraph: as torch.compile's `fullgraph`.
        options: dynamlir options (see frontend/backend.OPTIONS); unknown ones raise ValueError.
    Returns:
        The compiled callable.
    """
    check_options(options)
    backend = functools.partial(dynamlir_backend, **options) if options else dynamlir_backend
    return torch.compile(model_or_fn, backend=backend, dynamic=dynamic, fullgraph=fullgraph)


def export_mlir(model_or_fn: Callable, *example_inputs: Any) -> str:
    """The imported tg module (text, what dynamlir-opt takes) of the single graph that
    Dynamo captures from `model_or_fn(*example_inputs)`.

    Raises:
        ValueError: when the code does not capture as exactly one graph.
    """
    texts: list[str] = []

    def capture(gm, inputs):
        graph, _ = export_aten(gm, inputs)
        texts.append(import_graph(graph).module_text)
        return gm.forward

    torch._dynamo.reset()
    try:
        torch.compile(model_or_fn, backend=capture, fullgraph=True, dynamic=False)(*example_inputs)
    finally:
        torch._dynamo.reset()
    if len(texts) != 1:
        raise ValueError(f"export_mlir: expected one graph, got {len(texts)}")
    return texts[0]
