"""`textcnn eval`: score a model directory on labelled data."""

from __future__ import annotations

import json
from pathlib import Path

import click

from textcnn.classifier import TextCNNClassifier
from textcnn.cli.options import (
    bad_rows_option,
    batch_size_option,
    encoding_option,
    hub_options,
    label_column_option,
    quoting_option,
    text_column_option,
)
from textcnn.data import LABEL, TEXT, check_source_options, load_source, select_columns
from textcnn.evaluation import evaluate_predictions, format_report
from textcnn.persistence import atomic_write_text
from textcnn.prediction_writers import check_output_path

EXAMPLES = """
\b
Examples:
  textcnn eval runs/reviews test.csv
  textcnn eval runs/reviews test.csv --output metrics.json
  textcnn eval runs/imdb imdb --split test
"""


@click.command("eval", epilog=EXAMPLES)
@click.argument("model_dir", type=click.Path())
@click.argument("data")
@text_column_option
@label_column_option
@hub_options
@encoding_option
@quoting_option
@bad_rows_option
@batch_size_option(256)
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Also write the metrics as JSON here.")
def evaluate_command(
    model_dir: str,
    data: str,
    text_column: str,
    label_column: str,
    split: str | None,
    dataset_config: str | None,
    encoding: str,
    quoting: str,
    on_bad_rows: str,
    batch_size: int,
    output: str | None,
) -> None:
    """Evaluate the model in MODEL_DIR on labelled DATA: per-class report and confusion matrix."""
    check_source_options(data, split=split, dataset_config=dataset_config, quoting=quoting)
    if output:
        check_output_path(output)  # before the work, not after it
    classifier = TextCNNClassifier.load(model_dir)
    classifier.predict_batch_size = batch_size
    raw = load_source(data, split=split or "test", dataset_config=dataset_config, encoding=encoding, quoting=quoting)
    dataset = select_columns(
        raw, text_column=text_column, label_column=label_column, source=data, on_bad_rows=on_bad_rows
    )
    predictions = classifier.predict(dataset[TEXT])
    metrics = evaluate_predictions(dataset[LABEL], predictions, classifier.classes_)
    if metrics["unseen_labels"]:
        unseen = ", ".join(f"{label} ({count})" for label, count in sorted(metrics["unseen_labels"].items()))
        click.echo(f"Warning: rows with labels the model never saw were not scored: {unseen}", err=True)
    click.echo(format_report(metrics))
    if output:
        atomic_write_text(Path(output), json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
