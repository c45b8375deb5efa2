"""tg-mark-triangular-zeros: which products read an operand that is zero on one side of a
diagonal, so that their kernels skip those terms (Note [triangular zeros]).

Note [triangular zeros]
~~~~~~~~~~~~~~~~~~~~~~~
Causal attention multiplies by matrices that are exactly zero above the diagonal: the
probabilities P = softmax(where(j > i, -inf, S)) (exp(-inf) is 0), and in the backward
the score gradient dS = where(j > i, 0, P * (dP - rowsum(dP * P))) * scale. Of the
products that read them (P V, P^T dO, dS K, dS^T Q) about half the terms are 0 * x. This
pass finds such operands on tg and marks the product, in terms of its loops, so that the
CPU kernel (lowering/cpu_matmul.py) runs each row or column tile's k loop over the
nonzero range only:

    dynamlir.zero_a_above = c    A[m, k] == 0 when k - m > c    (k stops after m + c)
    dynamlir.zero_a_below = c    A[m, k] == 0 when m - k > c    (k starts at m - c)
    dynamlir.zero_b_above = c    B[k, n] == 0 when n - k > c    (k starts at n - c)
    dynamlir.zero_b_below = c    B[k, n] == 0 when k - n > c    (k stops after n + c)
    dynamlir.unread_c_above = c  C[m, n] reaches no result when n - m > c (and _below)

The last is the scores S = Q K^T, selected away by the mask, and dP = dO V^T, which only
reaches the results multiplied by P (zero there): a tile of C inside that region runs no
k loop and stores zeros (its accumulators start from zero), which keeps the entries
finite for the multiply by zero.

A value's zeros are tracked over its last two dims (i, j), the same for every leading
index, as one region {j - i > c} ("above") or {i - j > c} ("below"):
- where(C, 0, x) is zero where C holds, and where(C, -inf, x) is -inf there. C must be
  computable at compile time (a causal mask is iota, compares, integer conversions
  and logical ops on constants: it is evaluated here with numpy) and equal for every
  leading index; the region is the largest triangle inside its true entries.
- softmax over the last dim turns a -inf region into a zero region, when every row keeps
  an entry outside it (c >= 0), as exp(-inf) = 0 with a finite maximum; so do its
  decomposed steps, x - rowmax(x) and exp. A select between 0 and a value zero in a region
  is zero there too (scaled_dot_product_attention's guard for fully masked rows).
- mul keeps either factor's zeros (0 * x = 0 for finite x); a reshape that keeps the last
  two dims, or a permute of the leading ones, keeps them; a permute that swaps the last two
  mirrors them (above <-> below).
- mm/bmm record their operands' regions: A's (i, j) are (m, k), B's are (k, n); and their
  result's unread region, found through its uses: a select that takes the other value
  there, a multiply by a value zero there, or an elementwise op with a scalar or a row
  broadcast, a reshape or a permute whose result is unread there, the same for every use.
Skipping assumes finite values where the zeros are: an infinite value of V or dO there
(a key after the query) makes eager's softmax backward NaN through 0 * inf, and here, as
in fused attention kernels (which skip masked blocks too), it does not reach the result.
Under dynamic shapes (a sequence length T) a mask has no compile-time value, but one built
from iotas, compares and constants is the same predicate of (i, j) at every size: it is
evaluated at two sample sizes (SAMPLES, every dynamic dim at once), and only the marks both
give are kept (a predicate with a size-dependent boundary, say i < 50 or a comparison with
the size itself, gives different regions, or none). Reshapes then keep a region only when
they move no data between dims (unit dims inserted or dropped), and equal dynamic sizes are
recognised through tg-resolve-dims' origins (lowering/resolve_dims.py).
The marks are discardable attributes: the lowering to linalg copies them onto the
contraction, tg-cpu-fold-batch-transposes mirrors them when it exchanges the operands,
and a pass that drops them only loses the skip. Measured on the GPT-2 block's training
step (per kernel, one process alternating with the marks off): P V 143 -> 96 us, dS K 168
-> 125 us, P^T dO and dS^T Q 178 + 198 -> 135 + 140 us; the step 13.71 -> 13.44 ms. With
the unread tiles too (a slower phase): Q K^T 175 -> 158 us, dO V^T 187 -> 168 us.
"""

from __future__ import annotations

import numpy as np
from torch_mlir import ir

from ..dialects.tg import from_attr
from ..dialects.types import DYN, element_type, is_bool, is_float, shape_of
from .registry import function_blocks, register_pass
from .resolve_dims import origin

ATTRS = {("a", "above"): "dynamlir.zero_a_above", ("a", "below"): "dynamlir.zero_a_below",
         ("b", "above"): "dynamlir.zero_b_above", ("b", "below"): "dynamlir.zero_b_below",
         ("c", "above"): "dynamlir.unread_c_above", ("c", "below"): "dynamlir.unread_c_below"}
MAX_MASK_ELEMENTS = 1 << 22  # constant masks evaluated at compile time, at most this big
# Set to False to mark nothing (bench/variants.py A/B runs).
MARK_ZEROS = True


@register_pass("tg-mark-triangular-zeros")
def mark_triangular_zeros(module, pass_):
    """Mark the mm/bmm ops whose operands are zero on one side of a diagonal (Note
    [triangular zeros], lowering/triangular_zeros.py).

    Requires: tg ops.  Produces: dynamlir.zero_* attributes on tg.mm and tg.bmm."""
    if MARK_ZEROS:
        mark_products(module)


# Sizes a dynamic dim takes when masks are evaluated (see the Note): two, so that a region
# that depends on the size shows up as a disagreement.
SAMPLES = (257, 300)


def mark_products(module: ir.Operation) -> int:
    """Mark every qualifying product of the module's functions; returns how many."""
    marked = 0
    for block in function_blocks(module):
        ops = list(block.operations)
        if not any(DYN in shape_of(r) for op in ops for r in op.results
                   if isinstance(r.type, ir.RankedTensorType)):
            marks = _Zeros().run(ops)
        else:  # the marks both sample sizes give
            first, second = (_Zeros(n).run(ops) for n in SAMPLES)
            marks = [m for m in first if m in second]
        for index, name, c in marks:
            ops[index].attributes[name] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), c)
        marked += len({index for index, _, _ in marks})
    return marked


class _Zeros:
    def __init__(self, sample: int | None = None):
        self.zero: dict = {}  # value -> ("above" | "below", c): exactly 0 there
        self.ninf: dict = {}  # value -> ("above" | "below", c): exactly -inf there
        self.consts: dict = {}  # value -> numpy array, or None where not a constant
        self.sample = sample  # the size of every dynamic dim in evaluated masks

    def run(self, ops: list) -> list[tuple[int, str, int]]:
        """Apply the rules to a block's ops in order; returns the marks found, as (index
        of the product in `ops`, attribute, offset)."""
        self.marks: list[tuple[int, str, int]] = []
        self.index = {op.operation: i for i, op in enumerate(ops)}
        for op in ops:
            name = op.operation.name
            rule = getattr(self, "_" + name.removeprefix("tg."), None) if name.startswith("tg.") else None
            if rule is not None and len(op.results) == 1:
                rule(op)
        return self.marks

    def _shape(self, shape) -> tuple:
        """`shape` with each dynamic dim at the sample size (masks are evaluated at it)."""
        return tuple(self.sample if d == DYN and self.sample else d for d in shape)

    def _tail(self, out: ir.Value, shape) -> bool:
        """_same_tail for a mask's (sampled) shape."""
        return _same_tail_shapes(self._shape(shape_of(out)), shape)

    def _equal_dims(self, a: ir.Value, i: int, b: ir.Value, j: int) -> bool:
        """Dim i of a and dim j of b are the same size: equal static sizes, or dynamic
        ones with one origin (tg-resolve-dims)."""
        sa, sb = shape_of(a)[i], shape_of(b)[j]
        if sa != DYN or sb != DYN:
            return sa == sb
        return origin(a, i % len(shape_of(a))) == origin(b, j % len(shape_of(b)))

    # Regions through ops.

    def _where(self, op):
        cond, x, y = op.operands
        out = op.results[0]
        for value, other in ((x, y), (y, x)):  # zero on both sides of the select
            if _splat(value) == 0.0 and other in self.zero and _same_tail(out, shape_of(other)):
                self.zero[out] = self.zero[other]
                return
        for mask, value in ((self._const(cond), x), (self._not(cond), y)):
            if mask is None:
                continue
            splat = _splat(value)
            if splat is None or not self._tail(out, mask.shape):
                continue
            region = _triangle(mask)
            if region is None:
                continue
            if splat == 0.0:
                self.zero[out] = region
            elif splat == float("-inf"):
                self.ninf[out] = region
            return

    def _softmax(self, op):
        x, out = op.operands[0], op.results[0]
        rank = len(shape_of(out))
        if rank < 2 or from_attr(op.attributes["dim"]) % rank != rank - 1 or x not in self.ninf:
            return
        if self._rows_kept(x):
            self.zero[out] = self.ninf[x]

    def _sub(self, op):
        """x - rowmax(x) (a decomposed softmax) keeps x's -inf entries: the row maximum is
        finite where every row keeps an entry outside the region."""
        x, y = op.operands
        out = op.results[0]
        owner = y.owner
        if x not in self.ninf or not isinstance(owner, ir.OpView) or owner.operation.name != "tg.reduce_max":
            return
        rank = len(shape_of(x))
        dims = [d % rank for d in from_attr(owner.attributes["dims"])]
        if owner.operands[0] == x and dims == [rank - 1] and self._rows_kept(x):
            self.ninf[out] = self.ninf[x]

    def _exp(self, op):
        x, out = op.operands[0], op.results[0]
        if x in self.ninf:
            self.zero[out] = self.ninf[x]

    def _rows_kept(self, x) -> bool:
        """Every row of x has an entry outside its -inf region."""
        kind, c = self.ninf[x]
        rows, cols = shape_of(x)[-2:]
        if kind == "above" or DYN not in (rows, cols):
            return c >= 0 and (kind == "above" or 0 <= rows <= cols + c)
        return c >= 0 and self._equal_dims(x, -2, x, -1)  # square: rows <= cols + c

    def _mul(self, op):
        out = op.results[0]
        found = [self.zero[v] for v in op.operands if v in self.zero and _same_tail(out, shape_of(v))]
        if found:
            self.zero[out] = min(found, key=lambda r: r[1])

    def _reshape(self, op):
        x, out = op.operands[0], op.results[0]
        if x in self.zero and _keeps_tail(x, out):
            self.zero[out] = self.zero[x]

    _dynamic_reshape = _reshape

    def _permute(self, op):
        x, out = op.operands[0], op.results[0]
        if x not in self.zero:
            return
        perm = list(from_attr(op.attributes["perm"]))
        r = len(perm)
        kind, c = self.zero[x]
        if perm[-2:] == [r - 2, r - 1]:
            self.zero[out] = (kind, c)
        elif perm[-2:] == [r - 1, r - 2]:
            self.zero[out] = (mirror(kind), c)

    def _mm(self, op):
        lhs, rhs = op.operands[0], op.operands[1]
        marks = [(side, self.zero[v]) for side, v in (("a", lhs), ("b", rhs)) if v in self.zero]
        unread = self._unread(op.results[0])
        if unread is not None:
            marks.append(("c", unread))
        for side, (kind, c) in marks:
            self.marks.append((self.index[op.operation], ATTRS[(side, kind)], c))

    _bmm = _mm

    # Entries no result reads (backward, through the uses). A use's other operand defined
    # after the product has no forward facts yet: such a use counts as reading everything.

    def _unread(self, v, depth: int = 0):
        """A region of `v` whose entries reach no result (selected away, or multiplied by a
        zero there), the same for every use; None if there is none. Finite entries are
        assumed there: a kernel that skips them writes zeros."""
        found = None
        for use in v.uses:
            region = self._unread_by(use.owner, use.operand_number, v, depth) if depth < 8 else None
            if region is None or (found is not None and region != found):
                return None
            found = region
        return found

    def _unread_by(self, user, index: int, v, depth: int):
        name = user.operation.name if hasattr(user, "operation") else user.name
        if len(user.results) != 1:
            return None
        out = user.results[0]
        if not _same_tail(out, shape_of(v)):
            return None
        if name == "tg.where" and index > 0:
            mask = self._const(user.operands[0]) if index == 2 else self._not(user.operands[0])
            return _triangle(mask) if mask is not None and self._tail(out, mask.shape) else None
        if name == "tg.mul":
            other = user.operands[1 - index]
            if other in self.zero and _same_tail(out, shape_of(other)):
                return self.zero[other]
        if name in ("tg.mul", "tg.sub", "tg.add") and _row_broadcast(user.operands[1 - index]):
            return self._unread(out, depth + 1)
        if name == "tg.neg":
            return self._unread(out, depth + 1)
        if name in ("tg.reshape", "tg.dynamic_reshape") and _keeps_tail(v, out):
            return self._unread(out, depth + 1)
        if name == "tg.permute":
            perm = list(from_attr(user.attributes["perm"]))
            r = len(perm)
            region = self._unread(out, depth + 1)
            if region is None or perm[-2:] == [r - 2, r - 1]:
                return region
            if perm[-2:] == [r - 1, r - 2]:
                return (mirror(region[0]), region[1])
        return None

    # Compile-time masks.

    def _not(self, v):
        a = self._const(v)
        return None if a is None or a.dtype != np.bool_ else ~a

    def _const(self, v):
        """`v`'s value when ops on constants compute it (evaluated with numpy), else None."""
        if v in self.consts:
            return self.consts[v]
        self.consts[v] = None  # also stops a cycle of lookups (there is none in SSA)
        owner = v.owner
        if isinstance(owner, ir.OpView) and len(owner.results) == 1:
            shape = self._shape(shape_of(owner.results[0]))
            if all(s >= 0 for s in shape) and int(np.prod(shape)) <= MAX_MASK_ELEMENTS:
                try:
                    self.consts[v] = _evaluate(owner, self._const, shape)
                except (KeyError, TypeError, ValueError):
                    self.consts[v] = None
        return self.consts[v]


_COMPARE = {"tg.eq": np.equal, "tg.ne": np.not_equal, "tg.lt": np.less, "tg.le": np.less_equal,
            "tg.gt": np.greater, "tg.ge": np.greater_equal, "tg.logical_and": np.logical_and,
            "tg.logical_or": np.logical_or, "tg.add": np.add, "tg.sub": np.subtract,
            "tg.mul": np.multiply}


def _evaluate(op, const, shape):
    """The numpy value of `op` from its operands' constant values; None if unknown."""
    name = op.operation.name
    if name == "tg.constant":
        attr = ir.DenseElementsAttr(op.attributes["value"])
        if not attr.is_splat:
            return None
        return np.full(shape, from_attr(attr.get_splat_value()))
    if name == "tg.iota":
        return np.arange(shape[0], dtype=np.int64)
    if name in ("tg.reshape", "tg.dynamic_reshape", "tg.dynamic_broadcast_to"):
        x = const(op.operands[0])  # the size operands are not evaluated
        if x is None:
            return None
        if name == "tg.dynamic_broadcast_to":
            return np.broadcast_to(x, shape)
        # only a reshape that moves no data between dims is the same at every size
        if [d for d in x.shape if d != 1] != [d for d in shape if d != 1]:
            return None
        return np.reshape(x, shape)
    args = [const(v) for v in op.operands]
    if any(a is None for a in args):
        return None
    if name in _COMPARE:
        return np.asarray(_COMPARE[name](*args))
    if name == "tg.logical_not":
        return np.logical_not(args[0])
    if name == "tg.where":
        return np.where(*args)
    if name == "tg.convert" and args[0].dtype != np.float64:  # bool or integer sources
        elem = element_type(op.results[0])  # tg-narrow-index-math's i64 -> i32, say
        return args[0].astype(np.float64 if is_float(elem) else np.bool_ if is_bool(elem) else np.int64)
    if name == "tg.broadcast_to":
        return np.broadcast_to(args[0], shape)
    if name == "tg.permute":
        return np.transpose(args[0], from_attr(op.attributes["perm"]))
    if name == "tg.slice":  # x[start:end:step] along dim; end -1: to the end
        a = {k: from_attr(op.attributes[k]) for k in ("dim", "start", "end", "step")}
        d = a["dim"] % args[0].ndim
        end = None if a["end"] < 0 else a["end"]
        out = np.take(args[0], np.arange(args[0].shape[d])[a["start"]:end:a["step"]], axis=d)
        return out if out.shape == tuple(shape) else None
    return None


def _splat(v: ir.Value) -> float | None:
    """The value of a splat float tg.constant, else None."""
    owner = v.owner
    if not (isinstance(owner, ir.OpView) and owner.operation.name == "tg.constant"):
        return None
    attr = owner.attributes["value"]
    if not (isinstance(attr, ir.DenseElementsAttr) and attr.is_splat):
        return None
    value = attr.get_splat_value()
    return ir.FloatAttr(value).value if isinstance(value, ir.FloatAttr) else None


def _same_tail(out: ir.Value, shape) -> bool:
    """`shape`'s last two dims are `out`'s: a region found there lies on out's (i, j)."""
    return _same_tail_shapes(shape_of(out), shape)


def _same_tail_shapes(so, shape) -> bool:
    return len(shape) >= 2 and len(so) >= 2 and list(shape[-2:]) == list(so[-2:])


def _keeps_tail(x: ir.Value, out: ir.Value) -> bool:
    """A reshape of x to out keeps the last two dims, each entry (i, j) where it was: equal
    static sizes, or dynamic ones with one origin (tg-resolve-dims), and the leading dims'
    product kept (the element count is)."""
    sx, so = shape_of(x), shape_of(out)
    if len(sx) < 2 or len(so) < 2:
        return False
    for i in (-2, -1):
        if sx[i] != so[i] or (sx[i] == DYN and origin(x, len(sx) + i) != origin(out, len(so) + i)):
            return False
    return True


def mirror(kind: str) -> str:
    """The side of the diagonal a region moves to when the last two dims are swapped."""
    return "below" if kind == "above" else "above"


def _row_broadcast(v: ir.Value) -> bool:
    """`v` is the same along the last dim (a scalar, or size 1 there): an elementwise op
    with it maps each entry of its other operand to the same entry of the result."""
    shape = shape_of(v)
    return len(shape) == 0 or shape[-1] == 1


def _triangle(mask: np.ndarray):
    """The largest region ("above" | "below", c) inside `mask`'s true entries on its last
    two dims, the same for every leading index; None if it holds no entry."""
    mask = np.asarray(mask, dtype=bool)
    plane = mask.reshape(-1, *mask.shape[-2:])
    if not (plane == plane[0]).all():
        return None
    plane = plane[0]
    rows, cols = plane.shape
    i, j = np.indices(plane.shape)
    diag = j - i
    best = None
    for kind, d in (("above", diag), ("below", -diag)):
        # c: the largest offset whose diagonal still has a false entry; every d > c is true.
        false = d[~plane]
        c = int(false.max()) if false.size else int(d.min()) - 1
        if c < int(d.max()) and (best is None or c < best[1]):
            best = (kind, c)
    return best
