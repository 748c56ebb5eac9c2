"""One benchmark run from parsed options: check them, measure the matmul peak, run every job in its
worker subprocess, and return the full report (every number, the machine, the settings)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.bench import baselines
from scripts.bench.baselines import FASTTEXT_PARAMS, TFIDF_C_GRID
from scripts.bench.data import DATA_SEED, DATASETS, check_data
from scripts.bench.errors import user_error
from scripts.bench.jobs import METHODS, NON_STATIC, Job
from scripts.bench.measure import CUDA_MATMUL_SIZE, machine_info, measure_matmul_peak, training_device
from scripts.bench.report import DEFINITIONS, summarize
from scripts.bench.workers import run_jobs

# No textcnn (hence torch) import at module level: a worker running a baseline never loads torch,
# so the peak RSS it reports is the baseline's own. Imports live in the functions that need them.


def parse_textcnn_params(items: Sequence[str]) -> dict[str, Any]:
    """`key=value` pairs for TextCNNClassifier; values are JSON where they parse, lists like `3,4,5` become tuples."""
    from textcnn import TextCNNClassifier

    allowed = set(TextCNNClassifier._get_param_names()) - {"seed"}
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in allowed:
            raise user_error(
                f"--textcnn-param {item!r}: expected key=value with key one of {', '.join(sorted(allowed))}"
            )
        if key == "kernel_sizes" or "," in raw:
            try:
                params[key] = tuple(int(part) for part in raw.split(","))
            except ValueError:
                raise user_error(f"--textcnn-param {item!r}: expected whole numbers separated by commas") from None
        else:
            try:
                params[key] = json.loads(raw)
            except json.JSONDecodeError:
                params[key] = raw
    return params


def resolve_methods(requested: Sequence[str], vectors: str | None) -> tuple[list[str], list[str]]:
    """Methods to run and notes on the ones skipped."""
    from textcnn import TextCNNClassifier

    unknown = sorted(set(requested) - set(METHODS) - {NON_STATIC})
    if unknown:
        raise user_error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    methods, notes = list(dict.fromkeys(requested)), []
    if "fasttext" in methods and not baselines.fasttext_available():
        methods.remove("fasttext")
        notes.append("fastText skipped: the `fasttext` module is not installed (pip install fasttext)")
    if NON_STATIC in methods and vectors is None:
        raise user_error(f"{NON_STATIC} needs --vectors PATH")
    if vectors is not None:
        missing = {"vectors", "embedding_mode"} - set(TextCNNClassifier._get_param_names())
        if missing:
            raise user_error(
                f"--vectors needs TextCNNClassifier parameters this textcnn lacks ({', '.join(sorted(missing))})"
            )
        if not Path(vectors).exists():
            raise user_error(f"--vectors {vectors}: file not found")
        if NON_STATIC not in methods:
            position = methods.index("textcnn") + 1 if "textcnn" in methods else 0
            methods.insert(position, NON_STATIC)
    return methods, notes


def run_benchmark(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Run every requested method on every requested dataset; return the full report."""
    import torch

    datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    if not datasets:
        raise user_error(f"--datasets names no dataset; give some of {','.join(DATASETS)}")
    check_data(args.data_root, datasets)
    for option in ("seeds", "max_train", "max_test", "threads", "parallel"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise user_error(f"--{option.replace('_', '-')} must be >= 1, got {value}")
    methods, notes = resolve_methods([m.strip() for m in args.methods.split(",") if m.strip()], args.vectors)
    textcnn_params = parse_textcnn_params(args.textcnn_param)
    threads = args.threads or torch.get_num_threads()
    device = training_device(textcnn_params)
    # A GPU needs large products to reach its peak; --matmul-size only shrinks the CPU's (for tests).
    matmul_size = args.matmul_size if device == "cpu" else max(args.matmul_size, CUDA_MATMUL_SIZE)
    first_peak, matmul_dtype = measure_matmul_peak(threads, matmul_size, device=device)
    peaks = [first_peak]

    jobs = [
        Job(
            method=method,
            dataset=dataset,
            seed=seed,
            data_root=str(args.data_root),
            threads=threads,
            max_train=args.max_train,
            max_test=args.max_test,
            textcnn_params=textcnn_params,
            vectors=args.vectors,
        )
        for dataset in datasets
        for method in methods
        for seed in (range(1) if method == "tfidf" else range(args.seeds))
    ]
    if args.parallel > 1:
        notes.append(f"{args.parallel} runs at a time: their times, throughputs and efficiencies overlap one another")
    results: dict[str, dict[str, Any]] = {dataset: {m: {"runs": []} for m in methods} for dataset in datasets}
    with tempfile.TemporaryDirectory(prefix="textcnn-bench-") as workdir:
        for job, result in zip(jobs, run_jobs(jobs, Path(workdir), args.parallel), strict=True):
            results[job.dataset][job.method]["runs"].append(result)
    peaks.append(measure_matmul_peak(threads, matmul_size, device=device)[0])
    peak = max(peaks)
    for methods_results in results.values():
        for entry in methods_results.values():
            entry["summary"] = summarize(entry["runs"], peak)
    return {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(threads, device),
        "settings": {
            "data_root": str(args.data_root),
            "datasets": datasets,
            "methods": methods,
            "seeds": args.seeds,
            "parallel": args.parallel,
            "max_train": args.max_train,
            "max_test": args.max_test,
            "textcnn_params": textcnn_params,
            "vectors": args.vectors,
            "tfidf_c_grid": list(TFIDF_C_GRID),
            "fasttext_params": FASTTEXT_PARAMS,
            "data_seed": DATA_SEED,
        },
        "definitions": DEFINITIONS,
        "matmul_size": matmul_size,
        "matmul_peak_gflops": peak,
        "matmul_dtype": matmul_dtype,
        "matmul_samples_gflops": peaks,
        "notes": notes,
        "results": results,
    }
