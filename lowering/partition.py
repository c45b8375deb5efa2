"""tg-partition: split each `@f_joint` into `@f_fwd` and `@f_bwd` (AOTAutograd's partitioner).

`@f_fwd(args) -> (results..., saved...)` and `@f_bwd(saved..., cotangents...) -> grads`.
Which forward values cross from one to the other is the policy's choice (mincut.py
holds the min-cut one); `saved_bytes` reports the price of each policy.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func

from ..dialects.types import element_type, is_float, shape_of
from .autodiff import COTANGENTS, GRAD_ARGS, PRIMAL, AutodiffError, body_ops, sym, symbol_exists
from .registry import register_pass

SAVED_BYTES = "tg.saved_bytes"  # on @f_fwd: bytes of the saved values (dynamic dims as 1)
NUM_SAVED = "tg.num_saved"  # on @f_fwd: how many trailing results are saved values
POLICIES = ("save-all", "min-cut")


@register_pass(
    "tg-partition",
    policy="save-all: save every forward value the backward reads; min-cut: recompute cheap "
    "ops in backward where that saves bytes (default)",
    keep_joint="keep @f_joint after splitting it (default false)",
)
def partition(module, pass_, policy: str = "min-cut", keep_joint: str = "false"):
    """Split every `@f_joint` made by tg-autodiff into `@f_fwd` and `@f_bwd`.

    Requires: the output of tg-autodiff.  Produces: `@f_fwd` with `tg.saved_bytes` and
    `tg.num_saved`, `@f_bwd` taking (saved..., cotangents...); `@f_joint` is erased
    unless keep-joint=true.
    """
    errors = []
    if policy not in POLICIES:
        allowed = ", ".join(POLICIES)
        errors.append((module.location, f"unknown policy '{policy}' (allowed: {allowed})"))
    for joint in [] if errors else joint_funcs(module):
        try:
            split(joint, policy)
            if keep_joint.lower() not in ("true", "1"):
                joint.operation.erase()
        except AutodiffError as e:
            errors.append((e.loc, str(e)))
        except Exception as e:  # noqa: BLE001 - a pass reports, never raises
            errors.append((joint.location, f"internal error on '@{sym(joint)}': {e}"))
    for loc, msg in errors:
        loc.emit_error(f"tg-partition: {msg}")
    if errors:
        pass_.signal_pass_failure()


def joint_funcs(module) -> list[func.FuncOp]:
    return [
        op
        for op in module.regions[0].blocks[0].operations
        if isinstance(op, func.FuncOp) and GRAD_ARGS in op.attributes and sym(op).endswith("_joint")
    ]


class JointGraph:
    """The dataflow of one joint function, split by what depends on the cotangents."""

    def __init__(self, joint: func.FuncOp):
        self.joint = joint
        block = joint.entry_block
        self.ops = body_ops(joint)[:-1]
        outs = list(body_ops(joint)[-1].operands)
        n_grads = len(ir.DenseI64ArrayAttr(joint.attributes[GRAD_ARGS]))
        n_cts = len(ir.DenseI64ArrayAttr(joint.attributes[COTANGENTS]))
        args = list(block.arguments)
        self.primals, self.cotangents = args[: len(args) - n_cts], args[len(args) - n_cts :]
        self.results, self.grads = outs[: len(outs) - n_grads], outs[len(outs) - n_grads :]
        # Backward values: anything computed from a cotangent.
        self.backward = set(self.cotangents)
        for op in self.ops:
            if any(v in self.backward for v in op.operands):
                self.backward.update(op.results)
        if any(v in self.backward for v in self.results):
            msg = f"a result of '@{sym(joint)}' depends on a cotangent"
            raise AutodiffError(joint.location, msg)
        self.producer = {r: op for op in self.ops for r in op.results}
        self.fwd_ops = self.ancestors(self.results)

    def ancestors(self, roots, stop=frozenset()) -> set:
        """Operations needed to compute `roots`, not looking past values in `stop`."""
        seen, todo = set(), [v for v in roots if v not in stop]
        while todo:
            op = self.producer.get(todo.pop())
            if op is None or op.operation in seen:
                continue
            seen.add(op.operation)
            todo += [v for v in op.operands if v not in stop]
        return seen

    def is_constant(self, v) -> bool:
        op = self.producer.get(v)
        return op is not None and len(op.operands) == 0

    def backward_inputs(self, bwd_ops: set) -> list:
        """Forward values read by `bwd_ops` or returned as gradients, in definition order."""
        read = set(v for v in self.grads if v not in self.backward)
        for op in self.ops:
            if op.operation in bwd_ops:
                read.update(op.operands)
        for op in self.ops:
            if op.operation in bwd_ops:
                read.difference_update(op.results)
        return [
            v
            for v in self.values()
            if v in read and v not in self.backward and not self.is_constant(v)
        ]

    def values(self) -> list:
        return self.primals + [r for op in self.ops for r in op.results]


def saved_values(g: JointGraph, policy: str) -> list:
    """The forward values `@f_bwd` receives under `policy`, in definition order."""
    if policy == "save-all":
        # Every value the forward computes anyway and the backward reads is saved; ops
        # only the backward needs run in the backward (AOTAutograd's default partition).
        bwd_ops = g.ancestors(g.grads) - g.fwd_ops
        saved = set(g.backward_inputs(bwd_ops))
        return [v for v in g.values() if v in saved]
    from .mincut import min_cut_saved

    return min_cut_saved(g)


def value_bytes(v) -> int:
    """Bytes of a tensor value, counting each dynamic dim as 1 (a lower bound per row:
    multiply by the runtime size of that dim for the real figure)."""
    elem = element_type(v)
    width = 1 if not is_float(elem) and ir.IntegerType(elem).width == 1 else None
    if width is None:
        width = (ir.FloatType(elem).width if is_float(elem) else ir.IntegerType(elem).width) // 8
    n = 1
    for d in shape_of(v):
        n *= max(d, 1)
    return n * width


def saved_bytes(joint: func.FuncOp, policy: str = "min-cut") -> int:
    """Bytes `@f_fwd` would save for `@f_bwd` under `policy` (see `value_bytes`)."""
    return sum(value_bytes(v) for v in saved_values(JointGraph(joint), policy))


def saved_bytes_by_policy(module) -> dict[str, dict[str, int]]:
    """{joint function name: {policy: saved bytes}} for every `@f_joint` in `module`
    (an ir.Module or its operation), e.g. to compare save-all and min-cut."""
    op = module.operation if hasattr(module, "operation") else module
    return {sym(j): {p: saved_bytes(j, p) for p in POLICIES} for j in joint_funcs(op)}


def split(joint: func.FuncOp, policy: str) -> tuple[func.FuncOp, func.FuncOp]:
    g = JointGraph(joint)
    saved = saved_values(g, policy)
    base = sym(joint).removesuffix("_joint")
    for name in (f"{base}_fwd", f"{base}_bwd"):
        if symbol_exists(joint, name):
            msg = f"cannot create '@{name}': the symbol already exists"
            raise AutodiffError(joint.location, msg)
    with joint.location:
        fwd = extract(joint, f"{base}_fwd", g, g.primals, g.results + saved, stop=set())
        bwd = extract(joint, f"{base}_bwd", g, saved + g.cotangents, g.grads, stop=set(saved))
    fwd.operation.move_after(joint.operation)
    bwd.operation.move_after(fwd.operation)
    i64 = ir.IntegerType.get_signless(64, joint.context)
    fwd.attributes[PRIMAL] = joint.attributes[PRIMAL]
    fwd.attributes[NUM_SAVED] = ir.IntegerAttr.get(i64, len(saved))
    fwd.attributes[SAVED_BYTES] = ir.IntegerAttr.get(i64, sum(map(value_bytes, saved)))
    if "arg_attrs" in joint.attributes:
        attrs = list(ir.ArrayAttr(joint.attributes["arg_attrs"]))[: len(g.primals)]
        fwd.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)
    for key in (PRIMAL, GRAD_ARGS, COTANGENTS):
        bwd.attributes[key] = joint.attributes[key]
    return fwd, bwd


def extract(joint, name: str, g: JointGraph, inputs: list, outputs: list, stop: set) -> func.FuncOp:
    """A new function `name(inputs) -> outputs` holding the joint ops that compute
    `outputs` from `inputs`, in their original order."""
    needed = g.ancestors(outputs, stop=stop | set(inputs))
    ftype = ir.FunctionType.get([v.type for v in inputs], [v.type for v in outputs])
    with ir.InsertionPoint(joint.operation.parent.regions[0].blocks[0]):
        f = func.FuncOp(name, ftype)
    block = f.add_entry_block()
    mapping = dict(zip(inputs, block.arguments))
    with ir.InsertionPoint(block):
        for op in g.ops:
            if op.operation not in needed:
                continue
            new = op.operation.clone()
            for i, v in enumerate(op.operands):
                if v not in mapping:
                    what = op.operation.name
                    msg = f"'{what}' in '@{name}' reads a value it cannot see"
                    raise AutodiffError(op.location, msg)
                new.operands[i] = mapping[v]
            mapping.update(zip(op.results, new.results))
        func.ReturnOp([mapping[v] for v in outputs])
    return f
