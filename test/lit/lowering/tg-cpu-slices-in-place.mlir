// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-slices-in-place)' | filecheck %s
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-slices-in-place,eliminate-empty-tensors,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},cse,canonicalize)' | filecheck %s --check-prefix=BUF

// Note [results into their slices]: each transpose computes into its slice of the
// concatenation, reshaped to its own shape; after bufferization no copy is left.
// CHECK-LABEL: func.func @heads(
// CHECK:         %[[D:.*]] = tensor.empty() : tensor<2x8x128xf32>
// CHECK-NEXT:    %[[S1:.*]] = tensor.extract_slice %[[D]][0, 0, 0] [2, 8, 64] [1, 1, 1]
// CHECK-NEXT:    %[[V1:.*]] = tensor.expand_shape %[[S1]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 4, 16]
// CHECK-NEXT:    %[[T1:.*]] = linalg.transpose ins(%arg0 : tensor<2x4x8x16xf32>) outs(%[[V1]] : tensor<2x8x4x16xf32>)
// CHECK-NEXT:    %[[C1:.*]] = tensor.collapse_shape %[[T1]]
// CHECK-NEXT:    %[[I1:.*]] = tensor.insert_slice %[[C1]] into %[[D]][0, 0, 0] [2, 8, 64] [1, 1, 1]
// CHECK-NEXT:    %[[S2:.*]] = tensor.extract_slice %[[I1]][0, 0, 64] [2, 8, 64] [1, 1, 1]
// CHECK-NEXT:    %[[V2:.*]] = tensor.expand_shape %[[S2]]
// CHECK-NEXT:    %[[T2:.*]] = linalg.transpose ins(%arg1 : tensor<2x4x8x16xf32>) outs(%[[V2]] : tensor<2x8x4x16xf32>)
// CHECK-NOT:     tensor.empty() : tensor<2x8x4x16xf32>
// BUF-LABEL: func.func @heads(
// BUF-NOT:     memref.copy
// BUF:         linalg.transpose
// BUF:         linalg.transpose
// BUF-NOT:     memref.copy
func.func @heads(%a: tensor<2x4x8x16xf32>, %b: tensor<2x4x8x16xf32>) -> tensor<2x8x128xf32> {
  %dest = tensor.empty() : tensor<2x8x128xf32>
  %e1 = tensor.empty() : tensor<2x8x4x16xf32>
  %t1 = linalg.transpose ins(%a : tensor<2x4x8x16xf32>) outs(%e1 : tensor<2x8x4x16xf32>) permutation = [0, 2, 1, 3]
  %c1 = tensor.collapse_shape %t1 [[0], [1], [2, 3]] : tensor<2x8x4x16xf32> into tensor<2x8x64xf32>
  %e2 = tensor.empty() : tensor<2x8x4x16xf32>
  %t2 = linalg.transpose ins(%b : tensor<2x4x8x16xf32>) outs(%e2 : tensor<2x8x4x16xf32>) permutation = [0, 2, 1, 3]
  %c2 = tensor.collapse_shape %t2 [[0], [1], [2, 3]] : tensor<2x8x4x16xf32> into tensor<2x8x64xf32>
  %i1 = tensor.insert_slice %c1 into %dest[0, 0, 0] [2, 8, 64] [1, 1, 1] : tensor<2x8x64xf32> into tensor<2x8x128xf32>
  %i2 = tensor.insert_slice %c2 into %i1[0, 0, 64] [2, 8, 64] [1, 1, 1] : tensor<2x8x64xf32> into tensor<2x8x128xf32>
  return %i2 : tensor<2x8x128xf32>
}

// -----

// The transposed value is also returned: it keeps its own buffer, and the insert copies.
// BUF-LABEL: func.func @used_twice(
// BUF:         memref.copy
// CHECK-LABEL: func.func @used_twice(
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<2x8x4x16xf32>
// CHECK:         linalg.transpose ins(%arg0 : tensor<2x4x8x16xf32>) outs(%[[E]] : tensor<2x8x4x16xf32>)
func.func @used_twice(%a: tensor<2x4x8x16xf32>) -> (tensor<2x8x128xf32>, tensor<2x8x4x16xf32>) {
  %dest = tensor.empty() : tensor<2x8x128xf32>
  %e1 = tensor.empty() : tensor<2x8x4x16xf32>
  %t1 = linalg.transpose ins(%a : tensor<2x4x8x16xf32>) outs(%e1 : tensor<2x8x4x16xf32>) permutation = [0, 2, 1, 3]
  %c1 = tensor.collapse_shape %t1 [[0], [1], [2, 3]] : tensor<2x8x4x16xf32> into tensor<2x8x64xf32>
  %i1 = tensor.insert_slice %c1 into %dest[0, 0, 0] [2, 8, 64] [1, 1, 1] : tensor<2x8x64xf32> into tensor<2x8x128xf32>
  return %i1, %t1 : tensor<2x8x128xf32>, tensor<2x8x4x16xf32>
}
