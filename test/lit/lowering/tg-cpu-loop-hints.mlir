// RUN: dynamlir-opt %s --split-input-file --pass-pipeline='builtin.module(tg-cpu-loop-hints)' | filecheck %s

// Note [explicit loops]: convert-scf-to-cf leaves a kernel loop's mark on its back edge as
// the discardable `llvm.loop_annotation`; the pass makes it the branch's own
// `loop_annotation`, which the translation to LLVM IR turns into `!llvm.loop` metadata.
// Branches without a mark are left as they are.
// CHECK: #[[HINT:.*]] = #llvm.loop_annotation<disableNonforced = true>
// CHECK-LABEL: llvm.func @loop(
// CHECK:         llvm.br ^bb1(%{{.*}} : i64){{$}}
// CHECK:         llvm.cond_br %{{.*}}, ^bb2, ^bb3{{$}}
// CHECK:         llvm.br ^bb1(%{{.*}} : i64) {loop_annotation = #[[HINT]]}
// CHECK-NOT:     llvm.loop_annotation =
llvm.func @loop(%n: i64, %p: !llvm.ptr) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  llvm.br ^head(%c0 : i64)
^head(%i: i64):
  %more = llvm.icmp "slt" %i, %n : i64
  llvm.cond_br %more, ^body, ^exit
^body:
  %q = llvm.getelementptr %p[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
  %x = llvm.load %q : !llvm.ptr -> f32
  %y = llvm.fadd %x, %x : f32
  llvm.store %y, %q : f32, !llvm.ptr
  %next = llvm.add %i, %c1 : i64
  llvm.br ^head(%next : i64) {llvm.loop_annotation = #llvm.loop_annotation<disableNonforced = true>}
^exit:
  llvm.return
}

// -----

// A conditional back edge (a loop rotated to test at its end) gets its mark as well.
// CHECK: #[[HINT2:.*]] = #llvm.loop_annotation<disableNonforced = true>
// CHECK-LABEL: llvm.func @rotated(
// CHECK:         llvm.cond_br %{{.*}}, ^bb1(%{{.*}} : i64), ^bb2 {loop_annotation = #[[HINT2]]}
llvm.func @rotated(%n: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  llvm.br ^body(%c0 : i64)
^body(%i: i64):
  %next = llvm.add %i, %c1 : i64
  %more = llvm.icmp "slt" %next, %n : i64
  llvm.cond_br %more, ^body(%next : i64), ^exit {llvm.loop_annotation = #llvm.loop_annotation<disableNonforced = true>}
^exit:
  llvm.return
}
