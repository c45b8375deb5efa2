// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-resolve-dims,cse)' | filecheck %s

// Note [resolved dims]: a size asked of a value derived from %x (elementwise, permuted,
// a reduction's kept dim) is asked of %x, and CSE merges the questions; a product's rows
// lead to its lhs, here a reshape whose `?` is the element count: not followed further.
// CHECK-LABEL: func.func @follows_dims(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x8xf32>, %[[W:.*]]: tensor<8x4xf32>)
// CHECK-DAG:     %[[B:.*]] = "tg.dim_size"(%[[X]]) {dim = 0 : i64}
// CHECK-DAG:     %[[T:.*]] = "tg.dim_size"(%[[X]]) {dim = 1 : i64}
// CHECK:         %[[R:.*]] = "tg.reshape"
// CHECK:         %[[M:.*]] = "tg.dim_size"(%[[R]]) {dim = 0 : i64}
// CHECK:         return %[[B]], %[[T]], %[[M]], %[[B]] :
func.func @follows_dims(%x: tensor<?x?x8xf32>, %w: tensor<8x4xf32>) -> (tensor<i64>, tensor<i64>, tensor<i64>, tensor<i64>) {
  %e = "tg.tanh"(%x) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %p = "tg.permute"(%e) {perm = [1, 0, 2]} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %s = "tg.reduce_sum"(%p) {dims = [2], keepdim = false} : (tensor<?x?x8xf32>) -> tensor<?x?xf32>
  %0 = "tg.dim_size"(%s) {dim = 1 : i64} : (tensor<?x?xf32>) -> tensor<i64>
  %1 = "tg.dim_size"(%p) {dim = 0 : i64} : (tensor<?x?x8xf32>) -> tensor<i64>
  %r = "tg.reshape"(%e) : (tensor<?x?x8xf32>) -> tensor<?x8xf32>
  %m = "tg.mm"(%r, %w) : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
  %2 = "tg.dim_size"(%m) {dim = 0 : i64} : (tensor<?x4xf32>) -> tensor<i64>
  %3 = "tg.dim_size"(%e) {dim = 0 : i64} : (tensor<?x?x8xf32>) -> tensor<i64>
  return %0, %1, %2, %3 : tensor<i64>, tensor<i64>, tensor<i64>, tensor<i64>
}

// -----

// A dynamic_reshape's dim is its size operand; a reshape that derives its `?` from the
// element count is not followed.
// CHECK-LABEL: func.func @size_operands(
// CHECK-SAME:    %[[X:.*]]: tensor<?x256xf32>, %[[B:.*]]: tensor<i64>, %[[T:.*]]: tensor<i64>)
// CHECK:         %[[R:.*]] = "tg.dynamic_reshape"(%[[X]], %[[B]], %[[T]])
// CHECK:         %[[F:.*]] = "tg.reshape"(%[[R]])
// CHECK:         %[[N:.*]] = "tg.dim_size"(%[[F]]) {dim = 0 : i64}
// CHECK:         return %[[T]], %[[N]] :
func.func @size_operands(%x: tensor<?x256xf32>, %b: tensor<i64>, %t: tensor<i64>) -> (tensor<i64>, tensor<i64>) {
  %r = "tg.dynamic_reshape"(%x, %b, %t) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x256xf32>, tensor<i64>, tensor<i64>) -> tensor<?x?x4x64xf32>
  %0 = "tg.dim_size"(%r) {dim = 1 : i64} : (tensor<?x?x4x64xf32>) -> tensor<i64>
  %f = "tg.reshape"(%r) : (tensor<?x?x4x64xf32>) -> tensor<?x256xf32>
  %1 = "tg.dim_size"(%f) {dim = 0 : i64} : (tensor<?x256xf32>) -> tensor<i64>
  return %0, %1 : tensor<i64>, tensor<i64>
}
