"""Scoring a fitted classifier on labelled data, with scikit-learn's metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from textcnn.calibration import brier_score, reliability
from textcnn.errors import TextCNNError
from textcnn.persistence import to_json_value


def evaluate_predictions(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    classes: Sequence[Any] | np.ndarray,
    probabilities: np.ndarray | None = None,
) -> dict[str, Any]:
    """Metrics dict: accuracy, macro/weighted F1, per-class P/R/F1/support, confusion matrix, n.

    With `probabilities` (n, len(classes)) as well: their expected calibration error (`ece`, 15
    bins), Brier score (`brier`) and the reliability bins (`reliability`), over the scored rows
    (`textcnn.calibration`).

    Every class of the model gets a per-class row (support 0 when the data lacks it); the F1
    averages are scikit-learn's, over the classes in the data or the predictions.

    Rows whose true label is not among `classes` cannot be scored; they are left out and counted
    under `unseen_labels`.
    """
    classes = list(classes)
    y_true = _as_class_values(np.asarray(y_true), classes)
    true_index = class_indices(y_true, classes)
    known = true_index >= 0
    unseen = Counter(str(v) for v in y_true[~known])
    if not known.any():
        raise TextCNNError(
            f"none of the evaluation labels are known to the model (saw {', '.join(sorted(unseen))}; "
            f"the model knows {', '.join(map(str, classes))})"
        )
    # Scored as positions in `classes`: scikit-learn refuses labels such as 0.5 / 1.5 ("continuous"),
    # which are classes here like any other.
    y_true, y_pred = true_index[known], class_indices(np.asarray(y_pred)[known], classes)
    calibration = {}
    if probabilities is not None:
        calibration = calibration_metrics(np.asarray(probabilities)[known], np.asarray(y_true))
    labels = np.arange(len(classes))
    # Per class from precision_recall_fscore_support: classification_report's dict also holds the
    # keys "accuracy", "macro avg", "weighted avg" and "micro avg", which a class may be named.
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = {
        str(label): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(classes)
    }
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    # The averages cover the classes present in the data or the predictions, as scikit-learn's own
    # f1_score(y_true, y_pred) does: a model class the data lacks and the model never predicted has
    # no F1 to average (counting it as 0 put a perfect single-class eval at macro-F1 0.5).
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "per_class": per_class,
        "confusion_matrix": {"labels": [to_json_value(c) for c in classes], "matrix": matrix.tolist()},
        "n": len(y_true),
        "unseen_labels": dict(unseen),
        **calibration,
    }


def calibration_metrics(probabilities: np.ndarray, targets: np.ndarray) -> dict[str, Any]:
    """`ece`, `brier` and `reliability` of `probabilities` for `targets` (positions in their columns)."""
    bins = reliability(probabilities, targets)
    return {"ece": bins["ece"], "brier": brier_score(probabilities, targets), "reliability": bins}


def class_indices(values: Iterable[Any], classes: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Each value's position in `classes`, or -1 for a value that is none of them.

    numpy scalars match the Python values they equal (np.float64(0.5) is class 0.5).
    """
    position = {to_json_value(c): i for i, c in enumerate(classes)}
    return np.array([position.get(to_json_value(v), -1) for v in values], dtype=np.int64)


def _as_class_values(y_true: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Labels that name a class in another type become that class: "10" is class 10.

    One file format types a column and another does not (JSON lines keep "10" a string, CSV
    readers guess 10), so a model trained on one and evaluated on the other would otherwise know
    none of the labels it is shown.
    """
    values = [to_json_value(c) for c in classes]
    known = set(values)
    by_text = {str(value): cls for value, cls in zip(values, classes, strict=True)}
    labels = [to_json_value(label) for label in y_true.tolist()]
    if all(label in known for label in labels) or not any(str(label) in by_text for label in labels):
        return y_true
    return np.asarray([label if label in known else by_text.get(str(label), label) for label in labels], dtype=object)


def _calibration_lines(metrics: dict[str, Any]) -> list[str]:
    if "ece" not in metrics:
        return []
    lines = [f"ECE (15 bins) {metrics['ece']:.4f}", f"Brier score  {metrics['brier']:.4f}"]
    if "uncalibrated" in metrics:
        before = metrics["uncalibrated"]
        lines = [
            f"ECE (15 bins) {metrics['ece']:.4f}  (uncalibrated {before['ece']:.4f}; "
            f"temperature {metrics['temperature']:.3f})",
            f"Brier score  {metrics['brier']:.4f}  (uncalibrated {before['brier']:.4f})",
        ]
    return lines


def format_report(metrics: dict[str, Any]) -> str:
    """A readable text report of `evaluate_predictions` output."""
    labels = [str(label) for label in metrics["confusion_matrix"]["labels"]]
    width = max(10, *(len(label) for label in labels))
    lines = [f"{'':>{width}}  precision  recall  f1-score  support"]
    for label in labels:
        row = metrics["per_class"][label]
        lines.append(
            f"{label:>{width}}  {row['precision']:9.4f}  {row['recall']:6.4f}  {row['f1']:8.4f}  {row['support']:7d}"
        )
    lines += [
        "",
        f"accuracy     {metrics['accuracy']:.4f}  (n={metrics['n']})",
        f"macro F1     {metrics['macro_f1']:.4f}",
        f"weighted F1  {metrics['weighted_f1']:.4f}",
        *_calibration_lines(metrics),
        "",
        "confusion matrix (rows: true, columns: predicted)",
    ]
    cell = max(6, *(len(label) for label in labels))
    lines.append(" " * (width + 2) + " ".join(f"{label:>{cell}}" for label in labels))
    for label, row in zip(labels, metrics["confusion_matrix"]["matrix"], strict=True):
        lines.append(f"{label:>{width}}  " + " ".join(f"{count:>{cell}d}" for count in row))
    if metrics.get("unseen_labels"):
        skipped = ", ".join(f"{k} ({v})" for k, v in sorted(metrics["unseen_labels"].items()))
        lines += ["", f"not scored, labels unknown to the model: {skipped}"]
    return "\n".join(lines)
