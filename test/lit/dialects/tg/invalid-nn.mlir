// The nn tg verifiers: each chunk holds one invalid op and the exact diagnostic.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics

// The weight's in channels are the input's channels / groups.
func.func @conv_channels(%x: tensor<2x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<2x4x6x6xf32> {
  // expected-error @+1 {{'tg.convolution' op in channels mismatch: 3 vs 2}}
  %0 = "tg.convolution"(%x, %w) {dilation = [1, 1], groups = 1 : i64, padding = [0, 0], stride = [1, 1]} : (tensor<2x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<2x4x6x6xf32>
  return %0 : tensor<2x4x6x6xf32>
}

// -----

// Groups divide the out channels.
func.func @conv_groups(%x: tensor<2x4x8xf32>, %w: tensor<3x2x3xf32>) -> tensor<2x3x6xf32> {
  // expected-error @+1 {{'tg.convolution' op out channels 3 not divisible by groups 2}}
  %0 = "tg.convolution"(%x, %w) {dilation = [1], groups = 2 : i64, padding = [0], stride = [1]} : (tensor<2x4x8xf32>, tensor<3x2x3xf32>) -> tensor<2x3x6xf32>
  return %0 : tensor<2x3x6xf32>
}

// -----

// One stride, padding and dilation per spatial dim.
func.func @conv_stride_count(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32> {
  // expected-error @+1 {{'tg.convolution' op expects 2 'stride' values, got 1}}
  %0 = "tg.convolution"(%x, %w) {dilation = [1, 1], groups = 1 : i64, padding = [0, 0], stride = [1]} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
  return %0 : tensor<2x4x6x6xf32>
}

// -----

// The kernel fits the padded input.
func.func @conv_kernel_too_big(%x: tensor<2x3x2x2xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x0x0xf32> {
  // expected-error @+1 {{'tg.convolution' op kernel larger than padded input: output size [0, 0]}}
  %0 = "tg.convolution"(%x, %w) {dilation = [1, 1], groups = 1 : i64, padding = [0, 0], stride = [1, 1]} : (tensor<2x3x2x2xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x0x0xf32>
  return %0 : tensor<2x4x0x0xf32>
}

// -----

// index_select takes integer indices.
func.func @index_float(%w: tensor<10x4xf32>, %i: tensor<5xf32>) -> tensor<5x4xf32> {
  // expected-error @+1 {{'tg.index_select' op expects an integer index, got f32}}
  %0 = "tg.index_select"(%w, %i) {dim = 0 : i64} : (tensor<10x4xf32>, tensor<5xf32>) -> tensor<5x4xf32>
  return %0 : tensor<5x4xf32>
}

// -----

// iota counts in i64.
func.func @iota_type(%x: tensor<5xf32>) -> tensor<5xi32> {
  // expected-error @+1 {{'tg.iota' op result #0 type tensor<5xi32> does not match inferred tensor<5xi64>}}
  %0 = "tg.iota"(%x) {dim = 0 : i64} : (tensor<5xf32>) -> tensor<5xi32>
  return %0 : tensor<5xi32>
}

// -----

// dropout's p is a probability.
func.func @dropout_p(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.dropout' op expects 0 <= p <= 1, got 1.5}}
  %0 = "tg.dropout"(%x) {operandSegmentSizes = array<i32: 1, 0>, p = 1.5 : f64, train = false} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Training dropout takes its mask as an operand.
func.func @dropout_mask(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'tg.dropout' op expects 1 mask operands, got 0}}
  %0 = "tg.dropout"(%x) {operandSegmentSizes = array<i32: 1, 0>, p = 0.5 : f64, train = true} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Losses reduce by none, mean or sum.
func.func @mse_reduction(%x: tensor<4xf32>) -> tensor<f32> {
  // expected-error @+1 {{'tg.mse_loss' op reduction must be one of none, mean, sum, got 'avg'}}
  %0 = "tg.mse_loss"(%x, %x) {reduction = "avg"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// num_groups divides the channels.
func.func @group_norm_groups(%x: tensor<2x6x3xf32>) -> tensor<2x6x3xf32> {
  // expected-error @+1 {{'tg.group_norm' op channels 6 not divisible by num_groups 4}}
  %0 = "tg.group_norm"(%x) {eps = 1.0e-05 : f64, num_groups = 4 : i64, operandSegmentSizes = array<i32: 1, 0>} : (tensor<2x6x3xf32>) -> tensor<2x6x3xf32>
  return %0 : tensor<2x6x3xf32>
}

// -----

// Running stats have one value per channel.
func.func @batch_norm_stats(%x: tensor<3x4x2xf32>, %m: tensor<3xf32>) -> tensor<3x4x2xf32> {
  // expected-error @+1 {{'tg.batch_norm' op expects stats and params of shape [4], got tensor<3xf32>}}
  %0 = "tg.batch_norm"(%x, %m, %m) {eps = 1.0e-05 : f64, momentum = 0.1 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 0>, resultSegmentSizes = array<i32: 1, 0>, training = false} : (tensor<3x4x2xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3x4x2xf32>
  return %0 : tensor<3x4x2xf32>
}

// -----

// Activations are for floating-point tensors.
func.func @silu_int(%x: tensor<4xi64>) -> tensor<4xi64> {
  // expected-error @+1 {{'tg.silu' op expects a floating-point operand, got i64}}
  %0 = "tg.silu"(%x) : (tensor<4xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}
