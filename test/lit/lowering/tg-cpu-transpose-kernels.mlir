// RUN: env DYNAMLIR_VECTOR_BITS=256 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-transpose-kernels)' | filecheck %s

// A transpose that moves the innermost dim becomes 8x8 tiles (8 f32 lanes): full tiles load
// 8 input rows, transpose them in registers with 3 levels of 8 two-source shuffles (the
// butterfly: level d=4 pairs rows r and r+4, then d=2, then d=1) and store 8 output rows;
// partial tiles (37 and 50 are not multiples of 8) go one element at a time. Threaded 2-D
// transposes call one kernel on dynamic shapes (Note [shared kernels]): both transposes
// below call @dynamlir_par_0, over the output's rows in steps of a tile.
// CHECK-LABEL: func.func @transpose_2d(
// CHECK-SAME:    %[[IN:[^:]*]]: memref<37x50xf32>, %[[OUT:[^:]*]]: memref<50x37xf32>, %[[IN2:[^:]*]]: memref<64x96xf32>, %[[OUT2:[^:]*]]: memref<96x64xf32>)
// CHECK:         %[[A:.*]] = memref.cast %[[IN]] : memref<37x50xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         %[[B:.*]] = memref.cast %[[OUT]] : memref<50x37xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         call @dynamlir_par_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[A]], %[[B]])
// CHECK:         call @dynamlir_par_0(
// CHECK-NOT:     linalg.transpose
// CHECK:       func.func private @dynamlir_par_0(%[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index, %{{[^:]*}}: index, %[[SRC:[^:]*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>, %[[DST:[^:]*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>)
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK:         scf.parallel (%[[A0:.*]], %[[B0:.*]]) = (%[[LO]], {{.*}}) to (%[[HI]], {{.*}}) step (%[[C8]], %{{.*}})
// CHECK:           %[[FULL:.*]] = arith.andi
// CHECK:           scf.if %[[FULL]] {
// CHECK:             vector.load %[[SRC]][%[[B0]], %[[A0]]] : memref<?x?xf32, strided<[?, 1], offset: ?>>, vector<8xf32>
// CHECK-COUNT-7:     vector.load %[[SRC]]
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
// CHECK:             vector.store %{{.*}}, %[[DST]][%[[A0]], %[[B0]]] : memref<?x?xf32, strided<[?, 1], offset: ?>>, vector<8xf32>
// CHECK-COUNT-7:     vector.store
// CHECK:           } else {
// CHECK:             scf.for %[[I:.*]] = %[[A0]] to
// CHECK:               scf.for %[[J:.*]] = %[[B0]] to
// CHECK:                 %[[V:.*]] = memref.load %[[SRC]][%[[J]], %[[I]]]
// CHECK:                 memref.store %[[V]], %[[DST]][%[[I]], %[[J]]]
// CHECK-NOT:   func.func private @dynamlir_par_1
func.func @transpose_2d(%in: memref<37x50xf32>, %out: memref<50x37xf32>, %in2: memref<64x96xf32>, %out2: memref<96x64xf32>) {
  linalg.transpose ins(%in : memref<37x50xf32>) outs(%out : memref<50x37xf32>) permutation = [1, 0]
  linalg.transpose ins(%in2 : memref<64x96xf32>) outs(%out2 : memref<96x64xf32>) permutation = [1, 0]
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

// Integers have no vector path: scalar tiles only (in their own shared kernel).
// CHECK-LABEL: func.func @transpose_int(
// CHECK:         call @dynamlir_par_0(
// CHECK:       func.func private @dynamlir_par_0(
// CHECK:         scf.parallel
// CHECK-NOT:       vector.
// CHECK:           memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x?xi64, strided<[?, 1], offset: ?>>
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
