// RUN: env DYNAMLIR_VECTOR_BITS=256 dynamlir-opt %s --pass-pipeline='builtin.module(tg-cpu-matmul-kernels)' | filecheck %s

// With threads, a big matmul becomes a call of @dynamlir_par_<n>(lo, hi, step, a, b, c)
// over its column tiles (16 = 2 vectors of 8 lanes). Matmuls of the same types call the
// same kernel (Note [shared kernels]); another shape gets its own.
// CHECK-LABEL: func.func @shared(
// CHECK-SAME:    %[[A:[^:]*]]: memref<128x256xf32>, %[[B:[^:]*]]: memref<256x256xf32>, %[[C:[^:]*]]: memref<128x256xf32>, %[[A2:[^:]*]]: memref<128x256xf32>, %[[C2:[^:]*]]: memref<128x256xf32>, %[[B3:[^:]*]]: memref<256x128xf32>, %[[C3:[^:]*]]: memref<128x128xf32>)
// CHECK-NOT:     linalg.matmul
// CHECK:         call @dynamlir_par_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[A]], %[[B]], %[[C]])
// CHECK:         call @dynamlir_par_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[A2]], %[[B]], %[[C2]])
// CHECK:         call @dynamlir_par_1(%{{.*}}, %{{.*}}, %{{.*}}, %[[A]], %[[B3]], %[[C3]])
// CHECK:       func.func private @dynamlir_par_0(
// CHECK-COUNT-2: vector.fma
// CHECK:       func.func private @dynamlir_par_1(
// CHECK-NOT:   func.func private @dynamlir_par_2
func.func @shared(%a: memref<128x256xf32>, %b: memref<256x256xf32>, %c: memref<128x256xf32>, %a2: memref<128x256xf32>, %c2: memref<128x256xf32>, %b3: memref<256x128xf32>, %c3: memref<128x128xf32>) {
  linalg.matmul ins(%a, %b : memref<128x256xf32>, memref<256x256xf32>) outs(%c : memref<128x256xf32>)
  linalg.matmul ins(%a2, %b : memref<128x256xf32>, memref<256x256xf32>) outs(%c2 : memref<128x256xf32>)
  linalg.matmul ins(%a, %b3 : memref<128x256xf32>, memref<256x128xf32>) outs(%c3 : memref<128x128xf32>)
  return
}
