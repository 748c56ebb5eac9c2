"""`textcnn inspect`: what each filter of a model responds to in some data, and which classes it favours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click

from textcnn.cli.options import batch_size_option, encoding_option, quoting_option, text_column_option

#: Input formats DATA may have (`textcnn.prediction.readers.INPUT_FORMATS`), spelled out so that
#: building the command imports nothing heavy.
INPUT_FORMATS = ("txt", "csv", "tsv", "jsonl", "parquet")

EXAMPLES = """
\b
Examples:
  textcnn inspect runs/reviews train.csv
  textcnn inspect runs/reviews train.csv --top 10 --output filters.json
  textcnn inspect runs/reviews sample.txt --output - | jq '.filters[0].top_ngrams'
"""


@click.command("inspect", epilog=EXAMPLES)
@click.argument("model_dir", type=click.Path())
@click.argument("data")
@click.option(
    "--input-format",
    type=click.Choice(INPUT_FORMATS),
    default=None,
    help="Format of DATA when its suffix does not say (stdin: txt, the default, or jsonl).",
)
@text_column_option
@encoding_option
@quoting_option
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="N-grams listed per filter.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Write every filter's report as JSON here; - writes it to stdout (and the summary to stderr).",
)
@batch_size_option(256)
def inspect_command(
    model_dir: str,
    data: str,
    input_format: str | None,
    text_column: str,
    encoding: str,
    quoting: str,
    top: int,
    output: str | None,
    batch_size: int,
) -> None:
    """Inspect the filters of the model in MODEL_DIR on the texts of DATA (.txt, .csv, .tsv, .jsonl,
    .parquet, or - for stdin).

    For each filter: the n-grams of DATA that excite it most (with how often each occurs), its
    average max-pooled value, and its output weights, i.e. the classes it pushes toward. The
    terminal summary lists, per class, the filters that raise its logit most on average.
    """
    from textcnn.classifier import TextCNNClassifier
    from textcnn.devices import refuse_torchrun
    from textcnn.errors import TextCNNError
    from textcnn.inspection import inspect_filters, summary
    from textcnn.persistence import atomic_write_text
    from textcnn.prediction.readers import read_chunks, resolve_input
    from textcnn.prediction.writers import check_output_path

    refuse_torchrun("inspect")
    to_stdout = output == "-"
    if output and not to_stdout:
        check_output_path(output)
        if data != "-" and Path(data).resolve() == Path(output).resolve():
            raise TextCNNError(f"--output {output} is the DATA file; choose another output")
    spec = resolve_input(data, input_format=input_format, text_column=text_column, encoding=encoding, quoting=quoting)
    classifier = TextCNNClassifier.load(model_dir)

    def texts() -> Iterator[list[str | None]]:
        for chunk in read_chunks(spec, 8192):
            yield chunk.texts

    report = inspect_filters(
        classifier.model_, classifier.tokenizer_, classifier.classes_, texts(), top=top, batch_size=batch_size
    )
    click.echo(summary(report), err=to_stdout)
    if output:
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n"
        if to_stdout:
            click.echo(text, nl=False)
        else:
            atomic_write_text(Path(output), text)
