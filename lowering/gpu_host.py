"""Host plans: the straight-line host function left by tg-gpu-pipeline, as data.

Note [gpu host plan]
A HostPlan is a register machine over numbered slots, read once from the host func.func
and replayed by runtime/cuda.py on every call without touching MLIR:

  inputs   [(slot, dtype, shape)]   one memref argument each (-1 marks a dynamic dim)
  steps    HostStep(op, results, operands, attrs), in program order:
    const    results=[s]                      attrs {value}  (int, float or bool for i1)
    global   results=[s]                      attrs {name, dtype, shape, constant, data}
             a memref.global's dense value as a buffer: data is the base64 of its
             little-endian bytes (one per i1), or {"splat": value}; the runtime makes the
             device tensor once per function and device when `constant`
    arith    results=[s] operands=[a, b(, c)] attrs {name: 'addi'|'muli'|..., pred?}
    dim      results=[s] operands=[buf, idx]
    alloc    results=[s] operands=[dynamic sizes...] attrs {dtype, shape}
    meta     results=[base, offset, sizes..., strides...] operands=[buf]
    view     results=[s] operands=[base, dynamic offset/sizes/strides...]
             attrs {offset, sizes, strides}: static values, None where an operand supplies it
    alias    results=[s] operands=[buf]         (memref.cast)
    copy     operands=[src, dst]                (memref.copy: a device-to-device copy)
    launch   operands=[grid x,y,z, block x,y,z, kernel args...]
             attrs {module, kernel, args: ['memref:<rank>'|'i64'|'f32'|'i32'|...]}
  outputs  [slot]                   the func.return operands (buffers)

A memref slot holds a strided view (root buffer, offset, sizes, strides) in elements, so
views made by expand-strided-metadata replay exactly; a memref kernel argument is passed in
the expanded LLVM calling convention: ptr, ptr, offset, sizes..., strides....
Every field is JSON-serializable (`HostPlan.to_json`); binaries travel beside the plan.
"""

from __future__ import annotations

import base64
import dataclasses
import json

import numpy as np
from torch_mlir import ir

DYNAMIC = -(2**63)  # MLIR's ShapedType::kDynamic in static_* attributes

ARITH = {
    "addi", "subi", "muli", "divui", "divsi", "remui", "remsi", "ceildivui", "ceildivsi",
    "floordivsi", "minsi", "maxsi", "minui", "maxui", "andi", "ori", "xori", "cmpi",
    "select", "index_cast", "index_castui", "shli", "shrui", "shrsi",
}  # fmt: skip
CMP_PREDICATES = ["eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge"]


class HostPlanError(ValueError):
    """The host function holds an op the plan cannot express."""


@dataclasses.dataclass
class HostStep:
    op: str
    results: list[int]
    operands: list[int]
    attrs: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class HostPlan:
    name: str
    inputs: list[tuple[int, str, list[int]]]
    steps: list[HostStep]
    outputs: list[int]
    num_slots: int

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @staticmethod
    def from_json(text: str) -> HostPlan:
        d = json.loads(text)
        d["steps"] = [HostStep(**s) for s in d["steps"]]
        d["inputs"] = [tuple(i) for i in d["inputs"]]
        return HostPlan(**d)

    def launches(self) -> list[HostStep]:
        return [s for s in self.steps if s.op == "launch"]


def scalar_kind(ty: ir.Type) -> str:
    if isinstance(ty, ir.IndexType):
        return "i64"
    if isinstance(ty, ir.MemRefType):
        return f"memref:{ty.rank}"
    return str(ty)


def dtype_of(ty: ir.MemRefType) -> str:
    return str(ty.element_type)


def static_list(attr) -> list[int | None]:
    return [None if v == DYNAMIC else v for v in ir.DenseI64ArrayAttr(attr)]


def build_host_plan(func: ir.Operation) -> HostPlan:
    """Read a host func.func (after tg-gpu-pipeline) into a HostPlan.

    Args:
        func: the host function; its arguments must be memrefs.
    Returns:
        the plan; raises HostPlanError naming the first op it cannot express.
    """
    func = func.operation
    name = ir.StringAttr(func.attributes["sym_name"]).value
    slots: dict = {}

    def slot(v: ir.Value) -> int:
        if v in slots:
            return slots[v]
        raise HostPlanError(f"gpu host plan: '{name}' uses a value defined outside the function")

    def new(v: ir.Value) -> int:
        slots[v] = len(slots)
        return slots[v]

    block = func.regions[0].blocks[0]
    inputs = []
    for a in block.arguments:
        if not isinstance(a.type, ir.MemRefType):
            raise HostPlanError(f"gpu host plan: '{name}' expects memref arguments, got {a.type}")
        inputs.append((new(a), dtype_of(a.type), [-1 if d < 0 else d for d in a.type.shape]))
    steps: list[HostStep] = []
    outputs: list[int] = []
    for op in block.operations:
        op = op.operation
        n = op.name
        ins = [slot(v) for v in op.operands]
        outs = [new(r) for r in op.results]
        if n == "arith.constant":
            attr = op.attributes["value"]
            if not isinstance(attr, (ir.IntegerAttr, ir.FloatAttr, ir.BoolAttr)):
                raise HostPlanError(f"gpu host plan: '{name}': unsupported constant {attr}")
            steps.append(HostStep("const", outs, [], {"value": attr.value}))
        elif n == "memref.get_global":
            symbol = ir.FlatSymbolRefAttr(op.attributes["name"]).value
            steps.append(HostStep("global", outs, [], global_value(func, name, symbol)))
        elif n.startswith("arith.") and n[6:] in ARITH:
            attrs = {"name": n[6:]}
            if n == "arith.cmpi":
                attrs["pred"] = CMP_PREDICATES[ir.IntegerAttr(op.attributes["predicate"]).value]
            steps.append(HostStep("arith", outs, ins, attrs))
        elif n == "memref.dim":
            steps.append(HostStep("dim", outs, ins))
        elif n in ("memref.alloc", "memref.alloca"):
            ty = op.results[0].type
            shape = [-1 if d < 0 else d for d in ty.shape]
            steps.append(HostStep("alloc", outs, ins, {"dtype": dtype_of(ty), "shape": shape}))
        elif n == "memref.extract_strided_metadata":
            steps.append(HostStep("meta", outs, ins))
        elif n == "memref.reinterpret_cast":
            a = op.attributes
            attrs = {k: static_list(a[f"static_{k}"]) for k in ("offsets", "sizes", "strides")}
            attrs["offset"] = attrs.pop("offsets")[0]
            steps.append(HostStep("view", outs, ins, attrs))
        elif n == "memref.cast":
            steps.append(HostStep("alias", outs, ins))
        elif n == "memref.copy":
            steps.append(HostStep("copy", outs, ins))
        elif n == "memref.dealloc":
            continue
        elif n == "gpu.launch_func":
            steps.append(launch_step(op, ins))
        elif n == "func.return":
            outputs = ins
        else:
            raise HostPlanError(f"gpu host plan: '{name}': unsupported host op '{n}'")
    return HostPlan(name, inputs, steps, outputs, len(slots))


def launch_step(op: ir.Operation, ins: list[int]) -> HostStep:
    sizes = list(ir.DenseI32ArrayAttr(op.attributes["operandSegmentSizes"]))
    # segments: async deps, grid x3, block x3, cluster x3, dynamic shared memory, args, ...
    n_async, n_cluster, n_shmem = sizes[0], sum(sizes[7:10]), sizes[10]
    if n_async or n_cluster or n_shmem:
        raise HostPlanError(
            "gpu host plan: async, cluster and dynamic shared memory launches are unsupported"
        )
    kernel = ir.SymbolRefAttr(op.attributes["kernel"]).value  # [module, kernel]
    args = list(op.operands)[6:]
    return HostStep(
        "launch",
        [],
        ins,
        {"module": kernel[0], "kernel": kernel[1], "args": [scalar_kind(a.type) for a in args]},
    )


def global_value(func: ir.Operation, name: str, symbol: str) -> dict:
    """The attrs of a 'global' step: the dense initial value of memref.global `symbol` in
    the module around `func` (Note [gpu host plan])."""
    parent = func.parent
    found = None
    if parent is not None:
        for op in parent.regions[0].blocks[0].operations:
            op = op.operation
            if (
                op.name == "memref.global"
                and ir.StringAttr(op.attributes["sym_name"]).value == symbol
            ):
                found = op
                break
    if found is None:
        raise HostPlanError(f"gpu host plan: '{name}': no memref.global '@{symbol}' in the module")
    ty = ir.MemRefType(ir.TypeAttr(found.attributes["type"]).value)
    init = found.attributes["initial_value"] if "initial_value" in found.attributes else None
    if not isinstance(init, ir.DenseElementsAttr) or not ty.has_static_shape:
        raise HostPlanError(
            f"gpu host plan: '{name}': memref.global '@{symbol}' needs a dense initial value "
            f"and a static shape, got {init} : {ty}"
        )
    attrs = {"name": symbol, "dtype": dtype_of(ty), "shape": list(ty.shape)}
    attrs["constant"] = "constant" in found.attributes
    if attrs["dtype"] not in NUMPY:
        raise HostPlanError(
            f"gpu host plan: '{name}': memref.global '@{symbol}' of element type "
            f"{attrs['dtype']} is unsupported (expected one of {', '.join(NUMPY)})"
        )
    if init.is_splat:
        attrs["data"] = {"splat": init.get_splat_value().value}
    else:
        array = np.asarray(np.array(init), dtype=NUMPY[attrs["dtype"]]).reshape(-1)
        attrs["data"] = base64.b64encode(array.tobytes()).decode()
    return attrs


# element type -> little-endian numpy dtype of a global's bytes (i1: one byte each)
NUMPY = {
    "f32": "<f4", "f64": "<f8", "f16": "<f2", "i64": "<i8", "i32": "<i4", "i16": "<i2",
    "i8": "i1", "ui8": "u1", "i1": "u1",
}  # fmt: skip
