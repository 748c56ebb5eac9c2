"""Benchmark `TextCNNClassifier.explain` against `predict_proba` on the same sentences, same run.

A model is trained on DATA_DIR/train.csv (or taken from --model); the first --texts sentences of
DATA_DIR/test.csv (MR has 1,066) are predicted and explained --repeats times, alternately, in one
process with the same threads, and the fastest run of each is compared. The target is explaining
in at most 2x the time of predicting.

Usage:
    python -m scripts.bench_explain [DATA_DIR] [--model DIR] [--save DIR] [--epochs N]
        [--embedding-dim D] [--num-filters F] [--refit] [--threads T] [--texts 1000] [--repeats 5] [--top 10]
        [--json FILE]

DATA_DIR defaults to ../shared/benchmarks/mr (relative to the repository root).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from textcnn import TextCNNClassifier

REPO = Path(__file__).resolve().parent.parent


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(REPO / ".." / "shared" / "benchmarks" / "mr"))
    parser.add_argument("--model", help="an existing model directory (skips training)")
    parser.add_argument("--save", help="save the trained model here (to reuse it with --model)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs at most (default: textcnn's)")
    parser.add_argument("--embedding-dim", type=int, default=300)
    parser.add_argument("--num-filters", default="auto")
    parser.add_argument("--refit", action="store_true", help="refit on all rows after validation (textcnn's default)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--texts", type=int, default=1000, help="sentences to predict and explain")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=10, help="n-grams kept per explanation")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = Path(args.data_dir)
    for name in ("train.csv", "test.csv"):
        if not (data_dir / name).is_file():
            raise SystemExit(f"{data_dir / name} not found; pass the MR benchmark folder as DATA_DIR")
    if args.model:
        clf = TextCNNClassifier.load(args.model, device="cpu")
    else:
        texts, labels = read_csv(data_dir / "train.csv")
        num_filters: Any = args.num_filters if args.num_filters == "auto" else int(args.num_filters)
        started = time.perf_counter()
        clf = TextCNNClassifier(
            embedding_dim=args.embedding_dim,
            num_filters=num_filters,
            epochs=args.epochs,
            refit="auto" if args.refit else False,
            device="cpu",
        ).fit(texts, labels)
        print(f"trained on {len(texts)} sentences in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        if args.save:
            clf.save(args.save)
    test_texts, test_labels = read_csv(data_dir / "test.csv")
    sentences = test_texts[: args.texts]
    config = clf.model_.config

    clf.predict_proba(sentences[:50])  # warm up both paths (allocator, thread pool)
    clf.explain(sentences[:50], top=args.top)
    predict_times, explain_times = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        probabilities = clf.predict_proba(sentences)
        predict_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        explanations = clf.explain(sentences, top=args.top)
        explain_times.append(time.perf_counter() - started)
    predicted = clf.classes_[probabilities.argmax(axis=1)]
    assert [e.predicted for e in explanations] == predicted.tolist()
    worst = max(
        abs(e.logit.bias + sum(n.score for n in e.logit.ngrams) + e.logit.rest - e.logit.value) for e in explanations
    )
    predict, explain = min(predict_times), min(explain_times)
    accuracy = sum(p == y for p, y in zip(predicted, test_labels, strict=False)) / len(sentences)
    results = {
        "texts": len(sentences),
        "repeats": args.repeats,
        "top": args.top,
        "predict_s": round(predict, 4),
        "explain_s": round(explain, 4),
        "ratio": round(explain / predict, 3),
        "accuracy": round(accuracy, 4),
        "max_identity_error": worst,
        "model": {
            "embedding_dim": config.embedding_dim,
            "num_filters": config.num_filters,
            "kernel_sizes": list(config.kernel_sizes),
            "vocab_size": config.vocab_size,
        },
        "torch_threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
    }
    print(
        f"{len(sentences)} sentences: predict {predict * 1000:.0f} ms, explain {explain * 1000:.0f} ms "
        f"(best of {args.repeats}), ratio {explain / predict:.2f}x; |sum + bias - logit| <= {worst:.1e}; "
        f"accuracy {accuracy:.4f}"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
