"""Float graph inputs that Dynamo keeps symbolic, compiled as constants behind a value check
(Note [dynamic float inputs]).

Note [dynamic float inputs]
~~~~~~~~~~~~~~~~~~~~~~~~~~~
Under `torch.compile(..., dynamic=True)` Dynamo does not specialize Python floats either: a
module's float attribute (LayerNorm's eps, a scale) reaches the graph as a 0-d tensor input
read back with `.item()`, and nothing guards its value. ATen export on fake tensors cannot
run that `.item()` (DataDependentOutputException), so every graph with a LayerNorm failed
to compile and Dynamo ran it eagerly.

Such an input whose only readers are `.item()` calls is compiled as the constant it held
in the example, and each call compares the input with that constant before running the
compiled graph. A call with another value (the attribute was changed) runs the graph
eagerly, with one warning per graph: the result is right, and the user learns why it is
slow. Each value compiles anew only through Dynamo's own recompiles, which dynamic=True
does not make for floats.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any, Callable, Sequence

import torch
import torch.fx as fx


def specialize(gm: fx.GraphModule, example_inputs: Sequence[Any]):
    """(graph module, [(input index, value)]): a copy of `gm` with each float input read only
    through `.item()` replaced by its example value, or (`gm`, []) when it has none."""
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    found = []
    for index, (node, example) in enumerate(zip(placeholders, example_inputs)):
        if not _item_only(node) or not _real_float_scalar(example):
            continue
        found.append((index, node.name, float(example.item())))
    if not found:
        return gm, []
    graph = copy.deepcopy(gm.graph)
    by_name = {n.name: n for n in graph.nodes if n.op == "placeholder"}
    for _, name, value in found:
        for item in list(by_name[name].users):
            for user in list(item.users):
                user.args = fx.node.map_arg(user.args, lambda a, i=item, v=value: v if a is i else a)
                user.kwargs = fx.node.map_arg(user.kwargs, lambda a, i=item, v=value: v if a is i else a)
            graph.erase_node(item)
    return fx.GraphModule(gm, graph), [(index, value) for index, _, value in found]


def _item_only(node: fx.Node) -> bool:
    users = list(node.users)
    return bool(users) and all(u.op == "call_method" and u.target == "item" for u in users)


def _real_float_scalar(value: Any) -> bool:
    from torch._subclasses.fake_tensor import FakeTensor

    return (isinstance(value, torch.Tensor) and not isinstance(value, FakeTensor)
            and value.dim() == 0 and value.is_floating_point())


class CheckedFloats:
    """Runs `compiled` when every specialized input still holds its value, else `eager`."""

    def __init__(self, compiled: Callable, eager: Callable, values: list[tuple[int, float]]):
        self.compiled, self.eager, self.values = compiled, eager, values
        self.warned = False

    def __call__(self, *args):
        for index, value in self.values:
            got = args[index].item()
            if got != value and not (math.isnan(got) and math.isnan(value)):
                if not self.warned:
                    self.warned = True
                    warnings.warn(
                        f"dynamlir: a float input of this graph changed from {value} (compiled "
                        f"as a constant) to {got}; running the graph eagerly",
                        stacklevel=2,
                    )
                return self.eager(*args)
        return self.compiled(*args)
