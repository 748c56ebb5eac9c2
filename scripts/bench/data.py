"""Benchmark datasets on disk: folders `<data_root>/<dataset>/{train,test}.csv` (and `dev.csv` where
the dataset has one) with columns `text,label`, each split shuffled once with `DATA_SEED`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scripts.bench.errors import user_error

DATASETS = ("mr", "subj", "trec", "sst2", "imdb")
DATA_SEED = 0  # one fixed shuffle of every split, shared by all methods and seeds


@dataclass
class Split:
    texts: list[str]
    labels: list[Any]


def split_path(data_root: str | Path, dataset: str, split: str) -> Path:
    return Path(data_root) / dataset / f"{split}.csv"


def load_split(data_root: str | Path, dataset: str, split: str, limit: int | None = None) -> Split:
    """Read `<root>/<dataset>/<split>.csv`, shuffled with DATA_SEED, cut to `limit` rows."""
    import datasets

    path = split_path(data_root, dataset, split)
    # As textcnn.data.loaders reads CSV (without importing torch): texts such as "NA" stay text.
    table = datasets.load_dataset("csv", data_files=str(path), split="train", keep_default_na=False)
    missing = {"text", "label"} - set(table.column_names)
    if missing:
        raise user_error(f"{path} lacks column(s) {', '.join(sorted(missing))}; expected a header `text,label`")
    order = np.random.default_rng(DATA_SEED).permutation(len(table))
    if limit is not None:
        order = order[:limit]
    texts, labels = table["text"], table["label"]
    return Split([texts[i] for i in order], [labels[i] for i in order])


def load_splits(
    data_root: str | Path, dataset: str, max_train: int | None = None, max_test: int | None = None
) -> tuple[Split, Split | None, Split]:
    """(train, dev or None, test) of `dataset`; train and test cut to `max_train` / `max_test` rows."""
    train = load_split(data_root, dataset, "train", max_train)
    has_dev = split_path(data_root, dataset, "dev").is_file()
    dev = load_split(data_root, dataset, "dev") if has_dev else None
    test = load_split(data_root, dataset, "test", max_test)
    return train, dev, test


def check_data(data_root: str | Path, datasets: Sequence[str]) -> None:
    for dataset in datasets:
        for split in ("train", "test"):
            path = split_path(data_root, dataset, split)
            if not path.is_file():
                raise user_error(
                    f"{path} not found; --data-root must hold <name>/train.csv and <name>/test.csv for each dataset"
                )
