"""CPU machine code with llvmlite: LLVM-dialect module -> optimized object -> shared object.

Note [cpu code generation]
~~~~~~~~~~~~~~~~~~~~~~~~~~
MLIR's ExecutionEngine offers one knob, the -O level, and runs LLVM's full pipeline on
the module: its loop vectorizer, interleaver and unroller re-expand every elementwise
loop nest (runtime alias checks, vector body, remainder loop, unrolled by 4). For a
GPT-2 block that was 1.25 s of a 1.7 s compile, and -O1/-O2 were no cheaper. The code
that needs registers and unrolling is already vectorized and unrolled by our own
lowerings (matmul micro-kernels, transposes, convolutions), so here:

  1. torch-mlir translates the LLVM dialect to LLVM IR text, rewritten for llvmlite's
     older parser (Note [llvm ir text for llvmlite], runtime/llvm_text.py);
  2. the packed entry point `_mlir__mlir_ciface_dynamlir_entry(void **)` is appended, the
     same one the ExecutionEngine generates, so both paths are called alike;
  3. llvmlite runs LLVM's O3 pipeline for the host CPU without loop unrolling and
     interleaving (loops are still vectorized): measured on the block, 1.25 s -> 0.74 s
     with latencies unchanged within noise;
  4. the object is linked (gold directly where there is one, else the system C compiler;
     `link_commands`) against the OpenMP runtime, libm and libc into a shared object,
     loaded with ctypes. The same file is the disk cache's payload (Note [cpu compile
     cache], runtime/cache.py), so storing it costs a rename.

Without llvmlite or a C compiler, or if LLVM rejects the text, the caller falls back to
the ExecutionEngine (runtime/cpu.py).

Note [parallel code generation]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
LLVM is most of a compile, and llvmlite serializes every call into LLVM behind one lock,
so threads cannot share the work; helper processes can. The module's text is cut into
units that each define some functions and declare the rest (a kernel stays with its
launcher and thunk; runtime/llvm_units.py), the units not in the kernel object cache are
taken largest first by whichever worker is free (this process, and a thread per helper
that sends it the next unit when it answers), and the linker joins the objects. A helper is a long-lived
`llvm_worker.py --serve` process: starting Python and importing llvmlite takes 0.35 s on
this machine, longer than most modules take to compile, so `start_helpers` launches them
when the backend first misses its graph cache (they get ready while it exports and lowers;
a graph the disk cache has needs no LLVM) and they serve every later compile of the
process. They exit when their stdin closes: at exit, or when this process dies. A helper
that fails or vanishes costs nothing but time: its unit is compiled here.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import shutil
import subprocess
import sys
import threading

from torch_mlir import ir

from . import debug, llvm_units, llvm_worker
from .llvm_units import Unit
from .llvm_text import legacy_float_syntax

PACKED_ENTRY = "_mlir__mlir_ciface_dynamlir_entry"
CIFACE_ENTRY = "_mlir_ciface_dynamlir_entry"


class JitUnavailable(Exception):
    """This path cannot compile the module here; the ExecutionEngine should."""


def c_compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


def packed_entry(llvm_ir: str) -> str:
    """LLVM IR of `void PACKED_ENTRY(void **args)`: calls the C-interface entry with
    `*args[i]` as argument i, like the ExecutionEngine's packed wrappers."""
    m = re.search(rf"^define void @{CIFACE_ENTRY}\(([^)]*)\)", llvm_ir, re.M)
    if m is None:
        raise JitUnavailable(f"no @{CIFACE_ENTRY} in the translated module")
    n = len([a for a in m.group(1).split(",") if a.strip()])
    body = []
    for i in range(n):
        body += [
            f"  %slot{i} = getelementptr ptr, ptr %args, i64 {i}",
            f"  %cell{i} = load ptr, ptr %slot{i}",
            f"  %arg{i} = load ptr, ptr %cell{i}",
        ]
    args = ", ".join(f"ptr %arg{i}" for i in range(n))
    return "\n".join(
        [f"define void @{PACKED_ENTRY}(ptr %args) {{", *body,
         f"  call void @{CIFACE_ENTRY}({args})", "  ret void", "}", ""]
    )  # fmt: skip


def llvm_ir(module: ir.Module) -> str:
    """LLVM IR text of an LLVM-dialect `module` for llvmlite, with the packed entry."""
    from torch_mlir.dialects import llvm as llvm_dialect

    text = str(llvm_dialect.translate_module_to_llvmir(module.operation))
    return legacy_float_syntax(text) + "\n" + packed_entry(text)


def object_code(text: str) -> bytes:
    try:
        return llvm_worker.compile_object(text)
    except ImportError as e:
        raise JitUnavailable(f"llvmlite is not importable: {e}") from None
    except RuntimeError as e:
        raise JitUnavailable(f"llvmlite cannot compile the module: {str(e).strip()[:300]}") from None


def helpers() -> int:
    """How many helper processes may compile parts of a module (Note [parallel code
    generation]): one less than the cores this process may run on, at most 3;
    DYNAMLIR_JIT_HELPERS overrides (0: compile in this process only)."""
    if (env := os.environ.get("DYNAMLIR_JIT_HELPERS")) is not None:
        return max(int(env), 0)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return min(cores - 1, 3)


class Helper:
    """One `llvm_worker.py --serve` process (Note [parallel code generation])."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, llvm_worker.__file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def submit(self, src: str, obj: str) -> bool:
        try:
            self.proc.stdin.write(f"{src}\t{obj}\n")
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def result(self, obj: str) -> bytes | None:
        """The object a submitted request wrote, or None (the helper failed or is gone)."""
        try:
            status = self.proc.stdout.readline().strip()
        except (OSError, ValueError):
            status = ""
        if status == "0":
            with open(obj, "rb") as f:
                return f.read()
        if status == "1":
            with open(obj + ".err") as f:
                debug.log.debug("cpu jit: helper process failed: %s", f.read().strip()[:300])
        return None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # the helper exits at the end of its input
            self.proc.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.proc.stdout.close()


_POOL: list[Helper] = []  # idle helpers of this process
_BUSY = [0]  # helpers taken by compiles in progress
_POOL_PID = [0]  # the process the pool belongs to
_POOL_LOCK = threading.Lock()


def start_helpers() -> None:
    """Start the idle helpers this process may use, in the background (they import
    llvmlite while the caller is still tracing and lowering). Cheap when they run."""
    with _POOL_LOCK:
        _own_pool()
        _POOL[:] = [h for h in _POOL if h.alive()]
        missing = helpers() - len(_POOL) - _BUSY[0]
        for _ in range(max(missing, 0)):
            try:
                _POOL.append(Helper())
            except OSError as e:
                debug.log.debug("cpu jit: cannot start a helper process: %s", e)
                return


def _own_pool() -> None:
    """Forget helpers inherited through fork: their pipes belong to the parent."""
    if _POOL_PID[0] != os.getpid():
        _POOL.clear()
        _BUSY[0] = 0
        _POOL_PID[0] = os.getpid()


def _take(n: int) -> list[Helper]:
    start_helpers()
    with _POOL_LOCK:
        taken = []
        while _POOL and len(taken) < n:
            h = _POOL.pop()
            if h.alive():
                taken.append(h)
        _BUSY[0] += len(taken)
        return taken


def _give_back(taken: list[Helper]) -> None:
    with _POOL_LOCK:
        _BUSY[0] -= len(taken)
        if _POOL_PID[0] == os.getpid():
            _POOL.extend(h for h in taken if h.alive())


@atexit.register
def close_helpers() -> None:
    """Stop this process's idle helpers (at exit; tests that need fresh ones)."""
    with _POOL_LOCK:
        if _POOL_PID[0] == os.getpid():
            for h in _POOL:
                h.close()
        _POOL.clear()


def shared_object(module: ir.Module, build_dir: str, libs: tuple[str, ...]) -> str:
    """Compile `module` to `build_dir`/entry.so (Notes [cpu code generation], [parallel
    code generation] and [kernel object cache]); returns its path."""
    from . import cache

    text = llvm_ir(module)
    units = None
    if len(text) >= SPLIT_MIN_CHARS:  # a small module compiles faster whole than in units
        units = llvm_units.kernel_units(text, lambda t: cache.key_of(t, OBJECT_KEY))
    units = units or [Unit(text)]
    objects: list[bytes | None] = [None] * len(units)
    for i, unit in enumerate(units):
        if unit.key is not None and (obj := cache.load_object(unit.key)) is not None:
            objects[i] = obj
            debug.count("kernel_hits")
    todo = [i for i, obj in enumerate(objects) if obj is None]
    for i, obj in zip(todo, compile_units([units[i].text for i in todo], build_dir)):
        objects[i] = obj
        if units[i].key is not None:
            cache.store_object(units[i].key, obj)
    return link_shared(objects, build_dir, libs)


# What a unit's cache key adds to its text (Note [kernel object cache]).
OBJECT_KEY = "llvmlite object: O3, no unrolling or interleaving"


def compile_units(texts: list[str], build_dir: str) -> list[bytes]:
    """The object code of each of `texts`, compiled here and by the helpers at once (Note
    [parallel code generation]): each worker takes the largest unit left when it is free
    (one thread per helper feeds it and waits on its pipe; LLVM runs without the GIL), and
    a helper that fails leaves its unit, and the rest, to this process."""
    if not texts:
        return []
    taken = _take(helpers()) if len(texts) > 1 and sum(map(len, texts)) >= SPLIT_MIN_CHARS else []
    debug.count("jit_parts", 1 + len(taken))
    order = iter(sorted(range(len(texts)), key=lambda i: -texts[i].count("\n  ")))  # instructions
    lock = threading.Lock()
    objects: dict[int, bytes | None] = {}

    def next_unit() -> int | None:
        with lock:
            return next(order, None)

    def feed(helper: Helper) -> None:
        while (i := next_unit()) is not None:
            src, obj = (os.path.join(build_dir, f"unit{i}.{ext}") for ext in ("ll", "o"))
            with open(src, "w") as f:
                f.write(texts[i])
            objects[i] = helper.result(obj) if helper.submit(src, obj) else None
            if objects[i] is None:  # gone, or LLVM failed on it: this process takes over
                return

    feeders = [threading.Thread(target=feed, args=(h,), daemon=True) for h in taken]
    try:
        for t in feeders:
            t.start()
        while (i := next_unit()) is not None:
            objects[i] = object_code(texts[i])
    finally:
        for t in feeders:
            t.join()
        _give_back(taken)
    # here instead; a real error in the text raises
    return [objects.get(i) or object_code(texts[i]) for i in range(len(texts))]


# Below this much LLVM IR, writing a part and reading its object back outweighs what a
# (running) helper saves, and the fixed cost of each unit (about 2 ms of LLVM, Note [kernel
# object cache]) outweighs what cached kernels save: such a module is one unit, uncached.
SPLIT_MIN_CHARS = 30_000

def link_shared(objects: list[bytes], build_dir: str, libs: tuple[str, ...]) -> str:
    """Link `objects` into `build_dir`/entry.so against `libs`, libm and libc (see
    `link_commands`); returns its path."""
    paths = []
    for i, obj in enumerate(objects):
        paths.append(os.path.join(build_dir, f"entry{i}.o"))
        with open(paths[-1], "wb") as f:
            f.write(obj)
    out = os.path.join(build_dir, "entry.so")
    link_objects(paths, out, libs)
    return out


def link_objects(paths: list[str], out: str, libs: tuple[str, ...]) -> None:
    """Link the object files `paths` into the shared object `out` (`link_commands`);
    raises JitUnavailable with the linker's message when no command links them."""
    proc = None
    for command in link_commands(paths, out, libs):
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode == 0:
            return
        debug.log.debug("cpu jit: %s failed: %s", os.path.basename(command[0]), proc.stderr.strip()[:300])
    if proc is None:
        raise JitUnavailable("no C compiler (cc, gcc or clang) to link a shared object")
    raise JitUnavailable(f"linking the shared object failed: {proc.stderr.strip()[:300]}")


def link_commands(paths: list[str], out: str, libs: tuple[str, ...]) -> list[list[str]]:
    """The commands that may link `paths` into `out`, in the order to try them.

    Note [linking the shared object]
    ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    Every compiled module is linked once, so the link is part of every first call. The C
    compiler's driver (cc -> collect2 -> ld.bfd) took 20-26 ms for the MLP's module;
    gold called directly takes 7-11 ms (measured in alternation, 10 runs). What the driver
    adds has to be named explicitly then:
      - libc, so that the memcpy/memset calls LLVM makes of copy loops carry glibc's
        symbol version; unversioned, they bound to glibc's oldest memcpy, the SSE2
        memmove (2.3% of a GPT-2 block's training step on each thread);
      - libgcc.a, for the runtime helpers LLVM may call (bf16 truncation, 128-bit
        division), which exist only as a static library;
    and not the startup objects (crti/crtbegin): our code has no static constructors.
    ld.bfd called directly was no faster than the driver (it reads libc's linker
    script slowly), so without gold (binutils dropped it in 2.44) the driver links."""
    cc = c_compiler()
    if cc is None:
        return []  # required either way: gold links the C compiler's libgcc.a
    dirs = [os.path.dirname(lib) for lib in libs]
    commands = [[cc, "-shared", "-o", out, *paths, *[f"-Wl,-rpath,{d}" for d in dirs], *libs, "-lm"]]
    gold, libgcc = _gold_and_libgcc(cc)
    if gold is not None:
        rpaths = [a for d in dirs for a in ("-rpath", d)]
        commands.insert(0, [gold, "-shared", "-o", out, *paths, *rpaths, "--as-needed", *libs,
                            "-lm", "-lc", libgcc])
    return commands


_GOLD: list = []


def _gold_and_libgcc(cc: str) -> tuple[str | None, str | None]:
    """(ld.gold, `cc`'s libgcc.a), or (None, None) when either is missing; looked up once
    per process. DYNAMLIR_LINKER=cc links with the C compiler only."""
    if os.environ.get("DYNAMLIR_LINKER", "gold") != "gold":
        return None, None
    if not _GOLD:
        gold = shutil.which("ld.gold")
        libgcc = None
        if gold is not None:
            proc = subprocess.run([cc, "-print-libgcc-file-name"], capture_output=True, text=True)
            name = proc.stdout.strip()
            libgcc = name if proc.returncode == 0 and os.path.isabs(name) and os.path.exists(name) else None
        _GOLD[:] = [gold, libgcc] if libgcc is not None else [None, None]
    return _GOLD[0], _GOLD[1]


def load_entry(path: str):
    """(library, packed entry as a ctypes function) of a shared object built here."""
    lib = ctypes.CDLL(path)
    addr = ctypes.cast(getattr(lib, PACKED_ENTRY), ctypes.c_void_p).value
    return lib, ctypes.CFUNCTYPE(None, ctypes.c_void_p)(addr)
