"""Passes and pipelines. Importing this package registers every dynamlir pass.

Registration is eager: each concern module below runs its decorators on import.
"""

from __future__ import annotations

from . import cpu, decompose, simplify, to_linalg  # noqa: F401  (register passes and pipelines)
from . import cpu_conv, cpu_conv_kernel  # noqa: F401  (tg-cpu-conv-to-matmul, tg-cpu-conv-kernels)
from .to_linalg import nn as _nn_lowerings  # noqa: F401  (lowerings of the nn primitives)
from .to_linalg import index as _index_lowerings  # noqa: F401  (gather, scatter_add, insert_slice)
from . import vjp_index  # noqa: F401  (their VJP rules)
from . import to_gpu  # noqa: F401  (registers tg-gpu-map-linalg, tg-gpu-pipeline)
from . import affine_gradients, autodiff, partition  # noqa: F401  (tg-fold-affine-gradients, tg-autodiff, tg-partition)
from . import resolve_dims  # noqa: F401  (tg-resolve-dims)
from .pipeline import PipelineError, build_pass_manager
from .registry import PASSES, PIPELINES, register_pass, register_pipeline

__all__ = ["PASSES", "PIPELINES", "PipelineError", "build_pass_manager", "register_pass", "register_pipeline"]
