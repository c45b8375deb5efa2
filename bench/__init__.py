"""Benchmarks: `python -m dynamlir.bench.run`."""
