// Every indexing tg op (gather, scatter_add, insert_slice, stop_gradient) parses, verifies
// and prints back unchanged, in custom and in generic form.
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | dynamlir-opt | filecheck %s

// CHECK-LABEL: func.func @gather(
// CHECK-SAME:    %[[X:.*]]: tensor<?x5xf32>, %[[I:.*]]: tensor<?x3xi64>)
// CHECK:         %[[R:.*]] = "tg.gather"(%[[X]], %[[I]]) {dim = 1 : i64} : (tensor<?x5xf32>, tensor<?x3xi64>) -> tensor<?x3xf32>
// CHECK-NEXT:    return %[[R]] : tensor<?x3xf32>
func.func @gather(%x: tensor<?x5xf32>, %i: tensor<?x3xi64>) -> tensor<?x3xf32> {
  %0 = "tg.gather"(%x, %i) {dim = 1 : i64} : (tensor<?x5xf32>, tensor<?x3xi64>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @scatter_add(
// CHECK-SAME:    %[[X:.*]]: tensor<4x5xi32>, %[[I:.*]]: tensor<4x2xi64>, %[[S:.*]]: tensor<4x2xi32>)
// CHECK:         %[[R:.*]] = "tg.scatter_add"(%[[X]], %[[I]], %[[S]]) {dim = -1 : i64} : (tensor<4x5xi32>, tensor<4x2xi64>, tensor<4x2xi32>) -> tensor<4x5xi32>
// CHECK-NEXT:    return %[[R]] : tensor<4x5xi32>
func.func @scatter_add(%x: tensor<4x5xi32>, %i: tensor<4x2xi64>, %s: tensor<4x2xi32>) -> tensor<4x5xi32> {
  %0 = "tg.scatter_add"(%x, %i, %s) {dim = -1 : i64} : (tensor<4x5xi32>, tensor<4x2xi64>, tensor<4x2xi32>) -> tensor<4x5xi32>
  return %0 : tensor<4x5xi32>
}

// CHECK-LABEL: func.func @insert_slice(
// CHECK-SAME:    %[[D:.*]]: tensor<3x8xf32>, %[[S:.*]]: tensor<3x3xf32>)
// CHECK:         %[[R:.*]] = "tg.insert_slice"(%[[D]], %[[S]]) {dim = 1 : i64, start = 1 : i64, step = 3 : i64} : (tensor<3x8xf32>, tensor<3x3xf32>) -> tensor<3x8xf32>
// CHECK-NEXT:    return %[[R]] : tensor<3x8xf32>
func.func @insert_slice(%d: tensor<3x8xf32>, %s: tensor<3x3xf32>) -> tensor<3x8xf32> {
  %0 = "tg.insert_slice"(%d, %s) {dim = 1 : i64, start = 1 : i64, step = 3 : i64} : (tensor<3x8xf32>, tensor<3x3xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// CHECK-LABEL: func.func @stop_gradient(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4xf32>)
// CHECK:         %[[R:.*]] = "tg.stop_gradient"(%[[X]]) : (tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:    return %[[R]] : tensor<?x4xf32>
func.func @stop_gradient(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = "tg.stop_gradient"(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
