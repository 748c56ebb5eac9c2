"""`textcnn train`: fit a model on a data source and write a model directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from textcnn.cli.options import (
    IntOrAuto,
    KernelSizes,
    bad_rows_option,
    batch_size_option,
    encoding_option,
    hub_options,
    label_column_option,
    quoting_option,
    text_column_option,
    transfer_options,
)
from textcnn.config import (
    AUTO,
    DEVICES,
    DOCUMENT_MAX_LENGTH,
    DOCUMENT_MEDIAN_TOKENS,
    DOCUMENT_NUM_FILTERS,
    OPTIMIZERS,
    POOLINGS,
    SELECT_METRICS,
    SENTENCE_MAX_LENGTH,
    SENTENCE_NUM_FILTERS,
    TRUNCATIONS,
    normalise_class_weight,
)
from textcnn.errors import TextCNNError

if TYPE_CHECKING:
    from textcnn.classifier import TextCNNClassifier

logger = logging.getLogger(__name__)

FOR_DOCUMENTS = f"when the median training text has >= {DOCUMENT_MEDIAN_TOKENS} tokens"
#: `--refit` choices -> the estimator's `refit`.
REFIT_OPTIONS = {"auto": AUTO, "always": True, "never": False}

EXAMPLES = """
\b
Examples:
  textcnn train reviews.csv --out runs/reviews
  textcnn train data/ --out runs/news --valid valid/ --epochs 10
  textcnn train tweets.jsonl --out runs/t --text-column body --label-column sentiment
  textcnn train imdb --split train --out runs/imdb      # a Hugging Face dataset id
  textcnn train reviews.csv --out runs/r --vectors GoogleNews-vectors-negative300.bin.gz --embedding-mode static
  textcnn train new-task.csv --out runs/new --init-from runs/reviews --freeze-features
  textcnn train reviews.csv --out runs/reviews --resume  # continue after Ctrl-C / SIGTERM
  textcnn train rare-spam.csv --out runs/spam --class-weight balanced --select-metric macro_f1
"""


class ClassWeight(click.ParamType):
    """`--class-weight`: balanced, none, or a JSON file of {label: weight}."""

    name = "balanced|none|FILE.json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, dict):
            return value
        if value in ("none", "balanced"):
            return None if value == "none" else value
        path = Path(value)
        if not path.is_file():
            self.fail(f"{value!r} is neither 'balanced', 'none' nor a JSON file of label -> weight", param, ctx)
        try:
            weights = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            self.fail(f'{value} is not readable JSON ({error}); give an object such as {{"spam": 5}}', param, ctx)
        try:
            return normalise_class_weight(weights)
        except ValueError as error:
            self.fail(f'{value}: {error}; give an object such as {{"spam": 5}}', param, ctx)


@click.command("train", epilog=EXAMPLES)
@click.argument("data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--valid", "valid_data", default=None, help="Validation data (default: a stratified 10% of DATA).")
@text_column_option
@label_column_option
@hub_options
@encoding_option
@quoting_option
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
    "--lr", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True, help="Learning rate."
)
@click.option(
    "--optimizer",
    type=click.Choice(OPTIMIZERS),
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
@click.option(
    "--num-filters",
    type=IntOrAuto(),
    default=AUTO,
    show_default=True,
    help=f"Filters per width; auto: {SENTENCE_NUM_FILTERS} (Kim 2014), {DOCUMENT_NUM_FILTERS} {FOR_DOCUMENTS}.",
)
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
    default=0.2,
    show_default=True,
    help="Chance of replacing a training token by [UNK].",
)
@click.option(
    "--wide-convolution/--narrow-convolution",
    default=True,
    show_default=True,
    help="Also pool windows that overlap a text's first and last words (Kim 2014 pads k-1 zeros each side).",
)
@click.option(
    "--pooling",
    type=click.Choice(POOLINGS),
    default="max",
    show_default=True,
    help="Features per filter: its max over the text (Kim 2014), or its max and its mean.",
)
@click.option(
    "--max-length",
    type=IntOrAuto(),
    default=AUTO,
    show_default=True,
    help=f"Tokens kept per text; auto: {SENTENCE_MAX_LENGTH}, {DOCUMENT_MAX_LENGTH} {FOR_DOCUMENTS}.",
)
@click.option(
    "--truncation",
    type=click.Choice(TRUNCATIONS),
    default="head+tail",
    show_default=True,
    help="Which tokens a longer text keeps: its first, its last, or the first quarter plus the last three quarters.",
)
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
@click.option(
    "--average-best",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Keep the mean of the weights of the N best validation epochs; 1 keeps the best epoch only.",
)
@click.option(
    "--refit",
    type=click.Choice(list(REFIT_OPTIONS)),
    default="auto",
    show_default=True,
    help="Without --valid: once the carved 10% has picked the epochs, train again on all rows for them; "
    "auto: for sentences, not documents.",
)
@click.option(
    "--class-weight",
    type=ClassWeight(),
    default="none",
    show_default=True,
    help="Weigh the loss per class: balanced (n / (classes x count)), none, or a JSON file {label: weight}.",
)
@click.option(
    "--select-metric",
    type=click.Choice(SELECT_METRICS),
    default="accuracy",
    show_default=True,
    help="Validation score for early stopping and the epochs to average; macro_f1 suits imbalanced classes.",
)
@click.option(
    "--calibrate/--no-calibrate",
    default=True,
    show_default=True,
    help="Fit a temperature on the validation data after training, so that probabilities match accuracy "
    "(labels unchanged).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (CPU runs are reproducible).")
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="auto",
    show_default=True,
    help="auto picks cuda > mps > cpu.",
)
@click.option("--overwrite", is_flag=True, help="Replace a model (or unfinished run) already in --out.")
@click.option("--resume", is_flag=True, help="Continue the interrupted run of --out from its checkpoint.")
def train_command(
    data: str,
    out_dir: str,
    valid_data: str | None,
    text_column: str,
    label_column: str,
    split: str | None,
    dataset_config: str | None,
    encoding: str,
    quoting: str,
    on_bad_rows: str,
    tokenizer_path: str | None,
    overwrite: bool,
    resume: bool,
    refit: str,
    **hyperparameters: object,
) -> None:
    """Train a classifier on DATA and write it to --out.

    DATA is a .csv/.tsv/.jsonl/.parquet file, a folder of class sub-folders (one document per
    file), a local Hugging Face dataset folder (save_to_disk, or data files such as
    data/train-*.parquet), or a Hugging Face Hub dataset id. --split picks DATA's split; a dataset
    given to --valid gives its 'validation' split.

    A checkpoint is kept in OUT.checkpoint after every epoch. Ctrl-C or SIGTERM stops training
    after the current step and writes the best model so far; rerun with --resume to continue.
    """
    from textcnn.classifier import TextCNNClassifier
    from textcnn.cli.libraries import quiet_datasets
    from textcnn.data.columns import select_columns
    from textcnn.data.loaders import SPLIT_HINT, load_source
    from textcnn.data.sources import check_source_options, quoting_applies
    from textcnn.persistence import is_model_dir
    from textcnn.training.checkpoint import check_output_dir, remove_checkpoint
    from textcnn.training.interruption import StopFlag, sigterm_as_exit, stop_on_signals
    from textcnn.training.run_lock import hold_run_lock

    quiet_datasets()
    # --quoting reads the CSV/TSV files among DATA and --valid (a JSONL --valid beside a plain TSV is
    # fine); given for neither, it is refused as for any other source it cannot apply to. The
    # default needs no look at the sources (each look lists a folder source's files).
    sources = (data, valid_data) if quoting != "csv" else ()
    quoted = [source for source in sources if source and quoting_applies(source)]
    check_source_options(data, split=split, dataset_config=dataset_config, quoting="csv" if quoted else quoting)
    out = Path(out_dir)
    # SIGTERM while data loads unwinds (lock released); training installs its own stop handler.
    with sigterm_as_exit(), hold_run_lock(out):  # one run per --out: checked, trained and saved undisturbed
        checkpoint_dir = check_output_dir(out, overwrite=overwrite, resume=resume)
        # A model already in --out got past check_output_dir only with one of these flags.
        may_replace_a_model = overwrite or resume

        def load(source: str, data_split: str, split_hint: str) -> object:
            raw = load_source(
                source,
                split=data_split,
                dataset_config=dataset_config,
                encoding=encoding,
                quoting=quoting if source in quoted else "csv",
                split_hint=split_hint,
            )
            return select_columns(
                raw, text_column=text_column, label_column=label_column, source=source, on_bad_rows=on_bad_rows
            )

        train = load(data, split or "train", SPLIT_HINT)
        # --split names DATA's split; a dataset given to --valid gives its 'validation' split.
        valid_hint = "--valid reads a dataset's 'validation' split; leave --valid out to hold out part of DATA"
        valid = load(valid_data, "validation", valid_hint) if valid_data else None
        classifier = TextCNNClassifier(tokenizer=tokenizer_path, refit=REFIT_OPTIONS[refit], **hyperparameters)  # type: ignore[arg-type]

        if not resume:
            remove_checkpoint(checkpoint_dir)  # a stale run that --overwrite replaces
        stop = StopFlag()
        with stop_on_signals(stop):
            classifier.fit_dataset(train, valid, checkpoint_dir=checkpoint_dir, resume=resume, should_stop=stop)
            if not classifier.process_group_.is_main:
                return
            best = _best_summary(classifier)
            if classifier.best_epoch_:
                if is_model_dir(out) and not may_replace_a_model:
                    raise TextCNNError(
                        f"{out} received a model from elsewhere while this run trained (another run on the same "
                        "--out?); it was left as it is and this run's model was not saved "
                        f"(checkpoint: {checkpoint_dir})"
                    )
                classifier.save(out)
                _draw_curves(classifier, out)
            if classifier.interrupted_:
                if classifier.refit_stopped_:
                    saved = f"saved the validated model ({best}) to {out}; the refit on all rows was stopped"
                else:
                    saved = f"saved the best model so far ({best}) to {out}"
                    if not classifier.best_epoch_:
                        saved = "no epoch finished"
                click.echo(
                    f"Interrupted: {saved}; checkpoint in {checkpoint_dir}. "
                    "To continue, run the same command again with --resume",
                    err=True,
                )
                click.get_current_context().exit(stop.exit_code)
            remove_checkpoint(checkpoint_dir)
            click.echo(f"Saved model to {out} ({best})", err=True)


def _draw_curves(classifier: TextCNNClassifier, out: Path) -> None:
    """curves.png in the model folder when matplotlib is installed; else one line on how to get it."""
    from textcnn.plots import CURVES_FILE, INSTALL_HINT, plot_training_curves, plotting_available

    if not plotting_available():
        click.echo(f"Training curves ({CURVES_FILE} in the model folder) need matplotlib: {INSTALL_HINT}", err=True)
        return
    history = [*classifier.history_, *classifier.refit_history_]
    if history:
        plot_training_curves(history, out / CURVES_FILE)


def _best_summary(classifier: TextCNNClassifier) -> str:
    """'best epoch N, validation accuracy A' plus the averaging and refit that followed it."""
    best = f"best epoch {classifier.best_epoch_}"
    if not classifier.best_epoch_:
        return best
    record = classifier.history_[classifier.best_epoch_ - 1]
    best += f", validation accuracy {record['valid_accuracy']:.4f}"
    if classifier.select_metric == "macro_f1":
        best += f", macro-F1 {record['valid_macro_f1']:.4f}"
    if classifier.averaged_epochs_:
        best += (
            f"; weights averaged over epochs {','.join(map(str, classifier.averaged_epochs_))}, "
            f"validation accuracy {classifier.valid_accuracy_:.4f}"
        )
    if classifier.temperature_ != 1.0:
        best += f"; calibrated, temperature {classifier.temperature_:.3f}"
    if classifier.refit_:
        epochs = len(classifier.refit_history_)
        best += f"; then refit on all training rows for {epochs} epoch{'' if epochs == 1 else 's'}"
    return best
