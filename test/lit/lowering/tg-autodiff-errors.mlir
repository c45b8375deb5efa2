// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics -tg-autodiff

func.func @composite(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{tg-autodiff: no vjp rule for 'tg.gelu'; it is composite: run tg-decompose{targets=autodiff} before tg-autodiff}}
  %0 = "tg.gelu"(%x) {approximate = "none"} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @not_tg(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{tg-autodiff: no vjp rule for 'arith.addf'; only tg ops are differentiable}}
  %0 = arith.addf %x, %x : tensor<4xf32>
  %1 = "tg.exp"(%0) : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// expected-error @+1 {{tg-autodiff: arg #0 of '@int_arg' is tensor<4xi64>, expected a floating-point tensor}}
func.func @int_arg(%i: tensor<4xi64> {tg.requires_grad}, %x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
