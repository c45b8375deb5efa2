// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose)' | filecheck %s
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{keep=softmax,layer_norm})' | filecheck %s --check-prefix=KEEP
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=cpu})' | filecheck %s --check-prefix=CPU
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-decompose{targets=autodiff})' | filecheck %s --check-prefix=AD

// One case per composite: each must leave only primitive tg ops (the set documented in
// lowering/decompose.py). With keep=, the named composites stay whole; with targets=cpu,
// composites that have a fused lowering (gelu) stay; with targets=autodiff, only ops with
// VJP rules remain.

// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.*]]: tensor<?x5x8xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK:         %[[WT:.*]] = "tg.permute"(%[[W]]) {perm = [1, 0]} : (tensor<4x8xf32>) -> tensor<8x4xf32>
// CHECK:         %[[ROWS:.*]] = "tg.reshape"(%[[X]]) : (tensor<?x5x8xf32>) -> tensor<?x8xf32>
// CHECK:         %[[MM:.*]] = "tg.mm"(%[[ROWS]], %[[WT]]) : (tensor<?x8xf32>, tensor<8x4xf32>) -> tensor<?x4xf32>
// CHECK:         %[[Y:.*]] = "tg.reshape"(%[[MM]]) : (tensor<?x4xf32>) -> tensor<?x5x4xf32>
// CHECK:         "tg.add"(%[[Y]], %[[B]])
// CHECK-NOT:     "tg.linear"
// CHECK-NOT:     "tg.matmul"
func.func @linear(%a0: tensor<?x5x8xf32>, %a1: tensor<4x8xf32>, %a2: tensor<4xf32>) -> tensor<?x5x4xf32> {
  %0 = "tg.linear"(%a0, %a1, %a2) {operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<?x5x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// CHECK-LABEL: func.func @addmm(
// CHECK-SAME:    %[[IN:.*]]: tensor<4xf32>, %[[M1:.*]]: tensor<3x5xf32>, %[[M2:.*]]: tensor<5x4xf32>)
// CHECK:         %[[MM:.*]] = "tg.mm"(%[[M1]], %[[M2]]) : (tensor<3x5xf32>, tensor<5x4xf32>) -> tensor<3x4xf32>
// CHECK:         %[[ALPHA:.*]] = "tg.constant"() {value = dense<2.000000e+00> : tensor<f32>}
// CHECK:         %[[P:.*]] = "tg.mul"(%[[MM]], %[[ALPHA]])
// CHECK:         %[[BETA:.*]] = "tg.constant"() {value = dense<5.000000e-01> : tensor<f32>}
// CHECK:         %[[S:.*]] = "tg.mul"(%[[IN]], %[[BETA]])
// CHECK:         "tg.add"(%[[S]], %[[P]]) : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
// CHECK-NOT:     "tg.addmm"
func.func @addmm(%a0: tensor<4xf32>, %a1: tensor<3x5xf32>, %a2: tensor<5x4xf32>) -> tensor<3x4xf32> {
  %0 = "tg.addmm"(%a0, %a1, %a2) {alpha = 2.000000e+00 : f64, beta = 5.000000e-01 : f64} : (tensor<4xf32>, tensor<3x5xf32>, tensor<5x4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_broadcast_bmm(
// CHECK-SAME:    %[[A:.*]]: tensor<3x2x4x5xf32>, %[[B:.*]]: tensor<2x5x3xf32>)
// CHECK:         %[[B4:.*]] = "tg.reshape"(%[[B]]) : (tensor<2x5x3xf32>) -> tensor<1x2x5x3xf32>
// CHECK:         %[[AP:.*]] = "tg.permute"(%[[A]]) {perm = [1, 0, 2, 3]}
// CHECK:         %[[BP:.*]] = "tg.permute"(%[[B4]]) {perm = [1, 2, 3, 0]}
// CHECK:         %[[A3:.*]] = "tg.reshape"(%[[AP]]) : (tensor<2x3x4x5xf32>) -> tensor<2x12x5xf32>
// CHECK:         %[[B3:.*]] = "tg.reshape"(%[[BP]]) : (tensor<2x5x3x1xf32>) -> tensor<2x5x3xf32>
// CHECK:         %[[C:.*]] = "tg.bmm"(%[[A3]], %[[B3]]) : (tensor<2x12x5xf32>, tensor<2x5x3xf32>) -> tensor<2x12x3xf32>
// CHECK:         %[[C4:.*]] = "tg.reshape"(%[[C]]) : (tensor<2x12x3xf32>) -> tensor<2x3x4x3xf32>
// CHECK:         "tg.permute"(%[[C4]]) {perm = [1, 0, 2, 3]} : (tensor<2x3x4x3xf32>) -> tensor<3x2x4x3xf32>
// CHECK-NOT:     "tg.matmul"
// CHECK-NOT:     "tg.broadcast_to"
func.func @matmul_broadcast_bmm(%a0: tensor<3x2x4x5xf32>, %a1: tensor<2x5x3xf32>) -> tensor<3x2x4x3xf32> {
  %0 = "tg.matmul"(%a0, %a1) : (tensor<3x2x4x5xf32>, tensor<2x5x3xf32>) -> tensor<3x2x4x3xf32>
  return %0 : tensor<3x2x4x3xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_mean(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4x5xf32>) -> tensor<4xf32>
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[X]]) {dims = [0, 2], keepdim = false} : (tensor<?x4x5xf32>) -> tensor<4xf32>
// CHECK:         %[[N:.*]] = "tg.dim_size"(%[[X]]) {dim = 0 : i64}
// CHECK:         %[[NF:.*]] = "tg.convert"(%[[N]]) : (tensor<i64>) -> tensor<f32>
// CHECK:         %[[CNT:.*]] = "tg.mul"(%{{.*}}, %[[NF]])
// CHECK:         "tg.div"(%[[S]], %[[CNT]]) : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
// CHECK-NOT:     "tg.reduce_mean"
func.func @reduce_mean(%a0: tensor<?x4x5xf32>) -> tensor<4xf32> {
  %0 = "tg.reduce_mean"(%a0) {dims = [0, 2], keepdim = false} : (tensor<?x4x5xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME:    %[[X:.*]]: tensor<?x7xf32>)
// The max only shifts exp's argument: marked so that it may ignore NaNs (Note [shift-only
// max], lowering/to_linalg/reduce.py).
// CHECK:         %[[M:.*]] = "tg.reduce_max"(%[[X]]) {dims = [1], dynamlir.shift_only, keepdim = true} : (tensor<?x7xf32>) -> tensor<?x1xf32>
// CHECK:         %[[D:.*]] = "tg.sub"(%[[X]], %[[M]])
// CHECK:         %[[E:.*]] = "tg.exp"(%[[D]])
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[E]]) {dims = [1], keepdim = true}
// CHECK:         %[[I:.*]] = "tg.reciprocal"(%[[S]]) : (tensor<?x1xf32>) -> tensor<?x1xf32>
// CHECK:         "tg.mul"(%[[E]], %[[I]]) : (tensor<?x7xf32>, tensor<?x1xf32>) -> tensor<?x7xf32>
// CHECK-NOT:     "tg.softmax"
// KEEP-LABEL:  func.func @softmax(
// KEEP:          "tg.softmax"(%{{.*}}) {dim = 1 : i64} : (tensor<?x7xf32>) -> tensor<?x7xf32>
// KEEP-NEXT:     return
// CPU-LABEL:   func.func @softmax(
// CPU:           "tg.exp"
// CPU-NOT:       "tg.softmax"
// softmax has its own VJP rule, so the autodiff policy keeps it whole.
// AD-LABEL:    func.func @softmax(
// AD:            "tg.softmax"(%{{.*}}) {dim = 1 : i64} : (tensor<?x7xf32>) -> tensor<?x7xf32>
// AD-NEXT:       return
func.func @softmax(%a0: tensor<?x7xf32>) -> tensor<?x7xf32> {
  %0 = "tg.softmax"(%a0) {dim = 1 : i64} : (tensor<?x7xf32>) -> tensor<?x7xf32>
  return %0 : tensor<?x7xf32>
}

// -----

// CHECK-LABEL: func.func @log_softmax(
// CHECK-SAME:    %[[X:.*]]: tensor<3x7xf32>)
// CHECK:         %[[M:.*]] = "tg.reduce_max"(%[[X]]) {dims = [-1], dynamlir.shift_only, keepdim = true}
// CHECK:         %[[D:.*]] = "tg.sub"(%[[X]], %[[M]])
// CHECK:         %[[E:.*]] = "tg.exp"(%[[D]])
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[E]]) {dims = [-1], keepdim = true}
// CHECK:         %[[L:.*]] = "tg.log"(%[[S]]) : (tensor<3x1xf32>) -> tensor<3x1xf32>
// CHECK:         "tg.sub"(%[[D]], %[[L]]) : (tensor<3x7xf32>, tensor<3x1xf32>) -> tensor<3x7xf32>
// CHECK-NOT:     "tg.log_softmax"
func.func @log_softmax(%a0: tensor<3x7xf32>) -> tensor<3x7xf32> {
  %0 = "tg.log_softmax"(%a0) {dim = -1 : i64} : (tensor<3x7xf32>) -> tensor<3x7xf32>
  return %0 : tensor<3x7xf32>
}

// -----

// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4x5xf32>, %[[W:.*]]: tensor<4x5xf32>, %[[B:.*]]: tensor<4x5xf32>)
// CHECK:         "tg.reduce_sum"(%[[X]]) {dims = [1, 2], keepdim = true} : (tensor<?x4x5xf32>) -> tensor<?x1x1xf32>
// CHECK:         %[[C:.*]] = "tg.sub"(%[[X]], %{{.*}})
// CHECK:         "tg.mul"(%[[C]], %[[C]])
// CHECK:         %[[R:.*]] = "tg.rsqrt"
// CHECK:         %[[N:.*]] = "tg.mul"(%[[C]], %[[R]])
// CHECK:         %[[NW:.*]] = "tg.mul"(%[[N]], %[[W]])
// CHECK:         "tg.add"(%[[NW]], %[[B]]) : (tensor<?x4x5xf32>, tensor<4x5xf32>) -> tensor<?x4x5xf32>
// CHECK-NOT:     "tg.layer_norm"
// CHECK-NOT:     "tg.reduce_mean"
// KEEP-LABEL:  func.func @layer_norm(
// KEEP:          "tg.layer_norm"
// KEEP-NEXT:     return
func.func @layer_norm(%a0: tensor<?x4x5xf32>, %a1: tensor<4x5xf32>, %a2: tensor<4x5xf32>) -> tensor<?x4x5xf32> {
  %0 = "tg.layer_norm"(%a0, %a1, %a2) {eps = 1.000000e-05 : f64, normalized_shape = [4, 5], operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x4x5xf32>, tensor<4x5xf32>, tensor<4x5xf32>) -> tensor<?x4x5xf32>
  return %0 : tensor<?x4x5xf32>
}

// -----

// CHECK-LABEL: func.func @gelu(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[HALF:.*]] = "tg.constant"() {value = dense<5.000000e-01> : tensor<f32>}
// CHECK:         %[[HX:.*]] = "tg.mul"(%[[X]], %[[HALF]])
// CHECK:         %[[RSQRT2:.*]] = "tg.constant"() {value = dense<0.707106769> : tensor<f32>}
// CHECK:         %[[S:.*]] = "tg.mul"(%[[X]], %[[RSQRT2]])
// CHECK:         %[[E:.*]] = "tg.erf"(%[[S]])
// CHECK:         %[[P:.*]] = "tg.add"(%[[E]], %{{.*}})
// CHECK:         "tg.mul"(%[[HX]], %[[P]]) : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NOT:     "tg.gelu"
// CPU-LABEL:   func.func @gelu(
// CPU:           "tg.gelu"(%{{.*}}) {approximate = "none"}
// CPU-NEXT:      return
func.func @gelu(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.gelu"(%a0) {approximate = "none"} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @gelu_tanh(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[X2:.*]] = "tg.mul"(%[[X]], %[[X]])
// CHECK:         %[[X3:.*]] = "tg.mul"(%[[X2]], %[[X]])
// CHECK:         "tg.constant"() {value = dense<4.471500e-02> : tensor<f32>}
// CHECK:         "tg.constant"() {value = dense<0.797884583> : tensor<f32>}
// CHECK:         "tg.tanh"
// CHECK-NOT:     "tg.erf"
// CHECK-NOT:     "tg.gelu"
func.func @gelu_tanh(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.gelu"(%a0) {approximate = "tanh"} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME:    %[[X:.*]]: tensor<?x6x3x3xf32>, %[[W:.*]]: tensor<6xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK:         %[[G:.*]] = "tg.reshape"(%[[X]]) : (tensor<?x6x3x3xf32>) -> tensor<?x3x2x3x3xf32>
// CHECK:         "tg.reduce_sum"(%[[G]]) {dims = [2, 3, 4], keepdim = true} : (tensor<?x3x2x3x3xf32>) -> tensor<?x3x1x1x1xf32>
// CHECK:         "tg.constant"() {value = dense<1.800000e+01> : tensor<f32>}
// CHECK:         "tg.rsqrt"
// CHECK:         %[[N:.*]] = "tg.reshape"(%{{.*}}) : (tensor<?x3x2x3x3xf32>) -> tensor<?x6x3x3xf32>
// CHECK:         %[[WC:.*]] = "tg.reshape"(%[[W]]) : (tensor<6xf32>) -> tensor<6x1x1xf32>
// CHECK:         "tg.mul"(%[[N]], %[[WC]])
// CHECK:         "tg.reshape"(%[[B]]) : (tensor<6xf32>) -> tensor<6x1x1xf32>
// CHECK-NOT:     "tg.group_norm"
func.func @group_norm(%a0: tensor<?x6x3x3xf32>, %a1: tensor<6xf32>, %a2: tensor<6xf32>) -> tensor<?x6x3x3xf32> {
  %0 = "tg.group_norm"(%a0, %a1, %a2) {eps = 1.000000e-05 : f64, num_groups = 3 : i64, operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x6x3x3xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<?x6x3x3xf32>
  return %0 : tensor<?x6x3x3xf32>
}

// -----

// CHECK-LABEL: func.func @batch_norm_eval(
// CHECK-SAME:    %[[X:.*]]: tensor<3x4x2x2xf32>, %[[RM:.*]]: tensor<4xf32>, %[[RV:.*]]: tensor<4xf32>, %[[W:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK:         %[[M:.*]] = "tg.reshape"(%[[RM]]) : (tensor<4xf32>) -> tensor<4x1x1xf32>
// CHECK:         %[[V:.*]] = "tg.reshape"(%[[RV]]) : (tensor<4xf32>) -> tensor<4x1x1xf32>
// CHECK:         %[[C:.*]] = "tg.sub"(%[[X]], %[[M]])
// CHECK:         %[[VE:.*]] = "tg.add"(%[[V]], %{{.*}})
// CHECK:         %[[R:.*]] = "tg.rsqrt"(%[[VE]])
// CHECK:         "tg.mul"(%[[C]], %[[R]])
// CHECK-NOT:     "tg.reduce_sum"
// CHECK-NOT:     "tg.batch_norm"
func.func @batch_norm_eval(%a0: tensor<3x4x2x2xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>, %a3: tensor<4xf32>, %a4: tensor<4xf32>) -> tensor<3x4x2x2xf32> {
  %0 = "tg.batch_norm"(%a0, %a1, %a2, %a3, %a4) {eps = 1.000000e-05 : f64, momentum = 1.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 2>, resultSegmentSizes = array<i32: 1, 0>, training = false} : (tensor<3x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4x2x2xf32>
  return %0 : tensor<3x4x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @batch_norm_train(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4x2x2xf32>, %[[RM:.*]]: tensor<4xf32>, %[[RV:.*]]: tensor<4xf32>, %{{.*}}: tensor<4xf32>, %{{.*}}: tensor<4xf32>)
// CHECK-SAME:    -> (tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK:         "tg.reduce_sum"(%[[X]]) {dims = [0, 2, 3], keepdim = true} : (tensor<?x4x2x2xf32>) -> tensor<1x4x1x1xf32>
// CHECK:         "tg.dim_size"(%[[X]]) {dim = 0 : i64}
// CHECK:         %[[MEAN:.*]] = "tg.div"
// CHECK:         "tg.rsqrt"
// CHECK:         %[[OUT:.*]] = "tg.add"(%{{.*}}, %{{.*}}) : (tensor<?x4x2x2xf32>, tensor<4x1x1xf32>) -> tensor<?x4x2x2xf32>
// CHECK:         %[[N1:.*]] = "tg.sub"(%[[N:.*]], %{{.*}}) : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK:         %[[BESSEL:.*]] = "tg.div"(%[[N]], %[[N1]])
// CHECK:         %[[UNB:.*]] = "tg.mul"(%{{.*}}, %[[BESSEL]]) : (tensor<1x4x1x1xf32>, tensor<f32>) -> tensor<1x4x1x1xf32>
// CHECK:         "tg.constant"() {value = dense<8.000000e-01> : tensor<f32>}
// CHECK:         "tg.reshape"(%[[MEAN]]) : (tensor<1x4x1x1xf32>) -> tensor<4xf32>
// CHECK:         %[[NEWM:.*]] = "tg.add"
// CHECK:         "tg.mul"(%[[RV]], %{{.*}})
// CHECK:         "tg.reshape"(%[[UNB]]) : (tensor<1x4x1x1xf32>) -> tensor<4xf32>
// CHECK:         %[[NEWV:.*]] = "tg.add"
// CHECK:         return %[[OUT]], %[[NEWM]], %[[NEWV]]
// CHECK-NOT:     "tg.batch_norm"
func.func @batch_norm_train(%a0: tensor<?x4x2x2xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>, %a3: tensor<4xf32>, %a4: tensor<4xf32>) -> (tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0:3 = "tg.batch_norm"(%a0, %a1, %a2, %a3, %a4) {eps = 1.000000e-03 : f64, momentum = 2.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 2>, resultSegmentSizes = array<i32: 1, 2>, training = true} : (tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>)
  return %0#0, %0#1, %0#2 : tensor<?x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @silu(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[S:.*]] = "tg.sigmoid"(%[[X]])
// CHECK:         "tg.mul"(%[[X]], %[[S]]) : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NOT:     "tg.silu"
func.func @silu(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.silu"(%a0) : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @mish(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[R:.*]] = "tg.relu"(%[[X]])
// CHECK:         %[[A:.*]] = "tg.abs"(%[[X]])
// CHECK:         %[[NA:.*]] = "tg.neg"(%[[A]])
// CHECK:         %[[E:.*]] = "tg.exp"(%[[NA]])
// CHECK:         %[[L:.*]] = "tg.log1p"(%[[E]])
// CHECK:         %[[SP:.*]] = "tg.add"(%[[R]], %[[L]])
// CHECK:         %[[T:.*]] = "tg.tanh"(%[[SP]])
// CHECK:         "tg.mul"(%[[X]], %[[T]])
// CHECK-NOT:     "tg.mish"
func.func @mish(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.mish"(%a0) : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @hardswish(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[XP3:.*]] = "tg.add"(%[[X]], %{{.*}})
// CHECK:         %[[LO:.*]] = "tg.maximum"(%[[XP3]], %{{.*}})
// CHECK:         %[[HI:.*]] = "tg.minimum"(%[[LO]], %{{.*}})
// CHECK:         %[[Q:.*]] = "tg.div"(%[[HI]], %{{.*}})
// CHECK:         "tg.mul"(%[[X]], %[[Q]])
// CHECK-NOT:     "tg.hardswish"
// CHECK-NOT:     "tg.clamp"
func.func @hardswish(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.hardswish"(%a0) : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @dropout_train(
// CHECK-SAME:    %[[X:.*]]: tensor<?x6xf32>, %[[MASK:.*]]: tensor<?x6xi1>)
// CHECK:         %[[M:.*]] = "tg.convert"(%[[MASK]]) : (tensor<?x6xi1>) -> tensor<?x6xf32>
// CHECK:         %[[SCALE:.*]] = "tg.constant"() {value = dense<1.33333337> : tensor<f32>}
// CHECK:         %[[MS:.*]] = "tg.mul"(%[[M]], %[[SCALE]])
// CHECK:         "tg.mul"(%[[X]], %[[MS]]) : (tensor<?x6xf32>, tensor<?x6xf32>) -> tensor<?x6xf32>
// CHECK-NOT:     "tg.dropout"
func.func @dropout_train(%a0: tensor<?x6xf32>, %a1: tensor<?x6xi1>) -> tensor<?x6xf32> {
  %0 = "tg.dropout"(%a0, %a1) {operandSegmentSizes = array<i32: 1, 1>, p = 2.500000e-01 : f64, train = true} : (tensor<?x6xf32>, tensor<?x6xi1>) -> tensor<?x6xf32>
  return %0 : tensor<?x6xf32>
}

// -----

// CHECK-LABEL: func.func @dropout_eval(
// CHECK-SAME:    %[[X:.*]]: tensor<4x6xf32>)
// CHECK-NEXT:    return %[[X]] : tensor<4x6xf32>
// CHECK-NOT:     "tg.dropout"
func.func @dropout_eval(%a0: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = "tg.dropout"(%a0) {operandSegmentSizes = array<i32: 1, 0>, p = 2.500000e-01 : f64, train = false} : (tensor<4x6xf32>) -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @mse_loss_mean(
// CHECK-SAME:    %[[X:.*]]: tensor<?x5xf32>, %[[Y:.*]]: tensor<?x5xf32>) -> tensor<f32>
// CHECK:         %[[D:.*]] = "tg.sub"(%[[X]], %[[Y]])
// CHECK:         %[[SQ:.*]] = "tg.mul"(%[[D]], %[[D]])
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[SQ]]) {dims = [0, 1], keepdim = false} : (tensor<?x5xf32>) -> tensor<f32>
// CHECK:         "tg.dim_size"(%[[SQ]]) {dim = 0 : i64}
// CHECK:         "tg.div"(%[[S]], %{{.*}}) : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK-NOT:     "tg.mse_loss"
// CHECK-NOT:     "tg.reduce_mean"
func.func @mse_loss_mean(%a0: tensor<?x5xf32>, %a1: tensor<?x5xf32>) -> tensor<f32> {
  %0 = "tg.mse_loss"(%a0, %a1) {reduction = "mean"} : (tensor<?x5xf32>, tensor<?x5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @nll_loss_weight(
// CHECK-SAME:    %[[LOGP:.*]]: tensor<6x5xf32>, %[[T:.*]]: tensor<6xi64>, %[[W:.*]]: tensor<5xf32>) -> tensor<f32>
// CHECK:         %[[CLS:.*]] = "tg.iota"(%[[LOGP]]) {dim = 1 : i64} : (tensor<6x5xf32>) -> tensor<5xi64>
// CHECK:         %[[TC:.*]] = "tg.reshape"(%[[T]]) : (tensor<6xi64>) -> tensor<6x1xi64>
// CHECK:         %[[HOT:.*]] = "tg.eq"(%[[CLS]], %[[TC]]) : (tensor<5xi64>, tensor<6x1xi64>) -> tensor<6x5xi1>
// CHECK:         %[[IGN:.*]] = "tg.constant"() {value = dense<-100> : tensor<i64>}
// CHECK:         %[[VALID:.*]] = "tg.ne"(%[[T]], %[[IGN]])
// CHECK:         "tg.where"(%[[HOT]], %[[W]], %{{.*}}) : (tensor<6x5xi1>, tensor<5xf32>, tensor<f32>) -> tensor<6x5xf32>
// CHECK:         "tg.where"(%[[HOT]], %[[LOGP]], %{{.*}}) : (tensor<6x5xi1>, tensor<6x5xf32>, tensor<f32>) -> tensor<6x5xf32>
// CHECK:         %[[LOSS:.*]] = "tg.neg"
// CHECK:         %[[DEN:.*]] = "tg.reduce_sum"(%{{.*}}) {dims = [], keepdim = false} : (tensor<6xf32>) -> tensor<f32>
// CHECK:         %[[NUM:.*]] = "tg.reduce_sum"(%[[LOSS]]) {dims = [], keepdim = false}
// CHECK:         "tg.div"(%[[NUM]], %[[DEN]])
// CHECK-NOT:     "tg.nll_loss"
func.func @nll_loss_weight(%a0: tensor<6x5xf32>, %a1: tensor<6xi64>, %a2: tensor<5xf32>) -> tensor<f32> {
  %0 = "tg.nll_loss"(%a0, %a1, %a2) {ignore_index = -100 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, reduction = "mean"} : (tensor<6x5xf32>, tensor<6xi64>, tensor<5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @cross_entropy_smooth_weight(
// CHECK-SAME:    %[[X:.*]]: tensor<?x5xf32>, %[[T:.*]]: tensor<?xi64>, %[[W:.*]]: tensor<5xf32>) -> tensor<f32>
// CHECK:         %[[M:.*]] = "tg.reduce_max"(%[[X]]) {dims = [1], dynamlir.shift_only, keepdim = true}
// CHECK:         %[[D:.*]] = "tg.sub"(%[[X]], %[[M]])
// CHECK:         %[[LOGP:.*]] = "tg.sub"(%[[D]], %{{.*}}) : (tensor<?x5xf32>, tensor<?x1xf32>) -> tensor<?x5xf32>
// CHECK:         "tg.iota"(%[[LOGP]]) {dim = 1 : i64} : (tensor<?x5xf32>) -> tensor<5xi64>
// CHECK:         "tg.reshape"(%[[T]]) : (tensor<?xi64>) -> tensor<?x1xi64>
// CHECK:         "tg.where"(%{{.*}}, %[[LOGP]], %{{.*}}) : (tensor<?x5xi1>, tensor<?x5xf32>, tensor<f32>) -> tensor<?x5xf32>
// CHECK:         "tg.mul"(%[[LOGP]], %[[W]]) : (tensor<?x5xf32>, tensor<5xf32>) -> tensor<?x5xf32>
// CHECK:         "tg.constant"() {value = dense<1.000000e-01> : tensor<f32>}
// CHECK:         "tg.constant"() {value = dense<5.000000e+00> : tensor<f32>}
// CHECK:         "tg.constant"() {value = dense<0.899999976> : tensor<f32>}
// CHECK:         %[[R:.*]] = "tg.add"(%{{.*}}, %{{.*}}) : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CHECK-NEXT:    return %[[R]]
// CHECK-NOT:     "tg.cross_entropy"
// CHECK-NOT:     "tg.nll_loss"
// CHECK-NOT:     "tg.log_softmax"
func.func @cross_entropy_smooth_weight(%a0: tensor<?x5xf32>, %a1: tensor<?xi64>, %a2: tensor<5xf32>) -> tensor<f32> {
  %0 = "tg.cross_entropy"(%a0, %a1, %a2) {ignore_index = -100 : i64, label_smoothing = 1.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1>, reduction = "mean"} : (tensor<?x5xf32>, tensor<?xi64>, tensor<5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @sdpa_causal(
// CHECK-SAME:    %[[Q:.*]]: tensor<?x3x5x4xf32>, %[[K:.*]]: tensor<?x3x5x4xf32>, %[[V:.*]]: tensor<?x3x5x6xf32>)
// CHECK:         %[[SCALE:.*]] = "tg.constant"() {value = dense<5.000000e-01> : tensor<f32>}
// CHECK:         %[[KT:.*]] = "tg.permute"(%[[K]]) {perm = [0, 1, 3, 2]}
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) : (tensor<?x5x4xf32>, tensor<?x4x5xf32>) -> tensor<?x5x5xf32>
// CHECK:         %[[S:.*]] = "tg.mul"(%{{.*}}, %[[SCALE]]) : (tensor<?x3x5x5xf32>, tensor<f32>) -> tensor<?x3x5x5xf32>
// CHECK:         %[[NINF:.*]] = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>}
// CHECK:         %[[ROW:.*]] = "tg.iota"(%[[Q]]) {dim = 2 : i64} : (tensor<?x3x5x4xf32>) -> tensor<5xi64>
// CHECK:         %[[ROWC:.*]] = "tg.reshape"(%[[ROW]]) : (tensor<5xi64>) -> tensor<5x1xi64>
// CHECK:         %[[COL:.*]] = "tg.iota"(%[[K]]) {dim = 2 : i64}
// CHECK:         %[[TRIL:.*]] = "tg.ge"(%[[ROWC]], %[[COL]]) : (tensor<5x1xi64>, tensor<5xi64>) -> tensor<5x5xi1>
// CHECK:         "tg.where"(%[[TRIL]], %[[S]], %[[NINF]])
// CHECK:         "tg.exp"
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) : (tensor<?x5x5xf32>, tensor<?x5x6xf32>) -> tensor<?x5x6xf32>
// CHECK-NOT:     "tg.scaled_dot_product_attention"
// CHECK-NOT:     "tg.softmax"
// KEEP-LABEL:  func.func @sdpa_causal(
// KEEP:          "tg.softmax"(%{{.*}}) {dim = 3 : i64} : (tensor<?x3x5x5xf32>) -> tensor<?x3x5x5xf32>
// KEEP-NOT:      "tg.scaled_dot_product_attention"
func.func @sdpa_causal(%a0: tensor<?x3x5x4xf32>, %a1: tensor<?x3x5x4xf32>, %a2: tensor<?x3x5x6xf32>) -> tensor<?x3x5x6xf32> {
  %0 = "tg.scaled_dot_product_attention"(%a0, %a1, %a2) {is_causal = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>, scale = []} : (tensor<?x3x5x4xf32>, tensor<?x3x5x4xf32>, tensor<?x3x5x6xf32>) -> tensor<?x3x5x6xf32>
  return %0 : tensor<?x3x5x6xf32>
}

// -----

// CHECK-LABEL: func.func @sdpa_bool_mask_scale(
// CHECK-SAME:    %[[Q:.*]]: tensor<2x4x3xf32>, %[[K:.*]]: tensor<2x5x3xf32>, %[[V:.*]]: tensor<2x5x2xf32>, %[[MASK:.*]]: tensor<4x5xi1>)
// CHECK:         %[[SCALE:.*]] = "tg.constant"() {value = dense<3.000000e-01> : tensor<f32>}
// CHECK:         %[[S:.*]] = "tg.mul"(%{{.*}}, %[[SCALE]]) : (tensor<2x4x5xf32>, tensor<f32>) -> tensor<2x4x5xf32>
// CHECK:         %[[NINF:.*]] = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>}
// CHECK:         %[[MS:.*]] = "tg.where"(%[[MASK]], %[[S]], %[[NINF]]) : (tensor<4x5xi1>, tensor<2x4x5xf32>, tensor<f32>) -> tensor<2x4x5xf32>
// CHECK:         %[[P:.*]] = "tg.mul"
// CHECK:         %[[RM:.*]] = "tg.reduce_max"(%[[MS]]) {dims = [2], keepdim = true}
// CHECK:         %[[EMPTY:.*]] = "tg.eq"(%[[RM]], %[[NINF]]) : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xi1>
// CHECK:         %[[P0:.*]] = "tg.where"(%[[EMPTY]], %{{.*}}, %[[P]])
// CHECK:         "tg.bmm"(%[[P0]], %[[V]]) : (tensor<2x4x5xf32>, tensor<2x5x2xf32>) -> tensor<2x4x2xf32>
// CHECK-NOT:     "tg.scaled_dot_product_attention"
func.func @sdpa_bool_mask_scale(%a0: tensor<2x4x3xf32>, %a1: tensor<2x5x3xf32>, %a2: tensor<2x5x2xf32>, %a3: tensor<4x5xi1>) -> tensor<2x4x2xf32> {
  %0 = "tg.scaled_dot_product_attention"(%a0, %a1, %a2, %a3) {is_causal = false, operandSegmentSizes = array<i32: 1, 1, 1, 1>, scale = [3.000000e-01]} : (tensor<2x4x3xf32>, tensor<2x5x3xf32>, tensor<2x5x2xf32>, tensor<4x5xi1>) -> tensor<2x4x2xf32>
  return %0 : tensor<2x4x2xf32>
}

// -----

// CHECK-LABEL: func.func @embedding(
// CHECK-SAME:    %[[W:.*]]: tensor<10x4xf32>, %[[I:.*]]: tensor<?x5xi64>) -> tensor<?x5x4xf32>
// CHECK-NEXT:    %[[R:.*]] = "tg.index_select"(%[[W]], %[[I]]) {dim = 0 : i64} : (tensor<10x4xf32>, tensor<?x5xi64>) -> tensor<?x5x4xf32>
// CHECK-NEXT:    return %[[R]]
// CHECK-NOT:     "tg.embedding"
func.func @embedding(%a0: tensor<10x4xf32>, %a1: tensor<?x5xi64>) -> tensor<?x5x4xf32> {
  %0 = "tg.embedding"(%a0, %a1) : (tensor<10x4xf32>, tensor<?x5xi64>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d(
// CHECK-SAME:    %[[X:.*]]: tensor<?x4x7x8xf32>, %[[W:.*]]: tensor<6x2x3x3xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK:         %[[C:.*]] = "tg.convolution"(%[[X]], %[[W]]) {dilation = [1, 2], groups = 2 : i64, padding = [1, 2], stride = [2, 1]} : (tensor<?x4x7x8xf32>, tensor<6x2x3x3xf32>) -> tensor<?x6x4x8xf32>
// CHECK:         %[[BC:.*]] = "tg.reshape"(%[[B]]) : (tensor<6xf32>) -> tensor<6x1x1xf32>
// CHECK:         "tg.add"(%[[C]], %[[BC]]) : (tensor<?x6x4x8xf32>, tensor<6x1x1xf32>) -> tensor<?x6x4x8xf32>
// CHECK-NOT:     "tg.conv2d"
func.func @conv2d(%a0: tensor<?x4x7x8xf32>, %a1: tensor<6x2x3x3xf32>, %a2: tensor<6xf32>) -> tensor<?x6x4x8xf32> {
  %0 = "tg.conv2d"(%a0, %a1, %a2) {dilation = [1, 2], groups = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, padding = [1, 2], stride = [2, 1]} : (tensor<?x4x7x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<?x6x4x8xf32>
  return %0 : tensor<?x6x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @var_mean(
// CHECK-SAME:    %[[X:.*]]: tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>)
// CHECK:         %[[MEAN:.*]] = "tg.div"(%{{.*}}, %{{.*}}) : (tensor<?x1x2xf32>, tensor<f32>) -> tensor<?x1x2xf32>
// CHECK:         %[[C:.*]] = "tg.sub"(%[[X]], %[[MEAN]])
// CHECK:         %[[SS:.*]] = "tg.reduce_sum"(%{{.*}}) {dims = [1], keepdim = true}
// CHECK:         "tg.constant"() {value = dense<0.000000e+00> : tensor<f32>}
// CHECK:         %[[DEN:.*]] = "tg.maximum"
// CHECK:         %[[VAR:.*]] = "tg.div"(%[[SS]], %[[DEN]])
// CHECK:         return %[[VAR]], %[[MEAN]]
// CHECK-NOT:     "tg.var_mean"
func.func @var_mean(%a0: tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>) {
  %0:2 = "tg.var_mean"(%a0) {correction = 0.000000e+00 : f64, dims = [1], keepdim = true} : (tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>)
  return %0#0, %0#1 : tensor<?x1x2xf32>, tensor<?x1x2xf32>
}

// -----

// CHECK-LABEL: func.func @var(
// CHECK-SAME:    %[[X:.*]]: tensor<3x6x2xf32>) -> tensor<6xf32>
// CHECK:         "tg.reduce_sum"(%{{.*}}) {dims = [0, 2], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<6xf32>
// CHECK:         "tg.constant"() {value = dense<6.000000e+00> : tensor<f32>}
// CHECK:         "tg.constant"() {value = dense<1.000000e+00> : tensor<f32>}
// CHECK:         "tg.maximum"
// CHECK-NOT:     "tg.var"
func.func @var(%a0: tensor<3x6x2xf32>) -> tensor<6xf32> {
  %0 = "tg.var"(%a0) {correction = 1.000000e+00 : f64, dims = [0, 2], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

// CHECK-LABEL: func.func @std(
// CHECK-SAME:    %[[X:.*]]: tensor<3x6x2xf32>) -> tensor<f32>
// CHECK:         "tg.reduce_sum"(%{{.*}}) {dims = [0, 1, 2], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<f32>
// CHECK:         %[[V:.*]] = "tg.div"
// CHECK:         "tg.sqrt"(%[[V]]) : (tensor<f32>) -> tensor<f32>
// CHECK-NOT:     "tg.std"
func.func @std(%a0: tensor<3x6x2xf32>) -> tensor<f32> {
  %0 = "tg.std"(%a0) {correction = 1.000000e+00 : f64, dims = [], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @norm_p2(
// CHECK-SAME:    %[[X:.*]]: tensor<3x6x2xf32>) -> tensor<3x2xf32>
// CHECK:         %[[SQ:.*]] = "tg.mul"(%[[X]], %[[X]])
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[SQ]]) {dims = [1], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<3x2xf32>
// CHECK:         "tg.sqrt"(%[[S]])
// CHECK-NOT:     "tg.norm"
func.func @norm_p2(%a0: tensor<3x6x2xf32>) -> tensor<3x2xf32> {
  %0 = "tg.norm"(%a0) {dims = [1], keepdim = false, p = 2.000000e+00 : f64} : (tensor<3x6x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func.func @norm_pinf(
// CHECK-SAME:    %[[X:.*]]: tensor<3x6x2xf32>) -> tensor<3x2xf32>
// CHECK:         %[[A:.*]] = "tg.abs"(%[[X]])
// CHECK:         "tg.reduce_max"(%[[A]]) {dims = [1], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<3x2xf32>
// CHECK-NOT:     "tg.norm"
func.func @norm_pinf(%a0: tensor<3x6x2xf32>) -> tensor<3x2xf32> {
  %0 = "tg.norm"(%a0) {dims = [1], keepdim = false, p = 0x7FF0000000000000 : f64} : (tensor<3x6x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func.func @logsumexp(
// CHECK-SAME:    %[[X:.*]]: tensor<?x6xf32>) -> tensor<?xf32>
// CHECK:         %[[M:.*]] = "tg.reduce_max"(%[[X]]) {dims = [1], keepdim = true} : (tensor<?x6xf32>) -> tensor<?x1xf32>
// CHECK:         %[[INF:.*]] = "tg.isinf"(%[[M]])
// CHECK:         %[[MS:.*]] = "tg.where"(%[[INF]], %{{.*}}, %[[M]])
// CHECK:         %[[D:.*]] = "tg.sub"(%[[X]], %[[MS]])
// CHECK:         %[[E:.*]] = "tg.exp"(%[[D]])
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[E]]) {dims = [1], keepdim = true}
// CHECK:         %[[L:.*]] = "tg.log"(%[[S]])
// CHECK:         %[[R:.*]] = "tg.add"(%[[L]], %[[MS]])
// CHECK:         "tg.reshape"(%[[R]]) : (tensor<?x1xf32>) -> tensor<?xf32>
// CHECK-NOT:     "tg.logsumexp"
func.func @logsumexp(%a0: tensor<?x6xf32>) -> tensor<?xf32> {
  %0 = "tg.logsumexp"(%a0) {dims = [1], keepdim = false} : (tensor<?x6xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// CHECK-LABEL: func.func @addcmul(
// CHECK-SAME:    %[[X:.*]]: tensor<3x4xf32>, %[[A:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK:         %[[P:.*]] = "tg.mul"(%[[A]], %[[B]])
// CHECK:         %[[V:.*]] = "tg.constant"() {value = dense<5.000000e-01> : tensor<f32>}
// CHECK:         %[[PV:.*]] = "tg.mul"(%[[P]], %[[V]])
// CHECK:         "tg.add"(%[[X]], %[[PV]])
// CHECK-NOT:     "tg.addcmul"
func.func @addcmul(%a0: tensor<3x4xf32>, %a1: tensor<3x4xf32>, %a2: tensor<4xf32>) -> tensor<3x4xf32> {
  %0 = "tg.addcmul"(%a0, %a1, %a2) {value = 5.000000e-01 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func.func @addcdiv(
// CHECK-SAME:    %[[X:.*]]: tensor<3x4xf32>, %[[A:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK:         %[[Q:.*]] = "tg.div"(%[[A]], %[[B]])
// CHECK:         %[[V:.*]] = "tg.constant"() {value = dense<-2.000000e+00> : tensor<f32>}
// CHECK:         %[[QV:.*]] = "tg.mul"(%[[Q]], %[[V]])
// CHECK:         "tg.add"(%[[X]], %[[QV]])
// CHECK-NOT:     "tg.addcdiv"
func.func @addcdiv(%a0: tensor<3x4xf32>, %a1: tensor<3x4xf32>, %a2: tensor<4xf32>) -> tensor<3x4xf32> {
  %0 = "tg.addcdiv"(%a0, %a1, %a2) {value = -2.000000e+00 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func.func @clamp(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[LO:.*]] = "tg.constant"() {value = dense<-5.000000e-01> : tensor<f32>}
// CHECK:         %[[A:.*]] = "tg.maximum"(%[[X]], %[[LO]])
// CHECK:         %[[HI:.*]] = "tg.constant"() {value = dense<0.699999988> : tensor<f32>}
// CHECK:         "tg.minimum"(%[[A]], %[[HI]])
// CHECK-NOT:     "tg.clamp"
func.func @clamp(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.clamp"(%a0) {max = [0.69999999999999996], min = [-5.000000e-01]} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @hardtanh(
// CHECK-SAME:    %[[X:.*]]: tensor<3x8xf32>)
// CHECK:         %[[LO:.*]] = "tg.constant"() {value = dense<-2.000000e+00> : tensor<f32>}
// CHECK:         %[[A:.*]] = "tg.maximum"(%[[X]], %[[LO]])
// CHECK:         %[[HI:.*]] = "tg.constant"() {value = dense<1.500000e+00> : tensor<f32>}
// CHECK:         "tg.minimum"(%[[A]], %[[HI]])
// CHECK-NOT:     "tg.hardtanh"
// CHECK-NOT:     "tg.clamp"
func.func @hardtanh(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.hardtanh"(%a0) {max_val = 1.500000e+00 : f64, min_val = -2.000000e+00 : f64} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// CHECK-LABEL: func.func @upsample_size(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3x8x8xf32>) -> tensor<2x3x16x12xf32>
// CHECK:         %[[IH:.*]] = "tg.constant"() {value = dense<[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]> : tensor<16xi64>}
// CHECK:         %[[H:.*]] = "tg.index_select"(%[[X]], %[[IH]]) {dim = 2 : i64} : (tensor<2x3x8x8xf32>, tensor<16xi64>) -> tensor<2x3x16x8xf32>
// CHECK:         %[[IW:.*]] = "tg.constant"() {value = dense<[0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7]> : tensor<12xi64>}
// CHECK:         "tg.index_select"(%[[H]], %[[IW]]) {dim = 3 : i64} : (tensor<2x3x16x8xf32>, tensor<12xi64>) -> tensor<2x3x16x12xf32>
// CHECK-NOT:     "tg.upsample_nearest2d"
func.func @upsample_size(%a0: tensor<2x3x8x8xf32>) -> tensor<2x3x16x12xf32> {
  %0 = "tg.upsample_nearest2d"(%a0) {output_size = [16, 12], scales = []} : (tensor<2x3x8x8xf32>) -> tensor<2x3x16x12xf32>
  return %0 : tensor<2x3x16x12xf32>
}
