// Bad input, bad flags and failing passes end in a diagnostic and exit status 1, never
// in a Python traceback.
// RUN: not dynamlir-opt %s -tg-lower-to-linalg 2>&1 | filecheck %s --check-prefix=PASS
// RUN: not dynamlir-opt %s '-tg-decompose=targets=bogus' 2>&1 | filecheck %s --check-prefix=TARGETS
// RUN: not dynamlir-opt %s '-tg-decompose=bogus=1' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not dynamlir-opt %s -tg-no-such-pass 2>&1 | filecheck %s --check-prefix=UNKNOWN-TG
// RUN: not dynamlir-opt %s -no-such-pass 2>&1 | filecheck %s --check-prefix=UNKNOWN
// RUN: not dynamlir-opt %s --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | filecheck %s --check-prefix=UNKNOWN-UP
// RUN: not dynamlir-opt %s '-canonicalize=max-iterations=x' 2>&1 | filecheck %s --check-prefix=UP-OPTION
// RUN: not dynamlir-opt %s --pass-pipeline='func.func(tg-decompose)' 2>&1 | filecheck %s --check-prefix=NESTED
// RUN: not dynamlir-opt %s --pass-pipeline='builtin.module(cse' 2>&1 | filecheck %s --check-prefix=BRACKETS
// RUN: not dynamlir-opt %s --pass-pipeline=cse -canonicalize 2>&1 | filecheck %s --check-prefix=BOTH
// RUN: not dynamlir-opt %s.missing 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not dynamlir-opt %s %s 2>&1 | filecheck %s --check-prefix=TWO
// RUN: not dynamlir-opt %s -o 2>&1 | filecheck %s --check-prefix=NOVALUE
// RUN: not dynamlir-opt %s --split-input-file=maybe 2>&1 | filecheck %s --check-prefix=BOOL
// RUN: echo 'func.func @f( {' | not dynamlir-opt - 2>&1 | filecheck %s --check-prefix=SYNTAX
// RUN: echo '"tg.nope"() : () -> ()' | not dynamlir-opt - 2>&1 | filecheck %s --check-prefix=UNREGISTERED
// RUN: echo '"foo.bar"() : () -> ()' | dynamlir-opt - --allow-unregistered-dialect | filecheck %s --check-prefix=ALLOW
// RUN: echo '' | dynamlir-opt - | filecheck %s --check-prefix=EMPTY
// RUN: dynamlir-opt --help | filecheck %s --check-prefix=HELP

// PASS:        errors.mlir:[[# @LINE + 31]]:8: error: tg-lower-to-linalg: 'tg.softmax' has no lowering to linalg
// PASS-NEXT:   "tg.softmax"
// PASS-NOT:    Traceback
// TARGETS:     errors.mlir:1:1: error: tg-decompose: unknown targets 'bogus'
// TARGETS-NOT: Traceback
// OPTION:      dynamlir-opt: error: pass 'tg-decompose' has no option 'bogus' (allowed: keep, targets)
// UNKNOWN-TG:  dynamlir-opt: error: unknown pass 'tg-no-such-pass'
// UNKNOWN:     dynamlir-opt: error: unknown option or pass '-no-such-pass'
// UNKNOWN-UP:  dynamlir-opt: error: invalid upstream pipeline 'no-such-pass': 'no-such-pass' does not refer to a registered pass
// UP-OPTION:   dynamlir-opt: error: invalid upstream pipeline 'canonicalize{max-iterations=x}': for the --max-iterations option: 'x' value invalid
// NESTED:      dynamlir-opt: error: dynamlir pass 'tg-decompose' nested in 'func.func(...)'
// BRACKETS:    dynamlir-opt: error: unbalanced brackets in pipeline 'builtin.module(cse'
// BOTH:        dynamlir-opt: error: '--pass-pipeline' cannot be combined with pass flags, got -canonicalize
// MISSING:     dynamlir-opt: error: cannot open input file '{{.*}}errors.mlir.missing': No such file or directory
// TWO:         dynamlir-opt: error: expects at most one input file, got 2
// NOVALUE:     dynamlir-opt: error: option '-o' expects a value
// BOOL:        dynamlir-opt: error: option '-split-input-file' expects true or false, got 'maybe'
// SYNTAX:      <stdin>:1:14: error: expected non-function type
// SYNTAX-NEXT: func.func @f( {
// SYNTAX-NEXT: {{^             \^$}}
// SYNTAX-NOT:  Traceback
// UNREGISTERED: <stdin>:1:1: error: unregistered operation 'tg.nope' found in dialect ('tg')
// ALLOW:       "foo.bar"() : () -> ()
// EMPTY:       module {
// EMPTY-NEXT:  }
// HELP:        usage: dynamlir-opt [options] [input.mlir | -]
// HELP:        --pass-pipeline=PIPELINE
// HELP:        --verify-diagnostics
// HELP:        -tg-decompose

func.func @f(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = "tg.softmax"(%x) {dim = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}
