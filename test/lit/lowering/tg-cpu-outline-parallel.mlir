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
