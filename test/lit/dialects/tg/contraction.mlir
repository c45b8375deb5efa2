// Every contraction tg op parses, verifies (result types equal the inferred ones) and prints
// back unchanged, in custom and in generic form.
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | dynamlir-opt | filecheck %s

// CHECK-LABEL: func.func @mm(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>, %[[A1:.*]]: tensor<3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.mm"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<2x4xf32>
func.func @mm(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = "tg.mm"(%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @mm_dynamic(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x3xf32>, %[[A1:.*]]: tensor<3x?xf32>)
// CHECK:         %[[R0:.*]] = "tg.mm"(%[[A0]], %[[A1]]) : (tensor<?x3xf32>, tensor<3x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x?xf32>
func.func @mm_dynamic(%a: tensor<?x3xf32>, %b: tensor<3x?xf32>) -> tensor<?x?xf32> {
  %0 = "tg.mm"(%a, %b) : (tensor<?x3xf32>, tensor<3x?xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @bmm(
// CHECK-SAME:    %[[A0:.*]]: tensor<5x2x3xf32>, %[[A1:.*]]: tensor<5x3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.bmm"(%[[A0]], %[[A1]]) : (tensor<5x2x3xf32>, tensor<5x3x4xf32>) -> tensor<5x2x4xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<5x2x4xf32>
func.func @bmm(%a: tensor<5x2x3xf32>, %b: tensor<5x3x4xf32>) -> tensor<5x2x4xf32> {
  %0 = "tg.bmm"(%a, %b) : (tensor<5x2x3xf32>, tensor<5x3x4xf32>) -> tensor<5x2x4xf32>
  return %0 : tensor<5x2x4xf32>
}

// CHECK-LABEL: func.func @matmul_ranks(
// CHECK-SAME:    %[[A0:.*]]: tensor<3xf32>, %[[A1:.*]]: tensor<3x4xf32>, %[[A2:.*]]: tensor<7x1x2x3xf32>, %[[A3:.*]]: tensor<5x3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.matmul"(%[[A0]], %[[A0]]) : (tensor<3xf32>, tensor<3xf32>) -> tensor<f32>
// CHECK:         %[[R1:.*]] = "tg.matmul"(%[[A0]], %[[A1]]) : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<4xf32>
// CHECK:         %[[R2:.*]] = "tg.matmul"(%[[A2]], %[[A3]]) : (tensor<7x1x2x3xf32>, tensor<5x3x4xf32>) -> tensor<7x5x2x4xf32>
// CHECK:         %[[R3:.*]] = "tg.matmul"(%[[A2]], %[[A0]]) : (tensor<7x1x2x3xf32>, tensor<3xf32>) -> tensor<7x1x2xf32>
// CHECK-NEXT:    return %[[R2]] : tensor<7x5x2x4xf32>
func.func @matmul_ranks(%v: tensor<3xf32>, %m: tensor<3x4xf32>, %b: tensor<7x1x2x3xf32>, %c: tensor<5x3x4xf32>) -> tensor<7x5x2x4xf32> {
  %0 = "tg.matmul"(%v, %v) : (tensor<3xf32>, tensor<3xf32>) -> tensor<f32>
  %1 = "tg.matmul"(%v, %m) : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<4xf32>
  %2 = "tg.matmul"(%b, %c) : (tensor<7x1x2x3xf32>, tensor<5x3x4xf32>) -> tensor<7x5x2x4xf32>
  %3 = "tg.matmul"(%b, %v) : (tensor<7x1x2x3xf32>, tensor<3xf32>) -> tensor<7x1x2xf32>
  return %2 : tensor<7x5x2x4xf32>
}

// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x5x8xf32>, %[[A1:.*]]: tensor<4x8xf32>, %[[A2:.*]]: tensor<4xf32>) -> (tensor<?x5x4xf32>, tensor<?x5x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.linear"(%[[A0]], %[[A1]], %[[A2]]) : (tensor<?x5x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
// CHECK:         %[[R1:.*]] = "tg.linear"(%[[A0]], %[[A1]]) : (tensor<?x5x8xf32>, tensor<4x8xf32>) -> tensor<?x5x4xf32>
// CHECK-NEXT:    return %[[R0]], %[[R1]] : tensor<?x5x4xf32>, tensor<?x5x4xf32>
func.func @linear(%x: tensor<?x5x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> (tensor<?x5x4xf32>, tensor<?x5x4xf32>) {
  %0 = "tg.linear"(%x, %w, %b) : (tensor<?x5x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
  %1 = "tg.linear"(%x, %w) : (tensor<?x5x8xf32>, tensor<4x8xf32>) -> tensor<?x5x4xf32>
  return %0, %1 : tensor<?x5x4xf32>, tensor<?x5x4xf32>
}

// CHECK-LABEL: func.func @addmm(
// CHECK-SAME:    %[[A0:.*]]: tensor<4xf32>, %[[A1:.*]]: tensor<2x3xf32>, %[[A2:.*]]: tensor<3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.addmm"(%[[A0]], %[[A1]], %[[A2]]) {alpha = 2.000000e+00 : f64, beta = 5.000000e-01 : f64} : (tensor<4xf32>, tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<2x4xf32>
func.func @addmm(%i: tensor<4xf32>, %a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = "tg.addmm"(%i, %a, %b) {alpha = 2.0 : f64, beta = 0.5 : f64} : (tensor<4xf32>, tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
