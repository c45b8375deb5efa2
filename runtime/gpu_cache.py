"""Disk cache for GPU graph functions (runtime/gpu.py): host plans and kernel binaries.

Note [gpu compile cache]
~~~~~~~~~~~~~~~~~~~~~~~~
A compiled GPU function is data: its HostPlan (JSON by design, Note [gpu host plan]) and
the PTX and cubin of each kernel module. One entry `gpu-<key>.json` in DYNAMLIR_CACHE_DIR
(runtime/cache.py's directory and switch) holds all functions of a module, checksummed;
written to a temporary name and renamed into place, so readers never see half an entry.
The key hashes the caller's key (chip, entry, pipeline, location-free module text) with
runtime/cache.py's source fingerprint (dynamlir, torch-mlir and torch versions, dialect
and lowering sources), this file's GPU sources, llvmlite's version and the ptxas used. A
corrupt entry is deleted, counted (`disk_corrupt`) and rebuilt. Loading needs no GPU.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

from ..lowering.gpu_host import HostPlan
from . import cache, debug
from .ptx import GpuBinary, find_ptxas

FORMAT = "1"


@functools.lru_cache(maxsize=None)
def fingerprint() -> str:
    """Everything besides the caller's key that shapes the stored plans and binaries."""
    from importlib import metadata

    root = Path(__file__).resolve().parent
    h = hashlib.sha256(cache.source_fingerprint().encode())
    for name in ("gpu.py", "gpu_cache.py", "cuda.py", "ptx.py"):
        h.update(name.encode() + b"\0" + (root / name).read_bytes())
    try:
        h.update(metadata.version("llvmlite").encode())
    except metadata.PackageNotFoundError:
        pass
    ptxas = find_ptxas()
    if ptxas is not None:
        try:
            out = subprocess.run([ptxas, "--version"], capture_output=True, text=True, timeout=60)
            h.update(f"{ptxas}\0{out.stdout}".encode())
        except (OSError, subprocess.SubprocessError):
            h.update(ptxas.encode())
    return h.hexdigest()


def path_of(key: str) -> Path | None:
    d = cache.cache_dir()
    if d is None:
        return None
    full = hashlib.sha256(f"{fingerprint()}\0{key}".encode()).hexdigest()[:40]
    return d / f"gpu-{full}.json"


def _checksum(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _binary_record(b: GpuBinary) -> dict:
    cubin = None if b.cubin is None else base64.b64encode(b.cubin).decode()
    return {"chip": b.chip, "kernels": b.kernels, "ptx": b.ptx, "cubin": cubin,
            "ptxas_skipped": b.ptxas_skipped}  # fmt: skip


def store(key: str, functions: dict) -> None:
    """Write {name: cuda.GpuFunction} (best effort: a failure only costs a recompile)."""
    if (path := path_of(key)) is None:
        return
    binaries = {n: _binary_record(b) for f in functions.values() for n, b in f.binaries.items()}
    record = {
        "format": FORMAT,
        "plans": {name: f.plan.to_json() for name, f in functions.items()},
        "binaries": binaries,
    }
    record["checksum"] = _checksum(record)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-gpu-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
        os.replace(tmp, path)
        debug.count("disk_stores")
    except (OSError, TypeError, ValueError) as e:
        debug.log.debug("gpu compile cache: cannot store %s: %s", path.name, e)


def load(key: str) -> dict | None:
    """{name: cuda.GpuFunction} from the disk cache, or None (missing or corrupt)."""
    from .cuda import GpuFunction

    if (path := path_of(key)) is None or not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        if not isinstance(record, dict) or record.pop("checksum", None) != _checksum(record):
            raise ValueError("does not match its checksum")
        if record.get("format") != FORMAT:
            raise ValueError(f"format {record.get('format')!r}, expected {FORMAT!r}")
        binaries = {}
        for name, b in record["binaries"].items():
            cubin = None if b["cubin"] is None else base64.b64decode(b["cubin"])
            binaries[name] = GpuBinary(
                name, b["chip"], b["kernels"], "", b["ptx"], cubin, b["ptxas_skipped"]
            )
        functions = {}
        for name, text in record["plans"].items():
            plan = HostPlan.from_json(text)
            used = {s.attrs["module"] for s in plan.launches()}
            functions[name] = GpuFunction(plan, {m: binaries[m] for m in used})
    except (OSError, ValueError, KeyError, TypeError) as e:
        debug.count("disk_corrupt")
        debug.log.warning("gpu compile cache: corrupt entry %s (%s); rebuilding it", path.name, e)
        try:
            path.unlink()
        except OSError:
            pass
        return None
    return functions
