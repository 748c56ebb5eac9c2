"""Streamed batch prediction of files of any size, in constant memory.

The input is read in chunks through `datasets` streaming, each chunk is tokenised with the fast
batch encoder, run through the model in length-sorted batches, and written in input order. The
output goes to a temporary file renamed into place at the end, so an interrupted run never leaves
a truncated file that looks complete.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
from tqdm.auto import tqdm

from textcnn.classifier import TextCNNClassifier
from textcnn.data import iter_file_chunks, load_file
from textcnn.errors import TextCNNError
from textcnn.persistence import to_json_value

CHUNK_ROWS = 8192


def predict_file(
    model: TextCNNClassifier | str | Path,
    input_path: str | Path,
    output_path: str | Path = "-",
    *,
    text_column: str = "text",
    top_k: int = 1,
    batch_size: int = 256,
    chunk_rows: int = CHUNK_ROWS,
    show_progress: bool | None = None,
    encoding: str = "utf-8",
) -> int:
    """Write one JSON line per input row (`label`, `score`, `top_k`) and return the row count."""
    classifier = model if isinstance(model, TextCNNClassifier) else TextCNNClassifier.load(model)
    classifier.predict_batch_size = batch_size
    if top_k < 1:
        raise TextCNNError("--top-k must be >= 1")
    top_k = min(top_k, len(classifier.classes_))
    path = Path(input_path)
    if not path.exists():
        raise TextCNNError(f"file not found: {path}")
    if path.is_dir():
        raise TextCNNError(f"{path} is a directory; predict reads one file")
    stream = load_file(path, streaming=True, encoding=encoding)
    if path.suffix.lower() == ".txt":
        text_column = "text"
    classes = [to_json_value(c) for c in classifier.classes_]
    rows = 0
    with (
        _atomic_output(output_path) as out,
        tqdm(unit="rows", desc="Predicting", disable=None if show_progress is None else not show_progress) as bar,
    ):
        for chunk in iter_file_chunks(stream, path, batch_size=chunk_rows, encoding=encoding):
            if text_column not in chunk:
                raise TextCNNError(
                    f"{path} has no text column '{text_column}'; columns are: {', '.join(chunk)} "
                    "(choose one with --text-column)"
                )
            texts = chunk[text_column]
            probabilities = classifier.predict_proba(texts)
            out.write(_format_jsonl(probabilities, classes, top_k))
            rows += len(texts)
            bar.update(len(texts))
    return rows


def _format_jsonl(probabilities: np.ndarray, classes: list[Any], top_k: int) -> str:
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
    lines = []
    for row, order in zip(probabilities, best, strict=True):
        ranked = [{"label": classes[i], "score": float(row[i])} for i in order]
        lines.append(json.dumps({"label": ranked[0]["label"], "score": ranked[0]["score"], "top_k": ranked}))
    return "\n".join(lines) + "\n" if lines else ""


@contextmanager
def _atomic_output(output_path: str | Path) -> Iterator[IO[str]]:
    """Yield a text stream; for a file, write a sibling temp file and rename it on success."""
    if str(output_path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(output_path)
    if not target.parent.exists():
        raise TextCNNError(f"output folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
