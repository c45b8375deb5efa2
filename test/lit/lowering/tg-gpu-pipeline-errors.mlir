// RUN: dynamlir-opt %s --verify-diagnostics --pass-pipeline='builtin.module(tg-gpu-pipeline{chip=sm_90})'

// A nested pass's error keeps its message and location; the pipeline adds its own summary
// at the module (line 1) when the nested error was already reported.
// expected-error @-4 {{tg-gpu-pipeline: lowering failed (the nested pass's errors are reported above)}}
func.func @main(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-error @below {{tg-gpu-map-linalg: expected 'linalg.generic', got 'linalg.softmax' (run linalg-generalize-named-ops first)}}
  %r = linalg.softmax dimension(1) ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
