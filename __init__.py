"""dynamlir: PyTorch 2.0's graph mode rebuilt on MLIR.

`torch.compile(model, backend="dynamlir")` works without importing this package (entry
point); `dynamlir.compile` and `dynamlir.export_mlir` are the direct APIs. They are
imported lazily so that the shell tools (dynamlir-opt) start without loading torch.
"""

from __future__ import annotations

__all__ = ["compile", "export_mlir", "explain"]


def __getattr__(name: str):
    if name == "explain":
        from .frontend.explain import explain

        return explain
    if name in __all__:
        from .frontend import api

        return getattr(api, name)
    raise AttributeError(f"module 'dynamlir' has no attribute '{name}'")
