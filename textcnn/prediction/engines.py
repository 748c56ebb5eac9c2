"""What runs the model in streamed prediction: token id batches in, class probabilities out.

`textcnn.prediction.stream` reads, tokenises and writes; an engine holds the tokenizer, the
classes and the truncation settings, and maps token ids to probabilities. `TorchEngine` runs a
`TextCNNClassifier` (a PyTorch model folder) as `predict_proba` does; `OnnxEngine` runs a folder
written by `textcnn export` with onnxruntime (the optional extra `textcnn[onnx]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.utils.validation import check_is_fitted
from tokenizers import Tokenizer

from textcnn.classifier import TextCNNClassifier
from textcnn.config import ModelConfig
from textcnn.errors import TextCNNError
from textcnn.inference import cpu_batch_tokens, predict_probabilities, softmax
from textcnn.projection import TokenProjection, projection_for

ENGINES = ("torch", "onnx")


class Engine(Protocol):
    """Maps token id sequences (already truncated to `config.max_length`) to probabilities."""

    config: ModelConfig
    tokenizer: Tokenizer
    classes: list[Any]  # in the order of the probabilities' columns

    def probabilities(self, ids: Sequence[Sequence[int]], *, batch_size: int, num_threads: int) -> np.ndarray:
        """(len(ids), num_classes) float32 probabilities, rows in the order of `ids`."""
        ...


class TorchEngine:
    """A fitted `TextCNNClassifier`; the projection table is built once the input proves long enough."""

    def __init__(self, classifier: TextCNNClassifier) -> None:
        self.classifier = classifier
        self.config = classifier.model_.config
        self.tokenizer = classifier.tokenizer_
        self.classes: list[Any] = list(classifier.classes_)
        self.projection: TokenProjection | None = None

    def probabilities(self, ids: Sequence[Sequence[int]], *, batch_size: int, num_threads: int) -> np.ndarray:
        # Torch's threads are set around the whole stream (`stream.torch_threads`).
        model = self.classifier.model_
        if self.projection is None:
            self.projection = projection_for(model, ids)
        # predict_probabilities sorts by length into batches and restores input order.
        return predict_probabilities(model, ids, batch_size=batch_size, projection=self.projection)


class OnnxEngine:
    """An export folder run with onnxruntime on the CPU, batched like the PyTorch engine."""

    def __init__(self, path: str | Path) -> None:
        from textcnn.export.onnx import load_onnx_export

        self.export = load_onnx_export(path)
        self.config = self.export.config
        self.tokenizer = self.export.tokenizer
        self.classes: list[Any] = self.export.classes

    def probabilities(self, ids: Sequence[Sequence[int]], *, batch_size: int, num_threads: int) -> np.ndarray:
        from textcnn.export.onnx import run_logits

        session = self.export.session_for(num_threads)
        logits = run_logits(
            session, ids, self.config, batch_size=batch_size, max_batch_tokens=cpu_batch_tokens(self.config)
        )
        return softmax(logits, self.config.temperature)


def load_engine(model: TextCNNClassifier | str | Path, engine: str = "torch") -> Engine:
    """The `engine` ("torch" or "onnx") for `model`: a fitted estimator or a model folder for torch,
    an export folder for onnx."""
    if engine not in ENGINES:
        raise TextCNNError(f"`engine` must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "onnx":
        if isinstance(model, TextCNNClassifier):
            raise TextCNNError("engine='onnx' runs an export folder; export the estimator with export_onnx(path) first")
        return OnnxEngine(model)
    if isinstance(model, TextCNNClassifier):
        check_is_fitted(model, "model_")
        return TorchEngine(model)
    from textcnn.export.onnx import MANIFEST_FILE

    if (Path(model) / MANIFEST_FILE).is_file() and not (Path(model) / "model.safetensors").is_file():
        raise TextCNNError(f"{model} is an ONNX export folder: predict with it using `engine='onnx'`")
    return TorchEngine(TextCNNClassifier.load(model))
