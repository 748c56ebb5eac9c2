"""The baselines textcnn is compared with, on the same splits: TF-IDF + logistic regression and fastText.

Each runner takes a job and its (train, dev or None, test) splits and returns the run's scores and
timings; none imports torch, so a baseline worker's peak RSS is the baseline's own.
"""

from __future__ import annotations

import importlib.util
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from scripts.bench.data import DATA_SEED, Split
from scripts.bench.jobs import Job
from scripts.bench.measure import current_rss_mb, score, timed

TFIDF_C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
TFIDF_CV_FOLDS = 5
FASTTEXT_PARAMS = {"epoch": 25, "lr": 0.5, "wordNgrams": 2}


def run_tfidf(job: Job, train: Split, dev: Split | None, test: Split) -> dict[str, Any]:
    """TF-IDF (1-2 grams, sublinear tf) + LogisticRegression with C picked by CV on train only.

    The vectorizer is fitted once on all of train, so the CV folds share its vocabulary and IDF
    (refitting it per fold would multiply the time on IMDB by ~35 for no change in the choice).
    liblinear is binary-only in scikit-learn >= 1.8, so multi-class tasks use one-vs-rest.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier

    def fit() -> tuple[TfidfVectorizer, GridSearchCV]:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        features = vectorizer.fit_transform(train.texts)
        linear = LogisticRegression(solver="liblinear")
        grid_name = "C"
        if len(set(train.labels)) > 2:
            linear, grid_name = OneVsRestClassifier(linear), "estimator__C"
        folds = StratifiedKFold(TFIDF_CV_FOLDS, shuffle=True, random_state=DATA_SEED)
        search = GridSearchCV(linear, {grid_name: list(TFIDF_C_GRID)}, cv=folds, scoring="accuracy", n_jobs=1)
        search.fit(features, train.labels)
        return vectorizer, search

    rss_before = current_rss_mb()
    (vectorizer, search), train_seconds = timed(fit)

    def predict(texts: list[str]) -> np.ndarray:
        return search.predict(vectorizer.transform(texts))

    predictions, predict_seconds = timed(predict, test.texts)
    return {
        **score(test.labels, predictions),
        "validation": f"{TFIDF_CV_FOLDS}-fold CV on train (C grid {list(TFIDF_C_GRID)})",
        "n_train": len(train.texts),
        "n_test": len(test.texts),
        "epochs": 1,
        "best_C": float(next(iter(search.best_params_.values()))),
        "cv_accuracy": float(search.best_score_),
        "n_features": len(vectorizer.vocabulary_),
        "train_seconds": train_seconds,
        "train_sentences_per_s": len(train.texts) / train_seconds,
        "predict_seconds": predict_seconds,
        "predict_sentences_per_s": len(test.texts) / predict_seconds,
        "rss_before_fit_mb": rss_before,
    }


def fasttext_line(text: str) -> str:
    """fastText reads whitespace-separated tokens, one text per line: lowercase, split off punctuation."""
    text = re.sub(r"<br\s*/?>", " ", text.lower())
    return " ".join(re.findall(r"\w+|[^\w\s]", text))


def run_fasttext(job: Job, train: Split, dev: Split | None, test: Split) -> dict[str, Any]:
    """fastText supervised with the issue's settings; labels travel as class indices."""
    import fasttext

    classes = sorted(set(train.labels), key=str)
    index = {label: i for i, label in enumerate(classes)}
    rss_before = current_rss_mb()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.txt"

        def fit() -> Any:
            lines = (
                f"__label__{index[y]} {fasttext_line(x)}\n" for x, y in zip(train.texts, train.labels, strict=True)
            )
            path.write_text("".join(lines), encoding="utf-8")
            return fasttext.train_supervised(
                input=str(path), thread=job.threads, seed=job.seed, verbose=0, **FASTTEXT_PARAMS
            )

        model, train_seconds = timed(fit)

    fallback = max(classes, key=train.labels.count)  # for texts with no token at all

    def predict(texts: list[str]) -> list[Any]:
        labels, _ = model.predict([fasttext_line(t) for t in texts])  # a list: avoids a NumPy 2 bug of 0.9.3
        return [classes[int(label[0].removeprefix("__label__"))] if label else fallback for label in labels]

    predictions, predict_seconds = timed(predict, test.texts)
    return {
        **score(test.labels, predictions),
        "validation": "none (fixed hyper-parameters)",
        "n_train": len(train.texts),
        "n_test": len(test.texts),
        "epochs": FASTTEXT_PARAMS["epoch"],
        "params": FASTTEXT_PARAMS,
        "train_seconds": train_seconds,
        "train_sentences_per_s": len(train.texts) * FASTTEXT_PARAMS["epoch"] / train_seconds,
        "predict_seconds": predict_seconds,
        "predict_sentences_per_s": len(test.texts) / predict_seconds,
        "rss_before_fit_mb": rss_before,
    }


def fasttext_available() -> bool:
    return importlib.util.find_spec("fasttext") is not None
