// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-fuse-parallel-loops)' | filecheck %s

// A row max, then a row-wise shift: one nest over rows (the common outer dim), each loop's
// own dims kept inside in order; the accumulator's view (a unit dim added) is hoisted.
// CHECK-LABEL: func.func @rows(
// CHECK-SAME:    %[[X:.*]]: memref<4x8xf32>, %[[OUT:.*]]: memref<4x8xf32>)
// CHECK:         %[[ACC:.*]] = memref.alloc() : memref<4xf32>
// CHECK:         %[[ACC2:.*]] = memref.expand_shape %[[ACC]]
// CHECK:         scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT:      memref.store %{{.*}}, %[[ACC]][%[[I]]]
// CHECK-NEXT:      scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT:        scf.for %[[J:.*]] =
// CHECK-NEXT:          memref.load %[[X]][%[[I]], %[[J]]]
// CHECK:               memref.store %{{.*}}, %[[ACC2]][%[[I]], %{{.*}}]
// CHECK:           scf.parallel (%[[J2:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT:        memref.load %[[X]][%[[I]], %[[J2]]]
// CHECK-NEXT:        memref.load %[[ACC]][%[[I]]]
// CHECK-NEXT:        arith.subf
// CHECK-NEXT:        memref.store %{{.*}}, %[[OUT]][%[[I]], %[[J2]]]
// CHECK-NOT:     scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
func.func @rows(%x: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %ninf = arith.constant 0xFF800000 : f32
  %acc = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %ninf, %acc[%i] : memref<4xf32>
    scf.reduce
  }
  %acc2 = memref.expand_shape %acc [[0, 1]] output_shape [4, 1] : memref<4xf32> into memref<4x1xf32>
  scf.parallel (%i, %u) = (%c0, %c0) to (%c4, %c1) step (%c1, %c1) {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %x[%i, %j] : memref<4x8xf32>
      %m = memref.load %acc2[%i, %u] : memref<4x1xf32>
      %n = arith.maximumf %v, %m : f32
      memref.store %n, %acc2[%i, %u] : memref<4x1xf32>
    }
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<4x8xf32>
    %m = memref.load %acc[%i] : memref<4xf32>
    %d = arith.subf %v, %m : f32
    memref.store %d, %out[%i, %j] : memref<4x8xf32>
    scf.reduce
  }
  return
}

// -----

// The consumer reads the producer's buffer transposed (row i needs column i of every row):
// iterations depend on each other, nothing is fused.
// CHECK-LABEL: func.func @transposed_read(
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK:           memref.store
// CHECK:           scf.reduce
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK:           memref.load %{{.*}}[%[[B:.*]], %[[A:.*]]]
func.func @transposed_read(%x: memref<8x8xf32>, %out: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<8x8xf32>
    %e = math.exp %v : f32
    memref.store %e, %t[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %v = memref.load %t[%j, %i] : memref<8x8xf32>
    memref.store %v, %out[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  return
}

// -----

// A call between two nests ends the group.
// CHECK-LABEL: func.func @call_between(
// CHECK:         scf.parallel
// CHECK:         call @g
// CHECK:         scf.parallel
func.func private @g(memref<8xf32>)
func.func @call_between(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %y[%i] : memref<8xf32>
    scf.reduce
  }
  call @g(%y) : (memref<8xf32>) -> ()
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %y[%i] : memref<8xf32>
    memref.store %v, %x[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
