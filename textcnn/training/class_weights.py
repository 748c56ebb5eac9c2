"""Per-class loss weights for imbalanced data, with scikit-learn's meaning of `class_weight`.

None weighs every class 1; "balanced" weighs class c by n / (n_classes * count(c)), so that each
class contributes equally to the loss whatever its size; a {label: weight} dict names weights
(labels it leaves out weigh 1). The weights multiply each row's cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from textcnn.errors import TextCNNError


def class_weight_vector(
    class_weight: str | dict[str, float] | None, classes: Sequence[Any] | np.ndarray, targets: np.ndarray
) -> np.ndarray | None:
    """One weight per class, in the order of `classes`; None when every class weighs 1.

    `targets` are positions in `classes` (the training rows'). Dict keys are matched to classes by
    their text, as JSON keeps them: "1" names the class 1.
    """
    if class_weight is None:
        return None
    positions = np.arange(len(classes))
    if class_weight == "balanced":
        present = np.unique(targets)
        weights = np.ones(len(classes))
        weights[present] = compute_class_weight("balanced", classes=present, y=targets)
        return weights
    if not isinstance(class_weight, dict):
        raise TextCNNError(f"class_weight must be None, 'balanced' or a dict of label -> weight, not {class_weight!r}")
    by_text = {_text(c): i for i, c in enumerate(classes)}
    unknown = [label for label in class_weight if _text(label) not in by_text]
    if unknown:
        raise TextCNNError(
            f"class_weight names labels the training data lacks: {', '.join(map(repr, unknown))} "
            f"(its classes are {', '.join(repr(_text(c)) for c in classes)})"
        )
    weights_by_position = {by_text[_text(label)]: float(weight) for label, weight in class_weight.items()}
    return np.asarray(compute_class_weight(weights_by_position, classes=positions, y=positions), dtype=np.float64)


def _text(label: Any) -> str:
    return str(label.item() if hasattr(label, "item") else label)
