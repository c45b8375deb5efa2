// --verify-diagnostics matches expected-* comments by line and substring: exit 0 when
// every diagnostic was expected and every expectation was met.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics | filecheck %s

// The chunk that verifies still prints.
// CHECK-LABEL: func.func @fine(
// CHECK-NOT:   @same_line
func.func @fine(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

func.func @same_line(%x: tensor<4xf32>) -> tensor<5xf32> {
  %0 = "tg.add"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<5xf32> // expected-error {{does not match inferred tensor<4xf32>}}
  return %0 : tensor<5xf32>
}

// -----

func.func @plus_one(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tg.mm' op expects rank-2 operands, got rank 2 and 1}}
  %0 = "tg.mm"(%x, %y) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @minus_two(%x: tensor<4xf32>) -> tensor<4xi1> {
  %0 = "tg.exp"(%x) : (tensor<4xf32>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
  // expected-error @-2 {{result #0 type tensor<4xi1> does not match}}
}

// -----

func.func @above_and_below(%x: tensor<4xi32>) -> tensor<4xi32> {
  %0 = "tg.exp"(%x) : (tensor<4xi32>) -> tensor<4xi32>
  // expected-error @above {{expects a floating-point operand, got i32}}
  return %0 : tensor<4xi32>
}

// -----

func.func @below(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @below {{expects a floating-point operand}}
  %0 = "tg.log"(%x) : (tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// A parse error with its note.
func.func @note(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-note @+1 {{prior use here}}
  %0 = "tg.neg"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  // expected-error @+1 {{use of value '%0' expects different type than prior uses}}
  return %0 : tensor<4xi32>
}

// -----

// A regex expectation.
func.func @regex(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error-re @+1 {{'tg.permute' op perm [{{[0-9, ]+}}] is not a permutation of 2 dims}}
  %0 = "tg.permute"(%x) {perm = [0, 0]} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
