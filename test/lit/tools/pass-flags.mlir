// Every registered pass is a flag, mlir-opt style; upstream pass flags are forwarded.
// RUN: dynamlir-opt %s -tg-decompose | filecheck %s --check-prefix=DECOMP
// RUN: dynamlir-opt %s --tg-decompose | filecheck %s --check-prefix=DECOMP
// RUN: dynamlir-opt %s '-tg-decompose=keep=softmax' | filecheck %s --check-prefix=KEEP
// RUN: dynamlir-opt %s '--tg-decompose=keep=softmax targets=none' | filecheck %s --check-prefix=KEEP
// RUN: dynamlir-opt %s -tg-decompose -cse | filecheck %s --check-prefix=CSE
// RUN: dynamlir-opt %s -canonicalize | filecheck %s --check-prefix=CANON
// RUN: dynamlir-opt %s '-canonicalize=max-iterations=3 top-down=false' | filecheck %s --check-prefix=CANON

// Without CSE the two softmaxes decompose into two copies.
// DECOMP-LABEL: func.func @twice(
// DECOMP-COUNT-2: "tg.reduce_max"
// DECOMP-NOT:     "tg.softmax"

// KEEP-LABEL:   func.func @twice(
// KEEP-COUNT-2:   "tg.softmax"
// KEEP-NOT:       "tg.reduce_max"

// CSE-LABEL:    func.func @twice(
// CSE-COUNT-1:    "tg.reduce_max"
// CSE-NOT:        "tg.reduce_max"
// CSE-NOT:        "tg.softmax"

// canonicalize drops the unused tg.neg (tg ops are Pure) and keeps the rest.
// CANON-LABEL:  func.func @twice(
// CANON-NOT:      "tg.neg"
// CANON-COUNT-2:  "tg.softmax"
// CANON-NOT:      "tg.neg"
func.func @twice(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = "tg.neg"(%x) : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %3 = "tg.add"(%0, %1) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %3 : tensor<2x8xf32>
}
