"""`textcnn train`: fit a model on a data source and write a model directory."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import click

from textcnn.classifier import TextCNNClassifier
from textcnn.cli.options import (
    KernelSizes,
    bad_rows_option,
    batch_size_option,
    encoding_option,
    hub_options,
    label_column_option,
    text_column_option,
    transfer_options,
)
from textcnn.data import load_source, select_columns
from textcnn.errors import TextCNNError
from textcnn.persistence import METRICS_FILE, is_model_dir

logger = logging.getLogger(__name__)

EXAMPLES = """
\b
Examples:
  textcnn train reviews.csv --out runs/reviews
  textcnn train data/ --out runs/news --valid valid/ --epochs 10
  textcnn train tweets.jsonl --out runs/t --text-column body --label-column sentiment
  textcnn train imdb --split train --out runs/imdb      # a Hugging Face dataset id
  textcnn train reviews.csv --out runs/r --vectors GoogleNews-vectors-negative300.bin.gz --embedding-mode static
  textcnn train new-task.csv --out runs/new --init-from runs/reviews --freeze-features
"""


@click.command("train", epilog=EXAMPLES)
@click.argument("data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--valid", "valid_data", default=None, help="Validation data (default: a stratified 10% of DATA).")
@text_column_option
@label_column_option
@hub_options
@encoding_option
@bad_rows_option
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Maximum epochs (early stopping usually ends sooner).",
)
@batch_size_option(50)
@click.option(
    "--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True, help="Learning rate."
)
@click.option(
    "--optimizer",
    type=click.Choice(["adamw", "adadelta"]),
    default="adamw",
    show_default=True,
    help="adadelta (lr 1.0) reproduces Kim 2014.",
)
@click.option(
    "--weight-decay", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Decoupled weight decay."
)
@click.option(
    "--max-norm",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="L2 cap on output-layer weight vectors (Kim 2014); 0 disables.",
)
@click.option(
    "--embedding-dim",
    type=click.IntRange(min=1),
    default=None,
    help="Word vector size [default: 300, or the size of --vectors].",
)
@transfer_options
@click.option("--kernel-sizes", type=KernelSizes(), default="3,4,5", show_default=True, help="Convolution widths.")
@click.option("--num-filters", type=click.IntRange(min=1), default=100, show_default=True, help="Filters per width.")
@click.option(
    "--dropout",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.5,
    show_default=True,
    help="Dropout before the output layer.",
)
@click.option(
    "--word-dropout",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.0,
    show_default=True,
    help="Chance of replacing a training token by [UNK].",
)
@click.option("--max-length", type=click.IntRange(min=1), default=256, show_default=True, help="Tokens kept per text.")
@click.option(
    "--min-freq", type=click.IntRange(min=1), default=1, show_default=True, help="Rarer training tokens become [UNK]."
)
@click.option("--max-vocab", type=click.IntRange(min=3), default=50_000, show_default=True, help="Vocabulary size cap.")
@click.option(
    "--tokenizer",
    "tokenizer_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Use this tokenizer.json instead of training one.",
)
@click.option(
    "--patience",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Epochs without validation gain before stopping.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (CPU runs are reproducible).")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps"]),
    default="auto",
    show_default=True,
    help="auto picks cuda > mps > cpu.",
)
@click.option("--overwrite", is_flag=True, help="Replace a model already in --out.")
def train_command(
    data: str,
    out_dir: str,
    valid_data: str | None,
    text_column: str,
    label_column: str,
    split: str | None,
    dataset_config: str | None,
    encoding: str,
    on_bad_rows: str,
    tokenizer_path: str | None,
    overwrite: bool,
    **hyperparameters: object,
) -> None:
    """Train a classifier on DATA and write it to --out.

    DATA is a .csv/.tsv/.jsonl/.parquet file, a folder of class sub-folders (one document per
    file), or a Hugging Face dataset id.
    """
    out = Path(out_dir)
    if is_model_dir(out) and not overwrite:
        raise TextCNNError(f"{out} already holds a model; pass --overwrite to replace it or pick another --out")

    def load(source: str, default_split: str) -> object:
        raw = load_source(source, split=split or default_split, dataset_config=dataset_config, encoding=encoding)
        return select_columns(
            raw, text_column=text_column, label_column=label_column, source=source, on_bad_rows=on_bad_rows
        )

    train = load(data, "train")
    valid = load(valid_data, "validation") if valid_data else None
    classifier = TextCNNClassifier(tokenizer=tokenizer_path, **hyperparameters)  # type: ignore[arg-type]

    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / METRICS_FILE
    metrics_path.unlink(missing_ok=True)

    def append_metrics(record: dict) -> None:
        if not classifier.process_group_.is_main:
            return
        with metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    try:
        classifier.fit_dataset(train, valid, callbacks=[append_metrics])  # type: ignore[arg-type]
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    if classifier.process_group_.is_main:
        classifier.save(out)
        click.echo(
            f"Saved model to {out} (best epoch {classifier.best_epoch_}, "
            f"validation accuracy {classifier.history_[classifier.best_epoch_ - 1]['valid_accuracy']:.4f})",
            err=True,
        )
