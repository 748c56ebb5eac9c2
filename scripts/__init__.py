"""Benchmark and evaluation scripts of the repository (not installed with textcnn).

Every script is a module of this package, run from the repository root as `python -m scripts.<name>`
(see `scripts.bench` for the convention).
"""
