// IR dumps go to stderr, headed as mlir-opt heads them; Python passes included.
// RUN: dynamlir-opt %s -tg-decompose -cse --mlir-print-ir-after-all 2>&1 >/dev/null | filecheck %s --check-prefix=AFTER
// RUN: dynamlir-opt %s -tg-decompose -cse --mlir-print-ir-before-all 2>&1 >/dev/null | filecheck %s --check-prefix=BEFORE
// RUN: dynamlir-opt %s -tg-decompose -cse --mlir-print-ir-after=tg-decompose 2>&1 >/dev/null | filecheck %s --check-prefix=ONE
// RUN: dynamlir-opt %s -tg-decompose -cse --mlir-print-ir-before=cse 2>&1 >/dev/null | filecheck %s --check-prefix=ONE
// RUN: dynamlir-opt %s --pass-pipeline='builtin.module(tg-decompose,func.func(cse))' --mlir-print-ir-after=cse 2>&1 >/dev/null | filecheck %s --check-prefix=NESTED
// RUN: dynamlir-opt %s --pass-pipeline='builtin.module(tg-decompose,func.func(cse))' --mlir-print-ir-after=cse --mlir-print-ir-module-scope 2>&1 >/dev/null | filecheck %s --check-prefix=SCOPE
// RUN: not dynamlir-opt %s -cse --mlir-print-ir-after=no-such-pass 2>&1 | filecheck %s --check-prefix=UNKNOWN

// AFTER:       IR Dump After tg-decompose
// AFTER-COUNT-2: "tg.reduce_max"
// AFTER:       IR Dump After CSEPass
// AFTER:         "tg.reduce_max"
// AFTER-NOT:     "tg.reduce_max"

// BEFORE:       IR Dump Before tg-decompose
// BEFORE:         "tg.softmax"
// BEFORE:       IR Dump Before CSEPass
// BEFORE-COUNT-2: "tg.reduce_max"

// ONE:         IR Dump {{After tg-decompose|Before CSEPass}}
// ONE-COUNT-2:   "tg.reduce_max"
// ONE-NOT:     IR Dump

// A function pass dumps the function it ran on.
// NESTED:      IR Dump After CSEPass
// NESTED-NEXT: func.func @twice
// NESTED-NOT:  IR Dump

// SCOPE:       IR Dump After CSEPass{{.*}}('func.func' operation: @twice)
// SCOPE-NEXT:  module {
// SCOPE-NEXT:    func.func @twice

// UNKNOWN:     dynamlir-opt: error: '--mlir-print-ir-after' names unknown pass 'no-such-pass'
func.func @twice(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = "tg.add"(%0, %1) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %2 : tensor<2x8xf32>
}
