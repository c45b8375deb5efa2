"""OpInfo coverage: PyTorch's op database through torch.compile(backend="dynamlir").

Every float32 CPU op of `op_db` (all of them; SAMPLE_EVERY=k runs every k-th) runs its
first two sample inputs compiled and eagerly; forward outputs and gradients (for a random
cotangent) must match. A fallback to eager counts as not passing but is no failure; a
wrong number is a failure unless the op is listed in KNOWN_WRONG with its reason. Ops
run in a worker process (opinfo_worker.py) with a per-op time limit, so nothing can hang
the suite. The pass counts are printed in pytest's terminal summary (see conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import SUMMARY_LINES

pytest.importorskip("expecttest")  # torch.testing._internal needs it

WORKER = Path(__file__).with_name("opinfo_worker.py")
OP_TIME_LIMIT_S = 60.0
# Every op by default (~6 minutes on 2 cores); DYNAMLIR_OPINFO_EVERY=3 runs a deterministic
# third while developing. Targets scale with the sample.
SAMPLE_EVERY = int(os.environ.get("DYNAMLIR_OPINFO_EVERY", "1"))
WORKERS = int(os.environ.get("DYNAMLIR_OPINFO_WORKERS", "2"))
FORWARD_TARGET, GRAD_TARGET = 200, 120

# op name -> why dynamlir's answer legitimately differs from eager.
KNOWN_WRONG: dict[str, str] = {
    # sample 0 holds 1e4: eager's float32 backward is off by 2e-3 from a float64 reference,
    # dynamlir's by 2e-7 (measured), so the comparison with eager fails
    "logcumsumexp": "eager float32 gradient is the imprecise one",
}


class Worker:
    def __init__(self):
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.count = json.loads(self._line(600.0))["count"]

    def _line(self, timeout: float) -> str:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise TimeoutError
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError
        return line

    def send(self, i: int) -> None:
        self.proc.stdin.write(f"{i}\n")
        self.proc.stdin.flush()

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def run_ops(indices=None, limit_s: float = OP_TIME_LIMIT_S, log=None, workers: int = WORKERS):
    """Results per op, in op order; `workers` processes take ops from one queue."""
    import selectors

    pool = [Worker() for _ in range(workers)]
    todo = list(range(0, pool[0].count, SAMPLE_EVERY)) if indices is None else list(indices)
    todo.reverse()
    busy: dict[int, tuple[int, float]] = {}  # worker slot -> (op index, start time)
    results: dict[int, dict] = {}

    def assign(slot):
        if todo:
            i = todo.pop()
            pool[slot].send(i)
            busy[slot] = (i, time.time())

    def finish(slot, r):
        i, start = busy.pop(slot)
        r["seconds"] = round(time.time() - start, 2)
        results[i] = r
        if log:
            log.write(json.dumps(r) + "\n")
            log.flush()

    try:
        for slot in range(len(pool)):
            assign(slot)
        while busy:
            sel = selectors.DefaultSelector()
            for slot in busy:
                sel.register(pool[slot].proc.stdout, selectors.EVENT_READ, slot)
            ready = {key.data for key, _ in sel.select(1.0)}
            sel.close()
            for slot in list(busy):
                i, start = busy[slot]
                if slot in ready:
                    line = pool[slot].proc.stdout.readline()
                    if line:
                        finish(slot, json.loads(line))
                        assign(slot)
                        continue
                    kind = "crash"
                elif time.time() - start > limit_s:
                    kind = "timeout"
                else:
                    continue
                finish(slot, {"name": f"#{i}", "forward": kind, "grad": kind, "why": kind})
                pool[slot].kill()
                pool[slot] = Worker()
                assign(slot)
    finally:
        for w in pool:
            w.kill()
    return [results[i] for i in sorted(results)]


def summarize(results) -> str:
    fwd = Counter(r["forward"] for r in results)
    grad = Counter(r["grad"] for r in results)
    return (
        f"opinfo: {len(results)} ops (every {SAMPLE_EVERY}): forward {dict(fwd)}; grad {dict(grad)}"
    )


@pytest.mark.slow
def test_opinfo_coverage(request):
    results = run_ops()
    print("\n" + summarize(results))
    request.config.stash.setdefault(SUMMARY_LINES, []).append(summarize(results))
    wrong = [
        r for r in results if "wrong" in (r["forward"], r["grad"]) and r["name"] not in KNOWN_WRONG
    ]
    broken = [r for r in results if r["forward"] in ("timeout", "crash")]
    assert not broken, f"ops that hung or crashed the worker: {[r['name'] for r in broken]}"
    assert not wrong, "wrong results: " + "; ".join(f"{r['name']}: {r['why']}" for r in wrong)
    scale = 1.0 / SAMPLE_EVERY
    fwd = sum(r["forward"] == "pass" for r in results)
    grad = sum(r["grad"] == "pass" for r in results)
    assert fwd >= FORWARD_TARGET * scale, summarize(results)
    assert grad >= GRAD_TARGET * scale, summarize(results)


if __name__ == "__main__":  # python test_opinfo.py [out.jsonl]: the full table
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None
    print(summarize(run_ops(log=out or sys.stdout)))
