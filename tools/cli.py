"""Command-line parsing for the shell tools, in LLVM's `cl` conventions as mlir-opt uses
them: `-flag` and `--flag` are the same, values as `-flag=value` or `-flag value`, and
any other `-name[=options]` names a pass (dynamlir's or upstream's).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Callable


class UsageError(Exception):
    """A bad command line; the message is printed after '<tool>: error: '."""


class ToolError(Exception):
    """The run cannot go on; the message is already a complete diagnostic line."""


class InternalError(Exception):
    """A bug (e.g. a Python pass raised); reported as '<tool>: internal error: ...'."""


def guarded(tool: str, run: Callable[[], int]) -> int:
    """Call `run` and turn every way out of it into an exit status and a one-line message:
    the tools' contract is that a user never sees a Python traceback. `run` also does the
    heavy imports, so a broken import is reported the same way."""
    try:
        return run()
    except UsageError as e:
        print(f"{tool}: error: {e}", file=sys.stderr)
        return 1
    except ToolError as e:
        print(e, file=sys.stderr)
        return 1
    except InternalError as e:
        print(f"{tool}: internal error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    except RecursionError:
        print(f"{tool}: error: input nests too deeply", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - the contract: no Python traceback, ever
        print(f"{tool}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


@dataclasses.dataclass
class Flag:
    dest: str
    kind: str  # "bool": -x or -x=false; "value": needs a value; "list": repeatable value
    help: str
    metavar: str = ""


def parse_bool(name: str, value: str) -> bool:
    low = value.lower()
    if low in ("", "1", "true", "on", "yes"):
        return True
    if low in ("0", "false", "off", "no"):
        return False
    raise UsageError(f"option '-{name}' expects true or false, got '{value}'")


def parse_command_line(argv: list[str], flags: dict[str, Flag], defaults: dict):
    """Split `argv` into driver options (a dict seeded from `defaults`), positional
    arguments, and pass flags [(name, value or None)] in command-line order."""
    opts = dict(defaults)
    positional: list[str] = []
    passes: list[tuple[str, str | None]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional += argv[i:]
            break
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        name, eq, value = arg.lstrip("-").partition("=")
        flag = flags.get(name)
        if flag is None:
            if not name:
                raise UsageError(f"malformed option '{arg}'")
            passes.append((name, value if eq else None))
            continue
        if flag.kind == "bool":
            opts[flag.dest] = parse_bool(name, value) if eq else True
            continue
        if not eq:
            if i >= len(argv):
                raise UsageError(f"option '-{name}' expects a value")
            value = argv[i]
            i += 1
        if flag.kind == "list":
            opts[flag.dest] = [*opts.get(flag.dest, []), value]
        else:
            opts[flag.dest] = value
    return opts, positional, passes


def usage(tool: str, synopsis: str, flags: dict[str, Flag]) -> str:
    lines = [f"usage: {tool} {synopsis}", "", "options:"]
    seen = set()
    for name, flag in flags.items():
        if id(flag) in seen:
            continue
        seen.add(id(flag))
        aliases = [n for n, f in flags.items() if f is flag]
        spelled = ", ".join(
            f"-{n}" if len(n) == 1 else f"--{n}" + (f"={flag.metavar}" if flag.metavar else "")
            for n in aliases
        )
        lines.append(f"  {spelled:<36} {flag.help}")
    return "\n".join(lines)
