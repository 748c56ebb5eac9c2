"""`eval`'s metrics against scikit-learn's own, for any class names."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from textcnn.evaluation import evaluate_predictions


@pytest.mark.parametrize("names", [["accuracy", "weighted avg", "x"], ["macro avg", "micro avg", "y"]])
def test_classes_named_like_report_summaries_get_their_own_metrics(names: list[str]) -> None:
    """classification_report's dict holds "accuracy", "macro avg", ... beside the classes."""
    rng = np.random.default_rng(0)
    y_true = rng.choice(names, size=200, p=[0.2, 0.3, 0.5])
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.choice(names, size=200))
    metrics = evaluate_predictions(y_true, y_pred, names)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=names, zero_division=0)
    for i, name in enumerate(names):
        assert metrics["per_class"][name] == pytest.approx(
            {"precision": precision[i], "recall": recall[i], "f1": f1[i], "support": support[i]}
        )


def test_float_labels_that_are_not_whole_numbers_are_scored_as_classes() -> None:
    """scikit-learn calls 0.5 / 1.5 "continuous" and refuses them; a model trained on them has them as classes."""
    classes = np.array([0.5, 1.5, 2.25])
    y_true = [0.5, 1.5, 2.25, 0.5, 1.5, 7.0]
    y_pred = classes[[0, 1, 1, 0, 0, 2]]
    metrics = evaluate_predictions(y_true, y_pred, classes)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["n"] == 5
    assert metrics["unseen_labels"] == {"7.0": 1}
    assert metrics["confusion_matrix"] == {"labels": [0.5, 1.5, 2.25], "matrix": [[2, 0, 0], [1, 1, 0], [0, 1, 0]]}
    assert metrics["per_class"]["1.5"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})


def test_f1_averages_leave_out_model_classes_absent_from_data_and_predictions() -> None:
    """A perfect eval on data with one of the model's two classes gave macro-F1 0.5."""
    metrics = evaluate_predictions(["pos"] * 5, ["pos"] * 5, ["neg", "pos"])
    assert metrics["macro_f1"] == 1.0
    assert metrics["weighted_f1"] == 1.0
    assert metrics["per_class"]["neg"]["support"] == 0


def test_f1_averages_match_scikit_learns_when_the_data_covers_part_of_the_classes() -> None:
    rng = np.random.default_rng(1)
    classes = ["a", "b", "c", "d"]
    y_true = rng.choice(["a", "b"], size=100)
    y_pred = np.where(rng.random(100) < 0.6, y_true, rng.choice(["a", "b", "c"], size=100))  # "c" predicted, "d" never
    metrics = evaluate_predictions(y_true, y_pred, classes)
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert metrics["weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert set(metrics["per_class"]) == set(classes)
