// RUN: dynamlir-opt %s --verify-diagnostics --pass-pipeline='builtin.module(tg-autodiff,tg-partition{policy=greedy})'

// expected-error @below {{tg-partition: unknown policy 'greedy' (allowed: save-all, min-cut)}}
module {
  func.func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
    %0 = "tg.exp"(%x) : (tensor<3xf32>) -> tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}
