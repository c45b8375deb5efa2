// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-mark-triangular-zeros)' | filecheck %s
// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-narrow-index-math,tg-mark-triangular-zeros)' | filecheck %s
// The masks are found the same after tg-narrow-index-math has made their arithmetic i32.

// Note [triangular zeros]: causal attention as the importer writes it. The mask (key j >
// query i) is iota compares on constants, evaluated at compile time; where(mask, -inf, s)
// then softmax makes P zero above the diagonal, so P @ V's A is zero for k > m, and P^T @
// dO's A (P transposed) zero for k < m.
// The scores Q K^T are selected away there (scaled first): unread above the diagonal.
// CHECK-LABEL: func.func @causal(
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) {dynamlir.unread_c_above = 0 : i64} : (tensor<2x8x4xf32>, tensor<2x4x8xf32>)
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) {dynamlir.zero_a_above = 0 : i64} : (tensor<2x8x8xf32>, tensor<2x8x4xf32>)
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) {dynamlir.zero_a_below = 0 : i64} : (tensor<2x8x8xf32>, tensor<2x8x4xf32>)
func.func @causal(%q: tensor<2x8x4xf32>, %kt: tensor<2x4x8xf32>, %v: tensor<2x8x4xf32>, %do: tensor<2x8x4xf32>) -> (tensor<2x8x4xf32>, tensor<2x8x4xf32>) {
  %raw = "tg.bmm"(%q, %kt) : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
  %half = "tg.constant"() {value = dense<5.000000e-01> : tensor<f32>} : () -> tensor<f32>
  %s = "tg.mul"(%raw, %half) : (tensor<2x8x8xf32>, tensor<f32>) -> tensor<2x8x8xf32>
  %true = "tg.constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %ones = "tg.broadcast_to"(%true) : (tensor<i1>) -> tensor<8x8xi1>
  %i = "tg.iota"(%ones) {dim = 0 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %icol = "tg.reshape"(%i) : (tensor<8xi64>) -> tensor<8x1xi64>
  %j = "tg.iota"(%ones) {dim = 1 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %d = "tg.sub"(%j, %icol) : (tensor<8xi64>, tensor<8x1xi64>) -> tensor<8x8xi64>
  %zero = "tg.constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %keep = "tg.le"(%d, %zero) : (tensor<8x8xi64>, tensor<i64>) -> tensor<8x8xi1>
  %masked = "tg.logical_not"(%keep) : (tensor<8x8xi1>) -> tensor<8x8xi1>
  %ninf = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
  %w = "tg.where"(%masked, %ninf, %s) : (tensor<8x8xi1>, tensor<f32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %p = "tg.softmax"(%w) {dim = -1 : i64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o = "tg.bmm"(%p, %v) : (tensor<2x8x8xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  %pt = "tg.permute"(%p) {perm = [0, 2, 1]} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %dv = "tg.bmm"(%pt, %do) : (tensor<2x8x8xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %o, %dv : tensor<2x8x4xf32>, tensor<2x8x4xf32>
}

// -----

// The backward's score gradient: where(mask, 0, x) scaled, reshaped to the batched
// product's layout. dS @ K reads it as A (zero for k > m); Q^T @ dS as B (zero for n > k).
// A mask keeping j <= i + 1 leaves the first diagonal above the main one: offset 1.
// CHECK-LABEL: func.func @score_gradient(
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) {dynamlir.zero_a_above = 1 : i64}
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) {dynamlir.zero_b_above = 1 : i64}
func.func @score_gradient(%g: tensor<2x3x8x8xf32>, %k: tensor<6x8x4xf32>, %qt: tensor<6x4x8xf32>) -> (tensor<6x8x4xf32>, tensor<6x4x8xf32>) {
  %true = "tg.constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %ones = "tg.broadcast_to"(%true) : (tensor<i1>) -> tensor<8x8xi1>
  %i = "tg.iota"(%ones) {dim = 0 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %icol = "tg.reshape"(%i) : (tensor<8xi64>) -> tensor<8x1xi64>
  %j = "tg.iota"(%ones) {dim = 1 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %d = "tg.sub"(%j, %icol) : (tensor<8xi64>, tensor<8x1xi64>) -> tensor<8x8xi64>
  %one = "tg.constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %masked = "tg.gt"(%d, %one) : (tensor<8x8xi64>, tensor<i64>) -> tensor<8x8xi1>
  %z = "tg.constant"() {value = dense<0.000000e+00> : tensor<f32>} : () -> tensor<f32>
  %ds = "tg.where"(%masked, %z, %g) : (tensor<8x8xi1>, tensor<f32>, tensor<2x3x8x8xf32>) -> tensor<2x3x8x8xf32>
  %scale = "tg.constant"() {value = dense<1.250000e-01> : tensor<f32>} : () -> tensor<f32>
  %dss = "tg.mul"(%ds, %scale) : (tensor<2x3x8x8xf32>, tensor<f32>) -> tensor<2x3x8x8xf32>
  %flat = "tg.reshape"(%dss) : (tensor<2x3x8x8xf32>) -> tensor<6x8x8xf32>
  %dq = "tg.bmm"(%flat, %k) : (tensor<6x8x8xf32>, tensor<6x8x4xf32>) -> tensor<6x8x4xf32>
  %dkt = "tg.bmm"(%qt, %flat) : (tensor<6x4x8xf32>, tensor<6x8x8xf32>) -> tensor<6x4x8xf32>
  return %dq, %dkt : tensor<6x8x4xf32>, tensor<6x4x8xf32>
}

// -----

// A mask that holds no triangle (only the diagonal masked) or that depends on an input
// marks nothing: no side of a diagonal is known to be zero.
// CHECK-LABEL: func.func @not_triangular(
// CHECK-NOT:     dynamlir.zero
func.func @not_triangular(%s: tensor<8x8xf32>, %v: tensor<8x4xf32>, %m: tensor<8x8xi1>) -> (tensor<8x4xf32>, tensor<8x4xf32>) {
  %true = "tg.constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %ones = "tg.broadcast_to"(%true) : (tensor<i1>) -> tensor<8x8xi1>
  %i = "tg.iota"(%ones) {dim = 0 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %icol = "tg.reshape"(%i) : (tensor<8xi64>) -> tensor<8x1xi64>
  %j = "tg.iota"(%ones) {dim = 1 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %off = "tg.eq"(%j, %icol) : (tensor<8xi64>, tensor<8x1xi64>) -> tensor<8x8xi1>
  %ninf = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
  %w = "tg.where"(%off, %ninf, %s) : (tensor<8x8xi1>, tensor<f32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  %p = "tg.softmax"(%w) {dim = -1 : i64} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %o = "tg.mm"(%p, %v) : (tensor<8x8xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  %w2 = "tg.where"(%m, %ninf, %s) : (tensor<8x8xi1>, tensor<f32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  %p2 = "tg.softmax"(%w2) {dim = -1 : i64} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %o2 = "tg.mm"(%p2, %v) : (tensor<8x8xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %o, %o2 : tensor<8x4xf32>, tensor<8x4xf32>
}

// -----

// A -inf region that covers a whole row (here every key of the first query, j > i - 1)
// would make that row's softmax NaN, not zero: no mark.
// CHECK-LABEL: func.func @row_fully_masked(
// CHECK-NOT:     dynamlir.zero
func.func @row_fully_masked(%s: tensor<8x8xf32>, %v: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %true = "tg.constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %ones = "tg.broadcast_to"(%true) : (tensor<i1>) -> tensor<8x8xi1>
  %i = "tg.iota"(%ones) {dim = 0 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %icol = "tg.reshape"(%i) : (tensor<8xi64>) -> tensor<8x1xi64>
  %j = "tg.iota"(%ones) {dim = 1 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %d = "tg.sub"(%j, %icol) : (tensor<8xi64>, tensor<8x1xi64>) -> tensor<8x8xi64>
  %m1 = "tg.constant"() {value = dense<-1> : tensor<i64>} : () -> tensor<i64>
  %masked = "tg.gt"(%d, %m1) : (tensor<8x8xi64>, tensor<i64>) -> tensor<8x8xi1>
  %ninf = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
  %w = "tg.where"(%masked, %ninf, %s) : (tensor<8x8xi1>, tensor<f32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  %p = "tg.softmax"(%w) {dim = -1 : i64} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %o = "tg.mm"(%p, %v) : (tensor<8x8xf32>, tensor<8x4xf32>) -> tensor<8x4xf32>
  return %o : tensor<8x4xf32>
}

// -----

// The backward's dP = dO V^T reaches the results only as P * dP and P * (dP - rowsum(P * dP))
// (softmax's VJP): unread where P is zero. A second use that reads it everywhere (here
// returned) leaves it unmarked.
// CHECK-LABEL: func.func @probability_gradient(
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) {dynamlir.unread_c_above = 0 : i64}
// CHECK:         "tg.bmm"(%{{.*}}, %{{.*}}) : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
func.func @probability_gradient(%s: tensor<2x8x8xf32>, %do: tensor<2x8x4xf32>, %vt: tensor<2x4x8xf32>) -> (tensor<2x8x8xf32>, tensor<2x8x8xf32>) {
  %true = "tg.constant"() {value = dense<true> : tensor<i1>} : () -> tensor<i1>
  %ones = "tg.broadcast_to"(%true) : (tensor<i1>) -> tensor<8x8xi1>
  %i = "tg.iota"(%ones) {dim = 0 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %icol = "tg.reshape"(%i) : (tensor<8xi64>) -> tensor<8x1xi64>
  %j = "tg.iota"(%ones) {dim = 1 : i64} : (tensor<8x8xi1>) -> tensor<8xi64>
  %masked = "tg.gt"(%j, %icol) : (tensor<8xi64>, tensor<8x1xi64>) -> tensor<8x8xi1>
  %ninf = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
  %w = "tg.where"(%masked, %ninf, %s) : (tensor<8x8xi1>, tensor<f32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %p = "tg.softmax"(%w) {dim = -1 : i64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %dp = "tg.bmm"(%do, %vt) : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
  %pdp = "tg.mul"(%dp, %p) : (tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %sum = "tg.reduce_sum"(%pdp) {dims = [-1], keepdim = true} : (tensor<2x8x8xf32>) -> tensor<2x8x1xf32>
  %d = "tg.sub"(%dp, %sum) : (tensor<2x8x8xf32>, tensor<2x8x1xf32>) -> tensor<2x8x8xf32>
  %ds = "tg.mul"(%p, %d) : (tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %dp2 = "tg.bmm"(%do, %vt) : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
  %ds2 = "tg.mul"(%p, %dp2) : (tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  return %ds, %dp2 : tensor<2x8x8xf32>, tensor<2x8x8xf32>
}
