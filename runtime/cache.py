"""Compile cache for CPU functions: in memory (per process) and on disk (across processes).

Note [cpu compile cache]
~~~~~~~~~~~~~~~~~~~~~~~~
The key hashes the wrapped module text, the pipeline, the host's vector width and the
source of every dynamlir file that shapes code generation (dialects/, lowering/,
runtime/cpu.py and memref.py), so editing a lowering invalidates old entries by itself.
On disk (DYNAMLIR_CACHE_DIR, default ~/.cache/dynamlir; '' or 0 turns it off) an entry is
a shared object linked from the JIT's object file with the system C compiler, loaded with
ctypes; without a compiler it is the final LLVM-dialect text, which still skips the
Python passes on reload. Entries are written to a temporary name and renamed into place,
so concurrent processes never read half a file.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

VERSION = "1"
SYMBOL = "_mlir__mlir_ciface_dynamlir_entry"  # the packed (void **) interface of the entry

_MEMORY: dict[str, tuple] = {}


def cache_dir() -> Path | None:
    value = os.environ.get("DYNAMLIR_CACHE_DIR")
    if value is None:
        return Path.home() / ".cache" / "dynamlir"
    if value.strip() in ("", "0", "off", "false"):
        return None
    return Path(value)


@functools.lru_cache(maxsize=None)
def source_fingerprint() -> str:
    from ..lowering.cpu_matmul import host_vector_bits

    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(f"{VERSION}:{host_vector_bits()}".encode())
    files = sorted([*root.glob("dialects/*.py"), *root.glob("lowering/**/*.py"),
                    root / "runtime" / "cpu.py", root / "runtime" / "memref.py"])
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(os.environ.get("DYNAMLIR_MM_TILE", "").encode())
    h.update(os.environ.get("DYNAMLIR_MM_KC", "").encode())
    return h.hexdigest()


def key_of(text: str, pipeline: str) -> str:
    h = hashlib.sha256(source_fingerprint().encode())
    h.update(pipeline.encode())
    h.update(text.encode())
    return h.hexdigest()[:40]


def memory_get(key: str):
    return _MEMORY.get(key)


def memory_put(key: str, value: tuple) -> None:
    _MEMORY[key] = value


def load_shared(key: str):
    """(library, packed entry function) from the disk cache, or None."""
    d = cache_dir()
    if d is None or not (path := d / f"{key}.so").exists():
        return None
    try:
        lib = ctypes.CDLL(str(path))
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(ctypes.cast(getattr(lib, SYMBOL), ctypes.c_void_p).value)
    except (OSError, AttributeError):
        return None
    return lib, fn


def load_llvm_text(key: str) -> str | None:
    d = cache_dir()
    if d is None or not (path := d / f"{key}.llvm.mlir").exists():
        return None
    return path.read_text()


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def store(key: str, engine, llvm_text: str, libs: tuple[str, ...]) -> None:
    """Put a compiled function on disk: a shared object if it links, else its LLVM text."""
    d = cache_dir()
    if d is None:
        return
    try:
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if cc is not None:
            with tempfile.TemporaryDirectory() as tmp:
                obj = os.path.join(tmp, "entry.o")
                engine.dump_to_object_file(obj)
                if os.path.getsize(obj) > 0:
                    link = [f"-Wl,-rpath,{os.path.dirname(lib)}" for lib in libs] + list(libs)

                    def build(out):
                        subprocess.run([cc, "-shared", "-o", out, obj, *link, "-lm"], check=True,
                                       capture_output=True)

                    _atomic_write(d / f"{key}.so", build)
                    return
        _atomic_write(d / f"{key}.llvm.mlir", lambda out: Path(out).write_text(llvm_text))
    except (OSError, subprocess.CalledProcessError):
        pass  # a cache that cannot be written only costs a recompile next time
