// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=autodiff},tg-autodiff,cse,tg-partition{policy=save-all})' | filecheck %s --check-prefixes=CHECK,SAVE
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=autodiff},tg-autodiff,cse,tg-partition{policy=min-cut})' | filecheck %s --check-prefixes=CHECK,MINCUT
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=autodiff},tg-autodiff,cse,tg-partition{keep-joint=true})' | filecheck %s --check-prefix=KEEP

// linear -> relu -> linear with a dynamic batch: both policies save x, w1, w2 and the
// relu output h (the mm outputs are not recomputable; h feeds dw2 and the relu mask).
// saved bytes count the dynamic batch as 1: 16 + 128 + 64 + 32.
// CHECK-LABEL: func.func @mlp_fwd(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4xf32>, %[[W1:.*]]: tensor<8x4xf32>, %[[B1:.*]]: tensor<8xf32>, %[[W2:.*]]: tensor<2x8xf32>)
// CHECK-SAME:    -> (tensor<?x2xf32>, tensor<?x4xf32>, tensor<8x4xf32>, tensor<2x8xf32>, tensor<?x8xf32>)
// CHECK-SAME:    attributes {tg.num_saved = 4 : i64, tg.primal = "mlp", tg.saved_bytes = 240 : i64}
// CHECK:         %[[W1T:.*]] = "tg.permute"(%[[W1]])
// CHECK-NEXT:    %[[MM1:.*]] = "tg.mm"(%[[X]], %[[W1T]])
// CHECK-NEXT:    %[[PRE:.*]] = "tg.add"(%[[MM1]], %[[B1]])
// CHECK-NEXT:    %[[H:.*]] = "tg.relu"(%[[PRE]])
// CHECK-NEXT:    %[[W2T:.*]] = "tg.permute"(%[[W2]])
// CHECK-NEXT:    %[[Y:.*]] = "tg.mm"(%[[H]], %[[W2T]])
// CHECK-NEXT:    return %[[Y]], %[[X]], %[[W1]], %[[W2]], %[[H]]
// CHECK-LABEL: func.func @mlp_bwd(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4xf32>, %[[W1:.*]]: tensor<8x4xf32>, %[[W2:.*]]: tensor<2x8xf32>, %[[H:.*]]: tensor<?x8xf32>, %[[CT:.*]]: tensor<?x2xf32>)
// CHECK-SAME:    -> (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<2x8xf32>)
// CHECK-SAME:    attributes {tg.cotangents = array<i64: 0>, tg.grad_args = array<i64: 0, 1, 2, 3>, tg.primal = "mlp"}
// CHECK:         %[[DH:.*]] = "tg.mm"(%[[CT]], %[[W2]])
// CHECK-NEXT:    %[[HT:.*]] = "tg.permute"(%[[H]])
// CHECK-NEXT:    %[[DW2T:.*]] = "tg.mm"(%[[HT]], %[[CT]])
// CHECK-NEXT:    %[[DW2:.*]] = "tg.permute"(%[[DW2T]])
// CHECK-NEXT:    %[[ZERO:.*]] = "tg.constant"()
// CHECK-NEXT:    %[[OFF:.*]] = "tg.le"(%[[H]], %[[ZERO]])
// CHECK-NEXT:    %[[DPRE:.*]] = "tg.where"(%[[OFF]], %[[ZERO]], %[[DH]])
// CHECK-NEXT:    %[[DB1:.*]] = "tg.reduce_sum"(%[[DPRE]]) {dims = [0], keepdim = false}
// CHECK-NEXT:    %[[DX:.*]] = "tg.mm"(%[[DPRE]], %[[W1]])
// CHECK-NEXT:    %[[XT:.*]] = "tg.permute"(%[[X]])
// CHECK-NEXT:    %[[DW1T:.*]] = "tg.mm"(%[[XT]], %[[DPRE]])
// CHECK-NEXT:    %[[DW1:.*]] = "tg.permute"(%[[DW1T]])
// CHECK-NEXT:    return %[[DX]], %[[DW1]], %[[DB1]], %[[DW2]]
// CHECK-NOT:     @mlp_joint
// KEEP-LABEL:  func.func @mlp_joint(
// KEEP-LABEL:  func.func @mlp_fwd(
// KEEP-LABEL:  func.func @mlp_bwd(
func.func @mlp(%x: tensor<?x4xf32>, %w1: tensor<8x4xf32>, %b1: tensor<8xf32>, %w2: tensor<2x8xf32>) -> tensor<?x2xf32> {
  %0 = "tg.linear"(%x, %w1, %b1) {operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %1 = "tg.relu"(%0) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %2 = "tg.linear"(%1, %w2) {operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<?x8xf32>, tensor<2x8xf32>) -> tensor<?x2xf32>
  return %2 : tensor<?x2xf32>
}

// -----

// tanh(x) * sigmoid(x): save-all keeps both activations (128 bytes); min-cut keeps x
// alone (64 bytes) and recomputes tanh and sigmoid in the backward.
// CHECK-LABEL:  func.func @swish_like_fwd(
// CHECK-SAME:     %[[X:.*]]: tensor<16xf32>)
// SAVE-SAME:      -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// SAVE-SAME:      attributes {tg.num_saved = 2 : i64, tg.primal = "swish_like", tg.saved_bytes = 128 : i64}
// MINCUT-SAME:    -> (tensor<16xf32>, tensor<16xf32>)
// MINCUT-SAME:    attributes {tg.num_saved = 1 : i64, tg.primal = "swish_like", tg.saved_bytes = 64 : i64}
// CHECK:          %[[T:.*]] = "tg.tanh"(%[[X]])
// CHECK-NEXT:     %[[S:.*]] = "tg.sigmoid"(%[[X]])
// CHECK-NEXT:     %[[Y:.*]] = "tg.mul"(%[[T]], %[[S]])
// SAVE-NEXT:      return %[[Y]], %[[T]], %[[S]]
// MINCUT-NEXT:    return %[[Y]], %[[X]]
// CHECK-LABEL:  func.func @swish_like_bwd(
// SAVE-SAME:      %[[T:.*]]: tensor<16xf32>, %[[S:.*]]: tensor<16xf32>, %[[CT:.*]]: tensor<16xf32>) -> tensor<16xf32>
// SAVE-NOT:       "tg.tanh"
// SAVE-NOT:       "tg.sigmoid"
// MINCUT-SAME:    %[[X:.*]]: tensor<16xf32>, %[[CT:.*]]: tensor<16xf32>) -> tensor<16xf32>
// MINCUT-NEXT:    %[[T:.*]] = "tg.tanh"(%[[X]])
// MINCUT-NEXT:    %[[S:.*]] = "tg.sigmoid"(%[[X]])
// CHECK:          %[[DT:.*]] = "tg.mul"(%[[CT]], %[[S]])
// CHECK-NEXT:     %[[DS:.*]] = "tg.mul"(%[[CT]], %[[T]])
// CHECK:          return
func.func @swish_like(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = "tg.tanh"(%x) : (tensor<16xf32>) -> tensor<16xf32>
  %1 = "tg.sigmoid"(%x) : (tensor<16xf32>) -> tensor<16xf32>
  %2 = "tg.mul"(%0, %1) : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %2 : tensor<16xf32>
}

// -----

// y = x @ w1 feeds y @ w2, whose weight gradient reads y^T. Saving y or y^T costs the
// same bytes; min-cut saves y, the permute's source: y^T saved would be a transpose the
// forward materializes for the backward alone, which instead reads y through the
// contraction's map.
// MINCUT-LABEL: func.func @two_matmuls_fwd(
// MINCUT:         %[[Y:.*]] = "tg.mm"(%{{.*}}, %{{.*}}) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// MINCUT-NOT:     "tg.permute"(%[[Y]])
// MINCUT:         return %{{.*}}, %[[Y]]
// MINCUT-LABEL: func.func @two_matmuls_bwd(
// MINCUT:         "tg.permute"
func.func @two_matmuls(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %w2: tensor<16x2xf32>) -> tensor<4x2xf32> {
  %y = "tg.mm"(%x, %w1) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %z = "tg.mm"(%y, %w2) : (tensor<4x16xf32>, tensor<16x2xf32>) -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

// h = pre * pre feeds y = h @ w2, whose weight gradient reads h. Recomputing h in the
// backward would write it whole for that contraction to read back; min-cut saves it
// (Note [values a backward contraction reads]), with pre for h's own gradient.
// MINCUT-LABEL: func.func @square_mlp_fwd(
// MINCUT-SAME:    attributes {tg.num_saved = 5 : i64, tg.primal = "square_mlp", tg.saved_bytes = 1280 : i64}
// MINCUT:         %[[PRE:.*]] = "tg.mm"
// MINCUT-NEXT:    %[[H:.*]] = "tg.mul"(%[[PRE]], %[[PRE]])
// MINCUT:         return %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[PRE]], %[[H]]
// MINCUT-LABEL: func.func @square_mlp_bwd(
// MINCUT-SAME:    %[[PRE:[^:]*]]: tensor<4x16xf32>, %[[H:[^:]*]]: tensor<4x16xf32>, %[[CT:[^:]*]]: tensor<4x2xf32>)
// MINCUT-NOT:     "tg.mul"(%[[PRE]], %[[PRE]])
// MINCUT:         %[[HT:.*]] = "tg.permute"(%[[H]])
// MINCUT-NEXT:    "tg.mm"(%[[HT]], %[[CT]])
func.func @square_mlp(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %w2: tensor<16x2xf32>) -> tensor<4x2xf32> {
  %pre = "tg.mm"(%x, %w1) : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %h = "tg.mul"(%pre, %pre) : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = "tg.mm"(%h, %w2) : (tensor<4x16xf32>, tensor<16x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
