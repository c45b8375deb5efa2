// --list-passes names every dynamlir pass and pipeline, with summaries and options.
// RUN: dynamlir-opt --list-passes | filecheck %s

// CHECK-LABEL: dynamlir passes:
// CHECK:         -tg-decompose {{.*}}Rewrite composite tg ops
// CHECK-NEXT:      keep=<value> {{.*}}composite ops to keep whole
// CHECK-NEXT:      targets=<value> {{.*}}(default: 'none')
// CHECK-LABEL: dynamlir pipelines:
// CHECK:         -tg-cpu-pipeline
// CHECK-NEXT:      = tg-decompose{targets=cpu},
// CHECK:       upstream MLIR passes
