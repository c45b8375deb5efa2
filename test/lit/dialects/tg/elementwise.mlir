// Every elementwise tg op parses, verifies (result types equal the inferred ones) and prints
// back unchanged, in custom and in generic form.
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | dynamlir-opt | filecheck %s

// CHECK-LABEL: func.func @unary_float(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.exp"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R1:.*]] = "tg.expm1"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R2:.*]] = "tg.log"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R3:.*]] = "tg.log1p"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R4:.*]] = "tg.tanh"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R5:.*]] = "tg.sigmoid"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R6:.*]] = "tg.sqrt"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R7:.*]] = "tg.rsqrt"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R8:.*]] = "tg.reciprocal"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R9:.*]] = "tg.erf"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R10:.*]] = "tg.sin"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R11:.*]] = "tg.cos"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R12:.*]] = "tg.floor"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R13:.*]] = "tg.ceil"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R14:.*]] = "tg.round"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    return %[[R14]] : tensor<2x3xf32>
func.func @unary_float(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.exp"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = "tg.expm1"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = "tg.log"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = "tg.log1p"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = "tg.tanh"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = "tg.sigmoid"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = "tg.sqrt"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %7 = "tg.rsqrt"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %8 = "tg.reciprocal"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %9 = "tg.erf"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %10 = "tg.sin"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %11 = "tg.cos"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %12 = "tg.floor"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %13 = "tg.ceil"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %14 = "tg.round"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %14 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @unary_int(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xi32>)
// CHECK:         %[[R0:.*]] = "tg.neg"(%[[A0]]) : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK:         %[[R1:.*]] = "tg.abs"(%[[A0]]) : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK:         %[[R2:.*]] = "tg.sign"(%[[A0]]) : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK:         %[[R3:.*]] = "tg.relu"(%[[A0]]) : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK:         %[[R4:.*]] = "tg.bitwise_not"(%[[A0]]) : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    return %[[R4]] : tensor<2x3xi32>
func.func @unary_int(%x: tensor<2x3xi32>) -> tensor<2x3xi32> {
  %0 = "tg.neg"(%x) : (tensor<2x3xi32>) -> tensor<2x3xi32>
  %1 = "tg.abs"(%x) : (tensor<2x3xi32>) -> tensor<2x3xi32>
  %2 = "tg.sign"(%x) : (tensor<2x3xi32>) -> tensor<2x3xi32>
  %3 = "tg.relu"(%x) : (tensor<2x3xi32>) -> tensor<2x3xi32>
  %4 = "tg.bitwise_not"(%x) : (tensor<2x3xi32>) -> tensor<2x3xi32>
  return %4 : tensor<2x3xi32>
}

// CHECK-LABEL: func.func @gelu(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.gelu"(%[[A0]]) {approximate = "none"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R1:.*]] = "tg.gelu"(%[[R0]]) {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    return %[[R1]] : tensor<2x3xf32>
func.func @gelu(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.gelu"(%x) {approximate = "none"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = "tg.gelu"(%0) {approximate = "tanh"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @predicates(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>, %[[A1:.*]]: tensor<2x3xi1>)
// CHECK:         %[[R0:.*]] = "tg.isnan"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R1:.*]] = "tg.isinf"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R2:.*]] = "tg.logical_not"(%[[A1]]) : (tensor<2x3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    return %[[R2]] : tensor<2x3xi1>
func.func @predicates(%x: tensor<2x3xf32>, %b: tensor<2x3xi1>) -> tensor<2x3xi1> {
  %0 = "tg.isnan"(%x) : (tensor<2x3xf32>) -> tensor<2x3xi1>
  %1 = "tg.isinf"(%x) : (tensor<2x3xf32>) -> tensor<2x3xi1>
  %2 = "tg.logical_not"(%b) : (tensor<2x3xi1>) -> tensor<2x3xi1>
  return %2 : tensor<2x3xi1>
}

// CHECK-LABEL: func.func @binary_broadcast(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>, %[[A1:.*]]: tensor<3xf32>)
// CHECK:         %[[R0:.*]] = "tg.add"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R1:.*]] = "tg.sub"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R2:.*]] = "tg.mul"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R3:.*]] = "tg.div"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R4:.*]] = "tg.pow"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R5:.*]] = "tg.maximum"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R6:.*]] = "tg.minimum"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R7:.*]] = "tg.remainder"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R8:.*]] = "tg.fmod"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK:         %[[R9:.*]] = "tg.atan2"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    return %[[R9]] : tensor<2x3xf32>
func.func @binary_broadcast(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.add"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = "tg.sub"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %2 = "tg.mul"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = "tg.div"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %4 = "tg.pow"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %5 = "tg.maximum"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %6 = "tg.minimum"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %7 = "tg.remainder"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %8 = "tg.fmod"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %9 = "tg.atan2"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %9 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @binary_dynamic(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x3xf32>, %[[A1:.*]]: tensor<1x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.add"(%[[A0]], %[[A1]]) : (tensor<?x3xf32>, tensor<1x3xf32>) -> tensor<?x3xf32>
// CHECK:         %[[R1:.*]] = "tg.mul"(%[[A1]], %[[A0]]) : (tensor<1x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT:    return %[[R1]] : tensor<?x3xf32>
func.func @binary_dynamic(%x: tensor<?x3xf32>, %y: tensor<1x3xf32>) -> tensor<?x3xf32> {
  %0 = "tg.add"(%x, %y) : (tensor<?x3xf32>, tensor<1x3xf32>) -> tensor<?x3xf32>
  %1 = "tg.mul"(%y, %x) : (tensor<1x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %1 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @bitwise(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xi32>, %[[A1:.*]]: tensor<2x3xi32>)
// CHECK:         %[[R0:.*]] = "tg.bitwise_and"(%[[A0]], %[[A1]]) : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK:         %[[R1:.*]] = "tg.bitwise_or"(%[[A0]], %[[A1]]) : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK:         %[[R2:.*]] = "tg.bitwise_xor"(%[[A0]], %[[A1]]) : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK-NEXT:    return %[[R2]] : tensor<2x3xi32>
func.func @bitwise(%x: tensor<2x3xi32>, %y: tensor<2x3xi32>) -> tensor<2x3xi32> {
  %0 = "tg.bitwise_and"(%x, %y) : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  %1 = "tg.bitwise_or"(%x, %y) : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  %2 = "tg.bitwise_xor"(%x, %y) : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  return %2 : tensor<2x3xi32>
}

// CHECK-LABEL: func.func @compare(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>, %[[A1:.*]]: tensor<1x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.eq"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R1:.*]] = "tg.ne"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R2:.*]] = "tg.lt"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R3:.*]] = "tg.le"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R4:.*]] = "tg.gt"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
// CHECK:         %[[R5:.*]] = "tg.ge"(%[[A0]], %[[A1]]) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    return %[[R5]] : tensor<2x3xi1>
func.func @compare(%x: tensor<2x3xf32>, %y: tensor<1x3xf32>) -> tensor<2x3xi1> {
  %0 = "tg.eq"(%x, %y) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  %1 = "tg.ne"(%x, %y) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  %2 = "tg.lt"(%x, %y) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  %3 = "tg.le"(%x, %y) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  %4 = "tg.gt"(%x, %y) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  %5 = "tg.ge"(%x, %y) : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xi1>
  return %5 : tensor<2x3xi1>
}

// CHECK-LABEL: func.func @logical(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xi1>, %[[A1:.*]]: tensor<3xi1>)
// CHECK:         %[[R0:.*]] = "tg.logical_and"(%[[A0]], %[[A1]]) : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
// CHECK:         %[[R1:.*]] = "tg.logical_or"(%[[A0]], %[[A1]]) : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT:    return %[[R1]] : tensor<2x3xi1>
func.func @logical(%a: tensor<2x3xi1>, %b: tensor<3xi1>) -> tensor<2x3xi1> {
  %0 = "tg.logical_and"(%a, %b) : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  %1 = "tg.logical_or"(%a, %b) : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  return %1 : tensor<2x3xi1>
}

// CHECK-LABEL: func.func @where(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x1xi1>, %[[A1:.*]]: tensor<2x3xf32>, %[[A2:.*]]: tensor<f32>)
// CHECK:         %[[R0:.*]] = "tg.where"(%[[A0]], %[[A1]], %[[A2]]) : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<2x3xf32>
func.func @where(%c: tensor<2x1xi1>, %x: tensor<2x3xf32>, %y: tensor<f32>) -> tensor<2x3xf32> {
  %0 = "tg.where"(%c, %x, %y) : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @convert(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3xf32>)
// CHECK:         %[[R0:.*]] = "tg.convert"(%[[A0]]) : (tensor<2x3xf32>) -> tensor<2x3xi32>
// CHECK:         %[[R1:.*]] = "tg.convert"(%[[R0]]) : (tensor<2x3xi32>) -> tensor<2x3xi1>
// CHECK:         %[[R2:.*]] = "tg.convert"(%[[R1]]) : (tensor<2x3xi1>) -> tensor<2x3xf64>
// CHECK-NEXT:    return %[[R2]] : tensor<2x3xf64>
func.func @convert(%x: tensor<2x3xf32>) -> tensor<2x3xf64> {
  %0 = "tg.convert"(%x) : (tensor<2x3xf32>) -> tensor<2x3xi32>
  %1 = "tg.convert"(%0) : (tensor<2x3xi32>) -> tensor<2x3xi1>
  %2 = "tg.convert"(%1) : (tensor<2x3xi1>) -> tensor<2x3xf64>
  return %2 : tensor<2x3xf64>
}

// CHECK-LABEL: func.func @constant(
// CHECK-SAME:    ) -> (tensor<2x3xf32>, tensor<i64>)
// CHECK:         %[[R0:.*]] = "tg.constant"() {value = dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
// CHECK:         %[[R1:.*]] = "tg.constant"() {value = dense<7> : tensor<i64>} : () -> tensor<i64>
// CHECK-NEXT:    return %[[R0]], %[[R1]] : tensor<2x3xf32>, tensor<i64>
func.func @constant() -> (tensor<2x3xf32>, tensor<i64>) {
  %0 = "tg.constant"() {value = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %1 = "tg.constant"() {value = dense<7> : tensor<i64>} : () -> tensor<i64>
  return %0, %1 : tensor<2x3xf32>, tensor<i64>
}
