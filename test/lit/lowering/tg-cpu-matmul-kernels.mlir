// RUN: env DYNAMLIR_VECTOR_BITS=256 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-matmul-kernels{parallel=false})' | filecheck %s

// A zero fill of C just before the matmul is erased: the first k block's accumulators
// start from zero vectors (6 rows x 2 vectors of 8 lanes), later blocks load C.
// CHECK-LABEL: func.func @zero_init(
// CHECK-SAME:    %{{.*}}: memref<24x32xf32>, %{{.*}}: memref<32x16xf32>, %[[C:.*]]: memref<24x16xf32>)
// CHECK-NOT:     linalg.fill
// CHECK:         %[[FIRST:.*]] = arith.cmpi eq, %[[K0:.*]], %{{.*}} : index
// CHECK:         scf.if %[[FIRST]] -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK-NEXT:      %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK-NEXT:      scf.yield %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]], %[[Z]] :
// CHECK-NEXT:    } else {
// CHECK-NEXT:      vector.load %[[C]]
// CHECK:         vector.fma
// CHECK-NOT:     linalg.matmul
func.func @zero_init(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %c: memref<24x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  return
}

// -----

// A bias broadcast written into C (tg-cpu-fold-bias's init) is erased too: the first k
// block starts every row from the bias vectors.
// CHECK-LABEL: func.func @bias_init(
// CHECK-SAME:    %{{.*}}: memref<24x32xf32>, %{{.*}}: memref<32x16xf32>, %[[C:.*]]: memref<24x16xf32>, %[[BIAS:.*]]: memref<16xf32>)
// CHECK-NOT:     linalg.generic
// CHECK:         scf.if %{{.*}} -> (vector<8xf32>
// CHECK-NEXT:      %[[B0:.*]] = vector.load %[[BIAS]][%[[J:.*]]] : memref<16xf32>, vector<8xf32>
// CHECK-NEXT:      %[[B1:.*]] = vector.load %[[BIAS]][%{{.*}}] : memref<16xf32>, vector<8xf32>
// CHECK-NEXT:      scf.yield %[[B0]], %[[B1]], %[[B0]], %[[B1]], %[[B0]], %[[B1]], %[[B0]], %[[B1]], %[[B0]], %[[B1]], %[[B0]], %[[B1]] :
// CHECK-NOT:     linalg.matmul
#row = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @bias_init(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %c: memref<24x16xf32>, %bias: memref<16xf32>) {
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<16xf32>) outs(%c : memref<24x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  return
}

// -----

// C is read between the fill and the matmul: the fill stays and C is loaded as it is.
// CHECK-LABEL: func.func @fill_kept(
// CHECK:         linalg.fill
// CHECK:         memref.copy
// CHECK-NOT:     scf.if
// CHECK:         vector.fma
func.func @fill_kept(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %c: memref<24x16xf32>, %d: memref<24x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  memref.copy %c, %d : memref<24x16xf32> to memref<24x16xf32>
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  return
}

// -----

// x @ w^T with many rows reads w (rows contiguous along k) in place: each 8 x 8 block of a
// panel is 8 row loads of w, a butterfly of shuffles and 8 stores into the packed panel; the
// k tail (20 is not a multiple of 8) is copied element by element.
// CHECK-LABEL: func.func @transposed_b(
// CHECK-SAME:    %{{.*}}: memref<24x20xf32>, %[[W:.*]]: memref<16x20xf32>, %{{.*}}: memref<24x16xf32>)
// CHECK:         %[[PANEL:.*]] = memref.alloca() {alignment = 64 : i64} : memref<256x16xf32>
// CHECK:         vector.load %[[W]][%{{.*}}, %{{.*}}] : memref<16x20xf32>, vector<8xf32>
// CHECK-COUNT-7: vector.load %[[W]]
// CHECK:         vector.shuffle
// CHECK:         vector.store %{{.*}}, %[[PANEL]][%{{.*}}, %{{.*}}] : memref<256x16xf32>, vector<8xf32>
// CHECK:         scf.for
// CHECK:           memref.load %[[W]][%{{.*}}, %{{.*}}] : memref<16x20xf32>
// CHECK:         memref.store %{{.*}}, %[[PANEL]]
// CHECK:         vector.load %[[PANEL]]
// CHECK:         vector.fma
// CHECK-NOT:     linalg.matmul
#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @transposed_b(%x: memref<24x20xf32>, %w: memref<16x20xf32>, %c: memref<24x16xf32>) {
  linalg.matmul indexing_maps = [#a, #bt, #c]
      ins(%x, %w : memref<24x20xf32>, memref<16x20xf32>) outs(%c : memref<24x16xf32>)
  return
}

// -----

// A loop between the fill and the matmul reads C in its body: the fill stays.
// CHECK-LABEL: func.func @fill_read_in_loop(
// CHECK:         linalg.fill
// CHECK:         scf.for
// CHECK-NOT:     scf.if
// CHECK:         vector.fma
func.func @fill_read_in_loop(%a: memref<24x32xf32>, %b: memref<32x16xf32>, %c: memref<24x16xf32>, %d: memref<24xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c24 = arith.constant 24 : index
  linalg.fill ins(%zero : f32) outs(%c : memref<24x16xf32>)
  scf.for %i = %c0 to %c24 step %c1 {
    %v = memref.load %c[%i, %c0] : memref<24x16xf32>
    memref.store %v, %d[%i] : memref<24xf32>
  }
  linalg.matmul ins(%a, %b : memref<24x32xf32>, memref<32x16xf32>) outs(%c : memref<24x16xf32>)
  return
}

// -----

// Note [static tails]: 12 rows (2 x MR=6) and 32 columns (2 tiles of NV=2 x VL=8) need no
// tail micro-kernels: one 6x2 tile of FMAs and nothing else. 13 x 33 needs them all: the
// 1-row tails, a one-vector column tail and single-lane (vector<1xf32>) columns.
// CHECK-LABEL: func.func @full_tiles(
// CHECK-COUNT-12: vector.fma
// CHECK-NOT:     vector.fma
// CHECK-NOT:     vector<1xf32>
// CHECK:         return
// CHECK-LABEL: func.func @with_tails(
// CHECK-COUNT-28: vector.fma {{.*}}
// CHECK-NOT:     vector.fma
// CHECK:         return
func.func @full_tiles(%a: memref<12x8xf32>, %b: memref<8x32xf32>, %c: memref<12x32xf32>) {
  linalg.matmul ins(%a, %b : memref<12x8xf32>, memref<8x32xf32>) outs(%c : memref<12x32xf32>)
  return
}
func.func @with_tails(%a: memref<13x8xf32>, %b: memref<8x33xf32>, %c: memref<13x33xf32>) {
  linalg.matmul ins(%a, %b : memref<13x8xf32>, memref<8x33xf32>) outs(%c : memref<13x33xf32>)
  return
}

// -----

// Note [streaming stores]: a C of 4 MB or more that the kernel writes once (zero init, one
// k block) is stored non-temporally when its buffer is 64-byte aligned, with ordinary
// stores otherwise, and the kernel ends with a fence. A smaller C keeps ordinary stores.
// CHECK-LABEL: func.func @streamed_c(
// CHECK-SAME:    %{{.*}}: memref<1024x64xf32>, %{{.*}}: memref<64x1024xf32>, %[[C:.*]]: memref<1024x1024xf32>)
// CHECK:         %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK:         %[[REM:.*]] = arith.remui %[[BASE]], %{{.*}} : index
// CHECK:         %[[ALIGNED:.*]] = arith.cmpi eq, %[[REM]], %{{.*}} : index
// CHECK:         vector.fma
// CHECK:         scf.if %[[ALIGNED]] {
// CHECK-NEXT:      vector.store %{{.*}}, %[[C]][%{{.*}}, %{{.*}}] {alignment = 32 : i64, nontemporal = true} : memref<1024x1024xf32>, vector<8xf32>
// CHECK:         } else {
// CHECK-NEXT:      vector.store %{{.*}}, %[[C]][%{{.*}}, %{{.*}}] : memref<1024x1024xf32>, vector<8xf32>
// CHECK:         llvm.fence seq_cst
// CHECK-LABEL: func.func @small_c(
// CHECK-NOT:     nontemporal
// CHECK-NOT:     llvm.fence
// CHECK:         return
func.func @streamed_c(%a: memref<1024x64xf32>, %b: memref<64x1024xf32>, %c: memref<1024x1024xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<1024x1024xf32>)
  linalg.matmul ins(%a, %b : memref<1024x64xf32>, memref<64x1024xf32>) outs(%c : memref<1024x1024xf32>)
  return
}
func.func @small_c(%a: memref<512x64xf32>, %b: memref<64x1024xf32>, %c: memref<512x1024xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<512x1024xf32>)
  linalg.matmul ins(%a, %b : memref<512x64xf32>, memref<64x1024xf32>) outs(%c : memref<512x1024xf32>)
  return
}

// -----

// Note [packed A^T]: A read k-major (a weight gradient's X^T) has each k block's 6-row
// strips copied into one contiguous buffer, 6 floats per k, which C's two column tiles
// (32 = 2 x 16) read; the micro-kernel broadcasts from it, and the 5-row tail (35 = 5 x 6
// + 5) still reads A itself.
// CHECK-LABEL: func.func @packed_a_t(
// CHECK-SAME:    %[[A:.*]]: memref<40x35xf32>, %{{.*}}: memref<40x32xf32>, %{{.*}}: memref<35x32xf32>)
// CHECK:         %[[STRIPS:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?xf32>
// CHECK:         scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:           scf.for %[[K:.*]] = %[[K0]] to %{{.*}} step %{{.*}} {
// CHECK:             scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        %[[STRIP:.*]] = vector.load %[[A]][%[[K]], %[[I]]] : memref<40x35xf32>, vector<6xf32>
// CHECK:             vector.store %[[STRIP]], %[[STRIPS]][%{{.*}}] : memref<?xf32>, vector<6xf32>
// CHECK:         memref.load %[[STRIPS]][%{{.*}}] : memref<?xf32>
// CHECK:         vector.fma
// CHECK:         memref.load %[[A]][%{{.*}}, %{{.*}}] : memref<40x35xf32>
// CHECK:         memref.dealloc %[[STRIPS]] : memref<?xf32>
#at = affine_map<(d0, d1, d2) -> (d2, d0)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @packed_a_t(%a: memref<40x35xf32>, %b: memref<40x32xf32>, %c: memref<35x32xf32>) {
  linalg.matmul indexing_maps = [#at, #b, #c]
      ins(%a, %b : memref<40x35xf32>, memref<40x32xf32>) outs(%c : memref<35x32xf32>)
  return
}

// -----

// With one column tile of C (N = 16) each strip would be read once: A is read in place.
// CHECK-LABEL: func.func @a_t_one_column_tile(
// CHECK-SAME:    %[[A:.*]]: memref<40x35xf32>, %{{.*}}: memref<40x16xf32>, %{{.*}}: memref<35x16xf32>)
// CHECK-NOT:     memref.alloc(
// CHECK:         memref.load %[[A]][%{{.*}}, %{{.*}}] : memref<40x35xf32>
// CHECK:         vector.fma
// CHECK-NOT:     memref.dealloc
#at1 = affine_map<(d0, d1, d2) -> (d2, d0)>
#b1 = affine_map<(d0, d1, d2) -> (d2, d1)>
#c1 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @a_t_one_column_tile(%a: memref<40x35xf32>, %b: memref<40x16xf32>, %c: memref<35x16xf32>) {
  linalg.matmul indexing_maps = [#at1, #b1, #c1]
      ins(%a, %b : memref<40x35xf32>, memref<40x16xf32>) outs(%c : memref<35x16xf32>)
  return
}

// -----

// Note [products with several batch dims]: a linalg.generic product with two batch loops
// reading q and k in their (b, t, h, d) layout runs on the kernel: one loop over the 2 x 4
// batches linearized, each batch's (b, h) recovered by division, k's rows packed as B^T.
// CHECK-LABEL: func.func @two_batch_dims(
// CHECK-NOT:     linalg.generic
// CHECK:         scf.for %[[BATCH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-DAG:       arith.remui %[[BATCH]]
// CHECK-DAG:       arith.divui %[[BATCH]]
// CHECK:           vector.fma
// CHECK-NOT:     linalg.generic
func.func @two_batch_dims(%q: memref<2x8x4x16xf32, strided<[512, 64, 16, 1]>>, %k: memref<2x8x4x16xf32, strided<[512, 64, 16, 1]>>, %s: memref<2x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<2x4x8x8xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d1, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k : memref<2x8x4x16xf32, strided<[512, 64, 16, 1]>>, memref<2x8x4x16xf32, strided<[512, 64, 16, 1]>>) outs(%s : memref<2x4x8x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A row-wise dot product (softmax's backward sums grad * y over the row) is a multiply
// and add over one reduction loop too, but not a matrix product: it stays a generic.
// CHECK-LABEL: func.func @row_dot(
// CHECK:         linalg.generic
// CHECK-NOT:     vector.fma
func.func @row_dot(%x: memref<4x8x16xf32>, %y: memref<4x8x16xf32>, %out: memref<4x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %y : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Note [triangular zeros]: P is zero for k > m (causal attention's probabilities), so each
// 6-row tile's k loop stops after its last row: at min(k block's end, first row + 6). A
// mark on B (zero for n > k) starts each column tile's loop at its first column instead.
// CHECK-LABEL: func.func @causal_pv(
// CHECK:         scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %c128{{.*}} {
// CHECK:           %[[K1:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK:           scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %c6{{.*}} {
// CHECK:             %[[PAST:.*]] = arith.addi %[[I]], %c6{{.*}} : index
// CHECK-NEXT:        %[[STOP:.*]] = arith.minsi %[[K1]], %[[PAST]] : index
// CHECK:             scf.for %{{.*}} = %[[K0]] to %[[STOP]] step %{{.*}} iter_args(
func.func @causal_pv(%p: memref<2x12x12xf32>, %v: memref<2x12x16xf32>, %o: memref<2x12x16xf32>) {
  linalg.batch_matmul {dynamlir.zero_a_above = 0 : i64} ins(%p, %v : memref<2x12x12xf32>, memref<2x12x16xf32>) outs(%o : memref<2x12x16xf32>)
  return
}

// -----

// CHECK-LABEL: func.func @causal_b(
// CHECK:         scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %c128{{.*}} {
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             %[[FIRST:.*]] = arith.subi %[[J]], %{{.*}} : index
// CHECK:             %[[START:.*]] = arith.maxsi %[[K0]], %[[FIRST]] : index
// CHECK:             scf.for %{{.*}} = %[[START]] to %{{.*}} step %{{.*}} iter_args(
func.func @causal_b(%q: memref<2x8x12xf32>, %ds: memref<2x12x16xf32>, %o: memref<2x8x16xf32>) {
  linalg.batch_matmul {dynamlir.zero_b_above = 0 : i64} ins(%q, %ds : memref<2x8x12xf32>, memref<2x12x16xf32>) outs(%o : memref<2x8x16xf32>)
  return
}

// -----

// A tile of C no result reads (n - m > 0 for all its entries: columns 16.. of rows 0..5)
// runs no k loop: its end is its start, and it stores the zeros it starts from.
// CHECK-LABEL: func.func @unread_scores(
// CHECK:         scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %c128{{.*}} {
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %c6{{.*}} {
// CHECK:               %[[LAST:.*]] = arith.addi %[[I]], %c6{{.*}} : index
// CHECK-NEXT:          %[[UNREAD:.*]] = arith.cmpi sge, %[[J]], %[[LAST]] : index
// CHECK-NEXT:          %[[END:.*]] = arith.select %[[UNREAD]], %[[K0]], %{{.*}} : index
// CHECK:               scf.for %{{.*}} = %[[K0]] to %[[END]] step %{{.*}} iter_args(
func.func @unread_scores(%q: memref<2x12x8xf32>, %kt: memref<2x8x32xf32>, %s: memref<2x12x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<2x12x32xf32>)
  linalg.batch_matmul {dynamlir.unread_c_above = 0 : i64} ins(%q, %kt : memref<2x12x8xf32>, memref<2x8x32xf32>) outs(%s : memref<2x12x32xf32>)
  return
}
