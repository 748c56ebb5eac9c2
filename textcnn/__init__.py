"""textcnn: Kim (2014) convolutional text classification, from the CLI or scikit-learn.

The public names are imported on first use (`from textcnn import TextCNNClassifier` works as
usual), so that importing a light part of the package, such as the command line before it has
parsed its arguments, does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textcnn.errors import TextCNNError
from textcnn.lazy_exports import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULE_OF)
