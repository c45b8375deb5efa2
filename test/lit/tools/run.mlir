// dynamlir-run lowers a tg or linalg-on-tensors module for the CPU, calls the entry and
// prints the results numpy style under a shape and dtype line.
// RUN: %PYTHON -c "import numpy as np; np.save('%t.x.npy', np.arange(6, dtype=np.float32).reshape(2, 3))"
// RUN: dynamlir-run %s --input %t.x.npy | filecheck %s
// RUN: dynamlir-run %s --entry mm_t --input %t.x.npy | filecheck %s --check-prefix=MM
// RUN: dynamlir-run %s --entry gelu --input %t.x.npy --precision 2 | filecheck %s --check-prefix=GELU
// RUN: dynamlir-run %s --entry linalg_add --input %t.x.npy --input %t.x.npy | filecheck %s --check-prefix=LINALG
// RUN: dynamlir-run %s --entry dyn --input-shape 3x4 --seed 0 | filecheck %s --check-prefix=DYN
// RUN: dynamlir-run %s --entry ints --input-shape 5xi64 --seed 3 --print-inputs | filecheck %s --check-prefix=INTS
// RUN: dynamlir-run %s --entry scalar --input-shape f32 --input-shape 2x3 --seed 0 --print-inputs | filecheck %s --check-prefix=SCALAR
// RUN: dynamlir-opt %s -tg-decompose | dynamlir-run - --input %t.x.npy | filecheck %s
// RUN: dynamlir-opt %s -tg-decompose -tg-lower-to-linalg | dynamlir-run - --input %t.x.npy | filecheck %s

// Rows of softmax([[0, 1, 2], [3, 4, 5]]) are both softmax([0, 1, 2]).
// CHECK:      result[0]: shape=(2, 3) dtype=float32
// CHECK-NEXT: {{\[\[}}0.0900, 0.2447, 0.6652],
// CHECK-NEXT:  [0.0900, 0.2447, 0.6652]]
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// x @ x.T for x = [[0, 1, 2], [3, 4, 5]].
// MM:      result[0]: shape=(2, 2) dtype=float32
// MM-NEXT: {{\[\[}} 5.0000, 14.0000],
// MM-NEXT:  [14.0000, 50.0000]]
func.func @mm_t(%x: tensor<2x3xf32>) -> tensor<2x2xf32> {
  %t = "tg.permute"(%x) {perm = [1, 0]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %0 = "tg.matmul"(%x, %t) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// gelu(x) = x * Phi(x): Phi(1) = 0.8413, 2 * Phi(2) = 1.9545.
// GELU:      result[0]: shape=(2, 3) dtype=float32
// GELU-NEXT: {{\[\[}}0.00, 0.84, 1.95],
// GELU-NEXT:  [3.00, 4.00, 5.00]]
func.func @gelu(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.gelu"(%x) {approximate = "none"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Already linalg on tensors: only the CPU lowering is left to do.
// LINALG:      result[0]: shape=(2, 3) dtype=float32
// LINALG-NEXT: {{\[\[ *}}0.0000, 2.0000, 4.0000],
// LINALG-NEXT:  {{\[ *}}6.0000, 8.0000, 10.0000]]
func.func @linalg_add(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %init = tensor.empty() : tensor<2x3xf32>
  %0 = linalg.add ins(%a, %b : tensor<2x3xf32>, tensor<2x3xf32>) outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// A dynamic batch: result shapes come from the inputs. Softmax rows sum to 1 and argmax
// is an index in [0, 4).
// DYN:      result[0]: shape=(3, 4) dtype=float32
// DYN-NEXT: {{\[\[}}0.{{[0-9]+}}, 0.{{[0-9]+}}, 0.{{[0-9]+}}, 0.{{[0-9]+}}],
// DYN:      result[1]: shape=(3,) dtype=int64
// DYN-NEXT: {{\[}}{{[0-3]}}, {{[0-3]}}, {{[0-3]}}]
func.func @dyn(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?xi64>) {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %1 = "tg.argmax"(%x) {dim = 1 : i64, keepdim = false} : (tensor<?x4xf32>) -> tensor<?xi64>
  return %0, %1 : tensor<?x4xf32>, tensor<?xi64>
}

// Integer inputs are drawn from [-5, 5] (torch.randint after torch.manual_seed(3)).
// INTS:      input[0]: shape=(5,) dtype=int64
// INTS-NEXT: {{\[ *}}4, 3, 2, -2, 1]
// INTS-NEXT: result[0]: shape=(5,) dtype=int64
// INTS-NEXT: {{\[ *}}8, 6, 4, -4, 2]
func.func @ints(%x: tensor<5xi64>) -> tensor<5xi64> {
  %0 = "tg.add"(%x, %x) : (tensor<5xi64>, tensor<5xi64>) -> tensor<5xi64>
  return %0 : tensor<5xi64>
}

// A 0-d input broadcasts; torch.manual_seed(0) draws 1.5410 first.
// SCALAR:      input[0]: shape=() dtype=float32
// SCALAR-NEXT: 1.5410
// SCALAR:      result[0]: shape=(2, 3) dtype=float32
func.func @scalar(%s: tensor<f32>, %x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.mul"(%s, %x) : (tensor<f32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
