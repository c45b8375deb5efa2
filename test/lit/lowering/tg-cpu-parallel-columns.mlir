// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-parallel-columns)' | filecheck %s

// Note [reductions over leading dims]: a sum over the leading dims (a bias's gradient) has
// its parallel loop inside the reduction loops; it moves outward in blocks of columns (64
// of 256: the widest block that leaves four), each keeping the reduction loops and a
// contiguous loop over its columns.
// CHECK-LABEL: func.func @bias_grad(
// CHECK-SAME:      %[[X:.*]]: memref<4x128x256xf32>, %[[G:.*]]: memref<256xf32>)
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK:         scf.parallel (%[[COL:.*]]) = (%{{.*}}) to (%[[C256]]) step (%[[C64]]) {
// CHECK:           %[[NEXT:.*]] = arith.addi %[[COL]], %[[C64]] : index
// CHECK:           %[[END:.*]] = arith.minsi %[[NEXT]], %[[C256]] : index
// CHECK:           scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:          scf.for %[[J:.*]] = %[[COL]] to %[[END]] step %{{.*}} {
// CHECK-NEXT:            %[[V:.*]] = memref.load %[[X]][%[[B]], %[[T]], %[[J]]]
// CHECK-NEXT:            %[[A:.*]] = memref.load %[[G]][%[[J]]]
// CHECK-NEXT:            %[[S:.*]] = arith.addf %[[V]], %[[A]] : f32
// CHECK-NEXT:            memref.store %[[S]], %[[G]][%[[J]]]
// CHECK-NEXT:          }
// CHECK-NEXT:        }
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.reduce
// CHECK-NOT:     scf.for
func.func @bias_grad(%x: memref<4x128x256xf32>, %g: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  scf.for %b = %c0 to %c4 step %c1 {
    scf.for %t = %c0 to %c128 step %c1 {
      scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
        %v = memref.load %x[%b, %t, %j] : memref<4x128x256xf32>
        %a = memref.load %g[%j] : memref<256xf32>
        %s = arith.addf %v, %a : f32
        memref.store %s, %g[%j] : memref<256xf32>
        scf.reduce
      }
    }
  }
  return
}

// -----

// A fc1 bias's gradient (1024 columns) takes blocks of 128: each row's 512 bytes of a block
// are read in one run, where 32 columns read 128 bytes from every 4 KB row.
// CHECK-LABEL: func.func @wide_bias_grad(
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG:     %[[C1024:.*]] = arith.constant 1024 : index
// CHECK:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[C1024]]) step (%[[C128]]) {
func.func @wide_bias_grad(%x: memref<4x64x1024xf32>, %g: memref<1024xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  scf.for %b = %c0 to %c4 step %c1 {
    scf.for %t = %c0 to %c64 step %c1 {
      scf.parallel (%j) = (%c0) to (%c1024) step (%c1) {
        %v = memref.load %x[%b, %t, %j] : memref<4x64x1024xf32>
        %a = memref.load %g[%j] : memref<1024xf32>
        %s = arith.addf %v, %a : f32
        memref.store %s, %g[%j] : memref<1024xf32>
        scf.reduce
      }
    }
  }
  return
}

// -----

// A written element that is not the parallel iteration's own (here a running total in
// g[0]) would be shared between column blocks: the nest stays as it is.
// CHECK-LABEL: func.func @shared_element(
// CHECK:         scf.for
// CHECK-NEXT:      scf.for
// CHECK-NEXT:        scf.parallel
func.func @shared_element(%x: memref<4x128x256xf32>, %g: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  scf.for %b = %c0 to %c4 step %c1 {
    scf.for %t = %c0 to %c128 step %c1 {
      scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
        %v = memref.load %x[%b, %t, %j] : memref<4x128x256xf32>
        %a = memref.load %g[%c0] : memref<256xf32>
        %s = arith.addf %v, %a : f32
        memref.store %s, %g[%c0] : memref<256xf32>
        scf.reduce
      }
    }
  }
  return
}

// -----

// The same buffer read at another column (g[j] from g[255 - j]) would let one block read
// what another writes: left alone.
// CHECK-LABEL: func.func @other_column(
// CHECK:         scf.for
// CHECK-NEXT:      scf.for
// CHECK-NEXT:        scf.parallel
func.func @other_column(%x: memref<4x128x256xf32>, %g: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %c255 = arith.constant 255 : index
  %c256 = arith.constant 256 : index
  scf.for %b = %c0 to %c4 step %c1 {
    scf.for %t = %c0 to %c128 step %c1 {
      scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
        %r = arith.subi %c255, %j : index
        %v = memref.load %x[%b, %t, %j] : memref<4x128x256xf32>
        %a = memref.load %g[%r] : memref<256xf32>
        %s = arith.addf %v, %a : f32
        memref.store %s, %g[%j] : memref<256xf32>
        scf.reduce
      }
    }
  }
  return
}

// -----

// Bounds that depend on the outer loop (a triangle) are not a rectangle to reorder; a nest
// too small to be worth a thread team (64 columns, 2 rows) is left serial.
// CHECK-LABEL: func.func @triangle_and_small(
// CHECK:         scf.for
// CHECK-NEXT:      scf.parallel
// CHECK:         scf.for
// CHECK-NEXT:      scf.parallel
// CHECK-NOT:     scf.parallel
func.func @triangle_and_small(%x: memref<256x256xf32>, %g: memref<256xf32>, %y: memref<2x64xf32>, %h: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  scf.for %t = %c0 to %c256 step %c1 {
    scf.parallel (%j) = (%t) to (%c256) step (%c1) {
      %v = memref.load %x[%t, %j] : memref<256x256xf32>
      %a = memref.load %g[%j] : memref<256xf32>
      %s = arith.addf %v, %a : f32
      memref.store %s, %g[%j] : memref<256xf32>
      scf.reduce
    }
  }
  scf.for %t = %c0 to %c2 step %c1 {
    scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
      %v = memref.load %y[%t, %j] : memref<2x64xf32>
      %a = memref.load %h[%j] : memref<64xf32>
      %s = arith.addf %v, %a : f32
      memref.store %s, %h[%j] : memref<64xf32>
      scf.reduce
    }
  }
  return
}
