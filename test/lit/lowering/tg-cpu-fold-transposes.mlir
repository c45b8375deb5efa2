// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-fold-transposes)' | filecheck %s

// Note [elementwise ops between transposes]: between two swapped Linears, the bias and
// relu run on the transposed product; both transposes go, the bias is read along rows.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROWS:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @between_linears(
// CHECK-SAME:      %[[C:.*]]: tensor<32x8xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<32x8xf32>
// CHECK:         %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROWS]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[C]], %[[B]] : tensor<32x8xf32>, tensor<32xf32>) outs(%[[E]] : tensor<32x8xf32>)
// CHECK:           arith.addf
// CHECK:           arith.maximumf
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[R]] : tensor<32x8xf32>
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
func.func @between_linears(%c: tensor<32x8xf32>, %b: tensor<32xf32>) -> tensor<32x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x32xf32>
  %t = linalg.transpose ins(%c : tensor<32x8xf32>) outs(%e0 : tensor<8x32xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<8x32xf32>
  %h = linalg.generic {indexing_maps = [#id, #cols, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t, %b : tensor<8x32xf32>, tensor<32xf32>) outs(%e1 : tensor<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  %e2 = tensor.empty() : tensor<32x8xf32>
  %back = linalg.transpose ins(%h : tensor<8x32xf32>) outs(%e2 : tensor<32x8xf32>) permutation = [1, 0]
  return %back : tensor<32x8xf32>
}

// -----

// A second input in the generic's own layout would be read across its rows after the
// rewrite (a strided read instead of a transpose): nothing changes.
// CHECK-LABEL: func.func @strided_input(
// CHECK:         linalg.transpose
// CHECK:         linalg.generic
// CHECK:         linalg.transpose
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @strided_input(%c: tensor<32x8xf32>, %d: tensor<8x32xf32>) -> tensor<32x8xf32> {
  %e0 = tensor.empty() : tensor<8x32xf32>
  %t = linalg.transpose ins(%c : tensor<32x8xf32>) outs(%e0 : tensor<8x32xf32>) permutation = [1, 0]
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t, %d : tensor<8x32xf32>, tensor<8x32xf32>) outs(%e0 : tensor<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.mulf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %e2 = tensor.empty() : tensor<32x8xf32>
  %back = linalg.transpose ins(%h : tensor<8x32xf32>) outs(%e2 : tensor<32x8xf32>) permutation = [1, 0]
  return %back : tensor<32x8xf32>
}

// -----

// The generic's result is also returned in its own layout: it stays, and so does the
// transpose after it.
// CHECK-LABEL: func.func @result_used_twice(
// CHECK:         linalg.transpose
// CHECK:         linalg.generic
// CHECK:         linalg.transpose
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @result_used_twice(%c: tensor<32x8xf32>) -> (tensor<32x8xf32>, tensor<8x32xf32>) {
  %e0 = tensor.empty() : tensor<8x32xf32>
  %t = linalg.transpose ins(%c : tensor<32x8xf32>) outs(%e0 : tensor<8x32xf32>) permutation = [1, 0]
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<8x32xf32>) outs(%e0 : tensor<8x32xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.negf %x : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %e2 = tensor.empty() : tensor<32x8xf32>
  %back = linalg.transpose ins(%h : tensor<8x32xf32>) outs(%e2 : tensor<32x8xf32>) permutation = [1, 0]
  return %back, %h : tensor<32x8xf32>, tensor<8x32xf32>
}

// -----

// Batched: [0, 2, 1] on both sides, a scale broadcast along the batch dim. The input
// transpose is still used elsewhere, so it stays; the generic reads its source anyway.
// CHECK-DAG: #[[ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[LAST:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @batched(
// CHECK-SAME:      %[[A:.*]]: tensor<2x16x4xf32>, %[[S:.*]]: tensor<16x4xf32>)
// CHECK:         %[[T:.*]] = linalg.transpose
// CHECK:         %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[LAST]], #[[ID3]]], {{.*}} ins(%[[A]], %[[S]] : tensor<2x16x4xf32>, tensor<16x4xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[R]], %[[T]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#scale = affine_map<(d0, d1, d2) -> (d2, d1)>
func.func @batched(%a: tensor<2x16x4xf32>, %s: tensor<16x4xf32>) -> (tensor<2x16x4xf32>, tensor<2x4x16xf32>) {
  %e0 = tensor.empty() : tensor<2x4x16xf32>
  %t = linalg.transpose ins(%a : tensor<2x16x4xf32>) outs(%e0 : tensor<2x4x16xf32>) permutation = [0, 2, 1]
  %h = linalg.generic {indexing_maps = [#id3, #scale, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t, %s : tensor<2x4x16xf32>, tensor<16x4xf32>) outs(%e0 : tensor<2x4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    linalg.yield %m : f32
  } -> tensor<2x4x16xf32>
  %e2 = tensor.empty() : tensor<2x16x4xf32>
  %back = linalg.transpose ins(%h : tensor<2x4x16xf32>) outs(%e2 : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  return %back, %t : tensor<2x16x4xf32>, tensor<2x4x16xf32>
}
