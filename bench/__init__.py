"""Benchmarks: each prints ratios against a baseline run side by side.

Run them from the repository root as modules, `python -m bench.export` (so
the repository root, not this folder, heads the import path), or all with
`make bench`.
"""
