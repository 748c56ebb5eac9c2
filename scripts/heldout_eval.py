"""Score textcnn settings on a held-out part of a TRAIN split (never the test split).

This is how the defaults were chosen: hold out a stratified 15% of `train.csv` (split seed 123),
fit on the rest with the given settings, print held-out accuracy. Test splits stay untouched.

    python -m scripts.heldout_eval ../shared/benchmarks/mr --param lr=5e-4 --param word_dropout=0.2 --seed 0
"""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from textcnn import TextCNNClassifier
from textcnn.data import LABEL, TEXT, load_source, select_columns


def parse_param(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value


def heldout_split(
    dataset: Path, heldout: float = 0.15, split_seed: int = 123
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fit texts, held-out texts, fit labels, held-out labels) from `dataset`/train.csv, stratified."""
    data = select_columns(load_source(dataset / "train.csv"), source="train.csv")
    texts, labels = np.array(data[TEXT], dtype=object), np.array(data[LABEL])
    return train_test_split(texts, labels, test_size=heldout, stratify=labels, random_state=split_seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="folder holding train.csv (text,label)")
    parser.add_argument("--param", action="append", default=[], help="estimator setting name=value (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heldout", type=float, default=0.15)
    parser.add_argument("--split-seed", type=int, default=123)
    args = parser.parse_args()

    fit_x, held_x, fit_y, held_y = heldout_split(args.dataset, args.heldout, args.split_seed)
    params = dict(parse_param(p) for p in args.param)
    started = time.perf_counter()
    classifier = TextCNNClassifier(seed=args.seed, **params).fit(fit_x, fit_y)
    print(
        f"{args.dataset.name} {params} seed={args.seed} heldout_accuracy={classifier.score(held_x, held_y):.4f} "
        f"best_epoch={classifier.best_epoch_} kept_valid_accuracy={classifier.valid_accuracy_:.4f} "
        f"refit_epochs={len(classifier.refit_history_)} "
        f"seconds={time.perf_counter() - started:.0f}"
    )


if __name__ == "__main__":
    main()
