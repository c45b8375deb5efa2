// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(tg-decompose)'
// RUN: not dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=tpu})' 2>&1 | filecheck %s --check-prefix=TARGETS
// RUN: not dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{keep=softmax,exp})' 2>&1 | filecheck %s --check-prefix=KEEPOPT
// RUN: not dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{bogus=1})' 2>&1 | filecheck %s --check-prefix=OPTION

// TARGETS: error: tg-decompose: unknown targets 'tpu' (allowed: none, cpu, gpu, autodiff)
// KEEPOPT: error: tg-decompose: cannot keep 'exp': not a composite op (composites: addcdiv, addcmul,
// OPTION: error: pass 'tg-decompose' has no option 'bogus' (allowed: keep, targets)

// A rule that cannot express an instance reports it at the op instead of leaving it.
func.func @group_norm_two_dynamic_dims(%x: tensor<?x4x?x3xf32>) -> tensor<?x4x?x3xf32> {
  // expected-error @+1 {{tg-decompose: 'tg.group_norm': expects at most one dynamic dim among batch and spatial, got tensor<?x4x?x3xf32>}}
  %0 = "tg.group_norm"(%x) {eps = 1.000000e-05 : f64, num_groups = 2 : i64, operandSegmentSizes = array<i32: 1, 0>} : (tensor<?x4x?x3xf32>) -> tensor<?x4x?x3xf32>
  return %0 : tensor<?x4x?x3xf32>
}

// -----

// Training dropout takes its mask as an operand (drawn by torch's RNG outside the graph).
func.func @dropout_train_without_mask(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{'tg.dropout' op expects 1 mask operands, got 0}}
  %0 = "tg.dropout"(%x) {p = 2.500000e-01 : f64, train = true, operandSegmentSizes = array<i32: 1, 0>} : (tensor<4x6xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}
