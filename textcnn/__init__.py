"""textcnn: Kim (2014) convolutional text classification, from the CLI or scikit-learn."""

from textcnn.classifier import TextCNNClassifier
from textcnn.config import ModelConfig, TrainConfig
from textcnn.errors import TextCNNError

__all__ = ["ModelConfig", "TextCNNClassifier", "TextCNNError", "TrainConfig"]
__version__ = "0.1.0"
