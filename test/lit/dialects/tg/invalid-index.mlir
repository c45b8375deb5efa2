// The indexing tg verifiers: each chunk holds one invalid op and the exact diagnostic.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics

// A gather index is an integer tensor.
func.func @gather_float_index(%x: tensor<4x5xf32>, %i: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'tg.gather' op expects an integer index, got f32}}
  %0 = "tg.gather"(%x, %i) {dim = 1 : i64} : (tensor<4x5xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

// Outside `dim` the index may not be larger than the input.
func.func @gather_too_big(%x: tensor<4x5xf32>, %i: tensor<6x2xi64>) -> tensor<6x2xf32> {
  // expected-error @+1 {{'tg.gather' op index dim 0 of size 6 exceeds the input's 4}}
  %0 = "tg.gather"(%x, %i) {dim = 1 : i64} : (tensor<4x5xf32>, tensor<6x2xi64>) -> tensor<6x2xf32>
  return %0 : tensor<6x2xf32>
}

// -----

// scatter_add's index covers the input outside `dim`.
func.func @scatter_partial(%x: tensor<4x5xf32>, %i: tensor<3x2xi64>, %s: tensor<3x2xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{'tg.scatter_add' op expects index sizes outside dim, got [3] and [4]}}
  %0 = "tg.scatter_add"(%x, %i, %s) {dim = 1 : i64} : (tensor<4x5xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

// The written window must fit in the destination.
func.func @insert_out_of_range(%d: tensor<3x8xf32>, %s: tensor<3x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{'tg.insert_slice' op slice of 3 from 2 step 3 exceeds dim size 8}}
  %0 = "tg.insert_slice"(%d, %s) {dim = 1 : i64, start = 2 : i64, step = 3 : i64} : (tensor<3x8xf32>, tensor<3x3xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}
