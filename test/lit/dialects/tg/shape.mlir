// Every shape tg op parses, verifies (result types equal the inferred ones) and prints
// back unchanged, in custom and in generic form.
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | dynamlir-opt | filecheck %s

// CHECK-LABEL: func.func @reshape(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.reshape"(%[[A0]]) : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK:         %[[R1:.*]] = "tg.reshape"(%[[R0]]) : (tensor<6x4xf32>) -> tensor<?x2xf32>
// CHECK-NEXT:    return %[[R1]] : tensor<?x2xf32>
func.func @reshape(%x: tensor<2x3x4xf32>) -> tensor<?x2xf32> {
  %0 = "tg.reshape"(%x) : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %1 = "tg.reshape"(%0) : (tensor<6x4xf32>) -> tensor<?x2xf32>
  return %1 : tensor<?x2xf32>
}

// CHECK-LABEL: func.func @permute(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.permute"(%[[A0]]) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<4x2x3xf32>
func.func @permute(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = "tg.permute"(%x) {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// CHECK-LABEL: func.func @broadcast_to(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x1xf32>)
// CHECK:         %[[R0:.*]] = "tg.broadcast_to"(%[[A0]]) : (tensor<3x1xf32>) -> tensor<2x3x5xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<2x3x5xf32>
func.func @broadcast_to(%x: tensor<3x1xf32>) -> tensor<2x3x5xf32> {
  %0 = "tg.broadcast_to"(%x) : (tensor<3x1xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// CHECK-LABEL: func.func @dynamic_reshape(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x?x256xf32>)
// CHECK:         %[[B:.*]] = "tg.dim_size"(%[[A0]]) {dim = 0 : i64} : (tensor<?x?x256xf32>) -> tensor<i64>
// CHECK:         %[[T:.*]] = "tg.dim_size"(%[[A0]]) {dim = 1 : i64} : (tensor<?x?x256xf32>) -> tensor<i64>
// CHECK:         %[[R0:.*]] = "tg.dynamic_reshape"(%[[A0]], %[[B]], %[[T]]) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x?x256xf32>, tensor<i64>, tensor<i64>) -> tensor<?x?x4x64xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x?x4x64xf32>
func.func @dynamic_reshape(%x: tensor<?x?x256xf32>) -> tensor<?x?x4x64xf32> {
  %b = "tg.dim_size"(%x) {dim = 0 : i64} : (tensor<?x?x256xf32>) -> tensor<i64>
  %t = "tg.dim_size"(%x) {dim = 1 : i64} : (tensor<?x?x256xf32>) -> tensor<i64>
  %0 = "tg.dynamic_reshape"(%x, %b, %t) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x?x256xf32>, tensor<i64>, tensor<i64>) -> tensor<?x?x4x64xf32>
  return %0 : tensor<?x?x4x64xf32>
}

// CHECK-LABEL: func.func @dynamic_broadcast_to(
// CHECK-SAME:    %[[A0:.*]]: tensor<i1>, %[[N:.*]]: tensor<i64>)
// CHECK:         %[[R0:.*]] = "tg.dynamic_broadcast_to"(%[[A0]], %[[N]], %[[N]]) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<i1>, tensor<i64>, tensor<i64>) -> tensor<?x?xi1>
// CHECK-NEXT:    return %[[R0]] : tensor<?x?xi1>
func.func @dynamic_broadcast_to(%x: tensor<i1>, %n: tensor<i64>) -> tensor<?x?xi1> {
  %0 = "tg.dynamic_broadcast_to"(%x, %n, %n) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<i1>, tensor<i64>, tensor<i64>) -> tensor<?x?xi1>
  return %0 : tensor<?x?xi1>
}

// CHECK-LABEL: func.func @slice(
// CHECK-SAME:    %[[A0:.*]]: tensor<10x?xf32>) -> (tensor<4x?xf32>, tensor<10x?xf32>)
// CHECK:         %[[R0:.*]] = "tg.slice"(%[[A0]]) {dim = 0 : i64, end = 9 : i64, start = 2 : i64, step = 2 : i64} : (tensor<10x?xf32>) -> tensor<4x?xf32>
// CHECK:         %[[R1:.*]] = "tg.slice"(%[[A0]]) {dim = 1 : i64, end = -1 : i64, start = 1 : i64, step = 1 : i64} : (tensor<10x?xf32>) -> tensor<10x?xf32>
// CHECK-NEXT:    return %[[R0]], %[[R1]] : tensor<4x?xf32>, tensor<10x?xf32>
func.func @slice(%x: tensor<10x?xf32>) -> (tensor<4x?xf32>, tensor<10x?xf32>) {
  %0 = "tg.slice"(%x) {dim = 0, end = 9, start = 2, step = 2} : (tensor<10x?xf32>) -> tensor<4x?xf32>
  %1 = "tg.slice"(%x) {dim = 1, end = -1, start = 1, step = 1} : (tensor<10x?xf32>) -> tensor<10x?xf32>
  return %0, %1 : tensor<4x?xf32>, tensor<10x?xf32>
}

// CHECK-LABEL: func.func @cat(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>, %[[A1:.*]]: tensor<5x3xf32>, %[[A2:.*]]: tensor<?x3xf32>) -> (tensor<7x3xf32>, tensor<?x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.cat"(%[[A0]], %[[A1]]) {dim = 0 : i64} : (tensor<2x3xf32>, tensor<5x3xf32>) -> tensor<7x3xf32>
// CHECK:         %[[R1:.*]] = "tg.cat"(%[[A0]], %[[A2]]) {dim = -2 : i64} : (tensor<2x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT:    return %[[R0]], %[[R1]] : tensor<7x3xf32>, tensor<?x3xf32>
func.func @cat(%a: tensor<2x3xf32>, %b: tensor<5x3xf32>, %c: tensor<?x3xf32>) -> (tensor<7x3xf32>, tensor<?x3xf32>) {
  %0 = "tg.cat"(%a, %b) {dim = 0} : (tensor<2x3xf32>, tensor<5x3xf32>) -> tensor<7x3xf32>
  %1 = "tg.cat"(%a, %c) {dim = -2} : (tensor<2x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0, %1 : tensor<7x3xf32>, tensor<?x3xf32>
}

// CHECK-LABEL: func.func @dim_size(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.dim_size"(%[[A0]]) {dim = 0 : i64} : (tensor<?x3xf32>) -> tensor<i64>
// CHECK-NEXT:    return %[[R0]] : tensor<i64>
func.func @dim_size(%x: tensor<?x3xf32>) -> tensor<i64> {
  %0 = "tg.dim_size"(%x) {dim = 0} : (tensor<?x3xf32>) -> tensor<i64>
  return %0 : tensor<i64>
}
