"""`textcnn explain`: the n-grams behind each prediction, with their exact contributions to the logit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from textcnn.cli.options import batch_size_option, encoding_option, quoting_option, text_column_option

if TYPE_CHECKING:
    from textcnn.explanation import Attribution, Explanation

EXPLAIN_FORMATS = ("text", "json", "html")
_SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".jsonl": "json", ".json": "json", ".ndjson": "json"}
#: Input formats `--input` reads (`textcnn.prediction.readers.INPUT_FORMATS`), spelled out so that
#: building the command imports nothing heavy.
INPUT_FORMATS = ("txt", "csv", "tsv", "jsonl", "parquet")

EXAMPLES = """
\b
Examples:
  textcnn explain runs/reviews "a gorgeous, witty, seductive movie"
  textcnn explain runs/reviews "not bad at all" --label positive --top 5
  textcnn explain runs/reviews --input new.csv --format json --output why.jsonl
  textcnn explain runs/reviews --input new.txt --output why.html      # one self-contained page
"""


@click.command("explain", epilog=EXAMPLES)
@click.argument("model_dir", type=click.Path())
@click.argument("texts", nargs=-1, metavar="[TEXT]...")
@click.option(
    "--input",
    "input_path",
    default=None,
    help="Explain every row of this file instead (.txt, .csv, .tsv, .jsonl, .parquet, or - for stdin).",
)
@click.option(
    "--input-format",
    type=click.Choice(INPUT_FORMATS),
    default=None,
    help="Format of --input when its suffix does not say (stdin: txt, the default, or jsonl).",
)
@text_column_option
@encoding_option
@quoting_option
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="N-grams listed per text (largest first)."
)
@click.option("--label", default=None, help="Explain this class's logit instead of the predicted class's.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(EXPLAIN_FORMATS),
    default=None,
    help="text (highlighted, for the terminal), json (JSON lines) or html (one page) "
    "[default: from the --output suffix: .html, .jsonl; else text].",
)
@click.option(
    "--output",
    default="-",
    show_default=True,
    help="Write here instead of stdout (written to a temp file, renamed at the end).",
)
@batch_size_option(256)
def explain_command(
    model_dir: str,
    texts: tuple[str, ...],
    input_path: str | None,
    input_format: str | None,
    text_column: str,
    encoding: str,
    quoting: str,
    top: int,
    label: str | None,
    output_format: str | None,
    output: str,
    batch_size: int,
) -> None:
    """Explain the model's prediction for each TEXT (or each row of --input): which n-grams drove it.

    For every text: the label, its logit as bias + the signed contribution of each n-gram (token
    span) of the text, and the margin over the runner-up class decomposed the same way. The
    contributions are exact, not estimated: with the bias they sum to the model's logit.
    """
    from textcnn.classifier import TextCNNClassifier
    from textcnn.devices import refuse_torchrun
    from textcnn.errors import TextCNNError
    from textcnn.explanation import check_request, iter_file_explanations
    from textcnn.prediction.writers import atomic_output, check_output_path

    refuse_torchrun("explain")
    if bool(texts) == (input_path is not None):
        raise click.UsageError(
            "give the texts to explain as arguments or --input FILE, not both"
            if texts
            else "nothing to explain: give a TEXT argument or --input FILE"
        )
    fmt = output_format or ("text" if output == "-" else _SUFFIX_FORMATS.get(Path(output).suffix.lower(), "text"))
    if output != "-":
        check_output_path(output)
        if input_path is not None and input_path != "-" and Path(input_path).resolve() == Path(output).resolve():
            raise TextCNNError(f"--output {output} is the --input file; choose another output")
    classifier = TextCNNClassifier.load(model_dir)
    model, tokenizer, classes = classifier.model_, classifier.tokenizer_, classifier.classes_
    check_request(classes, top=top, label=label, batch_size=batch_size)
    if input_path is None:
        chunks: Iterable[list[Explanation]] = [classifier.explain(list(texts), top=top, label=label)]
    else:
        chunks = iter_file_explanations(
            model,
            tokenizer,
            classes,
            input_path,
            input_format=input_format,
            text_column=text_column,
            encoding=encoding,
            quoting=quoting,
            top=top,
            label=label,
            batch_size=batch_size,
        )
    title = f"textcnn explanations: {Path(model_dir).name}"
    numbered = _Numbered(chunks)
    if output == "-" and fmt == "text":
        for explanation in numbered:
            click.echo(format_explanation(explanation, numbered.count))
        return
    with atomic_output(output) as sink:
        for piece in _rendered(numbered, fmt, title):
            sink.write(piece.encode("utf-8"))
    if output != "-":
        click.echo(f"Wrote {numbered.count} explanation{'' if numbered.count == 1 else 's'} to {output}", err=True)


class _Numbered:
    """The explanations of all chunks in order; `count` is the number of the last one yielded."""

    def __init__(self, chunks: Iterable[list[Explanation]]) -> None:
        self.chunks, self.count = chunks, 0

    def __iter__(self) -> Iterator[Explanation]:
        for chunk in self.chunks:
            for explanation in chunk:
                self.count += 1
                yield explanation


def _rendered(explanations: _Numbered, fmt: str, title: str) -> Iterator[str]:
    from textcnn.explanation_html import iter_html

    if fmt == "html":
        yield from iter_html(explanations, title=title)
    elif fmt == "json":
        for explanation in explanations:
            yield json.dumps(explanation.to_dict(), ensure_ascii=False) + "\n"
    else:
        for explanation in explanations:
            yield click.unstyle(format_explanation(explanation, explanations.count)) + "\n"


def format_explanation(explanation: Explanation, number: int) -> str:
    """A terminal block: the text with its top n-grams highlighted (green for, red against), then the scores."""
    e = explanation
    highlighted: dict[int, float] = {}  # token -> score of the strongest listed n-gram covering it
    for ngram in e.logit.ngrams:
        for token in range(ngram.start, ngram.end):
            if abs(ngram.score) > abs(highlighted.get(token, 0.0)):
                highlighted[token] = ngram.score
    pieces = []
    for segment in e.segments():
        if segment.kind == "dropped":
            pieces.append(click.style(" […] ", dim=True))
        elif segment.kind == "token" and segment.token in highlighted:
            colour = "green" if highlighted[segment.token] >= 0 else "red"
            pieces.append(click.style(segment.text, fg=colour, bold=True))
        else:
            pieces.append(segment.text)
    predicted = "" if e.label == e.predicted else f" (predicted: {e.predicted})"
    truncated = f", truncated: the model saw {len(e.tokens)} tokens" if e.truncated else ""
    lines = [
        click.style(f"#{number} {e.label}", bold=True) + f"  p={e.probability:.3f}{predicted}{truncated}",
        "  " + "".join(pieces).replace("\n", " "),
        f"  logit {e.logit.value:+.4f} = bias {e.logit.bias:+.4f} + n-grams:",
        *_ngram_lines(e.logit),
        f"  margin over {e.runner_up} {e.margin.value:+.4f} = bias {e.margin.bias:+.4f} + n-grams:",
        *_ngram_lines(e.margin),
    ]
    return "\n".join(lines)


def _ngram_lines(attribution: Attribution) -> list[str]:
    lines = []
    for ngram in attribution.ngrams:
        colour = "green" if ngram.score >= 0 else "red"
        widths = ",".join(map(str, ngram.kernel_sizes))
        shown = ngram.text.replace("\n", " ") or "(empty text)"
        lines.append(f"    {click.style(f'{ngram.score:+.4f}', fg=colour)}  {shown}  [k={widths}]")
    if attribution.rest:
        lines.append(f"    {attribution.rest:+.4f}  (the other n-grams)")
    return lines
