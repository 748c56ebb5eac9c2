"""Prediction output: JSON lines, CSV/TSV or Parquet, written chunk by chunk, atomically.

Record layout (one output row per input row, in input order):

- JSONL: the kept input columns, then `label`, `score`, `top_k` (a list of `{"label", "score"}`,
  best first) and, with `probabilities`, `probabilities` (`{class: p}` in `classes_` order).
- CSV/TSV/Parquet: the kept input columns, then `label`, `score`; with top-k K > 1, also
  `label_2`, `score_2`, ..., `label_K`, `score_K`; with `probabilities`, one `prob_<class>`
  column per class. Scores are float32 (the model's precision).

Kept values: JSONL writes them as they were read (see `json_columns`); CSV/TSV write every kept
column as text (objects and lists as JSON); Parquet keeps each column's type, fixed by the first
chunk.

A kept input column whose name clashes with an output column is written as `input_<name>`
(`input_` repeated while that name is taken by another column too).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from textcnn.atomic import new_file_mode
from textcnn.data.columns import value_as_text
from textcnn.data.json_columns import ABSENT, decoded_values, is_json_column
from textcnn.errors import TextCNNError
from textcnn.prediction.formats import OUTPUT_FORMATS

STDOUT = "-"
_SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
}
KEPT_PREFIX = "input_"


def resolve_output_format(output: str | Path, output_format: str | None = None) -> str:
    """The explicit `output_format`, else the one the output's suffix names (JSONL for stdout)."""
    if output_format is not None:
        if output_format not in OUTPUT_FORMATS:
            raise TextCNNError(f"unknown output format '{output_format}'; use one of {', '.join(OUTPUT_FORMATS)}")
        return output_format
    if str(output) == STDOUT:
        return "jsonl"
    fmt = _SUFFIX_FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise TextCNNError(
            f"cannot tell the output format from '{output}'; name it .jsonl/.csv/.tsv/.parquet or pass `output_format`"
        )
    return fmt


def check_output_path(output: str | Path) -> None:
    """Fail before any work when a file output cannot be created."""
    if str(output) == STDOUT:
        return
    target = Path(output)
    if target.is_dir():
        raise TextCNNError(f"`output` {target} is a directory; give a file name")
    if not target.parent.exists():
        raise TextCNNError(f"output folder does not exist: {target.parent}")


@contextmanager
def atomic_output(output: str | Path) -> Iterator[IO[bytes]]:
    """Yield a binary stream: stdout's, or a sibling temp file renamed onto `output` on success.

    On any exception (including KeyboardInterrupt) the temp file is removed and `output` is left as
    it was, so an interrupted run never leaves a truncated file that looks complete.
    """
    if str(output) == STDOUT:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:
            raise TextCNNError("stdout does not accept bytes here; pass a file as `output`")
        yield buffer
        buffer.flush()
        return
    target = Path(output)
    check_output_path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        os.chmod(tmp, new_file_mode())  # mkstemp makes it private; the output should not be
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ranked_classes(probabilities: np.ndarray, top_k: int) -> np.ndarray:
    """Indices (n, top_k) of the best classes per row, best first; ties keep class order."""
    return np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]


class PredictionWriter(Protocol):
    def write(self, kept: pa.Table | None, probabilities: np.ndarray) -> None: ...

    def close(self) -> None:
        """Finish the output (footers, headers of an empty output); the sink stays open."""

    def abort(self) -> None:
        """Release resources after a failure, writing nothing that matters."""


def make_writer(
    sink: IO[bytes],
    output_format: str,
    *,
    classes: Sequence[Any],
    top_k: int = 1,
    probabilities: bool = False,
    keep_columns: Sequence[str] = (),
) -> PredictionWriter:
    """A writer for `output_format`. `keep_columns` names the kept columns for an empty output."""
    if output_format == "jsonl":
        return JsonlWriter(sink, classes=classes, top_k=top_k, probabilities=probabilities)
    if output_format in ("csv", "tsv", "parquet"):
        return TableWriter(
            sink,
            output_format,
            classes=classes,
            top_k=top_k,
            probabilities=probabilities,
            keep_columns=keep_columns,
        )
    raise TextCNNError(f"unknown output format '{output_format}'; use one of {', '.join(OUTPUT_FORMATS)}")


def kept_names(names: Sequence[str], reserved: set[str]) -> list[str]:
    """Output names for the kept columns `names`: a name that clashes with an output column gets
    `input_` in front, again and again until it is taken neither by an output column nor by another
    kept column (`label` next to an input `input_label` becomes `input_input_label`)."""
    taken = reserved | set(names)
    renamed = []
    for name in names:
        if name in reserved:
            while name in taken:
                name = KEPT_PREFIX + name
            taken.add(name)
        renamed.append(name)
    return renamed


class JsonlWriter:
    """One JSON object per line, UTF-8."""

    def __init__(self, sink: IO[bytes], *, classes: Sequence[Any], top_k: int, probabilities: bool) -> None:
        self.sink = sink
        self.classes = list(classes)
        self.class_keys = [str(c) for c in self.classes]
        self.top_k = top_k
        self.probabilities = probabilities
        self.reserved = {"label", "score", "top_k"} | ({"probabilities"} if probabilities else set())
        # One encoder for every row: json.dumps with options builds a new one per call.
        self.encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def write(self, kept: pa.Table | None, probabilities: np.ndarray) -> None:
        ranked = ranked_classes(probabilities, self.top_k).tolist()
        scores = probabilities.tolist()
        kept_rows: list[dict[str, Any]] | None = None
        if kept is not None and kept.num_columns:
            names = kept_names(kept.column_names, self.reserved)
            values = [decoded_values(field, kept.column(i), absent=ABSENT) for i, field in enumerate(kept.schema)]
            kept_rows = [
                {name: value for name, value in zip(names, row, strict=True) if value is not ABSENT}
                for row in zip(*values, strict=True)
            ]
        classes = self.classes
        lines = []
        for i, (order, row) in enumerate(zip(ranked, scores, strict=True)):
            record: dict[str, Any] = kept_rows[i] if kept_rows is not None else {}
            top = [{"label": classes[j], "score": row[j]} for j in order]
            record["label"] = top[0]["label"]
            record["score"] = top[0]["score"]
            record["top_k"] = top
            if self.probabilities:
                record["probabilities"] = dict(zip(self.class_keys, row, strict=True))
            lines.append(self.encode(record))
        if lines:
            self.sink.write(("\n".join(lines) + "\n").encode("utf-8"))

    def close(self) -> None:
        self.sink.flush()

    def abort(self) -> None:
        pass


class TableWriter:
    """CSV, TSV or Parquet through pyarrow; the first chunk fixes the schema."""

    def __init__(
        self,
        sink: IO[bytes],
        output_format: str,
        *,
        classes: Sequence[Any],
        top_k: int,
        probabilities: bool,
        keep_columns: Sequence[str] = (),
    ) -> None:
        self.sink = sink
        self.format = output_format
        self.classes = list(classes)
        self.label_values = pa.array(self.classes)
        self.top_k = top_k
        self.probabilities = probabilities
        self.keep_columns = list(keep_columns)
        self.prediction_columns = ["label", "score"]
        for rank in range(2, top_k + 1):
            self.prediction_columns += [f"label_{rank}", f"score_{rank}"]
        if probabilities:
            self.prediction_columns += [f"prob_{c}" for c in self.classes]
        self.reserved = set(self.prediction_columns)
        self.schema: pa.Schema | None = None
        self.text_for_missing: set[str] = set()  # columns typed text only because the first chunk lacked them
        self.writer: pa_csv.CSVWriter | pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, kept: pa.Table | None, probabilities: np.ndarray) -> None:
        table = self._table(kept, probabilities)
        if self.writer is None:
            self._open(table.schema)
        table = self._conform(table)
        assert self.writer is not None
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is None:  # no rows at all: still write a valid, empty file with the header
            empty = np.zeros((0, len(self.classes)), dtype=np.float32)
            kept = pa.table({name: pa.nulls(0) for name in self.keep_columns}) if self.keep_columns else None
            self._open(self._table(kept, empty).schema)
        assert self.writer is not None
        self.writer.close()
        self.sink.flush()

    def abort(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            with contextlib.suppress(Exception):
                writer.close()  # into the temp file that is about to be deleted

    def _table(self, kept: pa.Table | None, probabilities: np.ndarray) -> pa.Table:
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        if kept is not None:
            for i, output_name in enumerate(kept_names(kept.column_names, self.reserved)):
                columns[output_name] = self._kept_column(kept.schema.field(i), kept.column(i))
        ranked = ranked_classes(probabilities, self.top_k)
        rows = np.arange(len(probabilities))
        for rank in range(self.top_k):
            suffix = "" if rank == 0 else f"_{rank + 1}"
            best = ranked[:, rank]
            columns[f"label{suffix}"] = self.label_values.take(pa.array(best))
            columns[f"score{suffix}"] = pa.array(probabilities[rows, best], pa.float32())
        if self.probabilities:
            for index, name in enumerate(self.classes):
                columns[f"prob_{name}"] = pa.array(probabilities[:, index], pa.float32())
        return pa.table(columns)

    def _kept_column(self, field: pa.Field, column: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """CSV/TSV cells are text, so any column goes as text (nested values as JSON) and no type
        change between chunks can matter. Parquet keeps native types: see `_parquet_json_column`."""
        if self.format == "parquet":
            return self._parquet_json_column(field, column) if is_json_column(field) else column
        # float64 as JSON writes it too (4.0 stays "4.0"; Arrow's cast would write "4"), so that a
        # number's text does not depend on whether its chunk mixed it with other kinds of values.
        if is_json_column(field) or _is_nested(column.type) or pa.types.is_float64(column.type):
            return pa.array([_cell_text(value) for value in decoded_values(field, column)], pa.string())
        return column if pa.types.is_null(column.type) else column.cast(pa.string())

    def _parquet_json_column(self, field: pa.Field, column: pa.ChunkedArray) -> pa.Array:
        """A JSON-lines column Arrow could not type, for Parquet: numbers (ints beside floats) as
        floats, objects and lists as their JSON text, and a mix of kinds (numbers and strings) an
        error, since Parquet holds one type per column."""
        values = decoded_values(field, column)
        kinds = {type(value) for value in values if value is not None}
        if not kinds:  # nothing but missing values: typed by what comes later, as a null column is
            return pa.nulls(len(values))
        if len(kinds) == 1 and kinds <= {str, bool}:  # a plain column some rows lack
            return pa.array(values)
        if kinds <= {int, float}:
            return pa.array([None if value is None else float(value) for value in values], pa.float64())
        if kinds <= {dict, list}:
            return pa.array([_cell_text(value) for value in values], pa.string())
        names = ", ".join(sorted(kind.__name__ for kind in kinds))
        raise TextCNNError(
            f"input column '{field.name}' mixes value types ({names}) in rows {self.rows + 1}-"
            f"{self.rows + len(values)}; Parquet holds one type per column: write JSONL or CSV, or leave it out "
            "of the kept columns"
        )

    def _open(self, schema: pa.Schema) -> None:
        # A kept column that is all-missing in the first chunk has type null; text fits anything later.
        self.text_for_missing = {f.name for f in schema if pa.types.is_null(f.type)}
        fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in schema]
        self.schema = pa.schema(fields)
        if self.format == "parquet":
            self.writer = pq.ParquetWriter(self.sink, self.schema)
        else:
            options = pa_csv.WriteOptions(delimiter="\t" if self.format == "tsv" else ",")
            self.writer = pa_csv.CSVWriter(self.sink, self.schema, write_options=options)

    def _conform(self, table: pa.Table) -> pa.Table:
        """Cast a later chunk to the first chunk's schema, or explain why it cannot be."""
        assert self.schema is not None
        if table.schema.equals(self.schema):
            return table
        extra = [name for name in table.column_names if name not in self.schema.names]
        if extra:
            raise TextCNNError(
                f"input column '{extra[0]}' first appears after row {self.rows}, so it cannot join the "
                f"{self.format} output; write JSONL or list the columns with `keep_columns`"
            )
        arrays = []
        for field in self.schema:
            if field.name not in table.column_names:
                arrays.append(pa.nulls(table.num_rows, field.type))
                continue
            column = table.column(field.name)
            if not column.type.equals(field.type):
                column = self._cast_later_column(field, column)
            arrays.append(column)
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _cast_later_column(self, field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
        """Only missing values, or values for a column typed text because the first chunk lacked
        it, are cast; any other type change is an error, not a silent conversion."""
        changes = TextCNNError(
            f"input column '{field.name}' changes type from {field.type} to {column.type} after row "
            f"{self.rows}; write JSONL or CSV, or leave it out of the kept columns"
        )
        if not (pa.types.is_null(column.type) or field.name in self.text_for_missing):
            raise changes
        try:
            return column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise changes from None


def _is_nested(arrow_type: pa.DataType) -> bool:
    return pa.types.is_nested(arrow_type) or pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type)


def _cell_text(value: Any) -> str | None:
    """A kept value's text in a table cell: strings as they are, other values as JSON."""
    return value_as_text(value, ensure_ascii=False, default=str)
