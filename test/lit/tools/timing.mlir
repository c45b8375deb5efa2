// --mlir-timing reports each pass's wall time on stderr, Python and upstream passes alike.
// RUN: dynamlir-opt %s --pass-pipeline='builtin.module(tg-decompose,func.func(canonicalize,cse))' --mlir-timing 2>&1 >/dev/null | filecheck %s
// RUN: dynamlir-opt %s --mlir-timing | filecheck %s --check-prefix=STDOUT

// CHECK:       ... Execution time report ...
// CHECK:       Total Execution Time: {{[0-9.]+}} seconds
// CHECK:       ----Wall Time----  ----Name----
// CHECK-NEXT:  {{[0-9.]+}} ({{ *[0-9.]+}}%)  Parser
// CHECK-NEXT:  {{[0-9.]+}} ({{ *[0-9.]+}}%)  tg-decompose
// CHECK-NEXT:  {{[0-9.]+}} ({{ *[0-9.]+}}%)  canonicalize
// CHECK-NEXT:  {{[0-9.]+}} ({{ *[0-9.]+}}%)  cse
// CHECK-NEXT:  {{[0-9.]+}} ({{ *[0-9.]+}}%)  Output
// CHECK-NEXT:  {{[0-9.]+}} ({{ *[0-9.]+}}%)  Rest
// CHECK-NEXT:  {{[0-9.]+}} (100.0%)  Total

// The report does not mix into the IR on stdout.
// STDOUT-NOT:  Execution time report
// STDOUT:      func.func @f
// STDOUT-NOT:  Execution time report
func.func @f(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}
