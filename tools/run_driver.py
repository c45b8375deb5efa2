"""The dynamlir-run driver: parse a module, lower what is left for the CPU, call the entry
on generated or loaded inputs, print the results so FileCheck can check numbers.

Entries on tensors (tg ops, or linalg/tensor/arith already) go through the CPU runtime
(runtime/cpu.py): its DPS wrapper, `tg-cpu-pipeline` (a no-op on what is already
lowered) and the ExecutionEngine JIT.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import torch
from torch_mlir import ir

from ..dialects import make_context
from ..dialects.types import DYN, shape_of
from ..runtime.cpu import CompileError, CpuFunction, OutputSpec, torch_dtype
from .cli import Flag, ToolError, UsageError, parse_command_line, usage
from .diagnostics import Collector, Sources
from .source import ParseFailed, parse_module

TOOL = "dynamlir-run"

FLAGS: dict[str, Flag] = {
    "entry": Flag("entry", "value", "the function to call (default: main)", "NAME"),
    "input-shape": Flag(
        "inputs", "list", "a random input, e.g. 2x3 (f32), 2x3xi64, f32 (0-d); repeatable", "SHAPE"
    ),
    "input": Flag(
        "inputs", "list", "an input from a .npy file; repeatable, in argument order", "FILE"
    ),
    "seed": Flag("seed", "value", "seed for the random inputs (default 0)", "N"),
    "precision": Flag(
        "precision", "value", "digits after the point in printed floats (default 4)", "N"
    ),
    "print-inputs": Flag("print_inputs", "bool", "print the inputs before the results"),
    "pipeline": Flag("pipeline", "value", "CPU pipeline (default: tg-cpu-pipeline)", "PIPELINE"),
    "help": Flag("help", "bool", "show this help"),
    "h": Flag("help", "bool", "show this help"),
}
DEFAULTS = {
    "entry": "main", "inputs": [], "seed": "0", "precision": "4", "print_inputs": False,
    "pipeline": "tg-cpu-pipeline", "help": False,
}  # fmt: skip

_DTYPES = {
    "f32": torch.float32, "f64": torch.float64, "f16": torch.float16, "bf16": torch.bfloat16,
    "i64": torch.int64, "i32": torch.int32, "i16": torch.int16, "i8": torch.int8, "i1": torch.bool,
}  # fmt: skip


def run(argv: list[str]) -> int:
    # --input and --input-shape share one list so that their order is the argument order;
    # the flag that added each entry is told apart by its text (a path vs a shape).
    opts, positional, extra = parse_command_line(_tag_inputs(argv), FLAGS, DEFAULTS)
    if opts["help"]:
        print(usage(TOOL, "[options] input.mlir", FLAGS))
        return 0
    if extra:
        raise UsageError(f"unknown option '-{extra[0][0]}' (see '{TOOL} --help')")
    if len(positional) > 1:
        raise UsageError(f"expects at most one input file, got {len(positional)}")
    seed = _int_flag(opts, "seed")
    precision = _int_flag(opts, "precision")
    path = positional[0] if positional else "-"
    name, text = _read(path)
    module_text = _parse(text, name)
    torch.manual_seed(seed)
    inputs = [make_input(spec) for spec in opts["inputs"]]
    fn, _ = compile_entry(module_text, opts["entry"], inputs, opts["pipeline"])
    try:
        results = fn(*inputs)
    except (ValueError, RuntimeError) as e:
        raise ToolError(f"{TOOL}: error: {e}") from None
    if opts["print_inputs"]:
        for i, t in enumerate(inputs):
            print(format_tensor(f"input[{i}]", t, precision))
    for i, t in enumerate(results):
        print(format_tensor(f"result[{i}]", t, precision))
    return 0


def _tag_inputs(argv: list[str]) -> list[str]:
    out, it = [], iter(range(len(argv)))
    for i in it:
        arg = argv[i]
        name, eq, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name in ("input", "input-shape"):
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError(f"option '-{name}' expects a value")
                value = argv[next(it)]
            out.append(f"--{name}={'file' if name == 'input' else 'shape'}:{value}")
        else:
            out.append(arg)
    return out


def _int_flag(opts: dict, key: str) -> int:
    try:
        return int(opts[key])
    except ValueError:
        raise UsageError(f"option '--{key}' expects an integer, got '{opts[key]}'") from None


def _read(path: str) -> tuple[str, str]:
    try:
        if path == "-":
            return "<stdin>", sys.stdin.buffer.read().decode("utf-8", errors="replace")
        with open(path, "rb") as f:
            return path, f.read().decode("utf-8", errors="replace")
    except OSError as e:
        raise ToolError(f"{TOOL}: error: cannot open input file '{path}': {e.strerror}") from None


def _parse(text: str, name: str) -> str:
    """Parse and verify, reporting diagnostics mlir-opt style; the module's text back."""
    ctx = make_context()
    ctx.enable_multithreading(False)
    sources = Sources()
    sources.add(name, text)
    with ctx, ir.Location.unknown(), Collector(ctx) as col:
        try:
            parsed = parse_module(text, name, col)
            return str(parsed.op)
        except ParseFailed:
            pass
        finally:
            for d in col.take():
                print(sources.format(d, name), file=sys.stderr)
    raise ToolError(f"{TOOL}: error: '{name}' is not a valid module")


def make_input(spec: str) -> torch.Tensor:
    kind, _, value = spec.partition(":")
    if kind == "file":
        try:
            return torch.from_numpy(np.ascontiguousarray(np.load(value, allow_pickle=False)))
        except (OSError, ValueError) as e:
            raise ToolError(f"{TOOL}: error: cannot load input '{value}': {e}") from None
    shape, dtype = parse_shape(value)
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=torch.float32).to(dtype)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape).to(torch.bool)
    return torch.randint(-5, 6, shape, dtype=dtype)


def parse_shape(text: str) -> tuple[tuple[int, ...], torch.dtype]:
    """'2x3' -> ((2, 3), f32); '2x3xi64' -> ((2, 3), i64); 'f64' -> ((), f64)."""
    m = re.fullmatch(r"((?:\d+x)*\d+)?(?:x?([a-z]+\d+))?", text.strip())
    if not m or not text.strip() or (m.group(2) and m.group(2) not in _DTYPES):
        allowed = ", ".join(_DTYPES)
        raise UsageError(
            f"bad input shape '{text}', expected e.g. 2x3 or 2x3xi64 (dtypes: {allowed})"
        )
    dims = tuple(int(d) for d in m.group(1).split("x")) if m.group(1) else ()
    return dims, _DTYPES[m.group(2) or "f32"]


def compile_entry(module_text: str, entry: str, inputs: list[torch.Tensor], pipeline: str):
    """A CpuFunction for `@entry` and its output specs, after checking the inputs fit."""
    with make_context(), ir.Location.unknown():
        module = ir.Module.parse(module_text)
        func = _find(module, entry)
        fn_type = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        ins, outs = list(fn_type.inputs), list(fn_type.results)
        if any(not isinstance(t, ir.RankedTensorType) for t in (*ins, *outs)):
            raise ToolError(
                f"{TOOL}: error: '@{entry}' must take and return ranked tensors, got {fn_type}"
            )
        if len(inputs) != len(ins):
            raise ToolError(f"{TOOL}: error: '@{entry}' takes {len(ins)} inputs, got {len(inputs)}")
        for i, (t, want) in enumerate(zip(inputs, ins)):
            shape = shape_of(want)
            dtype = torch_dtype(ir.RankedTensorType(want).element_type)
            fits = len(shape) == t.dim() and all(s in (DYN, d) for s, d in zip(shape, t.shape))
            if not fits or t.dtype != dtype:
                got = "x".join(map(str, t.shape)) + f" {t.dtype}"
                raise ToolError(
                    f"{TOOL}: error: input #{i} of '@{entry}' expects {want}, got {got}"
                )
        specs = []
        for i, t in enumerate(outs):
            shape = shape_of(t)
            shape_fn = _shape_fn(module_text, entry, i) if DYN in shape else None
            specs.append(
                OutputSpec(torch_dtype(ir.RankedTensorType(t).element_type), shape, shape_fn)
            )
    try:
        fn = CpuFunction(module_text, specs, entry=entry, pipeline=pipeline)
        fn.variant(tuple(t.is_contiguous() for t in inputs))  # compile now: errors surface here
    except CompileError as e:
        raise ToolError(f"{TOOL}: error: {e}") from None
    return fn, specs


def _find(module: ir.Module, entry: str):
    funcs = {}
    for op in module.body.operations:
        if op.operation.name in ("func.func", "llvm.func") and "sym_name" in op.attributes:
            funcs[ir.StringAttr(op.attributes["sym_name"]).value] = op
    op = funcs.get(entry)
    if op is None:
        names = ", ".join(funcs) or "none"
        raise ToolError(f"{TOOL}: error: no function '@{entry}' in the module (functions: {names})")
    if op.operation.name == "llvm.func":
        # After LLVM conversion the signature is expanded memref descriptors with opaque
        # pointers: element types and result shapes are gone, so the entry cannot be called
        # safely from the command line. The tensor-level module still can.
        raise ToolError(
            f"{TOOL}: error: '@{entry}' is already in the LLVM dialect; give the module at tg or "
            "linalg-on-tensors level (the CPU lowering is done here)"
        )
    return op


def _shape_fn(module_text: str, entry: str, index: int):
    def shape_fn(inputs):
        from ..runtime.tg_shapes import result_shapes

        with make_context(), ir.Location.unknown():
            module = ir.Module.parse(module_text)
            return result_shapes(_find(module, entry), [tuple(t.shape) for t in inputs])[index]

    return shape_fn


def format_tensor(label: str, t: torch.Tensor, precision: int) -> str:
    """numpy's rendering under a 'label: shape=(...) dtype=...' line; every element shown,
    floats with a fixed number of digits so FileCheck patterns stay stable."""
    arr = t.detach().to(torch.float32 if t.dtype in (torch.bfloat16, torch.float16) else t.dtype)
    arr = arr.numpy()
    body = np.array2string(
        arr,
        separator=", ",
        precision=precision,
        floatmode="fixed",
        suppress_small=False,
        threshold=sys.maxsize,
        max_line_width=100,
    )
    dtype = str(t.dtype).removeprefix("torch.")
    return f"{label}: shape={tuple(t.shape)} dtype={dtype}\n{body}"
