"""Textual pass pipelines that mix dynamlir's Python passes with upstream MLIR passes.

Upstream `PassManager.parse` cannot see Python passes, so the top-level list is split
here: registered `tg-*` names become Python passes, other names are forwarded to
upstream as text. Named pipelines expand before parsing. `pipeline_steps` also flattens
nested upstream pipelines into one step per pass, so a driver can run, time and print
around each pass separately (`func.func(a,b)` runs as `func.func(a)` then `func.func(b)`:
op-nested passes are independent per op, so the result is the same).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import re
import sys
import tempfile

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
        name, options = parse_element(part)
        if name in PIPELINES:
            if options:
                raise PipelineError(f"pipeline '{name}' takes no options, got '{part}'")
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
    """'a=1 b="x y" c' -> {'a': '1', 'b': 'x y', 'c': 'true'} (mlir-opt's option syntax)."""
    opts = {}
    items = re.findall(r"[\w\-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|\{[^}]*\}|[^\s]+)|[^\s=]+", text)
    rest = re.sub(r"[\w\-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|\{[^}]*\}|[^\s]+)|[^\s=]+", "", text)
    if rest.strip():
        raise PipelineError(f"malformed pass options '{text.strip()}'")
    for item in items:
        key, eq, value = item.partition("=")
        if not re.fullmatch(r"[\w\-]+", key.strip()):
            raise PipelineError(f"malformed pass option '{item}'")
        opts[key.strip().replace("-", "_")] = value.strip().strip("\"'") if eq else "true"
    return opts


def convert_option(name: str, key: str, value: str, default: object) -> object:
    """Convert an option string to the type of the pass function's default."""
    if isinstance(default, bool):
        if value.lower() in ("1", "true", "on", "yes"):
            return True
        if value.lower() in ("0", "false", "off", "no"):
            return False
        raise PipelineError(f"pass '{name}' option '{key}' expects true or false, got '{value}'")
    for kind, what in ((int, "an integer"), (float, "a number")):
        if isinstance(default, kind):
            try:
                return kind(value)
            except ValueError:
                raise PipelineError(
                    f"pass '{name}' option '{key}' expects {what}, got '{value}'"
                ) from None
    return value


def _check_decompose(opts: dict) -> None:
    from .decompose import resolve_keep

    resolve_keep(str(opts.get("keep", "")), str(opts.get("targets", "none")))


def _check_partition(opts: dict) -> None:
    from .partition import POLICIES

    if "policy" in opts and opts["policy"] not in POLICIES:
        raise ValueError(f"unknown policy '{opts['policy']}' (allowed: {', '.join(POLICIES)})")
    flag = str(opts.get("keep_joint", "false")).lower()
    if flag not in ("true", "false", "1", "0"):
        raise ValueError(f"option 'keep-joint' expects true or false, got '{flag}'")


def _check_autodiff(opts: dict) -> None:
    from .autodiff import parse_indices

    parse_indices(str(opts.get("wrt", "")))


def _check_gpu(opts: dict) -> None:
    from .to_gpu import CHIPS

    if "chip" in opts and opts["chip"] not in CHIPS:
        raise ValueError(f"unknown chip '{opts['chip']}' (allowed: {', '.join(CHIPS)})")


# Option values a pass only rejects when it runs (a diagnostic, as mlir-opt reports them);
# validate_pipeline checks them up front for the Python API.
OPTION_CHECKS = {
    "tg-decompose": _check_decompose,
    "tg-partition": _check_partition,
    "tg-autodiff": _check_autodiff,
    "tg-gpu-pipeline": _check_gpu,
}


def check_option_values(name: str, kwargs: dict) -> None:
    if (check := OPTION_CHECKS.get(name)) is None or not kwargs:
        return
    try:
        check(kwargs)
    except ValueError as e:
        message = str(e) if str(e).startswith(f"{name}: ") else f"{name}: {e}"
        raise PipelineError(message) from None


def validate_pipeline(text: str) -> list[Step]:
    """`pipeline_steps` plus the option values that passes check only when they run: a
    ValueError (PipelineError) naming the option and its allowed values, before any IR."""
    steps = pipeline_steps(text)
    for step in steps:
        if isinstance(step.fn, functools.partial):
            check_option_values(step.argument, step.fn.keywords)
    return steps


def bind_pass(name: str, options: dict[str, str]):
    info = PASSES[name]
    unknown = set(options) - set(info.options)
    if unknown:
        allowed = ", ".join(sorted(info.options)) or "none"
        raise PipelineError(
            f"pass '{name}' has no option '{sorted(unknown)[0]}' (allowed: {allowed})"
        )
    sig = inspect.signature(info.fn)
    kwargs = {}
    for key, value in options.items():
        param = sig.parameters.get(key)
        default = param.default if param is not None else inspect.Parameter.empty
        kwargs[key] = convert_option(name, key, value, default)
    return functools.partial(info.fn, **kwargs) if kwargs else info.fn


@dataclasses.dataclass
class Step:
    """One pass of a flattened pipeline: a Python pass or an upstream pipeline text."""

    argument: str  # the pass argument ('tg-decompose', 'cse')
    text: str  # the element as written, nested in its anchors ('func.func(cse)')
    fn: object = None  # the bound Python callable, None for upstream steps

    def add_to(self, pm: PassManager) -> None:
        if self.fn is not None:
            pm.add(self.fn, name=self.argument, argument=self.argument)
        else:
            add_upstream(pm, self.text)


def add_upstream(pm: PassManager, text: str) -> None:
    """`pm.add(text)`, turning upstream's ValueError (and what it wrote straight to the
    process's stderr, e.g. option parse errors) into one PipelineError."""
    err, noise = None, ""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded); let the noise through
        saved = None
    with tempfile.TemporaryFile() as tmp:
        if saved is not None:
            os.dup2(tmp.fileno(), 2)
        try:
            pm.add(text)
        except ValueError as e:
            err = str(e)
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
        tmp.seek(0)
        noise = tmp.read().decode(errors="replace")
    if err is not None:
        lines = [ln.strip().lstrip(": ") for ln in (noise + err).splitlines()]
        errors = [ln.split("error: ", 1)[1] for ln in lines if "error: " in ln]
        detail = "; ".join(errors or [ln for ln in lines if ln])
        raise PipelineError(f"invalid upstream pipeline '{text}': {detail}")


def flatten(part: str, anchors: tuple[str, ...] = ()) -> list[Step]:
    """Steps of one element; an `anchor(a,b)` element yields one step per nested pass."""
    m = re.fullmatch(r"([\w.\-]+)\s*\((.*)\)", part.strip(), re.S)
    if m:
        steps = []
        for inner in split_top_level(m.group(2)):
            steps += flatten(inner, (*anchors, m.group(1)))
        return steps
    name, options = parse_element(part)
    if name in PASSES or name.startswith("tg-"):
        if anchors:
            raise PipelineError(
                f"dynamlir pass '{name}' nested in '{anchors[-1]}(...)': tg-* passes run on the module"
            )
        if name not in PASSES:
            raise PipelineError(f"unknown pass '{name}'")
        return [Step(name, part.strip(), bind_pass(name, options))]
    if name in PIPELINES:
        raise PipelineError(f"named pipeline '{name}' nested in '{anchors[-1]}(...)'")
    text = part.strip()
    for anchor in reversed(anchors):
        text = f"{anchor}({text})"
    return [Step(name, text)]


def pipeline_steps(text: str, context: ir.Context | None = None) -> list[Step]:
    """The flattened, validated steps of `text` ('builtin.module(...)' or a bare list).

    Upstream steps are checked by adding them to a scratch PassManager, so an unknown
    upstream pass or a bad option fails here, before any IR is touched.
    """
    steps = []
    for part in expand(text):
        steps += flatten(part)
    with context or _current_context() or ir.Context():
        scratch = PassManager("builtin.module")
        for step in steps:
            if step.fn is None:
                add_upstream(scratch, step.text)
    return steps


def _current_context() -> ir.Context | None:
    try:
        return ir.Context.current
    except ValueError:
        return None


def build_pass_manager(text: str, context: ir.Context | None = None) -> PassManager:
    """A PassManager for `text` ('builtin.module(...)' or a bare comma list)."""
    pm = PassManager("builtin.module", context=context)
    upstream: list[str] = []

    def flush():
        if upstream:
            add_upstream(pm, ",".join(upstream))
            upstream.clear()

    for part in expand(text):
        steps = flatten(part)  # validates nesting and options
        if len(steps) == 1 and steps[0].fn is not None:
            flush()
            steps[0].add_to(pm)
        else:
            upstream.append(part)
    flush()
    return pm
