"""Training speed of `textcnn` against a plain PyTorch TextCNN loop, measured in the same process.

Two model sizes, each trained by both arms on the same rows:

- "kim": embedding 300, widths 3,4,5 x 100 filters, batch 50 (Kim 2014's architecture);
  reported as training sentences/s.
- "tiny": embedding 16, 8 filters per width, batch 50, where the arithmetic is negligible and the
  per-step host work (batching, padding, word dropout, optimiser bookkeeping) dominates;
  reported as steps/s.

Each rate is (work of a 3-epoch run minus work of a 1-epoch run) / (its wall time minus the
1-epoch run's), so start-up, tokenisation and the per-epoch validation count as they do for a user,
while a fixed start-up cost cancels. The arms run interleaved (textcnn 1 epoch, plain 1 epoch,
textcnn 3 epochs, plain 3 epochs), so a change of load on a shared machine hits both alike.

The last tenth of the (shuffled) rows is the validation set of both arms; textcnn gets it as
`X_valid`, with `refit=False`, so both arms train on exactly the same rows for the same epochs.

    python -m scripts.bench_train_speed ../shared/benchmarks/mr/train.csv
    python -m scripts.bench_train_speed ../shared/benchmarks/mr/train.csv --rows 2000 --sizes tiny
    python -m scripts.bench_train_speed ../shared/benchmarks/mr/train.csv --sizes tiny --profile 25
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from textcnn import TextCNNClassifier

BATCH_SIZE = 50
LR = 5e-4  # textcnn's default AdamW learning rate, used by the plain loop too
SIZES = {"kim": (300, 100), "tiny": (16, 8)}  # name -> (embedding_dim, num_filters)
KERNEL_SIZES = (3, 4, 5)


@dataclass(frozen=True)
class Split:
    train_texts: list[str]
    train_labels: list[str]
    valid_texts: list[str]
    valid_labels: list[str]


@dataclass(frozen=True)
class Run:
    """One timed training run: its wall seconds, and the training sentences and steps it did."""

    seconds: float
    sentences: int
    steps: int


@dataclass(frozen=True)
class Rates:
    """(long run - short run) work per second of one arm."""

    sentences_per_s: float
    steps_per_s: float


def load_split(path: str, rows: int | None = None, seed: int = 0) -> Split:
    """The rows of a `text,label` CSV, shuffled (`seed`), cut to `rows`, the last tenth held out."""
    with open(path, newline="", encoding="utf-8") as handle:
        data = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    random.Random(seed).shuffle(data)
    if rows is not None:
        data = data[:rows]
    if len(data) < 10:
        raise SystemExit(f"{path}: need at least 10 rows, found {len(data)}")
    cut = len(data) - max(1, len(data) // 10)
    texts, labels = [t for t, _ in data], [y for _, y in data]
    return Split(texts[:cut], labels[:cut], texts[cut:], labels[cut:])


def steps_per_epoch(rows: int, batch_size: int = BATCH_SIZE) -> int:
    return math.ceil(rows / batch_size)


def time_textcnn(split: Split, *, epochs: int, embedding_dim: int, num_filters: int, seed: int = 0) -> Run:
    """Wall time of `TextCNNClassifier.fit` as a user calls it (tokenizer training and validation included)."""
    model = TextCNNClassifier(
        embedding_dim=embedding_dim,
        kernel_sizes=KERNEL_SIZES,
        num_filters=num_filters,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        patience=epochs + 1,  # never stop early: every run trains exactly `epochs` epochs
        refit=False,
        seed=seed,
        device="cpu",
    )
    started = time.perf_counter()
    model.fit(split.train_texts, split.train_labels, X_valid=split.valid_texts, y_valid=split.valid_labels)
    seconds = time.perf_counter() - started
    n = len(split.train_texts)
    return Run(seconds, n * epochs, steps_per_epoch(n) * epochs)


# --- The plain PyTorch loop ---------------------------------------------------------------------
# What a user writes in about 100 lines without the package: whitespace tokens, a vocabulary of
# the training rows, per-batch padding, the same wide convolutions + max-pool + dropout 0.5 +
# linear layer as textcnn's model, torch's default AdamW, validation accuracy after every epoch.
# No word dropout, no max-norm, no gradient clipping, no checkpoint averaging: the baseline does
# the least work a correct loop can do.

PAD, UNK = 0, 1


def plain_tokenize(text: str) -> list[str]:
    return text.lower().split()


def plain_vocab(texts: Sequence[str]) -> dict[str, int]:
    counts = Counter(token for text in texts for token in plain_tokenize(text))
    return {token: index for index, (token, _) in enumerate(counts.most_common(50_000), start=2)}


def plain_encode(texts: Sequence[str], vocab: dict[str, int]) -> list[list[int]]:
    return [[vocab.get(token, UNK) for token in plain_tokenize(text)] or [UNK] for text in texts]


def plain_pad(sequences: Sequence[list[int]], min_length: int) -> torch.Tensor:
    width = max(min_length, max(len(s) for s in sequences))
    return torch.tensor([s + [PAD] * (width - len(s)) for s in sequences], dtype=torch.long)


class PlainTextCNN(nn.Module):
    def __init__(self, vocab_size: int, embedding_dim: int, num_filters: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.convs = nn.ModuleList(nn.Conv1d(embedding_dim, num_filters, k, padding=k - 1) for k in KERNEL_SIZES)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(num_filters * len(KERNEL_SIZES), num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids).transpose(1, 2)  # (batch, embedding, time)
        pooled = [F.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.out(self.dropout(torch.cat(pooled, dim=1)))


def plain_accuracy(model: PlainTextCNN, sequences: list[list[int]], labels: torch.Tensor) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(sequences), 256):
            logits = model(plain_pad(sequences[start : start + 256], max(KERNEL_SIZES)))
            correct += int((logits.argmax(1) == labels[start : start + 256]).sum())
    model.train()
    return correct / len(sequences)


def time_plain(split: Split, *, epochs: int, embedding_dim: int, num_filters: int, seed: int = 0) -> Run:
    """Wall time of the plain loop: vocabulary, encoding, `epochs` epochs each followed by validation."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    classes = sorted(set(split.train_labels))
    vocab = plain_vocab(split.train_texts)
    train_ids, valid_ids = plain_encode(split.train_texts, vocab), plain_encode(split.valid_texts, vocab)
    train_y = torch.tensor([classes.index(y) for y in split.train_labels])
    valid_y = torch.tensor([classes.index(y) if y in classes else -1 for y in split.valid_labels])
    model = PlainTextCNN(len(vocab) + 2, embedding_dim, num_filters, len(classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR)
    steps = 0
    for _ in range(epochs):
        order = torch.randperm(len(train_ids)).tolist()
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            loss = F.cross_entropy(model(plain_pad([train_ids[i] for i in batch], max(KERNEL_SIZES))), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
        plain_accuracy(model, valid_ids, valid_y)
    return Run(time.perf_counter() - started, len(train_ids) * epochs, steps)


# --- Comparison ---------------------------------------------------------------------------------


def rates(short: Run, long: Run) -> Rates:
    """Work per second between a short and a long run of the same arm (start-up cancels)."""
    seconds = long.seconds - short.seconds
    if seconds <= 0:  # noise swamped the extra epochs: too few rows for this machine's load
        return Rates(math.nan, math.nan)
    return Rates((long.sentences - short.sentences) / seconds, (long.steps - short.steps) / seconds)


@dataclass(frozen=True)
class Comparison:
    size: str
    textcnn: Rates
    plain: Rates

    @property
    def sentences_ratio(self) -> float:
        return self.textcnn.sentences_per_s / self.plain.sentences_per_s

    @property
    def steps_ratio(self) -> float:
        return self.textcnn.steps_per_s / self.plain.steps_per_s


def compare(
    split: Split, size: str, *, short_epochs: int = 1, long_epochs: int = 3, repeats: int = 1, seed: int = 0
) -> Comparison:
    """Both arms at one model size, runs interleaved so that load changes hit both arms alike.

    With `repeats` > 1 each run's fastest repeat counts (the one least slowed by other processes).
    """
    embedding_dim, num_filters = SIZES[size]
    shape = {"embedding_dim": embedding_dim, "num_filters": num_filters, "seed": seed}
    runs: dict[tuple[str, int], list[Run]] = {}
    for _ in range(repeats):
        for epochs in (short_epochs, long_epochs):
            for arm, timer in (("textcnn", time_textcnn), ("plain", time_plain)):
                runs.setdefault((arm, epochs), []).append(timer(split, epochs=epochs, **shape))
    best = {key: min(found, key=lambda run: run.seconds) for key, found in runs.items()}
    return Comparison(
        size,
        rates(best["textcnn", short_epochs], best["textcnn", long_epochs]),
        rates(best["plain", short_epochs], best["plain", long_epochs]),
    )


def warm_up(split: Split) -> None:
    """One small untimed run of each arm: imports, allocator and kernel caches warm before timing."""
    small = Split(split.train_texts[:100], split.train_labels[:100], split.valid_texts[:20], split.valid_labels[:20])
    for timer in (time_textcnn, time_plain):
        timer(small, epochs=1, embedding_dim=16, num_filters=8)


def format_table(comparisons: Sequence[Comparison]) -> str:
    lines = [
        "| model | textcnn sentences/s | plain sentences/s | textcnn steps/s | plain steps/s | textcnn / plain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in comparisons:
        lines.append(
            f"| {c.size} | {c.textcnn.sentences_per_s:.0f} | {c.plain.sentences_per_s:.0f} | "
            f"{c.textcnn.steps_per_s:.1f} | {c.plain.steps_per_s:.1f} | {c.steps_ratio:.2f}x |"
        )
    return "\n".join(lines)


def profile_textcnn(split: Split, size: str, top: int) -> None:
    """cProfile of a 1-epoch textcnn fit: the `top` functions by own time, then textcnn's training code by total."""
    import cProfile
    import pstats

    embedding_dim, num_filters = SIZES[size]
    profiler = cProfile.Profile()
    profiler.enable()
    time_textcnn(split, epochs=1, embedding_dim=embedding_dim, num_filters=num_filters)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"textcnn[/\\](training|batching|model)", top)  # the package's own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a CSV with columns text,label (e.g. MR's train.csv)")
    parser.add_argument("--rows", type=int, default=None, help="use the first ROWS shuffled rows (default: all)")
    parser.add_argument("--sizes", default="kim,tiny", help=f"comma-separated, of {','.join(SIZES)}")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each kind; the fastest counts")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="instead: cProfile textcnn, top N")
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"--sizes: unknown {unknown}; choose from {','.join(SIZES)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    split = load_split(args.data, args.rows)
    print(
        f"train rows {len(split.train_texts)}, valid rows {len(split.valid_texts)}, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
    )
    if args.profile:
        warm_up(split)
        profile_textcnn(split, sizes[0], args.profile)
        return
    warm_up(split)
    comparisons = [compare(split, size, repeats=args.repeats) for size in sizes]
    print(format_table(comparisons))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
