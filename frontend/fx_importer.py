"""FX (functionalized, pre-dispatch ATen) -> tg: one func.func per graph.

Each node maps through the IMPORT table of frontend/aten.py; its MLIR location is the
user's file:line from the node's stack trace. Types come from the fake tensors in
`node.meta["val"]`, with SymInt sizes as dynamic (`?`) dims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch_mlir import ir
from torch_mlir.dialects import func

from ..dialects import compile_context
from ..dialects.types import DYN, tensor_type
from .errors import UnsupportedOpError

_FRAME = re.compile(r'File "([^"]+)", line (\d+)')

_ELEMENT = {
    torch.float32: lambda: ir.F32Type.get(),
    torch.float64: lambda: ir.F64Type.get(),
    torch.float16: lambda: ir.F16Type.get(),
    torch.bfloat16: lambda: ir.BF16Type.get(),
    torch.int64: lambda: ir.IntegerType.get_signless(64),
    torch.int32: lambda: ir.IntegerType.get_signless(32),
    torch.int16: lambda: ir.IntegerType.get_signless(16),
    torch.int8: lambda: ir.IntegerType.get_signless(8),
    torch.bool: lambda: ir.IntegerType.get_signless(1),
}


def element_type_of(dtype: torch.dtype) -> ir.Type:
    if dtype not in _ELEMENT:
        raise UnsupportedOpError(f"frontend: dtype {dtype} is not supported", op=str(dtype))
    return _ELEMENT[dtype]()


def static_dims(shape) -> list[int]:
    """Sizes with every SymInt (not a plain int) as DYN."""
    out = []
    for s in shape:
        if isinstance(s, int):
            out.append(s)
        elif isinstance(s, torch.SymInt) and s.node.is_constant():
            out.append(int(s))
        else:
            out.append(DYN)
    return out


def type_of(val: torch.Tensor) -> ir.RankedTensorType:
    return tensor_type(static_dims(val.shape), element_type_of(val.dtype))


def source_location(node: fx.Node) -> tuple[str, int] | None:
    trace = node.meta.get("stack_trace") or ""
    frames = _FRAME.findall(trace)
    return (frames[-1][0], int(frames[-1][1])) if frames else None


def location_of(node: fx.Node) -> ir.Location:
    src = source_location(node)
    if src is None:
        return ir.Location.name(node.name)
    return ir.Location.name(node.name, childLoc=ir.Location.file(src[0], src[1], 0))


def where_of(node: fx.Node) -> str:
    src = source_location(node)
    return f"{src[0]}:{src[1]}" if src else f"node '{node.name}'"


@dataclass
class ImportContext:
    """What rules see: the node being imported and the values of the nodes before it."""

    values: dict[fx.Node, Any] = field(default_factory=dict)
    node: fx.Node | None = None

    def meta(self, arg=None):
        """The fake value of `arg` (a Node) or of the current node."""
        target = self.node if arg is None else arg
        return target.meta.get("val") if isinstance(target, fx.Node) else target

    #: set while a half-precision op is imported in float32 (see aten.UPCAST)
    compute_dtype: torch.dtype | None = None

    def out_dtype(self) -> torch.dtype:
        val = self.meta()
        val = val[0] if isinstance(val, (tuple, list)) else val
        if self.compute_dtype is not None and val.dtype in (torch.float16, torch.bfloat16):
            return self.compute_dtype
        return val.dtype

    def out_type(self, index: int | None = None) -> ir.RankedTensorType:
        val = self.meta()
        if index is not None:
            val = val[index]
        return type_of(val)


@dataclass
class ImportedGraph:
    """An imported module and how to call it: which FX placeholders are arguments."""

    module_text: str
    arg_nodes: list[str]
    outputs: list[Any]  # fake values of the outputs, for output shapes and dtypes


def import_graph(gm: fx.GraphModule, name: str = "main") -> ImportedGraph:
    """Import a functionalized ATen graph as `func.func @name` in a tg module (text)."""
    from .aten import IMPORT, lower_node  # noqa: F401  (table fills on import)

    with compile_context(), ir.Location.unknown():
        module = ir.Module.create()
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        tensor_args = [n for n in placeholders if isinstance(n.meta.get("val"), torch.Tensor)]
        out_node = next(n for n in gm.graph.nodes if n.op == "output")
        out_vals = [
            a.meta.get("val") if isinstance(a, fx.Node) else a for a in _flat(out_node.args[0])
        ]
        for v in out_vals:
            if not isinstance(v, torch.Tensor):
                raise UnsupportedOpError(
                    f"frontend: graph output {v!r} is not a tensor", op="output"
                )
        arg_types = [type_of(n.meta["val"]) for n in tensor_args]
        res_types = [type_of(v) for v in out_vals]
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp(name, (arg_types, res_types))
        block = fn.add_entry_block()
        ctx = ImportContext()
        for n, arg in zip(tensor_args, block.arguments):
            ctx.values[n] = arg
        for n in placeholders:
            if n not in ctx.values:
                ctx.values[n] = n.meta.get("val")  # SymInt inputs: used only in shapes
        with ir.InsertionPoint(block):
            for node in gm.graph.nodes:
                if node.op == "call_function":
                    ctx.node = node
                    with location_of(node):
                        ctx.values[node] = lower_node(ctx, node)
                elif node.op == "get_attr":
                    ctx.values[node] = _get_attr(gm, node)
            results = [ctx.values[a] for a in _flat(out_node.args[0])]
            for r, t in zip(results, res_types):
                if not isinstance(r, ir.Value):
                    raise UnsupportedOpError(
                        "frontend: graph output is not a tensor value", op="output"
                    )
            func.ReturnOp(results)
        verify_imported(module)
        # keep file:line locations; verify_imported has just verified it
        text = module.operation.get_asm(enable_debug_info=True, assume_verified=True)
        return ImportedGraph(text, [n.name for n in tensor_args], out_vals)


def verify_imported(module: ir.Module) -> None:
    """A tg op whose types the importer could not express (e.g. a reshape to two dynamic
    dims) fails its verifier: report it as unsupported so the graph runs eagerly."""
    try:
        ok = module.operation.verify()
    except ir.MLIRError as e:
        diags = getattr(e, "error_diagnostics", None) or []
        message = diags[0].message if diags else str(e)
        op = re.search(r"'(tg\.\w+)'", message)
        raise UnsupportedOpError(
            f"frontend: imported IR does not verify: {message}",
            op=op.group(1) if op else "verify",
            where=str(diags[0].location) if diags else "",
        ) from None
    if not ok:
        raise UnsupportedOpError("frontend: imported module failed to verify", op="verify")


def _flat(x) -> list:
    return [y for v in x for y in _flat(v)] if isinstance(x, (list, tuple)) else [x]


def _get_attr(gm: fx.GraphModule, node: fx.Node):
    from ..dialects import builders as tg

    value = gm
    for part in node.target.split("."):
        value = getattr(value, part)
    if not isinstance(value, torch.Tensor):
        return value
    t = value.detach().cpu()
    if t.dtype == torch.bfloat16:
        return tg.convert(tg.constant(t.float().numpy(), ir.F32Type.get()), ir.BF16Type.get())
    return tg.constant(t.numpy(), element_type_of(t.dtype))
