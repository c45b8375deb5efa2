"""lit configuration for dynamlir: `lit test/lit -v` from the repository root.

Runs the `.mlir` and `.py` tests under test/lit with the shell tools (dynamlir-opt,
dynamlir-run) and `filecheck`, all pip console scripts installed next to the Python
that runs lit. test/lit/lit.cfg.py forwards here, so `lit test/lit/<file>` finds this
configuration too (lit maps paths relative to the directory holding the config).
"""

import ctypes
import ctypes.util
import os
import sys

import lit.formats

ROOT = os.path.dirname(os.path.abspath(__file__))

config.name = "dynamlir"
# lit >= 23 refuses the external shell (ShTest(True)); its internal shell runs our RUN
# lines (pipes, `not`, redirections) the same way on every platform.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".py"]
config.test_source_root = os.path.join(ROOT, "test", "lit")
config.test_exec_root = config.test_source_root
# Output/ holds lit's temporaries; the config files are .py but not tests.
config.excludes = ["Output", "lit.cfg.py", "lit.local.cfg", "lit.local.cfg.py", "__pycache__"]

config.substitutions.append(("%PYTHON", sys.executable))

# Console scripts (dynamlir-opt, dynamlir-run, filecheck) sit next to the interpreter.
bindir = os.path.dirname(sys.executable)
config.environment["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
for var in ("HOME", "TMPDIR", "PYTHONPATH", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH"):
    if var in os.environ:
        config.environment[var] = os.environ[var]


def has_cuda_driver() -> bool:
    """True when libcuda loads and reports at least one device (a GPU is usable)."""
    for name in (ctypes.util.find_library("cuda"), "libcuda.so.1", "libcuda.so"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return False
        except AttributeError:
            return False
        return count.value > 0
    return False


if has_cuda_driver():
    config.available_features.add("cuda")
