// RUN: env DYNAMLIR_VECTOR_BITS=512 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-conv-to-matmul,canonicalize,cse)' | filecheck %s

// Strided along the width: im2col copy [N, C*KH*KW, OH*OW] (affine window map), then a
// batch_matmul with the weight [F, C*KH*KW] broadcast over images; NCHW by reshape only.
// CHECK-DAG:   #[[WIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4, d5 * 2 + d3)>
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-LABEL: func.func @strided(
// CHECK:         %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[WIN]], {{.*}} ins(%arg0 : {{.*}}) outs(%{{.*}} : tensor<2x3x3x3x8x8xf32>)
// CHECK:         %[[C3:.*]] = tensor.collapse_shape %[[COLS]] {{\[\[}}0], [1, 2, 3], [4, 5]] {{.*}} into tensor<2x27x64xf32>
// CHECK:         %[[W2:.*]] = tensor.collapse_shape %arg1 {{\[\[}}0], [1, 2, 3]] {{.*}} into tensor<4x27xf32>
// CHECK:         %[[MM:.*]] = linalg.batch_matmul indexing_maps = [#[[A]], #[[B]], {{.*}}] ins(%[[W2]], %[[C3]] :
// CHECK:         tensor.expand_shape %[[MM]] {{\[\[}}0], [1], [2, 3]] {{.*}} into tensor<2x4x8x8xf32>
// CHECK-NOT:     linalg.conv_2d_nchw_fchw
func.func @strided(%x: tensor<2x3x10x17xf32>, %k: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x8x8xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>}
    ins(%x, %k : tensor<2x3x10x17xf32>, tensor<4x3x3x3xf32>) outs(%i : tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %0 : tensor<2x4x8x8xf32>
}

// -----

// A 3x3 output with K = 144 whole vectors: columns [N, OH*OW, C*KH*KW], rows contiguous
// along the sum (the dot kernel's form).
// CHECK-DAG:   #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-LABEL: func.func @narrow(
// CHECK:         tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3, 4, 5]] {{.*}} into tensor<2x9x144xf32>
// CHECK:         linalg.batch_matmul indexing_maps = [#{{.*}}, #[[B]], #{{.*}}] {{.*}} outs(%{{.*}} : tensor<2x6x9xf32>)
func.func @narrow(%x: tensor<2x16x5x5xf32>, %k: tensor<6x16x3x3xf32>) -> tensor<2x6x3x3xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x6x3x3xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<2x6x3x3xf32>) -> tensor<2x6x3x3xf32>
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %k : tensor<2x16x5x5xf32>, tensor<6x16x3x3xf32>) outs(%i : tensor<2x6x3x3xf32>) -> tensor<2x6x3x3xf32>
  return %0 : tensor<2x6x3x3xf32>
}

// -----

// Unit width stride and 16 output columns: left for tg-cpu-conv-kernels.
// CHECK-LABEL: func.func @direct(
// CHECK:         linalg.conv_2d_nchw_fchw
// CHECK-NOT:     linalg.batch_matmul
func.func @direct(%x: tensor<2x3x10x18xf32>, %k: tensor<4x3x3x3xf32>) -> tensor<2x4x8x16xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x8x16xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %k : tensor<2x3x10x18xf32>, tensor<4x3x3x3xf32>) outs(%i : tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// vjp_nn.py's weight gradient, conv(pad(x^T), g^T): seen through the transposes, one
// matmul per image of g[n] (F x OH*OW) and the columns of x[n], summed over images, then
// F x C x KH x KW transposed to the convolution's C x F x KH x KW.
// CHECK-DAG:   #[[WIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d4, d2 + d5)>
// CHECK-LABEL: func.func @weight_grad(
// CHECK-NOT:     linalg.transpose ins(%arg
// CHECK:         %[[XP:.*]] = tensor.insert_slice %arg0 into %{{.*}}[0, 0, 1, 1] [4, 3, 6, 6] [1, 1, 1, 1]
// CHECK:         %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[WIN]], {{.*}} ins(%[[XP]] : tensor<4x3x8x8xf32>) outs(%{{.*}} : tensor<4x6x6x3x3x3xf32>)
// CHECK:         %[[C3:.*]] = tensor.collapse_shape %[[COLS]] {{.*}} into tensor<4x36x27xf32>
// CHECK:         %[[G3:.*]] = tensor.collapse_shape %arg1 {{.*}} into tensor<4x5x36xf32>
// CHECK:         %[[PART:.*]] = linalg.batch_matmul ins(%[[G3]], %[[C3]] : {{.*}} -> tensor<4x5x27xf32>
// CHECK:         %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]} ins(%[[PART]] : tensor<4x5x27xf32>)
// CHECK:         %[[FCHW:.*]] = tensor.expand_shape %[[SUM]] {{.*}} into tensor<5x3x3x3xf32>
// CHECK:         linalg.transpose ins(%[[FCHW]] : tensor<5x3x3x3xf32>) {{.*}} permutation = [1, 0, 2, 3]
// CHECK-NOT:     linalg.conv_2d_nchw_fchw
func.func @weight_grad(%x: tensor<4x3x6x6xf32>, %g: tensor<4x5x6x6xf32>) -> tensor<3x5x3x3xf32> {
  %z = arith.constant 0.0 : f32
  %xe = tensor.empty() : tensor<3x4x6x6xf32>
  %xt = linalg.transpose ins(%x : tensor<4x3x6x6xf32>) outs(%xe : tensor<3x4x6x6xf32>) permutation = [1, 0, 2, 3]
  %pe = tensor.empty() : tensor<3x4x8x8xf32>
  %pf = linalg.fill ins(%z : f32) outs(%pe : tensor<3x4x8x8xf32>) -> tensor<3x4x8x8xf32>
  %xp = tensor.insert_slice %xt into %pf[0, 0, 1, 1] [3, 4, 6, 6] [1, 1, 1, 1] : tensor<3x4x6x6xf32> into tensor<3x4x8x8xf32>
  %ge = tensor.empty() : tensor<5x4x6x6xf32>
  %gt = linalg.transpose ins(%g : tensor<4x5x6x6xf32>) outs(%ge : tensor<5x4x6x6xf32>) permutation = [1, 0, 2, 3]
  %e = tensor.empty() : tensor<3x5x3x3xf32>
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<3x5x3x3xf32>) -> tensor<3x5x3x3xf32>
  %0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%xp, %gt : tensor<3x4x8x8xf32>, tensor<5x4x6x6xf32>) outs(%i : tensor<3x5x3x3xf32>) -> tensor<3x5x3x3xf32>
  return %0 : tensor<3x5x3x3xf32>
}
