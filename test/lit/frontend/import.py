# RUN: %PYTHON %s | filecheck %s

import torch
import torch.nn.functional as F

import dynamlir


def run(fn):
    print(f"\nTEST: {fn.__name__}")
    fn()


# CHECK-LABEL: TEST: test_linear
# CHECK:         func.func @main(%[[W:.*]]: tensor<8x4xf32> {{.*}}, %[[B:.*]]: tensor<8xf32> {{.*}}, %[[X:.*]]: tensor<2x4xf32> {{.*}}) -> tensor<2x8xf32>
# CHECK:           %[[L:.*]] = "tg.linear"(%[[X]], %[[W]], %[[B]]) {operandSegmentSizes = array<i32: 1, 1, 1>} : (tensor<2x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<2x8xf32> loc(#[[LOC:loc[0-9]+]])
# CHECK:           "tg.relu"(%[[L]])
# CHECK:         #[[FILE:loc[0-9]+]] = loc("{{.*}}import.py":[[# @LINE + 6]]:0)
# CHECK:         #[[LOC]] = loc("linear"(#[[FILE]]))
def test_linear():
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 8)
    def fn(x):
        return torch.relu(lin(x))
    print(dynamlir.export_mlir(fn, torch.randn(2, 4)))


run(test_linear)


# CHECK-LABEL: TEST: test_softmax_layer_norm_promotion
# CHECK:         "tg.convert"(%{{.*}}) : (tensor<3xi64>) -> tensor<3xf32>
# CHECK:         "tg.add"
# CHECK:         "tg.softmax"(%{{.*}}) {dim = -1 : i64}
# CHECK:         "tg.layer_norm"
# CHECK-SAME:      normalized_shape = [3]
def test_softmax_layer_norm_promotion():
    def fn(x, i):
        return F.layer_norm(torch.softmax(x + i, -1), (3,))
    print(dynamlir.export_mlir(fn, torch.randn(2, 3), torch.arange(3)))


run(test_softmax_layer_norm_promotion)
