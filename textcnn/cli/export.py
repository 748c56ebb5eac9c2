"""`textcnn export`: write a model folder as an ONNX export folder, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import click

from textcnn.cli.options import encoding_option, quoting_option, text_column_option

EXAMPLES = """
\b
Examples:
  textcnn export runs/reviews --format onnx --out serve/reviews
  textcnn export runs/reviews --format onnx --quantize int8 --out serve/reviews-int8 --check valid.csv
  textcnn predict serve/reviews new.txt --engine onnx --output preds.jsonl
"""

#: Rows of --check DATA compared; enough for a 1% agreement figure, quick to run twice.
CHECK_ROWS = 2000


@click.command("export", epilog=EXAMPLES)
@click.argument("model_dir", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True, help="Export format.")
@click.option(
    "--quantize",
    type=click.Choice(["int8"]),
    default=None,
    help="Store the embedding table as int8 (onnxruntime quantisation): about a quarter of the file size.",
)
@click.option("--out", required=True, type=click.Path(), help="Export folder to write (replaced if it is an export).")
@click.option(
    "--check",
    "check_data",
    default=None,
    metavar="DATA",
    help="Compare onnxruntime with PyTorch on these texts (.txt, .csv, .tsv, .jsonl, .parquet) instead of "
    "generated token sequences.",
)
@click.option(
    "--check-rows",
    type=click.IntRange(min=1),
    default=CHECK_ROWS,
    show_default=True,
    help="Rows of --check DATA compared (the first ones).",
)
@text_column_option
@encoding_option
@quoting_option
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
def export_command(
    model_dir: str,
    fmt: str,
    quantize: str | None,
    out: str,
    check_data: str | None,
    check_rows: int,
    text_column: str,
    encoding: str,
    quoting: str,
    quiet: bool,
) -> None:
    """Export MODEL_DIR for serving: an --out folder with model.onnx, tokenizer.json, labels.json,
    config.json and export.json.

    The graph takes int64 token ids (batch x length, both dynamic) and gives logits. The folder is
    written only after onnxruntime reproduced PyTorch on sample inputs (fp32: logits within 1e-4;
    int8: the same class on at least 99%); the figures are printed. See docs/export.md.
    """
    from textcnn.devices import refuse_torchrun
    from textcnn.export.onnx import export_onnx

    refuse_torchrun("export")
    texts = None
    if check_data is not None:
        texts = _read_texts(check_data, check_rows, text_column, encoding, quoting)
    result = export_onnx(
        model_dir,
        out,
        quantize=quantize,
        check_texts=texts,
        check_source=Path(check_data).name if check_data else "given",
    )
    if not quiet:
        click.echo(f"Checked {result.check.summary()}", err=True)
        size = result.onnx_bytes / 1e6
        click.echo(f"Wrote {out} (model.onnx {size:.1f} MB, {quantize or 'fp32'}, format {fmt})", err=True)


def _read_texts(source: str, rows: int, text_column: str, encoding: str, quoting: str) -> list[str | None]:
    """The first `rows` texts of `source`, read as `textcnn predict` reads its input."""
    from textcnn.errors import TextCNNError
    from textcnn.prediction.readers import read_chunks, resolve_input

    if source == "-":
        raise TextCNNError("--check takes a file, not stdin (-)")
    spec = resolve_input(source, text_column=text_column, encoding=encoding, quoting=quoting)
    texts: list[str | None] = []
    for chunk in read_chunks(spec, min(rows, 8192)):
        texts.extend(chunk.texts[: rows - len(texts)])
        if len(texts) >= rows:
            break
    if not texts:
        raise TextCNNError(f"--check {source} holds no rows; give a file of texts, or leave --check out")
    return texts
