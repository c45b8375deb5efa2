// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-omp-dispatch)' | filecheck %s

// A call of an outlined kernel goes to its launcher (Note [cpu parallel loops]). The
// launcher copies the kernel's per-thread weights into the team's argument struct, notes the
// cycle counter and runs the thunk on the team; afterwards, if the team had two threads or
// more and at least two iterations each, it scales each weight by the thread's finishing
// time against the mean (clamped to [0.75, 1.33]), renormalizes to a mean of 1024, clamps
// to [256, 4096] and stores the weights back (Note [balanced thread shares]).
// CHECK-LABEL: llvm.func @main(
// CHECK:         llvm.call @dynamlir_par_0_launch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, i64, !llvm.ptr) -> ()
// CHECK:       llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)
// CHECK:       llvm.func @omp_get_thread_num() -> i32
// CHECK:       llvm.func @omp_get_num_threads() -> i32
// CHECK:       llvm.mlir.global internal @dynamlir_par_0_weights(dense<1024> : tensor<64xi64>) {{.*}} : !llvm.array<64 x i64>
// CHECK-LABEL: llvm.func @dynamlir_par_0_launch(
// CHECK:         %[[S:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, i64, i64, ptr, array<64 x i64>, array<64 x i64>, i64, i64)>
// CHECK:         %[[G:.*]] = llvm.mlir.addressof @dynamlir_par_0_weights
// CHECK:         llvm.getelementptr %[[G]][0, %{{.*}}]
// CHECK:         llvm.getelementptr %[[S]][0, 4, %{{.*}}]
// CHECK:         %[[T0:.*]] = llvm.call_intrinsic "llvm.readcyclecounter"()
// CHECK:         %[[THUNK:.*]] = llvm.mlir.addressof @dynamlir_par_0_thunk
// CHECK:         llvm.call @GOMP_parallel(%[[THUNK]], %[[S]], %{{.*}}, %{{.*}})
// CHECK:         llvm.icmp "sge"
// CHECK:         llvm.icmp "sge"
// CHECK:         llvm.sub %{{.*}}, %[[T0]]
// CHECK:         llvm.mlir.constant(7.500000e-01 : f64)
// CHECK:         llvm.mlir.constant(1.330000e+00 : f64)
// CHECK:         llvm.intr.maxnum
// CHECK:         llvm.intr.minnum
// CHECK:         llvm.mlir.constant(2.560000e+02 : f64)
// CHECK:         llvm.mlir.constant(4.096000e+03 : f64)
// CHECK:         llvm.getelementptr %[[G]][0, %{{.*}}]
// CHECK-NEXT:    llvm.store
// The thunk: thread t of nt takes [n * W(<t) / W, n * W(<=t) / W) of the n iterations
// (equal shares for teams over 64 threads), runs the kernel and records when it finished;
// thread 0 records the team's size.
// CHECK-LABEL: llvm.func @dynamlir_par_0_thunk(
// CHECK:         llvm.call @omp_get_thread_num()
// CHECK:         llvm.call @omp_get_num_threads()
// CHECK:         llvm.icmp "sle" %{{.*}}, %{{.*}} : i64
// CHECK:         llvm.select
// CHECK:         llvm.sdiv
// CHECK:         llvm.sdiv
// CHECK:         llvm.intr.smin
// CHECK:         llvm.call @dynamlir_par_0(
// CHECK:         llvm.call_intrinsic "llvm.readcyclecounter"()
// CHECK:         llvm.getelementptr %{{.*}}[0, 5, %{{.*}}]
// CHECK:         llvm.getelementptr %{{.*}}[0, 6]
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
