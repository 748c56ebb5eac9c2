"""Shared fixtures: a small learnable corpus generated in the test, and one fitted model per session."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import torch

# Keep Hugging Face caches inside pytest's temp area and never reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

TOPICS = {
    "sports": ["goal", "match", "league", "striker", "coach", "tennis", "olympic", "referee"],
    "tech": ["software", "chip", "laptop", "startup", "robot", "internet", "server", "algorithm"],
    "food": ["recipe", "pasta", "bakery", "spicy", "dessert", "chef", "garlic", "cheese"],
}
FILLER = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "on",
    "with",
    "for",
    "it",
    "was",
    "is",
    "this",
    "that",
    "by",
    "at",
    "from",
    "as",
    "an",
    "be",
    "or",
    "are",
    "today",
    "people",
    "said",
    "new",
    "very",
    "about",
    "after",
    "more",
    "some",
    "year",
    "could",
    "would",
]

# Small, fast architecture for tests: the behaviour under test does not depend on size.
SMALL = {
    "embedding_dim": 32,
    "num_filters": 16,
    "batch_size": 16,
    "lr": 3e-3,
    "epochs": 12,
    "patience": 4,
    "device": "cpu",
}


def make_corpus(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts whose topic label is given by one or two keywords hidden among filler words."""
    rng = random.Random(seed)
    labels = sorted(TOPICS)
    texts, targets = [], []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.choices(FILLER, k=rng.randint(4, 14))
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randint(0, len(words)), rng.choice(TOPICS[label]))
        texts.append(" ".join(words))
        targets.append(label)
    return texts, targets


def make_documents(n: int, words_per_text: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Texts of `words_per_text` words, each made of generated sentences about one topic."""
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = {}
    for text, label in zip(*make_corpus(n * 40, seed), strict=True):
        by_label.setdefault(label, []).append(text)
    texts, labels = [], []
    for i in range(n):
        label = sorted(by_label)[i % len(by_label)]
        words: list[str] = []
        while len(words) < words_per_text:
            words.extend(rng.choice(by_label[label]).split())
        texts.append(" ".join(words[:words_per_text]))
        labels.append(label)
    return texts, labels


class StopAfterSteps:
    """`should_stop` that answers True after `n` polls, i.e. in the middle of an epoch."""

    def __init__(self, n: int) -> None:
        self.n, self.polls = n, 0

    def __call__(self) -> bool:
        self.polls += 1
        return self.polls > self.n


#: Linux exposes child processes under /proc; tests that need them skip elsewhere.
HAS_PROC_CHILDREN = Path("/proc/self/task").exists()


def child_pids(pid: int) -> list[int]:
    """Child processes of every thread of `pid` (a thread pool's subprocesses are its threads' children)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return found


def wait_for_children(pid: int, count: int, timeout: float = 60) -> list[int]:
    """`pid`'s child processes once there are at least `count` of them (or at `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while len(child_pids(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return child_pids(pid)


def is_running(pid: int) -> bool:
    """Whether `pid` still runs; a zombie has stopped (only its exit status is left)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.fixture(autouse=True)
def _isolated_hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path_factory.getbasetemp() / "hf-cache"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(cache))


@pytest.fixture(autouse=True)
def _datasets_progress_bars_on() -> None:
    """Every test starts with `datasets`' default, progress bars on: the CLI turns them off for its
    whole process, and CliRunner (a module's `model_dir` fixture, say) runs it in the tests' one."""
    import datasets

    datasets.enable_progress_bars()


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def corpus() -> tuple[list[str], list[str]]:
    return make_corpus(360, seed=1)


@pytest.fixture(scope="session")
def test_corpus() -> tuple[list[str], list[str]]:
    return make_corpus(90, seed=2)


@pytest.fixture(scope="session")
def fitted(corpus: tuple[list[str], list[str]]):
    """One classifier fitted once for every test that only reads from it."""
    from textcnn import TextCNNClassifier

    texts, labels = corpus
    return TextCNNClassifier(**SMALL).fit(texts, labels)
