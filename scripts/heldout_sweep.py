"""Run a grid of held-out evaluations (`scripts.heldout_eval`'s protocol) in parallel worker processes.

Every run fits textcnn on 85% of a dataset's train.csv and scores the other 15% (stratified, split
seed 123): test splits stay untouched. The grid is datasets x seeds x variants; a variant is a
name and estimator settings. Results are appended to `--out` (JSON lines) as they finish, and a
table of mean held-out accuracy per variant and dataset is printed at the end.

Batches of 50 sentences leave a GPU mostly idle, so on a GPU machine many workers (one CPU
thread each) can share it: this is how the 2026-11-27 sweep in the README ran 249 fits in ten
minutes on one H200. On a CPU, use one worker per core.

    python -m scripts.heldout_sweep --data-root ../shared/benchmarks --datasets trec,sst2 --seeds 3 \\
        --variant default --variant "drop04 dropout=0.4" --variant "wide num_filters=200 dropout=0.4" \\
        --workers 14 --out sweep.jsonl
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.heldout_eval import heldout_split, parse_param


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """`"name k=v k=v"` -> (name, settings)."""
    name, *settings = text.split()
    return name, dict(parse_param(setting) for setting in settings)


@functools.cache
def cached_split(dataset: str, heldout: float, split_seed: int) -> tuple[Any, Any, Any, Any]:
    return heldout_split(Path(dataset), heldout, split_seed)


def fit_and_score(job: dict[str, Any]) -> dict[str, Any]:
    """One held-out run in a worker process; errors come back as data, not exceptions."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # One datasets cache per worker: concurrent writers of the same CSV cache wait on each other.
    os.environ["HF_DATASETS_CACHE"] = str(Path(tempfile.gettempdir()) / f"textcnn-sweep-{os.getpid()}")
    import torch

    from textcnn import TextCNNClassifier

    torch.set_num_threads(job["threads"])
    started = time.perf_counter()
    result = {key: job[key] for key in ("variant", "dataset", "seed", "params")}
    try:
        fit_x, held_x, fit_y, held_y = cached_split(job["path"], job["heldout"], job["split_seed"])
        classifier = TextCNNClassifier(seed=job["seed"], **job["params"]).fit(fit_x, fit_y)
        result |= {
            "heldout_accuracy": float(classifier.score(held_x, held_y)),
            "heldout_rows": len(held_x),
            "best_epoch": classifier.best_epoch_,
            "kept_valid_accuracy": float(classifier.valid_accuracy_),
            "refit_epochs": len(classifier.refit_history_),
            "seconds": round(time.perf_counter() - started, 1),
        }
    except Exception as error:  # one bad setting must not end the sweep
        result["error"] = f"{type(error).__name__}: {error}"
    return result


def summary_table(results: list[dict[str, Any]], variants: list[str], datasets: list[str]) -> str:
    """Markdown: mean held-out accuracy (number of seeds) per variant and dataset."""
    lines = ["| variant | " + " | ".join(datasets) + " |", "|---|" + "---|" * len(datasets)]
    for variant in variants:
        cells = []
        for dataset in datasets:
            scores = [
                r["heldout_accuracy"]
                for r in results
                if r["variant"] == variant and r["dataset"] == dataset and "heldout_accuracy" in r
            ]
            cells.append(f"{statistics.mean(scores):.4f} ({len(scores)})" if scores else "")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--datasets", required=True, help="comma-separated folders under --data-root")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument(
        "--variant", action="append", required=True, help='"name k=v ..." (repeatable); "default" alone is allowed'
    )
    parser.add_argument("--param", action="append", default=[], help="k=v added to every variant (repeatable)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--deadline", type=float, default=None, help="stop waiting after this many seconds")
    parser.add_argument("--heldout", type=float, default=0.15)
    parser.add_argument("--split-seed", type=int, default=123)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines file to append results to")
    args = parser.parse_args(argv)

    common = dict(parse_param(p) for p in args.param)
    variants = [parse_variant(v) for v in args.variant]
    datasets = [d for d in args.datasets.split(",") if d]
    for dataset in datasets:
        if not (args.data_root / dataset / "train.csv").is_file():
            parser.error(f"no train.csv in {args.data_root / dataset}")
    jobs = [
        {
            "variant": name,
            "dataset": dataset,
            "seed": seed,
            "params": common | settings,
            "path": str(args.data_root / dataset),
            "heldout": args.heldout,
            "split_seed": args.split_seed,
            "threads": args.threads,
        }
        for dataset in datasets
        for seed in range(args.seeds)
        for name, settings in variants
    ]
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    # spawn: a forked child cannot use CUDA once its parent has, and torch threads do not survive fork well.
    context = multiprocessing.get_context("spawn")
    # SIGTERM (e.g. `timeout`) exits through the `with` below, whose Pool.terminate() stops the
    # workers; by default the parent would die alone and leave them fitting as orphans.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with context.Pool(min(args.workers, len(jobs))) as pool, args.out.open("a") as out:
        finished = pool.imap_unordered(fit_and_score, jobs)
        while len(results) < len(jobs):
            left = None if args.deadline is None else args.deadline - (time.perf_counter() - started)
            try:
                result = finished.next(timeout=None if left is None else max(left, 0.0))
            except multiprocessing.TimeoutError:
                break
            results.append(result)
            out.write(json.dumps(result) + "\n")
            out.flush()
            error = result.get("error")
            score = f"error: {error}" if error else f"heldout_accuracy={result['heldout_accuracy']:.4f}"
            run = f"{result['variant']} {result['dataset']} seed={result['seed']}"
            print(f"{len(results)}/{len(jobs)} {run} {score}", flush=True)
        pool.terminate()
    print(f"\n{len(results)} of {len(jobs)} runs in {time.perf_counter() - started:.0f} s; results in {args.out}\n")
    print(summary_table(results, [name for name, _ in variants], datasets))


if __name__ == "__main__":
    main()
