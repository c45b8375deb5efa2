// RUN: env DYNAMLIR_VECTOR_BITS=256 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-transpose-kernels)' | filecheck %s

// A transpose that moves the innermost dim becomes 8x8 tiles (8 f32 lanes): full tiles load
// 8 input rows, transpose them in registers with 3 levels of 8 two-source shuffles (the
// butterfly: level d=4 pairs rows r and r+4, then d=2, then d=1) and store 8 output rows;
// partial tiles (37 and 50 are not multiples of 8) go one element at a time.
// CHECK-LABEL: func.func @transpose_2d(
// CHECK-SAME:    %[[IN:.*]]: memref<37x50xf32>, %[[OUT:.*]]: memref<50x37xf32>)
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK:         scf.parallel (%[[A0:.*]], %[[B0:.*]]) = ({{.*}}) to ({{.*}}) step (%[[C8]], %{{.*}})
// CHECK:           %[[FULL:.*]] = arith.andi
// CHECK:           scf.if %[[FULL]] {
// CHECK:             vector.load %[[IN]][%[[B0]], %[[A0]]] : memref<37x50xf32>, vector<8xf32>
// CHECK-COUNT-7:     vector.load %[[IN]]
// CHECK:             vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// CHECK-NEXT:        vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-6:     vector.shuffle %{{.*}}, %{{.*}} [{{[0-9, ]*}}] : vector<8xf32>, vector<8xf32>
// CHECK:             vector.shuffle %{{.*}}, %{{.*}} [0, 1, 8, 9, 4, 5, 12, 13] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-7:     vector.shuffle
// CHECK:             vector.shuffle %{{.*}}, %{{.*}} [0, 8, 2, 10, 4, 12, 6, 14] : vector<8xf32>, vector<8xf32>
// CHECK-NEXT:        vector.shuffle %{{.*}}, %{{.*}} [1, 9, 3, 11, 5, 13, 7, 15] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-6:     vector.shuffle
// CHECK-NOT:         vector.shuffle
// CHECK-NOT:         vector.transpose
// CHECK:             vector.store %{{.*}}, %[[OUT]][%[[A0]], %[[B0]]] : memref<50x37xf32>, vector<8xf32>
// CHECK-COUNT-7:     vector.store
// CHECK:           } else {
// CHECK:             scf.for %[[A:.*]] = %[[A0]] to
// CHECK:               scf.for %[[B:.*]] = %[[B0]] to
// CHECK:                 %[[V:.*]] = memref.load %[[IN]][%[[B]], %[[A]]] : memref<37x50xf32>
// CHECK:                 memref.store %[[V]], %[[OUT]][%[[A]], %[[B]]] : memref<50x37xf32>
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
// CHECK:           vector.load %arg0[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x4x8xf32>, vector<8xf32>
// CHECK:           memref.load %arg0[%{{.*}}, %{{.*}}, %{{.*}}] : memref<?x4x8xf32>
// CHECK-NOT:     linalg.transpose
func.func @transpose_batched(%in: memref<?x4x8xf32>, %out: memref<?x8x4xf32>) {
  linalg.transpose ins(%in : memref<?x4x8xf32>) outs(%out : memref<?x8x4xf32>) permutation = [0, 2, 1]
  return
}

// -----

// Integers have no vector path: scalar tiles only.
// CHECK-LABEL: func.func @transpose_int(
// CHECK:         scf.parallel
// CHECK-NOT:       vector.
// CHECK:           memref.load %arg0[%{{.*}}, %{{.*}}] : memref<20x30xi64>
func.func @transpose_int(%in: memref<20x30xi64>, %out: memref<30x20xi64>) {
  linalg.transpose ins(%in : memref<20x30xi64>) outs(%out : memref<30x20xi64>) permutation = [1, 0]
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
