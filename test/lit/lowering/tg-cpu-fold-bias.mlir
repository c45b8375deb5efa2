// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-fold-bias,canonicalize)' | filecheck %s

// linear: the bias broadcast becomes the matmul's init, the zero fill and the add go away;
// the reshape of the result stays.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: tensor<8x4xf32>, %[[W:.*]]: tensor<4x6xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<8x6xf32>
// CHECK:         %[[BC:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<6xf32>) outs(%[[E]] : tensor<8x6xf32>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      linalg.yield %[[IN]] : f32
// CHECK:         %[[MM:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<8x4xf32>, tensor<4x6xf32>) outs(%[[BC]] : tensor<8x6xf32>)
// CHECK:         %[[R:.*]] = tensor.expand_shape %[[MM]]
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     arith.addf
// CHECK:         return %[[R]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#last = affine_map<(d0, d1, d2) -> (d2)>
func.func @linear(%x: tensor<8x4xf32>, %w: tensor<4x6xf32>, %b: tensor<6xf32>) -> tensor<2x4x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x6xf32>) -> tensor<8x6xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x6xf32>) outs(%f : tensor<8x6xf32>) -> tensor<8x6xf32>
  %r = tensor.expand_shape %mm [[0, 1], [2]] output_shape [2, 4, 6] : tensor<8x6xf32> into tensor<2x4x6xf32>
  %e2 = tensor.empty() : tensor<2x4x6xf32>
  %out = linalg.generic {indexing_maps = [#last, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b, %r : tensor<6xf32>, tensor<2x4x6xf32>) outs(%e2 : tensor<2x4x6xf32>) {
  ^bb0(%bi: f32, %ri: f32, %o: f32):
    %s = arith.addf %ri, %bi : f32
    linalg.yield %s : f32
  } -> tensor<2x4x6xf32>
  return %out : tensor<2x4x6xf32>
}

// -----

// The matmul's result is also used elsewhere, and a column (not row) vector is added:
// neither is rewritten.
// CHECK-LABEL: func.func @not_folded(
// CHECK:         linalg.fill
// CHECK:         linalg.matmul
// CHECK:         arith.addf
// CHECK:         arith.addf
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#col = affine_map<(d0, d1) -> (d0)>
func.func @not_folded(%x: tensor<8x4xf32>, %w: tensor<4x6xf32>, %b: tensor<6xf32>, %c: tensor<8xf32>)
    -> (tensor<8x6xf32>, tensor<8x6xf32>, tensor<8x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x6xf32>) -> tensor<8x6xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x6xf32>) outs(%f : tensor<8x6xf32>) -> tensor<8x6xf32>
  %o1 = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<8x6xf32>, tensor<6xf32>) outs(%e : tensor<8x6xf32>) {
  ^bb0(%m: f32, %bi: f32, %o: f32):
    %s = arith.addf %m, %bi : f32
    linalg.yield %s : f32
  } -> tensor<8x6xf32>
  %mm2 = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x6xf32>) outs(%f : tensor<8x6xf32>) -> tensor<8x6xf32>
  %o2 = linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%mm2, %c : tensor<8x6xf32>, tensor<8xf32>) outs(%e : tensor<8x6xf32>) {
  ^bb0(%m: f32, %ci: f32, %o: f32):
    %s = arith.addf %m, %ci : f32
    linalg.yield %s : f32
  } -> tensor<8x6xf32>
  return %o1, %mm, %o2 : tensor<8x6xf32>, tensor<8x6xf32>, tensor<8x6xf32>
}

// -----

// A 0-d value reshaped (an expand_shape with no reassociation groups) is not a matmul's
// result: nothing to fold, and no crash.
// CHECK-LABEL: func.func @scalar_expand(
// CHECK:         tensor.expand_shape
// CHECK:         arith.addf
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @scalar_expand(%s: tensor<f32>, %b: tensor<1xf32>) -> tensor<1x1xf32> {
  %e = tensor.expand_shape %s [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
  %o = tensor.empty() : tensor<1x1xf32>
  %r = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%e, %b : tensor<1x1xf32>, tensor<1xf32>) outs(%o : tensor<1x1xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %t = arith.addf %x, %y : f32
    linalg.yield %t : f32
  } -> tensor<1x1xf32>
  return %r : tensor<1x1xf32>
}
