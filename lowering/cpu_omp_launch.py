"""The OpenMP launcher and thunk of an outlined parallel kernel (step 2 of Note [cpu parallel
loops], lowering/cpu_parallel.py), with shares balanced by measured finishing times.

Note [balanced thread shares]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
Equal shares finish together only on equal cores. The vCPUs of a shared machine are not:
on this 2-vCPU VM a single-threaded matmul loop pinned to each vCPU at once ran 45-70%
slower on one of them for minutes at a time (142 vs 95 ms, 168 vs 100 ms; later 150 vs
165 ms), and perf showed the GPT-2 block's training step spending 1.36-1.48x longer in
every matmul kernel on one thread than on the other, the other idle in libgomp's barrier
for 33% of the step. MKL's sgemm balances itself (eager's threads spent equal time in it).

Each launcher therefore keeps one weight per thread (a module-internal global; 1024 is an
equal share) and hands thread t the iterations in proportion to its weight. The weights
are copied into the call's own share state before the team starts, so every thread of
the team computes its bounds from the same numbers (a concurrent call of the same kernel
from another thread may update the global meanwhile; its team then uses its own copy):
the shares always tile [lo, hi) exactly, whatever the weights are. Each thread records
the cycle counter when its share is done; after the team joins, the launcher compares each
thread's finishing time with the mean (from a common start taken just before the team was
launched, so a worker that wakes late also gets less) and scales its weight by
1 + (mean - finish) / (2 * mean), clamped to [0.75, 1.33] per call and to [1/4, 4] of
an equal share overall. Balancing finishing times rather than speeds keeps a fixed cost
per thread (every thread packing all of B in a row-split matmul) from feeding back on
itself: a thread given more work finishes later and is given less. Calls with fewer than
two iterations per thread leave the weights alone, and teams of more than 64 threads
take equal shares.

Measured with bench/variants.py (BALANCE off: equal shares, same code otherwise), in phases
where the vCPUs ran apart: the GPT-2 block's training step 18.06 -> 16.38 ms and 25.88 ->
22.69 ms, its inference 7.47 -> 6.24 ms (another run 6.49 vs 6.45 ms), the MLP 5.00 -> 4.86
ms; with the vCPUs alike (92 vs 91 ms on the pinned loops), the training step 15.41 vs
15.24 ms, within noise. On the kernels alone (bench/matmul.py) the block's 12 products went
from 0.94x to 0.94-1.03x of MKL.

Note [stolen tails]
~~~~~~~~~~~~~~~~~~~
Weights follow speeds that last; they cannot follow the vCPUs' moment-to-moment stalls. On
the GPT-2 block's training step, with the weights as above, the two threads of a kernel of
more than 500 us finished a median 4% of its time apart, a quarter of the calls more than
11% and a tenth more than 20% (the idle thread waits at the join). So each thread
publishes its share as one atomic word, first << 32 | end, and runs it from the front in
chunks: all but two tenths at once, then a tenth at a time. A thread whose own range is
empty takes a tenth of another's share off its end, by compare-and-swap on that word, until
every range is empty; each chunk is one call of the kernel on it. The weights then learn
from how much each thread ran against what it was handed (a thread that stole finishes
with the others), besides the finishing times.
A kernel whose every call packs an operand for the whole call (a row-split product packs
all of B, a weight gradient A^T's strips) is marked dynamlir.whole_shares and runs its
share in one call: a chunk would pack it again. The same per-kernel timings with and
without stealing: the imbalance of every kernel halved (qkv's forward 105 -> 52 us per
step, fc1's 154 -> 71 us) and the stealing kernels took 2-6% less; row-split products, then
still stealing, took 2-6% more, hence the mark; those that can read B unpacked now do so
in small calls and steal (Note [stolen rows read B in place], lowering/cpu_matmul.py),
and only B^T products keep it. Paired whole steps with the vCPUs alike
(bench/variants.py): the block's training 0.3-0.7% faster, its inference and the MLP
within noise. Loops of 2^31 iterations or more and teams over MAX_THREADS keep their
static shares.

The arithmetic lives in six functions emitted once per module (@dynamlir_shares_*), marked
noinline; each launcher and thunk only calls them. Inlined into every launcher (as first
written, or by LLVM's inliner) it made a GPT-2 block's training compile 0.6-1.0 s slower
(about 30 launchers, each with three loops of float code for LLVM to optimize).
"""

from __future__ import annotations

from .cpu_loop_hints import EXPLICIT

MAX_THREADS = 64  # weights kept per launcher; bigger teams take equal shares
EQUAL = 1024  # a thread's weight for an equal share
# Update the weights from measured finishing times; off, every share stays equal.
BALANCE = True
# Threads that run out of work take chunks off the end of another's share (Note [stolen
# tails]); a share's chunks are 1/STEAL_PARTS of it.
STEAL = True
STEAL_PARTS = 10
# Leave the share helpers unoptimized (see _helper).
OPTNONE_HELPERS = True

RUNTIME_DECLS = {
    "GOMP_parallel": "llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)",
    "omp_get_thread_num": "llvm.func @omp_get_thread_num() -> i32",
    "omp_get_num_threads": "llvm.func @omp_get_num_threads() -> i32",
}

_TSC = 'llvm.call_intrinsic "llvm.readcyclecounter"() : () -> i64'
_ARRAY = f"!llvm.array<{MAX_THREADS} x i64>"
# A call's shares: the weights it uses, each thread's finishing time, the team's size (0
# until thread 0 records it) and the cycle counter when the team was launched.
# Then, for stealing (Note [stolen tails]): each thread's range still to run, packed as
# first << 32 | end; its chunk size; the iterations it ran; the iterations it was handed.
STATE = f"!llvm.struct<({_ARRAY}, {_ARRAY}, i64, i64, {_ARRAY}, {_ARRAY}, {_ARRAY}, {_ARRAY})>"
WORDS, CHUNK, DONE, ASSIGNED = 4, 5, 6, 7
# The helpers' loops run once per thread: LLVM should not vectorize them (Note [explicit
# loops], lowering/cpu_loop_hints.py).
BACK_EDGE = f"{{loop_annotation = {EXPLICIT}}}"


def _gep(out: str, base: str, indices: str, typ: str, dynamic: bool = False) -> str:
    """`out` = the address of base[indices] in `typ`; `dynamic` when an index is a value."""
    types = "(!llvm.ptr, i64)" if dynamic else "(!llvm.ptr)"
    return f"  {out} = llvm.getelementptr {base}[{indices}] : {types} -> !llvm.ptr, {typ}"


# A range [first, end) in one word (Note [stolen tails]); the functions that use these
# define %thirty_two (and %low, to unpack).
_HALVES = ["  %thirty_two = llvm.mlir.constant(32 : i64) : i64",
           "  %low = llvm.mlir.constant(4294967295 : i64) : i64"]


def _pack(out: str, first: str, end: str) -> list[str]:
    """`out` = first << 32 | end."""
    return [f"  {out}_high = llvm.shl {first}, %thirty_two : i64",
            f"  {out} = llvm.or {out}_high, {end} : i64"]


def _unpack(word: str, first: str, end: str) -> list[str]:
    """`first` and `end` of the range in `word`."""
    return [f"  {first} = llvm.lshr {word}, %thirty_two : i64",
            f"  {end} = llvm.and {word}, %low : i64"]


def _put(tmp: str, indices: str, value: str) -> list[str]:
    """Store i64 `value` at %st[indices] of a STATE (through address `tmp`)."""
    return [_gep(tmp, "%st", indices, STATE, True), f"  llvm.store {value}, {tmp} : i64, !llvm.ptr"]


def _helper(signature: str) -> str:
    """The opening line of a @dynamlir_shares_* function, kept out of its callers, and
    with OPTNONE_HELPERS not optimized by LLVM: a few scalar loops over at most 64 threads
    per launch gain nothing from O3, which cost 27 ms of LLVM for the four in every module
    against 13 ms unoptimized (each compiled alone, best of five)."""
    attrs = '"noinline", "optnone"' if OPTNONE_HELPERS else '"noinline"'
    return f'llvm.func @dynamlir_shares_{signature} attributes {{passthrough = [{attrs}]}} {{'


def _constants() -> list[str]:
    return ["  %zero = llvm.mlir.constant(0 : i64) : i64",
            "  %one = llvm.mlir.constant(1 : i64) : i64",
            f"  %cap = llvm.mlir.constant({MAX_THREADS} : i64) : i64"]


def shares_text() -> str:
    """The module's @dynamlir_shares_* functions (Note [balanced thread shares])."""
    lines = [
        # prepare(state, weights): copy the weights, clear the team size, note the start.
        _helper("prepare(%st: !llvm.ptr, %g: !llvm.ptr)"), *_constants(),
        "  llvm.br ^copy(%zero : i64)",
        "^copy(%u: i64):",
        '  %more = llvm.icmp "slt" %u, %cap : i64',
        "  llvm.cond_br %more, ^body, ^done",
        "^body:",
        _gep("%src", "%g", "0, %u", _ARRAY, True),
        "  %w = llvm.load %src : !llvm.ptr -> i64",
        _gep("%dst", "%st", "0, 0, %u", STATE, True),
        "  llvm.store %w, %dst : i64, !llvm.ptr",
        *_put("%word", f"0, {WORDS}, %u", "%zero"),
        *_put("%handed", f"0, {ASSIGNED}, %u", "%zero"),
        "  %u1 = llvm.add %u, %one : i64",
        "  llvm.br ^copy(%u1 : i64) " + BACK_EDGE,
        "^done:",
        _gep("%team", "%st", "0, 2", STATE),
        "  llvm.store %zero, %team : i64, !llvm.ptr",
        _gep("%start", "%st", "0, 3", STATE),
        f"  %t0 = {_TSC}",
        "  llvm.store %t0, %start : i64, !llvm.ptr",
        "  llvm.return", "}",
        # bound(state, t, nt, n): thread t's first iteration, n * W(<t) / W (t = nt: n).
        _helper("bound(%st: !llvm.ptr, %t: i64, %nt: i64, %n: i64) -> i64"),
        *_constants(),
        '  %weighted = llvm.icmp "sle" %nt, %cap : i64',
        "  llvm.cond_br %weighted, ^sum(%zero, %zero, %zero : i64, i64, i64), ^equal",
        "^sum(%u: i64, %tot: i64, %before: i64):",
        '  %more = llvm.icmp "slt" %u, %nt : i64',
        "  llvm.cond_br %more, ^body, ^weighted_bound",
        "^body:",
        _gep("%wp", "%st", "0, 0, %u", STATE, True),
        "  %w = llvm.load %wp : !llvm.ptr -> i64",
        "  %tot1 = llvm.add %tot, %w : i64",
        '  %earlier = llvm.icmp "slt" %u, %t : i64',
        "  %wb = llvm.select %earlier, %w, %zero : i1, i64",
        "  %before1 = llvm.add %before, %wb : i64",
        "  %u1 = llvm.add %u, %one : i64",
        "  llvm.br ^sum(%u1, %tot1, %before1 : i64, i64, i64) " + BACK_EDGE,
        "^weighted_bound:",
        "  %bm = llvm.mul %n, %before : i64",
        "  %b = llvm.sdiv %bm, %tot : i64",
        "  llvm.return %b : i64",
        "^equal:",
        "  %em = llvm.mul %t, %n : i64",
        "  %e = llvm.sdiv %em, %nt : i64",
        "  llvm.return %e : i64", "}",
        # finish(state, t, nt): thread t's finishing time; thread 0 records the team's size.
        _helper("finish(%st: !llvm.ptr, %t: i64, %nt: i64)"), *_constants(),
        '  %weighted = llvm.icmp "sle" %nt, %cap : i64',
        "  llvm.cond_br %weighted, ^record, ^done",
        "^record:",
        f"  %end = {_TSC}",
        _gep("%ep", "%st", "0, 1, %t", STATE, True),
        "  llvm.store %end, %ep : i64, !llvm.ptr",
        '  %first = llvm.icmp "eq" %t, %zero : i64',
        "  llvm.cond_br %first, ^team, ^done",
        "^team:",
        _gep("%tp", "%st", "0, 2", STATE),
        "  llvm.store %nt, %tp : i64, !llvm.ptr",
        "  llvm.br ^done",
        "^done:",
        "  llvm.return", "}",
        # update(state, weights, n): the weights scaled by how early each thread finished.
        _helper("update(%st: !llvm.ptr, %g: !llvm.ptr, %n: i64)"), *_constants(),
        "  %two = llvm.mlir.constant(2 : i64) : i64",
        _gep("%tp", "%st", "0, 2", STATE),
        "  %nt = llvm.load %tp : !llvm.ptr -> i64",
        _gep("%sp", "%st", "0, 3", STATE),
        "  %t0 = llvm.load %sp : !llvm.ptr -> i64",
        "  %nt2 = llvm.mul %nt, %two : i64",
        '  %several = llvm.icmp "sge" %nt, %two : i64',
        '  %enough = llvm.icmp "sge" %n, %nt2 : i64',
        "  %update = llvm.and %several, %enough : i1",
        "  %fzero = llvm.mlir.constant(0.0 : f64) : f64",
        "  llvm.cond_br %update, ^mean(%zero, %fzero : i64, f64), ^done",
        # The mean finishing time, from the common start.
        "^mean(%mu: i64, %macc: f64):",
        '  %mmore = llvm.icmp "slt" %mu, %nt : i64',
        "  llvm.cond_br %mmore, ^mean_body, ^mean_done",
        "^mean_body:",
        _gep("%mep", "%st", "0, 1, %mu", STATE, True),
        "  %me = llvm.load %mep : !llvm.ptr -> i64",
        "  %mel = llvm.sub %me, %t0 : i64",
        "  %mef = llvm.sitofp %mel : i64 to f64",
        "  %macc1 = llvm.fadd %macc, %mef : f64",
        "  %mu1 = llvm.add %mu, %one : i64",
        "  llvm.br ^mean(%mu1, %macc1 : i64, f64) " + BACK_EDGE,
        "^mean_done:",
        "  %ntf = llvm.sitofp %nt : i64 to f64",
        "  %mean = llvm.fdiv %macc, %ntf : f64",
        "  %half = llvm.mlir.constant(0.5 : f64) : f64",
        "  %fone = llvm.mlir.constant(1.0 : f64) : f64",
        "  %lowest = llvm.mlir.constant(0.75 : f64) : f64",
        "  %highest = llvm.mlir.constant(1.33 : f64) : f64",
        "  llvm.br ^scale(%zero, %fzero : i64, f64)",
        # Each weight scaled by 1 + (mean - finish) / (2 mean), clamped; their sum.
        "^scale(%su: i64, %ssum: f64):",
        '  %smore = llvm.icmp "slt" %su, %nt : i64',
        "  llvm.cond_br %smore, ^scale_body, ^norm_start",
        "^scale_body:",
        _gep("%sep", "%st", "0, 1, %su", STATE, True),
        "  %se = llvm.load %sep : !llvm.ptr -> i64",
        "  %sel = llvm.sub %se, %t0 : i64",
        "  %sef = llvm.sitofp %sel : i64 to f64",
        "  %sd = llvm.fsub %mean, %sef : f64",
        "  %sdr = llvm.fdiv %sd, %mean : f64",
        "  %sdh = llvm.fmul %sdr, %half : f64",
        "  %sf0 = llvm.fadd %fone, %sdh : f64",
        *(_ran_more("%sf0", "%sf") if STEAL else ["  %sf = llvm.fadd %sf0, %fzero : f64"]),
        "  %sf1 = llvm.intr.maxnum(%sf, %lowest) : (f64, f64) -> f64",
        "  %sf2 = llvm.intr.minnum(%sf1, %highest) : (f64, f64) -> f64",
        _gep("%swp", "%st", "0, 0, %su", STATE, True),
        "  %sw = llvm.load %swp : !llvm.ptr -> i64",
        "  %swf = llvm.sitofp %sw : i64 to f64",
        "  %snw = llvm.fmul %swf, %sf2 : f64",
        "  %snwi = llvm.fptosi %snw : f64 to i64",
        "  llvm.store %snwi, %swp : i64, !llvm.ptr",
        "  %ssum1 = llvm.fadd %ssum, %snw : f64",
        "  %su1 = llvm.add %su, %one : i64",
        "  llvm.br ^scale(%su1, %ssum1 : i64, f64) " + BACK_EDGE,
        "^norm_start:",
        f"  %equal = llvm.mlir.constant({float(EQUAL)} : f64) : f64",
        f"  %wmin = llvm.mlir.constant({float(EQUAL // 4)} : f64) : f64",
        f"  %wmax = llvm.mlir.constant({float(EQUAL * 4)} : f64) : f64",
        "  %total = llvm.fmul %equal, %ntf : f64",
        "  %norm = llvm.fdiv %total, %ssum : f64",
        "  llvm.br ^norm(%zero : i64)",
        # Renormalized to a mean of EQUAL, clamped to [EQUAL / 4, 4 EQUAL], stored back.
        "^norm(%nu: i64):",
        '  %nmore = llvm.icmp "slt" %nu, %nt : i64',
        "  llvm.cond_br %nmore, ^norm_body, ^done",
        "^norm_body:",
        _gep("%nwp", "%st", "0, 0, %nu", STATE, True),
        "  %nw = llvm.load %nwp : !llvm.ptr -> i64",
        "  %nwf = llvm.sitofp %nw : i64 to f64",
        "  %nwn = llvm.fmul %nwf, %norm : f64",
        "  %nw1 = llvm.intr.maxnum(%nwn, %wmin) : (f64, f64) -> f64",
        "  %nw2 = llvm.intr.minnum(%nw1, %wmax) : (f64, f64) -> f64",
        "  %nwi = llvm.fptosi %nw2 : f64 to i64",
        _gep("%ng", "%g", "0, %nu", _ARRAY, True),
        "  llvm.store %nwi, %ng : i64, !llvm.ptr",
        "  %nu1 = llvm.add %nu, %one : i64",
        "  llvm.br ^norm(%nu1 : i64) " + BACK_EDGE,
        "^done:",
        "  llvm.return", "}",
    ]
    return "\n".join(lines + _steal_text())


_ACQ = "atomic acquire {alignment = 8 : i64}"


def _steal_text() -> list[str]:
    """@dynamlir_shares_own and @dynamlir_shares_next (Note [stolen tails])."""
    lines = [
        # own(state, t, b0, b1): publish [b0, b1) as thread t's range, with its chunk size.
        _helper("own(%st: !llvm.ptr, %t: i64, %b0: i64, %b1: i64)"), *_constants(),
        f"  %parts = llvm.mlir.constant({STEAL_PARTS} : i64) : i64",
        _HALVES[0],
        "  %given = llvm.sub %b1, %b0 : i64",
        "  %c0 = llvm.sdiv %given, %parts : i64",
        "  %c = llvm.intr.smax(%c0, %one) : (i64, i64) -> i64",
        *_put("%cp", f"0, {CHUNK}, %t", "%c"),
        *_put("%ap", f"0, {ASSIGNED}, %t", "%given"),
        *_put("%dp", f"0, {DONE}, %t", "%zero"),
        *_pack("%w", "%b0", "%b1"),
        _gep("%wp", "%st", f"0, {WORDS}, %t", STATE, True),
        "  llvm.store %w, %wp atomic release {alignment = 8 : i64} : i64, !llvm.ptr",
        "  llvm.return", "}",
        # next(state, t, nt): the next chunk thread t runs, packed first << 32 | end: from
        # the front of its own range (all but two chunks at first), else from the end of
        # another thread's; 0 when no range has any left.
        _helper("next(%st: !llvm.ptr, %t: i64, %nt: i64) -> i64"), *_constants(),
        *_HALVES,
        "  %two = llvm.mlir.constant(2 : i64) : i64",
        "  %three = llvm.mlir.constant(3 : i64) : i64",
        _gep("%wp", "%st", f"0, {WORDS}, %t", STATE, True),
        _gep("%cp", "%st", f"0, {CHUNK}, %t", STATE, True),
        "  %c = llvm.load %cp : !llvm.ptr -> i64",
        _gep("%dp", "%st", f"0, {DONE}, %t", STATE, True),
        "  llvm.br ^own",
        "^own:",
        f"  %w = llvm.load %wp {_ACQ} : !llvm.ptr -> i64",
        *_unpack("%w", "%lo", "%hi"),
        '  %left = llvm.icmp "slt" %lo, %hi : i64',
        "  llvm.cond_br %left, ^own_take, ^steal(%zero : i64)",
        "^own_take:",
        "  %rem = llvm.sub %hi, %lo : i64",
        "  %c3 = llvm.mul %c, %three : i64",
        "  %c2 = llvm.mul %c, %two : i64",
        "  %head = llvm.sub %rem, %c2 : i64",
        '  %first = llvm.icmp "sgt" %rem, %c3 : i64',
        "  %want = llvm.select %first, %head, %c : i1, i64",
        "  %take = llvm.intr.smin(%want, %rem) : (i64, i64) -> i64",
        "  %lo1 = llvm.add %lo, %take : i64",
        *_pack("%w1", "%lo1", "%hi"),
        "  %x = llvm.cmpxchg %wp, %w, %w1 acq_rel acquire {alignment = 8 : i64} : !llvm.ptr, i64",
        "  %ok = llvm.extractvalue %x[1] : !llvm.struct<(i64, i1)>",
        "  llvm.cond_br %ok, ^own_done, ^own",
        "^own_done:",
        "  %d = llvm.load %dp : !llvm.ptr -> i64",
        "  %d1 = llvm.add %d, %take : i64",
        "  llvm.store %d1, %dp : i64, !llvm.ptr",
        *_pack("%got", "%lo", "%lo1"),
        "  llvm.return %got : i64",
        # Another thread's range, from its end: its chunk size at most.
        "^steal(%u: i64):",
        '  %more = llvm.icmp "slt" %u, %nt : i64',
        "  llvm.cond_br %more, ^victim, ^none",
        "^victim:",
        "  %u1 = llvm.add %u, %one : i64",
        '  %self = llvm.icmp "eq" %u, %t : i64',
        "  llvm.cond_br %self, ^steal(%u1 : i64), ^try",
        "^try:",
        _gep("%vp", "%st", f"0, {WORDS}, %u", STATE, True),
        f"  %vw = llvm.load %vp {_ACQ} : !llvm.ptr -> i64",
        *_unpack("%vw", "%vlo", "%vhi"),
        '  %vleft = llvm.icmp "slt" %vlo, %vhi : i64',
        "  llvm.cond_br %vleft, ^rob, ^steal(%u1 : i64)",
        "^rob:",
        _gep("%vcp", "%st", f"0, {CHUNK}, %u", STATE, True),
        "  %vc = llvm.load %vcp : !llvm.ptr -> i64",
        "  %vrem = llvm.sub %vhi, %vlo : i64",
        "  %vtake = llvm.intr.smin(%vc, %vrem) : (i64, i64) -> i64",
        "  %vhi1 = llvm.sub %vhi, %vtake : i64",
        *_pack("%vw1", "%vlo", "%vhi1"),
        "  %vx = llvm.cmpxchg %vp, %vw, %vw1 acq_rel acquire {alignment = 8 : i64} : !llvm.ptr, i64",
        "  %vok = llvm.extractvalue %vx[1] : !llvm.struct<(i64, i1)>",
        "  llvm.cond_br %vok, ^robbed, ^try",
        "^robbed:",
        "  %vd = llvm.load %dp : !llvm.ptr -> i64",
        "  %vd1 = llvm.add %vd, %vtake : i64",
        "  llvm.store %vd1, %dp : i64, !llvm.ptr",
        *_pack("%vgot", "%vhi1", "%vhi"),
        "  llvm.return %vgot : i64",
        "^none:",
        "  llvm.return %zero : i64", "}",
    ]
    return lines


def _ran_more(before: str, after: str) -> list[str]:
    """In update's scale loop: `after` = `before` + (done / handed - 1) / 2 for thread %su,
    so that a thread that ran more than it was handed (it stole, Note [stolen tails]) gets
    a bigger share next time, though it finished with the others."""
    return [
        _gep("%sdp", "%st", f"0, {DONE}, %su", STATE, True),
        "  %sdone = llvm.load %sdp : !llvm.ptr -> i64",
        _gep("%sap", "%st", f"0, {ASSIGNED}, %su", STATE, True),
        "  %sgiven = llvm.load %sap : !llvm.ptr -> i64",
        '  %shanded = llvm.icmp "sgt" %sgiven, %zero : i64',
        "  %sgiven1 = llvm.select %shanded, %sgiven, %one : i1, i64",
        "  %sdone1 = llvm.select %shanded, %sdone, %one : i1, i64",
        "  %sdf = llvm.sitofp %sdone1 : i64 to f64",
        "  %sgf = llvm.sitofp %sgiven1 : i64 to f64",
        "  %sratio = llvm.fdiv %sdf, %sgf : f64",
        "  %sextra = llvm.fsub %sratio, %fone : f64",
        "  %sextrah = llvm.fmul %sextra, %half : f64",
        f"  {after} = llvm.fadd {before}, %sextrah : f64",
    ]


# Declarations of the functions shares_text() defines, for launchers added to a module that
# already has them (tg-cpu-omp-dispatch run again on a module with new calls).
SHARES_DECLS = {
    "dynamlir_shares_prepare": "llvm.func @dynamlir_shares_prepare(!llvm.ptr, !llvm.ptr)",
    "dynamlir_shares_bound": "llvm.func @dynamlir_shares_bound(!llvm.ptr, i64, i64, i64) -> i64",
    "dynamlir_shares_finish": "llvm.func @dynamlir_shares_finish(!llvm.ptr, i64, i64)",
    "dynamlir_shares_update": "llvm.func @dynamlir_shares_update(!llvm.ptr, !llvm.ptr, i64)",
    "dynamlir_shares_own": "llvm.func @dynamlir_shares_own(!llvm.ptr, i64, i64, i64)",
    "dynamlir_shares_next": "llvm.func @dynamlir_shares_next(!llvm.ptr, i64, i64) -> i64",
}


def _trip_count(out: str) -> list[str]:
    """Iterations of [%a0, %a1) step %a2."""
    return [f"  {out}_span = llvm.sub %a1, %a0 : i64",
            f"  {out}_up = llvm.add {out}_span, %a2 : i64",
            f"  {out}_up1 = llvm.sub {out}_up, %one : i64",
            f"  {out} = llvm.sdiv {out}_up1, %a2 : i64"]


def _iteration_range(first: str, end: str, tag: str) -> list[str]:
    """%lo<tag> and %hi<tag>: iterations [first, end) of [%a0, %a1) step %a2."""
    return [f"  %o0{tag} = llvm.mul {first}, %a2 : i64",
            f"  %o1{tag} = llvm.mul {end}, %a2 : i64",
            f"  %lo{tag} = llvm.add %a0, %o0{tag} : i64",
            f"  %hi0{tag} = llvm.add %a0, %o1{tag} : i64",
            f"  %hi{tag} = llvm.intr.smin(%hi0{tag}, %a1) : (i64, i64) -> i64"]


def launcher_text(name: str, arg_types: list[str], steal: bool = True) -> str:
    """@<name>_launch(args) runs @<name>(lo, hi, step, rest) on the team: its weights, the
    launcher and the thunk (Note [balanced thread shares]); with `steal` (and STEAL), a
    thread that runs out takes chunks off another's share (Note [stolen tails])."""
    k = len(arg_types)
    struct = f"!llvm.struct<({', '.join(arg_types)}, !llvm.ptr)>"  # the arguments, the state
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(arg_types))
    g = f"@{name}_weights"
    lines = [
        f"llvm.mlir.global internal {g}(dense<{EQUAL}> : tensor<{MAX_THREADS}xi64>) "
        f"{{addr_space = 0 : i32}} : {_ARRAY}",
        f"llvm.func @{name}_launch({params}) {{",
        "  %one = llvm.mlir.constant(1 : i64) : i64",
        f"  %s = llvm.alloca %one x {struct} : (i64) -> !llvm.ptr",
        f"  %st = llvm.alloca %one x {STATE} : (i64) -> !llvm.ptr",
    ]
    for i, ty in enumerate(arg_types):
        lines += [_gep(f"%p{i}", "%s", f"0, {i}", struct), f"  llvm.store %a{i}, %p{i} : {ty}, !llvm.ptr"]
    lines += [
        _gep("%stp", "%s", f"0, {k}", struct),
        "  llvm.store %st, %stp : !llvm.ptr, !llvm.ptr",
        f"  %g = llvm.mlir.addressof {g} : !llvm.ptr",
        "  llvm.call @dynamlir_shares_prepare(%st, %g) : (!llvm.ptr, !llvm.ptr) -> ()",
        f"  %f = llvm.mlir.addressof @{name}_thunk : !llvm.ptr",
        "  %z32 = llvm.mlir.constant(0 : i32) : i32",
        "  llvm.call @GOMP_parallel(%f, %s, %z32, %z32) : (!llvm.ptr, !llvm.ptr, i32, i32) -> ()",
    ]
    if BALANCE:
        lines += [*_trip_count("%n"),
                  "  llvm.call @dynamlir_shares_update(%st, %g, %n) : (!llvm.ptr, !llvm.ptr, i64) -> ()"]
    lines += ["  llvm.return", "}"]

    # The thunk: thread t runs [bound(t), bound(t + 1)) of the n iterations (in chunks, and
    # then others' tails, when it steals), then records when it finished.
    lines += [f"llvm.func @{name}_thunk(%s: !llvm.ptr) {{"]
    for i, ty in enumerate(arg_types):
        lines += [_gep(f"%p{i}", "%s", f"0, {i}", struct), f"  %a{i} = llvm.load %p{i} : !llvm.ptr -> {ty}"]
    rest = "".join(f", %a{i}" for i in range(3, k))
    lines += [
        _gep("%stp", "%s", f"0, {k}", struct),
        "  %st = llvm.load %stp : !llvm.ptr -> !llvm.ptr",
        "  %t32 = llvm.call @omp_get_thread_num() : () -> i32",
        "  %nt32 = llvm.call @omp_get_num_threads() : () -> i32",
        "  %t = llvm.sext %t32 : i32 to i64",
        "  %nt = llvm.sext %nt32 : i32 to i64",
        "  %one = llvm.mlir.constant(1 : i64) : i64",
        *_trip_count("%n"),
        "  %t1 = llvm.add %t, %one : i64",
        "  %b0 = llvm.call @dynamlir_shares_bound(%st, %t, %nt, %n) : (!llvm.ptr, i64, i64, i64) -> i64",
        "  %b1 = llvm.call @dynamlir_shares_bound(%st, %t1, %nt, %n) : (!llvm.ptr, i64, i64, i64) -> i64",
    ]

    def call(tag: str) -> str:
        return f"  llvm.call @{name}(%lo{tag}, %hi{tag}, %a2{rest}) : ({', '.join(arg_types)}) -> ()"

    if not (STEAL and steal):
        lines += [*_iteration_range("%b0", "%b1", ""), call(""), "  llvm.br ^done"]
    else:
        # Ranges are packed into 32 bits each, and the state has room for MAX_THREADS: bigger
        # loops and teams keep their static shares.
        lines += [
            "  %fits = llvm.mlir.constant(2147483647 : i64) : i64",
            f"  %cap = llvm.mlir.constant({MAX_THREADS} : i64) : i64",
            '  %few = llvm.icmp "slt" %n, %fits : i64',
            '  %team_fits = llvm.icmp "sle" %nt, %cap : i64',
            "  %small = llvm.and %few, %team_fits : i1",
            "  llvm.cond_br %small, ^own, ^static",
            "^static:", *_iteration_range("%b0", "%b1", ""), call(""), "  llvm.br ^done",
            "^own:",
            "  llvm.call @dynamlir_shares_own(%st, %t, %b0, %b1) : (!llvm.ptr, i64, i64, i64) -> ()",
            "  llvm.br ^next",
            "^next:",
            "  %chunk = llvm.call @dynamlir_shares_next(%st, %t, %nt) : (!llvm.ptr, i64, i64) -> i64",
            *_HALVES,
            *_unpack("%chunk", "%c0", "%c1"),
            '  %empty = llvm.icmp "eq" %c0, %c1 : i64',
            "  llvm.cond_br %empty, ^done, ^run",
            "^run:", *_iteration_range("%c0", "%c1", "_c"), call("_c"), "  llvm.br ^next",
        ]
    lines += [
        "^done:",
        "  llvm.call @dynamlir_shares_finish(%st, %t, %nt) : (!llvm.ptr, i64, i64) -> ()",
        "  llvm.return", "}",
    ]
    return "\n".join(lines)
