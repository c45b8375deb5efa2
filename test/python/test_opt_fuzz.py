"""Fuzz dynamlir-opt with malformed inputs made from the repo's own lit tests.

Each case mutates a valid `.mlir` file (truncation, byte flips, token deletion, token
duplication, bracket removal, splicing two files) and runs the tool on it. The contract:
no Python traceback, no hang, exit status 0 or 1, and a diagnostic whenever it is 1.

Cases run in-process (`main(argv)`) inside a worker process, which gives speed (one
import) and a hard timeout (a hung or crashed worker is detected, not waited on).
DYNAMLIR_FUZZ_COUNT sets the number of cases (default 500, about 15 s), DYNAMLIR_FUZZ_SEED the seed.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pathlib
import random
import re
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
COUNT = int(os.environ.get("DYNAMLIR_FUZZ_COUNT", "500"))
SEED = int(os.environ.get("DYNAMLIR_FUZZ_SEED", "0"))
TIMEOUT_S = 60

# Flag sets the fuzzer cycles through: plain parse, split files, a Python pass mixed with
# upstream ones, diagnostics verification, printing options.
ARGV_VARIANTS = [
    [],
    ["--split-input-file"],
    [
        "--split-input-file",
        "--pass-pipeline=builtin.module(tg-decompose,func.func(canonicalize,cse))",
    ],
    ["--split-input-file", "--verify-diagnostics"],
    ["-tg-decompose", "--mlir-print-op-generic", "--mlir-print-debuginfo"],
]


def seed_inputs() -> list[str]:
    files = sorted((ROOT / "test" / "lit").rglob("*.mlir"))
    texts = [p.read_text() for p in files if "Output" not in p.parts]
    return [t for t in texts if "func.func" in t]


_TOKEN = re.compile(r"%[\w.#]+|@[\w.]+|\"[^\"\n]*\"|[\w.\-]+|[^\s\w]")


def code_positions(text: str) -> list[int]:
    """Offsets outside `//` comments: mutating a comment would leave the input valid."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        cut = line.find("//")
        out += range(pos, pos + (len(line) if cut < 0 else cut))
        pos += len(line)
    return out or [0]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random mutation of the IR (not the comments) in `text`, and its kind."""
    code = code_positions(text)
    at = lambda: rng.choice(code)  # noqa: E731
    kind = rng.choice(
        ["truncate", "flip", "delete_token", "duplicate_token", "drop_bracket", "splice"]
    )
    if kind == "truncate":
        return text[: at()], kind
    if kind == "flip":
        chars = list(text)
        for _ in range(rng.randint(1, 8)):
            chars[at()] = rng.choice([chr(rng.randrange(1, 256)), rng.choice('{}()<>[]%@:,="0x?-')])
        return "".join(chars), kind
    inside = set(code)
    tokens = [m for m in _TOKEN.finditer(text) if m.start() in inside]
    if kind in ("delete_token", "duplicate_token") and tokens:
        m = rng.choice(tokens)
        if kind == "duplicate_token":
            return text[: m.start()] + m.group(0) + " " + text[m.start() :], kind
        return text[: m.start()] + text[m.end() :], kind
    brackets = [i for i in code if text[i] in "{}()<>[]"]
    if kind == "drop_bracket" and brackets:
        i = rng.choice(brackets)
        return text[:i] + text[i + 1 :], kind
    return text[: at()] + text[at() :], "splice"


def make_cases(count: int, seed: int) -> list[tuple[str, str, list[str]]]:
    rng = random.Random(seed)
    seeds = seed_inputs()
    cases = []
    while len(cases) < count and seeds:
        src = rng.choice(seeds)
        text, kind = mutate(src, rng)
        if text == src:
            continue
        cases.append((text, kind, ARGV_VARIANTS[len(cases) % len(ARGV_VARIANTS)]))
    return cases


def run_in_process(text: str, argv: list[str]) -> tuple[int, str]:
    """Run `main` with fds 1 and 2 sent to a file, so upstream's direct writes are caught."""
    from dynamlir.tools.opt import main

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "input.mlir")
        with open(path, "w", errors="replace") as f:
            f.write(text)
        out_path = os.path.join(d, "out.txt")
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        streams = sys.stdout, sys.stderr
        with open(out_path, "w+b") as out:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            # The Python streams may not write to fds 1 and 2 (pytest's capture): swap them.
            sys.stdout = sys.stderr = open(1, "w", closefd=False, errors="replace")
            try:
                rc = main([path, *argv])
            finally:
                sys.stdout.flush()
                sys.stdout, sys.stderr = streams
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
            out.seek(0)
            return rc, out.read().decode(errors="replace")


CASES = make_cases(COUNT, SEED)


@pytest.fixture(scope="module")
def pool():
    # spawn, not fork: forking a pytest process whose other tests started torch or MLIR
    # threads can deadlock the child. The worker imports the tool once (well under 1 s).
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
        yield ex


def test_fuzz_cases_are_malformed(pool):
    """Most mutations must break the input, or the fuzzer only tests the happy path."""
    assert len(CASES) == COUNT
    assert len({kind for _, kind, _ in CASES}) == 6, "every mutation kind should occur"
    sample = CASES[:40]
    results = [pool.submit(run_in_process, text, argv) for text, _, argv in sample]
    rejected = sum(f.result(timeout=TIMEOUT_S)[0] == 1 for f in results)
    assert rejected >= 0.6 * len(sample), f"only {rejected} of {len(sample)} inputs were rejected"


def check(rc: int, output: str, what: str) -> None:
    assert "Traceback" not in output, f"{what}: Python traceback\n{output}"
    assert rc in (0, 1), f"{what}: exit status {rc}\n{output}"
    if rc == 1:
        assert "error:" in output, f"{what}: exit status 1 without a diagnostic\n{output}"


@pytest.mark.parametrize("index", range(len(CASES)))
def test_opt_survives_malformed_input(pool, index):
    text, kind, argv = CASES[index]
    future = pool.submit(run_in_process, text, argv)
    try:
        rc, output = future.result(timeout=TIMEOUT_S)
    except cf.TimeoutError:
        pytest.fail(f"case {index} ({kind}, {argv}) hung for {TIMEOUT_S}s on:\n{text[:2000]}")
    except cf.process.BrokenProcessPool:
        pytest.fail(f"case {index} ({kind}, {argv}) crashed the process on:\n{text[:2000]}")
    check(rc, output, f"case {index} ({kind}, {' '.join(argv)}), input:\n{text[:2000]}")


@pytest.mark.parametrize("index", range(min(3, len(CASES))))
def test_opt_console_script_survives_malformed_input(index):
    text, kind, argv = CASES[index]
    proc = subprocess.run(
        [sys.executable, "-m", "dynamlir.tools.opt", "-", *argv],
        input=text.encode(errors="replace"),
        capture_output=True,
        timeout=TIMEOUT_S,
    )
    output = (proc.stdout + proc.stderr).decode(errors="replace")
    check(proc.returncode, output, f"subprocess case {index} ({kind})")
