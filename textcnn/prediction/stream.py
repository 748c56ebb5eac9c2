"""Streamed batch prediction of inputs of any size, in constant memory.

The pipeline, per chunk of `chunk_rows` input rows:

1. read (files through `datasets` streaming, or stdin) and tokenise with the fast batch encoder,
   in a background thread that runs one or two chunks ahead of the model;
2. run the model in inference mode on length-sorted batches (little padding) and put the
   probabilities back in input order;
3. format and write the rows (JSONL, CSV/TSV or Parquet) to a temporary file that is renamed
   onto the output at the end.

Memory is bounded by a few chunks whatever the input size.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from tqdm.auto import tqdm

from textcnn.classifier import TextCNNClassifier
from textcnn.data.columns import TEXT
from textcnn.errors import TextCNNError
from textcnn.persistence import to_json_value
from textcnn.prediction.engines import Engine, load_engine
from textcnn.prediction.formats import CHUNK_ROWS
from textcnn.prediction.prefetch import prefetch
from textcnn.prediction.readers import InputChunk, InputSpec, read_chunks, resolve_input, with_every_json_key
from textcnn.prediction.writers import atomic_output, check_output_path, make_writer, resolve_output_format
from textcnn.tokenization import encode_batch

#: Chunks tokenised ahead of the model.
PREFETCH_CHUNKS = 2


@dataclass
class PredictionChunk:
    """Predictions for a slice of the input: probabilities in input order, columns like `classes_`."""

    probabilities: np.ndarray  # (rows, num_classes) float32
    kept: pa.Table | None  # the kept input columns, or None


def predict_file(
    model: TextCNNClassifier | str | Path,
    input_path: str | Path,
    output_path: str | Path = "-",
    *,
    text_column: str = TEXT,
    input_format: str | None = None,
    output_format: str | None = None,
    keep_columns: Sequence[str] = (),
    keep_all: bool = False,
    top_k: int = 1,
    probabilities: bool = False,
    batch_size: int = 256,
    chunk_rows: int = CHUNK_ROWS,
    num_threads: int | None = None,
    encoding: str = "utf-8",
    quoting: str = "csv",
    show_progress: bool | None = None,
    engine: str = "torch",
) -> int:
    """Predict every row of `input_path` into `output_path` and return the number of rows.

    `input_path` is a .txt (one text a line), .csv, .tsv, .jsonl or .parquet file, or "-" for stdin
    (text lines, or JSON lines with `input_format="jsonl"`). `output_path` is a .jsonl, .csv, .tsv or
    .parquet file (or `output_format`), or "-" for stdout (JSONL unless `output_format` says
    otherwise). One output row per input row, in input order; see `textcnn.prediction.writers` for
    the columns. `keep_columns` (or `keep_all`) copies input columns to the output; `top_k` lists
    the best labels; `probabilities` adds the full distribution. `quoting="none"` reads CSV/TSV
    quote marks as text (`textcnn.data.sources.QUOTING`). `num_threads` defaults to the
    available CPU cores (or to OMP_NUM_THREADS when set); torch's setting is restored afterwards.
    `show_progress=None` shows a progress bar on stderr only when it is a terminal. `engine="onnx"`
    runs `model`, a folder written by `textcnn export`, with onnxruntime (`textcnn.prediction.engines`).
    """
    if top_k < 1:
        raise TextCNNError("`top_k` must be >= 1")
    fmt = resolve_output_format(output_path, output_format)
    check_output_path(output_path)
    if str(output_path) != "-" and str(input_path) != "-" and _same_file(input_path, output_path):
        raise TextCNNError(f"`output_path` {output_path} is the input file; choose another output")
    spec = _input_spec(input_path, input_format, text_column, keep_columns, keep_all, encoding, quoting)
    # Every column known before the first row is written: CSV/TSV/Parquet fix their header then, and
    # a key renamed for clashing with an output column (label -> input_label) is renamed the same
    # way in every chunk.
    spec = with_every_json_key(spec)
    runner = load_engine(model, engine)
    classes = [to_json_value(c) for c in runner.classes]
    top_k = min(top_k, len(classes))
    rows = 0
    with (
        atomic_output(output_path) as sink,
        tqdm(
            unit="rows",
            unit_scale=True,
            desc="Predicting",
            disable=None if show_progress is None else not show_progress,
        ) as bar,
    ):
        writer = make_writer(
            sink,
            fmt,
            classes=classes,
            top_k=top_k,
            probabilities=probabilities,
            keep_columns=spec.keep_columns or (),
        )
        try:
            for chunk in _predict_spec(runner, spec, batch_size, chunk_rows, num_threads):
                writer.write(chunk.kept, chunk.probabilities)
                rows += len(chunk.probabilities)
                bar.update(len(chunk.probabilities))
        except BaseException:
            writer.abort()
            raise
        writer.close()
    return rows


def iter_predictions(
    model: TextCNNClassifier | str | Path,
    input_path: str | Path,
    *,
    text_column: str = TEXT,
    input_format: str | None = None,
    keep_columns: Sequence[str] = (),
    keep_all: bool = False,
    batch_size: int = 256,
    chunk_rows: int = CHUNK_ROWS,
    num_threads: int | None = None,
    encoding: str = "utf-8",
    quoting: str = "csv",
    engine: str = "torch",
) -> Iterator[PredictionChunk]:
    """The streaming path of `predict_file` without the writing: `PredictionChunk`s in input order.

    Probability columns follow the model's `classes_`. Torch's thread setting is changed while the
    generator runs and restored when it finishes or is closed.
    """
    spec = _input_spec(input_path, input_format, text_column, keep_columns, keep_all, encoding, quoting)
    yield from _predict_spec(load_engine(model, engine), spec, batch_size, chunk_rows, num_threads)


def _input_spec(
    input_path: str | Path,
    input_format: str | None,
    text_column: str,
    keep_columns: Sequence[str],
    keep_all: bool,
    encoding: str,
    quoting: str,
) -> InputSpec:
    if keep_all and keep_columns:
        raise TextCNNError("use either `keep_columns` or `keep_all`, not both")
    return resolve_input(
        input_path,
        input_format=input_format,
        text_column=text_column,
        keep_columns=None if keep_all else keep_columns,
        encoding=encoding,
        quoting=quoting,
    )


def _predict_spec(
    runner: Engine,
    spec: InputSpec,
    batch_size: int,
    chunk_rows: int,
    num_threads: int | None,
) -> Iterator[PredictionChunk]:
    if batch_size < 1 or chunk_rows < 1:
        raise TextCNNError("batch size and chunk rows must be >= 1")
    tokenizer = runner.tokenizer
    max_length, truncation = runner.config.max_length, runner.config.truncation
    threads = default_num_threads() if num_threads is None else num_threads

    def tokenised() -> Iterator[tuple[InputChunk, list[list[int]]]]:
        for chunk in read_chunks(spec, chunk_rows):
            yield chunk, encode_batch(tokenizer, chunk.texts, max_length, truncation)

    chunks = prefetch(tokenised(), depth=PREFETCH_CHUNKS)
    try:
        with torch_threads(num_threads):
            for chunk, ids in chunks:
                probs = runner.probabilities(ids, batch_size=batch_size, num_threads=threads)
                del ids
                release_free_memory()
                yield PredictionChunk(probs, chunk.kept)
    finally:
        chunks.close()


def release_free_memory() -> None:
    """Hand memory freed by the last chunk back to the OS (glibc's malloc_trim; elsewhere a no-op).

    Each batch allocates buffers sized by its padded length; without this, glibc keeps the freed
    ones and the peak RSS creeps up over the first chunks by 10-20%.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return None


def default_num_threads() -> int:
    """OMP_NUM_THREADS when the user set it, else the CPU cores this process may run on."""
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run with `num_threads` torch intra-op threads, restoring the previous setting after."""
    wanted = default_num_threads() if num_threads is None else num_threads
    if wanted < 1:
        raise TextCNNError("`num_threads` must be >= 1")
    previous = torch.get_num_threads()
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
