"""Peak RSS and wall time of one in-process `fit()` on a sample of a dataset.

Peak RSS is per process, so compare allocator settings in separate runs, e.g. glibc's default
against a fixed 1 MB mmap threshold (large blocks unmapped when freed, no heap fragmentation):

    python -m scripts.bench_train_memory ../shared/benchmarks/imdb/train.csv --rows 6000 --epochs 2
    MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_TRIM_THRESHOLD_=0 python -m scripts.bench_train_memory \
        ../shared/benchmarks/imdb/train.csv --rows 6000 --epochs 2
"""

from __future__ import annotations

import argparse
import os
import time

from scripts.bench.measure import current_rss_mb, peak_rss_mb
from textcnn import TextCNNClassifier
from textcnn.data import LABEL, TEXT, load_source, select_columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a text,label file")
    parser.add_argument("--rows", type=int, default=6000, help="rows sampled from DATA (seed 0)")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    allocator = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_")) or "default"
    data = select_columns(load_source(args.data), source=args.data).shuffle(seed=0)
    data = data.select(range(min(args.rows, len(data))))
    before = current_rss_mb()
    started = time.perf_counter()
    TextCNNClassifier(epochs=args.epochs, patience=args.epochs, seed=0).fit(data[TEXT], data[LABEL])
    print(
        f"rows={len(data)} epochs={args.epochs} allocator={allocator} "
        f"rss_before_fit_mb={before:.0f} peak_rss_mb={peak_rss_mb():.0f} "
        f"fit_seconds={time.perf_counter() - started:.0f}"
    )


if __name__ == "__main__":
    main()
