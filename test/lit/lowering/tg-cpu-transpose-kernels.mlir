// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-transpose-kernels)' | filecheck %s

// A transpose that moves the innermost dim becomes 16x16 tiles: a parallel loop over the
// tiles, two bounded loops inside, and one load/store per element.
// CHECK-LABEL: func.func @transpose_2d(
// CHECK-SAME:    %[[IN:.*]]: memref<37x50xf32>, %[[OUT:.*]]: memref<50x37xf32>)
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK:         scf.parallel (%[[A0:.*]], %[[B0:.*]]) = ({{.*}}) to ({{.*}}) step (%[[C16]], %{{.*}})
// CHECK:           arith.minsi
// CHECK:           scf.for %[[A:.*]] = %[[A0]] to
// CHECK:             scf.for %[[B:.*]] = %[[B0]] to
// CHECK:               %[[V:.*]] = memref.load %[[IN]][%[[B]], %[[A]]] : memref<37x50xf32>
// CHECK:               memref.store %[[V]], %[[OUT]][%[[A]], %[[B]]] : memref<50x37xf32>
// CHECK-NOT:     linalg.transpose
func.func @transpose_2d(%in: memref<37x50xf32>, %out: memref<50x37xf32>) {
  linalg.transpose ins(%in : memref<37x50xf32>) outs(%out : memref<50x37xf32>) permutation = [1, 0]
  return
}

// -----

// Batched with a dynamic batch: the batch dim is the parallel loop's first (threaded) dim.
// CHECK-LABEL: func.func @transpose_batched(
// CHECK:         %[[N:.*]] = memref.dim %arg1, %{{.*}} : memref<?x8x4xf32>
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = ({{.*}}) to (%[[N]], {{.*}})
// CHECK:           memref.load %arg0[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x4x8xf32>
// CHECK-NOT:     linalg.transpose
func.func @transpose_batched(%in: memref<?x4x8xf32>, %out: memref<?x8x4xf32>) {
  linalg.transpose ins(%in : memref<?x4x8xf32>) outs(%out : memref<?x8x4xf32>) permutation = [0, 2, 1]
  return
}

// -----

// The innermost dim stays innermost: both sides already stream, the op is left alone.
// CHECK-LABEL: func.func @keeps_inner(
// CHECK:         linalg.transpose
// CHECK-NOT:     scf.parallel
func.func @keeps_inner(%in: memref<4x6x8xf32>, %out: memref<6x4x8xf32>) {
  linalg.transpose ins(%in : memref<4x6x8xf32>) outs(%out : memref<6x4x8xf32>) permutation = [1, 0, 2]
  return
}
