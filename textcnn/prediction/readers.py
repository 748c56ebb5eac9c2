"""Streamed input for prediction in Arrow chunks: CSV/TSV/Parquet through `datasets` streaming,
text and JSON lines (a file or stdin) line by line.

Every reader yields `InputChunk`s of at most `chunk_rows` rows: the texts and, when asked for,
the input columns to copy to the output. Nothing reads the whole input at once (but a .json file
holding one JSON array, which `datasets` read whole too).
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from textcnn.data.columns import TEXT, value_as_text
from textcnn.data.json_columns import ABSENT, column_from_values, decoded_values, is_json_column, json_column
from textcnn.data.loaders import load_file, warn_if_quotes_joined_lines, without_bom
from textcnn.data.read_errors import explain_read_error
from textcnn.data.sources import check_quoting, data_suffix, open_binary
from textcnn.errors import TextCNNError
from textcnn.prediction.formats import INPUT_FORMATS

STDIN = "-"
STDIN_FORMATS = ("txt", "jsonl")
#: Formats read line by line here, from a file or stdin; the others go through `datasets`.
LINE_FORMATS = ("txt", "jsonl")
_SUFFIX_FORMATS = {
    ".txt": "txt",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}
T = TypeVar("T")


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
    quoting: str = "csv"  # a key of `textcnn.data.sources.QUOTING`, for CSV/TSV

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
    quoting: str = "csv",
) -> InputSpec:
    """Check that `source` can be read and settle its format, before any work starts."""
    source = str(source)
    check_quoting(quoting)
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
        fmt = input_format or _SUFFIX_FORMATS.get(data_suffix(path), "")
        if not fmt:
            raise TextCNNError(
                f"cannot tell the format of {path} from its suffix; "
                f"name it .txt/.csv/.tsv/.jsonl/.parquet or pass `input_format`"
            )
    if quoting != "csv" and fmt not in ("csv", "tsv"):
        raise TextCNNError(f"`quoting` applies to CSV/TSV input, not to {fmt}: leave it out")
    keep = None if keep_columns is None else tuple(dict.fromkeys(keep_columns))
    if fmt == "txt":  # a text file has exactly one column, named "text"; naming it keeps it in an empty output
        text_column = TEXT
        keep = (TEXT,) if keep is None else keep
    return InputSpec(source, fmt, text_column, keep, encoding, quoting)


def read_chunks(spec: InputSpec, chunk_rows: int) -> Iterator[InputChunk]:
    """Stream `spec.source` as `InputChunk`s of at most `chunk_rows` rows.

    JSON lines need not all have the same keys: a kept column that a chunk's rows lack is missing
    (null) there, and only a kept column that no row of the whole input has is an error, raised at
    the end (the output is written atomically, so nothing is left half-written). So is a text
    column missing from later chunks; one missing from the first chunk is an error at once (most
    likely a wrong `text_column`, better said before the whole input is read).
    """
    seen: set[str] = set()
    for number, table in enumerate(_tables(spec, chunk_rows)):
        if spec.format == "jsonl":
            seen.update(table.column_names)
            table = _with_missing_columns(table, spec, text_too=number > 0)
        yield _to_chunk(table, spec)
    never = [name for name in spec.keep_columns or () if name not in seen]
    if spec.format == "jsonl" and never and seen:
        raise TextCNNError(
            f"no row of {spec.label} has the column '{never[0]}' to keep; keys are: {', '.join(sorted(seen))} "
            "(fix `keep_columns`)"
        )


def _with_missing_columns(table: pa.Table, spec: InputSpec, *, text_too: bool) -> pa.Table:
    """Add the kept columns (and the text column, if `text_too`) this chunk's rows lack, as nulls."""
    wanted = [*(spec.keep_columns or ()), *([spec.text_column] if text_too else [])]
    for name in dict.fromkeys(wanted):
        if name not in table.column_names:  # no row of the chunk has the key
            table = table.append_column(*json_column(name, [None] * table.num_rows))
    return table


def _tables(spec: InputSpec, chunk_rows: int) -> Iterator[pa.Table]:
    if spec.source == STDIN:
        return _line_tables(sys.stdin.buffer, spec, chunk_rows)
    if spec.format in LINE_FORMATS:
        return _line_file_tables(spec, chunk_rows)
    return _file_tables(spec, chunk_rows)


def _file_tables(spec: InputSpec, chunk_rows: int) -> Iterator[pa.Table]:
    path = Path(spec.source)
    stream = load_file(
        path,
        encoding=spec.encoding,
        quoting=spec.quoting,
        streaming=True,
        suffix=INPUT_FORMATS[spec.format],
        builder_kwargs=_stream_options(spec, chunk_rows),
    )
    tables = stream.with_format("arrow").iter(batch_size=chunk_rows)
    rows = 0
    while True:
        try:
            table = next(tables)
        except StopIteration:
            if spec.format == "tsv" and spec.quoting == "csv":  # known only once the whole file is read
                warn_if_quotes_joined_lines([path], rows)
            return
        except TextCNNError:
            raise
        except Exception as error:  # a malformed row deep in the file surfaces only while streaming
            raise TextCNNError(explain_read_error(path, error, spec.encoding)) from None
        rows += table.num_rows
        yield table


def _stream_options(spec: InputSpec, chunk_rows: int) -> dict[str, Any]:
    """Builder read sizes that keep memory per read near one chunk (Parquet's default is a whole
    row group, up to a million rows). CSV/TSV columns arrive as text (`load_file`), so a kept
    column never changes type between chunks and values are copied as written."""
    if spec.format in ("csv", "tsv"):
        return {"chunksize": chunk_rows}
    return {"batch_size": chunk_rows}


def with_every_json_key(spec: InputSpec) -> InputSpec:
    """For `keep_all` from a JSON-lines file: keep every key of the whole file, in first-seen order.

    Output formats with a fixed set of columns (CSV, TSV, Parquet) write their header with the
    first chunk, so a key that first appears in a later chunk would have no column; and a key
    renamed for clashing with an output column must be renamed alike in every chunk. Reading the
    file's keys first (one more pass, in constant memory) settles the columns before any row is
    written. stdin cannot be read twice and stays as it is.
    """
    if spec.keep_columns is not None or spec.format != "jsonl" or spec.source == STDIN:
        return spec
    keys: dict[str, None] = {}
    with open_binary(Path(spec.source)) as binary:
        text = io.TextIOWrapper(binary, encoding=without_bom(spec.encoding), newline=None)
        for record in _json_records(_decoded_lines(text, spec), spec.label):
            keys.update(dict.fromkeys(record))
    return dataclasses.replace(spec, keep_columns=tuple(keys))


def _line_file_tables(spec: InputSpec, chunk_rows: int) -> Iterator[pa.Table]:
    with open_binary(Path(spec.source)) as binary:
        yield from _line_tables(binary, spec, chunk_rows)


def _line_tables(binary: IO[bytes], spec: InputSpec, chunk_rows: int) -> Iterator[pa.Table]:
    """Text lines or JSON lines, from stdin or a file, through the same code (so an empty file
    gives no rows, like empty stdin, where `load_file` would refuse it).

    JSON lines are parsed here rather than by `datasets`, whose streaming JSON reader turns a
    column with mixed types into JSON text (quotes added to every string of the block) and casts
    later blocks to the first block's types.
    """
    # Universal newlines, like the `datasets` text builder.
    text = io.TextIOWrapper(binary, encoding=without_bom(spec.encoding), newline=None)
    try:
        lines = _decoded_lines(text, spec)
        if spec.format == "txt":
            for batch in _batches(lines, chunk_rows):
                yield pa.table({TEXT: pa.array(batch, pa.string())})
        else:
            for records in _batches(_json_records(lines, spec.label), chunk_rows):
                yield _records_to_table(records)
    finally:
        text.detach()  # never close the process's stdin; a file is closed by its owner


def _decoded_lines(text: io.TextIOWrapper, spec: InputSpec) -> Iterator[str]:
    try:
        for line in text:
            yield line[:-1] if line.endswith("\n") else line
    except UnicodeDecodeError as error:
        if spec.source != STDIN:  # a file can be read again to find the line, as for .csv
            raise TextCNNError(explain_read_error(Path(spec.source), error, spec.encoding)) from None
        raise TextCNNError(
            f"stdin is not valid {spec.encoding} (byte {error.start} of a block); pass its `encoding`"
        ) from None


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _json_records(lines: Iterator[str], label: str) -> Iterator[dict[str, Any]]:
    """The objects of JSON lines, or the items of one JSON array (a .json file may hold one)."""
    first = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if first and line.lstrip().startswith("["):
            yield from _json_array_records("\n".join([line, *lines]), label)
            return
        first = False
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise TextCNNError(f"{label} line {number} is not valid JSON ({error.msg}); pass JSON lines") from None
        if not isinstance(record, dict):
            raise TextCNNError(f'{label} line {number} is not a JSON object; each line needs one, e.g. {{"text": ...}}')
        yield record


def _json_array_records(text: str, label: str) -> Iterator[dict[str, Any]]:
    """Objects as they are, anything else as a text (like `datasets` does for a list of strings)."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise TextCNNError(f"{label} is not valid JSON ({error.msg}, line {error.lineno})") from None
    for item in items:
        yield item if isinstance(item, dict) else {TEXT: item}


def _records_to_table(records: list[dict[str, Any]]) -> pa.Table:
    """Columns are the union of the records' keys, in first-seen order; absent keys are null.

    A column Arrow cannot type without changing values is carried as JSON (see `json_columns`).
    """
    names = list(dict.fromkeys(key for record in records for key in record))
    fields, arrays = zip(
        *(column_from_values(name, [r.get(name, ABSENT) for r in records]) for name in names), strict=True
    )
    return pa.Table.from_arrays(list(arrays), schema=pa.schema(fields))


def _to_chunk(table: pa.Table, spec: InputSpec) -> InputChunk:
    names = table.column_names
    if spec.text_column not in names:
        raise TextCNNError(
            f"{spec.label} has no text column '{spec.text_column}'; columns are: {', '.join(names)} "
            "(choose one with `text_column`)"
        )
    if spec.keep_columns is None:
        kept: pa.Table | None = table
    elif spec.keep_columns:
        missing = [name for name in spec.keep_columns if name not in names]
        if missing:
            raise TextCNNError(
                f"{spec.label} has no column '{missing[0]}' to keep; columns are: {', '.join(names)} "
                "(fix `keep_columns`)"
            )
        kept = table.select(list(spec.keep_columns))
    else:
        kept = None
    if kept is not None:
        kept = kept.replace_schema_metadata(None)  # drop the input's `datasets` feature metadata
    return InputChunk(_texts(table.schema.field(spec.text_column), table.column(spec.text_column), spec), kept)


def _texts(field: pa.Field, column: pa.ChunkedArray, spec: InputSpec) -> list[str | None]:
    if is_json_column(field):  # mixed JSON values: each one's text by training's rule
        return [value_as_text(value) for value in decoded_values(field, column)]
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise TextCNNError(
                f"{spec.label}: text column '{spec.text_column}' holds {column.type}, not text; "
                "choose another with `text_column`"
            ) from None
    return column.to_pylist()
