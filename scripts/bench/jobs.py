"""What one benchmark run is: a method on a dataset with a seed, as a worker subprocess is told it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("textcnn", "tfidf", "fasttext")
NON_STATIC = "textcnn-non-static"


@dataclass
class Job:
    """One method on one dataset with one seed: what a worker subprocess is told to do."""

    method: str
    dataset: str
    seed: int
    data_root: str
    threads: int
    max_train: int | None = None
    max_test: int | None = None
    textcnn_params: dict[str, Any] = field(default_factory=dict)
    vectors: str | None = None
