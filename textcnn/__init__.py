"""textcnn: Kim (2014) convolutional text classification, from the CLI or scikit-learn.

The public names are imported on first use (`from textcnn import TextCNNClassifier` works as
usual), so that importing a light part of the package, such as the command line before it has
parsed its arguments, does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from textcnn.errors import TextCNNError

if TYPE_CHECKING:
    from textcnn.classifier import TextCNNClassifier
    from textcnn.config import ModelConfig, TrainConfig
    from textcnn.prediction.stream import iter_predictions, predict_file

__all__ = ["ModelConfig", "TextCNNClassifier", "TextCNNError", "TrainConfig", "iter_predictions", "predict_file"]
__version__ = "0.1.0"

#: Each lazily imported public name -> the module defining it.
_MODULE_OF = {
    "ModelConfig": "textcnn.config",
    "TextCNNClassifier": "textcnn.classifier",
    "TrainConfig": "textcnn.config",
    "iter_predictions": "textcnn.prediction.stream",
    "predict_file": "textcnn.prediction.stream",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found once; later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
