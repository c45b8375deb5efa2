// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-outline-parallel)' | filecheck %s

// Big top-level loops move into @dynamlir_par_<n>(lo, hi, step, captures...), the first
// dim over [lo, hi). A loop with the same code as one outlined before calls that function
// (Note [shared kernels]): the second loop reuses @dynamlir_par_0; other shapes or bodies
// get their own. The noalias positions of a shared function are those every call allows:
// the second call passes two views of one buffer, so none remain.
// CHECK-LABEL: func.func @repeats(
// CHECK-SAME:    %[[A:[^:]*]]: memref<256x256xf32>, %[[B:[^:]*]]: memref<256x256xf32>, %[[C:[^:]*]]: memref<256x256xf32>, %{{[^:]*}}: memref<256x256xf32>, %[[E:[^:]*]]: memref<512x128xf32>, %[[F:[^:]*]]: memref<512x128xf32>)
// CHECK:         %[[CC:.*]] = memref.cast %[[C]]
// CHECK-NOT:     scf.parallel
// CHECK:         call @dynamlir_par_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[A]], %[[B]])
// CHECK-NEXT:    call @dynamlir_par_0(%{{.*}}, %{{.*}}, %{{.*}}, %[[C]], %[[CC]])
// CHECK-NEXT:    call @dynamlir_par_2(%{{.*}}, %{{.*}}, %{{.*}}, %[[E]], %[[F]])
// CHECK-NEXT:    call @dynamlir_par_3(%{{.*}}, %{{.*}}, %{{.*}}, %[[A]])
// CHECK:       func.func private @dynamlir_par_0(%{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: memref<256x256xf32>, %{{.*}}: memref<256x256xf32>) attributes {dynamlir.noalias_pointers = array<i64>}
// CHECK:         scf.parallel
// CHECK:           arith.mulf
// CHECK-NOT:   func.func private @dynamlir_par_1
// CHECK:       func.func private @dynamlir_par_2({{.*}}memref<512x128xf32>{{.*}}) attributes {dynamlir.noalias_pointers = array<i64: 4, 11>}
// CHECK:       func.func private @dynamlir_par_3({{.*}}) attributes {dynamlir.noalias_pointers = array<i64: 4>}
// CHECK:           arith.addf
func.func @repeats(%a: memref<256x256xf32>, %b: memref<256x256xf32>, %c: memref<256x256xf32>, %d: memref<256x256xf32>, %e: memref<512x128xf32>, %f: memref<512x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %c512 = arith.constant 512 : index
  %c128 = arith.constant 128 : index
  %cc = memref.cast %c : memref<256x256xf32> to memref<256x256xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c256, %c256) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<256x256xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %b[%i, %j] : memref<256x256xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c256, %c256) step (%c1, %c1) {
    %x = memref.load %c[%i, %j] : memref<256x256xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %cc[%i, %j] : memref<256x256xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c512, %c128) step (%c1, %c1) {
    %x = memref.load %e[%i, %j] : memref<512x128xf32>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %f[%i, %j] : memref<512x128xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c256, %c256) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<256x256xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %a[%i, %j] : memref<256x256xf32>
    scf.reduce
  }
  return
}

// -----

// Small loops stay where they are.
// CHECK-LABEL: func.func @small(
// CHECK:         scf.parallel
// CHECK-NOT:     call
// CHECK-NOT:   func.func private @dynamlir_par_
func.func @small(%a: memref<16x16xf32>, %b: memref<16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c16) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<16x16xf32>
    memref.store %x, %b[%i, %j] : memref<16x16xf32>
    scf.reduce
  }
  return
}

// -----

// Note [threads over linearized rows]: a row nest over (4, 4, 128) would be shared out by
// its 4 batches; its three dims merge into one of 2048 rows, each index recovered by
// division. An elementwise nest keeps its innermost dim (LLVM vectorizes it): (4, 128)
// merge into 512 rows of 256. A first dim of 64 or more iterations is left as it is.
// CHECK-LABEL: func.func @linearized(
// CHECK:         call @[[ROWS:dynamlir_par_[0-9]+]](%{{.*}}, %c2048, %c1,
// CHECK:         call @[[ELEM:dynamlir_par_[0-9]+]](%{{.*}}, %c512{{.*}}, %c1{{.*}},
// CHECK:         call @[[WIDE:dynamlir_par_[0-9]+]](%{{.*}}, %c64, %c1{{.*}},
// CHECK:       func.func private @[[ROWS]](%[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index,
// CHECK:         scf.parallel (%[[L:.*]], %{{.*}}, %{{.*}}) = (%[[LO]], %{{.*}}, %{{.*}}) to (%[[HI]], %c1{{.*}}, %c1{{.*}}) step
// CHECK-DAG:       %[[B:.*]] = arith.divui %[[L]], %c512
// CHECK-DAG:       %[[HQ:.*]] = arith.divui %[[L]], %c128
// CHECK-DAG:       %[[H:.*]] = arith.remui %[[HQ]], %c4
// CHECK-DAG:       %[[R:.*]] = arith.remui %[[L]], %c128
// CHECK:           scf.for
// CHECK:             memref.load %{{.*}}[%[[B]], %[[H]], %[[R]], %{{.*}}]
// CHECK:       func.func private @[[ELEM]](
// CHECK:         scf.parallel (%[[L2:.*]], %{{.*}}, %[[J:.*]]) =
// CHECK-DAG:       %[[B2:.*]] = arith.divui %[[L2]], %c128
// CHECK-DAG:       %[[R2:.*]] = arith.remui %[[L2]], %c128
// CHECK:           memref.load %{{.*}}[%[[B2]], %[[R2]], %[[J]]]
// CHECK:       func.func private @[[WIDE]](
// CHECK-NOT:       arith.divui
// CHECK:         return
func.func @linearized(%s: memref<4x4x128x128xf32>, %t: memref<4x4x128x128xf32>, %x: memref<4x128x256xf32>, %y: memref<4x128x256xf32>, %u: memref<64x4x256xf32>, %v: memref<64x4x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  scf.parallel (%b, %h, %r) = (%c0, %c0, %c0) to (%c4, %c4, %c128) step (%c1, %c1, %c1) {
    scf.for %c = %c0 to %c128 step %c1 {
      %e = memref.load %s[%b, %h, %r, %c] : memref<4x4x128x128xf32>
      %f = arith.mulf %e, %e : f32
      memref.store %f, %t[%b, %h, %r, %c] : memref<4x4x128x128xf32>
    }
    scf.reduce
  }
  scf.parallel (%b, %r, %j) = (%c0, %c0, %c0) to (%c4, %c128, %c256) step (%c1, %c1, %c1) {
    %e = memref.load %x[%b, %r, %j] : memref<4x128x256xf32>
    %f = arith.mulf %e, %e : f32
    memref.store %f, %y[%b, %r, %j] : memref<4x128x256xf32>
    scf.reduce
  }
  scf.parallel (%i, %r, %j) = (%c0, %c0, %c0) to (%c64, %c4, %c256) step (%c1, %c1, %c1) {
    %e = memref.load %u[%i, %r, %j] : memref<64x4x256xf32>
    %f = arith.addf %e, %e : f32
    memref.store %f, %v[%i, %r, %j] : memref<64x4x256xf32>
    scf.reduce
  }
  return
}
