"""Shared by the rule-table tests: build `@main` from a case's tg builder, so the same
case tables drive decomposition, autodiff and lowering tests."""

from __future__ import annotations

import torch
from torch_mlir import ir
from torch_mlir.dialects import func

from dynamlir.dialects import make_context
from dynamlir.dialects.types import DYN, tensor_type

ELEM = {
    torch.float32: lambda: ir.F32Type.get(),
    torch.float64: lambda: ir.F64Type.get(),
    torch.int64: lambda: ir.IntegerType.get_signless(64),
    torch.int32: lambda: ir.IntegerType.get_signless(32),
    torch.bool: lambda: ir.IntegerType.get_signless(1),
}


def module_text(case, dynamic: bool) -> str:
    """`@main` applying the case's builder to its inputs (dims in `dyn` are `?` if dynamic)."""
    with make_context(), ir.Location.unknown():
        types = []
        for spec in case.inputs:
            shape = [DYN if dynamic and i in spec.dyn else d for i, d in enumerate(spec.shape)]
            types.append(tensor_type(shape, ELEM[spec.dtype]()))
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            f = func.FuncOp("main", (types, []))
            with ir.InsertionPoint(f.add_entry_block()):
                outs = case.build(*f.arguments)
                outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
                func.ReturnOp(outs)
            f.attributes["function_type"] = ir.TypeAttr.get(
                ir.FunctionType.get(types, [o.type for o in outs])
            )
        assert module.operation.verify(), "the case builds invalid IR"
        return str(module)
