// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-lower-to-linalg)' | filecheck %s

// CHECK-LABEL: func.func @add_broadcast(
// CHECK-SAME:    %[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<8xf32>) outs(%[[E]] : tensor<4x8xf32>)
// CHECK:           arith.addf
// CHECK-NOT:     "tg.add"
func.func @add_broadcast(%a: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = "tg.add"(%a, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @unary_dynamic(
// CHECK-SAME:    %[[X:.*]]: tensor<?x8xf32>)
// CHECK:         %[[D:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x8xf32>
// CHECK:         tensor.empty(%[[D]]) : tensor<?x8xf32>
// CHECK:         math.tanh
// CHECK-NOT:     "tg.tanh"
func.func @unary_dynamic(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = "tg.tanh"(%x) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @compare_select(
// CHECK:         arith.cmpf ogt
// CHECK:         arith.select
// CHECK-NOT:     "tg.
func.func @compare_select(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %c = "tg.gt"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %0 = "tg.where"(%c, %a, %b) : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @mm(
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x16xf32>, tensor<16x4xf32>) outs(%[[ACC]] : tensor<8x4xf32>)
// CHECK-NOT:     "tg.mm"
func.func @mm(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>) -> tensor<8x4xf32> {
  %0 = "tg.mm"(%a, %b) : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func.func @bmm(
// CHECK:         linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x8x16xf32>, tensor<2x16x4xf32>) outs(%{{.*}} : tensor<2x8x4xf32>)
// CHECK-NOT:     "tg.bmm"
func.func @bmm(%a: tensor<2x8x16xf32>, %b: tensor<2x16x4xf32>) -> tensor<2x8x4xf32> {
  %0 = "tg.bmm"(%a, %b) : (tensor<2x8x16xf32>, tensor<2x16x4xf32>) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_max_keepdim(
// CHECK-DAG:     %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:         linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK:         %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK:           arith.maximumf
// CHECK:         tensor.expand_shape %[[R]] {{\[\[}}0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
// CHECK-NOT:     "tg.reduce_max"
func.func @reduce_max_keepdim(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = "tg.reduce_max"(%x) {dims = [1], keepdim = true} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// A max that only shifts exp's argument (softmax's, Note [shift-only max]) ignores NaNs,
// with flags that let LLVM vectorize it plainly; an unmarked one keeps maximumf above.
// CHECK-LABEL: func.func @reduce_max_shift_only(
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK:           arith.maxnumf %{{.*}}, %{{.*}} fastmath<nnan,nsz> : f32
// CHECK-NOT:       arith.maximumf
// CHECK:         tensor.expand_shape
func.func @reduce_max_shift_only(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = "tg.reduce_max"(%x) {dims = [1], keepdim = true, dynamlir.shift_only} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_sum_all(
// CHECK:         linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]}
// CHECK:         } -> tensor<f32>
// CHECK-NOT:     "tg.reduce_sum"
func.func @reduce_sum_all(%x: tensor<4x8xf32>) -> tensor<f32> {
  %0 = "tg.reduce_sum"(%x) {dims = [], keepdim = false} : (tensor<4x8xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @argmax(
// CHECK:         linalg.generic
// CHECK:           linalg.index 1 : index
// CHECK:           arith.select
// CHECK:         } -> (tensor<4xf32>, tensor<4xi64>)
// CHECK-NOT:     "tg.argmax"
func.func @argmax(%x: tensor<4x8xf32>) -> tensor<4xi64> {
  %0 = "tg.argmax"(%x) {dim = 1 : i64, keepdim = false} : (tensor<4x8xf32>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @reshape_static(
// CHECK:         tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [2, 2, 8] : tensor<4x8xf32> into tensor<2x2x8xf32>
// CHECK-NOT:     "tg.reshape"
func.func @reshape_static(%x: tensor<4x8xf32>) -> tensor<2x2x8xf32> {
  %0 = "tg.reshape"(%x) : (tensor<4x8xf32>) -> tensor<2x2x8xf32>
  return %0 : tensor<2x2x8xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_dynamic(
// CHECK:         tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<?x8xf32> into tensor<?xf32>
// CHECK:         arith.divui
// CHECK:         tensor.expand_shape
// CHECK-SAME:      : tensor<?xf32> into tensor<?x4xf32>
func.func @reshape_dynamic(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %0 = "tg.reshape"(%x) : (tensor<?x8xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// CHECK-LABEL: func.func @permute(
// CHECK:         linalg.transpose ins(%{{.*}} : tensor<2x3x4xf32>) outs(%{{.*}} : tensor<4x2x3xf32>) permutation = [2, 0, 1]
func.func @permute(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = "tg.permute"(%x) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @slice_and_cat(
// CHECK:         tensor.extract_slice %{{.*}}[0, 1] [4, 3] [1, 2] : tensor<4x8xf32> to tensor<4x3xf32>
// CHECK:         %[[OUT:.*]] = tensor.empty() : tensor<4x14xf32>
// CHECK:         tensor.insert_slice %{{.*}} into %[[OUT]][0, 0] [4, 3] [1, 1]
// CHECK:         tensor.insert_slice %{{.*}}[0, 3] [4, 8] [1, 1]
// CHECK:         tensor.insert_slice %{{.*}}[0, 11] [4, 3] [1, 1]
// CHECK-NOT:     "tg.cat"
func.func @slice_and_cat(%x: tensor<4x8xf32>) -> tensor<4x14xf32> {
  %s = "tg.slice"(%x) {dim = 1 : i64, start = 1 : i64, end = 7 : i64, step = 2 : i64} : (tensor<4x8xf32>) -> tensor<4x3xf32>
  %c = "tg.cat"(%s, %x) {dim = 1 : i64} : (tensor<4x3xf32>, tensor<4x8xf32>) -> tensor<4x11xf32>
  %0 = "tg.cat"(%c, %s) {dim = 1 : i64} : (tensor<4x11xf32>, tensor<4x3xf32>) -> tensor<4x14xf32>
  return %0 : tensor<4x14xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_convert(
// CHECK:         linalg.generic
// CHECK:         arith.sitofp %{{.*}} : i64 to f32
// CHECK-NOT:     "tg.
func.func @broadcast_convert(%x: tensor<1x8xi64>) -> tensor<4x8xf32> {
  %b = "tg.broadcast_to"(%x) : (tensor<1x8xi64>) -> tensor<4x8xi64>
  %0 = "tg.convert"(%b) : (tensor<4x8xi64>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A reshape to several dynamic dims takes them from its size operands (Note [runtime
// sizes]): a collapse, then an expand to those sizes.
// CHECK-LABEL: func.func @dynamic_reshape(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x256xf32>, %[[B:.*]]: tensor<i64>, %[[T:.*]]: tensor<i64>)
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<i64>
// CHECK:         %[[IB:.*]] = arith.index_cast %[[EB]] : i64 to index
// CHECK:         %[[ET:.*]] = tensor.extract %[[T]][] : tensor<i64>
// CHECK:         %[[IT:.*]] = arith.index_cast %[[ET]] : i64 to index
// CHECK:         %[[C:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1, 2]] : tensor<?x?x256xf32> into tensor<?xf32>
// CHECK:         tensor.expand_shape %[[C]] {{\[\[}}0, 1, 2, 3]] output_shape [%[[IB]], %[[IT]], 4, 64] : tensor<?xf32> into tensor<?x?x4x64xf32>
func.func @dynamic_reshape(%x: tensor<?x?x256xf32>, %b: tensor<i64>, %t: tensor<i64>) -> tensor<?x?x4x64xf32> {
  %0 = "tg.dynamic_reshape"(%x, %b, %t) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x?x256xf32>, tensor<i64>, tensor<i64>) -> tensor<?x?x4x64xf32>
  return %0 : tensor<?x?x4x64xf32>
}

// -----

// A fill of a dynamic shape: the init is sized by the size operands.
// CHECK-LABEL: func.func @dynamic_broadcast_to(
// CHECK-SAME:    %[[X:.*]]: tensor<i1>, %[[N:.*]]: tensor<i64>)
// CHECK:         %[[E0:.*]] = tensor.extract %[[N]][] : tensor<i64>
// CHECK:         %[[I0:.*]] = arith.index_cast %[[E0]] : i64 to index
// CHECK:         %[[E1:.*]] = tensor.extract %[[N]][] : tensor<i64>
// CHECK:         %[[I1:.*]] = arith.index_cast %[[E1]] : i64 to index
// CHECK:         %[[INIT:.*]] = tensor.empty(%[[I0]], %[[I1]]) : tensor<?x?xi1>
// CHECK:         linalg.generic {{.*}} ins(%[[X]] : tensor<i1>) outs(%[[INIT]] : tensor<?x?xi1>)
func.func @dynamic_broadcast_to(%x: tensor<i1>, %n: tensor<i64>) -> tensor<?x?xi1> {
  %0 = "tg.dynamic_broadcast_to"(%x, %n, %n) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<i1>, tensor<i64>, tensor<i64>) -> tensor<?x?xi1>
  return %0 : tensor<?x?xi1>
}
