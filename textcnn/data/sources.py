"""What a data source is: a local file, a saved dataset, a data folder, class folders or a Hub id.

Also the file formats and compressions read, the CSV quoting rules and the bad-row policies. This
module imports nothing heavy, so that the CLI can offer these choices before importing `datasets`.
"""

from __future__ import annotations

import csv
import importlib
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from textcnn.errors import TextCNNError

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
#: How CSV/TSV fields are quoted -> the `csv` module's constant: "csv" reads `"..."` fields with
#: `""` for a quote inside (RFC 4180, pandas' default); "none" reads every quote mark as text, as
#: plain TSV files (GLUE's, for one) are written.
QUOTING = {"csv": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE}
#: What loading does with rows whose text or label is missing (`textcnn.data.columns`).
BAD_ROW_POLICIES = ("error", "skip")


def source_kind(source: str | Path) -> str:
    """'file', 'saved dataset' (`save_to_disk`), 'data folder', 'class folders' or 'hub' (an id).

    A name that is no local file or folder but looks like a path is an error here, so that a typo
    is not sent to the Hub.
    """
    from textcnn.persistence import looks_like_model_dir  # imports torch: not before a source is looked at

    path = Path(source)
    if path.is_dir():
        if looks_like_model_dir(path):
            raise TextCNNError(
                f"{source} is a textcnn model or checkpoint directory, not data: give a data file or folder here "
                "(a model directory is what prediction, evaluation and `init_from` take)"
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
    """Refuse `split` / `dataset_config` / `quoting` given for a source they cannot apply to
    (they were ignored silently: `train a.csv --split test` trained on all of a.csv)."""
    kind = source_kind(source)
    check_quoting_applies(source, kind, quoting)
    single_dataset = kind == "saved dataset" and not (Path(source) / "dataset_dict.json").is_file()
    if split is not None and (kind in ("file", "class folders") or single_dataset):
        what = {"file": "a single file has", "class folders": "class folders have"}.get(kind, "a saved Dataset has")
        raise TextCNNError(f"`split` does not apply to {source} ({what} no named splits); leave `split` out")
    if dataset_config is not None and kind != "hub":
        raise TextCNNError(
            f"`dataset_config` names a configuration of a Hugging Face Hub dataset; {source} is local: leave it out"
        )


def quoting_applies(source: str | Path) -> bool:
    """Whether `source` may hold CSV/TSV files, which a quoting rule applies to."""
    return _quoting_applies(source, source_kind(source))


def _quoting_applies(source: str | Path, kind: str) -> bool:
    # A data folder's files are checked when it is loaded.
    return kind == "data folder" or (kind == "file" and FILE_BUILDERS.get(data_suffix(Path(source))) == "csv")


def check_quoting_applies(source: str | Path, kind: str, quoting: str) -> None:
    """Refuse a CSV quoting rule for a source that holds no CSV/TSV file."""
    check_quoting(quoting)
    if quoting == "csv" or _quoting_applies(source, kind):
        return
    what = {
        "file": "not one",
        "saved dataset": "a saved dataset",
        "class folders": "a folder of class folders",
    }.get(kind, "a Hugging Face Hub dataset id")
    raise TextCNNError(f"`quoting` applies to CSV/TSV files; {source} is {what}: leave it out")


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
