// RUN: env DYNAMLIR_VECTOR_BITS=256 dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-matmul-kernels)' | filecheck %s

// With threads, a big matmul becomes a call of @dynamlir_par_<n>(lo, hi, step, a, b, c)
// over its column tiles (16 = 2 vectors of 8 lanes). Products split by columns that read B
// as it is call one kernel on dynamic sizes and strides, whatever their shapes (Note
// [shape-general kernels]); with B^T, matmuls of the same types call the same static
// kernel (Note [shared kernels]) and another shape gets its own.
// CHECK-LABEL: func.func @shared(
// CHECK-SAME:    %[[A:[^:]*]]: memref<128x256xf32>, %[[B:[^:]*]]: memref<256x256xf32>, %[[C:[^:]*]]: memref<128x256xf32>, %[[A2:[^:]*]]: memref<128x256xf32>, %[[C2:[^:]*]]: memref<128x256xf32>, %[[B3:[^:]*]]: memref<256x128xf32>, %[[C3:[^:]*]]: memref<128x128xf32>, %[[W:[^:]*]]: memref<256x256xf32>, %[[W3:[^:]*]]: memref<512x256xf32>, %[[C4:[^:]*]]: memref<128x512xf32>)
// CHECK-NOT:     linalg.matmul
// CHECK:         %[[CA:.*]] = memref.cast %[[A]] : memref<128x256xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         call @[[G:dynamlir_par_[0-9]+]](%{{.*}}, %{{.*}}, %{{.*}}, %[[CA]], %{{.*}}, %{{.*}})
// CHECK:         call @[[G]](
// CHECK:         %[[CB3:.*]] = memref.cast %[[B3]] : memref<256x128xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         call @[[G]](%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[CB3]], %{{.*}})
// CHECK:         call @[[T:dynamlir_par_[0-9]+]](%{{.*}}, %{{.*}}, %{{.*}}, %[[A]], %[[W]], %[[C]])
// CHECK:         call @[[T]](%{{.*}}, %{{.*}}, %{{.*}}, %[[A2]], %[[W]], %[[C2]])
// CHECK:         call @[[T3:dynamlir_par_[0-9]+]](%{{.*}}, %{{.*}}, %{{.*}}, %[[A]], %[[W3]], %[[C4]])
// CHECK:       func.func private @[[G]](%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>,
// CHECK-COUNT-2: vector.fma
// CHECK:       func.func private @[[T]]({{.*}}memref<256x256xf32>
// CHECK:       func.func private @[[T3]]({{.*}}memref<512x256xf32>
// CHECK-NOT:   func.func private @dynamlir_par_
func.func @shared(%a: memref<128x256xf32>, %b: memref<256x256xf32>, %c: memref<128x256xf32>, %a2: memref<128x256xf32>, %c2: memref<128x256xf32>, %b3: memref<256x128xf32>, %c3: memref<128x128xf32>, %w: memref<256x256xf32>, %w3: memref<512x256xf32>, %c4: memref<128x512xf32>) {
  linalg.matmul ins(%a, %b : memref<128x256xf32>, memref<256x256xf32>) outs(%c : memref<128x256xf32>)
  linalg.matmul ins(%a2, %b : memref<128x256xf32>, memref<256x256xf32>) outs(%c2 : memref<128x256xf32>)
  linalg.matmul ins(%a, %b3 : memref<128x256xf32>, memref<256x128xf32>) outs(%c3 : memref<128x128xf32>)
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%a, %w : memref<128x256xf32>, memref<256x256xf32>) outs(%c : memref<128x256xf32>)
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%a2, %w : memref<128x256xf32>, memref<256x256xf32>) outs(%c2 : memref<128x256xf32>)
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%a, %w3 : memref<128x256xf32>, memref<512x256xf32>) outs(%c4 : memref<128x512xf32>)
  return
}

// -----

// Note [shape-general kernels]: products that the threads share out by rows (one column
// tile of 16 here) call a kernel on dynamic sizes and strides, one per form and static
// facts: the first two (768 and 1536 rows, multiples of MR = 6) share it through casts;
// 770 rows need the one-row tail, so that product gets a kernel of its own.
// CHECK-LABEL: func.func @general(
// CHECK-SAME:    %[[A:[^:]*]]: memref<1536x128xf32>, %[[B:[^:]*]]: memref<128x16xf32>, %[[C:[^:]*]]: memref<1536x16xf32>, %[[A2:[^:]*]]: memref<768x256xf32>, %[[B2:[^:]*]]: memref<256x16xf32>, %[[C2:[^:]*]]: memref<768x16xf32>, %[[A3:[^:]*]]: memref<770x256xf32>, %[[C3:[^:]*]]: memref<770x16xf32>)
// CHECK:         %[[CA:.*]] = memref.cast %[[A]] : memref<1536x128xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         call @[[K:dynamlir_par_[0-9]+]](%{{.*}}, %{{.*}}, %{{.*}}, %[[CA]], %{{.*}}, %{{.*}})
// CHECK:         %[[CA2:.*]] = memref.cast %[[A2]] : memref<768x256xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         call @[[K]](%{{.*}}, %{{.*}}, %{{.*}}, %[[CA2]], %{{.*}}, %{{.*}})
// CHECK:         call @[[K3:dynamlir_par_[0-9]+]](
// CHECK:       func.func private @[[K]](%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>, %{{.*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>, %{{.*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>)
// CHECK-COUNT-12: vector.fma
// CHECK-NOT:     vector.fma
// CHECK:         return
// CHECK:       func.func private @[[K3]](
// CHECK-COUNT-14: vector.fma
// CHECK-NOT:     vector.fma
// CHECK:         return
func.func @general(%a: memref<1536x128xf32>, %b: memref<128x16xf32>, %c: memref<1536x16xf32>, %a2: memref<768x256xf32>, %b2: memref<256x16xf32>, %c2: memref<768x16xf32>, %a3: memref<770x256xf32>, %c3: memref<770x16xf32>) {
  linalg.matmul ins(%a, %b : memref<1536x128xf32>, memref<128x16xf32>) outs(%c : memref<1536x16xf32>)
  linalg.matmul ins(%a2, %b2 : memref<768x256xf32>, memref<256x16xf32>) outs(%c2 : memref<768x16xf32>)
  linalg.matmul ins(%a3, %b2 : memref<770x256xf32>, memref<256x16xf32>) outs(%c3 : memref<770x16xf32>)
  return
}

// -----

// Note [stolen rows read B in place]: a row-split kernel that reads B as it is takes no
// whole shares, so that its rows can be stolen: a call of fewer than 48 rows reads B where
// it is, a bigger one packs each panel, and both feed one micro-kernel through the same
// dynamically strided view. With B^T the panel must be packed: that kernel keeps whole
// shares, and so does a product of a single column tile (16 here): measured slower stealing.
// CHECK-LABEL: func.func @stolen_rows(
// CHECK:         call @[[NN:dynamlir_par_[0-9]+]](
// CHECK:         call @[[BT:dynamlir_par_[0-9]+]](
// CHECK:         call @[[ONE:dynamlir_par_[0-9]+]](
// CHECK:       func.func private @[[NN]](%[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index, %{{[^:]*}}: index, %{{[^:]*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>, %[[B:[^:]*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>, %{{[^:]*}}: memref<?x?xf32, strided<[?, 1], offset: ?>>)
// CHECK-NOT:     dynamlir.whole_shares
// CHECK:         %[[PANEL:.*]] = memref.alloca() {alignment = 64 : i64} : memref<128x16xf32>
// CHECK:         %[[ROWS:.*]] = arith.subi %[[HI]], %[[LO]] : index
// CHECK:         %[[FEW:.*]] = arith.cmpi slt, %[[ROWS]], %c48 : index
// CHECK:         %[[VIEW:.*]] = memref.cast %[[PANEL]] : memref<128x16xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         scf.for %[[K0:.*]] = %{{.*}} step %c128 {
// CHECK:           scf.for %[[J:.*]] = %{{.*}} step %c16 {
// CHECK:             %[[SRC:.*]]:3 = scf.if %[[FEW]] -> (memref<?x?xf32, strided<[?, 1], offset: ?>>, index, index) {
// CHECK-NEXT:          scf.yield %[[B]], %[[K0]], %[[J]]
// CHECK:             } else {
// CHECK:               vector.store %{{.*}}, %[[PANEL]]
// CHECK:               scf.yield %[[VIEW]], %{{.*}}, %{{.*}}
// CHECK:             vector.load %[[SRC]]#0[
// CHECK:       func.func private @[[BT]]({{.*}}) attributes {{{.*}}dynamlir.whole_shares}
// CHECK:       func.func private @[[ONE]]({{.*}}) attributes {{{.*}}dynamlir.whole_shares}
func.func @stolen_rows(%a: memref<768x256xf32>, %b: memref<256x32xf32>, %c: memref<768x32xf32>, %w: memref<32x256xf32>, %b1: memref<256x16xf32>, %c1: memref<768x16xf32>) {
  linalg.matmul ins(%a, %b : memref<768x256xf32>, memref<256x32xf32>) outs(%c : memref<768x32xf32>)
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%a, %w : memref<768x256xf32>, memref<32x256xf32>) outs(%c : memref<768x32xf32>)
  linalg.matmul ins(%a, %b1 : memref<768x256xf32>, memref<256x16xf32>) outs(%c1 : memref<768x16xf32>)
  return
}
