// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-simplify)' | filecheck %s
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-simplify,tg-lower-to-linalg)' | filecheck %s --check-prefix=LINALG

// The weight gradient of x @ w.T as autodiff writes it: (x^T @ dy)^T becomes dy^T @ x, and
// the linalg matmul reads dy^T in place (no transpose is materialized).
// CHECK-LABEL: func.func @weight_grad(
// CHECK-SAME:    %[[X:.*]]: tensor<64x512xf32>, %[[DY:.*]]: tensor<64x2048xf32>)
// CHECK:         %[[T:.*]] = "tg.permute"(%[[DY]]) {perm = [1, 0]} : (tensor<64x2048xf32>) -> tensor<2048x64xf32>
// CHECK-NEXT:    %[[G:.*]] = "tg.mm"(%[[T]], %[[X]]) : (tensor<2048x64xf32>, tensor<64x512xf32>) -> tensor<2048x512xf32>
// CHECK-NEXT:    return %[[G]]
// LINALG-DAG:  #[[AT:.*]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// LINALG-LABEL: func.func @weight_grad(
// LINALG-NOT:    linalg.transpose
// LINALG:        linalg.matmul indexing_maps = [#[[AT]], {{.*}}] ins(%arg1, %arg0 : tensor<64x2048xf32>, tensor<64x512xf32>)
// LINALG-NEXT:   return
func.func @weight_grad(%x: tensor<64x512xf32>, %dy: tensor<64x2048xf32>) -> tensor<2048x512xf32> {
  %xt = "tg.permute"(%x) {perm = [1, 0]} : (tensor<64x512xf32>) -> tensor<512x64xf32>
  %g = "tg.mm"(%xt, %dy) : (tensor<512x64xf32>, tensor<64x2048xf32>) -> tensor<512x2048xf32>
  %0 = "tg.permute"(%g) {perm = [1, 0]} : (tensor<512x2048xf32>) -> tensor<2048x512xf32>
  return %0 : tensor<2048x512xf32>
}

// -----

// Permutes of permutes compose; the identity disappears.
// CHECK-LABEL: func.func @permutes(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3x4xf32>)
// CHECK:         %[[P:.*]] = "tg.permute"(%[[X]]) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT:    return %[[X]], %[[P]]
func.func @permutes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>) {
  %a = "tg.permute"(%x) {perm = [1, 2, 0]} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %b = "tg.permute"(%a) {perm = [2, 0, 1]} : (tensor<3x4x2xf32>) -> tensor<2x3x4xf32>
  %c = "tg.permute"(%a) {perm = [1, 2, 0]} : (tensor<3x4x2xf32>) -> tensor<4x2x3xf32>
  return %b, %c : tensor<2x3x4xf32>, tensor<4x2x3xf32>
}

// -----

// Batched: (a @ b)^T over the last two dims becomes b^T @ a^T.
// CHECK-LABEL: func.func @bmm(
// CHECK-SAME:    %[[A:.*]]: tensor<8x16x32xf32>, %[[B:.*]]: tensor<8x32x4xf32>)
// CHECK-DAG:     %[[BT:.*]] = "tg.permute"(%[[B]]) {perm = [0, 2, 1]}
// CHECK-DAG:     %[[AT:.*]] = "tg.permute"(%[[A]]) {perm = [0, 2, 1]}
// CHECK:         "tg.bmm"(%[[BT]], %[[AT]]) : (tensor<8x4x32xf32>, tensor<8x32x16xf32>) -> tensor<8x4x16xf32>
func.func @bmm(%a: tensor<8x16x32xf32>, %b: tensor<8x32x4xf32>) -> tensor<8x4x16xf32> {
  %0 = "tg.bmm"(%a, %b) : (tensor<8x16x32xf32>, tensor<8x32x4xf32>) -> tensor<8x16x4xf32>
  %1 = "tg.permute"(%0) {perm = [0, 2, 1]} : (tensor<8x16x4xf32>) -> tensor<8x4x16xf32>
  return %1 : tensor<8x4x16xf32>
}

// -----

// A product with another user is not recomputed transposed.
// CHECK-LABEL: func.func @shared_product(
// CHECK:         %[[P:.*]] = "tg.mm"(%arg0, %arg1)
// CHECK-NEXT:    %[[T:.*]] = "tg.permute"(%[[P]]) {perm = [1, 0]}
// CHECK-NEXT:    return %[[P]], %[[T]]
func.func @shared_product(%a: tensor<4x8xf32>, %b: tensor<8x6xf32>) -> (tensor<4x6xf32>, tensor<6x4xf32>) {
  %0 = "tg.mm"(%a, %b) : (tensor<4x8xf32>, tensor<8x6xf32>) -> tensor<4x6xf32>
  %1 = "tg.permute"(%0) {perm = [1, 0]} : (tensor<4x6xf32>) -> tensor<6x4xf32>
  return %0, %1 : tensor<4x6xf32>, tensor<6x4xf32>
}

// -----

// The gradient of a three-way split: three zero-padded slices summed become one
// concatenation (Note [sums of padded gradients]); a zero piece spanning two pieces of the
// other side is cut.
// CHECK-LABEL: func.func @split_gradient(
// CHECK-SAME:    %[[DQ:.*]]: tensor<2x3x4xf32>, %[[DK:.*]]: tensor<2x3x4xf32>, %[[DV:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT:    %[[QK:.*]] = "tg.cat"(%[[DQ]], %[[DK]]) {dim = 2 : i64}
// CHECK-NEXT:    %[[QKV:.*]] = "tg.cat"(%[[QK]], %[[DV]]) {dim = 2 : i64}
// CHECK-NEXT:    return %[[QKV]]
func.func @split_gradient(%dq: tensor<2x3x4xf32>, %dk: tensor<2x3x4xf32>, %dv: tensor<2x3x4xf32>) -> tensor<2x3x12xf32> {
  %z = "tg.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %z8 = "tg.broadcast_to"(%z) : (tensor<f32>) -> tensor<2x3x8xf32>
  %z4 = "tg.broadcast_to"(%z) : (tensor<f32>) -> tensor<2x3x4xf32>
  %a = "tg.cat"(%z8, %dv) {dim = 2 : i64} : (tensor<2x3x8xf32>, tensor<2x3x4xf32>) -> tensor<2x3x12xf32>
  %b0 = "tg.cat"(%z4, %dk) {dim = 2 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x8xf32>
  %b = "tg.cat"(%b0, %z4) {dim = 2 : i64} : (tensor<2x3x8xf32>, tensor<2x3x4xf32>) -> tensor<2x3x12xf32>
  %s = "tg.add"(%a, %b) : (tensor<2x3x12xf32>, tensor<2x3x12xf32>) -> tensor<2x3x12xf32>
  %c = "tg.cat"(%dq, %z8) {dim = -1 : i64} : (tensor<2x3x4xf32>, tensor<2x3x8xf32>) -> tensor<2x3x12xf32>
  %r = "tg.add"(%s, %c) : (tensor<2x3x12xf32>, tensor<2x3x12xf32>) -> tensor<2x3x12xf32>
  return %r : tensor<2x3x12xf32>
}

// -----

// Pieces that do not line up and are not zeros stay an add of concatenations.
// CHECK-LABEL: func.func @misaligned(
// CHECK:         "tg.cat"
// CHECK:         "tg.cat"
// CHECK:         "tg.add"
func.func @misaligned(%a: tensor<3x8xf32>, %b: tensor<3x4xf32>, %c: tensor<3x4xf32>, %d: tensor<3x8xf32>) -> tensor<3x12xf32> {
  %x = "tg.cat"(%a, %b) {dim = 1 : i64} : (tensor<3x8xf32>, tensor<3x4xf32>) -> tensor<3x12xf32>
  %y = "tg.cat"(%c, %d) {dim = 1 : i64} : (tensor<3x4xf32>, tensor<3x8xf32>) -> tensor<3x12xf32>
  %r = "tg.add"(%x, %y) : (tensor<3x12xf32>, tensor<3x12xf32>) -> tensor<3x12xf32>
  return %r : tensor<3x12xf32>
}
