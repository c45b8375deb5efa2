"""pytest configuration: tests marked `gpu` skip, with the reason, where no GPU is usable;
tests may add lines (pass counts) to the terminal summary through SUMMARY_LINES."""

from __future__ import annotations

import pytest

SUMMARY_LINES = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in config.stash.get(SUMMARY_LINES, []):
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    if not any(item.get_closest_marker("gpu") for item in items):
        return
    from dynamlir.runtime.cuda import cuda_available

    ok, reason = cuda_available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"needs a CUDA device: {reason}")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)
