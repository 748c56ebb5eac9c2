"""`textcnn predict`: label every row of a file (or stdin), streamed, in constant memory."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from textcnn.cli.options import batch_size_option, encoding_option, quoting_option, text_column_option
from textcnn.prediction.formats import CHUNK_ROWS, INPUT_FORMATS, OUTPUT_FORMATS

EXAMPLES = """
\b
Examples:
  textcnn predict runs/reviews new.txt                       # JSON lines on stdout
  textcnn predict runs/reviews new.csv --output preds.jsonl --top-k 3
  textcnn predict runs/reviews big.parquet --output preds.parquet --keep-columns id --probabilities
  cat texts.txt | textcnn predict runs/reviews - --output-format csv > preds.csv
  textcnn predict runs/reviews - --input-format jsonl --keep-all < rows.jsonl
  textcnn predict serve/reviews new.txt --engine onnx        # a folder written by textcnn export
"""


class ColumnList(click.ParamType):
    """A comma-separated list of column names, e.g. `id,date`."""

    name = "COL[,COL...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        columns = tuple(part.strip() for part in str(value).split(",") if part.strip())
        if not columns:
            self.fail(f"{value!r} names no column; give e.g. id,date", param, ctx)
        return columns


@click.command("predict", epilog=EXAMPLES)
@click.argument("model_dir", type=click.Path())
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--output",
    default="-",
    show_default=True,
    help="Output file (.jsonl, .csv, .tsv, .parquet), or - for stdout. Written to a temp file, renamed at the end.",
)
@click.option(
    "--input-format",
    type=click.Choice(list(INPUT_FORMATS)),
    default=None,
    help="Format of INPUT when its suffix does not say (stdin: txt, the default, or jsonl).",
)
@click.option(
    "--output-format",
    type=click.Choice(list(OUTPUT_FORMATS)),
    default=None,
    help="Format of the output (default: from the --output suffix; jsonl for stdout).",
)
@text_column_option
@click.option("--keep-columns", type=ColumnList(), default=None, help="Input columns copied to the output, e.g. id.")
@click.option("--keep-all", is_flag=True, help="Copy every input column to the output.")
@click.option("--top-k", type=click.IntRange(min=1), default=1, show_default=True, help="Best labels listed per row.")
@click.option("--probabilities", is_flag=True, help="Add the probability of every class.")
@batch_size_option(256)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=CHUNK_ROWS,
    show_default=True,
    help="Rows read, tokenised and length-sorted together.",
)
@click.option(
    "--num-threads",
    type=click.IntRange(min=1),
    default=None,
    help="CPU threads for the model (default: OMP_NUM_THREADS if set, else the available cores).",
)
@encoding_option
@quoting_option
@click.option(
    "--engine",
    type=click.Choice(["torch", "onnx"]),
    default="torch",
    show_default=True,
    help="torch runs a model folder; onnx runs a folder written by `textcnn export` with onnxruntime.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary line on stderr.")
def predict_command(
    model_dir: str,
    input_path: str,
    output: str,
    input_format: str | None,
    output_format: str | None,
    text_column: str,
    keep_columns: tuple[str, ...] | None,
    keep_all: bool,
    top_k: int,
    probabilities: bool,
    batch_size: int,
    chunk_rows: int,
    num_threads: int | None,
    encoding: str,
    quoting: str,
    engine: str,
    quiet: bool,
) -> None:
    """Predict a label for each text of INPUT (.txt one per line, .csv, .tsv, .jsonl, .parquet, or - for stdin).

    One output row per input row, in input order, empty texts included. JSON lines look like
    {"label": ..., "score": p, "top_k": [{"label": ..., "score": p}, ...]}; CSV/TSV/Parquet get
    columns label, score (label_2, score_2, ... with --top-k, prob_<class> with --probabilities).
    Kept input columns come first; one that clashes with an output column is renamed input_<name>.
    """
    from textcnn.cli.libraries import quiet_datasets
    from textcnn.devices import refuse_torchrun
    from textcnn.prediction.stream import predict_file
    from textcnn.training.interruption import sigterm_as_exit

    quiet_datasets()
    refuse_torchrun("predict")
    with sigterm_as_exit(), _quiet_broken_pipe():
        rows = predict_file(
            model_dir,
            input_path,
            output,
            text_column=text_column,
            input_format=input_format,
            output_format=output_format,
            keep_columns=keep_columns or (),
            keep_all=keep_all,
            top_k=top_k,
            probabilities=probabilities,
            batch_size=batch_size,
            chunk_rows=chunk_rows,
            num_threads=num_threads,
            encoding=encoding,
            quoting=quoting,
            show_progress=False if quiet else None,
            engine=engine,
        )
    if output != "-" and not quiet:
        click.echo(f"Wrote {rows} predictions to {output}", err=True)


@contextmanager
def _quiet_broken_pipe() -> Iterator[None]:
    """`textcnn predict ... | head` ends quietly when the reader goes away."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush of stdout must not fail again
        sys.exit(1)
