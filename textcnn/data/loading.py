"""One loader for every data source, built on Hugging Face `datasets`.

A source is a local file (.csv, .tsv, .jsonl/.json, .parquet, or .txt with one text a line), a
local Hugging Face dataset folder (`save_to_disk`, or data files such as `data/train-*.parquet`),
a directory of class sub-folders holding one document per file (scikit-learn's `load_files`
layout), or otherwise a Hugging Face Hub dataset id.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import json
import logging
import re
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.model_selection import train_test_split

from textcnn.errors import TextCNNError
from textcnn.persistence import looks_like_model_dir

logger = logging.getLogger(__name__)

#: Local file suffix -> `datasets` builder name.
FILE_BUILDERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "json",
    ".json": "json",
    ".parquet": "parquet",
    ".txt": "text",
}
#: Compressed file suffix -> the module that opens it; `data.csv.gz` is a .csv file compressed.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}
TEXT = "text"
LABEL = "label"
BAD_ROW_POLICIES = ("error", "skip")
#: How CSV/TSV fields are quoted -> the `csv` module's constant: "csv" reads `"..."` fields with
#: `""` for a quote inside (RFC 4180, pandas' default); "none" reads every quote mark as text, as
#: plain TSV files (GLUE's, for one) are written.
QUOTING = {"csv": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE}
#: The advice ending the error for a dataset folder without the split asked for.
SPLIT_HINT = "choose one with --split"


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
    _check_quoting_applies(source, kind, quoting)
    if kind == "file":
        return load_file(path, encoding=encoding, quoting=quoting, streaming=streaming)
    if kind == "data folder":
        return load_data_folder(path, split=split, quoting=quoting, streaming=streaming, split_hint=split_hint)
    if kind == "saved dataset":
        return load_saved_dataset(path, split=split, split_hint=split_hint)
    if kind == "class folders":
        return load_class_folders(path, encoding=encoding, errors=encoding_errors)
    return load_hub_dataset(str(source), split=split, dataset_config=dataset_config, streaming=streaming)


def source_kind(source: str | Path) -> str:
    """'file', 'saved dataset' (`save_to_disk`), 'data folder', 'class folders' or 'hub' (an id).

    A name that is no local file or folder but looks like a path is an error here, so that a typo
    is not sent to the Hub.
    """
    path = Path(source)
    if path.is_dir():
        if looks_like_model_dir(path):
            raise TextCNNError(
                f"{source} is a textcnn model or checkpoint directory, not data: give a data file or folder here "
                "(a model goes where a command takes MODEL_DIR, or to train's --init-from)"
            )
        if _is_saved_dataset(path):
            return "saved dataset"
        return "data folder" if _holds_data_files(path) else "class folders"
    if path.is_file():
        return "file"
    if path.exists():
        raise TextCNNError(
            f"{source} exists but is {_special_file_kind(path)}, not a regular file: this command needs a file, "
            "so save the data to one first and give its path (only predict reads a stream: - for standard input)"
        )
    if _looks_like_local_path(str(source)):
        kind = "folder" if str(source).endswith(("/", "\\")) else "file"
        raise TextCNNError(f"{kind} not found: {source}")
    return "hub"


def _special_file_kind(path: Path) -> str:
    """What a path that exists but is neither a file nor a folder is: `<(cmd)` gives a pipe."""
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def check_source_options(
    source: str | Path, *, split: str | None, dataset_config: str | None, quoting: str = "csv"
) -> None:
    """Refuse `--split` / `--dataset-config` / `--quoting` given for a source they cannot apply to
    (they were ignored silently: `train a.csv --split test` trained on all of a.csv)."""
    kind = source_kind(source)
    _check_quoting_applies(source, kind, quoting)
    single_dataset = kind == "saved dataset" and not (Path(source) / "dataset_dict.json").is_file()
    if split is not None and (kind in ("file", "class folders") or single_dataset):
        what = {"file": "a single file has", "class folders": "class folders have"}.get(kind, "a saved Dataset has")
        raise TextCNNError(f"--split does not apply to {source} ({what} no named splits); leave --split out")
    if dataset_config is not None and kind != "hub":
        raise TextCNNError(
            f"--dataset-config names a configuration of a Hugging Face Hub dataset; {source} is local: leave it out"
        )


def quoting_applies(source: str | Path) -> bool:
    """Whether `source` may hold CSV/TSV files, which a quoting rule applies to."""
    return _quoting_applies(source, source_kind(source))


def _quoting_applies(source: str | Path, kind: str) -> bool:
    # A data folder's files are checked when it is loaded.
    return kind == "data folder" or (kind == "file" and FILE_BUILDERS.get(data_suffix(Path(source))) == "csv")


def _check_quoting_applies(source: str | Path, kind: str, quoting: str) -> None:
    """Refuse a CSV quoting rule for a source that holds no CSV/TSV file."""
    check_quoting(quoting)
    if quoting == "csv" or _quoting_applies(source, kind):
        return
    what = {
        "file": "not one",
        "saved dataset": "a saved dataset",
        "class folders": "a folder of class folders",
    }.get(kind, "a Hugging Face Hub dataset id")
    raise TextCNNError(f"--quoting applies to CSV/TSV files; {source} is {what}: leave it out")


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
        raise TextCNNError(f"--quoting applies to CSV/TSV files; {path} is not one: leave it out")
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
            "If its quote marks are text, not quoting, pass --quoting none",
            where,
            lines,
            n_rows,
        )


def check_quoting(quoting: str) -> None:
    if quoting not in QUOTING:
        raise TextCNNError(f"unknown quoting '{quoting}'; use one of {', '.join(QUOTING)}")


def data_suffix(path: Path) -> str:
    """The suffix that names a file's format, under a compression suffix: `.csv` for `a.csv.gz`."""
    if path.suffix.lower() in COMPRESSIONS:
        return Path(path.stem).suffix.lower()
    return path.suffix.lower()


def open_binary(path: Path) -> IO[bytes]:
    """`path` opened for reading bytes, decompressed when its suffix names a compression."""
    module = COMPRESSIONS.get(path.suffix.lower())
    if module is None:
        return path.open("rb")
    return importlib.import_module(module).open(path, "rb")


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
        raise TextCNNError(_not_decodable(path, encoding)) from None


def _is_saved_dataset(path: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def _holds_data_files(path: Path) -> bool:
    """A folder of data files (e.g. `data/train-00000-of-00001.parquet`, or train.csv + test.csv)
    that `datasets` loads as a dataset, rather than class folders: it holds data files, and no
    sub-folder of it holds documents (any file that is not a data file). A stray `labels.csv`
    beside class folders, or notes beside data files, decide nothing."""
    data_suffixes = set(FILE_BUILDERS) - {".txt"} | {".arrow"}

    def visible_files(folder: Path) -> Iterator[Path]:
        for file in folder.rglob("*"):
            if file.is_file() and not any(part.startswith(".") for part in file.relative_to(path).parts):
                yield file

    if not any(data_suffix(file) in data_suffixes for file in visible_files(path)):
        return False
    class_like = (
        folder
        for folder in path.iterdir()
        if folder.is_dir()
        and not folder.name.startswith(".")
        and any(data_suffix(file) not in data_suffixes for file in visible_files(folder))
    )
    return next(class_like, None) is None


def load_saved_dataset(path: Path, *, split: str, split_hint: str = SPLIT_HINT) -> datasets.Dataset:
    """A `save_to_disk` folder: a Dataset as it is, or the `split` of a DatasetDict."""
    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as error:
        raise TextCNNError(f"could not read the saved dataset {path}: {_first_line(_innermost_cause(error))}") from None
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
                    f"--quoting applies to CSV/TSV files; {path} holds {builder.name} files: leave it out"
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
        raise TextCNNError(f"could not read the data folder {path}: {_first_line(_innermost_cause(error))}") from None


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
                    raise TextCNNError(f"{file} is UTF-16 (it starts with its byte order mark); pass --encoding utf-16")
                if b"\0" in data[:8192] and not codecs.lookup(codec).name.startswith(("utf-16", "utf-32")):
                    raise TextCNNError(
                        f"{file} is not a text document (it holds binary data); class folders hold one text "
                        "file per document: move it out"
                    )
                try:
                    text = data.decode(codec, errors=errors)
                except UnicodeDecodeError:
                    raise TextCNNError(_not_decodable(file, encoding)) from None
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
            f"could not load '{name}' as a local file, folder or Hugging Face Hub dataset: {_first_line(error)}"
        ) from None
    finally:
        hub_logger.setLevel(level)


def select_columns(
    dataset: datasets.Dataset,
    *,
    text_column: str = TEXT,
    label_column: str | None = LABEL,
    source: str = "data",
    on_bad_rows: str = "error",
) -> datasets.Dataset:
    """Return `dataset` reduced to columns `text` (and `label`), validated.

    Class-label integer columns are turned into their names. Rows whose text or label is missing
    raise a `TextCNNError` naming the first one, or are dropped with `on_bad_rows="skip"`.
    """
    if label_column is not None and label_column == text_column:
        raise TextCNNError(
            f"--text-column and --label-column both name '{text_column}'; the text and the label must be two columns"
        )
    wanted = [text_column] + ([label_column] if label_column is not None else [])
    for column in wanted:
        if column not in dataset.column_names:
            kind = "text" if column == text_column else "label"
            if kind == "label" and str(source).lower().endswith(".txt"):
                raise TextCNNError(
                    f"{source} holds texts without labels (a .txt file is one text a line); to train or evaluate, "
                    "use a .csv/.tsv/.jsonl/.parquet file with a label column, or class folders"
                )
            raise TextCNNError(
                f"{source} has no {kind} column '{column}'; columns are: "
                f"{', '.join(dataset.column_names)} (choose one with --{kind}-column)"
            )
    dataset = dataset.select_columns(wanted)
    if label_column is not None:
        feature = dataset.features[label_column]
        if isinstance(feature, datasets.ClassLabel):
            dataset = dataset.cast_column(label_column, datasets.Value("string"))
            names = feature.names
            dataset = dataset.map(
                lambda batch: {label_column: [names[int(v)] if v is not None else None for v in batch[label_column]]},
                batched=True,
            )
    renames = {text_column: TEXT}
    if label_column is not None:
        renames[label_column] = LABEL
    dataset = dataset.rename_columns({old: new for old, new in renames.items() if old != new})
    dataset = _texts_as_strings(dataset, source=source)
    if label_column is not None:
        check_one_label_per_row(dataset, source=source, column=label_column)
    return drop_or_reject_bad_rows(dataset, source=source, policy=on_bad_rows)


def check_one_label_per_row(dataset: datasets.Dataset, *, source: str, column: str = LABEL) -> None:
    """Refuse a label column of lists (the usual multi-label layout) or of objects, with one line.

    Such labels would otherwise fail deep in training (unhashable) or in `eval`'s metrics. A JSON
    lines column that mixes them with plain labels is typed as JSON, so its values are looked at.
    """
    kind = _nested_kind(dataset.data.column(LABEL).type)
    if kind is None and not isinstance(dataset.features[LABEL], (datasets.Value, datasets.ClassLabel)):
        kind = next((found for value in dataset[LABEL] if (found := _nested_kind(value)) is not None), None)
    if kind is not None:
        raise TextCNNError(
            f"{source}: the label column '{column}' holds {kind}; textcnn trains single-label classifiers "
            "(one label per row)"
        )


def _nested_kind(value: Any) -> str | None:
    """What a label that is not one label holds, "lists" or "objects", from an Arrow type or a value; else None."""
    if isinstance(value, pa.DataType):
        if pa.types.is_list(value) or pa.types.is_large_list(value) or pa.types.is_fixed_size_list(value):
            return "lists"
        return "objects" if pa.types.is_struct(value) or pa.types.is_map(value) else None
    if isinstance(value, (list, tuple)):
        return "lists"
    return "objects" if isinstance(value, dict) else None


def _texts_as_strings(dataset: datasets.Dataset, *, source: str) -> datasets.Dataset:
    """Make the text column strings, as `eval` and `predict` read it: 7 becomes "7".

    A CSV column of whole numbers arrives as int64 (`load_file`), a JSON lines column mixing strings and numbers as
    `datasets`' JSON feature; missing values stay missing (the bad-row check reports them).
    """
    feature = dataset.features[TEXT]
    if isinstance(feature, datasets.Value):
        if feature.dtype in ("string", "large_string"):
            return dataset
        try:
            return dataset.cast_column(TEXT, datasets.Value("string"))
        except (TypeError, ValueError, NotImplementedError):
            pass  # not castable by Arrow (e.g. binary): convert value by value below
    features = dataset.features.copy()
    features[TEXT] = datasets.Value("string")
    try:
        return dataset.map(
            lambda batch: {TEXT: [value_as_text(value) for value in batch[TEXT]]}, batched=True, features=features
        )
    except (TypeError, ValueError) as error:
        raise TextCNNError(f"{source}: the text column does not hold text ({_first_line(error)})") from None


def value_as_text(value: Any, **json_options: Any) -> str | None:
    """A value's text as JSON writes it: strings unchanged, others as JSON (7, 1.5, true).

    The one rule for texts that are not strings, in training and in prediction, and for kept
    values in table cells; `json_options` go to `json.dumps` (output cells keep non-ASCII as it is).
    """
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, **json_options)


def drop_or_reject_bad_rows(dataset: datasets.Dataset, *, source: str, policy: str) -> datasets.Dataset:
    if policy not in BAD_ROW_POLICIES:
        raise ValueError(f"on_bad_rows must be one of {BAD_ROW_POLICIES}")
    columns = [c for c in (TEXT, LABEL) if c in dataset.column_names]
    bad = np.zeros(len(dataset), dtype=bool)
    for column in columns:
        values = dataset.data.column(column)
        bad |= np.asarray(values.is_null(), dtype=bool)
    if not bad.any():
        return dataset
    count = int(bad.sum())
    if policy == "skip":
        kept = dataset.select(np.flatnonzero(~bad))
        if len(kept) == 0:
            raise TextCNNError(f"{source}: every row has a missing text or label")
        logger.warning("%s: skipped %d of %d rows with a missing text or label", source, count, len(dataset))
        return kept
    first = _describe_row(source, int(np.flatnonzero(bad)[0]), len(dataset))
    raise TextCNNError(
        f"{source}: {count} row(s) have a missing text or label (first: {first}); fix them or pass --on-bad-rows skip"
    )


def _describe_row(source: str, index: int, n_rows: int) -> str:
    """Name row `index` (0-based) so a user can find it: a line number where that is exact."""
    path = Path(source)
    suffix = data_suffix(path)
    header_lines = {".csv": 1, ".tsv": 1, ".jsonl": 0}.get(suffix)
    if header_lines is None or not path.is_file():
        return f"row {index + 1}"
    # Line numbers are exact only if every row is one line (no quoted newlines, no blank lines).
    if _count_lines(path) == n_rows + header_lines:
        return f"line {index + 1 + header_lines} of {path.name}"
    return f"data row {index + 1}" + (" (the header not counted)" if header_lines else "")


def _count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with open_binary(path) as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def stratified_split(labels: list[Any], valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, valid) with class proportions kept where the classes allow it.

    A label seen once cannot be in both parts; it stays in training, where it can be learnt.
    """
    indices = np.arange(len(labels))
    if len(labels) < 2:
        raise TextCNNError("need at least 2 training rows to carve a validation split")
    counts = Counter(labels)
    single = np.array([counts[label] < 2 for label in labels], dtype=bool)
    common = indices[~single]
    try:
        train, valid = train_test_split(
            common, test_size=valid_fraction, random_state=seed, stratify=[labels[i] for i in common]
        )
    except ValueError:
        # Too few rows to hold every class out once: fall back to a plain split.
        return train_test_split(indices, test_size=valid_fraction, random_state=seed)
    return np.concatenate([train, indices[single]]), valid


def _looks_like_local_path(source: str) -> bool:
    """A name no Hub dataset id has: Hub ids are `name` or `owner/name`, and a bare name with a
    file suffix (`train.cvs`, `reviews.xlsx`) is a mistyped or missing local file."""
    return (
        source.startswith((".", "/", "~"))
        or source.endswith("/")
        or "\\" in source
        or data_suffix(Path(source)) in FILE_BUILDERS
        or source.count("/") > 1
        or ("/" not in source and re.fullmatch(r"\.[A-Za-z][A-Za-z0-9]{0,4}", Path(source).suffix) is not None)
        or (len(Path(source).parts) > 1 and Path(source).parent.is_dir())  # data/train.cvs beside data/
    )


def explain_read_error(path: Path, error: BaseException, encoding: str) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, UnicodeDecodeError):
            return _not_decodable(path, encoding)
        cause = cause.__cause__ or cause.__context__
    if "corresponds to no data" in str(error):
        return f"{path} has no data rows"
    reason = _first_line(_innermost_cause(error))
    if "EOF inside string" in reason:
        reason += (
            " (a field opens a quote mark that never closes: CSV and TSV fields are read with CSV quoting, so a text "
            'that starts with " must be quoted whole, with its inner quotes doubled; if no field is quoted, '
            "pass --quoting none)"
        )
    return f"could not read {path}: {reason}"


def _innermost_cause(error: BaseException) -> BaseException:
    """The exception at the bottom of a chain: `datasets` wraps every parser error in a generic
    "An error occurred while generating the dataset", while the cause names the line and problem."""
    seen = {id(error)}
    while (cause := error.__cause__ or error.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        error = cause
    return error


def _not_decodable(path: Path, encoding: str) -> str:
    where = _find_undecodable(path, encoding)
    return (
        f"{path} is not valid {encoding}{': ' + where if where else ''}; "
        "pass the file's encoding with --encoding (e.g. --encoding latin-1)"
    )


def _find_undecodable(path: Path, encoding: str) -> str | None:
    """'line L, byte B (0xXX)' of the first byte `encoding` cannot decode, read line by line.

    Only for encodings where a newline is the single byte 0x0A (UTF-8, Latin-1, cp125x, ...), so
    that lines can be decoded one at a time; otherwise None.
    """
    try:
        if codecs.encode("\n", encoding) != b"\n":
            return None
    except LookupError:
        return None
    try:
        with open_binary(path) as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError as error:
                    return f"line {number}, byte {error.start + 1} (0x{line[error.start]:02x})"
    except OSError:
        return None
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
