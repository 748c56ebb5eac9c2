"""`textcnn vectors`: train in-domain word2vec vectors on unlabeled text."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from textcnn.cli.options import encoding_option, hub_options, quoting_option, text_column_option
from textcnn.errors import TextCNNError

EXAMPLES = """
\b
Examples:
  textcnn vectors unlabeled.txt --out vectors.bin               # one text per line
  textcnn vectors unlabeled.txt --out vectors.txt.gz            # word2vec text, gzip
  textcnn vectors imdb --split unsupervised --out imdb-300d.bin --min-count 3
  textcnn vectors reviews.csv --text-column body --out v.bin --dim 100 --epochs 10
  textcnn train reviews.csv --out runs/r --vectors v.bin         # then use them
"""


@click.command("vectors", epilog=EXAMPLES)
@click.argument("corpus")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Vectors file to write: word2vec text for .txt/.vec, word2vec binary otherwise; gzip if it ends in .gz.",
)
@click.option("--dim", type=click.IntRange(min=1), default=300, show_default=True, help="Vector size.")
@click.option(
    "--min-count", type=click.IntRange(min=1), default=5, show_default=True, help="Rarer words get no vector."
)
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True, help="Passes over the corpus.")
@click.option("--window", type=click.IntRange(min=1), default=5, show_default=True, help="Context words each side.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=min(8, os.cpu_count() or 1),
    show_default="CPU cores, at most 8",
    help="Training threads.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@text_column_option
@hub_options
@encoding_option
@quoting_option
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def vectors_command(
    corpus: str,
    out: str,
    dim: int,
    min_count: int,
    epochs: int,
    window: int,
    workers: int,
    seed: int,
    text_column: str,
    split: str | None,
    dataset_config: str | None,
    encoding: str,
    quoting: str,
    overwrite: bool,
) -> None:
    """Train word2vec (skip-gram, negative sampling) on the texts of CORPUS; write --out.

    CORPUS is any source `textcnn train` reads (labels, if any, are ignored); .txt files hold one
    text per line. Texts are tokenised like textcnn's tokenizer does. Needs gensim:
    pip install 'textcnn[vectors]'.
    """
    from textcnn.cli.libraries import quiet_datasets
    from textcnn.data.columns import TEXT, select_columns
    from textcnn.data.loaders import load_source
    from textcnn.data.sources import check_source_options
    from textcnn.devices import refuse_torchrun
    from textcnn.embeddings.word2vec import Word2VecSettings, require_gensim, train_word2vec, vectors_output

    quiet_datasets()
    refuse_torchrun("vectors")
    require_gensim()
    logging.getLogger("gensim").setLevel(logging.WARNING)  # its INFO lines drown textcnn's own
    check_source_options(corpus, split=split, dataset_config=dataset_config, quoting=quoting)
    target = Path(out)
    fmt = vectors_output(target)  # before the work, not after it
    if target.exists() and not overwrite:
        raise TextCNNError(f"{target} already exists; pass --overwrite to replace it or pick another --out")
    raw = load_source(corpus, split=split or "train", dataset_config=dataset_config, encoding=encoding, quoting=quoting)
    texts = select_columns(raw, text_column=text_column, label_column=None, source=corpus, on_bad_rows="skip")
    settings = Word2VecSettings(dim=dim, min_count=min_count, epochs=epochs, window=window, workers=workers, seed=seed)
    result = train_word2vec(texts[TEXT], target, settings)
    click.echo(
        f"Saved {result.words} {dim}-d word vectors to {result.path} "
        f"({fmt.description}; from {result.texts} texts, {result.tokens} tokens)",
        err=True,
    )
