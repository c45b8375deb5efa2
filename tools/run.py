"""dynamlir-run: run a function of an MLIR module (tg, linalg on tensors) on the CPU and
print its results, numpy style, for FileCheck. Like mlir-cpu-runner, for dynamlir.

`main(argv) -> int` never raises; see tools/cli.py `guarded` for the exit statuses.
"""

from __future__ import annotations

import sys

from .cli import guarded

TOOL = "dynamlir-run"


def main(argv: list[str] | None = None) -> int:
    """Run dynamlir-run on `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)

    def run() -> int:
        from .run_driver import run

        return run(argv)

    return guarded(TOOL, run)


if __name__ == "__main__":
    sys.exit(main())
