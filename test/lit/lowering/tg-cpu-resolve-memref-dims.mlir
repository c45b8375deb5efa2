// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-resolve-memref-dims)' | filecheck %s

// Note [loop bounds of dynamic shapes]: the two nests' row bounds, dims of two buffers
// (one allocated with the argument's rows, one a collapse of an expand of it), become the
// same value: the argument's dim, asked once at the top.
// CHECK-LABEL: func.func @bounds(
// CHECK-SAME:    %[[X:.*]]: memref<?x8xf32>)
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[ROWS:.*]] = memref.dim %[[X]], %[[C0]] : memref<?x8xf32>
// CHECK:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[ROWS]])
// CHECK:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[ROWS]])
// CHECK-NOT:     memref.dim
func.func @bounds(%x: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %a = memref.alloc(%n) : memref<?x8xf32>
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [%n, 1, 8] : memref<?x8xf32> into memref<?x1x8xf32>
  %b = memref.collapse_shape %e [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  %n1 = memref.dim %a, %c0 : memref<?x8xf32>
  scf.parallel (%i) = (%c0) to (%n1) step (%c1) {
    scf.reduce
  }
  %n2 = memref.dim %b, %c0 : memref<?x8xf32>
  scf.parallel (%i) = (%c0) to (%n2) step (%c1) {
    scf.reduce
  }
  memref.dealloc %a : memref<?x8xf32>
  return
}

// -----

// A function with static arguments is left as it is.
// CHECK-LABEL: func.func @static_args(
// CHECK:         %[[A:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:         memref.dim %[[A]]
func.func @static_args(%x: memref<4xf32>, %n: index) -> index {
  %c0 = arith.constant 0 : index
  %a = memref.alloc(%n) : memref<?xf32>
  %d = memref.dim %a, %c0 : memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  return %d : index
}
