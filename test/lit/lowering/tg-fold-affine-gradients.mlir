// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-fold-affine-gradients)' | filecheck %s

// Note [affine gradients before a product]: the joint graph of a layer norm's affine map
// (xhat * gamma + beta) feeding a linear layer, its input without gradient. The gradient
// reaching the affine map (dy @ w) is gone; the weight gradient is dy^T @ xhat scaled by
// gamma plus the bias gradient (x) beta; gamma's and beta's gradients are sums over the
// weight's rows of that product, and of the bias gradient, times w.
// CHECK-LABEL: func.func @layer_norm_linear(
// CHECK-SAME:    %[[XHAT:[^:]*]]: tensor<4x8x16xf32>, %[[GAMMA:[^:]*]]: tensor<16xf32>, %[[BETA:[^:]*]]: tensor<16xf32>, %[[W:[^:]*]]: tensor<32x16xf32>, %[[DY:[^:]*]]: tensor<4x8x32xf32>)
// CHECK:         %[[S:.*]] = "tg.reduce_sum"(%[[DY]]) {dims = [0, 1], keepdim = false} : (tensor<4x8x32xf32>) -> tensor<32xf32>
// CHECK-NEXT:    %[[G:.*]] = "tg.reshape"(%[[DY]]) : (tensor<4x8x32xf32>) -> tensor<32x32xf32>
// CHECK-NEXT:    %[[SCOL:.*]] = "tg.reshape"(%[[S]]) : (tensor<32xf32>) -> tensor<32x1xf32>
// CHECK-NEXT:    %[[SW:.*]] = "tg.mul"(%[[W]], %[[SCOL]]) : (tensor<32x16xf32>, tensor<32x1xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[DBETA:.*]] = "tg.reduce_sum"(%[[SW]]) {dims = [0], keepdim = false} : (tensor<32x16xf32>) -> tensor<16xf32>
// CHECK-NEXT:    %[[GT:.*]] = "tg.permute"(%[[G]]) {perm = [1, 0]} : (tensor<32x32xf32>) -> tensor<32x32xf32>
// CHECK-NEXT:    %[[X2:.*]] = "tg.reshape"(%[[XHAT]]) : (tensor<4x8x16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[N:.*]] = "tg.mm"(%[[GT]], %[[X2]]) : (tensor<32x32xf32>, tensor<32x16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[NW:.*]] = "tg.mul"(%[[N]], %[[W]]) : (tensor<32x16xf32>, tensor<32x16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[DGAMMA:.*]] = "tg.reduce_sum"(%[[NW]]) {dims = [0], keepdim = false} : (tensor<32x16xf32>) -> tensor<16xf32>
// CHECK-NEXT:    %[[SCALED:.*]] = "tg.mul"(%[[N]], %[[GAMMA]]) : (tensor<32x16xf32>, tensor<16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[OUTER:.*]] = "tg.mul"(%[[SCOL]], %[[BETA]]) : (tensor<32x1xf32>, tensor<16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[DW:.*]] = "tg.add"(%[[SCALED]], %[[OUTER]]) : (tensor<32x16xf32>, tensor<32x16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    return %[[DGAMMA]], %[[DBETA]], %[[DW]], %[[S]]
func.func @layer_norm_linear(%xhat: tensor<4x8x16xf32>, %gamma: tensor<16xf32>, %beta: tensor<16xf32>,
                             %w: tensor<32x16xf32>, %dy: tensor<4x8x32xf32>)
    -> (tensor<16xf32>, tensor<16xf32>, tensor<32x16xf32>, tensor<32xf32>) {
  %scaled = "tg.mul"(%xhat, %gamma) : (tensor<4x8x16xf32>, tensor<16xf32>) -> tensor<4x8x16xf32>
  %a = "tg.add"(%scaled, %beta) : (tensor<4x8x16xf32>, tensor<16xf32>) -> tensor<4x8x16xf32>
  %a2 = "tg.reshape"(%a) : (tensor<4x8x16xf32>) -> tensor<32x16xf32>
  %dbias = "tg.reduce_sum"(%dy) {dims = [0, 1], keepdim = false} : (tensor<4x8x32xf32>) -> tensor<32xf32>
  %g = "tg.reshape"(%dy) : (tensor<4x8x32xf32>) -> tensor<32x32xf32>
  %p = "tg.mm"(%g, %w) : (tensor<32x32xf32>, tensor<32x16xf32>) -> tensor<32x16xf32>
  %at = "tg.permute"(%a2) {perm = [1, 0]} : (tensor<32x16xf32>) -> tensor<16x32xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x32xf32>, tensor<32x32xf32>) -> tensor<16x32xf32>
  %p3 = "tg.reshape"(%p) : (tensor<32x16xf32>) -> tensor<4x8x16xf32>
  %qt = "tg.permute"(%q) {perm = [1, 0]} : (tensor<16x32xf32>) -> tensor<32x16xf32>
  %dbeta = "tg.reduce_sum"(%p3) {dims = [0, 1], keepdim = false} : (tensor<4x8x16xf32>) -> tensor<16xf32>
  %px = "tg.mul"(%p3, %xhat) : (tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %dgamma = "tg.reduce_sum"(%px) {dims = [0, 1], keepdim = false} : (tensor<4x8x16xf32>) -> tensor<16xf32>
  return %dgamma, %dbeta, %qt, %dbias : tensor<16xf32>, tensor<16xf32>, tensor<32x16xf32>, tensor<32xf32>
}

// -----

// An RMS norm's scale alone (no beta): the weight gradient is the shared product scaled by
// gamma, with no outer product; a weight gradient read untransposed gets Q back as a
// transpose of it; a keepdim sum gets its shape back.
// CHECK-LABEL: func.func @rms_norm_linear(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<8x16xf32>, %[[GAMMA:[^:]*]]: tensor<16xf32>, %[[W:[^:]*]]: tensor<32x16xf32>, %[[G:[^:]*]]: tensor<8x32xf32>)
// CHECK-NEXT:    %[[GT:.*]] = "tg.permute"(%[[G]]) {perm = [1, 0]}
// CHECK-NEXT:    %[[N:.*]] = "tg.mm"(%[[GT]], %[[X]]) : (tensor<32x8xf32>, tensor<8x16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[NW:.*]] = "tg.mul"(%[[N]], %[[W]])
// CHECK-NEXT:    %[[DGAMMA:.*]] = "tg.reduce_sum"(%[[NW]]) {dims = [0], keepdim = false} : (tensor<32x16xf32>) -> tensor<16xf32>
// CHECK-NEXT:    %[[DW:.*]] = "tg.mul"(%[[N]], %[[GAMMA]]) : (tensor<32x16xf32>, tensor<16xf32>) -> tensor<32x16xf32>
// CHECK-NEXT:    %[[Q:.*]] = "tg.permute"(%[[DW]]) {perm = [1, 0]} : (tensor<32x16xf32>) -> tensor<16x32xf32>
// CHECK-NEXT:    %[[KEEP:.*]] = "tg.reshape"(%[[DGAMMA]]) : (tensor<16xf32>) -> tensor<1x16xf32>
// CHECK-NEXT:    "tg.mul"(%[[GAMMA]], %[[X]])
// CHECK-NEXT:    return %[[KEEP]], %[[Q]]
func.func @rms_norm_linear(%x: tensor<8x16xf32>, %gamma: tensor<16xf32>, %w: tensor<32x16xf32>,
                           %g: tensor<8x32xf32>) -> (tensor<1x16xf32>, tensor<16x32xf32>) {
  %a = "tg.mul"(%gamma, %x) : (tensor<16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %at = "tg.permute"(%a) {perm = [1, 0]} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %px = "tg.mul"(%x, %p) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  %dgamma = "tg.reduce_sum"(%px) {dims = [0], keepdim = true} : (tensor<8x16xf32>) -> tensor<1x16xf32>
  return %dgamma, %q : tensor<1x16xf32>, tensor<16x32xf32>
}

// -----

// A bias add alone (the scale frozen): only the sum moves onto w; the weight gradient
// keeps its product of A.
// CHECK-LABEL: func.func @bias_only(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<8x16xf32>, %[[BETA:[^:]*]]: tensor<16xf32>, %[[W:[^:]*]]: tensor<32x16xf32>, %[[G:[^:]*]]: tensor<8x32xf32>)
// CHECK-NEXT:    %[[S:.*]] = "tg.reduce_sum"(%[[G]]) {dims = [0], keepdim = false} : (tensor<8x32xf32>) -> tensor<32xf32>
// CHECK-NEXT:    %[[SCOL:.*]] = "tg.reshape"(%[[S]])
// CHECK-NEXT:    %[[SW:.*]] = "tg.mul"(%[[W]], %[[SCOL]])
// CHECK-NEXT:    %[[DBETA:.*]] = "tg.reduce_sum"(%[[SW]]) {dims = [0], keepdim = false} : (tensor<32x16xf32>) -> tensor<16xf32>
// CHECK-NEXT:    %[[A:.*]] = "tg.add"(%[[X]], %[[BETA]])
// CHECK-NEXT:    %[[AT:.*]] = "tg.permute"(%[[A]]) {perm = [1, 0]}
// CHECK-NEXT:    %[[Q:.*]] = "tg.mm"(%[[AT]], %[[G]]) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
// CHECK-NEXT:    return %[[DBETA]], %[[Q]]
func.func @bias_only(%x: tensor<8x16xf32>, %beta: tensor<16xf32>, %w: tensor<32x16xf32>,
                     %g: tensor<8x32xf32>) -> (tensor<16xf32>, tensor<16x32xf32>) {
  %a = "tg.add"(%x, %beta) : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %at = "tg.permute"(%a) {perm = [1, 0]} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %dbeta = "tg.reduce_sum"(%p) {dims = [0], keepdim = false} : (tensor<8x16xf32>) -> tensor<16xf32>
  return %dbeta, %q : tensor<16xf32>, tensor<16x32xf32>
}

// -----

// The input needs a gradient too: the affine map's gradient is read by more than sums, so
// both products stay.
// CHECK-LABEL: func.func @input_needs_grad(
// CHECK-COUNT-2: "tg.mm"
// CHECK:         return
func.func @input_needs_grad(%x: tensor<8x16xf32>, %gamma: tensor<16xf32>, %w: tensor<32x16xf32>,
                            %g: tensor<8x32xf32>) -> (tensor<16xf32>, tensor<16x32xf32>, tensor<8x16xf32>) {
  %a = "tg.mul"(%x, %gamma) : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %at = "tg.permute"(%a) {perm = [1, 0]} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %px = "tg.mul"(%p, %x) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  %dgamma = "tg.reduce_sum"(%px) {dims = [0], keepdim = false} : (tensor<8x16xf32>) -> tensor<16xf32>
  %dx = "tg.mul"(%p, %gamma) : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  return %dgamma, %q, %dx : tensor<16xf32>, tensor<16x32xf32>, tensor<8x16xf32>
}

// -----

// The sum is weighted by another tensor than the one the affine map scales: there is no
// product to share, and one of its own would cost as much as the one it replaces.
// CHECK-LABEL: func.func @other_weight(
// CHECK-COUNT-2: "tg.mm"
// CHECK:         return
func.func @other_weight(%x: tensor<8x16xf32>, %y: tensor<8x16xf32>, %gamma: tensor<16xf32>,
                        %w: tensor<32x16xf32>, %g: tensor<8x32xf32>) -> (tensor<16xf32>, tensor<16x32xf32>) {
  %a = "tg.mul"(%x, %gamma) : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %at = "tg.permute"(%a) {perm = [1, 0]} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %py = "tg.mul"(%p, %y) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  %dgamma = "tg.reduce_sum"(%py) {dims = [0], keepdim = false} : (tensor<8x16xf32>) -> tensor<16xf32>
  return %dgamma, %q : tensor<16xf32>, tensor<16x32xf32>
}

// -----

// A sum over the rows of only some of the dims (per batch) is not a column sum: unchanged.
// CHECK-LABEL: func.func @partial_sum(
// CHECK:         "tg.mm"
// CHECK:         "tg.reduce_sum"(%{{.*}}) {dims = [1], keepdim = false} : (tensor<2x4x16xf32>) -> tensor<2x16xf32>
func.func @partial_sum(%w: tensor<32x16xf32>, %g: tensor<8x32xf32>) -> tensor<2x16xf32> {
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %p3 = "tg.reshape"(%p) : (tensor<8x16xf32>) -> tensor<2x4x16xf32>
  %s = "tg.reduce_sum"(%p3) {dims = [1], keepdim = false} : (tensor<2x4x16xf32>) -> tensor<2x16xf32>
  return %s : tensor<2x16xf32>
}

// -----

// The layer's bias gradient computed after the products: the fold's own sum of dy, at the
// insertion point, takes its place (one sum of dy, not two).
// CHECK-LABEL: func.func @bias_gradient_after(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<8x16xf32>, %[[BETA:[^:]*]]: tensor<16xf32>, %[[W:[^:]*]]: tensor<32x16xf32>, %[[G:[^:]*]]: tensor<8x32xf32>)
// CHECK-NEXT:    %[[S:.*]] = "tg.reduce_sum"(%[[G]]) {dims = [0], keepdim = false} : (tensor<8x32xf32>) -> tensor<32xf32>
// CHECK-NOT:     "tg.reduce_sum"(%[[G]])
// CHECK:         return %{{.*}}, %{{.*}}, %[[S]]
func.func @bias_gradient_after(%x: tensor<8x16xf32>, %beta: tensor<16xf32>, %w: tensor<32x16xf32>,
                               %g: tensor<8x32xf32>) -> (tensor<16xf32>, tensor<16x32xf32>, tensor<32xf32>) {
  %a = "tg.add"(%x, %beta) : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %at = "tg.permute"(%a) {perm = [1, 0]} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %dbeta = "tg.reduce_sum"(%p) {dims = [0], keepdim = false} : (tensor<8x16xf32>) -> tensor<16xf32>
  %dbias = "tg.reduce_sum"(%g) {dims = [0], keepdim = false} : (tensor<8x32xf32>) -> tensor<32xf32>
  return %dbeta, %q, %dbias : tensor<16xf32>, tensor<16x32xf32>, tensor<32xf32>
}

// -----

// The bias gradient right after the reshape of dy that the fold reads last: the op the new
// ops are built in front of is the one they replace.
// CHECK-LABEL: func.func @bias_gradient_at_insertion_point(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<8x16xf32>, %[[BETA:[^:]*]]: tensor<16xf32>, %[[W:[^:]*]]: tensor<32x16xf32>, %[[DY:[^:]*]]: tensor<2x4x32xf32>)
// CHECK:         %[[G:.*]] = "tg.reshape"(%[[DY]]) : (tensor<2x4x32xf32>) -> tensor<8x32xf32>
// CHECK-NEXT:    %[[S:.*]] = "tg.reduce_sum"(%[[DY]]) {dims = [0, 1], keepdim = false} : (tensor<2x4x32xf32>) -> tensor<32xf32>
// CHECK-NOT:     "tg.reduce_sum"(%[[DY]])
// CHECK:         return %{{.*}}, %{{.*}}, %[[S]]
func.func @bias_gradient_at_insertion_point(%x: tensor<8x16xf32>, %beta: tensor<16xf32>, %w: tensor<32x16xf32>,
    %dy: tensor<2x4x32xf32>) -> (tensor<16xf32>, tensor<16x32xf32>, tensor<32xf32>) {
  %a = "tg.add"(%x, %beta) : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %g = "tg.reshape"(%dy) : (tensor<2x4x32xf32>) -> tensor<8x32xf32>
  %dbias = "tg.reduce_sum"(%dy) {dims = [0, 1], keepdim = false} : (tensor<2x4x32xf32>) -> tensor<32xf32>
  %p = "tg.mm"(%g, %w) : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %at = "tg.permute"(%a) {perm = [1, 0]} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %q = "tg.mm"(%at, %g) : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %dbeta = "tg.reduce_sum"(%p) {dims = [0], keepdim = false} : (tensor<8x16xf32>) -> tensor<16xf32>
  return %dbeta, %q, %dbias : tensor<16xf32>, tensor<16x32xf32>, tensor<32xf32>
}
