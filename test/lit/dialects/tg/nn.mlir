// Every nn tg op (convolution, index_select and iota primitives; the composite activations,
// normalizations, losses and layers) parses, verifies and prints back unchanged, in custom
// and in generic form.
// RUN: dynamlir-opt %s | dynamlir-opt | filecheck %s
// RUN: dynamlir-opt %s --mlir-print-op-generic | dynamlir-opt | filecheck %s

// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x6x3x3xf32>, %[[A1:.*]]: tensor<6xf32>, %[[A2:.*]]: tensor<6xf32>)
// CHECK:         %[[R0:.*]] = "tg.group_norm"(%[[A0]], %[[A1]], %[[A2]]) {eps = 1.000000e-05 : f64, num_groups = 3 : i64, operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x6x3x3xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<?x6x3x3xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x6x3x3xf32>
func.func @group_norm(%a0: tensor<?x6x3x3xf32>, %a1: tensor<6xf32>, %a2: tensor<6xf32>) -> tensor<?x6x3x3xf32> {
  %0 = "tg.group_norm"(%a0, %a1, %a2) {eps = 1.000000e-05 : f64, num_groups = 3 : i64, operandSegmentSizes = array<i32: 1, 2>} : (tensor<?x6x3x3xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<?x6x3x3xf32>
  return %0 : tensor<?x6x3x3xf32>
}

// CHECK-LABEL: func.func @batch_norm_eval(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x4x2x2xf32>, %[[A1:.*]]: tensor<4xf32>, %[[A2:.*]]: tensor<4xf32>, %[[A3:.*]]: tensor<4xf32>, %[[A4:.*]]: tensor<4xf32>)
// CHECK:         %[[R0:.*]] = "tg.batch_norm"(%[[A0]], %[[A1]], %[[A2]], %[[A3]], %[[A4]]) {eps = 1.000000e-05 : f64, momentum = 1.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 2>, resultSegmentSizes = array<i32: 1, 0>, training = false} : (tensor<3x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4x2x2xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x4x2x2xf32>
func.func @batch_norm_eval(%a0: tensor<3x4x2x2xf32>, %a1: tensor<4xf32>, %a2: tensor<4xf32>, %a3: tensor<4xf32>, %a4: tensor<4xf32>) -> tensor<3x4x2x2xf32> {
  %0 = "tg.batch_norm"(%a0, %a1, %a2, %a3, %a4) {eps = 1.000000e-05 : f64, momentum = 1.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1, 2>, resultSegmentSizes = array<i32: 1, 0>, training = false} : (tensor<3x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4x2x2xf32>
  return %0 : tensor<3x4x2x2xf32>
}

// CHECK-LABEL: func.func @silu(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x8xf32>)
// CHECK:         %[[R0:.*]] = "tg.silu"(%[[A0]]) : (tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x8xf32>
func.func @silu(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.silu"(%a0) : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// CHECK-LABEL: func.func @mish(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x8xf32>)
// CHECK:         %[[R0:.*]] = "tg.mish"(%[[A0]]) : (tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x8xf32>
func.func @mish(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.mish"(%a0) : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// CHECK-LABEL: func.func @hardswish(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x8xf32>)
// CHECK:         %[[R0:.*]] = "tg.hardswish"(%[[A0]]) : (tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x8xf32>
func.func @hardswish(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.hardswish"(%a0) : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// CHECK-LABEL: func.func @dropout_train(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x6xf32>, %[[A1:.*]]: tensor<?x6xi1>)
// CHECK:         %[[R0:.*]] = "tg.dropout"(%[[A0]], %[[A1]]) {operandSegmentSizes = array<i32: 1, 1>, p = 2.500000e-01 : f64, train = true} : (tensor<?x6xf32>, tensor<?x6xi1>) -> tensor<?x6xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x6xf32>
func.func @dropout_train(%a0: tensor<?x6xf32>, %a1: tensor<?x6xi1>) -> tensor<?x6xf32> {
  %0 = "tg.dropout"(%a0, %a1) {operandSegmentSizes = array<i32: 1, 1>, p = 2.500000e-01 : f64, train = true} : (tensor<?x6xf32>, tensor<?x6xi1>) -> tensor<?x6xf32>
  return %0 : tensor<?x6xf32>
}

// CHECK-LABEL: func.func @mse_loss_mean(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x5xf32>, %[[A1:.*]]: tensor<?x5xf32>)
// CHECK:         %[[R0:.*]] = "tg.mse_loss"(%[[A0]], %[[A1]]) {reduction = "mean"} : (tensor<?x5xf32>, tensor<?x5xf32>) -> tensor<f32>
// CHECK-NEXT:    return %[[R0]] : tensor<f32>
func.func @mse_loss_mean(%a0: tensor<?x5xf32>, %a1: tensor<?x5xf32>) -> tensor<f32> {
  %0 = "tg.mse_loss"(%a0, %a1) {reduction = "mean"} : (tensor<?x5xf32>, tensor<?x5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @nll_loss_weight(
// CHECK-SAME:    %[[A0:.*]]: tensor<6x5xf32>, %[[A1:.*]]: tensor<6xi64>, %[[A2:.*]]: tensor<5xf32>)
// CHECK:         %[[R0:.*]] = "tg.nll_loss"(%[[A0]], %[[A1]], %[[A2]]) {ignore_index = -100 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, reduction = "mean"} : (tensor<6x5xf32>, tensor<6xi64>, tensor<5xf32>) -> tensor<f32>
// CHECK-NEXT:    return %[[R0]] : tensor<f32>
func.func @nll_loss_weight(%a0: tensor<6x5xf32>, %a1: tensor<6xi64>, %a2: tensor<5xf32>) -> tensor<f32> {
  %0 = "tg.nll_loss"(%a0, %a1, %a2) {ignore_index = -100 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, reduction = "mean"} : (tensor<6x5xf32>, tensor<6xi64>, tensor<5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @cross_entropy_smooth_weight(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x5xf32>, %[[A1:.*]]: tensor<?xi64>, %[[A2:.*]]: tensor<5xf32>)
// CHECK:         %[[R0:.*]] = "tg.cross_entropy"(%[[A0]], %[[A1]], %[[A2]]) {ignore_index = -100 : i64, label_smoothing = 1.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1>, reduction = "mean"} : (tensor<?x5xf32>, tensor<?xi64>, tensor<5xf32>) -> tensor<f32>
// CHECK-NEXT:    return %[[R0]] : tensor<f32>
func.func @cross_entropy_smooth_weight(%a0: tensor<?x5xf32>, %a1: tensor<?xi64>, %a2: tensor<5xf32>) -> tensor<f32> {
  %0 = "tg.cross_entropy"(%a0, %a1, %a2) {ignore_index = -100 : i64, label_smoothing = 1.000000e-01 : f64, operandSegmentSizes = array<i32: 1, 1, 1>, reduction = "mean"} : (tensor<?x5xf32>, tensor<?xi64>, tensor<5xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @sdpa_causal(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x3x5x4xf32>, %[[A1:.*]]: tensor<?x3x5x4xf32>, %[[A2:.*]]: tensor<?x3x5x6xf32>)
// CHECK:         %[[R0:.*]] = "tg.scaled_dot_product_attention"(%[[A0]], %[[A1]], %[[A2]]) {is_causal = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>, scale = []} : (tensor<?x3x5x4xf32>, tensor<?x3x5x4xf32>, tensor<?x3x5x6xf32>) -> tensor<?x3x5x6xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x3x5x6xf32>
func.func @sdpa_causal(%a0: tensor<?x3x5x4xf32>, %a1: tensor<?x3x5x4xf32>, %a2: tensor<?x3x5x6xf32>) -> tensor<?x3x5x6xf32> {
  %0 = "tg.scaled_dot_product_attention"(%a0, %a1, %a2) {is_causal = true, operandSegmentSizes = array<i32: 1, 1, 1, 0>, scale = []} : (tensor<?x3x5x4xf32>, tensor<?x3x5x4xf32>, tensor<?x3x5x6xf32>) -> tensor<?x3x5x6xf32>
  return %0 : tensor<?x3x5x6xf32>
}

// CHECK-LABEL: func.func @embedding(
// CHECK-SAME:    %[[A0:.*]]: tensor<10x4xf32>, %[[A1:.*]]: tensor<?x5xi64>)
// CHECK:         %[[R0:.*]] = "tg.embedding"(%[[A0]], %[[A1]]) : (tensor<10x4xf32>, tensor<?x5xi64>) -> tensor<?x5x4xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x5x4xf32>
func.func @embedding(%a0: tensor<10x4xf32>, %a1: tensor<?x5xi64>) -> tensor<?x5x4xf32> {
  %0 = "tg.embedding"(%a0, %a1) : (tensor<10x4xf32>, tensor<?x5xi64>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// CHECK-LABEL: func.func @conv2d(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x4x7x8xf32>, %[[A1:.*]]: tensor<6x2x3x3xf32>, %[[A2:.*]]: tensor<6xf32>)
// CHECK:         %[[R0:.*]] = "tg.conv2d"(%[[A0]], %[[A1]], %[[A2]]) {dilation = [1, 2], groups = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, padding = [1, 2], stride = [2, 1]} : (tensor<?x4x7x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<?x6x4x8xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?x6x4x8xf32>
func.func @conv2d(%a0: tensor<?x4x7x8xf32>, %a1: tensor<6x2x3x3xf32>, %a2: tensor<6xf32>) -> tensor<?x6x4x8xf32> {
  %0 = "tg.conv2d"(%a0, %a1, %a2) {dilation = [1, 2], groups = 2 : i64, operandSegmentSizes = array<i32: 1, 1, 1>, padding = [1, 2], stride = [2, 1]} : (tensor<?x4x7x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<?x6x4x8xf32>
  return %0 : tensor<?x6x4x8xf32>
}

// CHECK-LABEL: func.func @var_mean(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>)
// CHECK:         %[[R0:.*]]:2 = "tg.var_mean"(%[[A0]]) {correction = 0.000000e+00 : f64, dims = [1], keepdim = true} : (tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>)
// CHECK-NEXT:    return %[[R0]]#0, %[[R0]]#1 : tensor<?x1x2xf32>, tensor<?x1x2xf32>
func.func @var_mean(%a0: tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>) {
  %0:2 = "tg.var_mean"(%a0) {correction = 0.000000e+00 : f64, dims = [1], keepdim = true} : (tensor<?x6x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>)
  return %0#0, %0#1 : tensor<?x1x2xf32>, tensor<?x1x2xf32>
}

// CHECK-LABEL: func.func @var(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x6x2xf32>)
// CHECK:         %[[R0:.*]] = "tg.var"(%[[A0]]) {correction = 1.000000e+00 : f64, dims = [0, 2], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<6xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<6xf32>
func.func @var(%a0: tensor<3x6x2xf32>) -> tensor<6xf32> {
  %0 = "tg.var"(%a0) {correction = 1.000000e+00 : f64, dims = [0, 2], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// CHECK-LABEL: func.func @std(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x6x2xf32>)
// CHECK:         %[[R0:.*]] = "tg.std"(%[[A0]]) {correction = 1.000000e+00 : f64, dims = [], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<f32>
// CHECK-NEXT:    return %[[R0]] : tensor<f32>
func.func @std(%a0: tensor<3x6x2xf32>) -> tensor<f32> {
  %0 = "tg.std"(%a0) {correction = 1.000000e+00 : f64, dims = [], keepdim = false} : (tensor<3x6x2xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @norm_p2(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x6x2xf32>)
// CHECK:         %[[R0:.*]] = "tg.norm"(%[[A0]]) {dims = [1], keepdim = false, p = 2.000000e+00 : f64} : (tensor<3x6x2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x2xf32>
func.func @norm_p2(%a0: tensor<3x6x2xf32>) -> tensor<3x2xf32> {
  %0 = "tg.norm"(%a0) {dims = [1], keepdim = false, p = 2.000000e+00 : f64} : (tensor<3x6x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @logsumexp(
// CHECK-SAME:    %[[A0:.*]]: tensor<?x6xf32>)
// CHECK:         %[[R0:.*]] = "tg.logsumexp"(%[[A0]]) {dims = [1], keepdim = false} : (tensor<?x6xf32>) -> tensor<?xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<?xf32>
func.func @logsumexp(%a0: tensor<?x6xf32>) -> tensor<?xf32> {
  %0 = "tg.logsumexp"(%a0) {dims = [1], keepdim = false} : (tensor<?x6xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @addcmul(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x4xf32>, %[[A1:.*]]: tensor<3x4xf32>, %[[A2:.*]]: tensor<4xf32>)
// CHECK:         %[[R0:.*]] = "tg.addcmul"(%[[A0]], %[[A1]], %[[A2]]) {value = 5.000000e-01 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x4xf32>
func.func @addcmul(%a0: tensor<3x4xf32>, %a1: tensor<3x4xf32>, %a2: tensor<4xf32>) -> tensor<3x4xf32> {
  %0 = "tg.addcmul"(%a0, %a1, %a2) {value = 5.000000e-01 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @addcdiv(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x4xf32>, %[[A1:.*]]: tensor<3x4xf32>, %[[A2:.*]]: tensor<4xf32>)
// CHECK:         %[[R0:.*]] = "tg.addcdiv"(%[[A0]], %[[A1]], %[[A2]]) {value = -2.000000e+00 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x4xf32>
func.func @addcdiv(%a0: tensor<3x4xf32>, %a1: tensor<3x4xf32>, %a2: tensor<4xf32>) -> tensor<3x4xf32> {
  %0 = "tg.addcdiv"(%a0, %a1, %a2) {value = -2.000000e+00 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @clamp(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x8xf32>)
// CHECK:         %[[R0:.*]] = "tg.clamp"(%[[A0]]) {max = [0.69999999999999996], min = [-5.000000e-01]} : (tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x8xf32>
func.func @clamp(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.clamp"(%a0) {max = [0.69999999999999996], min = [-5.000000e-01]} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// CHECK-LABEL: func.func @hardtanh(
// CHECK-SAME:    %[[A0:.*]]: tensor<3x8xf32>)
// CHECK:         %[[R0:.*]] = "tg.hardtanh"(%[[A0]]) {max_val = 1.500000e+00 : f64, min_val = -2.000000e+00 : f64} : (tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<3x8xf32>
func.func @hardtanh(%a0: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %0 = "tg.hardtanh"(%a0) {max_val = 1.500000e+00 : f64, min_val = -2.000000e+00 : f64} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// CHECK-LABEL: func.func @upsample_size(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3x8x8xf32>)
// CHECK:         %[[R0:.*]] = "tg.upsample_nearest2d"(%[[A0]]) {output_size = [16, 12], scales = []} : (tensor<2x3x8x8xf32>) -> tensor<2x3x16x12xf32>
// CHECK-NEXT:    return %[[R0]] : tensor<2x3x16x12xf32>
func.func @upsample_size(%a0: tensor<2x3x8x8xf32>) -> tensor<2x3x16x12xf32> {
  %0 = "tg.upsample_nearest2d"(%a0) {output_size = [16, 12], scales = []} : (tensor<2x3x8x8xf32>) -> tensor<2x3x16x12xf32>
  return %0 : tensor<2x3x16x12xf32>
}

// CHECK-LABEL: func.func @convolution(
// CHECK-SAME:    %[[A0:.*]]: tensor<2x3x8x8xf32>, %[[A1:.*]]: tensor<4x3x3x3xf32>, %[[A2:.*]]: tensor<2x4x8xf32>, %[[A3:.*]]: tensor<4x2x3xf32>) -> (tensor<2x4x4x4xf32>, tensor<2x4x4xf32>)
// CHECK:         %[[R0:.*]] = "tg.convolution"(%[[A0]], %[[A1]]) {dilation = [1, 1], groups = 1 : i64, padding = [1, 1], stride = [2, 2]} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x4x4xf32>
// CHECK:         %[[R1:.*]] = "tg.convolution"(%[[A2]], %[[A3]]) {dilation = [2], groups = 2 : i64, padding = [0], stride = [1]} : (tensor<2x4x8xf32>, tensor<4x2x3xf32>) -> tensor<2x4x4xf32>
// CHECK-NEXT:    return %[[R0]], %[[R1]] : tensor<2x4x4x4xf32>, tensor<2x4x4xf32>
func.func @convolution(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %y: tensor<2x4x8xf32>, %v: tensor<4x2x3xf32>) -> (tensor<2x4x4x4xf32>, tensor<2x4x4xf32>) {
  %0 = "tg.convolution"(%x, %w) {dilation = [1, 1], groups = 1 : i64, padding = [1, 1], stride = [2, 2]} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x4x4xf32>
  %1 = "tg.convolution"(%y, %v) {dilation = [2], groups = 2 : i64, padding = [0], stride = [1]} : (tensor<2x4x8xf32>, tensor<4x2x3xf32>) -> tensor<2x4x4xf32>
  return %0, %1 : tensor<2x4x4x4xf32>, tensor<2x4x4xf32>
}

// CHECK-LABEL: func.func @index_select_iota(
// CHECK-SAME:    %[[A0:.*]]: tensor<10x4xf32>, %[[A1:.*]]: tensor<?x5xi64>) -> (tensor<?x5x4xf32>, tensor<10x5xf32>)
// CHECK:         %[[R0:.*]] = "tg.index_select"(%[[A0]], %[[A1]]) {dim = 0 : i64} : (tensor<10x4xf32>, tensor<?x5xi64>) -> tensor<?x5x4xf32>
// CHECK:         %[[R1:.*]] = "tg.iota"(%[[A1]]) {dim = -1 : i64} : (tensor<?x5xi64>) -> tensor<5xi64>
// CHECK:         %[[R2:.*]] = "tg.index_select"(%[[A0]], %[[R1]]) {dim = 1 : i64} : (tensor<10x4xf32>, tensor<5xi64>) -> tensor<10x5xf32>
// CHECK-NEXT:    return %[[R0]], %[[R2]] : tensor<?x5x4xf32>, tensor<10x5xf32>
func.func @index_select_iota(%w: tensor<10x4xf32>, %i: tensor<?x5xi64>) -> (tensor<?x5x4xf32>, tensor<10x5xf32>) {
  %0 = "tg.index_select"(%w, %i) {dim = 0 : i64} : (tensor<10x4xf32>, tensor<?x5xi64>) -> tensor<?x5x4xf32>
  %1 = "tg.iota"(%i) {dim = -1 : i64} : (tensor<?x5xi64>) -> tensor<5xi64>
  %2 = "tg.index_select"(%w, %1) {dim = 1 : i64} : (tensor<10x4xf32>, tensor<5xi64>) -> tensor<10x5xf32>
  return %0, %2 : tensor<?x5x4xf32>, tensor<10x5xf32>
}
