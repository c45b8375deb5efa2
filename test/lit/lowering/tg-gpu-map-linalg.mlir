// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(linalg-generalize-named-ops),one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},tg-gpu-map-linalg,canonicalize,cse)' | filecheck %s

// Elementwise with broadcast: one thread per point of the linearized space.
// CHECK-LABEL: func.func @add_bcast(
// CHECK-SAME:    %[[A:.*]]: memref<?x8xf32>, %[[B:.*]]: memref<8xf32>)
// CHECK:         %[[N:.*]] = memref.dim %[[A]]
// CHECK:         %[[TOTAL:.*]] = arith.muli %[[N]], %{{.*}} : index
// CHECK:         %[[GRID:.*]] = arith.ceildivui %[[TOTAL]], %{{.*}} : index
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], {{.*}} threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in
// CHECK:           %[[ROW:.*]] = arith.muli %[[BX]], %{{.*}} : index
// CHECK:           %[[GID:.*]] = arith.addi %[[ROW]], %[[TX]] : index
// CHECK:           arith.cmpi ult, %[[GID]], %[[TOTAL]] : index
// CHECK:           scf.if
// CHECK:             %[[J:.*]] = arith.remui %[[GID]]
// CHECK:             memref.load %[[B]][%[[J]]] : memref<8xf32>
// CHECK:             arith.addf
// CHECK:             memref.store
// CHECK-NOT:     linalg.generic
func.func @add_bcast(%a: tensor<?x8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]} ins(%a, %b : tensor<?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %r : tensor<?x8xf32>
}

// -----

// Row max: one block per row, a strided per-thread loop, then a shared-memory tree.
// CHECK-LABEL: func.func @row_max(
// CHECK-SAME:    %[[A:.*]]: memref<4x100xf32>, %[[INIT:.*]]: memref<4xf32>)
// CHECK-DAG:     %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C4]], {{.*}} threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]], {{.*}} workgroup(%[[SH:.*]] : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[PART:.*]] = scf.for %{{.*}} = %[[TX]] to %{{.*}} step %[[C128]] iter_args(%{{.*}} = %[[NEG_INF]]) -> (f32)
// CHECK:             arith.maximumf
// CHECK:           memref.store %[[PART]], %[[SH]][%[[TX]]]
// CHECK-NEXT:      gpu.barrier
// CHECK:           arith.cmpi ult, %[[TX]], %{{.*}}
// CHECK:           scf.if
// CHECK:             arith.maximumf
// CHECK:           gpu.barrier
// CHECK:           arith.cmpi eq, %[[TX]]
// CHECK-NOT:     linalg.generic
func.func @row_max(%a: tensor<4x100xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]} ins(%a : tensor<4x100xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.maximumf %o, %x : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// Matmul: 16x16 tiles of A and B staged through shared memory.
// CHECK-LABEL: func.func @mm(
// CHECK:         gpu.launch {{.*}} threads(%[[TX:.*]], %[[TY:.*]], %{{.*}}) in {{.*}} workgroup(%[[AS:.*]] : memref<16x16xf32, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<16x16xf32, #gpu.address_space<workgroup>>)
// CHECK:           scf.for
// CHECK:             memref.store %{{.*}}, %[[AS]][%[[TY]], %[[TX]]]
// CHECK:             memref.store %{{.*}}, %[[BS]][%[[TY]], %[[TX]]]
// CHECK-NEXT:        gpu.barrier
// CHECK:             scf.for
// CHECK:               memref.load %[[AS]][%[[TY]], %{{.*}}]
// CHECK:               memref.load %[[BS]][%{{.*}}, %[[TX]]]
// CHECK:             gpu.barrier
// CHECK-NOT:     linalg.generic
func.func @mm(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>, %c: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>) outs(%c : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
