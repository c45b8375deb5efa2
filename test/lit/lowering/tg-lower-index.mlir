// The indexing primitives lower to linalg on tensors: gather reads with tensor.extract,
// scatter_add is a reduction over the index's dim, insert_slice a strided insert.
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-lower-to-linalg)' | filecheck %s

// CHECK-LABEL: func.func @gather(
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : tensor<?x3xi64>)
// CHECK:           arith.cmpi slt
// CHECK:           tensor.extract %{{.*}} : tensor<?x5xf32>
// CHECK-NOT:     "tg.gather"
func.func @gather(%x: tensor<?x5xf32>, %i: tensor<?x3xi64>) -> tensor<?x3xf32> {
  %0 = "tg.gather"(%x, %i) {dim = 1 : i64} : (tensor<?x5xf32>, tensor<?x3xi64>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

// CHECK-LABEL: func.func @scatter_add(
// CHECK-SAME:    %[[X:.*]]: tensor<4x5xf32>, %[[I:.*]]: tensor<4x2xi64>, %[[S:.*]]: tensor<4x2xf32>)
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[I]], %[[S]] : tensor<4x2xi64>, tensor<4x2xf32>) outs(%[[X]] : tensor<4x5xf32>)
// CHECK:           arith.cmpi eq
// CHECK:           arith.select
// CHECK:           arith.addf
func.func @scatter_add(%x: tensor<4x5xf32>, %i: tensor<4x2xi64>, %s: tensor<4x2xf32>) -> tensor<4x5xf32> {
  %0 = "tg.scatter_add"(%x, %i, %s) {dim = 1 : i64} : (tensor<4x5xf32>, tensor<4x2xi64>, tensor<4x2xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

// CHECK-LABEL: func.func @insert_slice(
// CHECK-SAME:    %[[D:.*]]: tensor<3x8xf32>, %[[S:.*]]: tensor<3x3xf32>)
// CHECK:         %[[R:.*]] = tensor.insert_slice %[[S]] into %[[D]][0, 1] [3, 3] [1, 3] : tensor<3x3xf32> into tensor<3x8xf32>
// CHECK:         return %[[R]]
func.func @insert_slice(%d: tensor<3x8xf32>, %s: tensor<3x3xf32>) -> tensor<3x8xf32> {
  %0 = "tg.insert_slice"(%d, %s) {dim = 1 : i64, start = 1 : i64, step = 3 : i64} : (tensor<3x8xf32>, tensor<3x3xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @stop_gradient(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4xf32>)
// CHECK-NEXT:    return %[[X]]
func.func @stop_gradient(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = "tg.stop_gradient"(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
