"""The names `textcnn/__init__.py` promises are the library's own objects, imported on first use."""

from __future__ import annotations

import textcnn
from textcnn.classifier import TextCNNClassifier
from textcnn.config import ModelConfig, TrainConfig
from textcnn.errors import TextCNNError
from textcnn.prediction.stream import iter_predictions, predict_file


def test_every_public_name_is_the_defining_modules_object() -> None:
    expected = {
        "ModelConfig": ModelConfig,
        "TextCNNClassifier": TextCNNClassifier,
        "TextCNNError": TextCNNError,
        "TrainConfig": TrainConfig,
        "iter_predictions": iter_predictions,
        "predict_file": predict_file,
    }
    assert sorted(textcnn.__all__) == sorted(expected)
    for name, value in expected.items():
        assert getattr(textcnn, name) is value, name
