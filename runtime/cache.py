"""Compile cache for CPU functions: in memory (per process) and on disk (across processes).

Note [cpu compile cache]
~~~~~~~~~~~~~~~~~~~~~~~~
The key hashes the wrapped module text (without locations, so moving a model in its file
keeps its entry), the pipeline, and a fingerprint of everything else that shapes the
machine code: the versions of dynamlir, torch-mlir and torch, the host (architecture, CPU
model and feature flags, vector width), the matmul tuning variables, and the source of
every dynamlir file that shapes code generation (dialects/, lowering/, runtime/cpu.py,
memref.py), so editing a lowering invalidates old entries by itself.

On disk (DYNAMLIR_CACHE_DIR, default ~/.cache/dynamlir; '' or 0 turns it off) an entry is
`<key>.json` (checksummed itself), naming a payload `<key>-<sha256 prefix>.so|.llvm.mlir`
and its size and sha256: a shared object linked from the JIT's object file with the system C compiler
(loaded with ctypes), or without a compiler the final LLVM-dialect text, which still
skips the Python passes on reload. Payloads are content-addressed and every file is
written to a temporary name and renamed into place, so concurrent processes never read
half a file and the json (written last) commits the entry. A payload whose size or hash
does not match, or unreadable json, is a corrupt entry: it is deleted, counted
(`disk_corrupt`) and rebuilt, never loaded. Small json records sit beside the entries
(`<key>.<kind>.json`, checksummed the same way): graph plans, and variant records that map
a module's exact text to its entry's key (Note [variant records], runtime/cpu.py). Kernel
object files (`<key>-<sha256 prefix>.o`, Note [kernel object cache] in
runtime/llvm_units.py) are entries of their own, kept in memory too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from . import debug, llvm_jit

VERSION = "2"  # the on-disk format

_MEMORY: dict[str, tuple] = {}


def cache_dir() -> Path | None:
    value = os.environ.get("DYNAMLIR_CACHE_DIR")
    if value is None:
        return Path.home() / ".cache" / "dynamlir"
    if value.strip().lower() in ("", "0", "off", "false"):
        return None
    return Path(value)


def _version(dist: str, module: str | None = None) -> str:
    """`dist`'s version: `module.__version__` when that module is already imported (a
    dict lookup), or the name of its dist-info directory beside the imported package (one
    listing), else from its installed metadata (a scan of sys.path, 3-6 ms a call: a fifth
    of a warm-cache first call's own time, measured on the GPT-2 block)."""
    if module is not None and (mod := sys.modules.get(module)) is not None:
        if isinstance(version := getattr(mod, "__version__", None), str):
            return version
        # Its dist-info beside it (one directory listing, not a scan of sys.path).
        prefix = dist.replace("-", "_") + "-"
        for location in getattr(mod, "__path__", None) or []:
            try:
                names = os.listdir(os.path.dirname(os.path.abspath(location)))
            except OSError:
                continue
            found = [n for n in names if n.startswith(prefix) and n.endswith(".dist-info")]
            if len(found) == 1:
                return found[0][len(prefix):-len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def host_cpu() -> str:
    """The CPU model and feature flags: the JIT compiles for the host CPU, so a shared
    object from another machine may use instructions this one lacks."""
    try:
        with open("/proc/cpuinfo") as f:
            block = f.read().split("\n\n", 1)[0]
        keep = [
            ln
            for ln in block.splitlines()
            if ln.split(":")[0].strip()
            in ("vendor_id", "model name", "flags", "Features", "CPU part")
        ]
        if keep:
            return "\n".join(keep)
    except OSError:
        pass
    return platform.processor()


@functools.lru_cache(maxsize=None)
def fingerprint_parts() -> dict[str, str]:
    """Everything besides the module and the pipeline that the key depends on."""
    from ..lowering.cpu_matmul import host_vector_bits

    root = Path(__file__).resolve().parent.parent
    files = sorted(
        [
            *root.glob("dialects/*.py"),
            *root.glob("lowering/**/*.py"),
            root / "runtime" / "cpu.py",
            root / "runtime" / "memref.py",
            root / "runtime" / "llvm_jit.py",
            root / "runtime" / "llvm_text.py",
            root / "runtime" / "llvm_units.py",
            root / "runtime" / "llvm_worker.py",
        ]
    )
    sources = hashlib.sha256()
    for f in files:
        sources.update(f.name.encode())
        sources.update(f.read_bytes())
    return {
        "format": VERSION,
        # dynamlir's own code is in "sources" (its version string adds nothing, and its
        # metadata lookup cost 2 ms of a warm-cache first call)
        "torch-mlir": _version("torch-mlir", "torch_mlir"),
        "torch": _version("torch", "torch"),
        "llvmlite": _version("llvmlite", "llvmlite"),
        "machine": platform.machine(),
        "cpu": hashlib.sha256(host_cpu().encode()).hexdigest()[:16],
        "vector_bits": str(host_vector_bits()),
        "mm_tile": os.environ.get("DYNAMLIR_MM_TILE", ""),
        "mm_kc": os.environ.get("DYNAMLIR_MM_KC", ""),
        "sources": sources.hexdigest(),
    }


@functools.cache
def frontend_fingerprint() -> str:
    """The fingerprint of the code generator plus every source that shapes a graph's plan
    (frontend/, runtime/): the graph cache's share of the key (frontend/graph_cache.py)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256(source_fingerprint().encode())
    for f in sorted([*root.glob("frontend/*.py"), *root.glob("runtime/*.py")]):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def source_fingerprint() -> str:
    return hashlib.sha256(json.dumps(fingerprint_parts(), sort_keys=True).encode()).hexdigest()


def key_of(text: str, pipeline: str) -> str:
    h = hashlib.sha256(source_fingerprint().encode())
    h.update(b"\0" + pipeline.encode() + b"\0")
    h.update(text.encode())
    return h.hexdigest()[:40]


def memory_get(key: str):
    return _MEMORY.get(key)


def memory_put(key: str, value: tuple) -> None:
    _MEMORY[key] = value


def _entry(key: str, kind: str) -> tuple[Path, bytes] | None:
    """The verified payload of a disk entry of `kind` ('so', 'llvm' or 'o'), as its path and
    the bytes read to verify it, or None; a corrupt entry is removed (Note [cpu compile
    cache])."""
    d = cache_dir()
    if d is None or not (meta_path := d / f"{key}.json").exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if not isinstance(meta, dict) or meta.pop("checksum", None) != _meta_checksum(meta):
            raise ValueError(f"'{meta_path.name}' does not match its checksum")
        if meta.get("key") != key or meta.get("format") != VERSION:
            raise ValueError("entry is for another key or format")
        if meta.get("kind") != kind:
            return None
        payload = d / Path(meta["file"]).name
        data = payload.read_bytes()
        if len(data) != meta["size"] or hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise ValueError(f"'{payload.name}' does not match its checksum")
    except (OSError, ValueError, KeyError, TypeError) as e:
        _discard(d, key, str(e))
        return None
    return payload, data


def _meta_checksum(meta: dict) -> str:
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()


def _discard(d: Path, key: str, why: str) -> None:
    debug.count("disk_corrupt")
    debug.log.warning("compile cache: corrupt entry %s (%s); rebuilding it", key, why)
    for path in d.glob(f"{key}*"):
        try:
            path.unlink()
        except OSError:
            pass


def load_shared(key: str):
    """(library, packed entry function) from the disk cache, or None."""
    if (entry := _entry(key, "so")) is None:
        return None
    path = entry[0]
    try:
        return llvm_jit.load_entry(str(path))
    except (OSError, AttributeError) as e:
        _discard(path.parent, key, f"cannot load: {e}")
        return None


def load_llvm_text(key: str) -> str | None:
    if (entry := _entry(key, "llvm")) is None:
        return None
    path, data = entry
    try:
        return data.decode()
    except UnicodeDecodeError as e:
        _discard(path.parent, key, str(e))
        return None


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


def _commit(d: Path, key: str, kind: str, payload_tmp: str, suffix: str) -> None:
    """Copy a built payload to its content-addressed name, then write the json."""
    _commit_bytes(d, key, kind, Path(payload_tmp).read_bytes(), suffix)


def _commit_bytes(d: Path, key: str, kind: str, data: bytes, suffix: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    payload = d / f"{key}-{digest[:16]}{suffix}"
    _atomic_write(payload, lambda out: Path(out).write_bytes(data))
    meta = {
        "format": VERSION,
        "key": key,
        "kind": kind,
        "file": payload.name,
        "size": len(data),
        "sha256": digest,
        "versions": fingerprint_parts(),
    }
    meta["checksum"] = _meta_checksum(meta)
    _atomic_write(d / f"{key}.json", lambda out: Path(out).write_text(json.dumps(meta)))
    debug.count("kernel_stores" if kind == "o" else "disk_stores")


def load_object(key: str) -> bytes | None:
    """A kernel's object code (Note [kernel object cache], runtime/llvm_units.py) from
    memory or disk, or None."""
    if (hit := _MEMORY.get("o:" + key)) is not None:
        return hit[0]
    if (entry := _entry(key, "o")) is None:
        return None
    _MEMORY["o:" + key] = (entry[1],)
    return entry[1]


def store_object(key: str, data: bytes) -> None:
    """Keep a kernel's object code in memory and, when there is a cache directory, on disk."""
    _MEMORY["o:" + key] = (data,)
    if (d := cache_dir()) is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        _commit_bytes(d, key, "o", data, ".o")
    except OSError as e:
        debug.log.debug("compile cache: cannot store object %s: %s", key, e)


def build_shared(key: str, build) -> tuple:
    """(library, packed entry) of the shared object `build(build_dir)` writes and returns
    the path of, stored on disk under `key` when there is a cache directory (Note [cpu code
    generation], runtime/llvm_jit.py). Without one (or if it is not writable) the object is
    built in a temporary directory and loaded from there."""
    d = cache_dir()
    if d is not None:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError:
            d = None
    try:
        with tempfile.TemporaryDirectory(dir=d, prefix=".build-") as tmp:
            so = build(tmp)
            # Loaded from the private build directory, never from the cache's copy: a
            # process must not map a file that a later store or a damaged disk may replace.
            loaded = llvm_jit.load_entry(so)
            if d is not None:
                try:
                    _commit(d, key, "so", so, ".so")
                except OSError as e:
                    debug.log.debug("compile cache: cannot store %s: %s", key, e)
            return loaded
    except OSError as e:
        raise llvm_jit.JitUnavailable(f"cannot build or load the shared object: {e}") from None


def store(key: str, engine, llvm_text, libs: tuple[str, ...]) -> None:
    """Put a compiled function on disk: a shared object if it links, else its LLVM text.

    `llvm_text` is the text or a function returning it: printing a block's LLVM-dialect
    module takes ~0.1 s, wasted when a C compiler links the shared object.
    """
    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=d, prefix=".build-") as tmp:
            obj = os.path.join(tmp, "entry.o")
            engine.dump_to_object_file(obj)
            if os.path.getsize(obj) > 0:
                out = os.path.join(tmp, "entry.so")
                try:
                    llvm_jit.link_objects([obj], out, libs)
                except llvm_jit.JitUnavailable as e:  # no C compiler: the LLVM text instead
                    debug.log.debug("compile cache: cannot link %s: %s", key, e)
                else:
                    _commit(d, key, "so", out, ".so")
                    return
            out = os.path.join(tmp, "entry.llvm.mlir")
            Path(out).write_text(llvm_text() if callable(llvm_text) else llvm_text)
            _commit(d, key, "llvm", out, ".llvm.mlir")
    except (OSError, subprocess.CalledProcessError) as e:
        debug.log.debug("compile cache: cannot store %s: %s", key, e)  # costs a recompile


def load_record(key: str, kind: str) -> dict | None:
    """A checksummed json record `<key>.<kind>.json` (e.g. a graph plan), or None; a
    corrupt one is removed and counted like a corrupt entry."""
    d = cache_dir()
    if d is None or not (path := d / f"{key}.{kind}.json").exists():
        return None
    try:
        record = json.loads(path.read_text())
        checksum = record.pop("checksum", None) if isinstance(record, dict) else None
        if checksum is None or checksum != _meta_checksum(record):
            raise ValueError(f"'{path.name}' does not match its checksum")
        if record.get("key") != key or record.get("format") != VERSION:
            raise ValueError("record is for another key or format")
        if not isinstance(data := record.get("data"), dict):
            raise ValueError(f"'{path.name}' has no data")
    except (OSError, ValueError, TypeError) as e:
        _discard(d, f"{key}.{kind}", str(e))
        return None
    return data


def store_record(key: str, kind: str, data: dict) -> None:
    """Write `data` (json-able) as the record `<key>.<kind>.json`, atomically."""
    d = cache_dir()
    if d is None:
        return
    record = {"format": VERSION, "key": key, "kind": kind, "data": data}
    record["checksum"] = _meta_checksum(record)
    try:
        text = json.dumps(record)
        _atomic_write(d / f"{key}.{kind}.json", lambda out: Path(out).write_text(text))
    except (OSError, TypeError, ValueError) as e:
        debug.log.debug("compile cache: cannot store record %s: %s", key, e)
