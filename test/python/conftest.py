"""pytest configuration: tests marked `cuda` skip, with the reason, where no GPU is usable."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if not any(item.get_closest_marker("cuda") for item in items):
        return
    from dynamlir.runtime.cuda import cuda_available

    ok, reason = cuda_available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA device: {reason}")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)
