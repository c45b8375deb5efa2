"""Diagnostics for the shell tools: capture from an MLIR context, print mlir-opt style
(`file:line:col: error: msg`, the source line and a caret), and check them against
`expected-error {{...}}` comments for `--verify-diagnostics`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from torch_mlir import ir

_SEVERITY = {
    ir.DiagnosticSeverity.ERROR: "error",
    ir.DiagnosticSeverity.WARNING: "warning",
    ir.DiagnosticSeverity.REMARK: "remark",
    ir.DiagnosticSeverity.NOTE: "note",
}


@dataclasses.dataclass
class Diag:
    severity: str  # error | warning | remark | note
    message: str
    file: str | None = None  # None: unknown location
    line: int = 0
    col: int = 0
    notes: list[Diag] = dataclasses.field(default_factory=list)


def resolve_location(loc) -> tuple[str, int, int] | None:
    """The first file:line:col inside `loc` (through name, call-site and fused locations),
    as mlir-opt's source manager handler picks it; None for an unknown location."""
    for _ in range(64):  # locations are finite trees; the bound only guards against cycles
        if isinstance(loc, ir.FileLineColLoc):
            return loc.filename, loc.start_line, loc.start_col
        if isinstance(loc, ir.NameLoc):
            loc = loc.child_loc
        elif isinstance(loc, ir.CallSiteLoc):
            loc = loc.callee
        elif isinstance(loc, ir.FusedLoc):
            found = [r for r in (resolve_location(x) for x in loc.locations) if r]
            return found[0] if found else None
        else:
            return None
    return None


def from_mlir(d) -> Diag:
    """A Diag from an `ir.Diagnostic` (handler callback) or `ir.DiagnosticInfo`."""
    where = resolve_location(d.location)
    file, line, col = where if where else (None, 0, 0)
    return Diag(
        _SEVERITY.get(d.severity, "error"),
        str(d.message),
        file,
        line,
        col,
        [from_mlir(n) for n in d.notes],
    )


class Collector:
    """Collects every diagnostic emitted in `ctx` while active, errors included.

    With `emit_error_diagnostics` on, errors reach handlers instead of being folded into
    `MLIRError` text, so parse, verifier and pass diagnostics arrive here in one order.
    """

    def __init__(self, ctx: ir.Context):
        self.ctx = ctx
        self.diags: list[Diag] = []
        self._handle = None

    def _handle_diag(self, d) -> bool:
        try:
            self.diags.append(from_mlir(d))
        except Exception as e:  # noqa: BLE001 - a handler must never raise into MLIR
            self.diags.append(Diag("error", f"unreadable diagnostic: {e}"))
        return True

    def __enter__(self) -> Collector:
        self.ctx.emit_error_diagnostics = True
        self._handle = self.ctx.attach_diagnostic_handler(self._handle_diag)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.detach()
            self._handle = None

    def take(self) -> list[Diag]:
        out, self.diags = self.diags, []
        return out

    @property
    def has_error(self) -> bool:
        return any(d.severity == "error" for d in self.diags)


class Sources:
    """Original text of the inputs by display name, to quote the line a diagnostic
    points at; `rename` maps buffer names the parser used ('-') to display names."""

    def __init__(self):
        self.lines: dict[str, list[str]] = {}
        self.rename: dict[str, str] = {}

    def add(self, name: str, text: str) -> None:
        self.lines[name] = text.splitlines()

    def name(self, file: str | None) -> str | None:
        return self.rename.get(file, file) if file is not None else None

    def format(self, d: Diag, default_name: str = "") -> str:
        """mlir-opt's rendering: the location, severity and message, then the source
        line with a caret under the column, then the notes the same way."""
        name = self.name(d.file)
        if name is None:
            head = f"{default_name}: " if default_name else ""
        else:
            head = f"{name}:{d.line}:{d.col}: "
        out = [f"{head}{d.severity}: {d.message}"]
        lines = self.lines.get(name or "", [])
        if name is not None and 1 <= d.line <= len(lines):
            src = lines[d.line - 1]
            out.append(src)
            out.append(" " * max(0, min(d.col - 1, len(src))) + "^")
        out += [self.format(n, default_name) for n in d.notes]
        return "\n".join(out)


# --- --verify-diagnostics ------------------------------------------------------------

_EXPECT = re.compile(
    r"expected-(error|warning|remark|note)(-re)?\s*(@(?:[+-]\d+|above|below|unknown))?\s*"
    r"\{\{(.*)\}\}\s*$"
)


@dataclasses.dataclass
class Expected:
    severity: str
    text: str
    line: int  # the line the diagnostic must point at; 0 for @unknown
    where: tuple[int, int]  # line and column of the comment, to report it if missing
    pattern: re.Pattern | None = None  # for expected-*-re
    matched: bool = False

    def matches(self, message: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(message) is not None
        return self.text in message


def _regex_of(text: str) -> re.Pattern:
    """FileCheck-style: literal text with `{{regex}}` islands (expected-error-re)."""
    parts = re.split(r"\{\{(.*?)\}\}", text)
    return re.compile("".join(p if i % 2 else re.escape(p) for i, p in enumerate(parts)))


def parse_expectations(text: str) -> tuple[list[Expected], list[str]]:
    """The `expected-*` comments in `text` (line numbers as in `text`) and the problems
    found in them (bad regexes, offsets before line 1)."""
    found: list[Expected] = []
    problems: list[str] = []
    lines = text.splitlines()
    last_plain = 0
    pending_below: list[Expected] = []
    for lineno, src in enumerate(lines, 1):
        m = _EXPECT.search(src)
        if not m:
            # Only a comment that starts with a directive is a broken one: CHECK lines
            # may mention the words.
            bad = re.search(r"//\s*expected-(error|warning|remark|note)\b", src)
            if bad:
                col = src.index("expected-", bad.start()) + 1
                problems.append(
                    f"{lineno}:{col}: malformed expected-{bad.group(1)} directive, "
                    "expects '{{message}}' after it"
                )
                continue
            last_plain = lineno
            for e in pending_below:
                e.line = lineno
            pending_below.clear()
            continue
        severity, is_re, at, body = m.groups()
        e = Expected(severity, body, lineno, (lineno, m.start() + 1))
        if is_re:
            try:
                e.pattern = _regex_of(body)
            except re.error as err:
                problems.append(
                    f"{lineno}:{m.start() + 1}: invalid regex in expected-{severity}-re: {err}"
                )
                continue
        if at == "@above":
            e.line = last_plain
        elif at == "@below":
            e.line = len(lines) + 1  # dangling unless a plain line follows
            pending_below.append(e)
        elif at == "@unknown":
            e.line = 0
        elif at:
            e.line = lineno + int(at[1:])
        if e.line < 0:
            problems.append(f"{lineno}:{m.start() + 1}: expected-{severity} points before line 1")
            continue
        found.append(e)
    return found, problems


def verify(
    diags: Iterable[Diag], expected: list[Expected], sources: Sources, file: str
) -> list[str]:
    """Match emitted diagnostics (notes included) against the expectations of `file`.

    Returns mlir-opt's complaints: 'unexpected error: ...' for each diagnostic nothing
    expects, and 'expected error "..." was not produced' for each unmet expectation.
    """
    complaints = []

    def flat(ds):
        for d in ds:
            # mlir-opt turns off the op dump note under --verify-diagnostics; it cannot be
            # turned off from Python, so it is dropped here instead.
            if d.severity == "note" and d.message.startswith("see current operation:"):
                continue
            yield d
            yield from flat(d.notes)

    for d in flat(diags):
        name = sources.name(d.file)
        line = 0 if name is None else d.line
        if name is not None and name != file:
            line = -1  # another file (a Python source location): nothing can expect it
        cands = [e for e in expected if e.line == line and e.severity == d.severity]
        hit = [e for e in cands if e.matches(d.message)]
        if hit:
            (next((e for e in hit if not e.matched), hit[0])).matched = True
            continue
        plain = dataclasses.replace(d, message=f"unexpected {d.severity}: {d.message}", notes=[])
        plain.severity = "error"
        complaints.append(sources.format(plain, file))
    for e in expected:
        if not e.matched:
            line, col = e.where
            loc = Diag(
                "error", f'expected {e.severity} "{e.text}" was not produced', file, line, col
            )
            complaints.append(sources.format(loc, file))
    return complaints
