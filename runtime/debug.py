"""Debugging aids shared by the compile path: the "dynamlir" logger (DYNAMLIR_LOG), event
counters, graph names, per-stage IR dumps (DYNAMLIR_DUMP_IR) and the process-wide compile lock.

Note [graph names and IR dumps]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Every imported tg module gets a short name the first time the runtime sees it (`g0`, `g1`,
... in order); functions derived from it add their own suffix (`g0-main_fwd`). With
DYNAMLIR_DUMP_IR=DIR set, each compile stage writes `DIR/<name>.<n>-<stage>.mlir` (the
imported tg is `<name>.0-tg.mlir`), printed with locations, and headed by a comment with
the dynamlir-opt command that produces the next stage from it. Dumping bypasses the
compile cache, so a dump always shows a real run of the pipeline.

Note [compile lock]
~~~~~~~~~~~~~~~~~~~
MLIR work (parsing, passes, the tg dialect's Python-defined ops, JIT construction) runs
under one re-entrant process-wide lock: Python-defined dialects and the pass registry are
global state, and contexts must not be shared across threads. Calling compiled code needs
no lock, so threads run compiled functions concurrently; only compiles are serialized.
While the lock is held, Python's cyclic garbage collector is paused (`gc_paused`).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import hashlib
import logging
import os
import sys
import threading
import warnings
from pathlib import Path

log = logging.getLogger("dynamlir")

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

#: Event counts since start (or `reset_counters`): pipeline_runs, cpu_compiles, memory_hits,
#: disk_hits, disk_stores, disk_corrupt, autodiff_runs, graphs, calls.
COUNTERS: collections.Counter = collections.Counter()

@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector paused for the block (nests).

    A compile allocates hundreds of thousands of short-lived objects (FX nodes, fake tensors,
    MLIR handles) and so triggers full collections, each walking every object torch and the
    process hold: 15-25% of a compile's samples were in gc_collect_main (perf, GPT-2 block and
    a 512x256x768 matmul). Cycles made meanwhile are collected after the block.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _CompileLock:
    """The re-entrant lock of Note [compile lock]; its outermost holder pauses the GC."""

    def __init__(self):
        self._lock = threading.RLock()
        self._depth = 0
        self._gc = None

    def __enter__(self):
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            self._gc = gc_paused()
            self._gc.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._gc.__exit__(None, None, None)
        self._lock.release()


COMPILE_LOCK = _CompileLock()  # Note [compile lock]

_names: dict[str, str] = {}
_names_lock = threading.Lock()
_handler: logging.Handler | None = None


def configure_logging(value: str | None = None) -> None:
    """Apply DYNAMLIR_LOG (or `value`): debug, info, warning or error sets the level of the
    "dynamlir" logger and sends its records to stderr. An unknown level only warns: a
    misspelt environment variable must not stop the user's program."""
    global _handler
    value = os.environ.get("DYNAMLIR_LOG") if value is None else value
    if not value:
        return
    level = LEVELS.get(value.strip().lower())
    if level is None:
        warnings.warn(
            f"dynamlir: DYNAMLIR_LOG='{value}' is not a log level "
            f"(allowed: {', '.join(LEVELS)}); logging stays off",
            stacklevel=2,
        )
        return
    log.setLevel(level)
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("[dynamlir %(levelname)s] %(message)s"))
        log.addHandler(_handler)


_COUNT_LOCK = threading.Lock()


def count(event: str, n: int = 1) -> None:
    with _COUNT_LOCK:  # `+=` on a Counter is a read and a write: threads would lose counts
        COUNTERS[event] += n


def reset_counters() -> None:
    COUNTERS.clear()


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def graph_name(module_text: str) -> tuple[str, bool]:
    """(name, new): the name of an imported module (Note [graph names and IR dumps]);
    `new` is true the first time this module is seen, when its tg is dumped."""
    key = text_digest(module_text)
    with _names_lock:
        if key in _names:
            return _names[key], False
        name = _names[key] = f"g{len(_names)}"
    return name, True


def dump_dir() -> Path | None:
    value = os.environ.get("DYNAMLIR_DUMP_IR")
    return Path(value) if value else None


def dump(
    name: str, index: int, stage: str, text: str, made_by: str = "", next_pipeline: str = ""
) -> Path | None:
    """Write one stage's IR as `<name>.<index>-<stage>.mlir` when DYNAMLIR_DUMP_IR is set.

    Args:
        name: the graph name (Note [graph names and IR dumps]).
        index: the stage's position, so a directory listing sorts in pipeline order.
        stage: what the IR is ('tg', 'decomposed', 'linalg', 'llvm', ...).
        text: the IR, printed with locations.
        made_by: the pipeline that produced it (recorded in the header).
        next_pipeline: the pipeline producing the next stage (a runnable command in the header).
    Returns:
        The file written, or None when dumping is off or the directory cannot be written.
    """
    d = dump_dir()
    if d is None:
        return None
    path = d / f"{name}.{index}-{stage}.mlir"
    header = [f"// dynamlir: graph '{name}', stage '{stage}'"]
    if made_by:
        header.append(f"// produced by: {made_by}")
    if next_pipeline:
        header.append(
            f"// next stage: dynamlir-opt --pass-pipeline='builtin.module({next_pipeline})' "
            f"{path.name}"
        )
    try:
        d.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(header) + "\n" + text)
    except OSError as e:
        log.warning("cannot write IR dump '%s': %s", path, e)
        return None
    log.debug("dumped %s", path)
    return path


def recompile_reason() -> str | None:
    """The guard whose failure made Dynamo compile this frame again, while the backend is
    being called for it (None on a first compile or outside Dynamo)."""
    try:
        from torch._dynamo.utils import get_metrics_context

        ctx = get_metrics_context()
        return getattr(ctx, "_metrics", {}).get("recompile_reason") if ctx.in_progress() else None
    except Exception:  # noqa: BLE001 - private Dynamo state: best effort only
        return None


def compile_id() -> str | None:
    """Dynamo's id of the frame being compiled ('0/1': frame 0, second compile), or None."""
    try:
        from torch._guards import CompileContext

        cid = CompileContext.current_compile_id()
        return None if cid is None else str(cid)
    except Exception:  # noqa: BLE001 - best effort only
        return None


def log_graph_captured(name: str, n_ops: int, input_types: list[str]) -> None:
    """One info line per captured graph; a recompile also logs the failed guard."""
    count("graphs")
    cid = compile_id()
    where = f" (dynamo frame {cid})" if cid else ""
    log.info(
        "graph captured: %s%s, %d ops, inputs %s",
        name,
        where,
        n_ops,
        ", ".join(input_types) or "none",
    )
    if (reason := recompile_reason()) is not None:
        log.info("recompile of %s: guard failed: %s", name, reason)


def log_fallback(what: str, where: str, reason: str) -> None:
    """For frontend/backend.py's warn_fallback: every fallback, not only the first
    per op (the warning is printed once per op kind)."""
    count("fallbacks")
    log.info("fallback to eager: %s at %s: %s", what, where or "unknown location", reason)


configure_logging()
