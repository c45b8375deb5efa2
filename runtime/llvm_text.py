"""LLVM IR text from torch-mlir's (newer) LLVM, rewritten for llvmlite's parser.

Note [llvm ir text for llvmlite]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
torch-mlir's translation prints with a newer LLVM than llvmlite parses with, and the two
disagree on how floating-point constants are spelled:

  * special values as words (`-inf`, `+qnan`), where the older parser wants hex;
  * `f0x3727C5AC`: the new bit-exact hex literal, whose digit count is the type's width;
  * the shortest decimal that round-trips (`float -2.954600e-03`), where the older parser
    accepts a decimal only if it is exactly representable in the constant's type.

Each is rewritten to the spelling both accept: `0x` and the 16 hex digits of the value as
a double for float and double, `0xH`/`0xR` and the bits for half and bfloat. A decimal or
a 4-digit hex literal takes its type from the nearest type name before it on its line
(`fadd float %a, 1.0e-01`, `<2 x half> <half f0x3C00, ...>`). Everything else in the text
is left as it is.
"""

from __future__ import annotations

import bisect
import itertools
import re
import struct

SPECIAL_FLOATS = {
    "inf": "0x7FF0000000000000", "+inf": "0x7FF0000000000000", "-inf": "0xFFF0000000000000",
    "nan": "0x7FF8000000000000", "+nan": "0x7FF8000000000000", "-nan": "0xFFF8000000000000",
    "qnan": "0x7FF8000000000000", "+qnan": "0x7FF8000000000000", "-qnan": "0xFFF8000000000000",
}  # fmt: skip
_SPECIAL = re.compile(r"(?<=[\s,\[(<])([+-]?(?:inf|q?nan))(?=[\s,\])>]|$)", re.M)
# A line with a constant to rewrite: a bit-exact hex or a decimal literal.
_LITERAL = r"(?<![\w.%@$-])(f0x[0-9A-Fa-f]+|[+-]?\d+\.\d+e[+-]\d+)"
_NEEDS_WORK = re.compile(_LITERAL)
_TOKEN = re.compile(r"\b(half|bfloat|float|double)\b|" + _LITERAL)


def _double_hex(value: float) -> str:
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", value))[0]


def _f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _rewrite(literal: str, ty: str | None) -> str:
    if literal.startswith("f0x"):
        digits = literal[3:]
        if len(digits) == 16:
            return "0x" + digits
        if len(digits) == 8:
            return _double_hex(_f32(int(digits, 16)))
        if len(digits) == 4:
            return ("0xR" if ty == "bfloat" else "0xH") + digits
        raise ValueError(f"llvm text: unexpected hex float literal '{literal}'")
    if ty == "float":  # round to the nearest float, which the decimal stood for
        return _double_hex(struct.unpack("<f", struct.pack("<f", float(literal)))[0])
    return literal  # double: any decimal parses; half/bfloat: printed in hex by LLVM


def _rewrite_line(line: str) -> str:
    ty = None
    out, last = [], 0
    for m in _TOKEN.finditer(line):
        if m.group(1):
            ty = m.group(1)
            continue
        out.append(line[last : m.start()])
        out.append(_rewrite(m.group(2), ty))
        last = m.end()
    out.append(line[last:])
    return "".join(out)


# What a decimal literal contains, cheap to scan a whole module for: the exact patterns
# above have lookbehinds that cost 30-50 ms per MB of text when tried at every position.
_DECIMAL = re.compile(r"\.\d+e[+-]")


def _positions(text: str, word: str):
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


def legacy_float_syntax(llvm_ir: str) -> str:
    """`llvm_ir` with its float constants spelled for llvmlite (Note [llvm ir text for llvmlite])."""
    lines = llvm_ir.split("\n")
    starts = list(itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=0))
    found = itertools.chain(*(_positions(llvm_ir, w) for w in ("inf", "nan", "f0x")),
                            (m.start() for m in _DECIMAL.finditer(llvm_ir)))
    candidates = sorted({bisect.bisect_right(starts, at) - 1 for at in found})
    for i in candidates:
        line = _SPECIAL.sub(lambda m: SPECIAL_FLOATS[m.group(1)], lines[i])
        lines[i] = _rewrite_line(line) if _NEEDS_WORK.search(line) else line
    return "\n".join(lines)
