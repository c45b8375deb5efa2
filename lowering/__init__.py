"""Passes and pipelines. Importing this package registers every dynamlir pass.

Registration is eager: each concern module below runs its decorators on import.
"""

from __future__ import annotations

from . import cpu, decompose, to_linalg  # noqa: F401  (register passes and pipelines)
from .pipeline import PipelineError, build_pass_manager
from .registry import PASSES, PIPELINES, register_pass, register_pipeline

__all__ = ["PASSES", "PIPELINES", "PipelineError", "build_pass_manager", "register_pass", "register_pipeline"]
