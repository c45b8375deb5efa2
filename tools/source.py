"""Reading MLIR inputs for the shell tools: `--split-input-file` chunks and parsing into a
module that carries the input's file name in its locations, as mlir-opt does.
"""

from __future__ import annotations

import dataclasses
import re

from torch_mlir import ir

DEFAULT_SPLIT_MARKER = "// -----"


@dataclasses.dataclass
class Chunk:
    text: str  # padded with newlines so line N of `text` is line N of the whole file
    first_line: int  # where the chunk starts in the whole file (1-based)


def split_input(text: str, marker: str | None) -> list[Chunk]:
    """Cut `text` at lines holding only `marker`; None keeps it whole.

    Each chunk is padded with the newlines that precede it, so every location the
    parser produces (diagnostics, --mlir-print-debuginfo) counts lines of the whole file.
    """
    if marker is None:
        return [Chunk(text, 1)]
    lines = text.splitlines(keepends=True)
    chunks, start, cur = [], 0, []
    pattern = re.compile(r"[ \t]*" + re.escape(marker.strip()) + r"[ \t]*\r?\n?")
    for i, line in enumerate(lines):
        if pattern.fullmatch(line):
            chunks.append(Chunk("\n" * start + "".join(cur), start + 1))
            start, cur = i + 1, []
        else:
            cur.append(line)
    chunks.append(Chunk("\n" * start + "".join(cur), start + 1))
    return chunks


class ParseFailed(Exception):
    """The input did not parse or verify; its diagnostics went to the context's handlers."""


_COUNT = re.compile(r"source must contain a single top-level operation, found: (\d+)")


class Parsed:
    """A parsed input: `op` is its builtin.module; `owner` keeps an `ir.Module` alive when
    the module op belongs to one."""

    def __init__(self, op: ir.Operation, owner: object = None, buffer_name: str | None = None):
        self.op = op
        self.owner = owner
        self.buffer_name = buffer_name  # the name the parser put in locations, if not ours


# linalg's custom syntax `... outs(...) permutation = [1, 0]` (transpose; `dimensions` for
# broadcast and reduce): upstream's parser dereferences a null attribute, a segmentation
# fault, when the list is malformed (`[1, 0, ]`, `[1 0]`, `x`, nothing). Checked first.
_INT_LIST_KEYWORD = re.compile(r"\)\s*(permutation|dimensions)\s*=[ \t]*")
_INT_LIST = re.compile(r"\[\s*(?:-?\d+\s*(?:,\s*-?\d+\s*)*)?\]")


def _check_int_lists(text: str, name: str, collector) -> None:
    """A diagnostic (and ParseFailed) for a malformed integer list of linalg's custom syntax."""
    from .diagnostics import Diag

    code = re.sub(r"//[^\n]*", lambda m: " " * len(m.group(0)), text)  # comments hold no IR
    for m in _INT_LIST_KEYWORD.finditer(code):
        if _INT_LIST.match(code, m.end()):
            continue
        line = code.count("\n", 0, m.end()) + 1
        col = m.end() - (code.rfind("\n", 0, m.end()) + 1) + 1
        collector.diags.append(Diag(
            "error", f"expected a list of integers like [1, 0] after '{m.group(1)} ='", name, line, col
        ))
        raise ParseFailed()


def parse_module(text: str, name: str, collector) -> Parsed:
    """Parse `text` as mlir-opt does: a lone builtin.module is the module, anything else is
    wrapped in an implicit one. Must run under the context (and a Location) of `collector`.

    Locations carry `name`. `Operation.parse` is the one entry point that takes a source
    name, but it wants exactly one top-level op; several are wrapped in `module {` put on
    the first line when that line holds no IR (so no column moves), otherwise upstream's
    implicit module parse is used and its buffer name '-' is renamed when reporting.
    """
    _check_int_lists(text, name, collector)
    before = len(collector.diags)
    try:
        op = ir.Operation.parse(text, source_name=name).operation
    except ir.MLIRError:
        count = _drop_count_error(collector, before)
        if count is None:
            raise ParseFailed() from None
        if count == 0:
            module = ir.Module.create(ir.Location.file(name, 1, 1))
            return Parsed(module.operation, module)
        return _parse_wrapped(text, name, collector)
    if op.name == "builtin.module":
        return Parsed(op, op)
    module = ir.Module.create(ir.Location.file(name, 1, 1))
    ir.InsertionPoint(module.body).insert(op)
    return Parsed(module.operation, module)


def _drop_count_error(collector, before: int) -> int | None:
    """If the only new diagnostic is the top-level op count, remove it and return it."""
    new = collector.diags[before:]
    if len(new) == 1 and (m := _COUNT.search(new[0].message)):
        del collector.diags[before:]
        return int(m.group(1))
    return None


def _parse_wrapped(text: str, name: str, collector) -> Parsed:
    first, nl, rest = text.partition("\n")
    if not first.strip() or first.lstrip().startswith("//"):
        wrapped = "module {" + first + nl + rest + "\n}\n"
        try:
            op = ir.Operation.parse(wrapped, source_name=name).operation
        except ir.MLIRError:
            raise ParseFailed() from None
        return Parsed(op, op)
    try:
        module = ir.Module.parse(text)
    except ir.MLIRError:
        raise ParseFailed() from None
    return Parsed(module.operation, module, buffer_name="-")


def print_module(parsed: Parsed, name: str, debuginfo: bool, generic: bool) -> str:
    """The module's text, ending in one newline; locations renamed to `name` if the
    parser gave the buffer another name."""
    asm = parsed.op.get_asm(enable_debug_info=debuginfo, print_generic_op_form=generic)
    if debuginfo and parsed.buffer_name:
        asm = asm.replace(f'loc("{parsed.buffer_name}":', f'loc("{_escape(name)}":')
    return asm if asm.endswith("\n") else asm + "\n"


def _escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')
