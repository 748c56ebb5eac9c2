"""The text and label columns of a loaded dataset: found, renamed, typed and validated; and the
stratified train / validation split of its labels."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
from sklearn.model_selection import train_test_split

from textcnn.data.sources import BAD_ROW_POLICIES, data_suffix, open_binary
from textcnn.errors import TextCNNError, first_line

logger = logging.getLogger(__name__)

TEXT = "text"
LABEL = "label"


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
            f"`text_column` and `label_column` both name '{text_column}'; the text and the label must be two columns"
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
                f"{', '.join(dataset.column_names)} (choose one with `{kind}_column`)"
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
        raise TextCNNError(f"{source}: the text column does not hold text ({first_line(error)})") from None


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
        f'{source}: {count} row(s) have a missing text or label (first: {first}); fix them or pass `on_bad_rows="skip"`'
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
