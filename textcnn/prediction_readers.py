"""Streamed input for prediction: files through `datasets` streaming, or stdin, in Arrow chunks.

Every reader yields `InputChunk`s of at most `chunk_rows` rows: the texts and, when asked for,
the input columns to copy to the output. Nothing reads the whole input at once.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc

from textcnn.data import TEXT, explain_read_error, load_file
from textcnn.errors import TextCNNError

STDIN = "-"
#: Input format -> the file suffix whose `datasets` builder reads it.
INPUT_FORMATS = {"txt": ".txt", "csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}
STDIN_FORMATS = ("txt", "jsonl")
#: Bytes of text or JSON lines read at a time (about 8,000 sentences; `datasets` reads 10 MB).
STREAM_BLOCK_BYTES = 1 << 20
_SUFFIX_FORMATS = {
    ".txt": "txt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}


@dataclass
class InputChunk:
    """A slice of the input: its texts (None for a missing cell) and the columns to keep."""

    texts: list[str | None]
    kept: pa.Table | None  # the kept columns, in input order, or None when nothing is kept

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class InputSpec:
    """What to read and which columns matter. `keep_columns=None` keeps every column."""

    source: str
    format: str
    text_column: str = TEXT
    keep_columns: tuple[str, ...] | None = ()
    encoding: str = "utf-8"

    @property
    def label(self) -> str:
        return "stdin" if self.source == STDIN else self.source


def resolve_input(
    source: str | Path,
    *,
    input_format: str | None = None,
    text_column: str = TEXT,
    keep_columns: Sequence[str] | None = (),
    encoding: str = "utf-8",
) -> InputSpec:
    """Check that `source` can be read and settle its format, before any work starts."""
    source = str(source)
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise TextCNNError(f"unknown input format '{input_format}'; use one of {', '.join(INPUT_FORMATS)}")
    if source == STDIN:
        fmt = input_format or "txt"
        if fmt not in STDIN_FORMATS:
            raise TextCNNError(
                f"stdin is read as {' or '.join(STDIN_FORMATS)}, not {fmt}; save the data to a .{fmt} file instead"
            )
    else:
        path = Path(source)
        if not path.exists():
            raise TextCNNError(f"file not found: {path}")
        if path.is_dir():
            raise TextCNNError(f"{path} is a directory; predict reads one file")
        fmt = input_format or _SUFFIX_FORMATS.get(path.suffix.lower(), "")
        if not fmt:
            raise TextCNNError(
                f"cannot tell the format of {path} from its suffix; "
                f"name it .txt/.csv/.tsv/.jsonl/.parquet or pass --input-format"
            )
    if fmt == "txt":
        text_column = TEXT  # a text file has exactly one column, named "text"
    keep = None if keep_columns is None else tuple(dict.fromkeys(keep_columns))
    return InputSpec(source, fmt, text_column, keep, encoding)


def read_chunks(spec: InputSpec, chunk_rows: int) -> Iterator[InputChunk]:
    """Stream `spec.source` as `InputChunk`s of at most `chunk_rows` rows."""
    tables = _stdin_tables(spec, chunk_rows) if spec.source == STDIN else _file_tables(spec, chunk_rows)
    for table in tables:
        yield _to_chunk(table, spec)


def _file_tables(spec: InputSpec, chunk_rows: int) -> Iterator[pa.Table]:
    path = Path(spec.source)
    stream = load_file(
        path,
        encoding=spec.encoding,
        streaming=True,
        suffix=INPUT_FORMATS[spec.format],
        builder_kwargs=_stream_options(spec.format, chunk_rows),
    )
    tables = stream.with_format("arrow").iter(batch_size=chunk_rows)
    while True:
        try:
            table = next(tables)
        except StopIteration:
            return
        except TextCNNError:
            raise
        except Exception as error:  # a malformed row deep in the file surfaces only while streaming
            raise TextCNNError(explain_read_error(path, error, spec.encoding)) from None
        yield table


def _stream_options(fmt: str, chunk_rows: int) -> dict[str, int]:
    """Builder read sizes that keep memory per read near one chunk (their defaults are much larger:
    10 MB blocks of text/JSON, whole Parquet row groups of up to a million rows)."""
    if fmt in ("txt", "jsonl"):
        return {"chunksize": STREAM_BLOCK_BYTES}
    if fmt in ("csv", "tsv"):
        return {"chunksize": chunk_rows}
    return {"batch_size": chunk_rows}


def _stdin_tables(spec: InputSpec, chunk_rows: int) -> Iterator[pa.Table]:
    binary: IO[bytes] = sys.stdin.buffer
    # Universal newlines, like the `datasets` text builder used for .txt files.
    text = io.TextIOWrapper(binary, encoding=spec.encoding, newline=None)
    try:
        lines = _decoded_lines(text, spec.encoding)
        if spec.format == "txt":
            yield from _batched_text(lines, chunk_rows)
        else:
            yield from _batched_jsonl(lines, chunk_rows)
    finally:
        text.detach()  # never close the process's stdin


def _decoded_lines(text: io.TextIOWrapper, encoding: str) -> Iterator[str]:
    try:
        for line in text:
            yield line[:-1] if line.endswith("\n") else line
    except UnicodeDecodeError as error:
        raise TextCNNError(f"stdin is not valid {encoding} (byte {error.start} of a block); pass --encoding") from None


def _batched_text(lines: Iterator[str], chunk_rows: int) -> Iterator[pa.Table]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == chunk_rows:
            yield pa.table({TEXT: pa.array(batch, pa.string())})
            batch = []
    if batch:
        yield pa.table({TEXT: pa.array(batch, pa.string())})


def _batched_jsonl(lines: Iterator[str], chunk_rows: int) -> Iterator[pa.Table]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise TextCNNError(f"stdin line {number} is not valid JSON ({error.msg}); pass JSON lines") from None
        if not isinstance(record, dict):
            raise TextCNNError(f'stdin line {number} is not a JSON object; each line needs one, e.g. {{"text": ...}}')
        records.append(record)
        if len(records) == chunk_rows:
            yield _records_to_table(records)
            records = []
    if records:
        yield _records_to_table(records)


def _records_to_table(records: list[dict[str, Any]]) -> pa.Table:
    """Columns are the union of the records' keys, in first-seen order; absent keys are null."""
    names = list(dict.fromkeys(key for record in records for key in record))
    columns = {}
    for name in names:
        values = [record.get(name) for record in records]
        try:
            columns[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep each value as JSON text
            columns[name] = pa.array(
                [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string()
            )
    return pa.table(columns)


def _to_chunk(table: pa.Table, spec: InputSpec) -> InputChunk:
    names = table.column_names
    if spec.text_column not in names:
        raise TextCNNError(
            f"{spec.label} has no text column '{spec.text_column}'; columns are: {', '.join(names)} "
            "(choose one with --text-column)"
        )
    if spec.keep_columns is None:
        kept: pa.Table | None = table
    elif spec.keep_columns:
        missing = [name for name in spec.keep_columns if name not in names]
        if missing:
            raise TextCNNError(
                f"{spec.label} has no column '{missing[0]}' to keep; columns are: {', '.join(names)} "
                "(fix --keep-columns)"
            )
        kept = table.select(list(spec.keep_columns))
    else:
        kept = None
    if kept is not None:
        kept = kept.replace_schema_metadata(None)  # drop the input's `datasets` feature metadata
    return InputChunk(_texts(table.column(spec.text_column), spec), kept)


def _texts(column: pa.ChunkedArray, spec: InputSpec) -> list[str | None]:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise TextCNNError(
                f"{spec.label}: text column '{spec.text_column}' holds {column.type}, not text; "
                "choose another with --text-column"
            ) from None
    return column.to_pylist()
