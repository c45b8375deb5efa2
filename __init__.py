"""dynamlir: PyTorch 2.0's graph mode rebuilt on MLIR.

`torch.compile(model, backend="dynamlir")` works without importing this package (entry
point); `dynamlir.compile` and `dynamlir.export_mlir` are the direct APIs.
"""

from __future__ import annotations

from .frontend.api import compile, export_mlir  # noqa: A004

__all__ = ["compile", "export_mlir"]
