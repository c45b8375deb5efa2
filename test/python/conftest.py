"""pytest configuration: tests marked `gpu` skip, with the reason, where no GPU is usable;
tests may add lines (pass counts) to the terminal summary through SUMMARY_LINES; the shared
`fresh_cache` fixture and `run_python` helper."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from dynamlir.runtime import cache, debug

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


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty disk cache directory and an empty in-memory cache, counters at zero."""
    monkeypatch.setenv("DYNAMLIR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DYNAMLIR_DUMP_IR", raising=False)
    saved = dict(cache._MEMORY)
    cache._MEMORY.clear()
    debug.reset_counters()
    torch._dynamo.reset()
    yield tmp_path / "cache"
    cache._MEMORY.clear()
    cache._MEMORY.update(saved)
    torch._dynamo.reset()


def counting(monkeypatch, module, name: str) -> list:
    """Replace `module.name`, a rewrite returning how many places it changed, by one that
    also appends that count to the returned list."""
    counts = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda m: counts.append(real(m)))
    return counts


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python process with `env`; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True,
        timeout=300,
    )
