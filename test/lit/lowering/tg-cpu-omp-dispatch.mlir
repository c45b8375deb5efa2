// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-omp-dispatch)' | filecheck %s

// A call of an outlined kernel goes to its launcher (Note [cpu parallel loops]): the
// launcher stores the arguments and a pointer to the call's share state in a struct,
// copies the kernel's weights into the state (dynamlir_shares_prepare), runs the thunk on
// the team and updates the weights from the threads' finishing times (Note [balanced
// thread shares]). The thunk runs the kernel on [bound(t), bound(t + 1)) and records when
// it finished. The arithmetic is in four functions emitted once per module. The kernel
// itself is kept out of its thunk (Note [kernels called, not inlined]).
// CHECK:       llvm.func @dynamlir_par_0({{.*}}) attributes {passthrough = ["noinline"]}
// CHECK-LABEL: llvm.func @main(
// CHECK:         llvm.call @dynamlir_par_0_launch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, i64, !llvm.ptr) -> ()
// CHECK:       llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)
// CHECK:       llvm.func @omp_get_thread_num() -> i32
// CHECK:       llvm.func @omp_get_num_threads() -> i32
// CHECK:       llvm.mlir.global internal @dynamlir_par_0_weights(dense<1024> : tensor<64xi64>) {{.*}} : !llvm.array<64 x i64>
// CHECK-LABEL: llvm.func @dynamlir_par_0_launch(
// CHECK:         %[[S:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, i64, i64, ptr, ptr)>
// CHECK:         %[[ST:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(array<64 x i64>, array<64 x i64>, i64, i64, array<64 x i64>, array<64 x i64>, array<64 x i64>, array<64 x i64>)>
// CHECK:         %[[G:.*]] = llvm.mlir.addressof @dynamlir_par_0_weights
// CHECK-NEXT:    llvm.call @dynamlir_shares_prepare(%[[ST]], %[[G]])
// CHECK-NEXT:    %[[THUNK:.*]] = llvm.mlir.addressof @dynamlir_par_0_thunk
// CHECK:         llvm.call @GOMP_parallel(%[[THUNK]], %[[S]], %{{.*}}, %{{.*}})
// CHECK:         %[[N:.*]] = llvm.sdiv
// CHECK-NEXT:    llvm.call @dynamlir_shares_update(%[[ST]], %[[G]], %[[N]])
// CHECK-LABEL: llvm.func @dynamlir_par_0_thunk(
// CHECK:         %[[T:.*]] = llvm.sext
// CHECK:         %[[NT:.*]] = llvm.sext
// CHECK:         %[[B0:.*]] = llvm.call @dynamlir_shares_bound(%{{.*}}, %[[T]], %[[NT]], %{{.*}})
// CHECK:         %[[B1:.*]] = llvm.call @dynamlir_shares_bound(
// Loops of 2^31 iterations or more and teams over 64 threads run their shares as they are;
// the others publish them and take chunks (Note [stolen tails]).
// CHECK:         llvm.cond_br %{{.*}}, ^[[OWN:.*]], ^[[STATIC:[^ ]*]]
// CHECK:       ^[[STATIC]]:
// CHECK:         llvm.intr.smin
// CHECK-NEXT:    llvm.call @dynamlir_par_0(
// CHECK-NEXT:    llvm.br ^[[DONE:.*]]
// CHECK:       ^[[OWN]]:
// CHECK-NEXT:    llvm.call @dynamlir_shares_own(%{{.*}}, %[[T]], %[[B0]], %[[B1]])
// CHECK-NEXT:    llvm.br ^[[NEXT:.*]]
// CHECK:       ^[[NEXT]]:
// CHECK-NEXT:    %[[CHUNK:.*]] = llvm.call @dynamlir_shares_next(%{{.*}}, %[[T]], %[[NT]])
// CHECK:         %[[C0:.*]] = llvm.lshr %[[CHUNK]]
// CHECK-NEXT:    %[[C1:.*]] = llvm.and %[[CHUNK]]
// CHECK-NEXT:    %[[EMPTY:.*]] = llvm.icmp "eq" %[[C0]], %[[C1]]
// CHECK-NEXT:    llvm.cond_br %[[EMPTY]], ^[[DONE]], ^[[WORK:.*]]
// CHECK:       ^[[WORK]]:
// CHECK:         llvm.call @dynamlir_par_0(
// CHECK-NEXT:    llvm.br ^[[NEXT]]
// CHECK:       ^[[DONE]]:
// CHECK-NEXT:    llvm.call @dynamlir_shares_finish(%{{.*}}, %[[T]], %[[NT]])
// prepare copies the 64 weights, clears the team size and notes the cycle counter.
// CHECK-LABEL: llvm.func @dynamlir_shares_prepare(
// CHECK:         llvm.call_intrinsic "llvm.readcyclecounter"()
// bound: n * W(<t) / W over the copied weights; equal shares for teams over 64 threads.
// CHECK-LABEL: llvm.func @dynamlir_shares_bound(
// CHECK:         llvm.icmp "sle"
// CHECK:         llvm.select
// CHECK:         llvm.mul
// CHECK-NEXT:    llvm.sdiv
// CHECK:         llvm.sdiv
// finish: the thread's finishing time; thread 0 also stores the team's size.
// CHECK-LABEL: llvm.func @dynamlir_shares_finish(
// CHECK:         llvm.call_intrinsic "llvm.readcyclecounter"()
// update: only for teams of two or more with two iterations per thread; each weight
// scaled by its thread's finishing time against the mean (clamped to [0.75, 1.33]),
// renormalized to a mean of 1024 and clamped to [256, 4096].
// CHECK-LABEL: llvm.func @dynamlir_shares_update(
// CHECK:         llvm.icmp "sge"
// CHECK:         llvm.icmp "sge"
// CHECK:         llvm.mlir.constant(7.500000e-01 : f64)
// CHECK:         llvm.mlir.constant(1.330000e+00 : f64)
// CHECK:         llvm.intr.maxnum
// CHECK:         llvm.intr.minnum
// CHECK:         llvm.mlir.constant(2.560000e+02 : f64)
// CHECK:         llvm.mlir.constant(4.096000e+03 : f64)
// CHECK:         llvm.fptosi
// CHECK-NEXT:    llvm.getelementptr
// CHECK-NEXT:    llvm.store
// own: the thread's range published as first << 32 | end, with a release store.
// CHECK-LABEL: llvm.func @dynamlir_shares_own(
// CHECK:         llvm.shl
// CHECK-NEXT:    llvm.or
// CHECK-NEXT:    llvm.getelementptr
// CHECK-NEXT:    llvm.store %{{.*}} atomic release
// next: a compare-and-swap on the thread's own range, then on the others'.
// CHECK-LABEL: llvm.func @dynamlir_shares_next(
// CHECK:         llvm.load %{{.*}} atomic acquire
// CHECK:         llvm.cmpxchg %{{.*}} acq_rel acquire
// CHECK:         llvm.load %{{.*}} atomic acquire
// CHECK:         llvm.cmpxchg %{{.*}} acq_rel acquire
llvm.func @dynamlir_par_0(%lo: i64, %hi: i64, %step: i64, %p: !llvm.ptr) {
  llvm.return
}
llvm.func @main(%p: !llvm.ptr) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %c96 = llvm.mlir.constant(96 : i64) : i64
  llvm.call @dynamlir_par_0(%c0, %c96, %c1, %p) : (i64, i64, i64, !llvm.ptr) -> ()
  llvm.return
}

// -----

// A module that declares an OpenMP function itself (a kernel asking for its thread) keeps
// that declaration; the launchers use it.
// CHECK-LABEL: llvm.func @omp_get_thread_num() -> i32
// CHECK-NOT:   llvm.func @omp_get_thread_num()
// CHECK:       llvm.func @dynamlir_par_3_launch(
// CHECK:       llvm.func @dynamlir_par_3_thunk(
// CHECK:         llvm.call @omp_get_thread_num()
// CHECK-COUNT-1: llvm.func @dynamlir_shares_update(
llvm.func @omp_get_thread_num() -> i32
llvm.func @dynamlir_par_3(%lo: i64, %hi: i64, %step: i64) {
  %t = llvm.call @omp_get_thread_num() : () -> i32
  llvm.return
}
llvm.func @main() {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %c8 = llvm.mlir.constant(8 : i64) : i64
  llvm.call @dynamlir_par_3(%c0, %c8, %c1) : (i64, i64, i64) -> ()
  llvm.return
}

// -----

// A module dispatched before (it has a launcher and the share functions) gets a launcher
// for a new call that uses the share functions it has: they are not defined twice.
// CHECK-LABEL: llvm.func @dynamlir_par_5(
// CHECK:       llvm.func @dynamlir_par_5_launch(
// CHECK:         llvm.call @dynamlir_shares_prepare(
// CHECK:       llvm.func @dynamlir_par_5_thunk(
// CHECK:         llvm.call @dynamlir_shares_bound(
// CHECK-NOT:   llvm.func @dynamlir_shares_prepare(
llvm.func @dynamlir_shares_prepare(%st: !llvm.ptr, %g: !llvm.ptr) {
  llvm.return
}
llvm.func @dynamlir_shares_bound(%st: !llvm.ptr, %t: i64, %nt: i64, %n: i64) -> i64 {
  llvm.return %n : i64
}
llvm.func @dynamlir_shares_finish(%st: !llvm.ptr, %t: i64, %nt: i64) {
  llvm.return
}
llvm.func @dynamlir_shares_update(%st: !llvm.ptr, %g: !llvm.ptr, %n: i64) {
  llvm.return
}
llvm.func @dynamlir_shares_own(%st: !llvm.ptr, %t: i64, %b0: i64, %b1: i64) {
  llvm.return
}
llvm.func @dynamlir_shares_next(%st: !llvm.ptr, %t: i64, %nt: i64) -> i64 {
  %z = llvm.mlir.constant(0 : i64) : i64
  llvm.return %z : i64
}
llvm.func @dynamlir_par_5(%lo: i64, %hi: i64, %step: i64) {
  llvm.return
}
llvm.func @main() {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %c8 = llvm.mlir.constant(8 : i64) : i64
  llvm.call @dynamlir_par_5(%c0, %c8, %c1) : (i64, i64, i64) -> ()
  llvm.return
}

// -----

// A kernel that must run each thread's share in one call (a row-split matmul packs all of
// B per call) is marked dynamlir.whole_shares: its thunk takes no chunks.
// CHECK-LABEL: llvm.func @dynamlir_par_7_thunk(
// CHECK-NOT:     llvm.call @dynamlir_shares_own
// CHECK:         llvm.call @dynamlir_par_7(
// CHECK-NOT:     llvm.call @dynamlir_shares_next
// CHECK:         llvm.call @dynamlir_shares_finish(
// CHECK-NEXT:    llvm.return
llvm.func @dynamlir_par_7(%lo: i64, %hi: i64, %step: i64) attributes {dynamlir.whole_shares} {
  llvm.return
}
llvm.func @main() {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %c8 = llvm.mlir.constant(8 : i64) : i64
  llvm.call @dynamlir_par_7(%c0, %c8, %c1) : (i64, i64, i64) -> ()
  llvm.return
}
