"""Static specializations of a dynamic graph whose symbolic sizes the importer refuses.

Note [per-shape specialization]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Dynamo hands the backend graphs with symbolic sizes under `dynamic=True`, and under the
default (`dynamic=None`) from the second input shape of a frame on (automatic dynamic
shapes): the recompiled graph has every dim that changed symbolic. Some forms compile
shape-generically (elementwise ops, matmuls, norms, softmax: the kernels read sizes at
run time; reshapes and fills whose sizes are computed at run time, Note [runtime sizes]),
a few do not yet: a split of a dynamic dim, a slice with symbolic bounds other than the
dim's own size, and the other mappings that raise `unsupported(...)` for a symbolic size.
Such a graph used to run those ops eagerly.

When the shape-generic plan of a graph would run something eagerly for its symbolic sizes
(an importer rule refused a node with symbolic sizes: `UnsupportedOpError.dynamic`, or a
compiled segment of it failed to import or compile), `compile_graph` raises
`NeedsStaticShapes` before warning, and the backend returns `PerShape` instead: each call's
input shapes (and symbolic int inputs) select a static specialization of the graph,
compiled on first use as a static graph is, through the graph and disk caches, so the
same shapes in a later process load in milliseconds. That is what the default mode does
anyway before its first recompile, one compile per shape; Dynamo itself caps recompiles
of a frame at 8, and so does `LIMIT` here: later new shapes run the graph eagerly, with
one warning. Where specializing would not help, or hardly, the graph keeps its one
shape-generic plan with the op eager, as before: an op with no tg mapping at all, or a
symbolic size used as a tensor value (`x + x.shape[0]`: one cheap eager op between
compiled segments; `unsupported(..., dynamic=False)`).

Finding the refusal costs an ATen export on symbolic shapes (0.54 s for the GPT-2 block's
training graph, against 0.12 s static), so the decision is recorded in the disk cache
(`<key>.per-shape.json`, keyed like a graph plan but by the inputs' symbolic sizes): a
later process goes to `PerShape` at once.

Still missing: shape-generic forms of those ops (slices with run-time bounds), which would
make one compile serve every shape for them too.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from typing import Any, Callable, Sequence

import torch
import torch.fx as fx

from ..runtime import cache, debug
from .errors import UnsupportedOpError
from .graph_cache import hash_graph, is_static

# Specializations per graph before new shapes run eagerly (Dynamo's own recompile limit).
LIMIT = 8


class NeedsStaticShapes(Exception):
    """The shape-generic plan of a dynamic graph would run `error`'s op eagerly for its
    symbolic sizes; a static specialization would compile it."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def has_symbolic_inputs(gm: fx.GraphModule, example_inputs: Sequence[Any]) -> bool:
    """Whether Dynamo's graph `gm` takes symbolic sizes: a SymInt input or a tensor input
    with a symbolic size, stride or offset."""
    for i, node in enumerate(_placeholders(gm)):
        value = node.meta.get("example_value", node.meta.get("val"))
        if value is None and i < len(example_inputs):
            value = example_inputs[i]
        if isinstance(value, torch.SymInt | torch.SymFloat | torch.SymBool):
            return True
        if isinstance(value, torch.Tensor) and not is_static(value):
            return True
    return False


def refusal(eager: dict) -> UnsupportedOpError | None:
    """The first of a plan's eager nodes (partition's node -> why) that an importer rule
    refused for its symbolic sizes (`UnsupportedOpError.dynamic`), or None."""
    return next((e for e in eager.values() if e is not None and e.dynamic), None)


def decision_key(gm: fx.GraphModule, options: dict) -> str | None:
    """The key of the record of a dynamic graph's per-shape decision: its code and constants
    (frontend/graph_cache.py's `hash_graph`), its inputs' dtypes, devices, requires_grad and
    symbolic sizes, grad mode, the options and the frontend's fingerprint; None without a
    disk cache, while dumping IR, or for a graph the plan key could not cover."""
    if cache.cache_dir() is None or debug.dump_dir() is not None:
        return None
    h = hashlib.sha256()
    for part in ("per-shape 1", cache.frontend_fingerprint(), json.dumps(options, sort_keys=True),
                 str(torch.is_grad_enabled())):
        h.update(part.encode() + b"\0")
    try:
        if not hash_graph(h, gm):
            return None
    except Exception:  # noqa: BLE001 - an unusual graph: no record
        return None
    for node in _placeholders(gm):
        value = node.meta.get("example_value", node.meta.get("val"))
        if isinstance(value, torch.Tensor):
            sizes = [str(s) for s in value.shape]  # a symbol's name: which dims are equal
            h.update(f"\0{value.dtype} {value.device} {value.requires_grad} {sizes}".encode())
        else:
            h.update(f"\0{type(value).__name__} {value}".encode())
    return h.hexdigest()[:40]


def shape_key(args: Sequence[Any]) -> tuple:
    """What picks a specialization: tensor shapes, dtypes and devices; int values."""
    key = []
    for a in args:
        if isinstance(a, torch.Tensor):
            key.append((tuple(a.shape), a.dtype, a.device))
        elif isinstance(a, (int, float, bool)):
            key.append(a)
        else:
            key.append(type(a))
    return tuple(key)


def static_copy(gm: fx.GraphModule, args: Sequence[Any]) -> fx.GraphModule:
    """A copy of `gm` whose inputs are described by static fake tensors of `args`' shapes
    and by `args`' int values."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode(allow_non_fake_inputs=True)
    examples = [
        mode.from_tensor(a, static_shapes=True) if isinstance(a, torch.Tensor) else a for a in args
    ]
    graph = fx.Graph()
    env: dict = {}
    out = graph.graph_copy(gm.graph, env)  # node metas are copied shallowly
    graph.output(out)
    for node, example in zip(_placeholders_of(graph), examples):
        node.meta = {**node.meta, "example_value": example, "val": example}
    return fx.GraphModule(gm, graph)


class PerShape:
    """Dynamo's callable for a dynamic graph compiled per input shape (Note [per-shape
    specialization]): `compile(graph, example_inputs)` builds each specialization (the
    graph's own forward, with the backend's warning, if it cannot be compiled)."""

    def __init__(self, gm: fx.GraphModule, compile: Callable, reason: Exception):  # noqa: A002
        self.gm = gm
        self.compile = compile
        self.reason = reason
        self.runners: dict[tuple, Callable] = {}
        self.warned = False

    def __call__(self, *args):
        key = shape_key(args)
        runner = self.runners.get(key)
        if runner is None:
            runner = self.runners[key] = self._specialize(key, args)
        return runner(*args)

    def _specialize(self, key: tuple, args: Sequence[Any]) -> Callable:
        if len(self.runners) >= LIMIT:
            if not self.warned:
                self.warned = True
                warnings.warn(
                    f"dynamlir: a graph compiled per input shape ({self.reason}) met more "
                    f"than {LIMIT} shapes; new shapes run it eagerly",
                    stacklevel=3,
                )
            return self.gm.forward
        debug.count("shape_specializations")
        debug.log.info(
            "compiling a static specialization (%d of at most %d) of a dynamic graph: %s",
            len(self.runners) + 1, LIMIT, self.reason,
        )
        # The call's own tensors as the example inputs (the graph cache keys real tensors
        # only); the copy's placeholders describe them by static fakes.
        return self.compile(static_copy(self.gm, args), list(args))


def _placeholders(gm: fx.GraphModule) -> list[fx.Node]:
    return _placeholders_of(gm.graph)


def _placeholders_of(graph: fx.Graph) -> list[fx.Node]:
    return [n for n in graph.nodes if n.op == "placeholder"]
