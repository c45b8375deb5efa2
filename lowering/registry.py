"""The pass and pipeline registries, and the adapter from rule tables to rewrite patterns.

Every dynamlir pass is a plain callable `(op, pass_, **options)` registered here by its
kebab-case argument; `lowering/pipeline.py` resolves textual pipelines against it.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

from torch_mlir import ir
from torch_mlir.dialects._ods_common import _cext
from torch_mlir.rewrite import RewritePatternSet

from ..dialects.tg import TG


def register_dialect_module() -> None:
    """Let the bindings find the Python module of the tg dialect.

    Note [tg op lookup]
    ~~~~~~~~~~~~~~~~~~~
    Each time the bindings wrap an op (a walk, a pattern callback, a verifier) they look
    up its Python class, first importing `<prefix>.<namespace>` for each dialect search
    prefix; only `torch_mlir.dialects` is searched by default, and a failed import is not
    remembered, so every wrapped tg op paid for a failed `import torch_mlir.dialects.tg`
    (about 25 us: some 1,200 per transformer block in the CPU pipeline alone). With our
    package on the search path the import succeeds once and the namespace counts as
    loaded; the classes found are the same (TG.load registers them).
    """
    prefix = TG.__module__.rpartition(".")[0]  # 'dynamlir.dialects'
    if prefix not in _cext.globals.dialect_search_modules:
        _cext.globals.append_dialect_search_prefix(prefix)


register_dialect_module()


@dataclasses.dataclass
class PassInfo:
    argument: str
    fn: Callable
    summary: str
    options: dict[str, str]  # option name -> help text (defaults come from the signature)

    def defaults(self) -> dict[str, object]:
        sig = inspect.signature(self.fn)
        return {k: sig.parameters[k].default for k in self.options}


PASSES: dict[str, PassInfo] = {}
PIPELINES: dict[str, tuple[str, str]] = {}  # name -> (pipeline text, summary)


def register_pass(argument: str, **options: str) -> Callable:
    """Register `fn(op, pass_, **options)` as the pass `argument`; `options` maps each
    option name (a keyword parameter of `fn`) to its help text."""
    if not argument.startswith("tg-"):
        raise ValueError(f"pass argument '{argument}' must start with 'tg-'")

    def deco(fn):
        if argument in PASSES:
            raise ValueError(f"duplicate pass '{argument}'")
        summary = (inspect.getdoc(fn) or "").splitlines()[0] if fn.__doc__ else ""
        PASSES[argument] = PassInfo(argument, fn, summary, dict(options))
        return fn

    return deco


def register_pipeline(name: str, text: str, summary: str) -> None:
    if name in PIPELINES or name in PASSES:
        raise ValueError(f"duplicate pipeline '{name}'")
    PIPELINES[name] = (text, summary)


class PatternFailure(Exception):
    """Raised inside a rule to reject IR with a diagnostic at the op's location."""


def patterns_from(table, errors: list, context=None, accept=None) -> RewritePatternSet:
    """Turn a RuleTable of `rule(op) -> Value | list[Value] | None` into rewrite patterns.

    A rule builds its replacement at an insertion point before the op, under the op's
    location, and returns the replacement values, or None to decline. Exceptions become
    diagnostics collected in `errors` (never escaping through the bindings); upstream's
    convention that a pattern returns a truthy value to mean "no match" stays hidden here.
    """
    patterns = RewritePatternSet(context)
    for op_cls, rule in table.items():
        if accept is not None and not accept(op_cls):
            continue

        def apply(op, rewriter, rule=rule):
            if errors:  # stop at the first failure: a half-built rewrite would be retried forever
                return True
            try:
                with rewriter.ip, op.location:
                    new = rule(op)
                if new is None:
                    return True
                rewriter.replace_op(op, as_values(new))
            except Exception as e:  # noqa: BLE001 - reported as a diagnostic
                errors.append((op.location, f"'{op.name}': {e}"))
                return True
            return False

        patterns.add(op_cls, apply)
    return patterns


def as_values(new) -> list[ir.Value]:
    """Normalize a rule's result (Value, op, or a list of them) to a list of Values."""
    items = new if isinstance(new, (list, tuple)) else [new]
    out: list[ir.Value] = []
    for item in items:
        if isinstance(item, ir.Value):
            out.append(item)
        else:
            out.extend((item.operation if hasattr(item, "operation") else item).results)
    return out


def report(errors: list, pass_, prefix: str) -> None:
    """Emit collected rule errors as diagnostics and fail the pass if there were any."""
    for loc, msg in errors:
        loc.emit_error(f"{prefix}: {msg}")
    if errors:
        pass_.signal_pass_failure()


def function_blocks(module: ir.Operation):
    """The blocks of every function body (func.func or llvm.func) of `module`: the
    top-level ops' regions, which is where the passes on whole functions look."""
    for fn in module.regions[0].blocks[0].operations:
        for region in fn.regions:
            yield from region.blocks


def walk_ops(root: ir.Operation, cls=None) -> list:
    """Post-order list of the ops under `root` (optionally of one OpView class)."""
    found = []

    def visit(op):
        view = op.opview if hasattr(op, "opview") else op
        if cls is None or isinstance(view, cls):
            found.append(view)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found


def ops_named(root: ir.Operation, *names: str) -> list[ir.Operation]:
    """The ops under `root` whose name is one of `names`, in walk order (collected first, so
    callers may rewrite them)."""
    found = []

    def visit(op):
        if op.name in names:
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found
