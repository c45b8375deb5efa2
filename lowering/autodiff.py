"""tg-autodiff: AOT reverse-mode autodiff as an IR-to-IR pass (AOTAutograd's joint graph).

For each public `@f(args) -> results` it builds `@f_joint(args, cotangents) -> (results,
grads)` from the per-op VJP rules in dialects.registry.VJP (filled by vjp_rules.py);
tg-partition then splits the joint function into forward and backward.
"""

from __future__ import annotations

from torch_mlir import ir
from torch_mlir.dialects import func

from ..dialects import builders as tg
from ..dialects.registry import NON_DIFFERENTIABLE, VJP
from ..dialects.tg import TGOp
from ..dialects.types import element_type, is_float, shape_of
from . import vjp_rules  # noqa: F401  (fills VJP)
from .registry import register_pass
from .vjp_common import cast_to, wanting, zeros_like

REQUIRES_GRAD = "tg.requires_grad"  # unit attr on a func argument, set by the importer
PRIMAL = "tg.primal"  # on @f_joint/@f_fwd/@f_bwd: the name of @f
GRAD_ARGS = "tg.grad_args"  # on @f_joint/@f_bwd: indices of the args that get a gradient
COTANGENTS = "tg.cotangents"  # on @f_joint/@f_bwd: indices of the results with a cotangent


class AutodiffError(Exception):
    """A function tg-autodiff cannot differentiate; reported at `loc`."""

    def __init__(self, loc: ir.Location, msg: str):
        super().__init__(msg)
        self.loc = loc


@register_pass(
    "tg-autodiff",
    wrt="comma-separated argument indices to differentiate with respect to (default: "
    "the args marked tg.requires_grad, or else every floating-point arg)",
)
def autodiff(module, pass_, wrt: str = ""):
    """Add `@f_joint` (forward results and gradients) next to every public function `@f`.

    `@f_joint(args..., ct_i for each float result i) -> (results..., d args[j] for each j
    in wrt)`. Which args get gradients: the `wrt` option if given; else the args carrying
    the unit attribute `tg.requires_grad`; else every floating-point arg. Functions with
    no such arg or no floating-point result are left alone.

    Requires: primitive tg ops only (run tg-decompose{targets=autodiff} first), one block
    per function.  Produces: `@f_joint` for each public `@f`; `@f` is kept unchanged.
    """
    errors = []
    try:
        indices = parse_indices(wrt)
    except ValueError as e:
        errors.append((module.location, str(e)))
        indices = None
    if not errors:
        for f in public_funcs(module):
            try:
                build_joint(f, indices)
            except AutodiffError as e:
                errors.append((e.loc, str(e)))
            except Exception as e:  # noqa: BLE001 - a pass reports, never raises
                errors.append((f.location, f"internal error on '@{sym(f)}': {e}"))
    for loc, msg in errors:
        loc.emit_error(f"tg-autodiff: {msg}")
    if errors:
        pass_.signal_pass_failure()


def parse_indices(text: str) -> list[int] | None:
    if not text.strip():
        return None
    try:
        return sorted({int(t) for t in text.replace(";", ",").split(",") if t.strip()})
    except ValueError:
        raise ValueError(f"option 'wrt' expects comma-separated indices, got '{text}'") from None


def public_funcs(module) -> list[func.FuncOp]:
    """Function definitions that are public and not themselves derived by autodiff."""
    out = []
    for op in module.regions[0].blocks[0].operations:
        if not isinstance(op, func.FuncOp) or op.is_external or PRIMAL in op.attributes:
            continue
        attrs = op.attributes
        vis = attrs["sym_visibility"].value if "sym_visibility" in attrs else "public"
        if vis == "public":
            out.append(op)
    return out


def grad_arg_indices(f: func.FuncOp, wrt: list[int] | None) -> list[int]:
    args = list(f.arguments)
    floats = [i for i, a in enumerate(args) if is_float(element_type(a.type))]
    if wrt is None:
        marked = [i for i in range(len(args)) if REQUIRES_GRAD in arg_attr_dict(f, i)]
        wrt = marked or floats
    for i in wrt:
        if not 0 <= i < len(args):
            raise AutodiffError(f.location, f"'@{sym(f)}' has {len(args)} args, got wrt index {i}")
        if i not in floats:
            raise AutodiffError(
                f.location,
                f"arg #{i} of '@{sym(f)}' is {args[i].type}, expected a floating-point tensor",
            )
    return list(wrt)


def build_joint(f: func.FuncOp, wrt: list[int] | None) -> func.FuncOp | None:
    """Clone `@f` as `@f_joint` and append the reverse sweep before its return."""
    grad_args = grad_arg_indices(f, wrt)
    returned = list(body_ops(f)[-1].operands)
    ct_results = [i for i, v in enumerate(returned) if is_float(element_type(v.type))]
    if not grad_args or not ct_results:
        return None
    name = f"{sym(f)}_joint"
    if symbol_exists(f, name):
        raise AutodiffError(f.location, f"cannot create '@{name}': the symbol already exists")

    joint = f.operation.clone(ip=ir.InsertionPoint(f.operation.parent.regions[0].blocks[0])).opview
    joint.operation.move_after(f.operation)
    joint.attributes["sym_name"] = ir.StringAttr.get(name)
    block = joint.entry_block
    with joint.location:
        cts = [block.add_argument(returned[i].type, joint.location) for i in ct_results]
    args = list(block.arguments)[: len(f.arguments)]
    forward = body_ops(joint)
    ret = forward[-1]
    results = list(ret.operands)

    active = activity(forward[:-1], [args[i] for i in grad_args], [results[i] for i in ct_results])
    grads = Gradients()
    with ir.InsertionPoint(ret), joint.location:
        for i, ct in zip(ct_results, cts):
            if results[i] in active:
                grads.add(results[i], ct)
        for op in reversed(forward[:-1]):
            backprop(op, grads, active)
        arg_grads = []
        for i in grad_args:
            g = grads.get(args[i])
            arg_grads.append(g if g is not None else zeros_like(args[i]))
        func.ReturnOp(results + arg_grads)
    ret.erase()
    erase_dead(joint, keep={op.operation for op in forward[:-1]})

    set_signature(joint, [a.type for a in block.arguments], [v.type for v in results + arg_grads])
    extend_arg_attrs(joint, len(f.arguments), len(cts))
    joint.attributes[PRIMAL] = ir.StringAttr.get(sym(f))
    joint.attributes[GRAD_ARGS] = ir.DenseI64ArrayAttr.get(grad_args)
    joint.attributes[COTANGENTS] = ir.DenseI64ArrayAttr.get(ct_results)
    return joint


def activity(ops, inputs, outputs) -> set:
    """Values that depend on `inputs` (varied) and that `outputs` depend on (useful),
    through differentiable ops and floating-point values only."""
    varied = set(inputs)
    for op in ops:
        if type(op) in NON_DIFFERENTIABLE or not any(v in varied for v in op.operands):
            continue
        varied.update(r for r in op.results if is_float(element_type(r.type)))
    useful = {v for v in outputs if v in varied}
    for op in reversed(ops):
        if any(r in useful for r in op.results):
            useful.update(v for v in op.operands if v in varied)
    return useful


class Gradients(dict):
    """Accumulated cotangent per value; fan-out sums with tg.add."""

    def add(self, value: ir.Value, grad: ir.Value) -> None:
        if element_type(grad) != element_type(value):
            raise ValueError(f"gradient {grad.type} does not match value {value.type}")
        if len(shape_of(grad)) != len(shape_of(value)):
            raise ValueError(f"gradient {grad.type} has the wrong rank for value {value.type}")
        grad = cast_to(grad, value.type)
        prev = self.get(value)
        self[value] = grad if prev is None else tg.add(prev, grad)


def backprop(op, grads: Gradients, active: set) -> None:
    """Apply `op`'s VJP rule to the gradients of its results, accumulating into its operands."""
    outs = [grads.get(r) for r in op.results]
    if all(g is None for g in outs):
        return
    operands = list(op.operands)
    wanted = [i for i, v in enumerate(operands) if v in active]
    if not wanted:
        return
    name = op.operation.name
    try:
        rule = VJP.lookup(op)
    except NotImplementedError as e:
        hint = ""
        if getattr(type(op), "COMPOSITE", False):
            hint = "; it is composite: run tg-decompose{targets=autodiff} before tg-autodiff"
        elif not isinstance(op, TGOp):
            hint = "; only tg ops are differentiable"
        raise AutodiffError(op.location, f"{e}{hint}") from None
    try:
        with wanting(wanted), op.location:
            g = outs[0] if len(outs) == 1 else outs
            op_grads = rule(op, g)
            if len(op_grads) != len(operands):
                raise ValueError(
                    f"rule returned {len(op_grads)} gradients, expected {len(operands)}"
                )
            for i in wanted:
                if op_grads[i] is not None:
                    grads.add(operands[i], op_grads[i])
    except (ValueError, TypeError) as e:
        raise AutodiffError(op.location, f"vjp of '{name}': {e}") from None


def erase_dead(f: func.FuncOp, keep: set) -> None:
    """Erase ops the reverse sweep built but whose results went unused (rules may build
    gradients for operands nobody needs, e.g. the two halves of a shared subexpression)."""
    for op in reversed(body_ops(f)):
        if op.operation in keep or isinstance(op, func.ReturnOp):
            continue
        if all(len(list(r.uses)) == 0 for r in op.results):
            op.operation.erase()


# --- func.func utilities shared with tg-partition ---------------------------------------


def sym(f) -> str:
    return ir.StringAttr(f.attributes["sym_name"]).value


def body_ops(f) -> list:
    region = f.regions[0]
    if len(region.blocks) != 1:
        n = len(region.blocks)
        raise AutodiffError(f.location, f"'@{sym(f)}' must have one block, got {n}")
    ops = list(region.blocks[0].operations)
    for op in ops:
        if len(op.regions):
            name = op.operation.name
            raise AutodiffError(op.location, f"'{name}' has regions: not differentiable")
    return ops


def symbol_exists(f, name: str) -> bool:
    return any(
        "sym_name" in op.attributes and ir.StringAttr(op.attributes["sym_name"]).value == name
        for op in f.operation.parent.regions[0].blocks[0].operations
    )


def set_signature(f, inputs, results) -> None:
    f.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, results))
    if "res_attrs" in f.attributes:
        del f.attributes["res_attrs"]


def arg_attr_dict(f, i: int) -> dict:
    if "arg_attrs" not in f.attributes:
        return {}
    d = ir.DictAttr(ir.ArrayAttr(f.attributes["arg_attrs"])[i])
    return {d[j].name: d[j].attr for j in range(len(d))}


def extend_arg_attrs(f, n_old: int, n_new: int) -> None:
    if "arg_attrs" in f.attributes:
        old = list(ir.ArrayAttr(f.attributes["arg_attrs"]))[:n_old]
        f.attributes["arg_attrs"] = ir.ArrayAttr.get(old + [ir.DictAttr.get({})] * n_new)
