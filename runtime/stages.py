"""Run a compile pipeline stage by stage: timings and IR dumps per stage, and errors that
name the failing pass, the op and the user's source line.

Note [compile stages]
~~~~~~~~~~~~~~~~~~~~~
A pipeline is cut after the passes in STAGE_AFTER (tg-decompose -> 'decomposed',
tg-lower-to-linalg -> 'linalg', tg-autodiff -> 'joint', tg-partition -> 'fwd-bwd'); the
rest ends in the caller's final stage ('llvm' for the CPU pipeline). Each stage is one
PassManager run, so the fast path costs a few pass-manager builds and one clone of the
module per stage; nothing is printed unless a stage fails or IR dumps are on (printing a
block's LLVM-dialect module with locations takes ~0.1 s). When a stage fails, its input
(the clone) is printed and re-run one pass at a time (lowering.pipeline.pipeline_steps)
to find the pass that failed; the CompileError then names that pass, the ops at the
diagnostics' locations and their file:line (the importer's locations, kept in the
compiled text), and writes the IR before that pass to a file for a one-pass
`dynamlir-opt` repro.

Note [stage cache]
~~~~~~~~~~~~~~~~~~
A pipeline whose output is IR rather than machine code (autodiff: tg -> @f_fwd/@f_bwd,
~0.25 s of Python passes for a transformer block) can go through run_stages_cached: it is
keyed like CPU code (runtime/cache.py: dynamlir sources, versions, host, the pipeline
text, the input text) and its output is stored as text with locations, so a process with
a warm disk cache parses it (milliseconds) instead of running the passes. IR dumps
bypass it, so a dump always shows a real run.

Note [verification]
~~~~~~~~~~~~~~~~~~~
MLIR verifies the whole module after every pass by default; on our pipelines that was
40% of the pass time (the MLP's CPU pipeline 0.19 -> 0.11 s without it, measured with
dynamlir-opt --mlir-timing --verify-each=0). A compile therefore verifies once per stage,
at its end: invalid IR still never reaches the next stage or LLVM, and when a stage fails
its input is re-run one pass at a time with the verifier on (locate_failure), so the
error names the pass that broke the IR, as before. DYNAMLIR_VERIFY_EACH=1 restores the
verifier after every pass, for a pass that crashes on IR an earlier pass left invalid;
`dynamlir-opt` verifies after each pass unless told --verify-each=0.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
import time

from torch_mlir import ir
from torch_mlir.passmanager import PassManager

from ..dialects import compile_context
from ..lowering.pipeline import build_pass_manager, expand, parse_element, pipeline_steps
from . import cache, debug

STAGE_AFTER = {
    "tg-decompose": "decomposed",
    "tg-lower-to-linalg": "linalg",
    "tg-autodiff": "joint",
    "tg-partition": "fwd-bwd",
}


class CompileError(RuntimeError):
    """A pipeline failed; the message names the pass, the op and the source line, and
    carries a repro command."""


@dataclasses.dataclass
class Stage:
    name: str
    elements: list[str]

    @property
    def text(self) -> str:
        return ",".join(self.elements)


def split_stages(pipeline: str, final: str) -> list[Stage]:
    """The stages of `pipeline` (Note [compile stages]); raises PipelineError if malformed."""
    stages, current = [], []
    for element in expand(pipeline):
        current.append(element)
        name = parse_element(element)[0]
        if name in STAGE_AFTER:
            stages.append(Stage(STAGE_AFTER[name], current))
            current = []
    if current:
        stages.append(Stage(final, current))
    return stages


def asm(module: ir.Module) -> str:
    return module.operation.get_asm(enable_debug_info=True)


def run_stages(
    module: ir.Module,
    pipeline: str,
    what: str,
    name: str = "",
    final: str = "final",
    first_index: int = 1,
) -> dict[str, float]:
    """Run `pipeline` on `module` in stages; returns seconds per stage.

    Args:
        module: the module, transformed in place (its context must be current).
        pipeline: the pipeline text (named pipelines are expanded).
        what: what is compiled, for messages ('cpu compile', 'autodiff').
        name: the graph name for IR dumps (Note [graph names and IR dumps]); '' disables them.
        final: the name of the stage after the last STAGE_AFTER pass.
        first_index: the dump index of the first stage.
    Raises:
        CompileError: naming the failed pass, op and source line, with a repro command.
    """
    try:
        stages = split_stages(pipeline, final)
    except ValueError as e:  # PipelineError: a malformed pipeline text
        raise CompileError(f"runtime: {what} failed: {e}") from None
    times: dict[str, float] = {}
    debug.count("pipeline_runs")
    dumping = bool(name) and debug.dump_dir() is not None
    verify_each = os.environ.get("DYNAMLIR_VERIFY_EACH", "0") not in ("", "0")
    for i, stage in enumerate(stages):
        # The stage's input is printed only if the stage fails (Note [compile stages]).
        before = module.operation.clone()
        t0 = time.perf_counter()
        with debug.COMPILE_LOCK:
            try:
                pm = build_pass_manager(stage.text)
                pm.enable_verifier(verify_each)  # Note [verification]
                pm.run(module.operation)
                if not verify_each:
                    module.operation.verify()
            except Exception as e:  # noqa: BLE001 - MLIRError, PipelineError or a pass's bug
                message = failure_message(what, pipeline, stage, asm(before), e)
                raise CompileError(message) from None
        times[stage.name] = time.perf_counter() - t0
        debug.log.debug(
            "%s %s: stage '%s' %.3f s", what, name or "?", stage.name, times[stage.name]
        )
        if dumping:
            following = stages[i + 1].text if i + 1 < len(stages) else ""
            debug.dump(name, first_index + i, stage.name, asm(module), stage.text, following)
    return times


def run_stages_cached(
    module: ir.Module, source: str, pipeline: str, what: str, name: str = "", final: str = "final"
) -> tuple[ir.Module, dict[str, float]]:
    """`run_stages` on `module` (parsed from `source`), or its output from the disk cache
    (Note [stage cache]). Returns the module holding the result (a new one, in the current
    context, on a hit) and the stage times ({} on a hit)."""
    key = None
    if cache.cache_dir() is not None and debug.dump_dir() is None:
        key = cache.key_of(source, pipeline)
        if (record := cache.load_record(key, "stages")) is not None:
            try:
                cached = ir.Module.parse(record["text"])
            except (ir.MLIRError, KeyError, TypeError) as e:  # a stale record: recompute
                debug.log.debug("stage cache: record %s not used: %s", key, e)
            else:
                debug.count("stage_hits")
                debug.log.info("%s %s: stage cache hit (key %s)", what, name or "?", key)
                return cached, {}
    times = run_stages(module, pipeline, what, name, final)
    if key is not None:
        text = module.operation.get_asm(enable_debug_info=True, assume_verified=True)
        cache.store_record(key, "stages", {"text": text})  # verified by the pass manager
    return module, times


def failure_message(what: str, pipeline: str, stage: Stage, before: str, error: Exception) -> str:
    """Find the pass of `stage` that fails on `before` and describe the failure."""
    step, text, err = locate_failure(stage, before, error)
    if isinstance(err, ir.MLIRError) and err.error_diagnostics:
        details = [describe(d, text) for d in err.error_diagnostics]
    elif isinstance(err, ValueError) and not isinstance(err, ir.MLIRError):
        details = [str(err)]  # a malformed pipeline: no pass ran
    else:
        details = [f"{type(err).__name__}: {err}".strip()]
    where = f" in pass '{step}'" if step else ""
    repro = write_repro(text)
    head = f"runtime: {what} failed{where}: {details[0]}"
    rest = [f"  {d}" for d in details[1:]]
    pipe = step or stage.text
    return "\n".join(
        [
            head,
            *rest,
            f"  (pipeline: {pipeline})",
            f"reproduce with: dynamlir-opt --pass-pipeline='builtin.module({pipe})' {repro}",
        ]
    )


def locate_failure(stage: Stage, before: str, error: Exception):
    """(pass argument, IR before it, its error) by re-running `stage` pass by pass; the
    stage's own input and error when the failure does not reproduce that way."""
    try:
        steps = pipeline_steps(stage.text)
    except Exception:  # noqa: BLE001 - the stage text itself is malformed
        return "", before, error
    with debug.COMPILE_LOCK, compile_context(), ir.Location.unknown():
        try:
            module = ir.Module.parse(before)
        except Exception:  # noqa: BLE001 - cannot happen for printed IR; keep the original error
            return "", before, error
        for step in steps:
            text = asm(module)
            pm = PassManager("builtin.module")
            try:
                step.add_to(pm)
                pm.run(module.operation)
            except Exception as e:  # noqa: BLE001 - this pass is the one that fails
                return step.argument, text, e
    return "", before, error


_FILE_LINE = re.compile(r'"([^"]+)":(\d+):\d+')
_NAME = re.compile(r'loc\("([^"]+)"\(')


def source_of(location: ir.Location) -> str:
    """'file.py:12 (node 'add_1')' from an importer location; '' when it has no file."""
    text = str(location)
    m = next((m for m in _FILE_LINE.finditer(text) if m.group(1) != "-"), None)
    if m is None:  # no location, or one in the parsed text itself ("-":line:col)
        return ""
    node = _NAME.search(text)
    return f"{m.group(1)}:{m.group(2)}" + (f" (node '{node.group(1)}')" if node else "")


def ops_at(module_text: str, location: ir.Location) -> list[str]:
    """Names of the ops of `module_text` whose location is `location` (first few)."""
    key = str(location)
    if "unknown" in key:
        return []
    found: list[str] = []
    with debug.COMPILE_LOCK, compile_context(), ir.Location.unknown():
        try:
            module = ir.Module.parse(module_text)
        except Exception:  # noqa: BLE001 - best effort
            return []

        def visit(op):
            if str(op.location) == key and op.name not in found:
                found.append(op.name)
            return ir.WalkResult.ADVANCE

        module.operation.walk(visit)
    if len(found) > 1 and "tg.constant" in found:  # constants share their user's location
        found.remove("tg.constant")
    return found[:3]


def describe(diag, module_text: str) -> str:
    """One diagnostic as "on 'tg.mul' at model.py:12 (node 'mul'): message"."""
    parts = []
    if ops := ops_at(module_text, diag.location):
        parts.append("on " + ", ".join(f"'{o}'" for o in ops))
    if src := source_of(diag.location):
        parts.append(f"at {src}")
    text = " ".join(parts)
    notes = "".join(f"; note: {n.message}" for n in diag.notes)
    return f"{text + ': ' if text else ''}{diag.message}{notes}"


def write_repro(text: str) -> str:
    with tempfile.NamedTemporaryFile(
        "w", suffix=".mlir", prefix="dynamlir-repro-", delete=False
    ) as f:
        f.write(text)
    return f.name
