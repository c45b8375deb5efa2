// Parse, verify and print with no pipeline; stdin, -o and the printing flags.
// RUN: dynamlir-opt %s | filecheck %s
// RUN: dynamlir-opt - < %s | filecheck %s
// RUN: dynamlir-opt %s -o %t && filecheck %s --input-file %t
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: dynamlir-opt %s --mlir-print-debuginfo | filecheck %s --check-prefix=LOC
// RUN: dynamlir-opt - --mlir-print-debuginfo < %s | filecheck %s --check-prefix=STDIN

// CHECK-LABEL: func.func @add(
// CHECK-SAME:    %[[A:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK:         %[[S:.*]] = "tg.add"(%[[A]], %[[B]]) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK:         return %[[S]] : tensor<4xf32>

// GENERIC:       "builtin.module"() ({
// GENERIC:         "func.func"() <{function_type = (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>, sym_name = "add"}>
// GENERIC:         "tg.add"
// GENERIC:         "func.return"

// The add sits on line 25, column 8 of this file.
// LOC:           "tg.add"{{.*}} loc(#[[L:.*]])
// LOC:           #[[L]] = loc("{{.*}}roundtrip.mlir":25:8)
// STDIN:         #{{.*}} = loc("<stdin>":25:8)
func.func @add(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "tg.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
