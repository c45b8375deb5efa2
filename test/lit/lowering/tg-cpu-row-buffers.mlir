// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-row-buffers)' | filecheck %s
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-row-buffers,tg-cpu-hoist-row-buffers)' | filecheck %s --check-prefix=HOIST

// Note [row-local buffers]: a temporary (%t) and a row statistic (%s, also read through a
// unit-dim view) that only this nest uses, each iteration at its own (b, i), become stack
// slices of one iteration; their allocs and deallocs go. A vector access keeps its lanes.
// tg-cpu-hoist-row-buffers then moves the slices to the start of the function.
// CHECK-LABEL: func.func @rows(
// CHECK-NOT:     memref.alloc(
// CHECK:         scf.parallel (%[[B:.*]], %[[I:.*]]) =
// CHECK-NEXT:      %[[S:.*]] = memref.alloca() {alignment = 64 : i64, dynamlir.row_buffer} : memref<1xf32>
// CHECK-NEXT:      %[[T:.*]] = memref.alloca() {alignment = 64 : i64, dynamlir.row_buffer} : memref<16xf32>
// CHECK:           memref.store %{{.*}}, %[[S]][%{{.*}}] : memref<1xf32>
// CHECK:           scf.for %[[J:.*]] =
// CHECK:             memref.store %{{.*}}, %[[T]][%[[J]]] : memref<16xf32>
// CHECK:           vector.load %[[T]][%{{.*}}] : memref<16xf32>, vector<16xf32>
// CHECK:           memref.load %[[S]][%{{.*}}] : memref<1xf32>
// CHECK:           vector.store %{{.*}}, %arg1[%[[B]], %[[I]], %{{.*}}] : memref<4x8x16xf32>, vector<16xf32>
// CHECK-NOT:     memref.dealloc
// HOIST-LABEL: func.func @rows(
// HOIST-NEXT:    memref.alloca() {alignment = 64 : i64, dynamlir.row_buffer} : memref<1xf32>
// HOIST-NEXT:    memref.alloca() {alignment = 64 : i64, dynamlir.row_buffer} : memref<16xf32>
// HOIST:         scf.parallel
// HOIST-NOT:     memref.alloca
func.func @rows(%x: memref<4x8x16xf32>, %y: memref<4x8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() {alignment = 64 : i64} : memref<4x8x16xf32>
  %s = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
  %sv = memref.expand_shape %s [[0], [1, 2]] output_shape [4, 8, 1] : memref<4x8xf32> into memref<4x8x1xf32>
  scf.parallel (%b, %i) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    memref.store %zero, %sv[%b, %i, %c0] : memref<4x8x1xf32>
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %x[%b, %i, %j] : memref<4x8x16xf32>
      %e = math.exp %v : f32
      memref.store %e, %t[%b, %i, %j] : memref<4x8x16xf32>
      %a = memref.load %sv[%b, %i, %c0] : memref<4x8x1xf32>
      %n = arith.addf %a, %e : f32
      memref.store %n, %sv[%b, %i, %c0] : memref<4x8x1xf32>
    }
    scf.parallel (%j) = (%c0) to (%c16) step (%c16) {
      %e = vector.load %t[%b, %i, %j] : memref<4x8x16xf32>, vector<16xf32>
      %sum = memref.load %s[%b, %i] : memref<4x8xf32>
      %sb = vector.broadcast %sum : f32 to vector<16xf32>
      %q = arith.divf %e, %sb : vector<16xf32>
      vector.store %q, %y[%b, %i, %j] : memref<4x8x16xf32>, vector<16xf32>
      scf.reduce
    }
    scf.reduce
  }
  memref.dealloc %t : memref<4x8x16xf32>
  memref.dealloc %s : memref<4x8xf32>
  return
}

// -----

// %t is read after the nest: it stays a whole buffer.
// CHECK-LABEL: func.func @read_later(
// CHECK:         %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x16xf32>
// CHECK-NOT:     memref.alloca
// CHECK:         memref.dealloc %[[T]]
func.func @read_later(%x: memref<4x16xf32>, %y: memref<4x16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %t = memref.alloc() {alignment = 64 : i64} : memref<4x16xf32>
  scf.parallel (%b) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %x[%b, %j] : memref<4x16xf32>
      memref.store %v, %t[%b, %j] : memref<4x16xf32>
    }
    scf.reduce
  }
  %r = memref.load %t[%c1, %c1] : memref<4x16xf32>
  memref.dealloc %t : memref<4x16xf32>
  return %r : f32
}

// -----

// Every iteration reads row 0 of %t: not its own slice, so %t stays.
// CHECK-LABEL: func.func @other_row(
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<4x16xf32>
// CHECK-NOT:     memref.alloca
func.func @other_row(%x: memref<4x16xf32>, %y: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %t = memref.alloc() {alignment = 64 : i64} : memref<4x16xf32>
  scf.parallel (%b) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %x[%b, %j] : memref<4x16xf32>
      memref.store %v, %t[%b, %j] : memref<4x16xf32>
      %w = memref.load %t[%c0, %j] : memref<4x16xf32>
      memref.store %w, %y[%b, %j] : memref<4x16xf32>
    }
    scf.reduce
  }
  memref.dealloc %t : memref<4x16xf32>
  return
}
