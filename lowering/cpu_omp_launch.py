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
are copied into the call's argument struct before the team starts, so every thread of
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
"""

from __future__ import annotations

MAX_THREADS = 64  # weights kept per launcher; bigger teams take equal shares
EQUAL = 1024  # a thread's weight for an equal share
# Update the weights from measured finishing times; off, every share stays equal.
BALANCE = True

RUNTIME_DECLS = {
    "GOMP_parallel": "llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)",
    "omp_get_thread_num": "llvm.func @omp_get_thread_num() -> i32",
    "omp_get_num_threads": "llvm.func @omp_get_num_threads() -> i32",
}

_TSC = 'llvm.call_intrinsic "llvm.readcyclecounter"() : () -> i64'


class _Text:
    """LLVM-dialect lines with the struct's field addresses spelled once."""

    def __init__(self, struct: str):
        self.struct = struct
        self.lines: list[str] = []

    def __call__(self, *lines: str) -> None:
        self.lines.extend(lines)

    def field(self, out: str, index: int | str, element: str | None = None) -> None:
        if element is None:
            self(f"  {out} = llvm.getelementptr %s[0, {index}] : (!llvm.ptr) -> !llvm.ptr, {self.struct}")
        else:
            self(f"  {out} = llvm.getelementptr %s[0, {index}, {element}] : (!llvm.ptr, i64) -> !llvm.ptr, "
                 f"{self.struct}")

    def trip_count(self, out: str) -> None:
        """Iterations of [%a0, %a1) step %a2."""
        self(f"  {out}_span = llvm.sub %a1, %a0 : i64",
             f"  {out}_up = llvm.add {out}_span, %a2 : i64",
             f"  {out}_up1 = llvm.sub {out}_up, %one : i64",
             f"  {out} = llvm.sdiv {out}_up1, %a2 : i64")


def launcher_text(name: str, arg_types: list[str]) -> str:
    """@<name>_launch(args) runs @<name>(lo, hi, step, rest) on the team, and its thunk and
    weights (Note [balanced thread shares])."""
    k = len(arg_types)
    weights, ends, team, start = k, k + 1, k + 2, k + 3  # struct fields after the arguments
    array = f"!llvm.array<{MAX_THREADS} x i64>"
    struct = f"!llvm.struct<({', '.join(arg_types)}, {array}, {array}, i64, i64)>"
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(arg_types))
    g = f"@{name}_weights"
    t = _Text(struct)
    t(f"llvm.mlir.global internal {g}(dense<{EQUAL}> : tensor<{MAX_THREADS}xi64>) "
      f"{{addr_space = 0 : i32}} : {array}")

    # The launcher: arguments and a copy of the weights into the struct, the team, then
    # the weights' update from the finishing times.
    t(f"llvm.func @{name}_launch({params}) {{",
      "  %one = llvm.mlir.constant(1 : i64) : i64",
      "  %zero = llvm.mlir.constant(0 : i64) : i64",
      "  %two = llvm.mlir.constant(2 : i64) : i64",
      f"  %cap = llvm.mlir.constant({MAX_THREADS} : i64) : i64",
      f"  %s = llvm.alloca %one x {struct} : (i64) -> !llvm.ptr")
    for i, ty in enumerate(arg_types):
        t.field(f"%p{i}", i)
        t(f"  llvm.store %a{i}, %p{i} : {ty}, !llvm.ptr")
    t.field("%team_p", team)
    t("  llvm.store %zero, %team_p : i64, !llvm.ptr",
      f"  %g = llvm.mlir.addressof {g} : !llvm.ptr",
      "  llvm.br ^copy(%zero : i64)",
      "^copy(%cu: i64):",
      "  %cmore = llvm.icmp \"slt\" %cu, %cap : i64",
      "  llvm.cond_br %cmore, ^copy_body, ^launch",
      "^copy_body:",
      f"  %cg = llvm.getelementptr %g[0, %cu] : (!llvm.ptr, i64) -> !llvm.ptr, {array}",
      "  %cw = llvm.load %cg : !llvm.ptr -> i64")
    t.field("%cs", weights, "%cu")
    t("  llvm.store %cw, %cs : i64, !llvm.ptr",
      "  %cu1 = llvm.add %cu, %one : i64",
      "  llvm.br ^copy(%cu1 : i64)",
      "^launch:",
      f"  %t0 = {_TSC}")
    t.field("%start_p", start)
    t("  llvm.store %t0, %start_p : i64, !llvm.ptr",
      f"  %f = llvm.mlir.addressof @{name}_thunk : !llvm.ptr",
      "  %z32 = llvm.mlir.constant(0 : i32) : i32",
      "  llvm.call @GOMP_parallel(%f, %s, %z32, %z32) : (!llvm.ptr, !llvm.ptr, i32, i32) -> ()",
      "  %nt = llvm.load %team_p : !llvm.ptr -> i64")
    t.trip_count("%n")
    t("  %nt2 = llvm.mul %nt, %two : i64",
      "  %several = llvm.icmp \"sge\" %nt, %two : i64",
      "  %enough = llvm.icmp \"sge\" %n, %nt2 : i64",
      "  %update = llvm.and %several, %enough : i1" if BALANCE else
      "  %update = llvm.mlir.constant(false) : i1",
      "  %fzero = llvm.mlir.constant(0.0 : f64) : f64",
      "  llvm.cond_br %update, ^mean(%zero, %fzero : i64, f64), ^done",
      # The mean finishing time, from the common start.
      "^mean(%mu: i64, %macc: f64):",
      "  %mmore = llvm.icmp \"slt\" %mu, %nt : i64",
      "  llvm.cond_br %mmore, ^mean_body, ^mean_done",
      "^mean_body:")
    t.field("%me_p", ends, "%mu")
    t("  %me = llvm.load %me_p : !llvm.ptr -> i64",
      "  %mel = llvm.sub %me, %t0 : i64",
      "  %mef = llvm.sitofp %mel : i64 to f64",
      "  %macc1 = llvm.fadd %macc, %mef : f64",
      "  %mu1 = llvm.add %mu, %one : i64",
      "  llvm.br ^mean(%mu1, %macc1 : i64, f64)",
      "^mean_done:",
      "  %ntf = llvm.sitofp %nt : i64 to f64",
      "  %mean = llvm.fdiv %macc, %ntf : f64",
      "  %half = llvm.mlir.constant(0.5 : f64) : f64",
      "  %fone = llvm.mlir.constant(1.0 : f64) : f64",
      "  %lowest = llvm.mlir.constant(0.75 : f64) : f64",
      "  %highest = llvm.mlir.constant(1.33 : f64) : f64",
      "  llvm.br ^scale(%zero, %fzero : i64, f64)",
      # Each weight scaled by how early its thread finished; the sum for renormalizing.
      "^scale(%su: i64, %ssum: f64):",
      "  %smore = llvm.icmp \"slt\" %su, %nt : i64",
      "  llvm.cond_br %smore, ^scale_body, ^norm_start",
      "^scale_body:")
    t.field("%se_p", ends, "%su")
    t("  %se = llvm.load %se_p : !llvm.ptr -> i64",
      "  %sel = llvm.sub %se, %t0 : i64",
      "  %sef = llvm.sitofp %sel : i64 to f64",
      "  %sd = llvm.fsub %mean, %sef : f64",
      "  %sdr = llvm.fdiv %sd, %mean : f64",
      "  %sdh = llvm.fmul %sdr, %half : f64",
      "  %sf = llvm.fadd %fone, %sdh : f64",
      "  %sf1 = llvm.intr.maxnum(%sf, %lowest) : (f64, f64) -> f64",
      "  %sf2 = llvm.intr.minnum(%sf1, %highest) : (f64, f64) -> f64")
    t.field("%sw_p", weights, "%su")
    t("  %sw = llvm.load %sw_p : !llvm.ptr -> i64",
      "  %swf = llvm.sitofp %sw : i64 to f64",
      "  %snw = llvm.fmul %swf, %sf2 : f64",
      "  %snwi = llvm.fptosi %snw : f64 to i64",
      "  llvm.store %snwi, %sw_p : i64, !llvm.ptr",
      "  %ssum1 = llvm.fadd %ssum, %snw : f64",
      "  %su1 = llvm.add %su, %one : i64",
      "  llvm.br ^scale(%su1, %ssum1 : i64, f64)",
      "^norm_start:",
      f"  %equal = llvm.mlir.constant({float(EQUAL)} : f64) : f64",
      f"  %wmin = llvm.mlir.constant({float(EQUAL // 4)} : f64) : f64",
      f"  %wmax = llvm.mlir.constant({float(EQUAL * 4)} : f64) : f64",
      "  %total = llvm.fmul %equal, %ntf : f64",
      "  %norm = llvm.fdiv %total, %ssum : f64",
      "  llvm.br ^norm(%zero : i64)",
      # Renormalized to a mean of EQUAL, clamped, and stored back.
      "^norm(%nu: i64):",
      "  %nmore = llvm.icmp \"slt\" %nu, %nt : i64",
      "  llvm.cond_br %nmore, ^norm_body, ^done",
      "^norm_body:")
    t.field("%nw_p", weights, "%nu")
    t("  %nw = llvm.load %nw_p : !llvm.ptr -> i64",
      "  %nwf = llvm.sitofp %nw : i64 to f64",
      "  %nwn = llvm.fmul %nwf, %norm : f64",
      "  %nw1 = llvm.intr.maxnum(%nwn, %wmin) : (f64, f64) -> f64",
      "  %nw2 = llvm.intr.minnum(%nw1, %wmax) : (f64, f64) -> f64",
      "  %nwi = llvm.fptosi %nw2 : f64 to i64",
      f"  %ng = llvm.getelementptr %g[0, %nu] : (!llvm.ptr, i64) -> !llvm.ptr, {array}",
      "  llvm.store %nwi, %ng : i64, !llvm.ptr",
      "  %nu1 = llvm.add %nu, %one : i64",
      "  llvm.br ^norm(%nu1 : i64)",
      "^done:",
      "  llvm.return",
      "}")

    # The thunk: thread t of nt runs iterations [n * W(<t) / W, n * W(<=t) / W) of the n,
    # W(...) summing the copied weights, then records when it finished.
    t(f"llvm.func @{name}_thunk(%s: !llvm.ptr) {{")
    for i, ty in enumerate(arg_types):
        t.field(f"%p{i}", i)
        t(f"  %a{i} = llvm.load %p{i} : !llvm.ptr -> {ty}")
    t("  %t32 = llvm.call @omp_get_thread_num() : () -> i32",
      "  %nt32 = llvm.call @omp_get_num_threads() : () -> i32",
      "  %t = llvm.sext %t32 : i32 to i64",
      "  %nt = llvm.sext %nt32 : i32 to i64",
      "  %one = llvm.mlir.constant(1 : i64) : i64",
      "  %zero = llvm.mlir.constant(0 : i64) : i64",
      f"  %cap = llvm.mlir.constant({MAX_THREADS} : i64) : i64")
    t.trip_count("%n")
    t("  %weighted = llvm.icmp \"sle\" %nt, %cap : i64",
      "  llvm.cond_br %weighted, ^sum(%zero, %zero, %zero : i64, i64, i64), ^equal",
      "^sum(%u: i64, %tot: i64, %before: i64):",
      "  %more = llvm.icmp \"slt\" %u, %nt : i64",
      "  llvm.cond_br %more, ^sum_body, ^weighted_bounds",
      "^sum_body:")
    t.field("%w_p", weights, "%u")
    t("  %w = llvm.load %w_p : !llvm.ptr -> i64",
      "  %tot1 = llvm.add %tot, %w : i64",
      "  %earlier = llvm.icmp \"slt\" %u, %t : i64",
      "  %wb = llvm.select %earlier, %w, %zero : i1, i64",
      "  %before1 = llvm.add %before, %wb : i64",
      "  %u1 = llvm.add %u, %one : i64",
      "  llvm.br ^sum(%u1, %tot1, %before1 : i64, i64, i64)",
      "^weighted_bounds:")
    t.field("%own_p", weights, "%t")
    t("  %own = llvm.load %own_p : !llvm.ptr -> i64",
      "  %upto = llvm.add %before, %own : i64",
      "  %wb0m = llvm.mul %n, %before : i64",
      "  %wb0 = llvm.sdiv %wb0m, %tot : i64",
      "  %wb1m = llvm.mul %n, %upto : i64",
      "  %wb1 = llvm.sdiv %wb1m, %tot : i64",
      "  llvm.br ^run(%wb0, %wb1 : i64, i64)",
      "^equal:",
      "  %t1 = llvm.add %t, %one : i64",
      "  %eb0m = llvm.mul %t, %n : i64",
      "  %eb0 = llvm.sdiv %eb0m, %nt : i64",
      "  %eb1m = llvm.mul %t1, %n : i64",
      "  %eb1 = llvm.sdiv %eb1m, %nt : i64",
      "  llvm.br ^run(%eb0, %eb1 : i64, i64)",
      "^run(%b0: i64, %b1: i64):",
      "  %o0 = llvm.mul %b0, %a2 : i64",
      "  %o1 = llvm.mul %b1, %a2 : i64",
      "  %lo = llvm.add %a0, %o0 : i64",
      "  %hi0 = llvm.add %a0, %o1 : i64",
      "  %hi = llvm.intr.smin(%hi0, %a1) : (i64, i64) -> i64")
    rest = "".join(f", %a{i}" for i in range(3, k))
    t(f"  llvm.call @{name}(%lo, %hi, %a2{rest}) : ({', '.join(arg_types)}) -> ()",
      "  llvm.cond_br %weighted, ^record, ^done",
      "^record:",
      f"  %end = {_TSC}")
    t.field("%end_p", ends, "%t")
    t("  llvm.store %end, %end_p : i64, !llvm.ptr",
      "  %first = llvm.icmp \"eq\" %t, %zero : i64",
      "  llvm.cond_br %first, ^record_team, ^done",
      "^record_team:")
    t.field("%team_p", team)
    t("  llvm.store %nt, %team_p : i64, !llvm.ptr",
      "  llvm.br ^done",
      "^done:",
      "  llvm.return",
      "}")
    return "\n".join(t.lines)
