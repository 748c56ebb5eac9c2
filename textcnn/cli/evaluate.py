"""`textcnn eval`: score a model directory on labelled data."""

from __future__ import annotations

import json
from pathlib import Path

import click

from textcnn.cli.options import (
    bad_rows_option,
    batch_size_option,
    encoding_option,
    hub_options,
    label_column_option,
    quoting_option,
    text_column_option,
)
from textcnn.errors import TextCNNError

EXAMPLES = """
\b
Examples:
  textcnn eval runs/reviews test.csv
  textcnn eval runs/reviews test.csv --output metrics.json
  textcnn eval runs/reviews test.csv --output - | jq .macro_f1
  textcnn eval runs/imdb imdb --split test
  textcnn eval runs/reviews test.csv --plot confusion.png   # needs textcnn[plot]
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
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Also write the metrics as JSON here; - writes them to stdout (and the report to stderr).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw the confusion matrix, with class names, as a PNG here (needs textcnn[plot]: matplotlib).",
)
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
    plot: str | None,
) -> None:
    """Evaluate the model in MODEL_DIR on labelled DATA: per-class report and confusion matrix."""
    from textcnn.classifier import TextCNNClassifier
    from textcnn.cli.libraries import quiet_datasets
    from textcnn.data.columns import LABEL, TEXT, select_columns
    from textcnn.data.loaders import load_source
    from textcnn.data.sources import check_source_options
    from textcnn.devices import refuse_torchrun
    from textcnn.evaluation import evaluate_predictions, format_report
    from textcnn.inference import softmax
    from textcnn.persistence import atomic_write_text
    from textcnn.prediction.writers import check_output_path

    quiet_datasets()
    refuse_torchrun("eval")
    check_source_options(data, split=split, dataset_config=dataset_config, quoting=quoting)
    to_stdout = output == "-"
    if output and not to_stdout:
        check_output_path(output)  # before the work, not after it
        check_output_spares_inputs(output, model_dir=model_dir, data=data)
    if plot:
        from textcnn.plots import check_plotting

        check_plotting("--plot")
        check_output_path(plot)
        check_output_spares_inputs(plot, model_dir=model_dir, data=data, option="--plot")
    classifier = TextCNNClassifier.load(model_dir)
    classifier.predict_batch_size = batch_size
    raw = load_source(data, split=split or "test", dataset_config=dataset_config, encoding=encoding, quoting=quoting)
    dataset = select_columns(
        raw, text_column=text_column, label_column=label_column, source=data, on_bad_rows=on_bad_rows
    )
    logits = classifier.predict_logits(dataset[TEXT])
    predictions = classifier.classes_[logits.argmax(axis=1)]
    temperature = classifier.model_.config.temperature
    metrics = evaluate_predictions(
        dataset[LABEL], predictions, classifier.classes_, probabilities=softmax(logits, temperature)
    )
    metrics["temperature"] = temperature
    if temperature != 1.0:  # what calibration changed: the same rows at T = 1
        plain = evaluate_predictions(dataset[LABEL], predictions, classifier.classes_, probabilities=softmax(logits))
        metrics["uncalibrated"] = {"ece": plain["ece"], "brier": plain["brier"]}
    if metrics["unseen_labels"]:
        unseen = ", ".join(f"{label} ({count})" for label, count in sorted(metrics["unseen_labels"].items()))
        click.echo(f"Warning: rows with labels the model never saw were not scored: {unseen}", err=True)
    metrics_json = json.dumps(metrics, indent=2, ensure_ascii=False) + "\n"
    click.echo(format_report(metrics), err=to_stdout)  # stdout holds nothing but the JSON then
    if to_stdout:
        click.echo(metrics_json, nl=False)
    elif output:
        atomic_write_text(Path(output), metrics_json)
    if plot:
        from textcnn.plots import plot_confusion_matrix

        confusion = metrics["confusion_matrix"]
        plot_confusion_matrix(confusion["matrix"], confusion["labels"], plot)
        click.echo(f"Wrote the confusion matrix to {plot}", err=True)


def check_output_spares_inputs(output: str, *, model_dir: str, data: str, option: str = "--output") -> None:
    """Refuse an --output that would replace the data being evaluated or a file of the model.

    The labelled test set is often the only copy, and a model file replaced by metrics breaks the
    model. Anything inside MODEL_DIR is refused, not just its own files: `train --overwrite`
    replaces the folder as a whole, so metrics kept there would be lost with the old model.
    """
    target = Path(output).resolve()
    if Path(data).exists() and _is_or_inside(target, Path(data).resolve()):
        where = "the evaluated data file" if Path(data).is_file() else f"inside the data folder {data}"
        raise TextCNNError(f"{option} {output} is {where}; choose another output")
    if _is_or_inside(target, Path(model_dir).resolve()):
        raise TextCNNError(f"{option} {output} is inside the model directory {model_dir}; choose a file outside it")


def _is_or_inside(path: Path, other: Path) -> bool:
    return path == other or other in path.parents
