"""The dynamlir-opt driver: flags, pipeline resolution, per-chunk parse/run/print.

Errors leave as UsageError, ToolError or InternalError; tools/opt.py turns them into
messages and exit statuses.
"""

from __future__ import annotations

import dataclasses
import sys
import time

from torch_mlir import ir
from torch_mlir.passmanager import PassManager

from ..dialects import make_context
from ..lowering import PASSES, PIPELINES, PipelineError
from ..lowering.pipeline import pipeline_steps
from .cli import Flag, InternalError, ToolError, UsageError, parse_command_line, usage
from .diagnostics import Collector, Diag, Sources, parse_expectations, verify
from .source import DEFAULT_SPLIT_MARKER, ParseFailed, parse_module, print_module, split_input

TOOL = "dynamlir-opt"

_PIPELINE = Flag(
    "pipeline", "value", "the pass pipeline, 'builtin.module(a,b{x=1},func.func(c))'", "PIPELINE"
)
FLAGS: dict[str, Flag] = {
    "o": Flag("output", "value", "output file ('-' for stdout)", "FILE"),
    "pass-pipeline": _PIPELINE,
    "p": _PIPELINE,
    "split-input-file": Flag("split", "bool", "process chunks separated by '// -----' one by one"),
    "verify-diagnostics": Flag(
        "verify_diagnostics", "bool", "check diagnostics against expected-* comments"
    ),
    "list-passes": Flag(
        "list_passes", "bool", "list dynamlir passes and pipelines with their options"
    ),
    "mlir-print-ir-before-all": Flag(
        "before_all", "bool", "print the IR before every pass (stderr)"
    ),
    "mlir-print-ir-after-all": Flag("after_all", "bool", "print the IR after every pass (stderr)"),
    "mlir-print-ir-before": Flag(
        "before", "list", "print the IR before the named passes", "PASS[,PASS]"
    ),
    "mlir-print-ir-after": Flag(
        "after", "list", "print the IR after the named passes", "PASS[,PASS]"
    ),
    "mlir-print-ir-module-scope": Flag("module_scope", "bool", "IR dumps show the whole module"),
    "mlir-timing": Flag("timing", "bool", "report each pass's wall time (stderr)"),
    "mlir-print-debuginfo": Flag("debuginfo", "bool", "print locations"),
    "mlir-print-op-generic": Flag("generic", "bool", "print every op in generic form"),
    "allow-unregistered-dialect": Flag("unregistered", "bool", "accept ops of unknown dialects"),
    "verify-each": Flag("verify_each", "bool", "verify the IR after each pass (default true)"),
    "help": Flag("help", "bool", "show this help"),
    "h": Flag("help", "bool", "show this help"),
}
DEFAULTS = {
    "output": "-", "pipeline": None, "split": False, "verify_diagnostics": False,
    "list_passes": False, "before_all": False, "after_all": False, "before": [], "after": [],
    "module_scope": False, "timing": False, "debuginfo": False, "generic": False,
    "unregistered": False, "verify_each": True, "help": False,
}  # fmt: skip


@dataclasses.dataclass
class Options:
    opts: dict
    input: str
    steps: list
    before: set
    after: set


def run(argv: list[str]) -> int:
    opts, positional, pass_flags = parse_command_line(argv, FLAGS, DEFAULTS)
    if opts["help"]:
        print(usage(TOOL, "[options] [input.mlir | -]", FLAGS))
        print(
            "\nany registered pass is also a flag: -tg-decompose, '-tg-decompose=keep=softmax', -cse"
        )
        return 0
    if opts["list_passes"]:
        print(list_passes())
        return 0
    if len(positional) > 1:
        raise UsageError(
            f"expects at most one input file, got {len(positional)}: {' '.join(positional)}"
        )
    ctx = make_context()
    ctx.allow_unregistered_dialects = opts["unregistered"]
    # One thread: deterministic diagnostic and IR-dump order, and Python callbacks
    # (tg verifiers, the diagnostic handler) never run on MLIR's worker threads.
    ctx.enable_multithreading(False)
    with ctx:
        options = Options(
            opts,
            positional[0] if positional else "-",
            resolve_pipeline(opts["pipeline"], pass_flags),
            check_pass_names(opts["before"], "mlir-print-ir-before"),
            check_pass_names(opts["after"], "mlir-print-ir-after"),
        )
        return Driver(ctx, options).run()


def resolve_pipeline(text: str | None, pass_flags: list[tuple[str, str | None]]) -> list:
    """The pipeline steps from --pass-pipeline, or from the pass flags in their order."""
    if text is not None and pass_flags:
        names = ", ".join(f"-{n}" for n, _ in pass_flags)
        raise UsageError(f"'--pass-pipeline' cannot be combined with pass flags, got {names}")
    try:
        if text is not None:
            return pipeline_steps(text)
        steps = []
        for name, value in pass_flags:
            steps += flag_steps(name, value)
        return steps
    except PipelineError as e:
        raise UsageError(str(e)) from None


def flag_steps(name: str, value: str | None) -> list:
    """`-name` or `-name=opts` as pipeline steps; options are space-separated, as in
    mlir-opt's `'-canonicalize=max-iterations=3 top-down=false'`."""
    element = name if value is None else f"{name}{{{value}}}"
    try:
        return pipeline_steps(element)
    except PipelineError as e:
        if (
            name not in PASSES
            and name not in PIPELINES
            and "does not refer to a registered" in str(e)
        ):
            raise UsageError(
                f"unknown option or pass '-{name}' (see '{TOOL} --help' and '--list-passes')"
            ) from None
        raise


def check_pass_names(values: list[str], flag: str) -> set[str]:
    names = {n.strip() for v in values for n in v.split(",") if n.strip()}
    for name in names:
        if name in PASSES:
            continue
        try:
            pipeline_steps(name)
        except PipelineError:
            raise UsageError(f"'--{flag}' names unknown pass '{name}'") from None
    return names


def list_passes() -> str:
    out = ["dynamlir passes:"]
    for name, info in sorted(PASSES.items()):
        out.append(f"  -{name:<28} {info.summary}")
        defaults = info.defaults()
        for key, text in info.options.items():
            flag = key.replace("_", "-")
            if "default" not in text:
                text = f"{text} (default: {defaults[key]!r})"
            out.append(f"      {flag + '=<value>':<26} {text}")
    out.append("dynamlir pipelines:")
    for name, (text, summary) in sorted(PIPELINES.items()):
        out.append(f"  -{name:<28} {summary}")
        out.append(f"      = {text}")
    out.append("upstream MLIR passes (e.g. -canonicalize, -cse) are accepted as flags and in")
    out.append("--pass-pipeline; their options go in braces: canonicalize{max-iterations=3}")
    return "\n".join(out)


class Driver:
    def __init__(self, ctx: ir.Context, options: Options):
        self.ctx = ctx
        self.o = options.opts
        self.options = options
        self.sources = Sources()
        self.timing: dict[str, float] = {}

    def run(self) -> int:
        start = time.perf_counter()
        name, text = self.read_input()
        self.name = name
        self.sources.add(name, text)
        marker = DEFAULT_SPLIT_MARKER if self.o["split"] else None
        outputs, failed = [], False
        for chunk in split_input(text, marker):
            ok, output = self.process(chunk.text)
            failed |= not ok
            if output is not None:
                outputs.append(output)
        t0 = time.perf_counter()
        self.write_output((DEFAULT_SPLIT_MARKER + "\n").join(outputs), failed)
        self.timing["Output"] = time.perf_counter() - t0
        if self.o["timing"]:
            print(timing_report(self.timing, time.perf_counter() - start), file=sys.stderr)
        return 1 if failed else 0

    def read_input(self) -> tuple[str, str]:
        path = self.options.input
        try:
            if path == "-":
                return "<stdin>", sys.stdin.buffer.read().decode("utf-8", errors="replace")
            with open(path, "rb") as f:
                return path, f.read().decode("utf-8", errors="replace")
        except OSError as e:
            raise ToolError(
                f"{TOOL}: error: cannot open input file '{path}': {e.strerror}"
            ) from None

    def write_output(self, text: str, failed: bool) -> None:
        path = self.o["output"]
        if path == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        elif not failed:  # as mlir-opt: an output file is only kept on success
            try:
                with open(path, "w") as f:
                    f.write(text)
            except OSError as e:
                raise ToolError(
                    f"{TOOL}: error: cannot write output file '{path}': {e.strerror}"
                ) from None

    def process(self, text: str) -> tuple[bool, str | None]:
        """Parse, run and print one chunk; returns (success, output or None)."""
        with self.ctx, ir.Location.unknown(), Collector(self.ctx) as col:
            output = self.transform(text, col)
            diags = col.take()
        if output is None and not any(d.severity == "error" for d in diags):
            what = (
                "input did not parse" if self._stage == "parse" else f"pass '{self._stage}' failed"
            )
            diags.append(Diag("error", f"{what} (no diagnostic was emitted)"))
        if self.o["verify_diagnostics"]:
            expected, problems = parse_expectations(text)
            complaints = [
                f"{self.name}:{p.split(': ', 1)[0]}: error: {p.split(': ', 1)[1]}" for p in problems
            ]
            complaints += verify(diags, expected, self.sources, self.name)
            for c in complaints:
                print(c, file=sys.stderr)
            sys.stderr.flush()
            return not complaints, output
        for d in diags:
            print(self.sources.format(d, self.name), file=sys.stderr)
        sys.stderr.flush()
        return output is not None, output

    def transform(self, text: str, col: Collector) -> str | None:
        self._stage = "parse"
        t0 = time.perf_counter()
        try:
            parsed = parse_module(text, self.name, col)
        except ParseFailed:
            return None
        finally:
            self._add_time("Parser", t0)
        if parsed.buffer_name:
            self.sources.rename[parsed.buffer_name] = self.name
        for step in self.options.steps:
            self._stage = step.argument
            pm = PassManager("builtin.module")
            step.add_to(pm)
            pm.enable_verifier(self.o["verify_each"])
            self.configure_printing(pm, step.argument)
            sys.stdout.flush()
            sys.stderr.flush()  # upstream writes IR dumps straight to the process's stderr
            t0 = time.perf_counter()
            try:
                pm.run(parsed.op)
            except ir.MLIRError:
                return None
            except Exception as e:  # noqa: BLE001 - a Python pass raised: a bug, not bad IR
                raise InternalError(f"pass '{step.argument}' raised {type(e).__name__}: {e}") from e
            finally:
                self._add_time(step.argument, t0)
        return print_module(parsed, self.name, self.o["debuginfo"], self.o["generic"])

    def configure_printing(self, pm: PassManager, argument: str) -> None:
        before = self.o["before_all"] or argument in self.options.before
        after = self.o["after_all"] or argument in self.options.after
        if before or after:
            pm.enable_ir_printing(
                print_before_all=before,
                print_after_all=after,
                print_module_scope=self.o["module_scope"],
                enable_debug_info=self.o["debuginfo"],
                print_generic_op_form=self.o["generic"],
            )

    def _add_time(self, name: str, t0: float) -> None:
        self.timing[name] = self.timing.get(name, 0.0) + time.perf_counter() - t0


def timing_report(rows: dict[str, float], total: float) -> str:
    """mlir-opt's `--mlir-timing` list view: one row per pass name, in first-run order."""
    bar = "===" + "-" * 73 + "==="
    out = [bar, " " * 25 + "... Execution time report ...", bar]
    out.append(f"  Total Execution Time: {total:.4f} seconds\n")
    out.append("  ----Wall Time----  ----Name----")
    rest = max(0.0, total - sum(rows.values()))
    for name, t in [*rows.items(), ("Rest", rest), ("Total", total)]:
        pct = 100.0 * t / total if total > 0 else 0.0
        out.append(f"  {t:9.4f} ({pct:5.1f}%)  {name}")
    return "\n".join(out)
