"""A module's LLVM IR text as units compiled on their own: the parts of Note [parallel code
generation] (runtime/llvm_jit.py) and the kernels of Note [kernel object cache].

Note [kernel object cache]
~~~~~~~~~~~~~~~~~~~~~~~~~~
LLVM is most of a compile, and some of what it compiles recurs from module to module:
shape-general kernels (matmuls and transposes read their sizes at run time) in a training
step's forward and backward, in the static specializations of a dynamic graph (Note
[per-shape specialization]) and in other graphs of the process, and the same thread-share
helpers (Note [balanced thread shares]) in every module. Measured on the GPT-2 block (d256,
t128, b4), each unit compiled alone: its backward has one kernel and the helpers of its
forward (90 of 748 ms of LLVM); the block's backward at t96 has 7 kernels and the helpers
of the t128 one (343 of 718 ms).

So each kernel family (a kernel with its launcher, thunk and thread-share table; the
helpers together) becomes a unit of its own: a minimal module holding its definitions,
the declarations and internal globals it refers to, the attribute groups and metadata it
uses (and the module flags), renumbered in order of use. Its
exact text is the cache key (with the code generator's fingerprint, runtime/cache.py),
and its object file is kept in memory and on disk. The numbered kernels of a module
(`dynamlir_par_<n>`) are renamed after their own content (`dynamlir_k<hash>`), in the
entry's calls too, so that the same kernel has the same text in any module. What is left
(the entry function, the C-interface wrappers, a family that cannot stand alone) is the
module's own unit, compiled every time; the linker joins the objects as it joined the
parts. Kernels are `noinline` and the families never call each other, so compiling them
apart changes no code; the entry's calls to launchers are not inlined any more, one call
per kernel launch.

A unit costs LLVM about 2 ms however small (its O3 pipeline and code generator set-up:
1.1 + 0.8 ms for an empty module), so a module with no hits takes 4-7% more LLVM time
than in two parts (MLP 151 -> 164 ms, block backward 764 -> 803 ms, in one process). The
units are also what the workers share out, each taking the largest one left when it is
free (`compile_units`), which wins that back: first calls in fresh processes, cold disk
caches, medians of 5 alternations with the code before: MLP inference 0.343 -> 0.315 s,
GPT-2 block inference 0.847 -> 0.770 s, then its training step 1.504 -> 1.266 s (it reuses
kernels of the inference compile), and the training step alone (6 alternations) 1.69 ->
1.53 s.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_DEFINE = re.compile(r"^define ([^@]*)@([-\w.$]+)\((.*)\)([^{]*)\{$")
_LINKAGE = re.compile(
    r"\b(private|internal|linkonce|linkonce_odr|weak|weak_odr|common|appending|"
    r"extern_weak|available_externally|comdat)\b"
)
_ARG_NAME = re.compile(r" %[-\w.$]+(?=, |$)")
_LOCAL_GLOBAL = re.compile(r"^@([-\w.$]+) = (private|internal) ")
_DECLARE = re.compile(r"^declare [^@]*@([-\w.$]+)\(")
_SYMBOL = re.compile(r"@([-\w.$]+)")
_ATTRIBUTES = re.compile(r"^attributes #(\d+) = ")
_METADATA = re.compile(r"^!([-\w.$]+) = ")  # numbered nodes and named metadata
_NUMBERED = re.compile(r"(?<![-\w.$\"])([#!])(\d+)\b")
_RENAMED_KERNEL = re.compile(r"^dynamlir_par_\d+$")
_PLACEHOLDER = "dynamlir_kernel_"


@dataclass
class Functions:
    """A module's text cut at function definitions."""

    lines: list[str]
    common: list[str]  # every line outside a definition
    families: dict[str, list[tuple[str, int, int]]]  # family -> (name, first, last line)


@dataclass
class Unit:
    """Text compiled to one object file; `key` names it in the cache (None: never cached)."""

    text: str
    key: str | None = None


def family_of(name: str) -> str:
    """The unit `name` is compiled in: the entry's, its kernel's (a kernel with its launcher
    and thunk) or, for the thread-share helpers, theirs (one small unit, not six)."""
    if "dynamlir_entry" in name:
        return "entry"
    if name.startswith("dynamlir_shares_"):
        return "dynamlir_shares"
    return re.sub(r"_(launch|thunk)$", "", name)


def parse(text: str) -> Functions | None:
    """`text` cut at its definitions, or None when its parts could not be compiled apart: a
    global that parts would share, or a function whose linkage keeps it to its module."""
    lines = text.split("\n")
    common: list[str] = []
    families: dict[str, list[tuple[str, int, int]]] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("@") and not _LOCAL_GLOBAL.match(line):
            return None
        if not line.startswith("define "):
            common.append(line)
            i += 1
            continue
        m = _DEFINE.match(line)
        if m is None or _LINKAGE.search(m.group(1) + m.group(4)):
            return None
        end = lines.index("}", i)
        families.setdefault(family_of(m.group(2)), []).append((m.group(2), i, end))
        i = end + 1
    return Functions(lines, common, families)


def declaration(define_line: str) -> str:
    m = _DEFINE.match(define_line)
    return f"declare {m.group(1)}@{m.group(2)}({_ARG_NAME.sub('', m.group(3))}){m.group(4).rstrip()}"


def module_part(f: Functions, own: set[str]) -> str:
    """The module's common lines, the definitions of `own` and declarations of the rest."""
    out = list(f.common)
    for members in f.families.values():
        for name, begin, end in members:
            out.extend(f.lines[begin : end + 1] if name in own else [declaration(f.lines[begin])])
    return "\n".join(out)


def kernel_units(text: str, key_of) -> list[Unit] | None:
    """The module's own unit followed by one cacheable unit per kernel family (Note [kernel
    object cache]); `key_of(text)` is the cache key of a unit's text. None when `text`
    cannot be cut (see `parse`)."""
    f = parse(text)
    if f is None:
        return None
    lines = _Lines(f)
    renames: dict[str, str] = {}
    names: set[str] = set()  # the content names given so far
    kernels: dict[str, str] = {}  # family -> unit text
    for family, members in f.families.items():
        if family == "entry" or (part := lines.standalone(family, members)) is None:
            continue
        if _RENAMED_KERNEL.match(family):
            own = {s for s in _SYMBOL.findall(part) if s == family or s.startswith(family + "_")}
            part = _rename(part, {s: _PLACEHOLDER + s[len(family):] for s in own})
            new = "dynamlir_k" + hashlib.sha256(part.encode()).hexdigest()[:16]
            if new in names:
                continue  # the same kernel twice in one module: the second stays at home
            names.add(new)
            part = part.replace("@" + _PLACEHOLDER, "@" + new)
            renames.update({s: new + s[len(family):] for s in own})
        kernels[family] = part
    if not kernels:
        return None
    if renames:
        f = parse(_rename(text, renames))
    apart = {renames.get(family, family) for family in kernels}
    home = {name for family, members in f.families.items() if family not in apart
            for name, _, _ in members}
    units = [Unit(module_part(f, home))]
    return units + [Unit(part, key_of(part)) for part in kernels.values()]


class _Lines:
    """The lines of a cut module that a unit may copy, by what they define."""

    def __init__(self, f: Functions):
        self.f = f
        self.defined = {name: begin for members in f.families.values() for name, begin, _ in members}
        common = f.common
        self.local_globals = {m.group(1): ln for ln in common if (m := _LOCAL_GLOBAL.match(ln))}
        self.declared = {m.group(1): ln for ln in common if (m := _DECLARE.match(ln))}
        self.attributes = {m.group(1): ln for ln in common if (m := _ATTRIBUTES.match(ln))}
        self.metadata = {m.group(1): ln for ln in common if (m := _METADATA.match(ln))}
        self.header = [ln for ln in common if ln.startswith(("source_filename", "target "))]
        self.bodies = {
            family: [ln for _, begin, end in members for ln in f.lines[begin : end + 1]]
            for family, members in f.families.items()
        }
        self.uses = {family: dict.fromkeys(_SYMBOL.findall("\n".join(body)))
                     for family, body in self.bodies.items()}
        readers: dict[str, int] = {}
        for used in self.uses.values():
            for symbol in used:
                if symbol in self.local_globals:
                    readers[symbol] = readers.get(symbol, 0) + 1
        # a global two families read must stay one object: both stay at home
        self.shared = {g for g, n in readers.items() if n > 1}

    def standalone(self, family: str, members) -> str | None:
        """The text of a module defining `family` alone, attribute groups and metadata
        renumbered in order of use; None when it reads a global another family reads, or a
        symbol, attribute group or metadata node it uses has no line to copy."""
        own = {name for name, _, _ in members}
        needed: list[str] = []
        for symbol in self.uses[family]:
            if symbol in own:
                continue
            if symbol in self.local_globals:
                line = self.local_globals[symbol]
                if symbol in self.shared or set(_SYMBOL.findall(line)) != {symbol}:
                    return None  # shared with another family, or refers to other symbols
                needed.append(line)
            elif symbol in self.declared:
                needed.append(self.declared[symbol])
            elif symbol in self.defined:
                needed.append(declaration(self.f.lines[self.defined[symbol]]))
            else:
                return None
        lines = self.header + needed + self.bodies[family]
        refs = _NUMBERED.findall("\n".join(ln for ln in lines if "#" in ln or "!" in ln))
        used = dict.fromkeys(n for kind, n in refs if kind == "#")
        if any(n not in self.attributes for n in used):
            return None
        # metadata: the nodes the unit uses, named metadata (module flags), and what they use
        nodes = [n for n in self.metadata if not n.isdigit()] + [n for k, n in refs if k == "!"]
        for n in nodes:  # grows while it is walked
            if n not in self.metadata:
                return None
            nodes += [m for k, m in _NUMBERED.findall(self.metadata[n]) if k == "!" and m not in nodes]
        attributes = [self.attributes[n] for n in used]
        return _renumber(lines + attributes + [self.metadata[n] for n in dict.fromkeys(nodes)])


def _renumber(lines: list[str]) -> str:
    """`lines` joined, attribute groups (#n) and metadata nodes (!n) numbered in order of
    first use."""
    numbers: dict[tuple[str, str], int] = {}

    def sub(m):
        key = (m.group(1), m.group(2))
        if key not in numbers:
            numbers[key] = sum(k[0] == key[0] for k in numbers)
        return f"{m.group(1)}{numbers[key]}"

    return "\n".join(_NUMBERED.sub(sub, ln) if "#" in ln or "!" in ln else ln for ln in lines)


def _rename(text: str, names: dict[str, str]) -> str:
    """`text` with the symbols of `names` renamed (lines without '@' are not scanned)."""

    def line(ln: str) -> str:
        if "@" not in ln:
            return ln
        return _SYMBOL.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), ln)

    return "\n".join(line(ln) for ln in text.split("\n"))
