"""Lowercase builders for dialects/ops_index.py, in the style of builders.py."""

from __future__ import annotations

from . import ops_index as I
from .tg import build


def gather(x, index, dim: int):
    return build(I.GatherOp, x, index, dim=int(dim))


def scatter_add(x, index, src, dim: int):
    return build(I.ScatterAddOp, x, index, src, dim=int(dim))


def insert_slice(dest, src, dim: int, start: int = 0, step: int = 1):
    return build(I.InsertSliceOp, dest, src, dim=int(dim), start=int(start), step=int(step))


def stop_gradient(x):
    return build(I.StopGradientOp, x)


__all__ = ["gather", "scatter_add", "insert_slice", "stop_gradient"]
