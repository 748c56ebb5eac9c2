"""Options shared by several commands, declared once."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

import click

from textcnn.config import AUTO, EMBEDDING_MODES
from textcnn.data.sources import BAD_ROW_POLICIES, QUOTING

F = Callable[..., Any]


def text_column_option(f: F) -> F:
    return click.option("--text-column", default="text", show_default=True, help="Column holding the texts.")(f)


def label_column_option(f: F) -> F:
    return click.option("--label-column", default="label", show_default=True, help="Column holding the labels.")(f)


def hub_options(f: F) -> F:
    f = click.option(
        "--split",
        default=None,
        help="Split of a Hugging Face dataset (Hub id or local folder) (default: train for train, test for eval).",
    )(f)
    f = click.option("--dataset-config", default=None, help="Configuration name of a Hugging Face dataset.")(f)
    return f


def encoding_option(f: F) -> F:
    return click.option(
        "--encoding",
        default="utf-8",
        show_default=True,
        callback=_known_encoding,
        help="Text encoding of local files, e.g. latin-1 or cp1252.",
    )(f)


def _known_encoding(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {value!r}; try utf-8, latin-1 or cp1252") from None
    return value


def quoting_option(f: F) -> F:
    return click.option(
        "--quoting",
        type=click.Choice(list(QUOTING)),
        default="csv",
        show_default=True,
        help='CSV/TSV fields: csv reads "quoted" fields ("" is a quote inside them); '
        "none reads every quote mark as text (plain TSV files such as GLUE's).",
    )(f)


def bad_rows_option(f: F) -> F:
    return click.option(
        "--on-bad-rows",
        type=click.Choice(list(BAD_ROW_POLICIES)),
        default="error",
        show_default=True,
        help="What to do with rows whose text or label is missing.",
    )(f)


def batch_size_option(default: int) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return click.option(
            "--batch-size", type=click.IntRange(min=1), default=default, show_default=True, help="Texts per batch."
        )(f)

    return decorate


class KernelSizes(click.ParamType):
    """A comma-separated list of positive convolution widths, e.g. `3,4,5`."""

    name = "W[,W...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            sizes = tuple(int(part) for part in str(value).split(","))  # int() rejects an empty item: "3,,5"
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of integers, e.g. 3,4,5", param, ctx)
        if not sizes or any(size < 1 for size in sizes):
            self.fail(f"{value!r}: kernel sizes must be integers >= 1, e.g. 3,4,5", param, ctx)
        return sizes


class IntOrAuto(click.ParamType):
    """A positive integer, or "auto" for a size textcnn decides from the training data."""

    name = "N|auto"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.name  # click would upper-case the name, and "AUTO" is not what to type

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if value == AUTO or isinstance(value, int):
            return value
        try:
            number = int(str(value))
        except ValueError:
            self.fail(f"{value!r} is neither a whole number nor {AUTO!r}", param, ctx)
        if number < 1:
            self.fail(f"{value!r} must be >= 1 (or {AUTO!r})", param, ctx)
        return number


def transfer_options(f: F) -> F:
    """Pretrained word vectors, Kim's embedding modes and fine-tuning another model (`textcnn train`)."""
    f = click.option(
        "--freeze-features",
        is_flag=True,
        help="With --init-from: freeze the reused embeddings and convolutions; only the new output layer trains.",
    )(f)
    f = click.option(
        "--init-from",
        type=click.Path(file_okay=False),
        default=None,
        help="Reuse this model directory's tokenizer, embeddings and convolutions; train a new output layer.",
    )(f)
    f = click.option(
        "--embedding-mode",
        type=click.Choice(EMBEDDING_MODES),
        default=None,
        help="Kim 2014 variant (default: rand without --vectors, non-static with).",
    )(f)
    f = click.option(
        "--vectors",
        type=click.Path(dir_okay=False),
        default=None,
        help="Pretrained word vectors: word2vec .bin or .txt/.vec text (GloVe, fastText), optionally gzipped.",
    )(f)
    return f
