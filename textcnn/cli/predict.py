"""`textcnn predict`: label every row of a file, streamed."""

from __future__ import annotations

import click

from textcnn.cli.options import batch_size_option, encoding_option, text_column_option
from textcnn.prediction import predict_file

EXAMPLES = """
\b
Examples:
  textcnn predict runs/reviews new.txt                       # JSON lines on stdout
  textcnn predict runs/reviews new.csv --output preds.jsonl --top-k 3
"""


@click.command("predict", epilog=EXAMPLES)
@click.argument("model_dir", type=click.Path())
@click.argument("input_path", metavar="INPUT")
@click.option("--output", default="-", show_default=True, help="Output .jsonl file, or - for stdout.")
@text_column_option
@click.option("--top-k", type=click.IntRange(min=1), default=1, show_default=True, help="Best labels listed per row.")
@batch_size_option(256)
@encoding_option
def predict_command(
    model_dir: str, input_path: str, output: str, text_column: str, top_k: int, batch_size: int, encoding: str
) -> None:
    """Predict labels for each text of INPUT (.txt one per line, .csv, .tsv, .jsonl, .parquet).

    Writes one JSON line per input row, in input order:
    {"label": ..., "score": p, "top_k": [{"label": ..., "score": p}, ...]}
    """
    rows = predict_file(
        model_dir, input_path, output, text_column=text_column, top_k=top_k, batch_size=batch_size, encoding=encoding
    )
    if output != "-":
        click.echo(f"Wrote {rows} predictions to {output}", err=True)
