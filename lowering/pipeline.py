"""Textual pass pipelines that mix dynamlir's Python passes with upstream MLIR passes.

Upstream `PassManager.parse` cannot see Python passes, so the top-level list is split
here: registered `tg-*` names become Python passes, runs of other names are forwarded
to upstream as text. Named pipelines expand before parsing.
"""

from __future__ import annotations

import functools
import re

from torch_mlir import ir
from torch_mlir.passmanager import PassManager

from .registry import PASSES, PIPELINES


class PipelineError(ValueError):
    """A malformed pipeline string or an unknown pass or option."""


def split_top_level(text: str) -> list[str]:
    """Split 'a,b{x=1,2},func.func(c,d)' at the commas outside braces and parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
            if depth < 0:
                raise PipelineError(f"unbalanced '{ch}' in pipeline '{text}'")
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise PipelineError(f"unbalanced brackets in pipeline '{text}'")
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def strip_anchor(text: str) -> str:
    """'builtin.module(a,b)' -> 'a,b'; a bare list is returned unchanged."""
    text = text.strip()
    m = re.fullmatch(r"builtin\.module\s*\((.*)\)", text, re.S)
    return m.group(1) if m else text


def expand(text: str, depth: int = 0) -> list[str]:
    """Top-level pipeline elements with named pipelines expanded (recursively)."""
    if depth > 8:
        raise PipelineError("named pipelines nest too deeply (cycle?)")
    out = []
    for part in split_top_level(strip_anchor(text)):
        name, _ = parse_element(part)
        if name in PIPELINES:
            out += expand(PIPELINES[name][0], depth + 1)
        else:
            out.append(part)
    return out


def parse_element(part: str) -> tuple[str, dict[str, str]]:
    m = re.fullmatch(r"([\w.\-]+)\s*(?:\{(.*)\})?", part.strip(), re.S)
    if not m:
        return part.strip(), {}
    return m.group(1), parse_options(m.group(2) or "")


def parse_options(text: str) -> dict[str, str]:
    opts = {}
    for item in re.findall(r"[\w\-]+\s*=\s*(?:\"[^\"]*\"|[^\s]+)|[\w\-]+", text):
        key, _, value = item.partition("=")
        opts[key.strip().replace("-", "_")] = value.strip().strip('"') if _ else "true"
    return opts


def bind_pass(name: str, options: dict[str, str]):
    info = PASSES[name]
    unknown = set(options) - set(info.options)
    if unknown:
        allowed = ", ".join(sorted(info.options)) or "none"
        raise PipelineError(
            f"pass '{name}' has no option '{sorted(unknown)[0]}' (allowed: {allowed})"
        )
    return functools.partial(info.fn, **options) if options else info.fn


def build_pass_manager(text: str, context: ir.Context | None = None) -> PassManager:
    """A PassManager for `text` ('builtin.module(...)' or a bare comma list)."""
    pm = PassManager("builtin.module", context=context)
    upstream: list[str] = []

    def flush():
        if upstream:
            try:
                pm.add(",".join(upstream))
            except Exception as e:  # noqa: BLE001 - upstream parse errors are ValueErrors
                raise PipelineError(f"invalid upstream pipeline '{','.join(upstream)}': {e}") from None
            upstream.clear()

    for part in expand(text):
        name, options = parse_element(part)
        if name in PASSES:
            flush()
            pm.add(bind_pass(name, options), name=name, argument=name)
        elif re.search(r"\btg-[\w-]+", part) and not name.startswith("tg-"):
            raise PipelineError(f"dynamlir pass nested in '{name}(...)': tg-* passes run on the module")
        elif name.startswith("tg-"):
            raise PipelineError(f"unknown pass '{name}'")
        else:
            upstream.append(part)
    flush()
    return pm
