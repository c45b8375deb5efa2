// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-fold-batch-transposes,canonicalize)' | filecheck %s

// Note [products with several batch dims]: attention's scores q k^T over (batch, head),
// then p v with the heads merged back. Each product reads the (b, t, h, d) tensors in
// place through its maps, p v writes the merged layout, and no transpose is left.
// CHECK-DAG:   #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d4)>
// CHECK-DAG:   #[[K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1, d4)>
// CHECK-DAG:   #[[S:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[P:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG:   #[[V:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d4, d1, d3)>
// CHECK-DAG:   #[[Y:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d3)>
// CHECK-LABEL: func.func @attention(
// CHECK-SAME:    %[[QA:[^:]*]]: tensor<2x8x4x16xf32>, %[[KA:[^:]*]]: tensor<2x8x4x16xf32>, %[[VA:[^:]*]]: tensor<2x8x4x16xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK-NOT:     linalg.batch_matmul
// CHECK:         %[[S0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x4x8x8xf32>)
// CHECK:         %[[SC:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[K]], #[[S]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[QA]], %[[KA]] : tensor<2x8x4x16xf32>, tensor<2x8x4x16xf32>) outs(%[[S0]] : tensor<2x4x8x8xf32>)
// CHECK:           arith.mulf
// CHECK-NEXT:      arith.addf
// CHECK:         %[[Y0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x8x4x16xf32>)
// CHECK:         %[[YM:.*]] = linalg.generic {indexing_maps = [#[[P]], #[[V]], #[[Y]]], {{.*}} ins(%[[SC]], %[[VA]] : tensor<2x4x8x8xf32>, tensor<2x8x4x16xf32>) outs(%[[Y0]] : tensor<2x8x4x16xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[YM]]
func.func @attention(%q: tensor<2x8x4x16xf32>, %k: tensor<2x8x4x16xf32>, %v: tensor<2x8x4x16xf32>) -> tensor<2x8x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : tensor<2x4x8x16xf32>
  %qt = linalg.transpose ins(%q : tensor<2x8x4x16xf32>) outs(%eq : tensor<2x4x8x16xf32>) permutation = [0, 2, 1, 3]
  %ek = tensor.empty() : tensor<2x4x16x8xf32>
  %kt = linalg.transpose ins(%k : tensor<2x8x4x16xf32>) outs(%ek : tensor<2x4x16x8xf32>) permutation = [0, 2, 3, 1]
  %qc = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x8x16xf32> into tensor<8x8x16xf32>
  %kc = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<2x4x16x8xf32> into tensor<8x16x8xf32>
  %es = tensor.empty() : tensor<8x8x8xf32>
  %fs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %s = linalg.batch_matmul ins(%qc, %kc : tensor<8x8x16xf32>, tensor<8x16x8xf32>) outs(%fs : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %ev = tensor.empty() : tensor<2x4x8x16xf32>
  %vt = linalg.transpose ins(%v : tensor<2x8x4x16xf32>) outs(%ev : tensor<2x4x8x16xf32>) permutation = [0, 2, 1, 3]
  %vc = tensor.collapse_shape %vt [[0, 1], [2], [3]] : tensor<2x4x8x16xf32> into tensor<8x8x16xf32>
  %ey = tensor.empty() : tensor<8x8x16xf32>
  %fy = linalg.fill ins(%zero : f32) outs(%ey : tensor<8x8x16xf32>) -> tensor<8x8x16xf32>
  %y = linalg.batch_matmul ins(%s, %vc : tensor<8x8x8xf32>, tensor<8x8x16xf32>) outs(%fy : tensor<8x8x16xf32>) -> tensor<8x8x16xf32>
  %ye = tensor.expand_shape %y [[0, 1], [2], [3]] output_shape [2, 4, 8, 16] : tensor<8x8x16xf32> into tensor<2x4x8x16xf32>
  %em = tensor.empty() : tensor<2x8x4x16xf32>
  %ym = linalg.transpose ins(%ye : tensor<2x4x8x16xf32>) outs(%em : tensor<2x8x4x16xf32>) permutation = [0, 2, 1, 3]
  return %ym : tensor<2x8x4x16xf32>
}

// -----

// The result transposed back would have a batch dim innermost: not a layout the matmul
// kernel runs (C along n), even with m and n exchanged, so the product and the transposes
// stay as they are.
// CHECK-LABEL: func.func @result_along_m(
// CHECK:         linalg.transpose
// CHECK:         linalg.batch_matmul
// CHECK:         linalg.transpose
// CHECK-NOT:     linalg.generic
func.func @result_along_m(%q: tensor<2x8x4x16xf32>, %b: tensor<8x16x8xf32>) -> tensor<2x8x8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : tensor<2x4x8x16xf32>
  %qt = linalg.transpose ins(%q : tensor<2x8x4x16xf32>) outs(%eq : tensor<2x4x8x16xf32>) permutation = [0, 2, 1, 3]
  %qc = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x8x16xf32> into tensor<8x8x16xf32>
  %es = tensor.empty() : tensor<8x8x8xf32>
  %fs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %s = linalg.batch_matmul ins(%qc, %b : tensor<8x8x16xf32>, tensor<8x16x8xf32>) outs(%fs : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %se = tensor.expand_shape %s [[0, 1], [2], [3]] output_shape [2, 4, 8, 8] : tensor<8x8x8xf32> into tensor<2x4x8x8xf32>
  %em = tensor.empty() : tensor<2x8x8x4xf32>
  %sm = linalg.transpose ins(%se : tensor<2x4x8x8xf32>) outs(%em : tensor<2x8x8x4xf32>) permutation = [0, 3, 2, 1]
  return %sm : tensor<2x8x8x4xf32>
}

// -----

// Plain batch_matmuls, with nothing transposed to fold, are left alone.
// CHECK-LABEL: func.func @plain(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     linalg.generic
func.func @plain(%a: tensor<8x8x16xf32>, %b: tensor<8x16x8xf32>, %c: tensor<8x8x8xf32>) -> tensor<8x8x8xf32> {
  %s = linalg.batch_matmul ins(%a, %b : tensor<8x8x16xf32>, tensor<8x16x8xf32>) outs(%c : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  return %s : tensor<8x8x8xf32>
}

// -----

// A dynamic sequence length: the 4-D views and empties would need its size, so the
// product and the transpose stay.
// CHECK-LABEL: func.func @dynamic_length(
// CHECK:         linalg.transpose
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     linalg.generic
func.func @dynamic_length(%q: tensor<2x?x4x16xf32>, %b: tensor<8x16x8xf32>, %init: tensor<8x?x8xf32>) -> tensor<8x?x8xf32> {
  %c1 = arith.constant 1 : index
  %t = tensor.dim %q, %c1 : tensor<2x?x4x16xf32>
  %eq = tensor.empty(%t) : tensor<2x4x?x16xf32>
  %qt = linalg.transpose ins(%q : tensor<2x?x4x16xf32>) outs(%eq : tensor<2x4x?x16xf32>) permutation = [0, 2, 1, 3]
  %qc = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x?x16xf32> into tensor<8x?x16xf32>
  %s = linalg.batch_matmul ins(%qc, %b : tensor<8x?x16xf32>, tensor<8x16x8xf32>) outs(%init : tensor<8x?x8xf32>) -> tensor<8x?x8xf32>
  return %s : tensor<8x?x8xf32>
}

// -----

// The result transposed back would have m innermost (an attention backward's dk^T written
// as dk): the same product with m and n exchanged and its operands swapped, C^T = B^T A^T,
// writes it along n. The head transpose and the one after the product go.
// CHECK-DAG:   #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d2)>
// CHECK-DAG:   #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1, d4)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d3)>
// CHECK-LABEL: func.func @result_along_m_swapped(
// CHECK-SAME:    %[[QA:[^:]*]]: tensor<2x8x4x16xf32>, %[[B:[^:]*]]: tensor<8x16x8xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[WE:.*]] = tensor.expand_shape %[[B]] {{\[}}[0, 1], [2], [3]] output_shape [2, 4, 16, 8]
// CHECK:         linalg.generic {indexing_maps = [#[[W]], #[[Q]], #[[C]]], {{.*}} ins(%[[WE]], %[[QA]] : tensor<2x4x16x8xf32>, tensor<2x8x4x16xf32>) outs(%{{.*}} : tensor<2x8x4x8xf32>)
// CHECK-NOT:     linalg.transpose
func.func @result_along_m_swapped(%q: tensor<2x8x4x16xf32>, %b: tensor<8x16x8xf32>) -> tensor<2x8x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : tensor<2x4x8x16xf32>
  %qt = linalg.transpose ins(%q : tensor<2x8x4x16xf32>) outs(%eq : tensor<2x4x8x16xf32>) permutation = [0, 2, 1, 3]
  %qc = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<2x4x8x16xf32> into tensor<8x8x16xf32>
  %es = tensor.empty() : tensor<8x8x8xf32>
  %fs = linalg.fill ins(%zero : f32) outs(%es : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %s = linalg.batch_matmul ins(%qc, %b : tensor<8x8x16xf32>, tensor<8x16x8xf32>) outs(%fs : tensor<8x8x8xf32>) -> tensor<8x8x8xf32>
  %se = tensor.expand_shape %s [[0, 1], [2], [3]] output_shape [2, 4, 8, 8] : tensor<8x8x8xf32> into tensor<2x4x8x8xf32>
  %em = tensor.empty() : tensor<2x8x4x8xf32>
  %sm = linalg.transpose ins(%se : tensor<2x4x8x8xf32>) outs(%em : tensor<2x8x4x8xf32>) permutation = [0, 3, 1, 2]
  return %sm : tensor<2x8x4x8xf32>
}
