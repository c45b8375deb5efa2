// --pass-pipeline mixes dynamlir's Python passes with upstream passes, options in braces.
// RUN: dynamlir-opt %s --pass-pipeline="builtin.module(tg-decompose{targets=cpu}, func.func(canonicalize, cse))" | filecheck %s
// RUN: dynamlir-opt %s --pass-pipeline='tg-decompose,cse' | filecheck %s
// RUN: dynamlir-opt %s -p 'tg-decompose,func.func(cse)' | filecheck %s
// RUN: dynamlir-opt %s --pass-pipeline 'builtin.module(tg-decompose{keep=softmax})' | filecheck %s --check-prefix=KEEP
// RUN: dynamlir-opt %s --pass-pipeline='builtin.module(tg-decompose{keep="softmax,gelu" targets=none})' | filecheck %s --check-prefix=KEEP

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8xf32>)
// CHECK:         %[[M:.*]] = "tg.reduce_max"(%[[X]]) {dims = [1], dynamlir.shift_only, keepdim = true}
// CHECK:         %[[D:.*]] = "tg.sub"(%[[X]], %[[M]])
// CHECK:         %[[E:.*]] = "tg.exp"(%[[D]])
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[E]]) {dims = [1], keepdim = true}
// CHECK:         %[[I:.*]] = "tg.reciprocal"(%[[S]])
// CHECK:         %[[R:.*]] = "tg.mul"(%[[E]], %[[I]])
// CHECK:         return %[[R]]
// CHECK-NOT:     "tg.softmax"

// KEEP-LABEL:  func.func @softmax(
// KEEP:          "tg.softmax"
// KEEP-NOT:      "tg.reduce_max"
func.func @softmax(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}
