"""What `TextCNNClassifier` accepts as texts and labels, checked and turned into plain lists.

scikit-learn hands estimators lists, numpy arrays, pandas Series and one-column DataFrames;
each becomes a list of values here, and inputs that would silently train on the wrong thing
(a single string read as characters, a DataFrame's column names, rows of a 2-D array, lists of
labels, labels of mixed types, missing labels) are refused with a message saying what to pass.
"""

from __future__ import annotations

import numbers
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from textcnn.data.columns import LABEL, TEXT
from textcnn.errors import TextCNNError, first_line
from textcnn.persistence import to_json_value


def as_texts(X: Any, name: str = "X") -> list[str]:
    """Accept lists, numpy arrays and pandas Series of texts; missing values become ''.

    A rows-by-columns input with one column (a one-column DataFrame, an (n, 1) array: what
    `ColumnTransformer` hands on for a list of one column) is that column.
    """
    if isinstance(X, str | bytes):  # a ValueError like every other data error (scikit-learn's vectorizers agree)
        raise TextCNNError("expected a sequence of texts, got a single string; wrap it in a list")
    values = one_column(X, name, "text", "df['text']")
    nested = first_nested(values)
    if nested is not None:
        raise ValueError(
            f"{name} holds lists, not texts (the first at index {nested}); pass one string per row, e.g. df['text']"
        )
    return [v if isinstance(v, str) else ("" if is_missing(v) else str(v)) for v in values]


def as_labels(y: Any, name: str = "y") -> list[Any]:
    """`y` as a list of labels, one per row, all strings or all numbers (or all booleans)."""
    if isinstance(y, str | bytes):  # else its characters (or bytes) would become the labels
        raise TextCNNError(f"{name} must be a sequence of labels, got a single string; wrap it in a list")
    values = one_column(y, name, "label", "df['label']")
    nested = first_nested(values)
    if nested is not None:
        raise ValueError(
            f"{name} holds lists of labels (the first at index {nested}); textcnn trains single-label "
            "classifiers: one label per row"
        )
    examples: dict[str, Any] = {}
    for value in values:
        if not is_missing(value):
            examples.setdefault(label_kind(value), value)
    if len(examples) > 1:
        shown = " and ".join(repr(to_json_value(v)) for v in examples.values())
        raise ValueError(f"{name} mixes label types ({shown}); give every label one type, e.g. all strings")
    return values


def one_column(data: Any, name: str, item: str, example: str) -> list[Any]:
    """The values of a 1-D `data`, or of the one column of a 2-D one; other shapes are refused.

    Without this, a DataFrame gives its column names (what iterating it yields) and each row of a
    2-D array becomes one value: a text "['a', 'b']", or the label column read as words.
    """
    if hasattr(data, "toarray"):  # a scipy sparse matrix: numbers, not texts
        raise ValueError(f"{name} is a sparse matrix; pass one {item} per row (e.g. {example})")
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) == 2:
        if shape[1] != 1:
            raise ValueError(f"{name} must be 1-D, one {item} per row (e.g. {example}); got {shape[1]} columns")
        data = data.iloc[:, 0] if hasattr(data, "iloc") else np.asarray(data, dtype=object)[:, 0]
    elif shape is not None and len(shape) != 1:
        raise ValueError(f"{name} must be 1-D, one {item} per row (e.g. {example}); got {len(shape)} dimensions")
    return data.tolist() if hasattr(data, "tolist") else list(data)


def first_nested(values: list[Any]) -> int | None:
    """The index of the first value that is a list (tuple, array, set, dict) rather than one value."""
    return next((i for i, v in enumerate(values) if isinstance(v, (list, tuple, set, dict, np.ndarray))), None)


def label_kind(value: Any) -> str:
    """A label's type as `fit` tells them apart: "string", "boolean" or "number" (ints and floats alike,
    which Arrow stores together as floats)."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def is_missing(value: Any) -> bool:
    """None, NaN, or pandas' NA (which is unequal to itself, or cannot even say so)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: `NA != NA` is NA, whose truth value is ambiguous
        return True


def as_dataset(X: Any, y: Any, names: tuple[str, str] = ("X", "y")) -> datasets.Dataset:
    texts = as_texts(X, names[0])
    labels = as_labels(y, names[1])
    if len(texts) != len(labels):
        raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
    missing = [i for i, label in enumerate(labels) if is_missing(label)]
    if missing:
        raise ValueError(
            f"{names[1]} has {len(missing)} missing label(s) (None or NaN; the first at index {missing[0]})"
        )
    try:
        return datasets.Dataset.from_dict({TEXT: texts, LABEL: labels})
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        first = first_line(error)
        raise ValueError(f"{names[1]} cannot be stored as one column of labels ({first})") from None
