// Every reduction tg op parses, verifies (result types equal the inferred ones) and prints
// back unchanged, in custom and in generic form.
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | dynamlir-opt | filecheck %s

// CHECK-LABEL: func.func @reductions(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.reduce_sum"(%[[A0]]) {dims = [1], keepdim = false} : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
// CHECK:         %[[R1:.*]] = "tg.reduce_prod"(%[[A0]]) {dims = [-2], keepdim = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
// CHECK:         %[[R2:.*]] = "tg.reduce_max"(%[[A0]]) {dims = [0, 2], keepdim = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK:         %[[R3:.*]] = "tg.reduce_min"(%[[A0]]) {dims = [], keepdim = false} : (tensor<2x3x4xf32>) -> tensor<f32>
// CHECK:         %[[R4:.*]] = "tg.reduce_mean"(%[[A0]]) {dims = [], keepdim = true} : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
// CHECK-NEXT:    return %[[R3]] : tensor<f32>
func.func @reductions(%x: tensor<2x3x4xf32>) -> tensor<f32> {
  %0 = "tg.reduce_sum"(%x) {dims = [1], keepdim = false} : (tensor<2x3x4xf32>) -> tensor<2x4xf32>
  %1 = "tg.reduce_prod"(%x) {dims = [-2], keepdim = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %2 = "tg.reduce_max"(%x) {dims = [0, 2], keepdim = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %3 = "tg.reduce_min"(%x) {dims = [], keepdim = false} : (tensor<2x3x4xf32>) -> tensor<f32>
  %4 = "tg.reduce_mean"(%x) {dims = [], keepdim = true} : (tensor<2x3x4xf32>) -> tensor<1x1x1xf32>
  return %3 : tensor<f32>
}

// CHECK-LABEL: func.func @reduce_any(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x3xi1>)
// CHECK:         %[[R0:.*]] = "tg.reduce_any"(%[[A0]]) {dims = [1], keepdim = false} : (tensor<?x3xi1>) -> tensor<?xi1>
// CHECK-NEXT:    return %[[R0]] : tensor<?xi1>
func.func @reduce_any(%x: tensor<?x3xi1>) -> tensor<?xi1> {
  %0 = "tg.reduce_any"(%x) {dims = [1], keepdim = false} : (tensor<?x3xi1>) -> tensor<?xi1>
  return %0 : tensor<?xi1>
}

// CHECK-LABEL: func.func @arg(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>) -> (tensor<2xi64>, tensor<1x3xi64>)
// CHECK:         %[[R0:.*]] = "tg.argmax"(%[[A0]]) {dim = 1 : i64, keepdim = false} : (tensor<2x3xf32>) -> tensor<2xi64>
// CHECK:         %[[R1:.*]] = "tg.argmin"(%[[A0]]) {dim = 0 : i64, keepdim = true} : (tensor<2x3xf32>) -> tensor<1x3xi64>
// CHECK-NEXT:    return %[[R0]], %[[R1]] : tensor<2xi64>, tensor<1x3xi64>
func.func @arg(%x: tensor<2x3xf32>) -> (tensor<2xi64>, tensor<1x3xi64>) {
  %0 = "tg.argmax"(%x) {dim = 1, keepdim = false} : (tensor<2x3xf32>) -> tensor<2xi64>
  %1 = "tg.argmin"(%x) {dim = 0, keepdim = true} : (tensor<2x3xf32>) -> tensor<1x3xi64>
  return %0, %1 : tensor<2xi64>, tensor<1x3xi64>
}

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x?xf32>)
// CHECK:         %[[R0:.*]] = "tg.softmax"(%[[A0]]) {dim = 1 : i64} : (tensor<2x?xf32>) -> tensor<2x?xf32>
// CHECK:         %[[R1:.*]] = "tg.log_softmax"(%[[R0]]) {dim = -1 : i64} : (tensor<2x?xf32>) -> tensor<2x?xf32>
// CHECK-NEXT:    return %[[R1]] : tensor<2x?xf32>
func.func @softmax(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
  %0 = "tg.softmax"(%x) {dim = 1} : (tensor<2x?xf32>) -> tensor<2x?xf32>
  %1 = "tg.log_softmax"(%0) {dim = -1} : (tensor<2x?xf32>) -> tensor<2x?xf32>
  return %1 : tensor<2x?xf32>
}

// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3x4xf32>, %[[A1:.*]]: tensor<3x4xf32>, %[[A2:.*]]: tensor<3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.layer_norm"(%[[A0]]) {eps = 1.000000e-05 : f64, normalized_shape = [4], operandSegmentSizes = array<i32: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
// CHECK:         %[[R1:.*]] = "tg.layer_norm"(%[[A0]], %[[A1]], %[[A2]]) {eps = 1.000000e-05 : f64, normalized_shape = [3, 4], operandSegmentSizes = array<i32: 1, 2>} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT:    return %[[R1]] : tensor<2x3x4xf32>
func.func @layer_norm(%x: tensor<2x3x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = "tg.layer_norm"(%x) {eps = 1.0e-05 : f64, normalized_shape = [4], operandSegmentSizes = array<i32: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %1 = "tg.layer_norm"(%x, %w, %b) {eps = 1.0e-05 : f64, normalized_shape = [3, 4], operandSegmentSizes = array<i32: 1, 2>} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
  return %1 : tensor<2x3x4xf32>
}
