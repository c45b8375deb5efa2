// RUN: env DYNAMLIR_VECTOR_BITS=256 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-matmul-kernels{parallel=false},canonicalize)' | filecheck %s

// Note [matmul epilogues]: the elementwise op that reads C after the matmul runs in the
// kernel. Nothing else reads C (a local buffer), so D takes its place: the tile is stored
// into D, read back, and relu(acc + x) goes to D. C's buffer is left dead and dropped.
// CHECK-LABEL: func.func @dead_c(
// CHECK-SAME:    %{{.*}}: memref<24x32xf32>, %{{.*}}: memref<32x16xf32>, %[[X:.*]]: memref<24x16xf32>, %[[D:.*]]: memref<24x16xf32>)
// CHECK-NOT:     memref.alloc()
// CHECK-NOT:     linalg.generic
// CHECK:         vector.fma
// CHECK:         vector.store %{{.*}}, %[[D]][
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[ACC:.*]] = vector.load %[[D]][%[[I:.*]], %[[J:.*]]] : memref<24x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[XV:.*]] = vector.load %[[X]][%[[I]], %[[J]]] : memref<24x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[S:.*]] = arith.addf %[[ACC]], %[[XV]] : vector<8xf32>
// CHECK-NEXT:        %[[R:.*]] = arith.maximumf %[[S]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.store %[[R]], %[[D]][%[[I]], %[[J]]] : memref<24x16xf32>, vector<8xf32>
// CHECK-NOT:     linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @dead_c(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %x: memref<24x16xf32>, %d: memref<24x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<24x16xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %x : memref<24x16xf32>, memref<24x16xf32>) outs(%d : memref<24x16xf32>) {
  ^bb0(%in: f32, %in_x: f32, %out: f32):
    %s = arith.addf %in, %in_x : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %c : memref<24x16xf32>
  return
}

// -----

// C is the caller's buffer, so it lives on: the kernel stores the tile into C and the
// consumer's values (scaled by a 0-d scalar, plus a row vector along C's columns, through
// a reshape of C) into D, viewed as C's 24x16. C, kept for later in one k block, is
// streamed when its buffer is aligned (Note [streaming stores]): the tile goes to C with
// non-temporal stores and to a stack copy, which the consumer reads; otherwise it is
// stored and read back as usual.
// CHECK-LABEL: func.func @kept_c(
// CHECK-SAME:    %{{.*}}: memref<24x32xf32>, %{{.*}}: memref<32x16xf32>, %[[C:.*]]: memref<24x16xf32>, %[[S:.*]]: memref<f32>, %[[ROW:.*]]: memref<16xf32>, %[[D:.*]]: memref<2x12x16xf32>)
// CHECK:         %[[D2:.*]] = memref.collapse_shape %[[D]] {{\[}}[0, 1], [2]] : memref<2x12x16xf32> into memref<24x16xf32>
// CHECK:         %[[TILE:.*]] = memref.alloca() {alignment = 64 : i64} : memref<6x16xf32>
// CHECK:         scf.if %{{.*}} {
// CHECK-NEXT:      vector.store %[[V:.*]], %[[C]][%{{.*}}, %{{.*}}] {alignment = 32 : i64, nontemporal = true}
// CHECK-NEXT:      vector.store %[[V]], %[[TILE]][%{{.*}}, %{{.*}}] : memref<6x16xf32>, vector<8xf32>
// CHECK:             vector.load %[[TILE]][%{{.*}}, %{{.*}}] : memref<6x16xf32>, vector<8xf32>
// CHECK:         } else {
// CHECK-NEXT:      vector.store %{{.*}}, %[[C]][
// CHECK:           %[[ACC:.*]] = vector.load %[[C]][%[[I:.*]], %[[J:.*]]] : memref<24x16xf32>, vector<8xf32>
// CHECK-NEXT:      %[[SV:.*]] = memref.load %[[S]][] : memref<f32>
// CHECK-NEXT:      %[[SB:.*]] = vector.broadcast %[[SV]] : f32 to vector<8xf32>
// CHECK-NEXT:      %[[RV:.*]] = vector.load %[[ROW]][%[[J]]] : memref<16xf32>, vector<8xf32>
// CHECK-NEXT:      %[[M:.*]] = arith.mulf %[[ACC]], %[[SB]] : vector<8xf32>
// CHECK-NEXT:      %[[A:.*]] = arith.addf %[[M]], %[[RV]] : vector<8xf32>
// CHECK-NEXT:      vector.store %[[A]], %[[D2]][%[[I]], %[[J]]] : memref<24x16xf32>, vector<8xf32>
// CHECK-NOT:     linalg.generic
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#scalar = affine_map<(d0, d1, d2) -> ()>
#row = affine_map<(d0, d1, d2) -> (d2)>
func.func @kept_c(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %c: memref<24x16xf32>, %s: memref<f32>, %bias: memref<16xf32>, %d: memref<2x12x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  %c3 = memref.expand_shape %c [[0, 1], [2]] output_shape [2, 12, 16] : memref<24x16xf32> into memref<2x12x16xf32>
  linalg.generic {indexing_maps = [#id3, #scalar, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c3, %s, %bias : memref<2x12x16xf32>, memref<f32>, memref<16xf32>) outs(%d : memref<2x12x16xf32>) {
  ^bb0(%in: f32, %in_s: f32, %in_b: f32, %out: f32):
    %m = arith.mulf %in, %in_s : f32
    %r = arith.addf %m, %in_b : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// K = 300 spans two k blocks of 256: the consumer applies only where the tile is final
// (k1 == K); the first block stores the partial sums into D as they are.
// CHECK-LABEL: func.func @two_k_blocks(
// CHECK-SAME:    %{{.*}}: memref<12x300xf32>, %{{.*}}: memref<300x16xf32>, %[[D:.*]]: memref<12x16xf32>)
// CHECK:         %[[LAST:.*]] = arith.cmpi eq, %{{.*}}, %c300 : index
// CHECK-NEXT:    scf.if %[[LAST]] {
// CHECK:           vector.store %{{.*}}, %[[D]][
// CHECK:           arith.maximumf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK:         } else {
// CHECK-NOT:       arith.maximumf
// CHECK:           vector.store %{{.*}}, %[[D]][
// CHECK:         }
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @two_k_blocks(%a: memref<12x300xf32>, %b: memref<300x16xf32>, %d: memref<12x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<12x16xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<12x16xf32>)
  linalg.matmul ins(%a, %b : memref<12x300xf32>, memref<300x16xf32>) outs(%c : memref<12x16xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<12x16xf32>) outs(%d : memref<12x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %c : memref<12x16xf32>
  return
}

// -----

// Not applied: an op between the matmul and its consumer writes A (the product cannot
// move down past it), and a consumer that reduces is not elementwise.
// CHECK-LABEL: func.func @kept_apart(
// CHECK:         vector.fma
// CHECK:         linalg.fill
// CHECK:         linalg.generic
// CHECK:         vector.fma
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @kept_apart(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %c: memref<24x16xf32>, %d: memref<24x16xf32>, %e: memref<24xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  linalg.fill ins(%zero : f32) outs(%a : memref<24x32xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<24x16xf32>) outs(%d : memref<24x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<24x16xf32>) outs(%e : memref<24xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Another product that only reads A runs between the matmul and its consumer (a weight
// gradient between an input gradient and the GELU backward): the matmul still moves down
// to the consumer, after that product, and applies it.
// CHECK-LABEL: func.func @reader_between(
// CHECK-SAME:    %{{.*}}: memref<24x32xf32>, %{{.*}}: memref<32x16xf32>, %{{.*}}: memref<24x16xf32>, %[[W:.*]]: memref<32x16xf32>, %[[D:.*]]: memref<24x16xf32>)
// CHECK:         vector.store %{{.*}}, %[[W]][
// CHECK:         vector.store %{{.*}}, %[[D]][
// CHECK:         arith.maximumf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK-NOT:     linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#at = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @reader_between(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %dy: memref<24x16xf32>, %w: memref<32x16xf32>, %d: memref<24x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<24x16xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  linalg.fill ins(%zero : f32) outs(%w : memref<32x16xf32>)
  linalg.matmul indexing_maps = [#at, #b, #c]
      ins(%a, %dy : memref<24x32xf32>, memref<24x16xf32>) outs(%w : memref<32x16xf32>)
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<24x16xf32>) outs(%d : memref<24x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %c : memref<24x16xf32>
  return
}

// -----

// Note [column sums in the epilogue]: a bias's gradient sums D over its rows right after
// the consumer. The kernel adds each stored tile's rows into it (after zeroing it, the
// fill moved ahead of the kernel) and the summing loop goes.
// CHECK-LABEL: func.func @column_sums(
// CHECK-SAME:    %{{.*}}: memref<24x32xf32>, %{{.*}}: memref<32x16xf32>, %{{.*}}: memref<24x16xf32>, %[[D:.*]]: memref<24x16xf32>, %[[G:.*]]: memref<16xf32>)
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[G]] : memref<16xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         vector.fma
// CHECK:         %[[OLD:.*]] = vector.load %[[G]][%[[J:.*]]] : memref<16xf32>, vector<8xf32>
// CHECK-NEXT:    %[[R0:.*]] = vector.load %[[D]][%{{.*}}, %[[J]]] : memref<24x16xf32>, vector<8xf32>
// CHECK-NEXT:    %[[S0:.*]] = arith.addf %[[OLD]], %[[R0]] : vector<8xf32>
// CHECK:         vector.store %{{.*}}, %[[G]][%[[J]]] : memref<16xf32>, vector<8xf32>
// CHECK-NOT:     linalg.generic
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @column_sums(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %x: memref<24x16xf32>, %d: memref<24x16xf32>, %g: memref<16xf32>) {
  %zero = arith.constant 0.0 : f32
  %c = memref.alloc() : memref<24x16xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%c, %x : memref<24x16xf32>, memref<24x16xf32>) outs(%d : memref<24x16xf32>) {
  ^bb0(%in: f32, %in_x: f32, %out: f32):
    %m = arith.mulf %in, %in_x : f32
    linalg.yield %m : f32
  }
  linalg.fill ins(%zero : f32) outs(%g : memref<16xf32>)
  linalg.generic {indexing_maps = [#id2, #col], iterator_types = ["reduction", "parallel"]}
      ins(%d : memref<24x16xf32>) outs(%g : memref<16xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  memref.dealloc %c : memref<24x16xf32>
  return
}
