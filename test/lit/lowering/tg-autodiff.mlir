// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=autodiff},tg-autodiff,cse)' | filecheck %s
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=autodiff},tg-autodiff{wrt=0},cse)' | filecheck %s --check-prefix=WRT

// linear -> relu -> linear, decomposed to permute/mm/add/relu first; dynamic batch.
// CHECK-LABEL: func.func @mlp(
// CHECK-LABEL: func.func @mlp_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4xf32>, %[[W1:.*]]: tensor<8x4xf32>, %[[B1:.*]]: tensor<8xf32>, %[[W2:.*]]: tensor<2x8xf32>, %[[CT:.*]]: tensor<?x2xf32>)
// CHECK-SAME:    -> (tensor<?x2xf32>, tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>, tensor<2x8xf32>)
// CHECK-SAME:    attributes {tg.cotangents = array<i64: 0>, tg.grad_args = array<i64: 0, 1, 2, 3>, tg.primal = "mlp"}
// CHECK:         %[[W1T:.*]] = "tg.permute"(%[[W1]]) {perm = [1, 0]}
// CHECK-NEXT:    %[[MM1:.*]] = "tg.mm"(%[[X]], %[[W1T]])
// CHECK-NEXT:    %[[PRE:.*]] = "tg.add"(%[[MM1]], %[[B1]])
// CHECK-NEXT:    %[[H:.*]] = "tg.relu"(%[[PRE]])
// CHECK-NEXT:    %[[W2T:.*]] = "tg.permute"(%[[W2]]) {perm = [1, 0]}
// CHECK-NEXT:    %[[Y:.*]] = "tg.mm"(%[[H]], %[[W2T]])
// dh = ct @ w2 (the transpose of the transposed weight is the weight)
// CHECK-NEXT:    %[[DH:.*]] = "tg.mm"(%[[CT]], %[[W2]]) : (tensor<?x2xf32>, tensor<2x8xf32>) -> tensor<?x8xf32>
// dw2 = (h^T @ ct)^T
// CHECK-NEXT:    %[[HT:.*]] = "tg.permute"(%[[H]]) {perm = [1, 0]} : (tensor<?x8xf32>) -> tensor<8x?xf32>
// CHECK-NEXT:    %[[DW2T:.*]] = "tg.mm"(%[[HT]], %[[CT]]) : (tensor<8x?xf32>, tensor<?x2xf32>) -> tensor<8x2xf32>
// CHECK-NEXT:    %[[DW2:.*]] = "tg.permute"(%[[DW2T]]) {perm = [1, 0]}
// relu: no gradient where h <= 0
// CHECK-NEXT:    %[[ZERO:.*]] = "tg.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT:    %[[OFF:.*]] = "tg.le"(%[[H]], %[[ZERO]]) : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8xi1>
// CHECK-NEXT:    %[[DPRE:.*]] = "tg.where"(%[[OFF]], %[[ZERO]], %[[DH]])
// the bias gradient sums the broadcast batch dim away
// CHECK-NEXT:    %[[DB1:.*]] = "tg.reduce_sum"(%[[DPRE]]) {dims = [0], keepdim = false} : (tensor<?x8xf32>) -> tensor<8xf32>
// CHECK-NEXT:    %[[DX:.*]] = "tg.mm"(%[[DPRE]], %[[W1]]) : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:    %[[XT:.*]] = "tg.permute"(%[[X]]) {perm = [1, 0]}
// CHECK-NEXT:    %[[DW1T:.*]] = "tg.mm"(%[[XT]], %[[DPRE]]) : (tensor<4x?xf32>, tensor<?x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT:    %[[DW1:.*]] = "tg.permute"(%[[DW1T]]) {perm = [1, 0]}
// CHECK-NEXT:    return %[[Y]], %[[DX]], %[[DW1]], %[[DB1]], %[[DW2]]
// CHECK-NOT:     "tg.linear"
// WRT-LABEL:   func.func @mlp_joint(
// WRT-SAME:      -> (tensor<?x2xf32>, tensor<?x4xf32>)
// WRT-SAME:      tg.grad_args = array<i64: 0>
// WRT:           %[[H:.*]] = "tg.relu"
// WRT-NOT:       "tg.permute"(%[[H]])
// WRT:           return
func.func @mlp(%x: tensor<?x4xf32>, %w1: tensor<8x4xf32>, %b1: tensor<8xf32>, %w2: tensor<2x8xf32>) -> tensor<?x2xf32> {
  %0 = "tg.linear"(%x, %w1, %b1) {operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  %1 = "tg.relu"(%0) : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %2 = "tg.linear"(%1, %w2) {operandSegmentSizes = array<i32: 1, 1, 0>} : (tensor<?x8xf32>, tensor<2x8xf32>) -> tensor<?x2xf32>
  return %2 : tensor<?x2xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_add_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<4x3xf32>, %[[B:.*]]: tensor<3xf32>, %[[CT:.*]]: tensor<4x3xf32>)
// CHECK:         %[[Y:.*]] = "tg.add"(%[[X]], %[[B]])
// CHECK-NEXT:    %[[DB:.*]] = "tg.reduce_sum"(%[[CT]]) {dims = [0], keepdim = false} : (tensor<4x3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    return %[[Y]], %[[CT]], %[[DB]]
func.func @broadcast_add(%x: tensor<4x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = "tg.add"(%x, %b) : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Keepdim-style broadcast (size-1 dim) and a rank-0 operand.
// CHECK-LABEL: func.func @broadcast_unit_dims_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<4x3xf32>, %[[C:.*]]: tensor<4x1xf32>, %[[S:.*]]: tensor<f32>, %[[CT:.*]]: tensor<4x3xf32>)
// CHECK-DAG:     %[[DC:.*]] = "tg.reduce_sum"(%{{.*}}) {dims = [1], keepdim = true} : (tensor<4x3xf32>) -> tensor<4x1xf32>
// CHECK-DAG:     %[[DS:.*]] = "tg.reduce_sum"(%{{.*}}) {dims = [0, 1], keepdim = false} : (tensor<4x3xf32>) -> tensor<f32>
// CHECK:         return %{{.*}}, %{{.*}}, %[[DC]], %[[DS]] : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x1xf32>, tensor<f32>
func.func @broadcast_unit_dims(%x: tensor<4x3xf32>, %c: tensor<4x1xf32>, %s: tensor<f32>) -> tensor<4x3xf32> {
  %0 = "tg.mul"(%x, %c) : (tensor<4x3xf32>, tensor<4x1xf32>) -> tensor<4x3xf32>
  %1 = "tg.sub"(%0, %s) : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  return %1 : tensor<4x3xf32>
}

// -----

// Fan-out: both uses of %x contribute, summed with tg.add.
// CHECK-LABEL: func.func @fan_out_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<5xf32>, %[[CT:.*]]: tensor<5xf32>)
// CHECK:         %[[Y:.*]] = "tg.mul"(%[[X]], %[[X]])
// CHECK-NEXT:    %[[G:.*]] = "tg.mul"(%[[CT]], %[[X]])
// CHECK-NEXT:    %[[SUM:.*]] = "tg.add"(%[[G]], %[[G]])
// CHECK-NEXT:    return %[[Y]], %[[SUM]]
func.func @fan_out(%x: tensor<5xf32>) -> tensor<5xf32> {
  %0 = "tg.mul"(%x, %x) : (tensor<5xf32>, tensor<5xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

// The importer marks the args that require grad; only those get a gradient (and the
// wrt option overrides the marks).
// CHECK-LABEL: func.func @requires_grad_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<3xf32> {tg.requires_grad}, %[[CT:.*]]: tensor<3xf32>)
// CHECK-SAME:    -> (tensor<3xf32>, tensor<3xf32>)
// CHECK-SAME:    tg.grad_args = array<i64: 1>
// CHECK:         %[[DY:.*]] = "tg.mul"(%[[CT]], %[[X]])
// CHECK-NEXT:    return %{{.*}}, %[[DY]]
// WRT-LABEL:   func.func @requires_grad_joint(
// WRT-SAME:      %{{.*}}: tensor<3xf32>, %[[Y:.*]]: tensor<3xf32> {tg.requires_grad}, %[[CT:.*]]: tensor<3xf32>)
// WRT-SAME:      tg.grad_args = array<i64: 0>
// WRT:           %[[DX:.*]] = "tg.mul"(%[[CT]], %[[Y]])
// WRT-NEXT:      return %{{.*}}, %[[DX]]
func.func @requires_grad(%x: tensor<3xf32>, %y: tensor<3xf32> {tg.requires_grad}) -> tensor<3xf32> {
  %0 = "tg.mul"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Activity analysis: %y only reaches a boolean result, so no backward work is done for
// sin; its gradient is zeros. The i1 result gets no cotangent.
// CHECK-LABEL: func.func @activity_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<3xf32>, %[[CT:.*]]: tensor<3xf32>)
// CHECK-SAME:    -> (tensor<3xf32>, tensor<3xi1>, tensor<3xf32>, tensor<3xf32>)
// CHECK-SAME:    tg.cotangents = array<i64: 0>
// CHECK:         %[[E:.*]] = "tg.exp"(%[[X]])
// CHECK:         "tg.gt"
// CHECK-NEXT:    %[[DX:.*]] = "tg.mul"(%[[CT]], %[[E]])
// CHECK-NEXT:    %[[Z:.*]] = "tg.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT:    %[[DY:.*]] = "tg.broadcast_to"(%[[Z]]) : (tensor<f32>) -> tensor<3xf32>
// CHECK-NEXT:    return %{{.*}}, %{{.*}}, %[[DX]], %[[DY]]
// CHECK-NOT:     "tg.cos"
func.func @activity(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xi1>) {
  %0 = "tg.exp"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %1 = "tg.sin"(%y) : (tensor<3xf32>) -> tensor<3xf32>
  %2 = "tg.gt"(%1, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  return %0, %2 : tensor<3xf32>, tensor<3xi1>
}

// -----

// amax: ties share the gradient evenly (grad * mask / count), as PyTorch.
// CHECK-LABEL: func.func @amax_ties_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>, %[[CT:.*]]: tensor<2xf32>)
// CHECK:         %[[M:.*]] = "tg.reduce_max"(%[[X]]) {dims = [1], keepdim = false}
// CHECK-NEXT:    %[[MK:.*]] = "tg.reshape"(%[[M]]) : (tensor<2xf32>) -> tensor<2x1xf32>
// CHECK-NEXT:    %[[MASK:.*]] = "tg.eq"(%[[X]], %[[MK]]) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[F:.*]] = "tg.convert"(%[[MASK]]) : (tensor<2x3xi1>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[N:.*]] = "tg.reduce_sum"(%[[F]]) {dims = [1], keepdim = true}
// CHECK-NEXT:    %[[GK:.*]] = "tg.reshape"(%[[CT]]) : (tensor<2xf32>) -> tensor<2x1xf32>
// CHECK-NEXT:    %[[SHARE:.*]] = "tg.div"(%[[GK]], %[[N]])
// CHECK-NEXT:    %[[Z:.*]] = "tg.constant"()
// CHECK-NEXT:    %[[DX:.*]] = "tg.where"(%[[MASK]], %[[SHARE]], %[[Z]]) : (tensor<2x3xi1>, tensor<2x1xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK-NEXT:    return %[[M]], %[[DX]]
func.func @amax_ties(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = "tg.reduce_max"(%x) {dims = [1], keepdim = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Gradients are cast back to the argument's (dynamic) type; the integer arg and the
// private helper get nothing.
// CHECK-LABEL: func.func @dynamic_arg_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<?x3xf32>, %[[I:.*]]: tensor<4xi64>, %[[B:.*]]: tensor<4x3xf32>, %[[CT:.*]]: tensor<4x3xf32>)
// CHECK-SAME:    -> (tensor<4x3xf32>, tensor<?x3xf32>, tensor<4x3xf32>)
// CHECK:         %[[C:.*]] = tensor.cast %[[CT]] : tensor<4x3xf32> to tensor<?x3xf32>
// CHECK-NEXT:    return %{{.*}}, %[[C]], %[[CT]]
// CHECK-NOT:     @helper_joint
func.func @dynamic_arg(%x: tensor<?x3xf32>, %i: tensor<4xi64>, %b: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = "tg.add"(%x, %b) : (tensor<?x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
func.func private @helper(%x: tensor<3xf32>) -> tensor<3xf32> {
  return %x : tensor<3xf32>
}

// -----

// softmax has a rule of its own, so tg-decompose{targets=autodiff} keeps it and the
// backward is y * (g - sum(g * y)), not the gradient of the max-shifted decomposition.
// CHECK-LABEL: func.func @softmax_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8xf32>, %[[CT:.*]]: tensor<2x8xf32>)
// CHECK:         %[[Y:.*]] = "tg.softmax"(%[[X]]) {dim = 1 : i64}
// CHECK-NEXT:    %[[GY:.*]] = "tg.mul"(%[[CT]], %[[Y]])
// CHECK-NEXT:    %[[S:.*]] = "tg.reduce_sum"(%[[GY]]) {dims = [1], keepdim = true}
// CHECK-NEXT:    %[[D:.*]] = "tg.sub"(%[[CT]], %[[S]])
// CHECK-NEXT:    %[[DX:.*]] = "tg.mul"(%[[Y]], %[[D]])
// CHECK-NEXT:    return %[[Y]], %[[DX]]
// CHECK-NOT:     "tg.reduce_max"
func.func @softmax(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// A slice of a tensor with two dynamic dims: the gradient's zero padding takes x's sizes
// (Note [dynamic broadcast]), not a mask computed from x.
// CHECK-LABEL: func.func @slice_two_dynamic_dims_joint(
// CHECK-SAME:    %[[X:.*]]: tensor<?x?x6xf32>, %[[CT:.*]]: tensor<?x?x2xf32>)
// CHECK:         %[[ZERO:.*]] = "tg.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK-NEXT:    %[[B:.*]] = "tg.dim_size"(%[[X]]) {dim = 0 : i64}
// CHECK-NEXT:    %[[T:.*]] = "tg.dim_size"(%[[X]]) {dim = 1 : i64}
// CHECK-NEXT:    %[[PAD:.*]] = "tg.dynamic_broadcast_to"(%[[ZERO]], %[[B]], %[[T]]) {{.*}} -> tensor<?x?x2xf32>
// CHECK-NEXT:    %[[LEFT:.*]] = "tg.cat"(%[[PAD]], %[[CT]]) {dim = 2 : i64}
// CHECK-NEXT:    %[[DX:.*]] = "tg.cat"(%[[LEFT]], %[[PAD]]) {dim = 2 : i64}
// CHECK-NOT:     "tg.eq"
// WRT-LABEL: func.func @slice_two_dynamic_dims_joint(
func.func @slice_two_dynamic_dims(%x: tensor<?x?x6xf32>) -> tensor<?x?x2xf32> {
  %0 = "tg.slice"(%x) {dim = 2 : i64, start = 2 : i64, end = 4 : i64, step = 1 : i64} : (tensor<?x?x6xf32>) -> tensor<?x?x2xf32>
  return %0 : tensor<?x?x2xf32>
}
