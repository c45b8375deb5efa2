// --verify-diagnostics reports each unexpected diagnostic and each unmet expectation,
// per chunk, and exits 1.
// RUN: not dynamlir-opt %s --split-input-file --verify-diagnostics 2>&1 | filecheck %s

// CHECK: verify-diagnostics-mismatch.mlir:[[# @LINE + 3]]:8: error: unexpected error: 'tg.add' op result #0 type tensor<5xf32> does not match inferred tensor<4xf32>
// CHECK: verify-diagnostics-mismatch.mlir:[[# @LINE + 3]]:6: error: expected error "wrong text" was not produced
func.func @wrong_text(%x: tensor<4xf32>) -> tensor<5xf32> {
  %0 = "tg.add"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<5xf32>
  // expected-error @-1 {{wrong text}}
  return %0 : tensor<5xf32>
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:[[# @LINE + 3]]:8: error: unexpected error: 'tg.add' op
// CHECK: verify-diagnostics-mismatch.mlir:[[# @LINE + 3]]:6: error: expected error "does not match" was not produced
func.func @wrong_line(%x: tensor<4xf32>) -> tensor<5xf32> {
  %0 = "tg.add"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<5xf32>
  // expected-error @+1 {{does not match}}
  return %0 : tensor<5xf32>
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:[[# @LINE + 2]]:6: error: expected error "never emitted" was not produced
func.func @valid(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{never emitted}}
  %0 = "tg.neg"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:[[# @LINE + 1]]:6: error: malformed expected-error directive
  // expected-error @+1 no braces
func.func @malformed() {
  return
}
// CHECK-NOT: error
