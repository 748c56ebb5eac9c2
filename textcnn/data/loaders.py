"""One loader for every data source, built on Hugging Face `datasets`.

A source is a local file (.csv, .tsv, .jsonl/.json, .parquet, or .txt with one text a line), a
local Hugging Face dataset folder (`save_to_disk`, or data files such as `data/train-*.parquet`),
a directory of class sub-folders holding one document per file (scikit-learn's `load_files`
layout), or otherwise a Hugging Face Hub dataset id (`textcnn.data.sources` tells which).
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from textcnn.data.columns import LABEL, TEXT
from textcnn.data.read_errors import explain_read_error, innermost_cause, not_decodable
from textcnn.data.sources import (
    COMPRESSIONS,
    FILE_BUILDERS,
    QUOTING,
    check_quoting,
    check_quoting_applies,
    data_suffix,
    open_binary,
    source_kind,
)
from textcnn.errors import TextCNNError, first_line

logger = logging.getLogger(__name__)

#: The advice ending the error for a dataset folder without the split asked for.
SPLIT_HINT = "choose one with `split`"


def load_source(
    source: str | Path,
    *,
    split: str = "train",
    dataset_config: str | None = None,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    quoting: str = "csv",
    streaming: bool = False,
    split_hint: str = SPLIT_HINT,
) -> datasets.Dataset | datasets.IterableDataset:
    """Load `source` as a `datasets.Dataset` (or an `IterableDataset` when `streaming`).

    `quoting` (a key of `QUOTING`) applies to CSV/TSV files, alone or in a data folder.
    `split_hint` ends the error for a dataset folder without `split` (the CLI's advice).
    """
    path = Path(source)
    kind = source_kind(source)
    check_quoting_applies(source, kind, quoting)
    if kind == "file":
        return load_file(path, encoding=encoding, quoting=quoting, streaming=streaming)
    if kind == "data folder":
        return load_data_folder(path, split=split, quoting=quoting, streaming=streaming, split_hint=split_hint)
    if kind == "saved dataset":
        return load_saved_dataset(path, split=split, split_hint=split_hint)
    if kind == "class folders":
        return load_class_folders(path, encoding=encoding, errors=encoding_errors)
    return load_hub_dataset(str(source), split=split, dataset_config=dataset_config, streaming=streaming)


def load_file(
    path: Path,
    *,
    encoding: str = "utf-8",
    quoting: str = "csv",
    streaming: bool = False,
    suffix: str | None = None,
    builder_kwargs: dict[str, Any] | None = None,
) -> datasets.Dataset | datasets.IterableDataset:
    """Load one local file with the `datasets` builder its suffix (or `suffix`, e.g. ".csv") names.

    `quoting` is a key of `QUOTING`, for CSV/TSV files only. `builder_kwargs` go to the builder as
    they are (e.g. `chunksize` / `batch_size` for streaming).
    """
    suffix = (suffix or data_suffix(path)).lower()
    builder = FILE_BUILDERS.get(suffix)
    if builder is None:
        supported = ", ".join(sorted(FILE_BUILDERS))
        raise TextCNNError(
            f"unsupported file type '{suffix or path.name}' for {path}; use one of {supported} "
            f"(also compressed: {', '.join(COMPRESSIONS)})"
        )
    check_quoting(quoting)
    if builder != "csv" and quoting != "csv":
        raise TextCNNError(f"`quoting` applies to CSV/TSV files; {path} is not one: leave it out")
    if path.stat().st_size == 0:
        raise TextCNNError(f"{path} is empty")
    kwargs: dict[str, Any] = {}
    if builder == "csv":
        # Keep texts such as "NA" or "null" as text: only truly empty cells are missing.
        kwargs.update(keep_default_na=False, na_values=[""], encoding=encoding, quoting=QUOTING[quoting])
        if suffix == ".tsv":
            kwargs["sep"] = "\t"
        kwargs.update(_columns_as_text(path, kwargs.get("sep", ","), encoding, kwargs["quoting"]))
    elif builder == "text" or builder == "json":
        kwargs["encoding"] = encoding
    kwargs.update(builder_kwargs or {})
    try:
        loaded = datasets.load_dataset(builder, data_files=str(path), split="train", streaming=streaming, **kwargs)
    except Exception as error:
        raise TextCNNError(explain_read_error(path, error, encoding)) from None
    if not streaming and len(loaded) == 0:
        raise TextCNNError(f"{path} has no data rows")
    if builder == "json" and not streaming:
        _check_decoded(loaded, path, encoding)
    if builder == "csv" and not streaming:
        if suffix == ".tsv" and quoting == "csv":
            warn_if_quotes_joined_lines([path], len(loaded))
        loaded = _integer_columns_as_integers(loaded)
    return loaded


def warn_if_quotes_joined_lines(paths: list[Path], n_rows: int) -> None:
    """Say so when TSV files gave fewer rows than they have lines: with CSV quoting, a quote mark
    that opens a field joins the lines up to the next one, which in a plain TSV file (quote marks
    as text) silently merges rows. Each file's first line is its header."""
    lines = 0
    for path in paths:
        with open_binary(path) as handle:
            lines += sum(1 for line in handle if line.strip(b"\r\n")) - 1
    if lines > n_rows:
        where = str(paths[0]) if len(paths) == 1 else f"{paths[0].parent} ({len(paths)} TSV files)"
        logger.warning(
            "%s has %d data lines but gave %d rows: quoted fields span lines (TSV is read with CSV quoting). "
            'If its quote marks are text, not quoting, pass `quoting="none"`',
            where,
            lines,
            n_rows,
        )


def _columns_as_text(path: Path, sep: str, encoding: str, quoting: int) -> dict[str, datasets.Features]:
    """`datasets` features that read every CSV/TSV column as text, as written.

    pandas would guess each column's type, per chunk when streaming: an id column of numbers that
    turns into codes after row 8,192 is int64 in one chunk and text in the next, and "007" becomes
    7. The header is read with pandas, the parser of the `datasets` CSV builder, so that the names
    match its columns.
    """
    import pandas as pd  # a dependency of `datasets`

    try:
        header = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding, quoting=quoting)
    except Exception:  # empty or unreadable: the builder reports it the usual way
        return {}
    return {"features": datasets.Features({name: datasets.Value("string") for name in header.columns})}


def _integer_columns_as_integers(loaded: datasets.Dataset) -> datasets.Dataset:
    """Columns whose every cell is a whole number written plainly ("7", "-2") become int64.

    For training and evaluation: integer labels stay integers, while pandas' own guessing would
    have turned label codes "001" / "002" into 1 / 2 and integer labels with one empty cell into
    floats 0.0 / 1.0. Read as text, then made integers only where that loses nothing, labels come
    back as they were written.
    """
    for name in loaded.column_names:
        column = loaded.data.column(name)
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        try:
            numbers = pc.cast(column, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if pc.all(pc.equal(pc.cast(numbers, column.type), column)).as_py() in (True, None):
            loaded = loaded.cast_column(name, datasets.Value("int64"))
    return loaded


def _check_decoded(loaded: datasets.Dataset, path: Path, encoding: str) -> None:
    """Reject invalid UTF-8 left in a loaded table.

    The JSON builder hands a UTF-8 file's bytes to Arrow unchecked, so a Latin-1 file would
    otherwise fail with a traceback when its first bad text is read; Arrow's full validation checks
    every string at C speed.
    """
    try:
        loaded.data.table.validate(full=True)
    except pa.ArrowInvalid:
        raise TextCNNError(not_decodable(path, encoding)) from None


def load_saved_dataset(path: Path, *, split: str, split_hint: str = SPLIT_HINT) -> datasets.Dataset:
    """A `save_to_disk` folder: a Dataset as it is, or the `split` of a DatasetDict."""
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as error:
        raise TextCNNError(f"could not read the saved dataset {path}: {first_line(innermost_cause(error))}") from None
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise TextCNNError(f"{path} has no split '{split}'; its splits are: {', '.join(loaded)} ({split_hint})")
        return loaded[split]
    return loaded


def load_data_folder(
    path: Path, *, split: str, quoting: str = "csv", streaming: bool = False, split_hint: str = SPLIT_HINT
) -> datasets.Dataset | datasets.IterableDataset:
    """A folder of data files, split by their names as `datasets.load_dataset(folder)` splits them.

    `quoting` (a key of `QUOTING`) applies when the files are CSV/TSV.
    """
    check_quoting(quoting)
    try:
        builder = datasets.load_dataset_builder(str(path))
        splits = [str(name) for name in builder.config.data_files or {}]  # NamedSplit objects
        if splits and split not in splits:
            raise TextCNNError(f"{path} has no split '{split}'; its splits are: {', '.join(splits)} ({split_hint})")
        options: dict[str, Any] = {}
        if quoting != "csv":
            if builder.name != "csv":
                raise TextCNNError(
                    f"`quoting` applies to CSV/TSV files; {path} holds {builder.name} files: leave it out"
                )
            options["quoting"] = QUOTING[quoting]
        loaded = datasets.load_dataset(str(path), split=split, streaming=streaming, **options)
        files = [Path(name) for name in (builder.config.data_files or {}).get(split, [])]
        if quoting == "csv" and not streaming and files and all(data_suffix(f) == ".tsv" for f in files):
            warn_if_quotes_joined_lines(files, len(loaded))
        return loaded
    except TextCNNError:
        raise
    except Exception as error:
        raise TextCNNError(f"could not read the data folder {path}: {first_line(innermost_cause(error))}") from None


def load_class_folders(path: Path, *, encoding: str = "utf-8", errors: str = "strict") -> datasets.Dataset:
    """Read a directory whose sub-folders are classes and whose files are documents.

    Hidden files and folders are skipped; what else cannot be read as a document (an empty class
    folder, files in nested folders, broken links) is named in one warning, since a class or its
    documents would otherwise be missing without a word.
    """
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise TextCNNError(f"directory {path} has no class sub-folders (expected {path}/<label>/<file>)")

    codec = without_bom(encoding)  # a byte order mark is not part of the document
    skipped: list[str] = []

    def documents() -> Iterator[dict[str, str]]:
        for class_dir in class_dirs:
            files = 0
            for file in sorted(class_dir.iterdir()):
                if file.name.startswith("."):
                    continue
                if not file.is_file():
                    kind = "folder" if file.is_dir() else "broken link" if file.is_symlink() else "not a file"
                    skipped.append(f"{file} ({kind})")
                    continue
                data = file.read_bytes()
                if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and codec.startswith("utf-8"):
                    raise TextCNNError(
                        f'{file} is UTF-16 (it starts with its byte order mark); pass `encoding="utf-16"`'
                    )
                if b"\0" in data[:8192] and not codecs.lookup(codec).name.startswith(("utf-16", "utf-32")):
                    raise TextCNNError(
                        f"{file} is not a text document (it holds binary data); class folders hold one text "
                        "file per document: move it out"
                    )
                try:
                    text = data.decode(codec, errors=errors)
                except UnicodeDecodeError:
                    raise TextCNNError(not_decodable(file, encoding)) from None
                files += 1
                yield {TEXT: text, LABEL: class_dir.name}
            if files == 0:
                skipped.append(f"{class_dir} (no documents: class '{class_dir.name}' is left out)")

    rows = list(documents())
    if skipped:
        logger.warning(
            "%d entr%s of %s not read: %s", len(skipped), "y" if len(skipped) == 1 else "ies", path, _some(skipped)
        )
    if not rows:
        raise TextCNNError(f"the class sub-folders of {path} contain no files")
    return datasets.Dataset.from_list(rows)


def _some(items: list[str], shown: int = 3) -> str:
    more = len(items) - shown
    return "; ".join(items[:shown]) + (f"; and {more} more" if more > 0 else "")


def without_bom(encoding: str) -> str:
    """UTF-8 as `utf-8-sig`, which drops a leading byte order mark (Windows Notepad writes one) that
    would otherwise become part of the first text; other encodings as they are."""
    try:
        return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    except LookupError:  # an unknown encoding fails when the input is opened, with its own message
        return encoding


def load_hub_dataset(
    name: str, *, split: str, dataset_config: str | None, streaming: bool = False
) -> datasets.Dataset | datasets.IterableDataset:
    """Load a Hugging Face Hub dataset (never with remote code).

    `huggingface_hub` logs a warning per retried request (about 20 lines when the Hub cannot be
    reached); the one error line at the end says it all, so those are silenced here.
    """
    logger.info("'%s' is no local file or folder: loading it from the Hugging Face Hub", name)
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        # Explicit, for `datasets` versions that could still run a dataset's loading script.
        return datasets.load_dataset(name, dataset_config, split=split, streaming=streaming, trust_remote_code=False)
    except Exception as error:
        raise TextCNNError(
            f"could not load '{name}' as a local file, folder or Hugging Face Hub dataset: {first_line(error)}"
        ) from None
    finally:
        hub_logger.setLevel(level)
