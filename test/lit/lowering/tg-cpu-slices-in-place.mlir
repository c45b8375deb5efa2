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

// -----

// Note [reshaped results into their buffers]: a product returned expanded, and a ReLU of it
// returned collapsed, are materialized unreshaped in views of their buffers; after
// bufferization the product and the ReLU write the callers' buffers, with no copy.
// CHECK-LABEL: func.func @reshaped_results(
// CHECK-SAME:    %[[OUT0:[^:]*]]: memref<2x4x6xf32>, %[[OUT1:[^:]*]]: memref<8x6xf32>)
// CHECK:         %[[P:.*]] = linalg.matmul
// CHECK:         %[[G:.*]] = linalg.generic
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         %[[V0:.*]] = memref.collapse_shape %[[OUT0]] {{\[}}[0, 1], [2]] : memref<2x4x6xf32> into memref<8x6xf32>
// CHECK-NEXT:    bufferization.materialize_in_destination %[[P]] in restrict writable %[[V0]] : (tensor<8x6xf32>, memref<8x6xf32>)
// CHECK-NEXT:    %[[V1:.*]] = memref.expand_shape %[[OUT1]] {{\[}}[0, 1], [2]] output_shape [2, 4, 6] : memref<8x6xf32> into memref<2x4x6xf32>
// CHECK-NEXT:    bufferization.materialize_in_destination %[[G]] in restrict writable %[[V1]] : (tensor<2x4x6xf32>, memref<2x4x6xf32>)
// BUF-LABEL: func.func @reshaped_results(
// BUF-SAME:    %[[OUT0:[^:]*]]: memref<2x4x6xf32>, %[[OUT1:[^:]*]]: memref<8x6xf32>)
// BUF-NOT:     memref.copy
// BUF:         %[[V0:.*]] = memref.collapse_shape %[[OUT0]]
// BUF:         linalg.matmul ins(%{{.*}}, %{{.*}} : memref<8x4xf32>, memref<4x6xf32>) outs(%[[V0]] : memref<8x6xf32>)
// BUF:         %[[V1:.*]] = memref.expand_shape %[[OUT1]]
// BUF:         linalg.generic {{.*}} ins(%[[OUT0]] : memref<2x4x6xf32>) outs(%[[V1]] : memref<2x4x6xf32>)
// BUF-NOT:     memref.copy
func.func @reshaped_results(%x: tensor<8x4xf32>, %w: tensor<4x6xf32>, %out0: memref<2x4x6xf32>, %out1: memref<8x6xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x6xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x6xf32>) -> tensor<8x6xf32>
  %p = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x6xf32>) outs(%f : tensor<8x6xf32>) -> tensor<8x6xf32>
  %r = tensor.expand_shape %p [[0, 1], [2]] output_shape [2, 4, 6] : tensor<8x6xf32> into tensor<2x4x6xf32>
  %e2 = tensor.empty() : tensor<2x4x6xf32>
  %g = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%r : tensor<2x4x6xf32>) outs(%e2 : tensor<2x4x6xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %z : f32
    linalg.yield %m : f32
  } -> tensor<2x4x6xf32>
  %c = tensor.collapse_shape %g [[0, 1], [2]] : tensor<2x4x6xf32> into tensor<8x6xf32>
  bufferization.materialize_in_destination %r in restrict writable %out0 : (tensor<2x4x6xf32>, memref<2x4x6xf32>) -> ()
  bufferization.materialize_in_destination %c in restrict writable %out1 : (tensor<8x6xf32>, memref<8x6xf32>) -> ()
  return
}

// -----

// A strided buffer does not reshape to a view: the reshape stays, and so does the copy.
// BUF-LABEL: func.func @strided_buffer(
// BUF:         memref.copy
// CHECK-LABEL: func.func @strided_buffer(
// CHECK:         %[[R:.*]] = tensor.expand_shape
// CHECK-NEXT:    bufferization.materialize_in_destination %[[R]] in restrict writable %{{.*}} : (tensor<2x4x6xf32>, memref<2x4x6xf32, strided<[48, 6, 1]>>)
func.func @strided_buffer(%p: tensor<8x6xf32>, %out: memref<2x4x6xf32, strided<[48, 6, 1]>>) {
  %r = tensor.expand_shape %p [[0, 1], [2]] output_shape [2, 4, 6] : tensor<8x6xf32> into tensor<2x4x6xf32>
  bufferization.materialize_in_destination %r in restrict writable %out : (tensor<2x4x6xf32>, memref<2x4x6xf32, strided<[48, 6, 1]>>) -> ()
  return
}

// -----

// A product whose init is a zero fill of an empty tensor (tg-cpu-fold-batch-transposes'
// generics) computes into its slice too: the fill writes the slice, then the product.
// CHECK-LABEL: func.func @filled_init(
// CHECK:         %[[D:.*]] = tensor.empty() : tensor<8x12xf32>
// CHECK:         %[[S:.*]] = tensor.extract_slice %[[D]][0, 4] [8, 8] [1, 1]
// CHECK-NEXT:    %[[V:.*]] = tensor.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [8, 2, 4]
// CHECK-NEXT:    %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[V]] : tensor<8x2x4xf32>)
// CHECK-NEXT:    %[[P:.*]] = linalg.generic {{.*}} outs(%[[F]] : tensor<8x2x4xf32>)
// BUF-LABEL: func.func @filled_init(
// BUF-NOT:     memref.copy
// BUF:         linalg.fill
// BUF:         linalg.generic
// BUF-NOT:     memref.copy
func.func @filled_init(%a: tensor<8x2x3xf32>, %b: tensor<2x3x4xf32>) -> tensor<8x12xf32> {
  %zero = arith.constant 0.0 : f32
  %dest = tensor.empty() : tensor<8x12xf32>
  %e = tensor.empty() : tensor<8x2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x2x4xf32>) -> tensor<8x2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<8x2x3xf32>, tensor<2x3x4xf32>) outs(%f : tensor<8x2x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<8x2x4xf32>
  %c = tensor.collapse_shape %p [[0], [1, 2]] : tensor<8x2x4xf32> into tensor<8x8xf32>
  %i = tensor.insert_slice %c into %dest[0, 4] [8, 8] [1, 1] : tensor<8x8xf32> into tensor<8x12xf32>
  return %i : tensor<8x12xf32>
}
