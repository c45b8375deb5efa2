// RUN: not dynamlir-opt %s 2>&1 | filecheck %s

// A malformed permutation of linalg.transpose's custom syntax is a diagnostic with its
// location (upstream's linalg parser would crash on it: a null attribute dereferenced).
// CHECK: malformed-int-list.mlir:[[# @LINE + 3]]:{{[0-9]+}}: error: expected a list of integers like [1, 0] after 'permutation ='
// CHECK-NOT: Segmentation
func.func @f(%in: memref<4x6xf32>, %out: memref<6x4xf32>) {
  linalg.transpose ins(%in : memref<4x6xf32>) outs(%out : memref<6x4xf32>) permutation = [1, 0, ]
  return
}
