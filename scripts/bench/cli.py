"""Benchmark textcnn against TF-IDF + logistic regression and fastText, on the same splits.

Datasets are folders `<data-root>/<name>/{train,test}.csv` (and `dev.csv` where the dataset has
one) with columns `text,label`: Kim's (2014) sentence suite (mr, subj, trec, sst2) and IMDB.

Methods (each run in a fresh subprocess, so its peak RSS is its own):
  textcnn             TextCNNClassifier(seed=s) with default settings (+ any --textcnn-param).
  textcnn-non-static  the same with --vectors PATH, embedding_mode="non-static" (only with --vectors).
  tfidf               TF-IDF (word 1-2 grams, sublinear tf) + LogisticRegression, C by 5-fold CV on train.
  fasttext            fastText supervised (epoch 25, lr 0.5, wordNgrams 2), when `fasttext` imports.

Model selection never sees test data: a dataset with `dev.csv` (sst2) gives it to textcnn as its
validation set; the others let textcnn carve its own stratified 10% of train. The baselines use
train only. Every split is shuffled once with a fixed seed (IMDB's files are sorted by label), so
all methods and seeds see the same rows in the same order.

Writes `results.json` (every number, machine info) and `results.md` (tables) under --out and
prints the tables. Definitions of every measured quantity are in the JSON under "definitions".

Examples:
  python -m scripts.bench                                      # everything, 3 seeds (make bench)
  python -m scripts.bench --datasets mr,sst2,trec --seeds 1    # a subset
  python -m scripts.bench --datasets trec --methods tfidf      # one baseline on one dataset
  python -m scripts.bench --datasets mr --max-train 2000 --textcnn-param epochs=2   # smoke run
  python -m scripts.bench --datasets imdb --methods textcnn --vectors imdb.w2v   # + non-static
  python -m scripts.bench --datasets imdb --methods textcnn --parallel 3 --threads 1   # 3 seeds at once (GPU)
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.bench.data import DATASETS
from scripts.bench.jobs import METHODS, NON_STATIC
from scripts.bench.measure import MATMUL_SIZE, REPO_ROOT
from scripts.bench.report import render_markdown, write_atomically
from scripts.bench.run import run_benchmark
from scripts.bench.workers import WORKER_MODULE, run_worker, stop_workers


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {WORKER_MODULE}",
        description=__doc__.split("\n\n")[0],
        epilog="Examples:" + __doc__.split("Examples:")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    default_root = REPO_ROOT.parent / "shared" / "benchmarks"
    parser.add_argument(
        "--data-root", type=Path, default=default_root, help="folder of <name>/{train,test}.csv (default %(default)s)"
    )
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset of %(default)s")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated subset of %(default)s,{NON_STATIC}"
    )
    parser.add_argument("--seeds", type=int, default=3, help="textcnn/fastText seeds 0..N-1 (default %(default)s)")
    parser.add_argument("--vectors", help=f"word vectors file: adds {NON_STATIC}")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results"),
        help="writes results.json and results.md (default %(default)s)",
    )
    parser.add_argument(
        "--textcnn-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a TextCNNClassifier default (repeatable), e.g. epochs=5 or kernel_sizes=3,4,5",
    )
    parser.add_argument("--max-train", type=int, help="use at most N (shuffled) training rows, for smoke runs")
    parser.add_argument("--max-test", type=int, help="use at most N (shuffled) test rows, for smoke runs")
    parser.add_argument("--threads", type=int, help="torch/fastText threads (default: torch's default)")
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="runs at a time (default %(default)s; more overlaps their timings: for many-core or GPU machines)",
    )
    parser.add_argument("--matmul-size", type=int, default=MATMUL_SIZE, help=argparse.SUPPRESS)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.worker is not None:
        run_worker(args.worker)
        return 0
    from textcnn.errors import TextCNNError

    command = shlex.join(["python", "-m", WORKER_MODULE, *argv])
    previous_handler = signal.signal(signal.SIGTERM, stop_workers)
    try:
        report = run_benchmark(args, command)
        markdown = render_markdown(report)
        args.out.mkdir(parents=True, exist_ok=True)
        write_atomically(args.out / "results.json", json.dumps(report, indent=2, default=str) + "\n")
        write_atomically(args.out / "results.md", markdown)
    except TextCNNError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    print(markdown)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}", file=sys.stderr)
    failed = [run for ds in report["results"].values() for m in ds.values() for run in m["runs"] if "error" in run]
    return 1 if failed else 0
