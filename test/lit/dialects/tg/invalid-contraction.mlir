// The contraction tg verifiers: each chunk holds one invalid op and the exact diagnostic.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics

// mm is rank-2 only (matmul dispatches on rank).
func.func @mm_rank(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tg.mm' op expects rank-2 operands, got rank 2 and 1}}
  %0 = "tg.mm"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// The contraction dims agree.
func.func @mm_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'tg.mm' op contraction dim mismatch: 3 vs 4}}
  %0 = "tg.mm"(%a, %b) : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// bmm does not broadcast its batch dim.
func.func @bmm_batch(%a: tensor<2x2x3xf32>, %b: tensor<5x3x4xf32>) -> tensor<2x2x4xf32> {
  // expected-error @+1 {{'tg.bmm' op batch dim mismatch: 2 vs 5}}
  %0 = "tg.bmm"(%a, %b) : (tensor<2x2x3xf32>, tensor<5x3x4xf32>) -> tensor<2x2x4xf32>
  return %0 : tensor<2x2x4xf32>
}

// -----

// matmul needs operands of rank >= 1, as torch.matmul.
func.func @matmul_scalar(%a: tensor<f32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'tg.matmul' op expects operands of rank >= 1}}
  %0 = "tg.matmul"(%a, %b) : (tensor<f32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// matmul broadcasts batch dims with PyTorch's rules.
func.func @matmul_batch(%a: tensor<2x4x3xf32>, %b: tensor<5x3x4xf32>) -> tensor<5x4x4xf32> {
  // expected-error @+1 {{'tg.matmul' op shapes 2 and 5 are not broadcastable}}
  %0 = "tg.matmul"(%a, %b) : (tensor<2x4x3xf32>, tensor<5x3x4xf32>) -> tensor<5x4x4xf32>
  return %0 : tensor<5x4x4xf32>
}

// -----

// linear's weight is (out_features, in_features).
func.func @linear_features(%x: tensor<2x8xf32>, %w: tensor<4x7xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'tg.linear' op in_features mismatch: 8 vs 7}}
  %0 = "tg.linear"(%x, %w) : (tensor<2x8xf32>, tensor<4x7xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// linear takes at most one bias.
func.func @linear_two_biases(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'tg.linear' op expects at most one bias}}
  %0 = "tg.linear"(%x, %w, %b, %b) : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
