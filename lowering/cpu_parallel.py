"""Parallel loops on the CPU through the OpenMP runtime torch already loaded (libgomp).

Note [cpu parallel loops]
~~~~~~~~~~~~~~~~~~~~~~~~~
Two steps, because a thread pool needs a C function pointer and one `void *` of data:

1. On buffers (`tg-cpu-outline-parallel`): each top-level scf.parallel with enough work is
   moved into `func.func private @dynamlir_par_<n>(%lo, %hi, %step, captures...)` whose
   first parallel dimension with a trip count other than 1 runs over [lo, hi); the loop
   becomes a call over the full range. Constants are cloned into the body (they stay foldable). The matmul kernel
   emits its row-range functions in the same form directly (lowering/cpu_matmul.py).
2. In the LLVM dialect (`tg-cpu-omp-dispatch`), where every argument is a plain LLVM
   value, each call to @dynamlir_par_<n> is redirected to a launcher that stores its
   arguments in a struct and calls `GOMP_parallel(thunk, &struct, 0, 0)`; the thunk reads
   them back and runs @dynamlir_par_<n> on its thread's contiguous share of the iterations
   (lowering/cpu_omp_launch.py). libgomp's team is torch's own, so torch.set_num_threads
   applies and no second pool competes for the cores. The JIT resolves the GOMP symbols
   from torch's libgomp (runtime/cpu.py passes it as a shared library).

Each thread runs one contiguous share, sized by weights the launcher learns from when the
threads finish (Note [balanced thread shares]), in one call where a call packs an operand
for its whole range (a row-split matmul with B^T packs all of B per thread), else in chunks of which
another thread may take the last ones (Note [stolen tails]). Threads taking every chunk
from one shared atomic counter instead (4 per thread, for fused loops, transposes and
column-split matmuls) had been measured slower than equal shares: a GPT-2 block 5.93 ->
6.23 ms, its training step 21.86 -> 22.07 ms (bench/variants.py).
"""

from __future__ import annotations

import math

from torch_mlir import ir
from torch_mlir.dialects import arith, func, memref

from .cpu_omp_launch import RUNTIME_DECLS, SHARES_DECLS, launcher_text, shares_text

PREFIX = "dynamlir_par_"
MIN_WORK = 1 << 15  # iterations x inner work below which threads cost more than they save


def _op(x):
    return x.operation if hasattr(x, "operation") else x


def _is_within(op, ancestor) -> bool:
    op, ancestor = _op(op), _op(ancestor)
    while op is not None:
        if op == ancestor:
            return True
        op = _op(op.parent) if op.parent is not None else None
    return False


def _defined_inside(v: ir.Value, op) -> bool:
    owner = v.owner
    if isinstance(owner, ir.Block):
        return _is_within(owner.owner, op)
    return _is_within(owner, op)


def static_int(v: ir.Value) -> int | None:
    """The value of `v` when an arith.constant defines it, else None."""
    owner = v.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "arith.constant":
        return None
    return ir.IntegerAttr(owner.attributes["value"]).value


def _static_trip(lb, ub, step) -> int | None:
    lo, hi, st = (static_int(v) for v in (lb, ub, step))
    if lo is None or hi is None or st is None:
        return None
    return max(0, -(-(hi - lo) // st))


def _work(op) -> int:
    """Static iterations of `op`'s loop nest times the ops an iteration runs (unknown trip
    counts count as 64). Ops count, not just loops: a blocked transpose's 16x16 tile is one
    iteration of ~100 unrolled vector ops."""
    total = 1
    if op.name == "scf.parallel":
        n = len(op.operands) // 3
        for d in range(n):
            t = _static_trip(op.operands[d], op.operands[n + d], op.operands[2 * n + d])
            total *= 64 if t is None else t
    elif op.name == "scf.for":
        t = _static_trip(op.operands[0], op.operands[1], op.operands[2])
        total *= 64 if t is None else t
    return total * max(1, _body_work(op))


def _body_work(op) -> int:
    """The work of one iteration of `op`'s regions: nested loops by `_work`, other ops 1 each
    (plus what their own regions hold, e.g. both branches of an scf.if)."""
    inner = 0
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                child = child.operation
                if child.name in ("scf.for", "scf.parallel"):
                    inner += _work(child)
                else:
                    inner += 1 + _body_work(child)
    return inner


def _captures(op) -> list[ir.Value]:
    """Values used inside `op` but defined outside it, in first-use order."""
    seen: dict = {}

    def visit(inner):
        for v in inner.operands:
            if v not in seen and not _defined_inside(v, op):
                seen[v] = None
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return list(seen)


NOALIAS = "dynamlir.noalias_pointers"
# On an outlined kernel whose threads must each run one range, in one call (Note [stolen
# tails], lowering/cpu_omp_launch.py).
WHOLE_SHARES = "dynamlir.whole_shares"


def mark_noalias(fn, args: list[ir.Value]) -> None:
    """Record on outlined function `fn`, whose arguments after (lo, hi, step) are `args`,
    which aligned pointers of its lowered LLVM signature may be `noalias`: those of memref
    arguments whose buffer (through views) no other argument shares. `tg-cpu-omp-dispatch`
    puts the attribute on them, so LLVM promotes reduction accumulators to registers and
    vectorizes without runtime alias checks (Note [cpu parallel loops]). A function called
    from several places (Note [shared kernels]) keeps the positions every call allows."""
    from .cpu_fuse_loops import buffer_of

    roots = [buffer_of(v) for v in args if isinstance(v.type, ir.MemRefType)]
    positions, pos = [], 3  # lo, hi, step
    for v in args:
        if isinstance(v.type, ir.MemRefType):
            root = buffer_of(v)
            if sum(1 for other in roots if other == root) == 1:
                positions.append(pos + 1)  # (allocated, aligned, offset, sizes..., strides...)
            pos += 3 + 2 * ir.MemRefType(v.type).rank
        else:
            pos += 1
    if NOALIAS in fn.attributes:
        before = set(ir.DenseI64ArrayAttr(fn.attributes[NOALIAS]))
        positions = [p for p in positions if p in before]
    fn.attributes[NOALIAS] = ir.DenseI64ArrayAttr.get(positions)


class SharedKernels:
    """Outlined @dynamlir_par_<n> kernels, one per distinct kernel in a module.

    Note [shared kernels]
    ~~~~~~~~~~~~~~~~~~~~~
    LLVM's optimizer and code generator take most of a compile: 50 to 250 ms for each
    matmul micro-kernel or blocked transpose (unrolled vector code). Graphs repeat layers
    (stacked transformer blocks, equal hidden sizes), and each repeat used to get its own
    copy of the same kernel; now a kernel is emitted once per module for each key (what its
    code depends on: the op, its form, the operand types) and every repeat calls it.

    Kernels on dynamic sizes and strides serve every shape but can run slower: 12% for a
    2048x1024 blocked transpose, 1.6-1.9% on a GPT-2 block whose column-split products
    were general. They are used where the compile time they save outweighs that: 2-D
    transposes of activations up to 1M elements (lowering/cpu_transpose.py), such as the
    six around an MLP's swapped products, which cost 45 ms of LLVM time each, and row-split
    matmuls, with the static facts their tails depend on in the key (Note [shape-general
    kernels], lowering/cpu_matmul.py).
    """

    def __init__(self, module: ir.Operation):
        self.module = module
        self.body = module.regions[0].blocks[0]
        self.functions: dict = {}

    def call(self, key, threads: tuple[ir.Value, ir.Value, ir.Value], operands: list[ir.Value],
             build, general: bool = False, whole_shares: bool = False) -> None:
        """Call the kernel for `key` over threads = (lo, hi, step) at the current insertion
        point, emitting it first with `build(lo, hi, *operands as arguments)` if it is new.
        With `general`, the kernel takes its memrefs with dynamic sizes and strides
        (general_memref_type) and serves every shape; the call casts its operands. With
        `whole_shares`, each thread runs its share in one call (Note [stolen tails])."""
        types = [general_memref_type(v.type) if general and isinstance(v.type, ir.MemRefType)
                 else v.type for v in operands]
        full_key = (key, tuple(str(t) for t in types))
        fn = self.functions.get(full_key)
        if fn is None:
            idx = ir.IndexType.get()
            name = f"{PREFIX}{next_index(self.module)}"
            with ir.InsertionPoint(self.body):
                fn = func.FuncOp(name, ([idx] * 3 + types, []), visibility="private")
                entry = fn.add_entry_block()
            with ir.InsertionPoint(entry):
                args = list(entry.arguments)
                build(args[0], args[1], *args[3:])
                func.ReturnOp([])
            if whole_shares:
                fn.attributes[WHOLE_SHARES] = ir.UnitAttr.get()
            self.functions[full_key] = fn
        mark_noalias(fn, operands)
        args = [memref.cast(t, v) if t != v.type else v for t, v in zip(types, operands)]
        func.CallOp([], ir.FlatSymbolRefAttr.get(fn.sym_name.value), [*threads, *args])


def general_memref_type(t: ir.MemRefType) -> ir.MemRefType:
    """`t` with dynamic sizes, offset and strides, except a unit innermost stride (vector
    loads and stores must know it statically)."""
    t = ir.MemRefType(t)
    dyn = ir.ShapedType.get_dynamic_stride_or_offset()
    strides, _ = t.get_strides_and_offset()
    general = [dyn] * t.rank
    if t.rank and strides[-1] == 1:
        general[-1] = 1
    layout = ir.StridedLayoutAttr.get(dyn, general)
    return ir.MemRefType.get([ir.ShapedType.get_dynamic_size()] * t.rank, t.element_type,
                             layout, t.memory_space)


def outline_loop(loop, name: str, body_block: ir.Block):
    """Move scf.parallel `loop` into @name(lo, hi, step, captures...) (see the Note);
    returns the function and the call that replaced the loop."""
    idx = ir.IndexType.get()
    n = len(loop.operands) // 3
    if LINEARIZE:
        linearize_leading_dims(loop)
    d = _threaded_dim(loop)
    lo, hi, step = loop.operands[d], loop.operands[n + d], loop.operands[2 * n + d]
    caps = [v for v in _captures(loop) if not _is_constant(v)]
    consts = [v for v in _captures(loop) if _is_constant(v)]
    with ir.InsertionPoint(body_block), loop.location:
        fn = func.FuncOp(name, ([idx, idx, idx] + [v.type for v in caps], []), visibility="private")
        mark_noalias(fn, caps)
        entry = fn.add_entry_block()
        with ir.InsertionPoint(entry):
            ret = func.ReturnOp([])
    with ir.InsertionPoint(loop), loop.location:
        call = func.CallOp([], ir.FlatSymbolRefAttr.get(name), [lo, hi, step, *caps])
    loop.move_before(ret)
    mapping = {}
    for v in consts:
        clone = v.owner.operation.clone(ir.InsertionPoint(loop))
        mapping[v] = clone.results[0]
    for v, arg in zip(caps, list(entry.arguments)[3:]):
        mapping[v] = arg

    # Only the moved loop's own operands are remapped: visiting every use of a captured
    # value (all over the caller) made outlining quadratic in the graph size.
    def remap(op):
        for i, v in enumerate(op.operands):
            if (new := mapping.get(v)) is not None:
                op.operands[i] = new
        return ir.WalkResult.ADVANCE

    loop.walk(remap)
    loop.operands[d] = entry.arguments[0]
    loop.operands[n + d] = entry.arguments[1]
    return fn, call


# Note [threads over linearized rows]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# The threads share out one dim of a parallel loop, the first with more than one
# iteration; a row nest over (batch, heads, rows) = (4, 4, 128) (a GPT-2 block's softmax,
# or its layer norms over (4, 128)) was shared out by its 4 batches: two per thread, whose
# weights (Note [balanced thread shares]) could only give 2/2 or 3/1 and whose chunks
# (Note [stolen tails]) were whole batches. When that dim has fewer than LINEARIZE_BELOW
# iterations, the loop's leading dims (static, from 0 by 1) are merged into the first, the
# body recovering each index by division: the softmax is shared out by its 2048 rows. The
# innermost dim stays when the body has no loop of its own: it is the one LLVM vectorizes.
# Measured in the block's training step (per-kernel regions, variants alternating in one
# process, the vCPUs alike): the threads' finishing gaps of its layer norms and softmaxes
# halved (softmax forward 21 -> 9 us, backward 16 -> 7 us), their time 1-4% lower.
LINEARIZE = True
LINEARIZE_BELOW = 64


def linearize_leading_dims(loop) -> bool:
    """Note [threads over linearized rows] on scf.parallel `loop`; whether it merged."""
    n = len(loop.operands) // 3
    if len(loop.results) or n < 2:
        return False
    body = loop.regions[0].blocks[0]
    inner = any(op.operation.name in ("scf.for", "scf.parallel") for op in body.operations)
    trips = []
    for d in range(n if inner else n - 1):
        lb, ub, st = loop.operands[d], loop.operands[n + d], loop.operands[2 * n + d]
        if static_int(lb) != 0 or static_int(st) != 1 or (t := static_int(ub)) is None or t < 1:
            break
        trips.append(t)
    if len(trips) < 2 or next((t for t in trips if t != 1), LINEARIZE_BELOW) >= LINEARIZE_BELOW:
        return False
    ivs = list(body.arguments)[: len(trips)]
    uses = [[(u.owner, u.operand_number) for u in iv.uses] for iv in ivs]
    with ir.InsertionPoint(loop), loop.location:
        total = arith.constant(ir.IndexType.get(), math.prod(trips))
        one = arith.constant(ir.IndexType.get(), 1)
    loop.operands[n] = total
    for d in range(1, len(trips)):
        loop.operands[n + d] = one
    with ir.InsertionPoint.at_block_begin(body), loop.location:
        linear, index = ivs[0], []
        for d in range(len(trips)):
            inner_size = math.prod(trips[d + 1:])
            q = linear if inner_size == 1 else arith.divui(linear, arith.constant(ir.IndexType.get(), inner_size))
            index.append(q if d == 0 else arith.remui(q, arith.constant(ir.IndexType.get(), trips[d])))
    for d, sites in enumerate(uses):
        for owner, pos in sites:
            owner.operands[pos] = index[d]
    return True


def _threaded_dim(loop) -> int:
    """The dim the threads share out: the first whose trip count is not statically 1 (a
    batch of one would otherwise leave a fused nest over (1, rows) on a single thread)."""
    n = len(loop.operands) // 3
    for d in range(n):
        if _static_trip(loop.operands[d], loop.operands[n + d], loop.operands[2 * n + d]) != 1:
            return d
    return 0


def _is_constant(v: ir.Value) -> bool:
    owner = v.owner
    return isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant"


def next_index(module: ir.Operation) -> int:
    """The next free n for a @dynamlir_par_<n> function in `module`."""
    used = [int(op.sym_name.value[len(PREFIX):]) for op in module.regions[0].blocks[0].operations
            if op.operation.name == "func.func" and op.sym_name.value.startswith(PREFIX)]
    return max(used, default=-1) + 1


def outline_parallel_loops(module: ir.Operation) -> int:
    """Step 1 of the Note for every top-level scf.parallel in every function."""
    body = module.regions[0].blocks[0]
    loops = []
    for fn in body.operations:
        if fn.operation.name != "func.func" or fn.sym_name.value.startswith(PREFIX):
            continue
        for block in fn.regions[0].blocks:
            for op in block.operations:
                if op.operation.name == "scf.parallel" and _work(op.operation) >= MIN_WORK:
                    loops.append(op.operation)
    start = next_index(module)
    outlined: dict[str, func.FuncOp] = {}
    for i, loop in enumerate(loops):
        name = f"{PREFIX}{start + i}"
        fn, call = outline_loop(loop, name, body)
        key = _structure(fn, name)
        same = outlined.get(key)
        if same is None:
            outlined[key] = fn
            continue
        # A repeat of an outlined loop (Note [shared kernels]): call that one instead.
        mark_noalias(same, list(call.operands)[3:])
        call.attributes["callee"] = ir.FlatSymbolRefAttr.get(same.sym_name.value)
        fn.erase()
    return len(loops)


def _structure(fn, name: str) -> str:
    """`fn`'s text without its name and alias facts: equal for functions with the same code."""
    facts = fn.attributes[NOALIAS]
    del fn.attributes[NOALIAS]
    # A local scope: the default numbers the values of the whole module on every print.
    text = fn.operation.get_asm(use_local_scope=True, assume_verified=True)
    text = text.replace(f"@{name}(", "@(", 1)
    fn.attributes[NOALIAS] = facts
    return text


def dispatch_parallel_calls(module: ir.Operation) -> int:
    """Step 2 of the Note: redirect LLVM-dialect calls of @dynamlir_par_* to GOMP launchers."""
    body = module.regions[0].blocks[0]
    names = {op.operation.attributes["sym_name"].value for op in body.operations
             if op.operation.name == "llvm.func"}
    targets = {n for n in names if n.startswith(PREFIX) and not n.endswith(("_launch", "_thunk"))}
    if not targets:
        return 0
    calls = []

    def visit(op):
        if op.name == "llvm.call" and "callee" in op.attributes:
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            if callee in targets:
                calls.append((op, callee))
        for region in op.regions:
            for block in region.blocks:
                for inner in block.operations:
                    visit(inner.operation)

    # Outlined functions call no outlined functions (only top-level loops of the others
    # are outlined), so their bodies, most of the module, need no visit.
    for fn in body.operations:
        if fn.operation.name == "llvm.func" and fn.operation.attributes["sym_name"].value not in targets:
            visit(fn.operation)
    arg_types: dict[str, list[str]] = {}
    for op, callee in calls:
        arg_types.setdefault(callee, [str(v.type) for v in op.operands])
    whole = {fn.operation.attributes["sym_name"].value for fn in body.operations
             if fn.operation.name == "llvm.func" and WHOLE_SHARES in fn.operation.attributes}
    # The launchers parse on their own, with declarations of what they call; declarations
    # of functions the module already has are not moved into it.
    runtime = [decl for sym, decl in RUNTIME_DECLS.items() if sym not in names]
    present = [decl for sym, decl in RUNTIME_DECLS.items() if sym in names]
    present += [f"llvm.func @{n}({', '.join(ts)})" for n, ts in arg_types.items()]
    texts = runtime + [launcher_text(n, ts, steal=n not in whole) for n, ts in arg_types.items()]
    if any(n in names for n in SHARES_DECLS):  # a module dispatched before has them all
        present += list(SHARES_DECLS.values())
    else:
        texts.append(shares_text())
    for op in body.operations:
        if op.operation.name == "llvm.func" and NOALIAS in op.attributes:
            _set_noalias(op.operation)
        if (op.operation.name == "llvm.func" and KEEP_KERNELS_OUT_OF_THUNKS
                and op.operation.attributes["sym_name"].value in arg_types):
            _add_passthrough(op.operation, "noinline")
    parsed = ir.Module.parse("\n".join(texts + present))
    for op in list(parsed.body.operations)[: -len(present)]:
        body.append(op.operation)
    for op, callee in calls:
        op.attributes["callee"] = ir.FlatSymbolRefAttr.get(f"{callee}_launch")
    return len(calls)


# Note [kernels called, not inlined]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# A kernel's only caller is its thunk, and LLVM's inliner took that single call: the kernel
# was then optimized and compiled twice, once in the thunk and once on its own (it stays:
# it is not internal, so split_module can give it a part of the module). For the MLP's
# bias-and-ReLU kernel, its part (kernel, launcher, thunk) took 32.2 ms of LLVM, 11.7 ms
# with the kernel alone; `noinline` on the kernel leaves the thunk a call, made once per
# thread per launch. The GPT-2 block's training modules took 971 and 1322 ms of LLVM part
# by part instead of 1091 and 1523; run times unchanged (bench/variants.py, on vs off:
# inference 5.202/5.153 vs 5.158/5.240 ms, training 19.61/19.43 vs 19.92/19.74 ms, the
# elementwise chain 0.757/0.774 vs 0.784/0.770 ms). Set to False to let LLVM inline them.
KEEP_KERNELS_OUT_OF_THUNKS = True


def _add_passthrough(fn, attr: str) -> None:
    old = list(ir.ArrayAttr(fn.attributes["passthrough"])) if "passthrough" in fn.attributes else []
    if not any(str(a) == f'"{attr}"' for a in old):
        fn.attributes["passthrough"] = ir.ArrayAttr.get([*old, ir.StringAttr.get(attr)])


def _set_noalias(fn) -> None:
    """`noalias` on the argument positions `mark_noalias` recorded."""
    positions = set(ir.DenseI64ArrayAttr(fn.attributes[NOALIAS]))
    n_args = len(ir.TypeAttr(fn.attributes["function_type"]).value.inputs)
    old = list(ir.ArrayAttr(fn.attributes["arg_attrs"])) if "arg_attrs" in fn.attributes else []
    attrs = []
    for i in range(n_args):
        entries = {a.name: a.attr for a in ir.DictAttr(old[i])} if i < len(old) else {}
        if i in positions:
            entries["llvm.noalias"] = ir.UnitAttr.get()
        attrs.append(ir.DictAttr.get(entries))
    fn.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)
    del fn.attributes[NOALIAS]
