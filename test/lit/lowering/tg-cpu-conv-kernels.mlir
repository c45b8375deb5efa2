// RUN: env DYNAMLIR_VECTOR_BITS=512 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},tg-cpu-conv-kernels,canonicalize,cse)' | filecheck %s

// 16 output columns = one 16-lane vector per row: a tile of 4 filters x 4 output rows,
// 16 accumulators carried through the channel loop; the 3x3 taps are unrolled (9 FMA
// groups of 16 per channel), each reading the input rows in place at a column offset.
// CHECK-LABEL: func.func @direct(
// CHECK-SAME:    %[[X:.*]]: memref<2x3x10x18xf32>, %[[W:.*]]: memref<4x3x3x3xf32>)
// CHECK:         %[[OUT:.*]] = memref.alloc()
// CHECK:         linalg.fill {{.*}} outs(%[[OUT]]
// CHECK:         scf.parallel (%[[N:.*]]) =
// CHECK:           scf.for %[[OH:.*]] = %{{.*}} to %{{.*}} step %c4
// CHECK-COUNT-16:    vector.load %[[OUT]][%[[N]], {{.*}}] : memref<2x4x8x16xf32>, vector<16xf32>
// CHECK:             %{{.*}}:16 = scf.for %[[C:.*]] = %{{.*}} to %c3 step %c1 iter_args(
// CHECK:               vector.load %[[X]][%[[N]], %[[C]], %[[OH]], %c0] : memref<2x3x10x18xf32>, vector<16xf32>
// CHECK:               memref.load %[[W]][%c0, %[[C]], %c0, %c0]
// CHECK-COUNT-16:      vector.fma
// CHECK:               vector.load %[[X]][%[[N]], %[[C]], %[[OH]], %c1]
// CHECK-COUNT-128:     vector.fma
// CHECK-NOT:           vector.fma
// CHECK:               scf.yield
// CHECK-COUNT-16:    vector.store {{.*}}, %[[OUT]][%[[N]], {{.*}}] : memref<2x4x8x16xf32>, vector<16xf32>
// CHECK-NOT:     linalg.conv_2d_nchw_fchw
func.func @direct(%x: tensor<2x3x10x18xf32>, %k: tensor<4x3x3x3xf32>) -> tensor<2x4x8x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x8x16xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %k : tensor<2x3x10x18xf32>, tensor<4x3x3x3xf32>) outs(%i : tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// Strided along the width: not the kernel's (tg-cpu-conv-to-matmul's im2col takes it).
// CHECK-LABEL: func.func @strided(
// CHECK:         linalg.conv_2d_nchw_fchw
// CHECK-NOT:     vector.fma
func.func @strided(%x: tensor<2x3x10x17xf32>, %k: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x8x8xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>}
    ins(%x, %k : tensor<2x3x10x17xf32>, tensor<4x3x3x3xf32>) outs(%i : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}
