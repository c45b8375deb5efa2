// The elementwise tg verifiers: each chunk holds one invalid op and the exact diagnostic.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics

// Float-only math rejects integer operands.
func.func @exp_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'tg.exp' op expects a floating-point operand, got i32}}
  %0 = "tg.exp"(%x) : (tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// The result type must be the inferred one: shape...
func.func @result_shape(%x: tensor<4xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'tg.neg' op result #0 type tensor<5xf32> does not match inferred tensor<4xf32>}}
  %0 = "tg.neg"(%x) : (tensor<4xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// ... and element type.
func.func @result_elem(%x: tensor<4xf32>) -> tensor<4xf64> {
  // expected-error @+1 {{'tg.neg' op result #0 type tensor<4xf64> does not match inferred tensor<4xf32>}}
  %0 = "tg.neg"(%x) : (tensor<4xf32>) -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

// Binary operands share one element type (the importer inserts tg.convert).
func.func @mixed(%x: tensor<4xf32>, %y: tensor<4xf64>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.add' op expects operands of one element type, got f32, f64}}
  %0 = "tg.add"(%x, %y) : (tensor<4xf32>, tensor<4xf64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// PyTorch broadcasting rules.
func.func @no_broadcast(%x: tensor<4xf32>, %y: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.mul' op shapes 4 and 3 are not broadcastable}}
  %0 = "tg.mul"(%x, %y) : (tensor<4xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Comparisons return i1.
func.func @compare_not_i1(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.lt' op result #0 type tensor<4xf32> does not match inferred tensor<4xi1>}}
  %0 = "tg.lt"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// where takes an i1 condition.
func.func @where_cond(%c: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.where' op expects an i1 condition, got f32}}
  %0 = "tg.where"(%c, %x, %x) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// convert changes the element type only.
func.func @convert_shape(%x: tensor<4xf32>) -> tensor<2x2xi32> {
  // expected-error @+1 {{'tg.convert' op expects the result shape of the input, got tensor<2x2xi32>}}
  %0 = "tg.convert"(%x) : (tensor<4xf32>) -> tensor<2x2xi32>
  return %0 : tensor<2x2xi32>
}

// -----

// gelu's approximate is 'none' or 'tanh'.
func.func @gelu_mode(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.gelu' op approximate must be 'none' or 'tanh', got 'fast'}}
  %0 = "tg.gelu"(%x) {approximate = "fast"} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// A constant holds a dense elements attribute...
func.func @constant_not_dense() -> tensor<4xf32> {
  // expected-error @+1 {{'tg.constant' op expects a dense elements 'value', got 1.0}}
  %0 = "tg.constant"() {value = 1.0 : f32} : () -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// ... whose type is the result type.
func.func @constant_type(%x: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'tg.constant' op result #0 type tensor<3xf32> does not match inferred tensor<4xf32>}}
  %0 = "tg.constant"() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Operands are ranked tensors.
func.func @unranked(%x: tensor<*xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.neg' op expects ranked tensor operands, got tensor<*xf32>}}
  %0 = "tg.neg"(%x) : (tensor<*xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Not scalars either.
func.func @not_tensor(%x: f32) -> f32 {
  // expected-error @+1 {{'tg.neg' op expects ranked tensor operands, got f32}}
  %0 = "tg.neg"(%x) : (f32) -> f32
  return %0 : f32
}

// -----

// Attributes are required.
func.func @gelu_missing_attr(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.gelu' op attribute "approximate" is expected but not provided}}
  %0 = "tg.gelu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @add_arity(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.add' op expects 2 operands, got 1}}
  %0 = "tg.add"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
