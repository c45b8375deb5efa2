"""dynamlir-opt: mlir-opt for dynamlir. Parses MLIR with the tg dialect loaded, runs a
pipeline mixing dynamlir's Python passes with any upstream pass, prints the result.

`main(argv) -> int` never raises: bad input, bad flags and failing passes are reported as
diagnostics (exit 1), anything unforeseen as 'dynamlir-opt: internal error: ...' (exit 2).
The driver lives in opt_driver.py and is imported inside the guard, so even a broken
import of the pass registry is reported without a traceback.
"""

from __future__ import annotations

import sys

from .cli import guarded

TOOL = "dynamlir-opt"


def main(argv: list[str] | None = None) -> int:
    """Run dynamlir-opt on `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)

    def run() -> int:
        from .opt_driver import run

        return run(argv)

    return guarded(TOOL, run)


if __name__ == "__main__":
    sys.exit(main())
