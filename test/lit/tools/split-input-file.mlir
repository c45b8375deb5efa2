// Chunks run one by one: a failing chunk does not stop the others, errors carry line
// numbers of the whole file, outputs are re-joined with the marker, the exit status is 1.
// RUN: not dynamlir-opt %s --split-input-file -tg-decompose > %t.out 2> %t.err
// RUN: filecheck %s --input-file %t.out
// RUN: filecheck %s --input-file %t.err --check-prefix=ERR
// Without the flag the file is one module, and the bad op fails it all.
// RUN: not dynamlir-opt %s 2>&1 | filecheck %s --check-prefix=WHOLE

// CHECK-LABEL: func.func @first(
// CHECK:         "tg.neg"
// CHECK:       // -----
// CHECK-LABEL: func.func @third(
// CHECK:         "tg.reduce_max"
// CHECK-NOT:     "tg.softmax"
// CHECK:       // -----
// CHECK-LABEL: func.func @fourth(
// CHECK-NOT:   // -----
// CHECK-NOT:   @second

// WHOLE-NOT:   func.func

func.func @first(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "tg.neg"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// One error, for the second chunk only.
// WHOLE:       split-input-file.mlir:[[# @LINE + 5]]:8: error: 'tg.add' op result #0
// ERR:         {{^.*}}split-input-file.mlir:[[# @LINE + 4]]:8: error: 'tg.add' op result #0 type tensor<5xf32> does not match inferred tensor<4xf32>
// ERR-NEXT:    {{^}}  %0 = "tg.add"(%x, %x)
// ERR-NEXT:    {{^       \^$}}
func.func @second(%x: tensor<4xf32>) -> tensor<5xf32> {
  %0 = "tg.add"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}
// ERR-NOT:     error

// -----

func.func @third(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @fourth() {
  return
}
