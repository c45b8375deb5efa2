// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-narrow-index-math)' | filecheck %s

// Note [narrow index math]: a causal mask as the importer writes tril. The iotas are
// converted to i32 where they are made; the column - row offset and the diagonal it is
// compared with are i32; the i64 arithmetic is gone.
// CHECK-LABEL: func.func @causal_mask(
// CHECK:         %[[ROW64:.*]] = "tg.iota"(%{{.*}}) {dim = 0 : i64} : (tensor<128x128xi1>) -> tensor<128xi64>
// CHECK-NEXT:    %[[ROW:.*]] = "tg.convert"(%[[ROW64]]) : (tensor<128xi64>) -> tensor<128xi32>
// CHECK-NEXT:    %[[COLUMN:.*]] = "tg.reshape"(%[[ROW]]) : (tensor<128xi32>) -> tensor<128x1xi32>
// CHECK-NEXT:    %[[COL64:.*]] = "tg.iota"(%{{.*}}) {dim = 1 : i64} : (tensor<128x128xi1>) -> tensor<128xi64>
// CHECK-NEXT:    %[[COL:.*]] = "tg.convert"(%[[COL64]]) : (tensor<128xi64>) -> tensor<128xi32>
// CHECK-NEXT:    %[[OFFSET:.*]] = "tg.sub"(%[[COL]], %[[COLUMN]]) : (tensor<128xi32>, tensor<128x1xi32>) -> tensor<128x128xi32>
// CHECK-NEXT:    %[[DIAGONAL:.*]] = "tg.constant"() {value = dense<-3> : tensor<i32>} : () -> tensor<i32>
// CHECK-NEXT:    "tg.le"(%[[OFFSET]], %[[DIAGONAL]]) : (tensor<128x128xi32>, tensor<i32>) -> tensor<128x128xi1>
func.func @causal_mask(%x: tensor<4x128x128xf32>) -> tensor<4x128x128xf32> {
  %ones = "tg.constant"() {value = dense<true> : tensor<128x128xi1>} : () -> tensor<128x128xi1>
  %r = "tg.iota"(%ones) {dim = 0 : i64} : (tensor<128x128xi1>) -> tensor<128xi64>
  %rows = "tg.reshape"(%r) : (tensor<128xi64>) -> tensor<128x1xi64>
  %cols = "tg.iota"(%ones) {dim = 1 : i64} : (tensor<128x128xi1>) -> tensor<128xi64>
  %off = "tg.sub"(%cols, %rows) : (tensor<128xi64>, tensor<128x1xi64>) -> tensor<128x128xi64>
  %diagonal = "tg.constant"() {value = dense<-3> : tensor<i64>} : () -> tensor<i64>
  %keep = "tg.le"(%off, %diagonal) : (tensor<128x128xi64>, tensor<i64>) -> tensor<128x128xi1>
  %ninf = "tg.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
  %y = "tg.where"(%keep, %x, %ninf) : (tensor<128x128xi1>, tensor<4x128x128xf32>, tensor<f32>) -> tensor<4x128x128xf32>
  return %y : tensor<4x128x128xf32>
}

// -----

// Ranges combine through add, neg and broadcast_to; a splat constant of any shape narrows
// to a splat of the same shape.
// CHECK-LABEL: func.func @ranges_combine(
// CHECK:         "tg.add"(%{{.*}}, %{{.*}}) : (tensor<16xi32>, tensor<16xi32>) -> tensor<16xi32>
// CHECK:         "tg.neg"(%{{.*}}) : (tensor<16xi32>) -> tensor<16xi32>
// CHECK:         "tg.broadcast_to"(%{{.*}}) : (tensor<16xi32>) -> tensor<2x16xi32>
// CHECK:         "tg.lt"(%{{.*}}, %{{.*}}) : (tensor<2x16xi32>, tensor<2x16xi32>) -> tensor<2x16xi1>
func.func @ranges_combine(%like: tensor<16xf32>) -> tensor<2x16xi1> {
  %i = "tg.iota"(%like) {dim = 0 : i64} : (tensor<16xf32>) -> tensor<16xi64>
  %seven = "tg.constant"() {value = dense<7> : tensor<16xi64>} : () -> tensor<16xi64>
  %s = "tg.add"(%i, %seven) : (tensor<16xi64>, tensor<16xi64>) -> tensor<16xi64>
  %n = "tg.neg"(%s) : (tensor<16xi64>) -> tensor<16xi64>
  %b = "tg.broadcast_to"(%n) : (tensor<16xi64>) -> tensor<2x16xi64>
  %bound = "tg.constant"() {value = dense<-9> : tensor<2x16xi64>} : () -> tensor<2x16xi64>
  %c = "tg.lt"(%b, %bound) : (tensor<2x16xi64>, tensor<2x16xi64>) -> tensor<2x16xi1>
  return %c : tensor<2x16xi1>
}

// -----

// Positions read by anything but a comparison stay i64 (here one is returned); so does a
// chain whose range may leave +-2^30 (a constant of 2^40), and an iota over a dynamic size.
// CHECK-LABEL: func.func @kept_wide(
// CHECK-NOT:     xi32
// CHECK:         return
func.func @kept_wide(%like: tensor<16xf32>, %dyn: tensor<?xf32>) -> (tensor<16xi64>, tensor<16xi1>, tensor<?xi1>) {
  %i = "tg.iota"(%like) {dim = 0 : i64} : (tensor<16xf32>) -> tensor<16xi64>
  %one = "tg.constant"() {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %next = "tg.add"(%i, %one) : (tensor<16xi64>, tensor<i64>) -> tensor<16xi64>
  %big = "tg.constant"() {value = dense<1099511627776> : tensor<i64>} : () -> tensor<i64>
  %far = "tg.add"(%i, %big) : (tensor<16xi64>, tensor<i64>) -> tensor<16xi64>
  %zero = "tg.constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %c = "tg.gt"(%far, %zero) : (tensor<16xi64>, tensor<i64>) -> tensor<16xi1>
  %d = "tg.iota"(%dyn) {dim = 0 : i64} : (tensor<?xf32>) -> tensor<?xi64>
  %e = "tg.ge"(%d, %zero) : (tensor<?xi64>, tensor<i64>) -> tensor<?xi1>
  return %next, %c, %e : tensor<16xi64>, tensor<16xi1>, tensor<?xi1>
}

// -----

// A static arange imports as a dense constant: its elements give the range, and it is
// rewritten as an i32 constant of the same values.
// CHECK-LABEL: func.func @arange_mask(
// CHECK:         %[[ROWS:.*]] = "tg.constant"() {value = dense<{{\[}}[0], [1], [2], [3]]> : tensor<4x1xi32>} : () -> tensor<4x1xi32>
// CHECK:         %[[COLS:.*]] = "tg.constant"() {value = dense<[0, 1, 2, 3]> : tensor<4xi32>} : () -> tensor<4xi32>
// CHECK:         "tg.ge"(%[[ROWS]], %[[COLS]]) : (tensor<4x1xi32>, tensor<4xi32>) -> tensor<4x4xi1>
func.func @arange_mask() -> tensor<4x4xi1> {
  %rows = "tg.constant"() {value = dense<[[0], [1], [2], [3]]> : tensor<4x1xi64>} : () -> tensor<4x1xi64>
  %cols = "tg.constant"() {value = dense<[0, 1, 2, 3]> : tensor<4xi64>} : () -> tensor<4xi64>
  %m = "tg.ge"(%rows, %cols) : (tensor<4x1xi64>, tensor<4xi64>) -> tensor<4x4xi1>
  return %m : tensor<4x4xi1>
}

// -----

// A value computed from a position that stays i64 stays i64 too, though only a comparison
// reads it.
// CHECK-LABEL: func.func @operand_kept_wide(
// CHECK-NOT:     xi32
// CHECK:         "tg.lt"(%{{.*}}, %{{.*}}) : (tensor<16xi64>, tensor<i64>) -> tensor<16xi1>
func.func @operand_kept_wide(%like: tensor<16xf32>) -> (tensor<16xi64>, tensor<16xi1>) {
  %i = "tg.iota"(%like) {dim = 0 : i64} : (tensor<16xf32>) -> tensor<16xi64>
  %three = "tg.constant"() {value = dense<3> : tensor<i64>} : () -> tensor<i64>
  %d = "tg.sub"(%i, %three) : (tensor<16xi64>, tensor<i64>) -> tensor<16xi64>
  %zero = "tg.constant"() {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %c = "tg.lt"(%d, %zero) : (tensor<16xi64>, tensor<i64>) -> tensor<16xi1>
  return %i, %c : tensor<16xi64>, tensor<16xi1>
}
