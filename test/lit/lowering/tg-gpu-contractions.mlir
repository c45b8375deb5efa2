// RUN: dynamlir-opt %s --pass-pipeline='builtin.module(tg-gpu-pipeline{chip=sm_90})' | filecheck %s

// An elementwise producer (exp) and consumer (bias add) around a matmul: the matmul keeps the
// shared-memory tiled kernel (16x16 threads, two 16x16 tiles in address space 3, a barrier)
// because it sits in its own function while elementwise ops fuse; exp and the bias add run
// as their own elementwise kernels, never inside the contraction.
// CHECK-LABEL: func.func @exp_matmul_bias(
// CHECK-SAME:    %[[A:.*]]: memref<8x16xf32>, %[[B:.*]]: memref<16x4xf32>, %[[C:.*]]: memref<4xf32>)
// CHECK:         %[[X:.*]] = memref.alloc() {{.*}} : memref<8x16xf32>
// CHECK:         gpu.launch_func @[[EXP:.*]]::@{{.*}} blocks in ({{.*}}) threads in (%c256, %c1, %c1) args({{.*}}%[[A]] : memref<8x16xf32>, %[[X]] : memref<8x16xf32>)
// CHECK:         %[[OUT:.*]] = memref.alloc() {{.*}} : memref<8x4xf32>
// CHECK:         gpu.launch_func @{{.*}}::@{{.*}} blocks in ({{.*}}) threads in (%c256, %c1, %c1) args({{.*}}%[[OUT]] : memref<8x4xf32>)
// CHECK:         gpu.launch_func @[[MM:.*]]::@{{.*}} blocks in ({{.*}}) threads in (%c16, %c16, %c1) args({{.*}}%[[X]] : memref<8x16xf32>, {{.*}}%[[B]] : memref<16x4xf32>, %[[OUT]] : memref<8x4xf32>)
// CHECK:         gpu.launch_func @[[BIAS:.*]]::@{{.*}} threads in (%c256, %c1, %c1) args({{.*}}%[[OUT]] : memref<8x4xf32>, %[[C]] : memref<4xf32>)
// CHECK:         return %[[OUT]]
// CHECK:       gpu.module @[[EXP]]
// CHECK:         llvm.call @__nv_expf
// CHECK:       gpu.module @[[MM]]
// CHECK-NEXT:    llvm.mlir.global internal @{{.*}}() {addr_space = 3 : i32} : !llvm.array<256 x f32>
// CHECK-NEXT:    llvm.mlir.global internal @{{.*}}() {addr_space = 3 : i32} : !llvm.array<256 x f32>
// CHECK-NEXT:    llvm.func @{{.*}} attributes {gpu.kernel, gpu.known_block_size = array<i32: 16, 16, 1>
// CHECK-NOT:     llvm.call @__nv_expf
// CHECK:         nvvm.barrier
// CHECK-NOT:     llvm.call @__nv_expf
// CHECK:       gpu.module @[[BIAS]]
// CHECK-NOT:   linalg.
// CHECK-NOT:   func.call
// CHECK-NOT:   dynamlir_contraction
func.func @exp_matmul_bias(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>, %c: tensor<4xf32>) -> tensor<8x4xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]} ins(%a : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %y = math.exp %v : f32
    linalg.yield %y : f32
  } -> tensor<8x16xf32>
  %z = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<8x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e2 : tensor<8x4xf32>) -> tensor<8x4xf32>
  %m = linalg.matmul ins(%x, %b : tensor<8x16xf32>, tensor<16x4xf32>) outs(%f : tensor<8x4xf32>) -> tensor<8x4xf32>
  %e3 = tensor.empty() : tensor<8x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]} ins(%m, %c : tensor<8x4xf32>, tensor<4xf32>) outs(%e3 : tensor<8x4xf32>) {
  ^bb0(%v: f32, %w: f32, %o: f32):
    %y = arith.addf %v, %w : f32
    linalg.yield %y : f32
  } -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}
