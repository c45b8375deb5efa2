"""Output sizes for dynamic shapes: each symbolic output dim is a sympy expression over
the symbols of the input sizes; it is compiled once into a plain Python function."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch


def symbol_sources(fake_inputs: Sequence[Any]) -> dict[Any, tuple[int, int]]:
    """Symbol -> (input index, dim) for each input size that is a bare symbol."""
    found: dict[Any, tuple[int, int]] = {}
    for i, t in enumerate(fake_inputs):
        if not isinstance(t, torch.Tensor):
            continue
        for d, s in enumerate(t.shape):
            if isinstance(s, torch.SymInt):
                expr = s.node.expr
                if expr.is_Symbol and expr not in found:
                    found[expr] = (i, d)
    return found


# torch's symbolic shapes use integer division nodes that plain `math` does not name.
_SYMPY_INTEGER_OPS = {
    "FloorDiv": lambda a, b: a // b,
    "CeilDiv": lambda a, b: -(-a // b),
    "Mod": lambda a, b: a % b,
    "PythonMod": lambda a, b: a % b,
}


def output_shape_fn(out: torch.Tensor, fake_inputs: Sequence[Any]) -> Callable | None:
    """A function of the runtime inputs giving `out`'s sizes, or None when static."""
    if all(isinstance(s, int) for s in out.shape):
        return None
    import sympy

    sources = symbol_sources(fake_inputs)
    symbols = list(sources)
    dims = []
    for s in out.shape:
        if isinstance(s, int):
            dims.append(s)
            continue
        expr = s.node.expr
        missing = expr.free_symbols - set(symbols)
        if missing:
            raise NotImplementedError(f"output size {expr} depends on unbound symbols {missing}")
        dims.append(sympy.lambdify(symbols, expr, modules=[_SYMPY_INTEGER_OPS, "math"]))
    where = [sources[sym] for sym in symbols]

    def sizes(inputs):
        values = [inputs[i].shape[d] for i, d in where]
        return [d if isinstance(d, int) else int(d(*values)) for d in dims]

    return sizes
