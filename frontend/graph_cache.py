"""The graph cache: a Dynamo graph seen before (in this process or another one sharing
DYNAMLIR_CACHE_DIR) is rebuilt from its recorded plan, without aot_export, partitioning
or importing.

Note [graph cache]
~~~~~~~~~~~~~~~~~~
With a warm disk cache, the CPU code of a graph loads in milliseconds (runtime/cache.py),
but the frontend in front of it (functionalizing aot_export on fake tensors, partitioning,
importing to tg: ~0.2 s for a transformer block) ran again in every process. Its output
is a plan: where the graph's tensors come from, the compiled segments (tg text, output
dtypes and shapes, the layouts compiled up front) and the write-backs. The plan is stored
as a checksummed record keyed by everything the frontend reads:

- the Dynamo graph: its code, each node's stack trace (the tg locations come from them),
  the code of nested graph modules; the values of its constant tensors (they are imported
  as tg constants) and the metadata of its parameters and buffers (read at call time);
- per example input: type, shape, strides, storage offset, dtype, device, requires_grad,
  leafness, and which inputs share a storage (aliasing changes functionalization);
- grad mode, autocast, the default dtype, the backend options, and the fingerprint of the
  dynamlir sources and versions (runtime/cache.py, frontend and runtime files included).

Only what the key fully determines is recorded, so a hit behaves as a miss would:
static shapes only (under dynamic shapes aot_export adds guards to Dynamo's shape
environment, which a hit would skip); CPU only; calls of torch, operator and math
functions only (another function's behaviour is not in its name); plans whose segments
all compile, with no constant tensors lifted by aot_export and tensors as the only
non-constant outputs (an eager segment needs the ATen graph). Anything else takes the full
path. A hit's compiled segments have no eager twin: if one fails later (a new input layout
that does not compile), the graph is built again the full way, once, and that runner takes
over the call, with the full path's fallback and warnings. DYNAMLIR_DUMP_IR bypasses the
cache, as it does for CPU code.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import fx

from ..runtime import cache, debug
from ..runtime.cpu import CompileError, CpuFunction, OutputSpec

FORMAT = "1"
_SAFE_MODULES = ("torch", "_operator", "operator", "math", "builtins")
_PLAIN = (int, float, bool, str, type(None))


_bypass = threading.local()  # set while a cached runner rebuilds its graph the full way


def compile_cached(gm: fx.GraphModule, example_inputs, options: dict, compile_graph: Callable):
    """`compile_graph(gm, example_inputs, **options)`, through the graph cache."""
    if getattr(_bypass, "on", False):
        return compile_graph(gm, example_inputs, **options)
    key = graph_key(gm, example_inputs, options)
    if key is not None and (record := cache.load_record(key, "graph")) is not None:
        try:
            runner = from_record(record, gm, example_inputs, options)
        except (CompileError, KeyError, TypeError, ValueError) as e:
            # A record that does not rebuild (an unreadable field or a .so that no longer
            # loads and recompiles badly) is a miss: the full path decides.
            debug.log.debug("graph cache: record %s not used: %s", key, e)
        else:
            debug.count("graph_hits")
            debug.log.info("graph cache hit: no aot_export or import (key %s)", key)
            return runner
    fallbacks = debug.COUNTERS["fallbacks"]
    runner = compile_graph(gm, example_inputs, **options)
    if debug.COUNTERS["fallbacks"] != fallbacks:
        return runner  # a hit would not repeat the fallback's warning
    if key is not None and (record := to_record(runner)) is not None:
        cache.store_record(key, "graph", record)
        debug.count("graph_stores")
    return runner


# --- the key -------------------------------------------------------------------------


def graph_key(gm: fx.GraphModule, example_inputs: Sequence[Any], options: dict) -> str | None:
    """The key of Note [graph cache], or None when the graph is not cacheable."""
    if cache.cache_dir() is None or debug.dump_dir() is not None:
        return None
    if set(options) - {"pipeline"}:
        return None  # e.g. a GPU chip: CPU plans only
    h = hashlib.sha256()
    parts = [
        FORMAT,
        cache.frontend_fingerprint(),
        json.dumps(options, sort_keys=True),
        str(torch.is_grad_enabled()),
        str(torch.is_autocast_enabled("cpu")),
        str(torch.get_default_dtype()),
    ]
    for part in parts:
        h.update(part.encode() + b"\0")
    try:
        if not hash_graph(h, gm) or not _hash_inputs(h, gm, example_inputs):
            return None
    except Exception:  # noqa: BLE001 - an unusual graph or input: take the full path
        return None
    return h.hexdigest()[:40]


def hash_graph(h, gm: fx.GraphModule) -> bool:
    """Feed `h` everything of `gm` a plan depends on; False when that is not all in it (a
    call of a module, or of a function outside torch, operator, math and builtins)."""
    params = dict(gm.named_parameters())
    buffers = dict(gm.named_buffers())
    for name, sub in gm.named_modules():
        if sub is gm:
            continue
        if not isinstance(sub, fx.GraphModule):
            return False
        h.update(f"submodule {name}\0{sub.code}\0".encode())
    h.update(gm.code.encode())
    for node in gm.graph.nodes:
        if node.op == "call_module":
            return False
        if node.op == "call_function" and not _known_function(node.target):
            return False
        h.update(f"\0{node.name}\0{node.meta.get('stack_trace') or ''}".encode())
        if node.op == "get_attr":
            value = _attr(gm, node.target)
            if node.target in params or node.target in buffers:
                h.update(_tensor_meta(value).encode())
            elif isinstance(value, torch.Tensor):
                t = value.detach().cpu().contiguous()
                h.update(_tensor_meta(value).encode())
                h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
            elif isinstance(value, _PLAIN):
                h.update(repr(value).encode())
            else:
                return False
    return True


def _hash_inputs(h, gm: fx.GraphModule, example_inputs: Sequence[Any]) -> bool:
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    fakes = [n.meta.get("example_value", n.meta.get("val")) for n in placeholders]
    storages: dict[int, int] = {}
    for i, t in enumerate(example_inputs):
        if isinstance(t, torch.Tensor):
            if type(t) not in (torch.Tensor, torch.nn.Parameter):
                return False  # tensor subclasses: their metadata is not all in the key
            if t.device.type != "cpu" or not is_static(t):
                return False
            storage = t.untyped_storage()._cdata
            group = storages.setdefault(storage, i)
            h.update(f"\0{i}:{_tensor_meta(t)} {t.requires_grad} {t.is_leaf} {group}".encode())
        elif isinstance(t, _PLAIN):
            h.update(f"\0{i}:{type(t).__name__} {t!r}".encode())
        else:  # SymInt and other symbolic inputs: dynamic shapes
            return False
    return all(f is None or not isinstance(f, torch.Tensor) or is_static(f) for f in fakes)


def is_static(t: torch.Tensor) -> bool:
    """Sizes, strides and offset all plain ints (no symbolic size of dynamic shapes)."""
    return all(type(s) is int for s in (*t.shape, *t.stride(), t.storage_offset()))


def _tensor_meta(t: torch.Tensor) -> str:
    return (
        f"{type(t).__name__} {tuple(t.shape)} {tuple(t.stride())} {t.storage_offset()} "
        f"{t.dtype} {t.device} {t.requires_grad} {t.layout}"
    )


def _known_function(target) -> bool:
    if isinstance(target, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return True
    module = getattr(target, "__module__", None) or ""
    return module.split(".")[0] in _SAFE_MODULES


def _attr(module, target: str):
    for part in target.split("."):
        module = getattr(module, part)
    return module


# --- plan <-> record -------------------------------------------------------------------


def to_record(runner) -> dict | None:
    """The plan of a fully compiled runner (backend.PartialGraph), or None."""
    from .backend import CompiledSegment, PartialGraph

    if type(runner) is not PartialGraph or runner.constants or runner.protect:
        return None
    if not all(type(s) is CompiledSegment and not s.failed for s in runner.steps):
        return None
    steps = []
    for s in runner.steps:
        if getattr(s, "chip", None) is not None or not isinstance(s.function, CpuFunction):
            return None
        if any(o.shape_fn is not None for o in s.function.outputs):
            return None
        steps.append(
            {
                "outputs": s.outputs,
                "grad": s.grad,
                "args": s.args,
                "inputs": s.inputs,
                "module_text": s.module_text,
                "pipeline": s.pipeline,
                "specs": [[str(o.dtype), list(o.shape)] for o in s.function.outputs],
                "differentiable": s.differentiable,
                "where": s.where,
                "variants": [list(k) for k in s.function._variants],
            }
        )
    if any(name is None and not isinstance(v, _PLAIN) for name, v in runner.out):
        return None
    return {
        "sources": [list(x) for x in runner.sources],
        "out": [list(x) for x in runner.out],
        "mutations": [list(x) for x in runner.mutations],
        "release": runner.release,
        "steps": steps,
    }


def from_record(record: dict, gm, example_inputs, options: dict):
    """A runner for `gm` from its recorded plan (Note [graph cache])."""
    from .backend import CompiledSegment, PartialGraph

    class CachedGraph(PartialGraph):
        """The recorded plan; rebuilt the full way if one of its segments fails."""

        def __call__(self, *args):
            if self.full is None:
                try:
                    return PartialGraph.__call__(self, *args)
                except (CompileError, ValueError):
                    self.full = self.rebuild()
            return self.full(*args)

    runner = CachedGraph.__new__(CachedGraph)
    runner.gm = gm
    runner.sources = [(n, kind, ref) for n, kind, ref in record["sources"]]
    runner.constants = {}
    runner.out = [(n, v) for n, v in record["out"]]
    runner.mutations = [(i, kind, ref) for i, kind, ref in record["mutations"]]
    runner.n_mutations = len(runner.mutations)
    runner.release = [list(r) for r in record["release"]]
    runner.protect = []
    runner.steps = []
    for s in record["steps"]:
        step = CompiledSegment.__new__(CompiledSegment)
        step.eager = None
        step.outputs, step.grad = list(s["outputs"]), bool(s["grad"])
        step.args, step.inputs = list(s["args"]), list(s["inputs"])
        step.module_text, step.pipeline = s["module_text"], s["pipeline"]
        specs = [OutputSpec(_dtype(d), tuple(int(x) for x in shape)) for d, shape in s["specs"]]
        step.function = CpuFunction(step.module_text, specs, pipeline=step.pipeline)
        step.differentiable = bool(s["differentiable"])
        step._autograd = {}
        step.failed = False
        step.where = s["where"]
        step.device, step.chip = torch.device("cpu"), None
        for key in s["variants"]:  # compiled up front, as the full path does
            step.function.variant(tuple(bool(c) for c in key))
        runner.steps.append(step)
    if len(runner.release) != len(runner.steps):
        raise ValueError("frontend: graph cache: release lists do not match the steps")
    runner.direct = runner._direct_call()  # Note [direct graph calls]
    grad = torch.is_grad_enabled()

    def rebuild():
        from .backend import dynamlir_backend

        debug.log.info("graph cache: a cached segment failed; building the graph again")
        _bypass.on = True
        try:
            with torch.set_grad_enabled(grad):
                return dynamlir_backend(gm, example_inputs, **options)
        finally:
            _bypass.on = False

    runner.full, runner.rebuild = None, rebuild
    return runner


def _dtype(text: str) -> torch.dtype:
    dtype = getattr(torch, text.removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"frontend: graph cache: unknown dtype '{text}'")
    return dtype
