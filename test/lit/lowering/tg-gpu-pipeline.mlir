// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-gpu-pipeline{chip=sm_90})' | filecheck %s

// Row sum: the host keeps only allocation, size arithmetic and launches; the kernels are
// NVVM-dialect functions that read thread/block ids and use shared memory (addr space 3).
// CHECK-LABEL: func.func @row_sum(
// CHECK-SAME:    %[[A:.*]]: memref<?x64xf32>) -> memref<?xf32>
// CHECK:         %[[N:.*]] = memref.dim %[[A]]
// CHECK:         %[[OUT:.*]] = memref.alloc(%[[N]]) {{.*}} : memref<?xf32>
// CHECK:         gpu.launch_func @[[FILL:.*]]::@{{.*}} blocks in
// CHECK:         gpu.launch_func @[[SUM:.*]]::@[[SUMK:.*]] blocks in (%[[N]], %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args({{.*}}%[[A]] : memref<?x64xf32>{{.*}}%[[OUT]] : memref<?xf32>)
// CHECK:         return %[[OUT]]
// CHECK:       gpu.module @[[SUM]] attributes {dynamlir.chip = "sm_90"}
// CHECK:         llvm.mlir.global internal @{{.*}}() {addr_space = 3 : i32} : !llvm.array<64 x f32>
// CHECK:         llvm.func @[[SUMK]]({{.*}}) attributes {gpu.kernel, {{.*}}nvvm.kernel
// CHECK-DAG:       nvvm.read.ptx.sreg.ctaid.x
// CHECK-DAG:       nvvm.read.ptx.sreg.tid.x
// CHECK:           nvvm.barrier
// CHECK-NOT:     linalg.
// CHECK-NOT:     scf.
func.func @row_sum(%a: tensor<?x64xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %z = arith.constant 0.0 : f32
  %n = tensor.dim %a, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]} ins(%a : tensor<?x64xf32>) outs(%f : tensor<?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  } -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// Elementwise math maps to libdevice calls, resolved later by runtime/ptx.py.
// CHECK-LABEL: func.func @gelu_like(
// CHECK:         gpu.launch_func @[[M:.*]]::@{{.*}} blocks in
// CHECK:       gpu.module @[[M]]
// CHECK:         llvm.func @__nv_erff(f32) -> f32
// CHECK:         llvm.func @{{.*}} attributes {gpu.kernel
// CHECK:           nvvm.read.ptx.sreg.tid.x
// CHECK:           llvm.call @__nv_erff
// CHECK-NOT:     math.erf
func.func @gelu_like(%a: tensor<16xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
      iterator_types = ["parallel"]} ins(%a : tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = math.erf %x : f32
    %s = arith.mulf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  return %r : tensor<16xf32>
}
