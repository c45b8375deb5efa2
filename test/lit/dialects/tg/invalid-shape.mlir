// The shape tg verifiers: each chunk holds one invalid op and the exact diagnostic.
// RUN: dynamlir-opt %s --split-input-file --verify-diagnostics

// reshape keeps the element count.
func.func @reshape_numel(%x: tensor<2x3xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{'tg.reshape' op cannot reshape tensor<2x3xf32> to tensor<5xf32>}}
  %0 = "tg.reshape"(%x) : (tensor<2x3xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// At most one dynamic result dim (it is numel / the rest).
func.func @reshape_two_dynamic(%x: tensor<?x3xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{'tg.reshape' op expects at most one dynamic result dim, got tensor<?x?xf32>}}
  %0 = "tg.reshape"(%x) : (tensor<?x3xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

// perm is a permutation.
func.func @permute_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'tg.permute' op perm [1, 1] is not a permutation of 2 dims}}
  %0 = "tg.permute"(%x) {perm = [1, 1]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// broadcast_to never drops dims...
func.func @broadcast_shrink(%x: tensor<2x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'tg.broadcast_to' op cannot broadcast tensor<2x3xf32> to tensor<3xf32>}}
  %0 = "tg.broadcast_to"(%x) : (tensor<2x3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// ... and only expands size-1 dims.
func.func @broadcast_size(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'tg.broadcast_to' op shapes 2x3 and 2x4 are not broadcastable}}
  %0 = "tg.broadcast_to"(%x) : (tensor<2x3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// A static slice ends inside the dim.
func.func @slice_end(%x: tensor<10xf32>) -> tensor<10xf32> {
  // expected-error @+1 {{'tg.slice' op end 11 exceeds dim size 10}}
  %0 = "tg.slice"(%x) {dim = 0 : i64, start = 0 : i64, end = 11 : i64, step = 1 : i64} : (tensor<10xf32>) -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// -----

// Steps are positive.
func.func @slice_step(%x: tensor<10xf32>) -> tensor<10xf32> {
  // expected-error @+1 {{'tg.slice' op expects start >= 0 and step >= 1, got start 0 step 0}}
  %0 = "tg.slice"(%x) {dim = 0 : i64, start = 0 : i64, end = 10 : i64, step = 0 : i64} : (tensor<10xf32>) -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// -----

// cat's inputs agree outside the cat dim.
func.func @cat_sizes(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{'tg.cat' op expects equal sizes outside dim 0, got [[2, 3], [2, 4]]}}
  %0 = "tg.cat"(%a, %b) {dim = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// dim_size's dim is in range.
func.func @dim_size_range(%x: tensor<?x3xf32>) -> tensor<i64> {
  // expected-error @+1 {{'tg.dim_size' op dim 2 out of range for rank 2}}
  %0 = "tg.dim_size"(%x) {dim = 2 : i64} : (tensor<?x3xf32>) -> tensor<i64>
  return %0 : tensor<i64>
}

// -----

// dynamic_reshape takes one size per dynamic result dim.
func.func @dynamic_reshape_sizes(%x: tensor<?x256xf32>, %n: tensor<i64>) -> tensor<?x?x4xf32> {
  // expected-error @+1 {{'tg.dynamic_reshape' op expects one size per dynamic dim of the result (2), got 1}}
  %0 = "tg.dynamic_reshape"(%x, %n) {operandSegmentSizes = array<i32: 1, 1>} : (tensor<?x256xf32>, tensor<i64>) -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
}

// -----

// Sizes are 0-d i64 tensors.
func.func @dynamic_reshape_size_type(%x: tensor<?x256xf32>, %n: tensor<1xi64>) -> tensor<?x?x4xf32> {
  // expected-error @+1 {{'tg.dynamic_reshape' op expects sizes of type tensor<i64>, got tensor<1xi64>}}
  %0 = "tg.dynamic_reshape"(%x, %n, %n) {operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x256xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x?x4xf32>
  return %0 : tensor<?x?x4xf32>
}

// -----

// dynamic_broadcast_to broadcasts as broadcast_to does.
func.func @dynamic_broadcast_to_shape(%x: tensor<3xf32>, %n: tensor<i64>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'tg.dynamic_broadcast_to' op shapes 3 and ?x4 are not broadcastable}}
  %0 = "tg.dynamic_broadcast_to"(%x, %n) {operandSegmentSizes = array<i32: 1, 1>} : (tensor<3xf32>, tensor<i64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
