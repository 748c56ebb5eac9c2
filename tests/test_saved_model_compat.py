"""Model folders written by an earlier release still load and predict exactly as they did.

`tests/data/model_saved_by_0_1_0` was saved by textcnn 0.1.0 before the package was regrouped into
sub-packages; its predictions at save time are in the `.expected.json` file beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from textcnn import TextCNNClassifier

DATA = Path(__file__).parent / "data"
SAVED = DATA / "model_saved_by_0_1_0"


def test_a_model_folder_from_0_1_0_loads_and_predicts_as_it_did() -> None:
    expected = json.loads((DATA / "model_saved_by_0_1_0.expected.json").read_text(encoding="utf-8"))
    classifier = TextCNNClassifier.load(SAVED)
    assert list(classifier.classes_) == ["neg", "pos"]
    assert classifier.predict(expected["texts"]).tolist() == expected["labels"]
    np.testing.assert_allclose(classifier.predict_proba(expected["texts"]), expected["proba"], atol=1e-6)


def test_a_model_folder_from_0_1_0_survives_load_and_save(tmp_path: Path) -> None:
    expected = json.loads((DATA / "model_saved_by_0_1_0.expected.json").read_text(encoding="utf-8"))
    again = TextCNNClassifier.load(TextCNNClassifier.load(SAVED).save(tmp_path / "again"))
    np.testing.assert_allclose(again.predict_proba(expected["texts"]), expected["proba"], atol=1e-6)
