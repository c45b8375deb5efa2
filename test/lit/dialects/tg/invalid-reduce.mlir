// The reduce tg verifiers: each chunk holds one invalid op and the exact diagnostic.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics

// Reduction dims are in range...
func.func @reduce_dim_range(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tg.reduce_sum' op dim 2 out of range for rank 2}}
  %0 = "tg.reduce_sum"(%x) {dims = [2], keepdim = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// ... and distinct after normalizing negative dims.
func.func @reduce_dims_repeat(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tg.reduce_max' op dims [1, -1] repeat a dimension}}
  %0 = "tg.reduce_max"(%x) {dims = [1, -1], keepdim = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// keepdim keeps reduced dims as size 1.
func.func @reduce_keepdim(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tg.reduce_sum' op result #0 type tensor<2xf32> does not match inferred tensor<2x1xf32>}}
  %0 = "tg.reduce_sum"(%x) {dims = [1], keepdim = true} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// argmax returns i64 indices.
func.func @argmax_type(%x: tensor<2x3xf32>) -> tensor<2xi32> {
  // expected-error @+1 {{'tg.argmax' op result #0 type tensor<2xi32> does not match inferred tensor<2xi64>}}
  %0 = "tg.argmax"(%x) {dim = 1 : i64, keepdim = false} : (tensor<2x3xf32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// softmax is for floating-point tensors.
func.func @softmax_int(%x: tensor<2x3xi64>) -> tensor<2x3xi64> {
  // expected-error @+1 {{'tg.softmax' op expects a floating-point operand, got i64}}
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x3xi64>) -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// -----

// softmax's dim is in range.
func.func @softmax_dim(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'tg.log_softmax' op dim 2 out of range for rank 2}}
  %0 = "tg.log_softmax"(%x) {dim = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// layer_norm's weight and bias have the normalized shape.
func.func @layer_norm_params(%x: tensor<2x3x4xf32>, %w: tensor<3xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+1 {{'tg.layer_norm' op expects params of shape [4], got tensor<3xf32>}}
  %0 = "tg.layer_norm"(%x, %w) {eps = 1.0e-05 : f64, normalized_shape = [4], operandSegmentSizes = array<i32: 1, 1>} : (tensor<2x3x4xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// normalized_shape fits the input's trailing dims.
func.func @layer_norm_rank(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.layer_norm' op normalized_shape [2, 2] does not fit input rank 1}}
  %0 = "tg.layer_norm"(%x) {eps = 1.0e-05 : f64, normalized_shape = [2, 2], operandSegmentSizes = array<i32: 1, 0>} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
