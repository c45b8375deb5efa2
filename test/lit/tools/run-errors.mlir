// dynamlir-run reports bad modules, entries and inputs as one-line errors, exit status 1.
// RUN: not dynamlir-run %s --entry nope 2>&1 | filecheck %s --check-prefix=ENTRY
// RUN: not dynamlir-run %s 2>&1 | filecheck %s --check-prefix=COUNT
// RUN: not dynamlir-run %s --input-shape 3x2 2>&1 | filecheck %s --check-prefix=SHAPE
// RUN: not dynamlir-run %s --input-shape 2x3xi32 2>&1 | filecheck %s --check-prefix=DTYPE
// RUN: not dynamlir-run %s --input-shape 2x3xq7 2>&1 | filecheck %s --check-prefix=SPEC
// RUN: not dynamlir-run %s --input %t.missing.npy 2>&1 | filecheck %s --check-prefix=NPY
// RUN: not dynamlir-run %s --bogus 2>&1 | filecheck %s --check-prefix=FLAG
// RUN: dynamlir-opt %s -tg-cpu-pipeline | not dynamlir-run - --input-shape 2x3 2>&1 | filecheck %s --check-prefix=LLVM
// RUN: echo 'func.func @main( {' | not dynamlir-run - 2>&1 | filecheck %s --check-prefix=SYNTAX

// ENTRY:  dynamlir-run: error: no function '@nope' in the module (functions: main)
// COUNT:  dynamlir-run: error: '@main' takes 1 inputs, got 0
// SHAPE:  dynamlir-run: error: input #0 of '@main' expects tensor<2x3xf32>, got 3x2 torch.float32
// DTYPE:  dynamlir-run: error: input #0 of '@main' expects tensor<2x3xf32>, got 2x3 torch.int32
// SPEC:   dynamlir-run: error: bad input shape '2x3xq7', expected e.g. 2x3 or 2x3xi64
// NPY:    dynamlir-run: error: cannot load input '{{.*}}missing.npy'
// FLAG:   dynamlir-run: error: unknown option '-bogus'
// LLVM:   dynamlir-run: error: '@main' is already in the LLVM dialect; give the module at tg or linalg-on-tensors level
// SYNTAX: <stdin>:1:17: error: expected non-function type
// SYNTAX: dynamlir-run: error: '<stdin>' is not a valid module
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "tg.neg"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
